"""Card and member numbers (M-2): fixed width, with a Luhn check digit so a
mistyped digit at the counter is caught before any lookup."""

from __future__ import annotations

import re

from contracts.errors import ValidationFailed

# ASCII 0-9 only: str.isdigit() also accepts "²" and other digits int() refuses
_DIGITS = re.compile(r"[0-9]+")

# "8" + a 10-digit chain sequence + 1 check digit = 12 digits; numbers never start with 0
PREFIX = "8"
SEQUENCE_DIGITS = 10
CARD_NO_LENGTH = len(PREFIX) + SEQUENCE_DIGITS + 1
MEMBER_NO_DIGITS = 8
CHECK_DIGIT_MESSAGE = "Check digit does not match; re-enter the number."


def luhn_check_digit(body: str) -> str:
    """The digit that makes `body + digit` pass the Luhn test."""
    total = 0
    # from the right, every second digit of the body is doubled (the check digit will sit at position 0)
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return _DIGITS.fullmatch(number) is not None and len(number) >= 2 and luhn_check_digit(number[:-1]) == number[-1]


def format_card_no(sequence: int) -> str:
    if not 1 <= sequence < 10**SEQUENCE_DIGITS:
        raise ValueError(f"card sequence {sequence} out of range")
    body = f"{PREFIX}{sequence:0{SEQUENCE_DIGITS}d}"
    return body + luhn_check_digit(body)


def format_member_no(sequence: int) -> str:
    return f"{sequence:0{MEMBER_NO_DIGITS}d}"


def clean_card_no(raw: str, field: str = "card_no") -> str:
    """Spaces and dashes a cashier types are dropped; then length and check digit are checked."""
    number = "".join(ch for ch in (raw or "") if ch not in " -")
    if not _DIGITS.fullmatch(number):
        raise ValidationFailed("The card number is not valid.", {field: ["Digits only."]})
    if len(number) != CARD_NO_LENGTH:
        reason = f"A card number has {CARD_NO_LENGTH} digits."
        raise ValidationFailed("The card number is not valid.", {field: [reason]})
    if not luhn_valid(number):
        raise ValidationFailed("The card number is not valid.", {field: [CHECK_DIGIT_MESSAGE]})
    return number
