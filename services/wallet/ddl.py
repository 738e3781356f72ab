"""The ledger rules the database itself enforces, beyond CHECK constraints (W-2):
every transaction's postings sum to zero (checked at commit), and postings are
append-only. Made by the kit for the wallet's schema."""

from __future__ import annotations

from services.kit.ledger import ledger_ddl

LEDGER_TRIGGERS = ledger_ddl("wallet")
