"""Personal data (M-1): phone, e-mail address and ID-card number.

Stored only as AES-256-GCM ciphertext (key from configuration, never in the
database) plus an HMAC-SHA256 blind index for exact-value search. The index is
keyed and includes the chain, so equal phones in two chains do not match and a
dump cannot be brute-forced without the index key. Ciphertext is bound to its
chain and field (associated data), so it cannot be moved between rows of
another chain or field unnoticed.
"""

from __future__ import annotations

import re
import unicodedata

from contracts.errors import ValidationFailed
from services.kit.crypto import Codec, codec  # noqa: F401 - the codec personal data is sealed with

NONCE_BYTES = 12
VERSION = "v1"
_CN_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_ID_18 = re.compile(r"[0-9]{17}[0-9X]")
_ID_15 = re.compile(r"[0-9]{15}")
_ASCII_DIGITS = re.compile(r"[0-9]+")
_LAST4 = re.compile(r"[0-9]{4}")
LAST4_FIELD = "phone_last4"
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


# ---- normalisation and validation -------------------------------------------------


def normalise_phone(raw: str, field: str = "phone") -> str:
    """A China mobile as its 11 digits; other countries in +E.164 form."""
    # full-width digits typed on a Chinese keyboard are the same number (NFKC),
    # and only ASCII 0-9 count as digits after that, so one phone has one index
    text = re.sub(r"[\s\-().]", "", unicodedata.normalize("NFKC", raw or ""))
    if not text:
        raise ValidationFailed(fields={field: ["Required."]})
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+86"):
        text = text[3:]
    if text.startswith("+"):
        if not _E164.fullmatch(text):
            raise ValidationFailed(fields={field: ["An international number is + country code and 7 to 15 digits."]})
        return text
    if not _ASCII_DIGITS.fullmatch(text):
        raise ValidationFailed(fields={field: ["Only digits, spaces, '-' and a leading '+' are allowed."]})
    if len(text) != 11:
        raise ValidationFailed(fields={field: [f"A mobile number has 11 digits, this has {len(text)}."]})
    if not _CN_MOBILE.fullmatch(text):
        raise ValidationFailed(fields={field: ["A mobile number starts with 13 to 19."]})
    return text


def normalise_email(raw: str) -> str:
    """An address as typed, without surrounding spaces, its domain in lower case (domains are
    case-blind; the part before @ belongs to the mail server, so it is kept as written)."""
    local, _, domain = unicodedata.normalize("NFKC", raw or "").strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def normalise_last4(raw: str, field: str = "phone_last4") -> str:
    """The last four digits of a phone as typed at the counter: exactly four ASCII digits after NFKC."""
    text = re.sub(r"\s", "", unicodedata.normalize("NFKC", raw or ""))
    if not _LAST4.fullmatch(text):
        raise ValidationFailed(fields={field: ["Exactly the last four digits of a phone."]})
    return text


def phone_last4_index(sealer: Codec, chain_id: str, phone_or_last4: str) -> str:
    """The blind index of a phone's last four digits (from a normalised phone or the four digits)."""
    return sealer.index(chain_id, LAST4_FIELD, phone_or_last4[-4:])


def id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def normalise_id_number(raw: str, field: str = "id_number") -> str:
    """A resident ID-card number: 18 characters with its check character, or a legacy 15-digit one."""
    text = re.sub(r"\s", "", unicodedata.normalize("NFKC", raw or "")).upper()
    if _ID_15.fullmatch(text):
        return text
    if not _ID_18.fullmatch(text):
        raise ValidationFailed(fields={field: ["An ID-card number has 18 characters: 17 digits and a digit or X."]})
    if id_check_char(text[:17]) != text[17]:
        raise ValidationFailed(fields={field: ["The last character does not match; check the number."]})
    return text


def normalise_plate(raw: str, field: str = "plates") -> str:
    plate = re.sub(r"[\s\-·.]", "", raw or "").upper()
    if not 5 <= len(plate) <= 10:
        raise ValidationFailed(fields={field: [f"{raw!r} is not a licence plate (5 to 10 characters)."]})
    return plate


# ---- masking (O-7) --------------------------------------------------------------------


def mask_phone(phone: str) -> str:
    """`13812345678` -> `138****5678`; other lengths keep the first 3 and last 4 too."""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_email(address: str) -> str:
    """`wang.li@example.com` -> `w***@example.com`: enough to recognise, not to write to."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


def mask_id_number(number: str) -> str:
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]
