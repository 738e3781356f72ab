"""The kind of RabbitMQ queue behind the system's durable queues: classic or quorum.

Every durable queue the services consume is declared here, with the arguments of the
type chosen by `HUIYUAN_QUEUE_TYPE` (`Settings.queue_type`):

- `rpc-<service>`: each service's requests (`services.kit.rpc.Rpc` through
  `RpcQueueConsumer`), shared by all its instances;
- `evt-<source>-<event>--<service>.<method>`: one per event handler
  (`services.kit.handlers`, service-pool handlers with reliable delivery: durable,
  neither exclusive nor auto-delete, so a quorum queue may hold them), declared
  by provisioning too (`services.kit.provision.declare_topology`).

Queues that belong to one process stay classic whatever the setting: nameko's RPC
reply queues (`rpc.reply-…`, expiring 5 min after their process is gone) and the
gateway's revocation queue (`gateway-principals-…`, exclusive and auto-delete). They
hold nothing that outlives their process, and a quorum queue can be neither
exclusive nor auto-delete.

`classic` is the default because a queue's type cannot change in place: a broker
that already has `rpc-wallet` as a classic queue refuses to declare it as quorum
(`PRECONDITION_FAILED - inequivalent arg 'x-queue-type'`), and nameko retries the
refused declaration every second forever, consuming nothing. `check_queue_types`
(run by `services.kit.runner` and provisioning before anything is declared) stops
such a process with a message saying what to do instead. A new cluster (Kubernetes,
`RabbitmqCluster`) sets `quorum` from its first start; an existing one moves with
`python -m services.kit.queues migrate` (README, "Quorum queues").

RabbitMQ 4 gives quorum queues a delivery limit of 20 by default: a message
requeued more often than that is dropped. The kit requeues an event whose handler
fails for a transient reason for as long as the outage lasts (1 s to 5 min apart,
`services.kit.handlers`), so on RabbitMQ 4 the limit must be lifted with a policy
(`delivery-limit: -1`). It is not a queue argument here on purpose: RabbitMQ 3
(this machine's 3.10) takes `x-delivery-limit: -1` and then drops a message at its
first requeue (measured), and an argument cannot be changed later without
redeclaring the queue, while a policy can.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from amqp import Message
from kombu import Connection, Queue, binding
from nameko.rpc import RpcConsumer

log = logging.getLogger(__name__)

CLASSIC = "classic"
QUORUM = "quorum"
QUEUE_TYPES = (CLASSIC, QUORUM)
QUEUE_TYPE_VARIABLE = "HUIYUAN_QUEUE_TYPE"


def parse_queue_type(value: str) -> str:
    """`value` as a queue type, or a ValueError that names the variable and the choices."""
    queue_type = value.strip().lower()
    if queue_type not in QUEUE_TYPES:
        raise ValueError(f"{QUEUE_TYPE_VARIABLE}={value!r}: must be one of {', '.join(QUEUE_TYPES)}")
    return queue_type


def durable_queue_arguments(queue_type: str) -> dict[str, str]:
    """The declaration arguments of a durable queue of `queue_type`. A classic queue has
    none, exactly as nameko declares it, so an existing classic broker is not disturbed."""
    return {"x-queue-type": QUORUM} if parse_queue_type(queue_type) == QUORUM else {}


def queue_type_of(config: dict) -> str:
    """The queue type a nameko container's config asks for (classic where it names none)."""
    settings = config.get("HUIYUAN")
    return getattr(settings, "queue_type", CLASSIC) or CLASSIC


def apply_queue_type(queue: Queue, config: dict) -> Queue:
    """Give a durable queue nameko built the arguments of the configured type."""
    arguments = durable_queue_arguments(queue_type_of(config))
    if arguments:
        queue.queue_arguments = {**(queue.queue_arguments or {}), **arguments}
    return queue


class RpcQueueConsumer(RpcConsumer):
    """nameko's consumer of `rpc-<service>`, declaring the queue as the configured type."""

    def setup(self) -> None:
        if self.queue is None:
            super().setup()
            apply_queue_type(self.queue, self.container.config)


# ---- moving an existing broker from one type to the other ---------------------------------


@dataclass(frozen=True)
class Found:
    name: str
    messages: int
    consumers: int


def durable_queues(services: tuple[str, ...] | list[str], queue_type: str) -> list[Queue]:
    """Every durable queue `services` consume, as declared with `queue_type` (bindings included)."""
    from nameko.containers import ServiceContainer
    from nameko.events import EventHandler

    from services.kit import config as kit_config
    from services.kit.provision import service_classes

    settings = kit_config.Settings(queue_type=queue_type)
    nameko_config = settings.nameko_config(services)
    queues = []
    for cls in service_classes(tuple(services)):
        container = ServiceContainer(cls, nameko_config)
        for extension in container.extensions:
            if isinstance(extension, EventHandler | RpcConsumer):  # the one RpcConsumer a service shares
                extension.setup()
                queues.append(extension.queue)
    return queues


def ready_messages(amqp_uri: str, names: list[str]) -> dict[str, int]:
    """Messages waiting in each of these queues (not yet delivered to a consumer); a queue not
    there counts none."""
    with Connection(amqp_uri, connect_timeout=5) as connection:
        found = {name: _existing(connection.channel(), name) for name in names}
    return {name: f.messages if f is not None else 0 for name, f in found.items()}


def _existing(channel: Any, name: str) -> Found | None:
    try:
        _, messages, consumers = channel.queue_declare(queue=name, passive=True)
    except Exception as exc:  # noqa: BLE001 - 404: the queue is not there (the channel is closed by it)
        if getattr(exc, "reply_code", None) == 404 or "NOT_FOUND" in str(exc):
            return None
        raise
    return Found(name, messages, consumers)


def _move(connection: Connection, source: str, target: str) -> int:
    """Move every message of queue `source` to queue `target` (through the default
    exchange, headers and properties kept; each acknowledged only once the broker
    confirmed its copy). Returns how many moved."""
    moved = 0
    channel = connection.channel()
    while True:
        message = channel.basic_get(queue=source, no_ack=False)
        if message is None:
            return moved
        properties = {k: v for k, v in message.properties.items() if k != "delivery_mode"}
        copy = Message(message.body, delivery_mode=2, **properties)
        channel.basic_publish_confirm(copy, exchange="", routing_key=target)
        channel.basic_ack(message.delivery_tag)
        moved += 1


class QueueTypeMismatch(RuntimeError):
    """Queues on the broker are of another type than the one configured."""


def mismatched(amqp_uri: str, services: tuple[str, ...] | list[str], queue_type: str) -> dict[str, str]:
    """The durable queues of `services` that exist on the broker with a type other than
    `queue_type`: {name: the broker's type}. Queues not there yet are fine (they will be
    declared as configured)."""
    other = CLASSIC if parse_queue_type(queue_type) == QUORUM else QUORUM
    found = {}
    with Connection(amqp_uri, connect_timeout=5) as connection:
        for queue in durable_queues(services, queue_type):
            if _existing(connection.channel(), queue.name) is not None and not _declared_as(connection, queue):
                found[queue.name] = other
    return found


def check_queue_types(amqp_uri: str, services: tuple[str, ...] | list[str], queue_type: str) -> None:
    """Refuse to start `services` with `queue_type` on a broker whose queues are of the other
    type: nameko would retry the refused declaration every second forever, consuming nothing."""
    wrong = mismatched(amqp_uri, services, queue_type)
    if wrong:
        names = ", ".join(sorted(wrong))
        raise QueueTypeMismatch(
            f"{QUEUE_TYPE_VARIABLE}={queue_type}, but the broker has {names} as "
            f"{'/'.join(sorted(set(wrong.values())))}; a queue's type cannot change in place. Either set "
            f"{QUEUE_TYPE_VARIABLE}={next(iter(wrong.values()))}, or stop every instance of the services and run "
            f"`python -m services.kit.queues migrate --to {queue_type}` (README, Quorum queues)."
        )


def migrate(amqp_uri: str, services: tuple[str, ...] | list[str], to_type: str) -> list[str]:
    """Redeclare every durable queue of `services` as `to_type`, keeping its messages.

    Run it with every instance of those services stopped (a queue with a consumer is
    refused, and nothing is changed). Per queue that is not yet of the type: a
    temporary queue of the new type takes the same bindings (events published meanwhile
    reach it), the old queue is unbound, its messages moved to the temporary one, the
    old one deleted and declared again as the new type with its bindings, the messages
    moved back, and the temporary queue deleted. A message may then arrive twice (it
    was routed to both queues for a moment): the consumers' inboxes drop the second.
    Requests left in `rpc-<service>` are moved too; their deadlines have passed, so the
    service refuses them unrun. Returns the queues it moved."""
    to_type = parse_queue_type(to_type)
    wanted = durable_queues(services, to_type)
    moved_queues = []
    with Connection(amqp_uri) as connection:
        found = {}
        for queue in wanted:
            existing = _existing(connection.channel(), queue.name)
            if existing is not None:
                found[queue.name] = existing
        busy = [f.name for f in found.values() if f.consumers]
        if busy:
            raise RuntimeError(f"stop every service instance first: consumers on {', '.join(busy)}")
        for queue in wanted:
            if queue.name not in found or _declared_as(connection, queue):
                continue
            channel = connection.channel()
            temporary = queue.__class__(
                f"{queue.name}.migrating",
                bindings=list(_bindings(queue)),
                durable=True,
                queue_arguments=durable_queue_arguments(to_type),
            )
            temporary(channel).declare()
            for binding in _bindings(queue):
                channel.queue_unbind(queue.name, binding.exchange.name, binding.routing_key)
            first = _move(connection, queue.name, temporary.name)
            channel.queue_delete(queue.name)
            queue(channel).declare()
            for binding in _bindings(temporary):
                channel.queue_unbind(temporary.name, binding.exchange.name, binding.routing_key)
            back = _move(connection, temporary.name, queue.name)
            channel.queue_delete(temporary.name)
            log.info("queue %s is now %s (%d messages moved, %d back)", queue.name, to_type, first, back)
            moved_queues.append(queue.name)
    return moved_queues


def _bindings(queue: Queue) -> Iterator[Any]:
    if queue.exchange is not None and queue.exchange.name:
        yield binding(queue.exchange, routing_key=queue.routing_key)
    yield from queue.bindings or ()


def _declared_as(connection: Connection, queue: Queue) -> bool:
    """Whether an existing queue is as `queue` declares it: the same declaration nameko
    makes, which is a no-op on a queue of that type and refused (PRECONDITION_FAILED,
    closing only this probe's channel) on one of the other type."""
    channel = connection.channel()
    try:
        channel.queue_declare(
            queue=queue.name, durable=True, auto_delete=False, arguments=dict(queue.queue_arguments or {})
        )
        return True
    except Exception as exc:  # noqa: BLE001 - refused: it is of the other type
        if getattr(exc, "reply_code", None) != 406:
            raise
        return False


def main(argv: list[str] | None = None) -> None:
    from services.kit import config as kit_config

    parser = argparse.ArgumentParser(description="Move the system's durable queues to another queue type.")
    parser.add_argument("command", choices=["migrate"])
    parser.add_argument("--to", required=True, choices=QUEUE_TYPES, help="the type to move to")
    parser.add_argument("services", nargs="*", help="default: every service")
    args = parser.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(message)s")
    settings = kit_config.load()
    moved = migrate(settings.amqp_uri, args.services or kit_config.SERVICES, args.to)
    print(f"{len(moved)} queue(s) moved to {args.to}; now start the services with {QUEUE_TYPE_VARIABLE}={args.to}")


if __name__ == "__main__":
    main(sys.argv[1:])
