"""Opaque bearer tokens. Only a SHA-256 of each is stored, so a database dump
cannot be replayed as sign-ins; revoking is setting `revoked_at`."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
