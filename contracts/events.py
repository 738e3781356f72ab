"""Event envelope and the registry of every event type.

Each contracts module declares its events with `@event(source, type)`. The
producer validates `data` before writing it to its outbox; the consumer parses
the envelope and loads `data` with the same schema.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, fields

from contracts.base import Contract, Id, load, load_nul_free, problems


class EventEnvelope(Contract):
    id = Id(required=True)
    source = fields.String(required=True)
    type = fields.String(required=True)
    version = fields.Integer(required=True)
    occurred_at = fields.String(required=True)
    chain_id = Id(required=True, allow_none=True)
    correlation_id = fields.String(required=True, allow_none=True)
    data = fields.Dict(required=True)


@dataclass(frozen=True)
class EventSpec:
    source: str
    type: str
    version: int
    schema: type[Schema]


@dataclass(frozen=True)
class Event:
    id: str
    source: str
    type: str
    version: int
    occurred_at: str
    chain_id: str | None
    correlation_id: str | None
    data: dict


REGISTRY: dict[tuple[str, str], EventSpec] = {}


def event(source: str, type_: str, version: int = 1) -> Callable[[type[Schema]], type[Schema]]:
    """Register a schema as the `data` of event `source.type_`."""

    def register(schema: type[Schema]) -> type[Schema]:
        key = (source, type_)
        if key in REGISTRY:
            raise RuntimeError(f"event {source}.{type_} declared twice")
        REGISTRY[key] = EventSpec(source, type_, version, schema)
        return schema

    return register


def spec(source: str, type_: str) -> EventSpec:
    if (source, type_) not in REGISTRY:
        # each source declares its events in contracts/<source>.py
        try:
            importlib.import_module(f"contracts.{source}")
        except ModuleNotFoundError:
            pass
    try:
        return REGISTRY[(source, type_)]
    except KeyError:
        raise LookupError(f"no contract for event {source}.{type_}") from None


def envelope(
    source: str,
    type_: str,
    data: dict,
    *,
    chain_id: str | None,
    correlation_id: str | None,
    occurred_at: datetime | None = None,
) -> dict:
    """A complete, validated event ready for the outbox. `occurred_at`: when the fact became
    true (a money operation's own transaction time); now, if not given."""
    event_spec = spec(source, type_)
    errors = problems(event_spec.schema, data)
    if errors:
        raise ValueError(f"event {source}.{type_} breaks its contract: {errors}")
    return {
        "id": str(uuid.uuid4()),
        "source": source,
        "type": type_,
        "version": event_spec.version,
        "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
        "chain_id": chain_id,
        "correlation_id": correlation_id,
        "data": data,
    }


def parse(payload: Any, source: str, type_: str) -> Event:
    """Validate a received envelope and load its data with the event's schema."""
    env = load(EventEnvelope, payload)
    if (env["source"], env["type"]) != (source, type_):
        raise ValueError(f"expected {source}.{type_}, got {env['source']}.{env['type']}")
    data = load_nul_free(spec(source, type_).schema, env["data"])  # the envelope's load checked all of it
    return Event(
        id=env["id"],
        source=env["source"],
        type=env["type"],
        version=env["version"],
        occurred_at=env["occurred_at"],
        chain_id=env["chain_id"],
        correlation_id=env["correlation_id"],
        data=data,
    )
