"""Data access: the only module that talks to DynamoDB.

One table (single-table design) keyed by `pk`/`sk`; the key prefixes say what a row is:

    PACK#<pack_id>      PACK              a pack: name, status, prices, layout, supply counters, odds version
    PACK#<pack_id>      ITEM#<item_id>    an item of the pack: tier, weight, stock, fmv, nft_id, metadata
    PACK#<pack_id>      ODDS#<000001>     an odds version: the canonical odds table (gzip JSON) and its hash
    NONCE#<nonce>       NONCE             a sign-in nonce: wallet, exact message, expiry, consumed_at
    OPENING#<id>        OPENING           an opening: quote, status, seeds, items once opened
    PAYMENT#<rail>#<id> PAYMENT           a claimed payment (signature, PaymentIntent...) -> the opening it paid
    WEBHOOK#<rail>#<id> WEBHOOK           an outside service's event, processed (written with its effect)
    REFUNDED#<rail>#<id> REFUNDED         a payment refunded before it settled anything: it can open nothing
    WALLET#<wallet>     VAULT#<time>#<id> a vault item the wallet owns
    WALLET#<wallet>     VAULT_TOTAL       the wallet's item count and total fmv (micro-dollars)
    IDEMPOTENCY#<wallet>#<operation>#<key>  IDEMPOTENCY  a remembered request and its answer
    <entity pk>         EVENT#<time>#<id> an append-only event about that entity

GSI1 (`gsi1pk`/`gsi1sk`) lists rows of one kind: all packs (`PACKS`/<pack_id>), a wallet's openings
(`WALLET#<wallet>#OPENINGS`/<created_at>#<id>). ExpiryIndex (`expiry_shard`/`expires_at`, sparse: only
QUOTED openings carry it) is where the expiry sweep finds quotes that are due.
template.yaml is the source of truth for the table; these models must agree with it (a test checks).
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from packvault import money
from packvault.errors import ErrorCode, PackvaultError
from packvault.payments import Settlement
from packvault.settings import Settings
from packvault.times import iso_millis, parse_iso

PACKS_LIST_KEY = "PACKS"
PACK_SORT_KEY = "PACK"
ITEM_PREFIX = "ITEM#"
ODDS_PREFIX = "ODDS#"
EVENT_PREFIX = "EVENT#"


def pack_pk(pack_id: str) -> str:
    return f"PACK#{pack_id}"


def utc_now_iso() -> str:
    """Now, as ISO 8601 UTC with milliseconds and a Z suffix."""
    return iso_millis(datetime.now(UTC))


class _TableMeta:
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


class _Row(Model):
    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class PackRecord(_Row):
    class Meta(_TableMeta):
        pass

    by_kind = ByKindIndex()
    gsi1pk = UnicodeAttribute(default=PACKS_LIST_KEY)
    gsi1sk = UnicodeAttribute()
    pack_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    prices = MapAttribute()  # currency symbol -> canonical decimal string
    cards_per_pack = NumberAttribute()
    layout = JSONAttribute()  # {"tiers": [...], "slots": [...]}: see catalog.PackDefinition.layout()
    supply_total = NumberAttribute(null=True)  # None: unlimited
    supply_available = NumberAttribute(null=True)
    supply_reserved = NumberAttribute(default=0)
    supply_sold = NumberAttribute(default=0)
    max_per_wallet = NumberAttribute(null=True)
    stripe_price_id = UnicodeAttribute(null=True)  # the Stripe Price behind the USD price, if any
    opened_count = NumberAttribute(default=0)
    odds_version = NumberAttribute()
    odds_hash = UnicodeAttribute()
    definition_hash = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class PackItemRecord(_Row):
    class Meta(_TableMeta):
        pass

    pack_id = UnicodeAttribute()
    item_id = UnicodeAttribute()
    tier_id = UnicodeAttribute()
    name = UnicodeAttribute()
    nft_id = UnicodeAttribute()
    rarity = UnicodeAttribute()
    fmv = UnicodeAttribute()  # canonical decimal string
    weight = NumberAttribute()
    stock_total = NumberAttribute(null=True)  # None: unlimited
    stock_available = NumberAttribute(null=True)
    metadata = JSONAttribute(null=True)
    retired = BooleanAttribute(default=False)  # removed from the catalog file; kept for history


class NonceRecord(_Row):
    class Meta(_TableMeta):
        pass

    wallet = UnicodeAttribute()
    message = UnicodeAttribute()
    issued_at = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    consumed_at = UnicodeAttribute(null=True)
    ttl = NumberAttribute()  # clean-up only; validity is decided from expires_at


class OpeningRecord(_Row):
    class Meta(_TableMeta):
        pass

    by_kind = ByKindIndex()
    by_expiry = ExpiryIndex()
    gsi1pk = UnicodeAttribute()  # WALLET#<wallet>#OPENINGS
    gsi1sk = UnicodeAttribute()  # <created_at>#<opening_id>
    expiry_shard = UnicodeAttribute(null=True)  # set while QUOTED
    expires_at = UnicodeAttribute(null=True)  # set while QUOTED (sweep index key)
    opening_id = UnicodeAttribute()
    wallet = UnicodeAttribute()
    pack_id = UnicodeAttribute()
    status = UnicodeAttribute()  # QUOTED | OPENED | EXPIRED | REFUND_DUE | REFUNDED
    rail = UnicodeAttribute(default="solana")  # how it is paid: solana | stripe (payments.RAILS)
    rail_refs = JSONAttribute(null=True)  # that rail's ids, e.g. the Checkout Session and PaymentIntent
    pack_name = UnicodeAttribute()
    cards_per_pack = NumberAttribute()
    currency = UnicodeAttribute()
    amount_base_units = UnicodeAttribute()  # integer as text: exact beyond 2**53
    receiver_wallet = UnicodeAttribute(null=True)  # solana rail: the platform wallet and the quote's reference
    reference = UnicodeAttribute(null=True)
    quote_expires_at = UnicodeAttribute()
    server_seed = UnicodeAttribute()  # secret until the pack opens
    server_seed_hash = UnicodeAttribute()
    client_seed = UnicodeAttribute(null=True)
    odds_version = NumberAttribute()
    odds_hash = UnicodeAttribute()
    limited_supply = BooleanAttribute(default=False)
    mint_limited = BooleanAttribute(default=False)  # counted against the pack's per-wallet limit
    watch_until = UnicodeAttribute(null=True)  # EXPIRED: late payments are looked for until then
    watch_interval_seconds = NumberAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    opened_at = UnicodeAttribute(null=True)
    tx_signature = UnicodeAttribute(null=True)  # solana rail: the paying transaction
    payment_id = UnicodeAttribute(null=True)  # the rail's id of the payment that settled it (claimed once)
    payment = JSONAttribute(null=True)  # what the rail found: payer, amount, time
    items = JSONAttribute(null=True)  # revealed items, in draw order
    fairness = JSONAttribute(null=True)  # the proof, once opened


class PaymentClaimRecord(_Row):
    class Meta(_TableMeta):
        pass

    rail = UnicodeAttribute()
    payment_id = UnicodeAttribute()
    opening_id = UnicodeAttribute()
    wallet = UnicodeAttribute()
    claimed_at = UnicodeAttribute()


class VaultItemRecord(_Row):
    class Meta(_TableMeta):
        pass

    vault_item_id = UnicodeAttribute()
    wallet = UnicodeAttribute()
    opening_id = UnicodeAttribute()
    pack_id = UnicodeAttribute()
    item_id = UnicodeAttribute()
    tier_id = UnicodeAttribute()
    name = UnicodeAttribute()
    nft_id = UnicodeAttribute()
    rarity = UnicodeAttribute()
    fmv = UnicodeAttribute()
    metadata = JSONAttribute(null=True)
    created_at = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)  # the payment was refunded: kept, marked, never deleted
    revoked_reason = UnicodeAttribute(null=True)


class ProcessedEventRecord(_Row):
    """An outside service's event (a Stripe webhook) that has had its effect: written in the same transaction
    as that effect, so a duplicate delivery finds it and changes nothing."""

    class Meta(_TableMeta):
        pass

    event_type = UnicodeAttribute()
    opening_id = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute()
    processed_at = UnicodeAttribute()
    ttl = NumberAttribute()


class EarlyRefundRecord(_Row):
    """A payment the provider refunded before any opening claimed it. The open transaction checks that no such
    row exists, so a refund and a settlement racing each other cannot both win."""

    class Meta(_TableMeta):
        pass

    payment_id = UnicodeAttribute()
    refunded_at = UnicodeAttribute()


class VaultTotalRecord(_Row):
    class Meta(_TableMeta):
        pass

    item_count = NumberAttribute(default=0)
    fmv_micros = NumberAttribute(default=0)  # integer micro-dollars


class WalletQuotesRecord(_Row):
    """The wallet's unpaid quotes (opening_id -> expires_at), versioned so concurrent purchases serialise."""

    class Meta(_TableMeta):
        pass

    open_quotes = MapAttribute(default=dict)
    version = NumberAttribute(default=0)


class WalletPackCountRecord(_Row):
    """How many of one pack a wallet holds quotes for or has opened (the pack's mint limit)."""

    class Meta(_TableMeta):
        pass

    count = NumberAttribute(default=0)


class IdempotencyRecord(_Row):
    class Meta(_TableMeta):
        pass

    request_hash = UnicodeAttribute()
    status_code = NumberAttribute()
    response = JSONAttribute()
    created_at = UnicodeAttribute()
    ttl = NumberAttribute()


class RefundIndexRecord(_Row):
    """One row per opening awaiting a refund (pk REFUND_DUE), so operators list them without a scan."""

    class Meta(_TableMeta):
        pass

    opening_id = UnicodeAttribute()
    created_at = UnicodeAttribute()


class OddsVersionRecord(_Row):
    class Meta(_TableMeta):
        pass

    pack_id = UnicodeAttribute()
    version = NumberAttribute()
    odds_hash = UnicodeAttribute()
    table_gz = BinaryAttribute(legacy_encoding=False)
    created_at = UnicodeAttribute()


class EventRecord(_Row):
    class Meta(_TableMeta):
        pass

    event_type = UnicodeAttribute()
    payload = JSONAttribute()
    created_at = UnicodeAttribute()


_MODELS: tuple[type[Model], ...] = (
    _Row, PackRecord, PackItemRecord, OddsVersionRecord, EventRecord, NonceRecord, OpeningRecord,
    PaymentClaimRecord, VaultItemRecord, VaultTotalRecord, IdempotencyRecord, WalletQuotesRecord,
    WalletPackCountRecord, RefundIndexRecord, ProcessedEventRecord, EarlyRefundRecord,
)


_shared_connection: Connection | None = None


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
    )


# --- reads -------------------------------------------------------------------------------------------


def get_pack_item(pack_id: str, item_id: str) -> PackItemRecord | None:
    try:
        return PackItemRecord.get(pack_pk(pack_id), f"{ITEM_PREFIX}{item_id}", consistent_read=True)
    except PackItemRecord.DoesNotExist:
        return None


def get_pack(pack_id: str) -> PackRecord | None:
    try:
        return PackRecord.get(pack_pk(pack_id), PACK_SORT_KEY, consistent_read=True)
    except PackRecord.DoesNotExist:
        return None


def list_packs() -> Iterator[PackRecord]:
    return PackRecord.by_kind.query(PACKS_LIST_KEY)


def pack_items(pack_id: str, consistent: bool = False) -> list[PackItemRecord]:
    return list(
        PackItemRecord.query(
            pack_pk(pack_id), PackItemRecord.sk.startswith(ITEM_PREFIX), consistent_read=consistent
        )
    )


def odds_table(pack_id: str, version: int) -> dict[str, Any] | None:
    try:
        row = OddsVersionRecord.get(pack_pk(pack_id), f"{ODDS_PREFIX}{version:06d}", consistent_read=True)
    except OddsVersionRecord.DoesNotExist:
        return None
    return json.loads(gzip.decompress(row.table_gz))


def events_of(entity_pk: str) -> list[EventRecord]:
    return list(EventRecord.query(entity_pk, EventRecord.sk.startswith(EVENT_PREFIX), consistent_read=True))


# --- catalog writes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountedChange:
    """A finite counter's new total; the available count moves by the same delta, never below zero."""

    old_total: int | None
    new_total: int | None


class CounterConflict(RuntimeError):
    """A counter could not be changed as asked (it would go below zero, or changed underneath us)."""


def put_pack_item(item: PackItemRecord, existing: PackItemRecord | None) -> None:
    """Create or update an item row; finite stock moves by delta so units already drawn stay drawn."""
    stock = CountedChange(existing.stock_total if existing else None, item.stock_total)
    if existing is None:
        item.stock_available = item.stock_total
        try:
            item.save(condition=PackItemRecord.pk.does_not_exist())
        except PutError as exc:
            raise CounterConflict(f"item {item.item_id} was created concurrently") from exc
        return
    actions = [
        PackItemRecord.tier_id.set(item.tier_id),
        PackItemRecord.name.set(item.name),
        PackItemRecord.nft_id.set(item.nft_id),
        PackItemRecord.rarity.set(item.rarity),
        PackItemRecord.fmv.set(item.fmv),
        PackItemRecord.weight.set(item.weight),
        PackItemRecord.metadata.set(item.metadata) if item.metadata is not None else PackItemRecord.metadata.remove(),
        PackItemRecord.retired.set(False),
    ]
    actions += _counter_actions(PackItemRecord.stock_total, PackItemRecord.stock_available, existing, stock)
    condition = _counter_condition(PackItemRecord.stock_total, PackItemRecord.stock_available, stock)
    try:
        existing.update(actions=actions, condition=condition)
    except UpdateError as exc:
        raise CounterConflict(f"item {item.item_id}: stock cannot change from {stock.old_total} to "
                              f"{stock.new_total} (units already drawn, or changed concurrently)") from exc


def retire_pack_item(existing: PackItemRecord) -> None:
    existing.update(actions=[PackItemRecord.retired.set(True)])


def put_odds_version(pack_id: str, version: int, odds_hash: str, table: dict[str, Any]) -> None:
    """Odds versions are immutable: writing the same version twice with another hash fails."""
    row = OddsVersionRecord(
        pk=pack_pk(pack_id),
        sk=f"{ODDS_PREFIX}{version:06d}",
        pack_id=pack_id,
        version=version,
        odds_hash=odds_hash,
        table_gz=gzip.compress(json.dumps(table, sort_keys=True, separators=(",", ":")).encode()),
        created_at=utc_now_iso(),
    )
    try:
        row.save(condition=OddsVersionRecord.pk.does_not_exist() | (OddsVersionRecord.odds_hash == odds_hash))
    except PutError as exc:
        raise CounterConflict(f"pack {pack_id}: odds version {version} already exists with another hash") from exc


def put_pack(pack: PackRecord, supply: CountedChange, expected_definition_hash: str | None) -> None:
    """Create or update a pack row and append its event in one transaction.

    The condition on the stored definition hash makes two concurrent loads of different files fail
    instead of interleaving; supply moves by delta and never resets what is reserved or sold.
    """
    event = new_event(pack.pk, "PACK_LOADED", {"definition_hash": pack.definition_hash,
                                               "odds_version": pack.odds_version,
                                               "supply_total": supply.new_total})
    try:
        _write_pack(pack, event, supply, expected_definition_hash)
    except TransactWriteError as exc:
        raise CounterConflict(f"pack {pack.pack_id}: supply cannot go from {supply.old_total} to "
                              f"{supply.new_total} (packs already reserved or sold), or the pack changed "
                              "while loading") from exc


def _write_pack(pack: PackRecord, event: EventRecord, supply: CountedChange, expected_hash: str | None) -> None:
    with TransactWrite(connection=connection()) as transaction:
        if expected_hash is None:
            pack.supply_available = supply.new_total
            transaction.save(pack, condition=PackRecord.pk.does_not_exist())
        else:
            actions = [
                PackRecord.name.set(pack.name),
                PackRecord.status.set(pack.status),
                PackRecord.prices.set(pack.prices),
                PackRecord.cards_per_pack.set(pack.cards_per_pack),
                PackRecord.max_per_wallet.set(pack.max_per_wallet) if pack.max_per_wallet
                else PackRecord.max_per_wallet.remove(),
                PackRecord.stripe_price_id.set(pack.stripe_price_id) if pack.stripe_price_id
                else PackRecord.stripe_price_id.remove(),
                PackRecord.layout.set(pack.layout),
                PackRecord.odds_version.set(pack.odds_version),
                PackRecord.odds_hash.set(pack.odds_hash),
                PackRecord.definition_hash.set(pack.definition_hash),
                PackRecord.updated_at.set(pack.updated_at),
                PackRecord.description.set(pack.description) if pack.description else PackRecord.description.remove(),
            ]
            actions += _counter_actions(PackRecord.supply_total, PackRecord.supply_available, None, supply)
            condition = (PackRecord.definition_hash == expected_hash) & _counter_condition(
                PackRecord.supply_total, PackRecord.supply_available, supply
            )
            transaction.update(pack, actions=actions, condition=condition)
        transaction.save(event, condition=EventRecord.pk.does_not_exist())


def is_condition_failure(exc: TransactWriteError | UpdateError | PutError) -> bool:
    return exc.cause_response_code in {"ConditionalCheckFailedException", "TransactionCanceledException"}


def _counter_actions(total_attr: Any, available_attr: Any, existing: Any, change: CountedChange) -> list[Any]:
    if change.new_total is None:
        return [total_attr.remove(), available_attr.remove()]
    if change.old_total is None:
        # Finite from now on: what was unlimited starts with its full count available.
        return [total_attr.set(change.new_total), available_attr.set(change.new_total)]
    delta = change.new_total - change.old_total
    return [total_attr.set(change.new_total), available_attr.add(delta)]


def _counter_condition(total_attr: Any, available_attr: Any, change: CountedChange) -> Any:
    if change.old_total is None:
        return total_attr.does_not_exist()
    condition = total_attr == change.old_total
    delta = (change.new_total or 0) - change.old_total
    if change.new_total is not None and delta < 0:
        condition &= available_attr >= -delta
    return condition


def latest_odds_version(pack_id: str) -> tuple[int, str] | None:
    """(version, hash) of the newest odds version of a pack, or None."""
    rows = OddsVersionRecord.query(
        pack_pk(pack_id), OddsVersionRecord.sk.startswith(ODDS_PREFIX), scan_index_forward=False, limit=1,
        consistent_read=True,
    )
    for row in rows:
        return int(row.version), row.odds_hash
    return None


# --- sign-in nonces ----------------------------------------------------------------------------------

NONCE_SORT_KEY = "NONCE"
NONCE_CLEANUP_SECONDS = 86400


def put_nonce(nonce: str, wallet: str, message: str, issued_at: str, expires_at: str) -> None:
    expires = parse_iso(expires_at)
    NonceRecord(pk=f"NONCE#{nonce}", sk=NONCE_SORT_KEY, wallet=wallet, message=message, issued_at=issued_at,
                expires_at=expires_at, ttl=int(expires.timestamp()) + NONCE_CLEANUP_SECONDS).save(
        condition=NonceRecord.pk.does_not_exist())


def consume_nonce(nonce: str, wallet: str, message: str, now: str) -> None:
    """Mark a nonce used, once: one conditional write checks that it exists, was issued to this wallet with
    exactly this message, has not expired and was not used. On failure, say which."""
    row = NonceRecord(pk=f"NONCE#{nonce}", sk=NONCE_SORT_KEY)
    condition = (NonceRecord.pk.exists() & (NonceRecord.wallet == wallet) & (NonceRecord.message == message)
                 & NonceRecord.consumed_at.does_not_exist() & (NonceRecord.expires_at > now))
    try:
        row.update(actions=[NonceRecord.consumed_at.set(now)], condition=condition)
        return
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
    try:
        stored = NonceRecord.get(row.pk, row.sk, consistent_read=True)
    except NonceRecord.DoesNotExist:
        raise PackvaultError(ErrorCode.NONCE_UNKNOWN) from None
    if stored.wallet != wallet or stored.message != message:
        raise PackvaultError(ErrorCode.NONCE_UNKNOWN)
    if stored.consumed_at is not None:
        raise PackvaultError(ErrorCode.NONCE_USED)
    raise PackvaultError(ErrorCode.NONCE_EXPIRED)


# --- the buyer's views -------------------------------------------------------------------------------

OPENING_SORT_KEY = "OPENING"
VAULT_PREFIX = "VAULT#"
VAULT_TOTAL_SORT_KEY = "VAULT_TOTAL"


def opening_pk(opening_id: str) -> str:
    return f"OPENING#{opening_id}"


def wallet_pk(wallet: str) -> str:
    return f"WALLET#{wallet}"


def wallet_openings_key(wallet: str) -> str:
    return f"WALLET#{wallet}#OPENINGS"


def get_opening(opening_id: str) -> OpeningRecord | None:
    try:
        return OpeningRecord.get(opening_pk(opening_id), OPENING_SORT_KEY, consistent_read=True)
    except OpeningRecord.DoesNotExist:
        return None


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    cursor: str | None


class BadCursor(ValueError):
    """A cursor that this list did not hand out."""


def _encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    import base64

    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None, partition_attribute: str, partition_value: str) -> dict[str, Any] | None:
    if cursor is None:
        return None
    import base64

    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if key[partition_attribute] != {"S": partition_value}:
            raise BadCursor(cursor)
    except (ValueError, KeyError, TypeError) as exc:
        raise BadCursor(cursor) from exc
    return key


def wallet_openings(wallet: str, limit: int, cursor: str | None) -> Page:
    """A wallet's openings, newest first."""
    partition = wallet_openings_key(wallet)
    rows = OpeningRecord.by_kind.query(partition, scan_index_forward=False, limit=limit, page_size=limit,
                                       last_evaluated_key=_decode_cursor(cursor, "gsi1pk", partition))
    found = list(rows)
    return Page(found, _encode_cursor(rows.last_evaluated_key) if len(found) == limit else None)


def wallet_vault(wallet: str, limit: int, cursor: str | None) -> Page:
    """A wallet's vault items, newest first."""
    partition = wallet_pk(wallet)
    rows = VaultItemRecord.query(partition, VaultItemRecord.sk.startswith(VAULT_PREFIX), scan_index_forward=False,
                                 limit=limit, page_size=limit, consistent_read=True,
                                 last_evaluated_key=_decode_cursor(cursor, "pk", partition))
    found = list(rows)
    return Page(found, _encode_cursor(rows.last_evaluated_key) if len(found) == limit else None)


def vault_total(wallet: str) -> tuple[int, int]:
    """(item count, total fmv in micro-dollars) of a wallet's vault."""
    try:
        row = VaultTotalRecord.get(wallet_pk(wallet), VAULT_TOTAL_SORT_KEY, consistent_read=True)
    except VaultTotalRecord.DoesNotExist:
        return 0, 0
    return int(row.item_count), int(row.fmv_micros)


# --- quotes ------------------------------------------------------------------------------------------

QUOTES_SORT_KEY = "QUOTES"
IDEMPOTENCY_SORT_KEY = "IDEMPOTENCY"
IDEMPOTENCY_TTL_SECONDS = 86400


def idempotency_pk(wallet: str, operation: str, key: str) -> str:
    return f"IDEMPOTENCY#{wallet}#{operation}#{key}"


def get_idempotency(wallet: str, operation: str, key: str) -> IdempotencyRecord | None:
    try:
        return IdempotencyRecord.get(idempotency_pk(wallet, operation, key), IDEMPOTENCY_SORT_KEY,
                                     consistent_read=True)
    except IdempotencyRecord.DoesNotExist:
        return None


def new_idempotency(wallet: str, operation: str, key: str, request_hash: str, status_code: int,
                    response: dict[str, Any]) -> IdempotencyRecord:
    now = datetime.now(UTC)
    return IdempotencyRecord(pk=idempotency_pk(wallet, operation, key), sk=IDEMPOTENCY_SORT_KEY,
                             request_hash=request_hash, status_code=status_code, response=response,
                             created_at=utc_now_iso(), ttl=int(now.timestamp()) + IDEMPOTENCY_TTL_SECONDS)


def get_wallet_quotes(wallet: str) -> WalletQuotesRecord:
    try:
        return WalletQuotesRecord.get(wallet_pk(wallet), QUOTES_SORT_KEY, consistent_read=True)
    except WalletQuotesRecord.DoesNotExist:
        return WalletQuotesRecord(pk=wallet_pk(wallet), sk=QUOTES_SORT_KEY, open_quotes={}, version=0)


def wallet_pack_count(wallet: str, pack_id: str) -> int:
    try:
        row = WalletPackCountRecord.get(wallet_pk(wallet), f"PACKCOUNT#{pack_id}", consistent_read=True)
    except WalletPackCountRecord.DoesNotExist:
        return 0
    return int(row.count)


class ReservationFailed(RuntimeError):
    """The reservation transaction was cancelled: a condition no longer held (the caller re-reads and decides)."""


def reserve_quote(opening: OpeningRecord, quotes: WalletQuotesRecord, open_quotes: dict[str, str],
                  pack: PackRecord, max_per_wallet: int | None, idempotency: IdempotencyRecord | None,
                  request_token: str) -> None:
    """One transaction: take a unit of a limited pack's supply, record the opening and its event, add it to the
    wallet's open quotes (under the version read), count it against the mint limit, remember the answer."""
    event = new_event(opening.pk, "QUOTED", {"wallet": opening.wallet, "pack_id": opening.pack_id,
                                             "amount_base_units": opening.amount_base_units,
                                             "currency": opening.currency})
    try:
        with TransactWrite(connection=connection(), client_request_token=request_token) as transaction:
            if pack.supply_total is not None:
                transaction.update(pack, actions=[PackRecord.supply_available.add(-1),
                                                  PackRecord.supply_reserved.add(1)],
                                   condition=(PackRecord.supply_available > 0) & (PackRecord.status == "ACTIVE"))
            transaction.save(opening, condition=OpeningRecord.pk.does_not_exist())
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
            version = int(quotes.version or 0)
            quotes_condition = (WalletQuotesRecord.version == version) if version else \
                WalletQuotesRecord.pk.does_not_exist()
            transaction.update(quotes, actions=[WalletQuotesRecord.open_quotes.set(open_quotes),
                                                WalletQuotesRecord.version.set(version + 1)],
                               condition=quotes_condition)
            if max_per_wallet is not None:
                counter = WalletPackCountRecord(pk=quotes.pk, sk=f"PACKCOUNT#{opening.pack_id}")
                transaction.update(counter, actions=[WalletPackCountRecord.count.add(1)],
                                   condition=WalletPackCountRecord.count.does_not_exist()
                                   | (WalletPackCountRecord.count < max_per_wallet))
            if idempotency is not None:
                transaction.save(idempotency, condition=IdempotencyRecord.pk.does_not_exist())
    except TransactWriteError as exc:
        if exc.cause_response_code in {"TransactionCanceledException", "IdempotentParameterMismatchException",
                                       "TransactionInProgressException"}:
            raise ReservationFailed(exc.cause_response_code) from exc
        raise


# --- opening -----------------------------------------------------------------------------------------

PAYMENT_SORT_KEY = "PAYMENT"
WEBHOOK_SORT_KEY = "WEBHOOK"
PROCESSED_EVENT_TTL_SECONDS = 90 * 86400  # far beyond Stripe's 3 days of retries


def payment_pk(rail: str, payment_id: str) -> str:
    return f"PAYMENT#{rail}#{payment_id}"


def get_payment_claim(rail: str, payment_id: str) -> PaymentClaimRecord | None:
    try:
        return PaymentClaimRecord.get(payment_pk(rail, payment_id), PAYMENT_SORT_KEY, consistent_read=True)
    except PaymentClaimRecord.DoesNotExist:
        return None


def _claim(opening: OpeningRecord, settlement: Settlement, now: str) -> PaymentClaimRecord:
    return PaymentClaimRecord(pk=payment_pk(settlement.rail, settlement.payment_id), sk=PAYMENT_SORT_KEY,
                              rail=settlement.rail, payment_id=settlement.payment_id, opening_id=opening.opening_id,
                              wallet=opening.wallet, claimed_at=now)


def processed_event(rail: str, event_id: str, event_type: str, opening_id: str | None,
                    outcome: str) -> ProcessedEventRecord:
    """The marker of an outside event; pass it to the write that carries the event's effect."""
    now = datetime.now(UTC)
    return ProcessedEventRecord(pk=f"WEBHOOK#{rail}#{event_id}", sk=WEBHOOK_SORT_KEY, event_type=event_type,
                                opening_id=opening_id, outcome=outcome, processed_at=iso_millis(now),
                                ttl=int(now.timestamp()) + PROCESSED_EVENT_TTL_SECONDS)


def get_processed_event(rail: str, event_id: str) -> ProcessedEventRecord | None:
    try:
        return ProcessedEventRecord.get(f"WEBHOOK#{rail}#{event_id}", WEBHOOK_SORT_KEY, consistent_read=True)
    except ProcessedEventRecord.DoesNotExist:
        return None


def _mark_processed(transaction: TransactWrite, marker: ProcessedEventRecord | None) -> None:
    if marker is not None:
        transaction.save(marker, condition=ProcessedEventRecord.pk.does_not_exist())


def record_processed(marker: ProcessedEventRecord, entity_pk: str, payload: dict[str, Any]) -> bool:
    """An event that changes no state still leaves its trace: the marker and an event, together.
    False if the marker was already there (a duplicate delivery)."""
    event = new_event(entity_pk, f"{marker.event_type.upper().replace('.', '_')}_NOTED",
                      {**payload, "outcome": marker.outcome})
    try:
        with TransactWrite(connection=connection()) as transaction:
            _mark_processed(transaction, marker)
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError as exc:
        if exc.cause_response_code == "TransactionCanceledException":
            return False
        raise
    return True


def new_vault_item(wallet: str, opening: OpeningRecord, vault_item_id: str, item: PackItemRecord,
                   created_at: str) -> VaultItemRecord:
    return VaultItemRecord(
        pk=wallet_pk(wallet), sk=f"{VAULT_PREFIX}{created_at}#{vault_item_id}", vault_item_id=vault_item_id,
        wallet=wallet, opening_id=opening.opening_id, pack_id=opening.pack_id, item_id=item.item_id,
        tier_id=item.tier_id, name=item.name, nft_id=item.nft_id, rarity=item.rarity, fmv=item.fmv,
        metadata=item.metadata, created_at=created_at,
    )


class OpenFailed(RuntimeError):
    """The open transaction was cancelled: the caller re-reads to learn why (opened, payment used, stock)."""


_CANCELLED = {"TransactionCanceledException", "IdempotentParameterMismatchException", "TransactionInProgressException"}


def open_opening(opening: OpeningRecord, changes: dict[str, Any], settlement: Settlement,
                 vault_items: list[VaultItemRecord], stock_taken: dict[str, int], fmv_micros: int,
                 request_token: str, marker: ProcessedEventRecord | None = None) -> None:
    """One transaction, whatever rail paid: QUOTED -> OPENED with its items, the payment claimed, the vault
    items created, stock and supply counters moved, the vault total updated, the quote released from the
    wallet's open quotes, the event appended (and the outside event that caused it marked). All or nothing."""
    event = new_event(opening.pk, "OPENED", {"rail": settlement.rail, "payment_id": settlement.payment_id,
                                             "items": [v.item_id for v in vault_items]})
    try:
        with TransactWrite(connection=connection(), client_request_token=request_token) as transaction:
            transaction.update(
                opening,
                actions=[getattr(OpeningRecord, name).set(value) for name, value in changes.items()]
                + [OpeningRecord.expiry_shard.remove(), OpeningRecord.expires_at.remove()],
                condition=(OpeningRecord.status == "QUOTED") & (OpeningRecord.wallet == opening.wallet),
            )
            transaction.save(_claim(opening, settlement, changes["opened_at"]),
                             condition=PaymentClaimRecord.pk.does_not_exist())
            if settlement.rail != "solana":  # only a provider can refund a payment before it settles
                transaction.condition_check(EarlyRefundRecord, early_refund_pk(settlement.rail, settlement.payment_id),
                                            EARLY_REFUND_SORT_KEY, condition=EarlyRefundRecord.pk.does_not_exist())
            for vault_item in vault_items:
                transaction.save(vault_item, condition=VaultItemRecord.pk.does_not_exist())
            for item_id, units in stock_taken.items():
                row = PackItemRecord(pk=pack_pk(opening.pack_id), sk=f"{ITEM_PREFIX}{item_id}")
                transaction.update(row, actions=[PackItemRecord.stock_available.add(-units)],
                                   condition=PackItemRecord.stock_available >= units)
            if opening.limited_supply:
                pack = PackRecord(pk=pack_pk(opening.pack_id), sk=PACK_SORT_KEY)
                transaction.update(pack, actions=[PackRecord.supply_reserved.add(-1), PackRecord.supply_sold.add(1),
                                                  PackRecord.opened_count.add(1)],
                                   condition=PackRecord.supply_reserved >= 1)
            total = VaultTotalRecord(pk=wallet_pk(opening.wallet), sk=VAULT_TOTAL_SORT_KEY)
            transaction.update(total, actions=[VaultTotalRecord.item_count.add(len(vault_items)),
                                               VaultTotalRecord.fmv_micros.add(fmv_micros)])
            quotes = WalletQuotesRecord(pk=wallet_pk(opening.wallet), sk=QUOTES_SORT_KEY)
            transaction.update(quotes, actions=[WalletQuotesRecord.open_quotes[opening.opening_id].remove(),
                                                WalletQuotesRecord.version.add(1)])
            _mark_processed(transaction, marker)
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError as exc:
        if exc.cause_response_code in _CANCELLED:
            raise OpenFailed(exc.cause_response_code) from exc
        raise


REFUNDS_PK = "REFUND_DUE"
EARLY_REFUND_SORT_KEY = "REFUNDED"


def early_refund_pk(rail: str, payment_id: str) -> str:
    return f"REFUNDED#{rail}#{payment_id}"


def record_early_refund(rail: str, payment_id: str, marker: ProcessedEventRecord, payload: dict[str, Any]) -> bool:
    """A refund for a payment no opening has claimed (yet): remembered, with the event that said so."""
    row = EarlyRefundRecord(pk=early_refund_pk(rail, payment_id), sk=EARLY_REFUND_SORT_KEY, payment_id=payment_id,
                            refunded_at=utc_now_iso())
    event = new_event(row.pk, "REFUNDED_BEFORE_SETTLEMENT", payload)
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.save(row)
            _mark_processed(transaction, marker)
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError as exc:
        if exc.cause_response_code == "TransactionCanceledException":
            return False
        raise
    return True


def early_refund(rail: str, payment_id: str) -> EarlyRefundRecord | None:
    try:
        return EarlyRefundRecord.get(early_refund_pk(rail, payment_id), EARLY_REFUND_SORT_KEY, consistent_read=True)
    except EarlyRefundRecord.DoesNotExist:
        return None


def attach_checkout(opening: OpeningRecord, references: dict[str, Any], idempotency: IdempotencyRecord | None,
                    answer: dict[str, Any]) -> None:
    """Persist the Checkout Session created for an opening, and complete the remembered answer, together."""
    now = utc_now_iso()
    event = new_event(opening.pk, "CHECKOUT_CREATED", {"checkout_session_id": references["checkout_session_id"]})
    with TransactWrite(connection=connection()) as transaction:
        transaction.update(opening, actions=[OpeningRecord.rail_refs.set({**(opening.rail_refs or {}), **references}),
                                             OpeningRecord.updated_at.set(now)],
                           condition=OpeningRecord.rail == "stripe")
        if idempotency is not None:
            transaction.update(idempotency, actions=[IdempotencyRecord.status_code.set(201),
                                                     IdempotencyRecord.response.set(answer)])
        transaction.save(event, condition=EventRecord.pk.does_not_exist())
    opening.rail_refs = {**(opening.rail_refs or {}), **references}


def postpone_expiry(opening: OpeningRecord, next_check: str) -> None:
    """A QUOTED opening whose payment is still in flight (an async card payment): look again later."""
    try:
        opening.update(actions=[OpeningRecord.expires_at.set(next_check)], condition=OpeningRecord.status == "QUOTED")
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


def mark_refund_due(opening: OpeningRecord, settlement: Settlement, reason: str,
                    marker: ProcessedEventRecord | None = None) -> bool:
    """A valid payment that cannot open the pack: record it (status REFUND_DUE, payment claimed, a reserved
    unit released) so that it is never lost. False if the opening changed status meanwhile."""
    now = utc_now_iso()
    event = new_event(opening.pk, "REFUND_DUE", {"rail": settlement.rail, "payment_id": settlement.payment_id,
                                                 "reason": reason, "payment": settlement.details})
    index_row = RefundIndexRecord(pk=REFUNDS_PK, sk=f"{now}#{opening.opening_id}", opening_id=opening.opening_id,
                                  created_at=now)
    was_quoted = opening.status == "QUOTED"
    actions = [OpeningRecord.status.set("REFUND_DUE"), OpeningRecord.payment_id.set(settlement.payment_id),
               OpeningRecord.payment.set({**settlement.details, "refund_reason": reason}),
               OpeningRecord.updated_at.set(now), OpeningRecord.expiry_shard.remove(),
               OpeningRecord.expires_at.remove()]
    actions += [getattr(OpeningRecord, name).set(value) for name, value in reference_fields(opening, settlement)]
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.update(opening, actions=actions, condition=OpeningRecord.status == opening.status)
            transaction.save(_claim(opening, settlement, now), condition=PaymentClaimRecord.pk.does_not_exist())
            transaction.save(index_row)
            if was_quoted:
                _release_reservation(transaction, opening)
            _mark_processed(transaction, marker)
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError:
        return False
    return True


def reference_fields(opening: OpeningRecord, settlement: Settlement) -> list[tuple[str, Any]]:
    """Where a rail's references live on the opening: Solana's signature in tx_signature (the API has always
    shown it), every other rail's ids in rail_refs."""
    if settlement.rail == "solana":
        return [("tx_signature", settlement.payment_id)]
    return [("rail_refs", {**(opening.rail_refs or {}), **settlement.references})]


def _release_reservation(transaction: TransactWrite, opening: OpeningRecord) -> None:
    """Gives a QUOTED opening's unit back: supply, the mint-limit count and the wallet's open quotes."""
    if opening.limited_supply:
        pack = PackRecord(pk=pack_pk(opening.pack_id), sk=PACK_SORT_KEY)
        transaction.update(pack, actions=[PackRecord.supply_reserved.add(-1), PackRecord.supply_available.add(1)],
                           condition=PackRecord.supply_reserved >= 1)
    if opening.mint_limited:
        counter = WalletPackCountRecord(pk=wallet_pk(opening.wallet), sk=f"PACKCOUNT#{opening.pack_id}")
        transaction.update(counter, actions=[WalletPackCountRecord.count.add(-1)],
                           condition=WalletPackCountRecord.count >= 1)
    quotes = WalletQuotesRecord(pk=wallet_pk(opening.wallet), sk=QUOTES_SORT_KEY)
    transaction.update(quotes, actions=[WalletQuotesRecord.open_quotes[opening.opening_id].remove(),
                                        WalletQuotesRecord.version.add(1)])


def refunds_due(limit: int = 100) -> list[OpeningRecord]:
    rows = RefundIndexRecord.query(REFUNDS_PK, limit=limit, consistent_read=True)
    openings = [get_opening(row.opening_id) for row in rows]
    return [o for o in openings if o is not None and o.status == "REFUND_DUE"]


def mark_refunded(opening: OpeningRecord, refund: dict[str, Any], actor: str,
                  marker: ProcessedEventRecord | None = None) -> bool:
    """REFUND_DUE -> REFUNDED, with the refund's reference (a Solana signature, a Stripe refund id)."""
    now = utc_now_iso()
    index_rows = [row for row in RefundIndexRecord.query(REFUNDS_PK, consistent_read=True)
                  if row.opening_id == opening.opening_id]
    event = new_event(opening.pk, "REFUNDED", {**refund, "actor": actor})
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.update(opening, actions=[
                OpeningRecord.status.set("REFUNDED"), OpeningRecord.updated_at.set(now),
                OpeningRecord.payment.set({**(opening.payment or {}), **refund, "refunded_at": now}),
            ], condition=OpeningRecord.status == "REFUND_DUE")
            for row in index_rows:
                transaction.delete(row)
            _mark_processed(transaction, marker)
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError:
        return False
    return True


def revoke_opening(opening: OpeningRecord, refund: dict[str, Any], actor: str,
                   marker: ProcessedEventRecord | None = None) -> bool:
    """OPENED -> REFUNDED after its payment was refunded: its vault items are marked revoked (never deleted)
    and leave the vault's totals, in one transaction. False if the opening is not OPENED any more."""
    now = utc_now_iso()
    items = opening.items or []
    event = new_event(opening.pk, "REFUNDED", {**refund, "actor": actor,
                                               "revoked": [item["vault_item_id"] for item in items]})
    fmv_micros = sum(money.to_base_units(item["fmv"], money.FMV_DECIMALS) for item in items)
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.update(opening, actions=[
                OpeningRecord.status.set("REFUNDED"), OpeningRecord.updated_at.set(now),
                OpeningRecord.payment.set({**(opening.payment or {}), **refund, "refunded_at": now}),
            ], condition=OpeningRecord.status == "OPENED")
            for item in items:
                row = VaultItemRecord(pk=wallet_pk(opening.wallet),
                                      sk=f"{VAULT_PREFIX}{opening.opened_at}#{item['vault_item_id']}")
                transaction.update(row, actions=[VaultItemRecord.revoked_at.set(now),
                                                 VaultItemRecord.revoked_reason.set("payment refunded")],
                                   condition=VaultItemRecord.pk.exists())
            total = VaultTotalRecord(pk=wallet_pk(opening.wallet), sk=VAULT_TOTAL_SORT_KEY)
            transaction.update(total, actions=[VaultTotalRecord.item_count.add(-len(items)),
                                               VaultTotalRecord.fmv_micros.add(-fmv_micros)])
            _mark_processed(transaction, marker)
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError:
        return False
    return True


# --- expiry ------------------------------------------------------------------------------------------

QUOTED_SHARD = "Q"
WATCH_SHARD = "W"


def expiry_shard_key(kind: str, shard: int) -> str:
    return f"{kind}{shard:03d}"


def due_openings(shard_key: str, up_to: str, limit: int) -> list[str]:
    """Opening ids in one expiry shard whose key time is at or before `up_to` (oldest first)."""
    rows = OpeningRecord.by_expiry.query(shard_key, OpeningRecord.expires_at <= up_to, limit=limit,
                                         page_size=limit)
    return [row.pk.removeprefix("OPENING#") for row in rows]


def expire_opening(opening: OpeningRecord, watch: tuple[str, str, str, int] | None, reason: str = "quote expired",
                   marker: ProcessedEventRecord | None = None) -> bool:
    """QUOTED -> EXPIRED, its unit released exactly once. With `watch` (shard, next check, watch until,
    interval) it moves to the watch shard for late payments; without, it leaves the expiry index."""
    now = utc_now_iso()
    event = new_event(opening.pk, "EXPIRED", {"released_unit": bool(opening.limited_supply), "reason": reason})
    if watch is not None:
        watch_shard, next_check, watch_until, interval_seconds = watch
        placement = [OpeningRecord.expiry_shard.set(watch_shard), OpeningRecord.expires_at.set(next_check),
                     OpeningRecord.watch_until.set(watch_until),
                     OpeningRecord.watch_interval_seconds.set(interval_seconds)]
    else:
        placement = [OpeningRecord.expiry_shard.remove(), OpeningRecord.expires_at.remove()]
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.update(opening, actions=[
                OpeningRecord.status.set("EXPIRED"), OpeningRecord.updated_at.set(now), *placement,
            ], condition=OpeningRecord.status == "QUOTED")
            _release_reservation(transaction, opening)
            _mark_processed(transaction, marker)
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError:
        return False
    return True


def reschedule_watch(opening: OpeningRecord, next_check: str | None, interval_seconds: int) -> None:
    """Next look for a late payment (None: the watch window is over; the opening leaves the index)."""
    actions = ([OpeningRecord.expires_at.set(next_check), OpeningRecord.watch_interval_seconds.set(interval_seconds)]
               if next_check else [OpeningRecord.expiry_shard.remove(), OpeningRecord.expires_at.remove()])
    try:
        opening.update(actions=actions, condition=OpeningRecord.status == "EXPIRED")
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


def re_reserve(opening: OpeningRecord) -> bool:
    """EXPIRED -> QUOTED again for a payment made in time, if the pack still has a unit. False otherwise."""
    now = utc_now_iso()
    event = new_event(opening.pk, "RE_RESERVED", {"reason": "payment made before expiry"})
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.update(opening, actions=[
                OpeningRecord.status.set("QUOTED"), OpeningRecord.updated_at.set(now),
                OpeningRecord.expiry_shard.remove(), OpeningRecord.expires_at.remove(),
            ], condition=OpeningRecord.status == "EXPIRED")
            if opening.limited_supply:
                pack = PackRecord(pk=pack_pk(opening.pack_id), sk=PACK_SORT_KEY)
                transaction.update(pack, actions=[PackRecord.supply_available.add(-1),
                                                  PackRecord.supply_reserved.add(1)],
                                   condition=PackRecord.supply_available > 0)
            if opening.mint_limited:
                counter = WalletPackCountRecord(pk=wallet_pk(opening.wallet), sk=f"PACKCOUNT#{opening.pack_id}")
                transaction.update(counter, actions=[WalletPackCountRecord.count.add(1)])
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError:
        return False
    opening.status = "QUOTED"
    return True


def record_event(entity_pk: str, event_type: str, payload: dict[str, Any]) -> None:
    new_event(entity_pk, event_type, payload).save(condition=EventRecord.pk.does_not_exist())

