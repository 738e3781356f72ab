"""The ledger rules the database itself enforces, beyond CHECK constraints (W-2).

- Every transaction's postings sum to zero: a constraint trigger, deferred to
  commit, so a transaction may insert its legs one by one but can never commit
  unbalanced.
- Postings are append-only: an update or delete is refused; a mistake is
  corrected by a new transaction.
"""

from __future__ import annotations

LEDGER_TRIGGERS = (
    """
    CREATE OR REPLACE FUNCTION wallet.postings_balanced() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        total bigint;
    BEGIN
        SELECT COALESCE(SUM(amount), 0) INTO total FROM wallet.postings WHERE tx_id = NEW.tx_id;
        IF total <> 0 THEN
            RAISE EXCEPTION 'ledger transaction % is unbalanced by %', NEW.tx_id, total
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE CONSTRAINT TRIGGER postings_balanced
        AFTER INSERT ON wallet.postings
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION wallet.postings_balanced()
    """,
    """
    CREATE OR REPLACE FUNCTION wallet.postings_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'postings are append-only' USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER postings_append_only
        BEFORE UPDATE OR DELETE ON wallet.postings
        FOR EACH STATEMENT EXECUTE FUNCTION wallet.postings_append_only()
    """,
)
