"""Payments that could not open their pack (REFUND_DUE), refunds recorded, and opened packs revoked."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    UnicodeAttribute,
)
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from packvault.core import money
from packvault.core.settlement import Settlement
from packvault.store.ledger import Entry, credit_balance, platform_account, post, wallet_account
from packvault.store.openings import (
    OpeningRecord,
    claim_row,
    get_opening,
    get_openings,
    reference_fields,
    release_reservation,
    units_of,
)
from packvault.store.payments import (
    PaymentClaimRecord,
    ProcessedEventRecord,
    mark_processed,
)
from packvault.store.records import ending_record
from packvault.store.table import (
    EventRecord,
    Row,
    TableMeta,
    connection,
    new_event,
    register,
    utc_now_iso,
)
from packvault.store.wallets import (
    VAULT_PREFIX,
    VAULT_TOTAL_SORT_KEY,
    VaultItemRecord,
    VaultTotalRecord,
    wallet_pk,
)


class RefundIndexRecord(Row):
    """One row per opening awaiting a refund (pk REFUND_DUE), so operators list them without a scan."""

    class Meta(TableMeta):
        pass

    opening_id = UnicodeAttribute()
    created_at = UnicodeAttribute()


REFUNDS_PK = "REFUND_DUE"


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
    ended = ending_record(opening, "refund_due", reason, {"payment_id": settlement.payment_id,
                                                          "entropy": settlement.entropy}, now)
    if ended is not None:  # on the public record, with what it would have drawn (FAIRNESS.md 13.11)
        actions.append(OpeningRecord.endings.set([*(opening.endings or []), ended[0]]))
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.update(opening, actions=actions, condition=OpeningRecord.status == opening.status)
            if ended is not None:
                transaction.save(ended[1])
            transaction.save(claim_row(opening, settlement, now), condition=PaymentClaimRecord.pk.does_not_exist())
            transaction.save(index_row)
            if was_quoted:
                release_reservation(transaction, opening)
            mark_processed(transaction, marker)
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError:
        return False
    return True


def refunds_due(limit: int = 100) -> list[OpeningRecord]:
    rows = RefundIndexRecord.query(REFUNDS_PK, limit=limit, consistent_read=True)
    openings = [get_opening(row.opening_id) for row in rows]
    return [o for o in openings if o is not None and o.status == "REFUND_DUE"]


def note_refund_request(opening: OpeningRecord, request: dict[str, Any], event_type: str,
                        payload: dict[str, Any]) -> bool:
    """What became of asking the provider for this opening's refund (`payment.refund_request`: the refund's id,
    or the failure, its attempts and when to try again), with its event, in one transaction. False if the opening
    left REFUND_DUE meanwhile (the refund landed: nothing more to ask)."""
    now = utc_now_iso()
    event = new_event(opening.pk, event_type, payload)
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.update(opening, actions=[
                OpeningRecord.payment.set({**(opening.payment or {}), "refund_request": request}),
                OpeningRecord.updated_at.set(now),
            ], condition=OpeningRecord.status == "REFUND_DUE")
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError:
        return False
    opening.payment = {**(opening.payment or {}), "refund_request": request}
    return True


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
            mark_processed(transaction, marker)
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError:
        return False
    return True


def revoke_opening(opening: OpeningRecord, refund: dict[str, Any], actor: str,
                   marker: ProcessedEventRecord | None = None) -> bool:
    """OPENED -> REFUNDED after its payment was refunded: its vault items are marked revoked (never deleted)
    and leave the vault's totals, in one transaction; a bundle's lead revokes every unit the payment opened. Items
    already sold back for credits are left as sold (named in the event for operators: the credits were paid).
    False if an opening is not OPENED any more, or an item was sold back meanwhile (the caller re-reads and tries
    again)."""
    now = utc_now_iso()
    units = [opening]
    if units_of(opening) > 1:
        found = get_openings([unit["opening_id"] for unit in opening.bundle_units])
        units += [found[unit["opening_id"]] for unit in opening.bundle_units if unit["opening_id"] in found]
    revoked = [(unit, _unsold_items(unit)) for unit in units]
    try:
        with TransactWrite(connection=connection()) as transaction:
            item_count, fmv_micros = 0, 0
            for unit, (items, sold) in revoked:
                transaction.update(unit, actions=[
                    OpeningRecord.status.set("REFUNDED"), OpeningRecord.updated_at.set(now),
                    OpeningRecord.payment.set({**(unit.payment or {}), **refund, "refunded_at": now}),
                ], condition=OpeningRecord.status == "OPENED")
                for item in items:
                    row = VaultItemRecord(pk=wallet_pk(unit.wallet),
                                          sk=f"{VAULT_PREFIX}{unit.opened_at}#{item['vault_item_id']}")
                    transaction.update(row, actions=[VaultItemRecord.revoked_at.set(now),
                                                     VaultItemRecord.revoked_reason.set("payment refunded")],
                                       condition=VaultItemRecord.pk.exists() & VaultItemRecord.sold_at.does_not_exist())
                item_count += len(items)
                fmv_micros += sum(money.to_base_units(item["fmv"], money.FMV_DECIMALS) for item in items)
                transaction.save(new_event(unit.pk, "REFUNDED", {
                    **refund, "actor": actor, "sold_back_before_refund": sold,
                    "revoked": [item["vault_item_id"] for item in items],
                    **({"bundle_id": opening.opening_id} if len(units) > 1 else {})}),
                    condition=EventRecord.pk.does_not_exist())
            total = VaultTotalRecord(pk=wallet_pk(opening.wallet), sk=VAULT_TOTAL_SORT_KEY)
            transaction.update(total, actions=[VaultTotalRecord.item_count.add(-item_count),
                                               VaultTotalRecord.fmv_micros.add(-fmv_micros)])
            mark_processed(transaction, marker)
    except TransactWriteError:
        return False
    return True


def _unsold_items(opening: OpeningRecord) -> tuple[list[dict[str, Any]], list[str]]:
    """(the opening's items not sold back, the ids of those that were): one read of its vault rows."""
    keys = [(wallet_pk(opening.wallet), f"{VAULT_PREFIX}{opening.opened_at}#{item['vault_item_id']}")
            for item in opening.items or []]
    rows = VaultItemRecord.batch_get(keys, consistent_read=True) if keys else []
    sold = [row.vault_item_id for row in rows if row.sold_at is not None]
    return [item for item in opening.items or [] if item["vault_item_id"] not in sold], sold


register(RefundIndexRecord)


def reverse_topup(opening: OpeningRecord, refund: dict[str, Any], actor: str,
                  marker: ProcessedEventRecord | None = None) -> bool:
    """A paid top-up whose payment was refunded: OPENED -> REFUNDED and its credits taken back, in one
    transaction (posting `topup-reversal:<opening>`, wallet -, platform top-ups +). Credits already spent cannot
    be taken: what the balance holds is taken and the shortfall is recorded on the event for operators. False
    if the opening or the balance changed meanwhile (the caller retries)."""
    now = utc_now_iso()
    credits = int(opening.credits or 0)
    taken = min(credits, credit_balance(opening.wallet))
    event = new_event(opening.pk, "REFUNDED", {**refund, "actor": actor, "credits_taken_back": taken,
                                               "credits_short": credits - taken})
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.update(opening, actions=[
                OpeningRecord.status.set("REFUNDED"), OpeningRecord.updated_at.set(now),
                OpeningRecord.payment.set({**(opening.payment or {}), **refund, "refunded_at": now,
                                           "credits_taken_back": taken, "credits_short": credits - taken}),
            ], condition=OpeningRecord.status == "OPENED")
            if taken:
                post(transaction, f"topup-reversal:{opening.opening_id}", "topup_reversal",
                     [Entry(wallet_account(opening.wallet), -taken), Entry(platform_account("topups"), taken)],
                     actor=actor, now=now, details={"opening_id": opening.opening_id, "short": credits - taken})
            mark_processed(transaction, marker)
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError:
        return False
    return True
