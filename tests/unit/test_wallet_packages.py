"""Which package or pass may pay for a consume line (W-5)."""

from datetime import date
from types import SimpleNamespace

from services.wallet import packages


def ent(**kw):
    base = dict(
        kind="package",
        item_code="WASH",
        valid_from=date(2026, 1, 1),
        valid_until=date(2026, 6, 30),
        plates=[],
        daily_limit=None,
    )
    base.update(kw)
    return SimpleNamespace(**base)


DAY = date(2026, 3, 1)


def test_a_valid_package_pays():
    assert packages.unusable(ent(), "WASH", 1, None, DAY, 0, 10) is None


def test_reasons_a_package_cannot_pay():
    assert "not POLISH" in packages.unusable(ent(), "POLISH", 1, None, DAY, 0, 10)
    assert "Expired" in packages.unusable(ent(), "WASH", 1, None, date(2026, 7, 1), 0, 10)
    assert "Valid from" in packages.unusable(ent(), "WASH", 1, None, date(2025, 12, 31), 0, 10)
    assert "Only 1 uses left" in packages.unusable(ent(), "WASH", 2, None, DAY, 0, 1)


def test_plate_bound_package_checks_the_plate():
    bound = ent(plates=["沪A12345"])
    assert packages.unusable(bound, "WASH", 1, "沪A12345", DAY, 0, 5) is None
    assert "plates" in packages.unusable(bound, "WASH", 1, "沪B99999", DAY, 0, 5)
    assert "plates" in packages.unusable(bound, "WASH", 1, None, DAY, 0, 5)
    assert packages.normalise_plate(" 沪a 12345 ") == "沪A12345"


def test_pass_daily_limit():
    daily = ent(kind="pass", daily_limit=2)
    assert packages.unusable(daily, "WASH", 1, None, DAY, 1, None) is None
    assert "Daily limit" in packages.unusable(daily, "WASH", 1, None, DAY, 2, None)
