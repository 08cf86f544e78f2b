"""What a wallet holds: vault items and totals, unpaid quotes, per-pack counts, remembered answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from packvault.store.ledger import Entry, platform_account, post, wallet_account
from packvault.store.table import (
    CANCELLED,
    EventRecord,
    Page,
    Row,
    TableMeta,
    connection,
    decode_cursor,
    encode_cursor,
    new_event,
    register,
    utc_now_iso,
)


class VaultItemRecord(Row):
    class Meta(TableMeta):
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
    image_url = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)  # the payment was refunded: kept, marked, never deleted
    revoked_reason = UnicodeAttribute(null=True)
    sold_at = UnicodeAttribute(null=True)  # sold back for credits (instant buyback): kept, marked, never deleted
    sold_credits = NumberAttribute(null=True)


class VaultTotalRecord(Row):
    class Meta(TableMeta):
        pass

    item_count = NumberAttribute(default=0)
    fmv_micros = NumberAttribute(default=0)  # integer micro-dollars


class WalletQuotesRecord(Row):
    """How many unpaid quotes the wallet holds: +1 under `open_count < MAX_OPEN_QUOTES` in the reservation's own
    transaction, -1 when a quote is paid, expired or turned into a refund (in that transaction too)."""

    class Meta(TableMeta):
        pass

    open_count = NumberAttribute(default=0)


class WalletPackCountRecord(Row):
    """How many of one pack a wallet holds quotes for or has opened (the pack's mint limit)."""

    class Meta(TableMeta):
        pass

    count = NumberAttribute(default=0)


class IdempotencyRecord(Row):
    class Meta(TableMeta):
        pass

    request_hash = UnicodeAttribute()
    status_code = NumberAttribute()
    response = JSONAttribute()
    created_at = UnicodeAttribute()
    ttl = NumberAttribute()


VAULT_PREFIX = "VAULT#"


VAULT_TOTAL_SORT_KEY = "VAULT_TOTAL"


def wallet_pk(wallet: str) -> str:
    return f"WALLET#{wallet}"


def wallet_vault(wallet: str, limit: int, cursor: str | None) -> Page:
    """A wallet's vault items, newest first."""
    partition = wallet_pk(wallet)
    rows = VaultItemRecord.query(partition, VaultItemRecord.sk.startswith(VAULT_PREFIX), scan_index_forward=False,
                                 limit=limit, page_size=limit, consistent_read=True,
                                 last_evaluated_key=decode_cursor(cursor, "pk", partition))
    found = list(rows)
    return Page(found, encode_cursor(rows.last_evaluated_key) if len(found) == limit else None)


def vault_total(wallet: str) -> tuple[int, int]:
    """(item count, total fmv in micro-dollars) of a wallet's vault."""
    try:
        row = VaultTotalRecord.get(wallet_pk(wallet), VAULT_TOTAL_SORT_KEY, consistent_read=True)
    except VaultTotalRecord.DoesNotExist:
        return 0, 0
    return int(row.item_count), int(row.fmv_micros)


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


def open_quote_count(wallet: str) -> int:
    try:
        return int(WalletQuotesRecord.get(wallet_pk(wallet), QUOTES_SORT_KEY, consistent_read=True).open_count or 0)
    except WalletQuotesRecord.DoesNotExist:
        return 0


def count_quote(transaction: TransactWrite, wallet: str, delta: int, limit: int | None = None) -> None:
    """In a transaction: the wallet's unpaid-quote count (in units: a bundle of 5 counts 5) moves by `delta` (an
    increase only while it stays within `limit`)."""
    row = WalletQuotesRecord(pk=wallet_pk(wallet), sk=QUOTES_SORT_KEY)
    condition = (WalletQuotesRecord.open_count.does_not_exist() | (WalletQuotesRecord.open_count <= limit - delta)
                 if limit is not None else None)
    transaction.update(row, actions=[WalletQuotesRecord.open_count.add(delta)], condition=condition)


def wallet_pack_count(wallet: str, pack_id: str) -> int:
    try:
        row = WalletPackCountRecord.get(wallet_pk(wallet), f"PACKCOUNT#{pack_id}", consistent_read=True)
    except WalletPackCountRecord.DoesNotExist:
        return 0
    return int(row.count)


register(VaultItemRecord, VaultTotalRecord, WalletQuotesRecord, WalletPackCountRecord, IdempotencyRecord)


def get_vault_item(wallet: str, opened_at: str, vault_item_id: str) -> VaultItemRecord | None:
    try:
        return VaultItemRecord.get(wallet_pk(wallet), f"{VAULT_PREFIX}{opened_at}#{vault_item_id}",
                                   consistent_read=True)
    except VaultItemRecord.DoesNotExist:
        return None


def sell_back(item: VaultItemRecord, credits: int, fmv_micros: int, details: dict[str, Any]) -> str | None:
    """One transaction: the item marked sold (still owned, unsold, not revoked), the credits posted (wallet +,
    platform buyback -) under the posting id `buyback:<vault item>`, the vault totals reduced, the event
    appended. The time of the sale, or None if the item was sold or revoked meanwhile (or the posting exists:
    the same sale)."""
    now = utc_now_iso()
    posting_id = f"buyback:{item.vault_item_id}"
    event = new_event(item.pk, "ITEM_SOLD_BACK", {**details, "vault_item_id": item.vault_item_id, "credits": credits,
                                                  "posting_id": posting_id})
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.update(item, actions=[VaultItemRecord.sold_at.set(now),
                                              VaultItemRecord.sold_credits.set(credits)],
                               condition=VaultItemRecord.pk.exists() & (VaultItemRecord.wallet == item.wallet)
                               & VaultItemRecord.sold_at.does_not_exist() & VaultItemRecord.revoked_at.does_not_exist())
            post(transaction, posting_id, "buyback", [Entry(wallet_account(item.wallet), credits),
                                                      Entry(platform_account("buyback"), -credits)],
                 actor=item.wallet, now=now, details={**details, "vault_item_id": item.vault_item_id})
            total = VaultTotalRecord(pk=wallet_pk(item.wallet), sk=VAULT_TOTAL_SORT_KEY)
            transaction.update(total, actions=[VaultTotalRecord.item_count.add(-1),
                                               VaultTotalRecord.fmv_micros.add(-fmv_micros)])
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError as exc:
        if exc.cause_response_code in CANCELLED:
            return None
        raise
    item.sold_at, item.sold_credits = now, credits
    return now
