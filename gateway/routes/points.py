"""HTTP operations of the `points` service: balances and history, points moved by staff,
redemption, and the chain's earning rules and promotions (HQ)."""

from __future__ import annotations

from contracts import points as c
from contracts.auth import CHAIN_STAFF, HQ, HQ_ADMIN, STORE_MANAGER
from contracts.base import page_of
from gateway.operations import ACTOR, BODY, KEY, QUERY, Operation, forward

POINTS = "/chains/{chain_id}/points"
CARD = f"{POINTS}/cards/{{card_no}}"
KEYED = (
    "Send an Idempotency-Key: a retry with the same key and body returns the first answer and moves no points twice."
)


def _mutation(method: str, *path: str, name: str | None = None):
    return forward(f"points.{method}", ACTOR, "chain_id", *path, BODY, KEY, name=name)


OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        f"{CARD}/balance",
        "Points balance of a card's member, with the open lots (oldest first)",
        "points",
        forward("points.balance", ACTOR, "chain_id", "card_no", name="points_balance"),
        response=c.Balance,
        roles=CHAIN_STAFF,
        description="P-5, P-6. Lifetime points and the year's spend drive tier upgrades (P-7).",
    ),
    Operation(
        "GET",
        f"{CARD}/history",
        "Points history, newest first",
        "points",
        forward("points.card_history", ACTOR, "chain_id", "card_no", QUERY, name="points_history"),
        query=c.HistoryQuery,
        response=page_of(c.HistoryEntry),
        roles=CHAIN_STAFF,
        description="P-3. Filter by `kind` and by time (`since` included, `until` not).",
    ),
    Operation(
        "GET",
        f"{CARD}/referrals",
        "Members this card's member referred, and whether each referral has paid",
        "points",
        forward("points.referrals", ACTOR, "chain_id", "card_no", name="points_referrals"),
        response=c.ReferralList,
        roles=CHAIN_STAFF,
        description="P-4. The referrer earns the chain's referral points when the referred member first consumes.",
    ),
    Operation(
        "POST",
        f"{POINTS}/grants",
        "Give points (gift, rebate) or adjust them (HQ or store manager)",
        "points",
        _mutation("grant", name="grant_points"),
        body=c.GrantRequest,
        response=c.PointsMove,
        status=201,
        roles=(HQ_ADMIN, STORE_MANAGER),
        needs_key=True,
        acts_at_store=True,
        description="P-3. Only an adjustment takes points away, and never below zero (409). " + KEYED,
    ),
    Operation(
        "POST",
        f"{POINTS}/cash-points",
        "Points for a purchase paid outside the card, from its receipt",
        "points",
        _mutation("cash_points"),
        body=c.CashPointsRequest,
        response=c.PointsMove,
        status=201,
        roles=CHAIN_STAFF,
        needs_key=True,
        acts_at_store=True,
        description="P-2, P-3. The chain's rules apply as to money paid; a receipt earns once (409). " + KEYED,
    ),
    Operation(
        "POST",
        f"{POINTS}/redemptions",
        "Redeem points, oldest first",
        "points",
        _mutation("redeem", name="redeem_points"),
        body=c.RedeemRequest,
        response=c.Redemption,
        status=201,
        roles=CHAIN_STAFF,
        needs_key=True,
        acts_at_store=True,
        description="P-6. More than the balance is refused (409 naming `points`). " + KEYED,
    ),
    Operation(
        "POST",
        f"{POINTS}/redemptions/{{redemption_id}}/cancel",
        "Cancel a redemption: the points go back to the lots they came from",
        "points",
        _mutation("cancel_redemption", "redemption_id"),
        body=c.CancelRedemptionRequest,
        response=c.Redemption,
        status=201,
        roles=CHAIN_STAFF,
        needs_key=True,
        acts_at_store=True,
        description="P-6. Points whose lot has expired since come back in a fresh lot. " + KEYED,
    ),
    Operation(
        "GET",
        f"{POINTS}/rules",
        "The chain's earning rules",
        "points",
        forward("points.get_rules", ACTOR, "chain_id", name="get_points_rules"),
        response=c.EarningRulesView,
        roles=CHAIN_STAFF,
        description="P-2, P-4, P-5.",
    ),
    Operation(
        "POST",
        f"{POINTS}/rules",
        "Set the chain's earning rules as a whole (HQ)",
        "points",
        _mutation("set_rules", name="set_points_rules"),
        body=c.EarningRules,
        response=c.EarningRulesView,
        roles=HQ,
        needs_key=True,
        description="P-2: base rate, category rates, tier multipliers, the year's spend levels, whether bonus "
        "money earns; P-5 expiry, yearly reset, reminder days; P-4 referral points. Rates are decimal strings. "
        + KEYED,
    ),
    Operation(
        "GET",
        f"{POINTS}/promotions",
        "The chain's promotions",
        "points",
        forward("points.list_promotions", ACTOR, "chain_id", QUERY),
        query=c.PromotionQuery,
        response=c.PromotionList,
        roles=CHAIN_STAFF,
    ),
    Operation(
        "POST",
        f"{POINTS}/promotions",
        "Create a promotion (HQ)",
        "points",
        _mutation("create_promotion"),
        body=c.PromotionCreate,
        response=c.Promotion,
        status=201,
        roles=HQ,
        needs_key=True,
        description="P-2. Local days of the chain, optional stores, categories, items and weekdays; a multiplier "
        "or extra points. Of the promotions on, the one adding most applies. " + KEYED,
    ),
    Operation(
        "PATCH",
        f"{POINTS}/promotions/{{promotion_id}}",
        "End or resume a promotion (HQ)",
        "points",
        forward("points.update_promotion", ACTOR, "chain_id", "promotion_id", BODY),
        body=c.PromotionUpdate,
        response=c.Promotion,
        roles=HQ,
    ),
]
