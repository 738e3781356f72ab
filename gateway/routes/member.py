"""HTTP operations of the `member` service: members, cards, tiers, the card operation log."""

from __future__ import annotations

from contracts import member as c
from contracts.auth import HQ, MANAGERS
from contracts.base import page_of
from gateway.operations import ACTOR, BODY, KEY, QUERY, Operation, forward

CHAIN = "/chains/{chain_id}"
MEMBER = f"{CHAIN}/members/{{member_id}}"
CARD = f"{CHAIN}/cards/{{card_id}}"
STORE_NOTE = " HQ names the store in `store_id`; store staff act at their own store."


# ---- tiers ------------------------------------------------------------------------------


list_tiers = forward("member.list_tiers", ACTOR, "chain_id", QUERY)


get_tier = forward("member.get_tier", ACTOR, "chain_id", "tier_id")


create_tier = forward("member.create_tier", ACTOR, "chain_id", BODY, KEY)


update_tier = forward("member.update_tier", ACTOR, "chain_id", "tier_id", BODY)


# ---- members ------------------------------------------------------------------------------


create_member = forward("member.create_member", ACTOR, "chain_id", BODY, KEY)


search_members = forward("member.search_members", ACTOR, "chain_id", QUERY)


get_member = forward("member.get_member", ACTOR, "chain_id", "member_id")


update_member = forward("member.update_member", ACTOR, "chain_id", "member_id", BODY)


# ---- cards ----------------------------------------------------------------------------------


issue_card = forward("member.issue_card", ACTOR, "chain_id", "member_id", BODY, KEY)


lookup_card = forward("member.lookup_card", ACTOR, "chain_id", QUERY)


get_card = forward("member.get_card", ACTOR, "chain_id", "card_id")


card_operations = forward("member.card_operations", ACTOR, "chain_id", "card_id", QUERY)


store_card_operations = forward("member.store_card_operations", ACTOR, "chain_id", "store_id", QUERY)


def _card_action(method: str, name: str):
    return forward(f"member.{method}", ACTOR, "chain_id", "card_id", BODY, KEY, name=name)


freeze_card = _card_action("freeze_card", "freeze_card")
unfreeze_card = _card_action("unfreeze_card", "unfreeze_card")
change_card_tier = _card_action("change_card_tier", "change_card_tier")
replace_card = _card_action("replace_card", "replace_card")
set_card_limits = _card_action("set_card_limits", "set_card_limits")
renew_card = _card_action("renew_card", "renew_card")


OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        f"{CHAIN}/tiers",
        "List the chain's tiers",
        "tiers",
        list_tiers,
        query=c.TierQuery,
        response=page_of(c.Tier),
    ),
    Operation(
        "POST",
        f"{CHAIN}/tiers",
        "Add a tier (HQ)",
        "tiers",
        create_tier,
        body=c.TierCreate,
        response=c.Tier,
        status=201,
        roles=HQ,
        needs_key=True,
    ),
    Operation("GET", f"{CHAIN}/tiers/{{tier_id}}", "Show a tier", "tiers", get_tier, response=c.Tier),
    Operation(
        "PATCH",
        f"{CHAIN}/tiers/{{tier_id}}",
        "Change or retire a tier (HQ)",
        "tiers",
        update_tier,
        body=c.TierUpdate,
        response=c.Tier,
        roles=HQ,
    ),
    Operation(
        "POST",
        f"{CHAIN}/members",
        "Enrol a member",
        "members",
        create_member,
        body=c.MemberCreate,
        response=c.Member,
        status=201,
        needs_key=True,
        description="Phone and ID number are stored encrypted. HQ names `home_store_id`; store staff enrol at "
        "their own store.",
    ),
    Operation(
        "GET",
        f"{CHAIN}/members",
        "Search members",
        "members",
        search_members,
        query=c.MemberQuery,
        response=page_of(c.Member),
        description="Exact `card_no` or `phone` finds a member anywhere in the chain, with personal data "
        "masked outside their home store; other searches (`phone_last4` too) list only your stores' members.",
    ),
    Operation("GET", MEMBER, "Show a member of your stores", "members", get_member, response=c.Member),
    Operation(
        "PATCH",
        MEMBER,
        "Change a member (home store: HQ)",
        "members",
        update_member,
        body=c.MemberUpdate,
        response=c.Member,
    ),
    Operation(
        "POST",
        f"{MEMBER}/cards",
        "Issue a card (issue fee by `payment_method`)",
        "cards",
        issue_card,
        body=c.CardIssue,
        response=c.Card,
        status=201,
        needs_key=True,
        description=STORE_NOTE.strip(),
    ),
    Operation(
        "GET",
        f"{CHAIN}/card-lookup",
        "Look up a card by its exact number, to transact",
        "cards",
        lookup_card,
        query=c.CardLookupQuery,
        response=c.CardContext,
        description="Any staff of the chain; the phone is masked. A mistyped digit fails the check digit (422).",
    ),
    Operation("GET", CARD, "Show a card", "cards", get_card, response=c.Card),
    Operation(
        "POST",
        f"{CARD}/freeze",
        "Freeze a card (reported lost, or by staff)",
        "cards",
        freeze_card,
        body=c.CardAction,
        response=c.Card,
        needs_key=True,
        description=STORE_NOTE.strip(),
    ),
    Operation(
        "POST",
        f"{CARD}/unfreeze",
        "Unfreeze a card (managers)",
        "cards",
        unfreeze_card,
        body=c.CardAction,
        response=c.Card,
        roles=MANAGERS,
        needs_key=True,
        description=STORE_NOTE.strip(),
    ),
    Operation(
        "POST",
        f"{CARD}/tier",
        "Change a card's tier: same number, version + 1 (managers)",
        "cards",
        change_card_tier,
        body=c.TierChange,
        response=c.Card,
        roles=MANAGERS,
        needs_key=True,
        description="The tier's reissue fee applies unless `waive_fee`." + STORE_NOTE,
    ),
    Operation(
        "POST",
        f"{CARD}/limits",
        "Set the card's own spending limits (W-8), on top of its tier's (managers)",
        "cards",
        set_card_limits,
        body=c.CardLimitsChange,
        response=c.Card,
        roles=MANAGERS,
        needs_key=True,
        description="The stricter of the card's and the tier's limit applies; null removes the card's own."
        + STORE_NOTE,
    ),
    Operation(
        "POST",
        f"{CARD}/replace",
        "Replace a lost card: new number, the old one is `replaced`",
        "cards",
        replace_card,
        body=c.CardFeeAction,
        response=c.Card,
        needs_key=True,
        description="Answers with the new card. The tier's replacement fee applies." + STORE_NOTE,
    ),
    Operation(
        "POST",
        f"{CARD}/renew",
        "Renew a card for another validity period",
        "cards",
        renew_card,
        body=c.CardFeeAction,
        response=c.Card,
        needs_key=True,
        description="The tier's renewal fee applies." + STORE_NOTE,
    ),
    Operation(
        "GET",
        f"{CARD}/operations",
        "The card's operation log, newest first",
        "cards",
        card_operations,
        query=c.CardOperationQuery,
        response=page_of(c.CardOperation),
    ),
    Operation(
        "GET",
        f"{CHAIN}/stores/{{store_id}}/card-operations",
        "Card operations done at a store, newest first",
        "cards",
        store_card_operations,
        query=c.CardOperationQuery,
        response=page_of(c.CardOperation),
    ),
]
