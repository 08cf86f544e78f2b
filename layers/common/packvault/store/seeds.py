"""Seed pairs for packs opened from a balance (no quote/payment gap to commit across), Stake-style:

    SEEDS#<wallet>   CURRENT        the wallet's current pair: server seed (secret), its hash (shown in advance),
                                    the client seed the buyer chose, the next nonce, the pair number
    SEEDS#<wallet>   PAIR#<000001>  a retired pair, its server seed revealed, and the last nonce it served

Every balance opening uses the current pair with the next nonce, and moves the nonce in its own transaction
(conditional on the pair and nonce it drew with), so no two openings share an input. Rotation reveals the
old server seed, which makes every opening drawn with it checkable.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from packvault.store.table import (
    EventRecord,
    Row,
    TableMeta,
    connection,
    new_event,
    register,
    utc_now_iso,
)

CURRENT_SORT_KEY = "CURRENT"


class SeedPairRecord(Row):
    class Meta(TableMeta):
        pass

    pair_number = NumberAttribute()
    server_seed = UnicodeAttribute()  # secret until the pair is rotated
    server_seed_hash = UnicodeAttribute()
    client_seed = UnicodeAttribute()
    nonce = NumberAttribute()  # the next opening's nonce
    created_at = UnicodeAttribute()
    revealed_at = UnicodeAttribute(null=True)  # PAIR# rows only


def seeds_pk(wallet: str) -> str:
    return f"SEEDS#{wallet}"


def pair_sort_key(number: int) -> str:
    return f"PAIR#{number:06d}"


def current_pair(wallet: str) -> SeedPairRecord | None:
    try:
        return SeedPairRecord.get(seeds_pk(wallet), CURRENT_SORT_KEY, consistent_read=True)
    except SeedPairRecord.DoesNotExist:
        return None


def revealed_pair(wallet: str, number: int) -> SeedPairRecord | None:
    try:
        return SeedPairRecord.get(seeds_pk(wallet), pair_sort_key(number), consistent_read=True)
    except SeedPairRecord.DoesNotExist:
        return None


def create_pair(wallet: str, server_seed: str, server_seed_hash: str, client_seed: str) -> SeedPairRecord:
    """The wallet's first pair; if a concurrent request created it first, that one."""
    row = SeedPairRecord(pk=seeds_pk(wallet), sk=CURRENT_SORT_KEY, pair_number=1, server_seed=server_seed,
                         server_seed_hash=server_seed_hash, client_seed=client_seed, nonce=0,
                         created_at=utc_now_iso())
    try:
        row.save(condition=SeedPairRecord.pk.does_not_exist())
        return row
    except PutError:
        existing = current_pair(wallet)
        if existing is None:
            raise
        return existing


def rotate_pair(current: SeedPairRecord, server_seed: str, server_seed_hash: str, client_seed: str) -> bool:
    """Retire the current pair (its seed revealed) and start the next one at nonce 0, in one transaction.
    False if the pair moved meanwhile (another rotation or an opening): read again and retry."""
    now = utc_now_iso()
    number = int(current.pair_number)
    retired = SeedPairRecord(pk=current.pk, sk=pair_sort_key(number), pair_number=number,
                             server_seed=current.server_seed, server_seed_hash=current.server_seed_hash,
                             client_seed=current.client_seed, nonce=int(current.nonce), created_at=current.created_at,
                             revealed_at=now)
    event = new_event(current.pk, "SEED_PAIR_ROTATED", {"revealed_pair": number, "server_seed": current.server_seed,
                                                        "next_server_seed_hash": server_seed_hash})
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.update(current, actions=[
                SeedPairRecord.pair_number.set(number + 1), SeedPairRecord.server_seed.set(server_seed),
                SeedPairRecord.server_seed_hash.set(server_seed_hash), SeedPairRecord.client_seed.set(client_seed),
                SeedPairRecord.nonce.set(0), SeedPairRecord.created_at.set(now),
            ], condition=(SeedPairRecord.pair_number == number) & (SeedPairRecord.nonce == int(current.nonce)))
            transaction.save(retired, condition=SeedPairRecord.pk.does_not_exist())
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError:
        return False
    return True


def use_nonce(transaction: TransactWrite, pair: SeedPairRecord, count: int = 1) -> None:
    """In an opening's transaction: this pair and its next `count` nonces are spent, only if nobody spent the
    first of them first."""
    row = SeedPairRecord(pk=pair.pk, sk=CURRENT_SORT_KEY)
    transaction.update(row, actions=[SeedPairRecord.nonce.add(count)],
                       condition=(SeedPairRecord.pair_number == int(pair.pair_number))
                       & (SeedPairRecord.nonce == int(pair.nonce)))


register(SeedPairRecord)
