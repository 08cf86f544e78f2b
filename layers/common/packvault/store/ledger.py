"""The credit ledger: double-entry postings over accounts, written inside the transaction of the business
action they belong to.

    POSTING#<posting id>        POSTING             a posting: its kind, its entries (summing to zero), who, why
    LEDGER#<account>[#<shard>]  ENTRY#<time>#<id>   one entry of a posting on one account (append-only)
    CREDITS#<wallet>            BALANCE             a wallet's balance, never below zero (a condition says so)

The posting row is put only if its id is new: the id is the action's idempotency key (`buyback:<vault item>`,
...), so a replay changes nothing, forever (not only for DynamoDB's 10-minute request tokens). Wallet accounts
(`wallet:<address>`) have a balance row; platform accounts (`platform:<name>`) have none (their balance is the
sum of their entries) and spread their entries over shards, so no single row or partition is hot.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from packvault.store.table import (
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

POSTING_SORT_KEY = "POSTING"
BALANCE_SORT_KEY = "BALANCE"
ENTRY_PREFIX = "ENTRY#"
PLATFORM_SHARDS = 16


class PostingRecord(Row):
    class Meta(TableMeta):
        pass

    posting_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    entries = JSONAttribute()  # [{"account": ..., "amount": signed int}], summing to zero
    actor = UnicodeAttribute()
    details = JSONAttribute(null=True)
    created_at = UnicodeAttribute()


class LedgerEntryRecord(Row):
    class Meta(TableMeta):
        pass

    account = UnicodeAttribute()
    posting_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    amount = NumberAttribute()  # signed, whole credits
    details = JSONAttribute(null=True)
    created_at = UnicodeAttribute()


class CreditBalanceRecord(Row):
    class Meta(TableMeta):
        pass

    balance = NumberAttribute(default=0)


@dataclass(frozen=True)
class Entry:
    account: str
    amount: int


class UnbalancedPosting(ValueError):
    """Entries that do not sum to zero, or that are not whole credits: a programming error, never written."""


def wallet_account(wallet: str) -> str:
    return f"wallet:{wallet}"


def platform_account(name: str) -> str:
    return f"platform:{name}"


def ledger_pk(account: str, posting_id: str) -> str:
    if account.startswith("platform:"):
        shard = int(hashlib.sha256(posting_id.encode()).hexdigest(), 16) % PLATFORM_SHARDS
        return f"LEDGER#{account}#{shard:02d}"
    return f"LEDGER#{account}"


def balance_pk(wallet: str) -> str:
    return f"CREDITS#{wallet}"


def post(transaction: TransactWrite, posting_id: str, kind: str, entries: list[Entry], actor: str, now: str,
         details: dict[str, Any] | None = None, expected_balances: dict[str, int] | None = None) -> None:
    """Adds a balanced posting to `transaction`: the posting row (only if its id is new), one entry row per
    account, and each wallet balance moved, a debit only while the balance covers it (or, for an account in
    `expected_balances`, only while the balance is exactly that: the caller then knows the balance after)."""
    if sum(entry.amount for entry in entries) != 0 or any(
            isinstance(entry.amount, bool) or not isinstance(entry.amount, int) or entry.amount == 0
            for entry in entries):
        raise UnbalancedPosting(f"posting {posting_id}: entries must be non-zero whole credits summing to zero")
    transaction.save(PostingRecord(pk=f"POSTING#{posting_id}", sk=POSTING_SORT_KEY, posting_id=posting_id, kind=kind,
                                   entries=[{"account": e.account, "amount": e.amount} for e in entries], actor=actor,
                                   details=details, created_at=now),
                     condition=PostingRecord.pk.does_not_exist())
    for entry in entries:
        transaction.save(LedgerEntryRecord(pk=ledger_pk(entry.account, posting_id),
                                           sk=f"{ENTRY_PREFIX}{now}#{posting_id}", account=entry.account,
                                           posting_id=posting_id, kind=kind, amount=entry.amount, details=details,
                                           created_at=now),
                         condition=LedgerEntryRecord.pk.does_not_exist())
        if entry.account.startswith("wallet:"):
            row = CreditBalanceRecord(pk=balance_pk(entry.account.removeprefix("wallet:")), sk=BALANCE_SORT_KEY)
            condition = CreditBalanceRecord.balance >= -entry.amount if entry.amount < 0 else None
            if expected_balances and entry.account in expected_balances:
                condition = CreditBalanceRecord.balance == expected_balances[entry.account]
            transaction.update(row, actions=[CreditBalanceRecord.balance.add(entry.amount)], condition=condition)


def get_posting(posting_id: str) -> PostingRecord | None:
    try:
        return PostingRecord.get(f"POSTING#{posting_id}", POSTING_SORT_KEY, consistent_read=True)
    except PostingRecord.DoesNotExist:
        return None


def credit_balance(wallet: str) -> int:
    try:
        return int(CreditBalanceRecord.get(balance_pk(wallet), BALANCE_SORT_KEY, consistent_read=True).balance)
    except CreditBalanceRecord.DoesNotExist:
        return 0


def account_entries(account: str, limit: int, cursor: str | None) -> Page:
    """A wallet account's entries, newest first."""
    partition = ledger_pk(account, "")
    rows = LedgerEntryRecord.query(partition, LedgerEntryRecord.sk.startswith(ENTRY_PREFIX), scan_index_forward=False,
                                   limit=limit, page_size=limit, consistent_read=True,
                                   last_evaluated_key=decode_cursor(cursor, "pk", partition))
    found = list(rows)
    return Page(found, encode_cursor(rows.last_evaluated_key) if len(found) == limit else None)


def all_entries(account: str) -> list[LedgerEntryRecord]:
    """Every entry of an account (a platform account's shards included): for audits and reports."""
    partitions = ([f"LEDGER#{account}#{shard:02d}" for shard in range(PLATFORM_SHARDS)]
                  if account.startswith("platform:") else [f"LEDGER#{account}"])
    return [row for partition in partitions
            for row in LedgerEntryRecord.query(partition, LedgerEntryRecord.sk.startswith(ENTRY_PREFIX),
                                               consistent_read=True)]


register(PostingRecord, LedgerEntryRecord, CreditBalanceRecord)


def grant_credits(wallet: str, amount: int, posting_id: str, actor: str, reason: str) -> bool:
    """An operator's adjustment: `amount` credits from the platform's adjustments account to the wallet (a
    negative amount takes them back, never below zero). False if this posting id was used already."""
    now = utc_now_iso()
    event = new_event(balance_pk(wallet), "CREDITS_ADJUSTED", {"amount": amount, "posting_id": posting_id,
                                                               "actor": actor, "reason": reason})
    try:
        with TransactWrite(connection=connection()) as transaction:
            post(transaction, posting_id, "adjustment", [Entry(wallet_account(wallet), amount),
                                                         Entry(platform_account("adjustments"), -amount)],
                 actor=actor, now=now, details={"reason": reason})
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError:
        return False
    return True
