"""Opaque bearer tokens. Only a SHA-256 of each is stored, so a database dump
cannot be replayed as sign-ins; revoking is setting `revoked_at`."""

from __future__ import annotations

import secrets

from contracts.auth import token_hash  # noqa: F401 - the one way a token is named

TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)
