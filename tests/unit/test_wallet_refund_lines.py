"""Refunds by line (W-6): parts of a line add up to the line, quantities are checked."""

from types import SimpleNamespace

import pytest

from contracts.errors import InvalidState, ValidationFailed
from services.wallet import refunds


def line(line_no=1, quantity=3, net=1000, refunded_quantity=0, refunded_amount=0, package_value=0):
    return SimpleNamespace(
        line_no=line_no,
        quantity=quantity,
        net=net,
        refunded_quantity=refunded_quantity,
        refunded_amount=refunded_amount,
        package_value=package_value,
        entitlement_id=None,
    )


def test_refunding_a_line_in_parts_gives_back_exactly_its_total():
    row = line(quantity=3, net=1000)
    parts = []
    for _ in range(3):
        amount = refunds.line_amount(row, 1)
        parts.append(amount)
        row.refunded_quantity += 1
        row.refunded_amount += amount
    assert parts == [333, 333, 334] and sum(parts) == 1000


def test_whole_refund_takes_every_line_not_yet_refunded():
    lines = [line(1, 2), line(2, 1, refunded_quantity=1)]
    chosen = refunds.wanted_lines(lines, None)
    assert [(row.line_no, qty) for row, qty in chosen] == [(1, 2)]


def test_nothing_left_to_refund_is_a_conflict():
    with pytest.raises(InvalidState):
        refunds.wanted_lines([line(1, 1, refunded_quantity=1)], None)


def test_refund_of_more_than_is_left_names_the_line():
    with pytest.raises(ValidationFailed) as caught:
        refunds.wanted_lines([line(1, 2, refunded_quantity=1)], [{"line_no": 1, "quantity": 2}])
    assert caught.value.fields == {"lines": {"0": {"quantity": ["Only 1 left to refund."]}}}
    with pytest.raises(ValidationFailed):
        refunds.wanted_lines([line(1, 2)], [{"line_no": 9, "quantity": 1}])
