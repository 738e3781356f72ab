"""The kit ledger's pure rules: legs balance, lots are spent oldest first and refilled last first."""

import pytest

from services.kit.ledger import Unbalanced, give_back, ledger_ddl, net_legs, take_fifo


def test_legs_merge_per_account_and_drop_zeros():
    assert net_legs([(1, 10000), (2, -10000), (3, 0), (1, 500), (4, -500)]) == {1: 10500, 2: -10000, 4: -500}


def test_unbalanced_legs_never_reach_the_database():
    with pytest.raises(Unbalanced):
        net_legs([(1, 10000), (2, -9999)])


def test_amounts_must_be_integers():
    with pytest.raises(TypeError):
        net_legs([(1, 10.0), (2, -10.0)])
    with pytest.raises(TypeError):
        net_legs([(1, True), (2, -1)])


def test_lots_are_taken_oldest_first():
    assert take_fifo([(1, 3000), (2, 5000), (3, 100)], 6000) == [(1, 3000), (2, 3000)]
    with pytest.raises(ValueError):
        take_fifo([(1, 10)], 11)


def test_refund_refills_the_last_lot_taken_first_and_overflows_to_a_new_lot():
    assert give_back([(1, 3000), (2, 3000)], 4000) == [(2, 3000), (1, 1000)]
    assert give_back([(1, 100)], 150) == [(1, 100), (0, 50)]


def test_the_database_rules_are_made_for_the_schema_named():
    ddl = "\n".join(ledger_ddl("points", "point_postings"))
    assert "points.point_postings" in ddl and "wallet" not in ddl
    assert "DEFERRABLE INITIALLY DEFERRED" in ddl and "BEFORE UPDATE OR DELETE ON points.point_postings" in ddl
