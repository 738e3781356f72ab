"""The wallet keeps what member says of a card (non-negotiable 12): a card it has seen is not
asked of member again, and a change member's API has answered (a freeze, a loss, new limits,
an unfreeze) is in force for the very next payment, because member tells the wallet before
it answers."""

import pytest

from tests.helpers import error, ok, raw_rows, wait_for
from tests.wallet_helpers import WASH, wallet_world

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def w(admin):
    return wallet_world(admin)


def _kept(settings, w, card_no: str) -> dict | None:
    rows = raw_rows(
        settings,
        "SELECT context FROM wallet.cards WHERE chain_id = :chain AND card_no = :no",
        chain=w.world.id,
        no=card_no,
    )
    return rows[0]["context"] if rows else None


def _seen(settings, w, card: dict) -> str:
    """Fund the card and pay once: the wallet now holds a copy of it; its status."""
    no = card["card_no"]
    ok(w.recharge(no, 50000), 201)
    ok(w.consume(no, [WASH]), 201)
    kept = _kept(settings, w, no)
    assert kept is not None and kept["card_id"] == card["id"]
    return kept["status"]


def test_a_freeze_is_in_force_for_the_very_next_consume(w, settings):
    card = w.card()
    no = card["card_no"]
    assert _seen(settings, w, card) == "active"
    ok(w.cashier_a.post(w.world.path(f"/cards/{card['id']}/freeze"), {"reason": "reported lost"}), 200)
    # no pause: the wallet was told before the freeze was answered
    before = w.balances(no)
    assert w.refused(w.consume(no, [WASH]), 409, "card_not_active", no, before)
    assert _kept(settings, w, no)["status"] == "frozen"
    ok(w.manager_a.post(w.world.path(f"/cards/{card['id']}/unfreeze"), {}), 200)
    ok(w.consume(no, [WASH]), 201)


def test_a_loss_report_is_in_force_for_the_very_next_consume(w, settings):
    card = w.card()
    no = card["card_no"]
    _seen(settings, w, card)
    new = ok(w.cashier_a.post(w.world.path(f"/cards/{card['id']}/replace"), {"reason": "lost"}), 200)
    before = w.balances(no)
    assert w.refused(w.consume(no, [WASH]), 409, "card_not_active", no, before)
    # the member's money is on the new card
    ok(w.consume(new["card_no"], [WASH]), 201)


def test_new_limits_are_in_force_for_the_very_next_consume(w, settings):
    card = w.card()
    no = card["card_no"]
    _seen(settings, w, card)
    limits = {"per_transaction_limit": 100, "daily_limit": None}
    ok(w.manager_a.post(w.world.path(f"/cards/{card['id']}/limits"), {"limits": limits}), 200)
    before = w.balances(no)
    err = w.refused(w.consume(no, [WASH]), 409, "limit_exceeded", no, before)
    assert "per purchase" in err["fields"]["amount_due"][0]


def test_a_card_never_seen_is_asked_of_member_and_then_kept(w, settings):
    card = w.card()
    no = card["card_no"]
    assert _kept(settings, w, no) is None
    ok(w.recharge(no, 1000), 201)
    assert _kept(settings, w, no)["status"] == "active"


def test_a_forgotten_copy_is_asked_again(w, settings):
    """An event about the card (here its member's new name) forgets the copy; the next
    operation asks member and keeps the answer."""
    card = w.card()
    no = card["card_no"]
    _seen(settings, w, card)
    member_id = _kept(settings, w, no)["member_id"]
    ok(w.cashier_a.patch(w.world.path(f"/members/{member_id}"), {"name": "改名会员"}), 200)

    def forgotten():
        return _kept(settings, w, no) is None

    wait_for(forgotten)
    answer = ok(w.consume(no, [WASH]), 201)
    assert answer["card"]["member_name"] == "改名会员"
    assert _kept(settings, w, no)["member_name"] == "改名会员"


def test_a_copy_of_another_chain_is_refused(w, admin, settings):
    other = wallet_world(admin)
    card = w.card()
    _seen(settings, w, card)
    result = other.consume(card["card_no"], [WASH], store=other.store_a)
    assert result.status_code in (404, 422)
    error(result, result.status_code)
