"""A pack opened from the credit balance: paying and opening are one transaction, nothing to roll back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from packvault.store import supply
from packvault.store.catalog import PACK_SORT_KEY, PackRecord, StockMove, pack_pk
from packvault.store.ledger import Entry, platform_account, post, wallet_account
from packvault.store.openings import OpeningRecord, supply_shard, take_items
from packvault.store.seeds import SeedPairRecord, use_nonce
from packvault.store.table import CANCELLED, EventRecord, Row, connection, new_event
from packvault.store.wallets import (
    VAULT_TOTAL_SORT_KEY,
    IdempotencyRecord,
    VaultItemRecord,
    VaultTotalRecord,
    WalletPackCountRecord,
    wallet_pk,
)


class BalanceOpenFailed(RuntimeError):
    """The transaction was cancelled: the caller re-reads to learn why (balance, nonce, stock, supply, key)."""


def open_from_balance(opening: OpeningRecord, vault_items: list[VaultItemRecord], stock_taken: dict[str, int],
                      fmv_micros: int, pair: SeedPairRecord, max_per_wallet: int | None,
                      idempotency: IdempotencyRecord | None, request_token: str, definition_hash: str,
                      record_leaf: Row | None = None, balance_before: int | None = None,
                      bundle: Sequence[tuple[OpeningRecord, Row | None]] = (),
                      stock_move: StockMove | None = None) -> None:
    """One transaction: the opening written OPENED with its items and proof, the seed pair's nonce spent, the
    price posted (wallet -, platform sales +) only while the balance covers it (is exactly `balance_before`, when
    given, so the answer can say the balance after), the vault items created, stock
    and supply taken, the mint-limit count and vault total moved, the answer remembered, the event appended, and
    the public record's leaf (fairness v2) written with the opening it records. A bundle's other units
    (`bundle`: each opening with its leaf, drawn with the next nonces) are written with it, each with its event;
    the price, `vault_items`, `stock_taken` and `fmv_micros` then cover every unit."""
    price = int(opening.amount_base_units)
    units = 1 + len(bundle)
    event = new_event(opening.pk, "OPENED", {"rail": "credits", "payment_id": opening.payment_id,
                                             "items": [v.item_id for v in vault_items
                                                       if v.opening_id == opening.opening_id],
                                             "nonce": int(pair.nonce)})
    details: dict[str, Any] = {"opening_id": opening.opening_id, "pack_id": opening.pack_id}
    try:
        with TransactWrite(connection=connection(), client_request_token=request_token) as transaction:
            transaction.save(opening, condition=OpeningRecord.pk.does_not_exist())
            if record_leaf is not None:
                transaction.save(record_leaf)
            use_nonce(transaction, pair, units)
            for index, (unit, leaf) in enumerate(bundle, 1):
                transaction.save(unit, condition=OpeningRecord.pk.does_not_exist())
                transaction.save(new_event(unit.pk, "OPENED", {
                    "rail": "credits", "payment_id": opening.payment_id, "bundle_id": opening.opening_id,
                    "items": [v.item_id for v in vault_items if v.opening_id == unit.opening_id],
                    "nonce": int(pair.nonce) + index}), condition=EventRecord.pk.does_not_exist())
                if leaf is not None:
                    transaction.save(leaf)
            post(transaction, opening.payment_id, "pack_opening", [Entry(wallet_account(opening.wallet), -price),
                                                                   Entry(platform_account("sales"), price)],
                 actor=opening.wallet, now=opening.opened_at, details=details,
                 expected_balances=None if balance_before is None else {wallet_account(opening.wallet): balance_before})
            take_items(transaction, opening, vault_items, stock_taken, stock_move)
            if opening.limited_supply:  # the shard row carries the pack's status and definition hash
                supply.sell_unit(transaction, opening.pack_id, supply_shard(opening), definition_hash, units)
            else:  # the price and odds drawn with are the pack's current ones
                unchanged = (PackRecord.definition_hash == definition_hash) & (PackRecord.status == "ACTIVE")
                transaction.condition_check(PackRecord, pack_pk(opening.pack_id), PACK_SORT_KEY, condition=unchanged)
            if max_per_wallet is not None:
                counter = WalletPackCountRecord(pk=wallet_pk(opening.wallet), sk=f"PACKCOUNT#{opening.pack_id}")
                transaction.update(counter, actions=[WalletPackCountRecord.count.add(units)],
                                   condition=WalletPackCountRecord.count.does_not_exist()
                                   | (WalletPackCountRecord.count <= max_per_wallet - units))
            total = VaultTotalRecord(pk=wallet_pk(opening.wallet), sk=VAULT_TOTAL_SORT_KEY)
            transaction.update(total, actions=[VaultTotalRecord.item_count.add(len(vault_items)),
                                               VaultTotalRecord.fmv_micros.add(fmv_micros)])
            if idempotency is not None:
                transaction.save(idempotency, condition=IdempotencyRecord.pk.does_not_exist())
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError as exc:
        if exc.cause_response_code in CANCELLED:
            raise BalanceOpenFailed(exc.cause_response_code) from exc
        raise
