"""HTTP operations of the `wallet` service: money moves, packages, statements, books."""

from __future__ import annotations

from contracts import wallet as c
from contracts.auth import CHAIN_STAFF, HQ, HQ_ADMIN, STORE_MANAGER
from contracts.base import page_of
from gateway.operations import ACTOR, BODY, KEY, QUERY, Operation, forward

WALLET = "/chains/{chain_id}/wallet"
CARD = f"{WALLET}/cards/{{card_no}}"
KEYED = "Send an Idempotency-Key: a retry with the same key and body returns the first answer and moves no money twice."


def _mutation(method: str):
    return forward(f"wallet.{method}", ACTOR, "chain_id", BODY, KEY)


balances = forward("wallet.balances", ACTOR, "chain_id", "card_no")


statement = forward("wallet.statement", ACTOR, "chain_id", "card_no", QUERY)


list_packages = forward("wallet.list_packages", ACTOR, "chain_id", "card_no", QUERY)


get_transaction = forward("wallet.get_transaction", ACTOR, "chain_id", "transaction_id")


receipt = forward("wallet.receipt", ACTOR, "chain_id", "transaction_id", QUERY, name="wallet_receipt")


liability = forward("wallet.liability", ACTOR, "chain_id", QUERY)


settlement = forward("wallet.settlement", ACTOR, "chain_id", QUERY)


OPERATIONS: list[Operation] = [
    Operation(
        "POST",
        f"{WALLET}/recharges",
        "Recharge a card (tier bonus applied)",
        "wallet",
        _mutation("recharge"),
        body=c.RechargeRequest,
        response=c.Recharge,
        status=201,
        roles=CHAIN_STAFF,
        needs_key=True,
        acts_at_store=True,
        description="W-3. The highest bonus threshold reached applies. " + KEYED,
    ),
    Operation(
        "POST",
        f"{WALLET}/bonus-grants",
        "Give bonus money alone (HQ or store manager)",
        "wallet",
        _mutation("grant_bonus"),
        body=c.BonusGrantRequest,
        response=c.Recharge,
        status=201,
        roles=(HQ_ADMIN, STORE_MANAGER),
        needs_key=True,
        acts_at_store=True,
        description=KEYED,
    ),
    Operation(
        "POST",
        f"{WALLET}/consumes",
        "Consume: pay lines from cash, then bonus, then credit",
        "wallet",
        _mutation("consume"),
        body=c.ConsumeRequest,
        response=c.Consume,
        status=201,
        roles=CHAIN_STAFF,
        needs_key=True,
        acts_at_store=True,
        description="W-4, W-5, W-8. Tier discount per line, half-up to the fen; packages pay the lines they "
        "cover; without external_payment_method a shortfall refuses the whole. " + KEYED,
    ),
    Operation(
        "POST",
        f"{WALLET}/refunds",
        "Refund a consume, whole or by line",
        "wallet",
        _mutation("refund"),
        body=c.RefundRequest,
        response=c.Refund,
        status=201,
        roles=CHAIN_STAFF,
        needs_key=True,
        acts_at_store=True,
        description="W-6. Money goes back where it came from; package counts are restored. " + KEYED,
    ),
    Operation(
        "POST",
        f"{WALLET}/packages",
        "Sell a package or pass",
        "wallet",
        _mutation("sell_package"),
        body=c.PackageSaleRequest,
        response=c.PackageSale,
        status=201,
        roles=CHAIN_STAFF,
        needs_key=True,
        acts_at_store=True,
        description="W-5. payment_method 'card' pays from cash, then bonus. " + KEYED,
    ),
    Operation(
        "POST",
        f"{WALLET}/package-refunds",
        "Pay back the unused part of a package and close it",
        "wallet",
        _mutation("refund_package"),
        body=c.PackageRefundRequest,
        response=c.PackageRefund,
        status=201,
        roles=CHAIN_STAFF,
        needs_key=True,
        acts_at_store=True,
        description="The unused value goes back where the sale's money came from (counter, bonus, cash). " + KEYED,
    ),
    Operation(
        "POST",
        f"{WALLET}/returns",
        "Return a card: pay back cash, forfeit bonus, close",
        "wallet",
        _mutation("return_card"),
        body=c.CardReturnRequest,
        response=c.CardReturn,
        status=201,
        roles=CHAIN_STAFF,
        needs_key=True,
        acts_at_store=True,
        description="W-7. " + KEYED,
    ),
    Operation(
        "POST",
        f"{WALLET}/credit-limits",
        "Grant or change a member's credit limit (HQ)",
        "wallet",
        _mutation("set_credit_limit"),
        body=c.CreditLimitRequest,
        response=c.CreditChange,
        status=201,
        roles=(HQ_ADMIN,),
        needs_key=True,
        acts_at_store=True,
        description=KEYED,
    ),
    Operation(
        "POST",
        f"{WALLET}/credit-settlements",
        "Pay back credit used",
        "wallet",
        _mutation("settle_credit"),
        body=c.CreditSettlementRequest,
        response=c.CreditChange,
        status=201,
        roles=CHAIN_STAFF,
        needs_key=True,
        acts_at_store=True,
        description=KEYED,
    ),
    Operation(
        "GET",
        f"{CARD}/balances",
        "Balances of a card's member",
        "wallet",
        balances,
        response=c.CardBalances,
        roles=CHAIN_STAFF,
    ),
    Operation(
        "GET",
        f"{CARD}/statement",
        "Statement with running balances",
        "wallet",
        statement,
        query=c.StatementQuery,
        response=page_of(c.StatementEntry),
        roles=CHAIN_STAFF,
        description="W-10.",
    ),
    Operation(
        "GET",
        f"{CARD}/packages",
        "Packages and passes of a card's member",
        "wallet",
        list_packages,
        query=c.EntitlementQuery,
        response=c.EntitlementList,
        roles=CHAIN_STAFF,
    ),
    Operation(
        "GET",
        f"{WALLET}/transactions/{{transaction_id}}",
        "One transaction with its lines",
        "wallet",
        get_transaction,
        response=c.TransactionView,
        roles=CHAIN_STAFF,
    ),
    Operation(
        "GET",
        f"{WALLET}/transactions/{{transaction_id}}/receipt",
        "A printable receipt of a recharge, consume or refund (HTML, 80 mm or A4)",
        "wallet",
        receipt,
        query=c.ReceiptQuery,
        roles=CHAIN_STAFF,
        media_type="text/html",
        description="S-3: the store, the time in the chain's time zone, the masked card number, the operator, "
        "the figures (a recharge's amount and bonus; a consume's items, tier discount, amount due and what paid "
        "it; a refund's money back by source and its consume), the balances after it, the chain's receipt "
        "footer and a signature line; print it as it is. Store staff see their own store's transactions: "
        "one of another store or chain is 404, as is an unknown one; a transaction of another kind is 422 "
        "naming `transaction_id`, a paper other than `80mm` or `a4` 422 naming `format`.",
    ),
    Operation(
        "GET",
        f"{WALLET}/liability",
        "Stored value owed, per store and chain, at a date (HQ)",
        "wallet",
        liability,
        query=c.LiabilityQuery,
        response=c.Liability,
        roles=HQ,
        description="W-11.",
    ),
    Operation(
        "GET",
        f"{WALLET}/settlement",
        "Cash taken in at one store and spent at another (HQ)",
        "wallet",
        settlement,
        query=c.SettlementQuery,
        response=c.Settlement,
        roles=HQ,
        description="R-8.",
    ),
]
