"""Sealing data with the keys from configuration (never from the database).

AES-256-GCM with a fresh nonce per value, bound by associated data to where
the value belongs (chain and field), so ciphertext cannot be moved to another
chain or field unnoticed; and a keyed HMAC-SHA256 "blind index" for finding a
value by exact match without storing it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
VERSION = "v1"


def _key(value: str, name: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 32:
        raise RuntimeError(f"{name} must be base64 of 32 bytes (set HUIYUAN_{name.upper()})")
    return raw


@dataclass(frozen=True)
class Codec:
    """Encrypts, decrypts and indexes personal data with the configured keys."""

    aead: AESGCM
    index_key: bytes

    def encrypt(self, chain_id: str, field: str, plaintext: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.aead.encrypt(nonce, plaintext.encode(), f"{chain_id}:{field}".encode())
        return f"{VERSION}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, chain_id: str, field: str, token: str) -> str:
        version, _, body = token.partition(":")
        if version != VERSION:
            raise ValueError(f"unknown personal-data format {version!r}")
        raw = base64.b64decode(body)
        try:
            return self.aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], f"{chain_id}:{field}".encode()).decode()
        except InvalidTag:
            raise ValueError("personal data does not decrypt with the configured key") from None

    def index(self, chain_id: str, field: str, normalised: str) -> str:
        message = f"{chain_id}:{field}:{normalised}".encode()
        return hmac.new(self.index_key, message, hashlib.sha256).hexdigest()


@lru_cache(maxsize=4)
def codec(pii_key: str, pii_index_key: str) -> Codec:
    return Codec(AESGCM(_key(pii_key, "pii_key")), _key(pii_index_key, "pii_index_key"))


def optional_key(value: str) -> bytes:
    """The key if one is configured, else no key (a development database)."""
    return _key(value, "pii_index_key") if value else b""
