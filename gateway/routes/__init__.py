"""The HTTP operations of each service, as `Operation` lists."""

from __future__ import annotations

from gateway.operations import Operation
from gateway.routes import member, notification, org, wallet


def all_operations() -> list[Operation]:
    return [*org.OPERATIONS, *member.OPERATIONS, *wallet.OPERATIONS, *notification.OPERATIONS]
