"""Openings: the reservation transaction, the one open transaction, and the buyer's list of openings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import TransactWriteError
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.transactions import TransactWrite

from packvault.core.settlement import Settlement
from packvault.store import supply
from packvault.store.catalog import (
    ITEM_PREFIX,
    PACK_SORT_KEY,
    PackItemRecord,
    PackRecord,
    StockMove,
    count_commitments,
    move_stock,
    pack_pk,
)
from packvault.store.ledger import Entry, platform_account, post, wallet_account
from packvault.store.payments import (
    EARLY_REFUND_SORT_KEY,
    PAYMENT_SORT_KEY,
    EarlyRefundRecord,
    PaymentClaimRecord,
    ProcessedEventRecord,
    early_refund_pk,
    mark_processed,
    payment_pk,
)
from packvault.store.table import (
    CANCELLED,
    ByKindIndex,
    EventRecord,
    ExpiryIndex,
    Page,
    Row,
    TableMeta,
    connection,
    new_event,
    newest_first,
    register,
    utc_now_iso,
)
from packvault.store.wallets import (
    VAULT_PREFIX,
    VAULT_TOTAL_SORT_KEY,
    IdempotencyRecord,
    VaultItemRecord,
    VaultTotalRecord,
    WalletPackCountRecord,
    count_quote,
    wallet_pk,
)


class ByPackIndex(GlobalSecondaryIndex):
    """Openings of one pack (or bundle), newest first, with a summary projected: the operators' list."""

    class Meta:
        index_name = "GSI2"
        projection = IncludeProjection(["opening_id", "wallet", "pack_id", "status", "rail", "product", "currency",
                                        "amount_base_units", "created_at", "updated_at", "opened_at", "payment_id"])

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class OpeningRecord(Row):
    class Meta(TableMeta):
        pass

    by_kind = ByKindIndex()
    by_expiry = ExpiryIndex()
    by_pack = ByPackIndex()
    gsi2pk = UnicodeAttribute(null=True)  # PACK#<pack_id>#OPENINGS
    gsi2sk = UnicodeAttribute(null=True)  # <created_at>#<opening_id>
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
    product = UnicodeAttribute(default="pack")  # pack | credits | game_credit (pack_id: the bundle or item id)
    product_data = JSONAttribute(null=True)  # game_credit: game, denomination, user data; then the order number
    credits = NumberAttribute(null=True)  # a top-up's credits, posted when it is paid
    buyback_bp = NumberAttribute(null=True)  # instant buyback, frozen at quote time: basis points of fmv
    buyback_hours = NumberAttribute(null=True)  # ... offered this long after the opening (0: no limit)
    pack_name = UnicodeAttribute()
    cards_per_pack = NumberAttribute()
    currency = UnicodeAttribute()
    amount_base_units = UnicodeAttribute()  # integer as text: exact beyond 2**53
    receiver_wallet = UnicodeAttribute(null=True)  # solana rail: the platform wallet and the quote's reference
    payer_wallet = UnicodeAttribute(null=True)  # solana rail: the paying wallet when it is not the account's id
    reference = UnicodeAttribute(null=True)
    quote_expires_at = UnicodeAttribute()
    server_seed = UnicodeAttribute(null=True)  # secret until the pack opens (None: a credit top-up, nothing drawn)
    server_seed_hash = UnicodeAttribute(null=True)
    client_seed = UnicodeAttribute(null=True)
    stock_committed = JSONAttribute(null=True)  # {item_id: total} at quote time (fairness v2); None: v1
    items_hash = UnicodeAttribute(null=True)  # the item definitions version the quote committed to (v2)
    fairness_version = NumberAttribute(null=True)  # 3 from FAIRNESS.md 13 on; None: 2 if stock_committed, else 1
    commitment_counted = BooleanAttribute(null=True)  # counted among its pack's open stock commitments while QUOTED
    quote_signature = UnicodeAttribute(null=True)  # v3: its commitment's signature as the quote carried it, and the
    quote_key = UnicodeAttribute(null=True)  # key: a later rotation does not re-sign it
    odds_version = NumberAttribute()
    odds_hash = UnicodeAttribute()
    limited_supply = BooleanAttribute(default=False)
    supply_shard = NumberAttribute(null=True)  # limited: the supply shard its unit is reserved in (None: 0)
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
    endings = JSONAttribute(null=True)  # each time it ended without opening, as the public record has it (13.11)
    # Bulk opening: one quote, one payment, `quantity` packs. The quoted opening leads; its other units are
    # committed at quote time ([{"opening_id", "server_seed_hash", "server_seed"}], seeds secret until opened) and
    # written as their own openings when it opens, each naming the lead as `bundle_id` and its `unit_index`.
    quantity = NumberAttribute(null=True)  # None: 1
    bundle_units = JSONAttribute(null=True)
    bundle_id = UnicodeAttribute(null=True)
    unit_index = NumberAttribute(null=True)


MAX_TRANSACTION_ACTIONS = 100  # DynamoDB's TransactWriteItems limit
MAX_BUNDLE = 10


def open_actions(quantity: int, cards_per_pack: int, finite_items: int) -> int:
    """The most actions one open transaction of `quantity` packs can hold: per pack its opening, event, record leaf
    and vault items; per finite-stock item drawn its stock; then at most 9 more (a paid quote, open_opening: the
    payment claim and its early-refund check, the supply or definition check, the vault total, the open-quote
    count, an outside event's marker; from the balance, open_from_balance: the nonce, the posting's row, two entries
    and the balance, the supply or definition check, the mint count, the vault total, the remembered answer)."""
    return 9 + quantity * (cards_per_pack + 3) + min(finite_items, quantity * cards_per_pack)


def bundle_limit(cards_per_pack: int, finite_items: int) -> int:
    """The largest quantity (at most MAX_BUNDLE) whose open fits in one transaction. A pack with finite-stock items
    opens one at a time: a unit whose drawn item ran out redraws on the record (FAIRNESS.md 5), which would move
    every later unit of a bundle off the draw its own proof could explain (FAIRNESS.md 12)."""
    if finite_items:
        return 1
    return max((q for q in range(1, MAX_BUNDLE + 1)
                if open_actions(q, cards_per_pack, finite_items) <= MAX_TRANSACTION_ACTIONS), default=1)


def max_quantity(pack: PackRecord) -> int:
    """The most packs of `pack` one purchase may open together: the catalog's limit, else what fits."""
    if pack.max_quantity is not None:
        return int(pack.max_quantity)
    return bundle_limit(int(pack.cards_per_pack), len(pack.stock_totals or {}))


def units_of(opening: OpeningRecord) -> int:
    """How many packs (units of supply, of open quotes, of the mint limit) an opening's quote stands for."""
    return int(opening.quantity or 1)


OPENING_SORT_KEY = "OPENING"


def opening_pk(opening_id: str) -> str:
    return f"OPENING#{opening_id}"


def wallet_openings_key(wallet: str) -> str:
    return f"WALLET#{wallet}#OPENINGS"


def pack_openings_key(pack_id: str) -> str:
    return f"PACK#{pack_id}#OPENINGS"


def opening_keys(opening_id: str, wallet: str, pack_id: str, created_at: str) -> dict[str, str]:
    """A new opening's key and index attributes: its own row, the wallet's list, the pack's list."""
    listed = f"{created_at}#{opening_id}"
    return {"pk": opening_pk(opening_id), "sk": OPENING_SORT_KEY, "gsi1pk": wallet_openings_key(wallet),
            "gsi1sk": listed, "gsi2pk": pack_openings_key(pack_id), "gsi2sk": listed}


def pack_openings(pack_id: str, status: str | None, limit: int, cursor: str | None) -> Page:
    """A pack's openings, newest first, optionally only those in one status (summaries: see ByPackIndex)."""
    return newest_first(OpeningRecord.by_pack, "gsi2pk", pack_openings_key(pack_id), limit, cursor,
                        (OpeningRecord.status == status) if status else None, page_size=max(limit, 100))


def get_openings(opening_ids: list[str]) -> dict[str, OpeningRecord]:
    """Several openings read together (a bundle's units), by id; missing ones absent."""
    keys = [(opening_pk(opening_id), OPENING_SORT_KEY) for opening_id in dict.fromkeys(opening_ids)]
    return {row.opening_id: row for row in OpeningRecord.batch_get(keys, consistent_read=True)}


def get_opening(opening_id: str) -> OpeningRecord | None:
    try:
        return OpeningRecord.get(opening_pk(opening_id), OPENING_SORT_KEY, consistent_read=True)
    except OpeningRecord.DoesNotExist:
        return None


def wallet_openings(wallet: str, limit: int, cursor: str | None) -> Page:
    """A wallet's openings, newest first."""
    return newest_first(OpeningRecord.by_kind, "gsi1pk", wallet_openings_key(wallet), limit, cursor)


def supply_shard(opening: OpeningRecord) -> int:
    return int(opening.supply_shard or 0)


class ReservationFailed(RuntimeError):
    """The reservation transaction was cancelled: a condition no longer held (the caller re-reads and decides)."""


def reserve_quote(opening: OpeningRecord, pack: PackRecord | None, max_open_quotes: int, max_per_wallet: int | None,
                  idempotency: IdempotencyRecord | None, request_token: str) -> None:
    """One transaction, the reservation's only round trip: the pack still as it was read (its definition hash,
    ACTIVE; a limited pack's unit taken), the opening and its event recorded, the wallet's unpaid-quote count
    and mint-limit count raised under their limits, the answer remembered. Any condition that fails cancels
    all of it; the caller then reads to learn which."""
    event = new_event(opening.pk, "QUOTED", {"wallet": opening.wallet, "pack_id": opening.pack_id,
                                             "amount_base_units": opening.amount_base_units,
                                             "currency": opening.currency})
    try:
        with TransactWrite(connection=connection(), client_request_token=request_token) as transaction:
            if pack is not None:
                if pack.supply_total is not None:  # the shard row carries the pack's status and definition hash
                    supply.reserve_unit(transaction, pack.pack_id, supply_shard(opening), pack.definition_hash,
                                        active=True, units=units_of(opening))
                else:
                    unchanged = (PackRecord.definition_hash == pack.definition_hash) & (PackRecord.status == "ACTIVE")
                    transaction.condition_check(PackRecord, pack.pk, pack.sk, condition=unchanged)
            if opening.product == "pack" and opening.stock_committed:  # a catalog cut waits for it (13.6)
                opening.commitment_counted = True
                count_commitments(transaction, opening.pack_id, units_of(opening), opening.created_at)
            transaction.save(opening, condition=OpeningRecord.pk.does_not_exist())
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
            count_quote(transaction, opening.wallet, units_of(opening), max_open_quotes)
            if max_per_wallet is not None:
                counter = WalletPackCountRecord(pk=wallet_pk(opening.wallet), sk=f"PACKCOUNT#{opening.pack_id}")
                transaction.update(counter, actions=[WalletPackCountRecord.count.add(units_of(opening))],
                                   condition=WalletPackCountRecord.count.does_not_exist()
                                   | (WalletPackCountRecord.count <= max_per_wallet - units_of(opening)))
            if idempotency is not None:
                transaction.save(idempotency, condition=IdempotencyRecord.pk.does_not_exist())
    except TransactWriteError as exc:
        if exc.cause_response_code in {"TransactionCanceledException", "IdempotentParameterMismatchException",
                                       "TransactionInProgressException"}:
            raise ReservationFailed(exc.cause_response_code) from exc
        raise


def claim_row(opening: OpeningRecord, settlement: Settlement, now: str) -> PaymentClaimRecord:
    return PaymentClaimRecord(pk=payment_pk(settlement.rail, settlement.payment_id), sk=PAYMENT_SORT_KEY,
                              rail=settlement.rail, payment_id=settlement.payment_id, opening_id=opening.opening_id,
                              wallet=opening.wallet, claimed_at=now)


def claim_payment(transaction: TransactWrite, opening: OpeningRecord, settlement: Settlement, now: str) -> None:
    """The payment made usable once (its claim row), and, for a provider that can refund before settling, the
    condition that it was not refunded first."""
    transaction.save(claim_row(opening, settlement, now), condition=PaymentClaimRecord.pk.does_not_exist())
    if settlement.rail != "solana":
        transaction.condition_check(EarlyRefundRecord, early_refund_pk(settlement.rail, settlement.payment_id),
                                    EARLY_REFUND_SORT_KEY, condition=EarlyRefundRecord.pk.does_not_exist())


def take_items(transaction: TransactWrite, opening: OpeningRecord, vault_items: list[VaultItemRecord],
               stock_taken: dict[str, int], stock_move: StockMove | None = None) -> None:
    """The drawn items into the buyer's vault, and the finite stock they use on the pack's stock chain (its link,
    conditioned on the head the draw read: FAIRNESS.md 13.10); the item rows' counts follow it for the views."""
    for vault_item in vault_items:
        transaction.save(vault_item, condition=VaultItemRecord.pk.does_not_exist())
    move_stock(transaction, opening.pack_id, stock_move)
    for item_id, units in stock_taken.items():
        row = PackItemRecord(pk=pack_pk(opening.pack_id), sk=f"{ITEM_PREFIX}{item_id}")
        transaction.update(row, actions=[PackItemRecord.stock_available.add(-units)])


def new_vault_item(wallet: str, opening: OpeningRecord, vault_item_id: str, item: PackItemRecord,
                   created_at: str) -> VaultItemRecord:
    return VaultItemRecord(
        pk=wallet_pk(wallet), sk=f"{VAULT_PREFIX}{created_at}#{vault_item_id}", vault_item_id=vault_item_id,
        wallet=wallet, opening_id=opening.opening_id, pack_id=opening.pack_id, item_id=item.item_id,
        tier_id=item.tier_id, name=item.name, nft_id=item.nft_id, rarity=item.rarity, fmv=item.fmv,
        metadata=item.metadata, image_url=getattr(item, "image_url", None), created_at=created_at,
    )


class OpenFailed(RuntimeError):
    """The open transaction was cancelled: the caller re-reads to learn why (opened, payment used, stock)."""


def open_opening(opening: OpeningRecord, changes: dict[str, Any], settlement: Settlement,
                 vault_items: list[VaultItemRecord], stock_taken: dict[str, int], fmv_micros: int,
                 request_token: str, marker: ProcessedEventRecord | None = None,
                 pack_definition_hash: str | None = None, record_leaf: Row | None = None,
                 bundle: Sequence[tuple[OpeningRecord, Row | None]] = (),
                 stock_move: StockMove | None = None) -> None:
    """One transaction, whatever rail paid: QUOTED -> OPENED with its items, the payment claimed, the vault
    items created, stock and supply counters moved, the vault total updated, the quote released from the
    wallet's open quotes, the event appended (and the outside event that caused it marked). All or nothing.
    A bundle's other units (`bundle`: each opened opening with its record leaf) are written in the same
    transaction, each with its own event; `vault_items`, `stock_taken` and `fmv_micros` then cover every unit."""
    event = new_event(opening.pk, "OPENED", {"rail": settlement.rail, "payment_id": settlement.payment_id,
                                             "items": [v.item_id for v in vault_items
                                                       if v.opening_id == opening.opening_id]})
    units = units_of(opening)
    try:
        with TransactWrite(connection=connection(), client_request_token=request_token) as transaction:
            transaction.update(
                opening,
                actions=[getattr(OpeningRecord, name).set(value) for name, value in changes.items()]
                + [OpeningRecord.expiry_shard.remove(), OpeningRecord.expires_at.remove()],
                condition=(OpeningRecord.status == "QUOTED") & (OpeningRecord.wallet == opening.wallet),
            )
            claim_payment(transaction, opening, settlement, changes["opened_at"])
            take_items(transaction, opening, vault_items, stock_taken, stock_move)
            # Items drawn from a cached definition: the pack must still have it (one item, one operation; a
            # supply shard carries the pack's definition hash).
            if opening.limited_supply:
                supply.sell_reserved_unit(transaction, opening.pack_id, supply_shard(opening), pack_definition_hash,
                                          units)
            elif pack_definition_hash:
                transaction.condition_check(PackRecord, pack_pk(opening.pack_id), PACK_SORT_KEY,
                                            condition=PackRecord.definition_hash == pack_definition_hash)
            total = VaultTotalRecord(pk=wallet_pk(opening.wallet), sk=VAULT_TOTAL_SORT_KEY)
            transaction.update(total, actions=[VaultTotalRecord.item_count.add(len(vault_items)),
                                               VaultTotalRecord.fmv_micros.add(fmv_micros)])
            count_quote(transaction, opening.wallet, -units)
            if opening.commitment_counted:
                count_commitments(transaction, opening.pack_id, -units)
            mark_processed(transaction, marker)
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
            if record_leaf is not None:  # the public record's leaf (fairness v2), with the opening it records
                transaction.save(record_leaf)
            for unit, leaf in bundle:
                transaction.save(unit, condition=OpeningRecord.pk.does_not_exist())
                transaction.save(new_event(unit.pk, "OPENED", {
                    "rail": settlement.rail, "payment_id": settlement.payment_id, "bundle_id": opening.opening_id,
                    "items": [v.item_id for v in vault_items if v.opening_id == unit.opening_id]}),
                    condition=EventRecord.pk.does_not_exist())
                if leaf is not None:
                    transaction.save(leaf)
    except TransactWriteError as exc:
        if exc.cause_response_code in CANCELLED:
            raise OpenFailed(exc.cause_response_code) from exc
        raise


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


def reference_fields(opening: OpeningRecord, settlement: Settlement) -> list[tuple[str, Any]]:
    """Where a rail's references live on the opening: Solana's signature in tx_signature (the API has always
    shown it), every other rail's ids in rail_refs."""
    if settlement.rail == "solana":
        return [("tx_signature", settlement.payment_id)]
    return [("rail_refs", {**(opening.rail_refs or {}), **settlement.references})]


def release_reservation(transaction: TransactWrite, opening: OpeningRecord) -> None:
    """Gives a QUOTED opening's unit back: supply, the mint-limit count and the wallet's open quotes."""
    units = units_of(opening)
    if opening.limited_supply:
        supply.return_unit(transaction, opening.pack_id, supply_shard(opening), units)
    if opening.mint_limited:
        counter = WalletPackCountRecord(pk=wallet_pk(opening.wallet), sk=f"PACKCOUNT#{opening.pack_id}")
        transaction.update(counter, actions=[WalletPackCountRecord.count.add(-units)],
                           condition=WalletPackCountRecord.count >= units)
    count_quote(transaction, opening.wallet, -units)
    if opening.commitment_counted:
        count_commitments(transaction, opening.pack_id, -units)


register(OpeningRecord)


def fulfil_topup(opening: OpeningRecord, changes: dict[str, Any], settlement: Settlement, request_token: str,
                 marker: ProcessedEventRecord | None = None) -> None:
    """A paid credit top-up: the credits posted (wallet +, platform top-ups -) under `topup:<opening>`."""
    credits = int(opening.credits)
    event = new_event(opening.pk, "CREDITED", {"rail": settlement.rail, "payment_id": settlement.payment_id,
                                               "credits": credits})

    def post_credits(transaction: TransactWrite) -> None:
        post(transaction, f"topup:{opening.opening_id}", "topup",
             [Entry(wallet_account(opening.wallet), credits), Entry(platform_account("topups"), -credits)],
             actor=opening.wallet, now=changes["opened_at"],
             details={"opening_id": opening.opening_id, "bundle_id": opening.pack_id, "rail": settlement.rail,
                      "payment_id": settlement.payment_id})

    fulfil_product(opening, changes, settlement, request_token, event, post_credits, marker)


def fulfil_product(opening: OpeningRecord, changes: dict[str, Any], settlement: Settlement, request_token: str,
                   event: EventRecord, product_writes: Any, marker: ProcessedEventRecord | None = None) -> None:
    """A paid product that draws nothing (credits, game credits), in one transaction: QUOTED -> OPENED
    (fulfilled), the payment claimed, the product's own writes, the quote released, the event appended."""
    try:
        with TransactWrite(connection=connection(), client_request_token=request_token) as transaction:
            transaction.update(
                opening, actions=[getattr(OpeningRecord, name).set(value) for name, value in changes.items()]
                + [OpeningRecord.expiry_shard.remove(), OpeningRecord.expires_at.remove()],
                condition=(OpeningRecord.status == "QUOTED") & (OpeningRecord.wallet == opening.wallet))
            claim_payment(transaction, opening, settlement, changes["opened_at"])
            product_writes(transaction)
            count_quote(transaction, opening.wallet, -1)
            mark_processed(transaction, marker)
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError as exc:
        if exc.cause_response_code in CANCELLED:
            raise OpenFailed(exc.cause_response_code) from exc
        raise
