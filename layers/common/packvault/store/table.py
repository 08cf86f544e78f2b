"""The table itself: its key schema and indexes, the shared connection, events, paging. Every row model
derives from `Row`; every module of this package registers its models here so `bind` reaches them all."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import (
    JSONAttribute,
    UnicodeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from packvault.core import context
from packvault.core.settings import Settings
from packvault.core.times import iso_millis

EVENT_PREFIX = "EVENT#"


def utc_now_iso() -> str:
    """Now, as ISO 8601 UTC with milliseconds and a Z suffix."""
    return iso_millis(datetime.now(UTC))


class TableMeta:
    table_name = "packvault"
    region = "us-east-1"
    host: str | None = None


class ByKindIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ExpiryIndex(GlobalSecondaryIndex):
    """Sparse: QUOTED openings under "Q<shard>" keyed by quote expiry; EXPIRED openings still watched for
    late payments under "W<shard>" keyed by their next check."""

    class Meta:
        index_name = "ExpiryIndex"
        projection = KeysOnlyProjection()

    expiry_shard = UnicodeAttribute(hash_key=True)
    expires_at = UnicodeAttribute(range_key=True)


class Row(Model):
    class Meta(TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class EventRecord(Row):
    class Meta(TableMeta):
        pass

    event_type = UnicodeAttribute()
    payload = JSONAttribute()
    created_at = UnicodeAttribute()
    actor = UnicodeAttribute(null=True)  # a wallet, "stripe", "system:<job>", "operator:<name>"
    request_id = UnicodeAttribute(null=True)  # the API request (or run) that caused it


_shared_connection: Connection | None = None


_MODELS: list[type[Model]] = []


def register(*models: type[Model]) -> None:
    """Each module of the package declares its row models here, so that `bind` binds them all."""
    _MODELS.extend(model for model in models if model not in _MODELS)


def bind(settings: Settings) -> None:
    """Point every model at the configured table and endpoint, sharing one connection (one botocore
    client per container instead of one per model). Called once per container."""
    global _shared_connection
    shared = Connection(region=settings.aws_region, host=settings.dynamodb_endpoint)
    # All rows share the table's keys; the model declaring the most indexes describes the table, so that
    # index queries through the shared connection know every index.
    for position, model in enumerate(sorted(_MODELS, key=lambda m: -len(m._indexes))):
        model.Meta.table_name = settings.table_name
        model.Meta.region = settings.aws_region
        model.Meta.host = settings.dynamodb_endpoint
        model._connection = None
        table_connection = model._get_connection()
        if position == 0:
            shared.add_meta_table(table_connection.get_meta_table())
        table_connection.connection = shared
    _shared_connection = shared


def connection() -> Connection:
    """The container's connection, for transactions (PynamoDB's TransactWrite needs one explicitly)."""
    if _shared_connection is None:
        raise RuntimeError("store.bind(settings) must be called first")
    return _shared_connection


def new_event(entity_pk: str, event_type: str, payload: dict[str, Any]) -> EventRecord:
    now = utc_now_iso()
    return EventRecord(
        pk=entity_pk,
        sk=f"{EVENT_PREFIX}{now}#{uuid.uuid4().hex}",
        event_type=event_type,
        payload=payload,
        created_at=now,
        actor=context.actor(),
        request_id=context.request_id(),
    )


def events_of(entity_pk: str) -> list[EventRecord]:
    return list(EventRecord.query(entity_pk, EventRecord.sk.startswith(EVENT_PREFIX), consistent_read=True))


def events_after(partitions: list[str], after_sk: str | None, limit: int) -> list[EventRecord]:
    """The events of one entity (kept in one or more partitions), in the order they happened, from just after
    `after_sk` (an event's sort key: its time then a random id, so merging partitions keeps time order)."""
    found: list[EventRecord] = []
    events_range = EventRecord.sk.between(f"{after_sk}\x00" if after_sk else EVENT_PREFIX, f"{EVENT_PREFIX}~")
    for partition in partitions:
        found += list(EventRecord.query(partition, events_range, consistent_read=True, limit=limit, page_size=limit))
    return sorted(found, key=lambda event: event.sk)[:limit]


def is_condition_failure(exc: TransactWriteError | UpdateError | PutError) -> bool:
    return exc.cause_response_code in {"ConditionalCheckFailedException", "TransactionCanceledException"}


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    cursor: str | None


class BadCursor(ValueError):
    """A cursor that this list did not hand out."""


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    import base64

    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode().rstrip("=")


def read_cursor(cursor: str) -> dict[str, Any]:
    """What encode_cursor wrote; BadCursor for anything else."""
    import base64

    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as exc:
        raise BadCursor(cursor) from exc
    if not isinstance(key, dict):
        raise BadCursor(cursor)
    return key


def decode_cursor(cursor: str | None, partition_attribute: str, partition_value: str) -> dict[str, Any] | None:
    if cursor is None:
        return None
    key = read_cursor(cursor)
    if key.get(partition_attribute) != {"S": partition_value}:
        raise BadCursor(cursor)
    return key


def newest_first(index: Any, partition_attribute: str, partition: str, limit: int, cursor: str | None,
                 filter_condition: Any = None, page_size: int | None = None) -> Page:
    """One page of an index partition, newest first; the next page's cursor is the last key read."""
    rows = index.query(partition, scan_index_forward=False, limit=limit, page_size=page_size or limit,
                       filter_condition=filter_condition,
                       last_evaluated_key=decode_cursor(cursor, partition_attribute, partition))
    found = list(rows)
    return Page(found, encode_cursor(rows.last_evaluated_key) if len(found) == limit else None)


CANCELLED = {"TransactionCanceledException", "IdempotentParameterMismatchException", "TransactionInProgressException"}


def record_event(entity_pk: str, event_type: str, payload: dict[str, Any]) -> None:
    new_event(entity_pk, event_type, payload).save(condition=EventRecord.pk.does_not_exist())


register(Row, EventRecord)
