"""The HTTP operations of each service, as `Operation` lists."""

from __future__ import annotations

from gateway.operations import Operation
from gateway.routes import gift, member, notification, org, points, reporting, wallet


def all_operations() -> list[Operation]:
    return [
        *org.OPERATIONS,
        *member.OPERATIONS,
        *wallet.OPERATIONS,
        *points.OPERATIONS,
        *gift.OPERATIONS,
        *reporting.OPERATIONS,
        *notification.OPERATIONS,
    ]
