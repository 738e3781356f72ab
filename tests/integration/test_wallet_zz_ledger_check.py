"""Runs after the other wallet tests (by name): the whole test database's ledger must hold together.

Every transaction's postings sum to zero, every account's balance equals the
sum of its postings, every member's cash and bonus equal their open lots, and
no member balance is negative.
"""

import pytest

from tests.helpers import admin_engine
from tests.wallet_helpers import ledger_problems

pytestmark = pytest.mark.integration


def test_the_ledger_of_the_whole_test_database_holds_together(settings, services):
    engine = admin_engine(settings)
    try:
        assert ledger_problems(engine) == {
            "unbalanced": [],
            "drifted": [],
            "lots_off": [],
            "negative": [],
            "mistimed": [],
        }
    finally:
        engine.dispose()
