"""The money scenarios through the real HTTP API, and the transport floor.

Two shapes: `.stores`, each client at its own store with its own cashier and cards;
`.onestore`, every client at the first store (its cashier), each with its own cards. A
client serves its cards in turn, one per request, as a counter serves one member after
another."""

from __future__ import annotations

import http.client
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench import floor
from bench.client import Client
from bench.load import LagProbe, Step
from bench.seed import ITEM, Seat, World

# a refund scenario refunds one unit at a time of a consume of this many units
REFUNDABLE_UNITS = 10000


@dataclass
class Refundable:
    transaction_id: str
    left: int


@dataclass
class Context:
    world: World
    port: int
    floor_port: int
    lag: LagProbe | None = None
    # per (seat, store) the consume being refunded unit by unit, kept across runs
    refundables: dict[tuple[int, str], Refundable] = field(default_factory=dict)
    # the first refusal of the current run, to say why in the report
    first_error: str | None = None


def _answer(ctx: Context, call: Callable[[], tuple[int, object]]) -> tuple[int | str, object]:
    """(status, body) of the call; a broken connection is status "exc". The run's first
    refusal is kept to say why in the report."""
    try:
        status, body = call()
    except (OSError, http.client.HTTPException) as exc:
        status, body = "exc", repr(exc)
    if status not in (200, 201) and ctx.first_error is None:
        ctx.first_error = f"{status} {str(body)[:300]}"
    return status, body


def _status(ctx: Context, call: Callable[[], tuple[int, object]]) -> int | str:
    return _answer(ctx, call)[0]


def floor_factory(ctx: Context, _i: int) -> Callable[[], Step]:
    def make() -> Step:
        client = Client(ctx.floor_port)
        return lambda: _status(ctx, lambda: client.call("GET", floor.PATH))

    return make


def _seat_and_store(ctx: Context, i: int, shape: str) -> tuple[Seat, str, str]:
    """The client's card, the store it works at and the cashier token there."""
    seat = ctx.world.seats[i]
    at = seat if shape == "stores" else ctx.world.seats[0]
    return seat, at.store_id, at.token


def consume_factory(ctx: Context, i: int, shape: str) -> Callable[[], Step]:
    def make() -> Step:
        seat, store_id, token = _seat_and_store(ctx, i, shape)
        client = Client(ctx.port, token)
        cards = itertools.cycle(seat.cards)
        path = ctx.world.path("/wallet/consumes")

        def step() -> int | str:
            card = next(cards)
            body = {"card_no": card.card_no, "store_id": store_id, "lines": [ITEM]}
            status, answer = _answer(ctx, lambda: client.call("POST", path, body, key=True))
            if status == 201 and ctx.lag is not None:
                ctx.lag.answered(ctx.world.chain_id, card.member_id, answer["transaction_id"], time.monotonic())
            return status

        return step

    return make


def recharge_factory(ctx: Context, i: int, shape: str) -> Callable[[], Step]:
    def make() -> Step:
        seat, store_id, token = _seat_and_store(ctx, i, shape)
        client = Client(ctx.port, token)
        cards = itertools.cycle(seat.cards)
        path = ctx.world.path("/wallet/recharges")

        def step() -> int | str:
            body = {"card_no": next(cards).card_no, "store_id": store_id, "amount": 100, "payment_method": "cash"}
            return _status(ctx, lambda: client.call("POST", path, body, key=True))

        return step

    return make


def _new_refundable(ctx: Context, client: Client, seat: Seat, store_id: str) -> Refundable:
    line = {**ITEM, "quantity": REFUNDABLE_UNITS, "unit_price": 1}
    body = {"card_no": seat.cards[0].card_no, "store_id": store_id, "lines": [line]}
    answer = client.ok("POST", ctx.world.path("/wallet/consumes"), body)
    return Refundable(answer["transaction_id"], REFUNDABLE_UNITS)


def refund_factory(ctx: Context, i: int, shape: str, seconds: float) -> Callable[[], Step]:
    """Each request refunds one unit of a consume made before the clock (a new one
    when the last has too few units left for a run of `seconds`), of the client's first card."""

    def make() -> Step:
        seat, store_id, token = _seat_and_store(ctx, i, shape)
        client = Client(ctx.port, token)
        key = (seat.index, store_id)
        held = ctx.refundables.get(key)
        if held is None or held.left < seconds * 200:
            held = ctx.refundables[key] = _new_refundable(ctx, client, seat, store_id)
        path = ctx.world.path("/wallet/refunds")

        def step() -> int | str | None:
            nonlocal held
            if held.left <= 0:
                held = ctx.refundables[key] = _new_refundable(ctx, client, seat, store_id)
                return None
            one_unit = [{"line_no": 1, "quantity": 1}]
            body = {"transaction_id": held.transaction_id, "store_id": store_id, "lines": one_unit, "reason": "bench"}
            status = _status(ctx, lambda: client.call("POST", path, body, key=True))
            if status == 201:
                held.left -= 1
            return status

        return step

    return make


def factories(ctx: Context, scenario: str, clients: int, seconds: float) -> list[Callable[[], Step]]:
    kind, _, shape = scenario.partition(".")
    if kind == "floor":
        return [floor_factory(ctx, i) for i in range(clients)]
    if kind == "consume":
        return [consume_factory(ctx, i, shape) for i in range(clients)]
    if kind == "recharge":
        return [recharge_factory(ctx, i, shape) for i in range(clients)]
    if kind == "refund":
        return [refund_factory(ctx, i, shape, seconds) for i in range(clients)]
    raise ValueError(f"unknown scenario {scenario}")


EXPECTED = {"floor": 200, "consume": 201, "recharge": 201, "refund": 201, "pgbench": 0}


def expected_status(scenario: str) -> int:
    return EXPECTED[scenario.split(".")[0]]
