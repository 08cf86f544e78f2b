"""The reservation every rail starts from: a new QUOTED opening with its unit of supply taken, the wallet's
open-quote limit and the pack's per-wallet limit enforced, the fairness commitment made and the answer to an
Idempotency-Key remembered, in one DynamoDB transaction. A limited pack's unit is taken in that transaction;
unlimited packs write no contended counter.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from packvault import store
from packvault.catalog import views as catalog
from packvault.core import money
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.keys import new_reference
from packvault.core.settings import Settings, require_platform_wallet
from packvault.core.settlement import SOLANA
from packvault.core.times import iso_seconds
from packvault.fairness import primitives as fairness
from packvault.fairness import quote_signing
from packvault.sales import products
from packvault.sales.openings import signed_quote_view

ATTEMPTS = 6
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")


@dataclass(frozen=True)
class Reservation:
    """What a rail asks the reservation for: a currency, how long the quote holds, and under which operation
    an Idempotency-Key is remembered (scoped to wallet + operation)."""

    rail: str
    operation: str
    currency: str
    client_seed: str | None
    ttl_seconds: int
    product: str = "pack"  # pack | credits (a bundle of credits: a top-up) | a registered product (sales.products)
    product_data: dict[str, Any] | None = None  # a registered product's own data (game credits: the user data)
    payer_wallet: str | None = None  # solana: the account's wallet the payment must come from (accounts.principal)
    quantity: int = 1  # a pack bought in bulk: this many packs, one payment, one opening each (a bundle)


def check_pack_id(pack_id: str) -> None:
    if not catalog.PACK_ID.match(pack_id):
        raise PackvaultError(ErrorCode.INVALID_PACK_ID)


def read_quantity(body: dict[str, Any]) -> int:
    """A purchase's `quantity`: how many packs one payment buys (default 1); the pack's own maximum is checked
    when it is reserved."""
    quantity = body.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= store.MAX_BUNDLE:
        raise PackvaultError(ErrorCode.INVALID_QUANTITY, f"quantity must be a whole number of packs from 1 to "
                             f"{store.MAX_BUNDLE}.", field="quantity")
    return quantity


def quantity_field(quantity: int) -> dict[str, int]:
    """What an Idempotency-Key's request hash adds for a bulk purchase (nothing for one pack, so requests
    remembered before bulk opening hash as they did)."""
    return {"quantity": quantity} if quantity != 1 else {}


def check_quantity(pack: store.PackRecord, quantity: int) -> None:
    limit = store.max_quantity(pack)
    if quantity > limit:
        raise PackvaultError(ErrorCode.INVALID_QUANTITY, f"This pack opens at most {limit} at once.",
                             field="quantity", limit=limit)


def check_idempotency_key(idempotency_key: str | None) -> None:
    if idempotency_key is not None and not _IDEMPOTENCY_KEY.match(idempotency_key):
        raise PackvaultError(ErrorCode.INVALID_IDEMPOTENCY_KEY)


def forget_pack(pack_id: str) -> None:
    """Drop a pack from this container's cache (a transaction found it changed)."""
    _PACKS.pop(pack_id, None)
    _SHARDS_WITH_UNITS.pop(pack_id, None)


_SHARDS_WITH_UNITS: dict[str, tuple[float, list[tuple[int, int]]]] = {}  # last snapshot: when, (shard, units)
SHARD_HINT_SECONDS = 10.0


def supply_shard(pack: store.PackRecord, units: int = 1) -> int | None:
    """The supply shard a purchase of a limited pack takes its units from: a random one of the pack's shards, or
    of those the last snapshot found units in (for a few seconds). A bundle takes all its units from one shard.
    None: unlimited."""
    if pack.supply_total is None:
        return None
    seen = _SHARDS_WITH_UNITS.get(pack.pack_id)
    if seen is not None and seen[1] and time.monotonic() - seen[0] < SHARD_HINT_SECONDS:
        roomy = [shard for shard, available in seen[1] if available >= units]
        return random.choice(roomy or [shard for shard, _ in seen[1]])
    return random.randrange(store.shard_count(pack))


def _sold_out_when_last_read(pack: store.PackRecord) -> bool:
    seen = _SHARDS_WITH_UNITS.get(pack.pack_id)
    return store.is_sharded(pack) and seen is not None and not seen[1]


def recheck_sharded_supply(pack_id: str, known: store.PackRecord, currency: str,
                           units: int = 1) -> store.PackRecord:
    """One read of the pack row and every shard as of one instant: the pack as it is now (cached; PACK_INACTIVE
    and the like first), SOLD_OUT only if no shard has a unit; otherwise the next attempts choose among the
    shards that have one. A sold-out answer is remembered only as a reason to read again before the next
    transaction (a unit released meanwhile is sold, never hidden)."""
    try:
        fresh, shards = store.supply_snapshot(pack_id, store.shard_rows(known))
    except (store.SnapshotBusy, store.PackRecord.DoesNotExist):
        forget_pack(pack_id)
        return purchasable_pack(pack_id, currency)  # units are moving (so not sold out), or the pack is gone
    if store.shard_rows(fresh) > len(shards):  # it gained shard rows since it was read
        return recheck_sharded_supply(pack_id, fresh, currency, units)
    forget_pack(pack_id)
    _PACKS[pack_id] = fresh
    pack = purchasable_pack(pack_id, currency)  # from the snapshot: PACK_INACTIVE, CURRENCY_NOT_ACCEPTED, ...
    if not store.is_sharded(pack):
        return pack
    with_units = [(shard.shard, shard.available) for shard in shards if shard.available > 0]
    _SHARDS_WITH_UNITS[pack_id] = (time.monotonic(), with_units)
    if not with_units:
        raise PackvaultError(ErrorCode.SOLD_OUT)
    most = max(available for _, available in with_units)
    if most < units:  # a bundle's units come from one shard
        raise not_enough_left(most)
    return pack


def not_enough_left(remaining: int) -> PackvaultError:
    return PackvaultError(ErrorCode.NOT_ENOUGH_LEFT, f"Only {remaining} of this pack can be bought together now; "
                          "nothing was reserved.", remaining=remaining)


def recall(wallet: str, operation: str, idempotency_key: str | None,
           request_hash: str) -> store.IdempotencyRecord | None:
    """The remembered answer to this Idempotency-Key (422 if it was used for another request)."""
    if idempotency_key is None:
        return None
    check_idempotency_key(idempotency_key)
    row = store.get_idempotency(wallet, operation, idempotency_key)
    if row is not None and row.request_hash != request_hash:
        raise PackvaultError(ErrorCode.IDEMPOTENCY_KEY_REUSED)
    return row


def remembered_row(wallet: str, operation: str, idempotency_key: str | None) -> store.IdempotencyRecord | None:
    """The row holding an Idempotency-Key's pending answer, to complete once the rail's request exists."""
    if idempotency_key is None:
        return None
    return store.IdempotencyRecord(pk=store.idempotency_pk(wallet, operation, idempotency_key),
                                   sk=store.IDEMPOTENCY_SORT_KEY)


def reserve(settings: Settings, wallet: str, pack_id: str, spec: Reservation, idempotency_key: str | None,
            request_hash: str) -> store.OpeningRecord | store.IdempotencyRecord:
    """A new QUOTED opening with its unit reserved, or, when this Idempotency-Key was used before (or by a
    concurrent request), the answer it remembered. One DynamoDB round trip when nothing is in the way: the
    pack comes from this container's cache and the transaction checks it is still the one read."""
    for attempt in range(ATTEMPTS):
        try:
            return _try_reserve(settings, wallet, pack_id, spec, idempotency_key, request_hash)
        except store.ReservationFailed:
            if (remembered := recall(wallet, spec.operation, idempotency_key, request_hash)) is not None:
                return remembered
            _explain_refusal(settings, wallet, pack_id, spec)
            time.sleep(random.uniform(0, 0.01 * 2**attempt))  # contention: read again and decide again
    raise PackvaultError(ErrorCode.BUSY_RETRY)


def _try_reserve(settings: Settings, wallet: str, pack_id: str, spec: Reservation, idempotency_key: str | None,
                 request_hash: str) -> store.OpeningRecord:
    pack = purchasable_pack(pack_id, spec.currency) if spec.product == "pack" else None
    if pack is not None:
        check_quantity(pack, spec.quantity)
    if pack is not None and _sold_out_when_last_read(pack):  # read again instead of a doomed transaction
        pack = recheck_sharded_supply(pack_id, pack, spec.currency, spec.quantity)
    now = datetime.now(UTC)
    cap = int(pack.max_per_wallet) if pack is not None and pack.max_per_wallet is not None else None
    if pack is not None:
        fields = _pack_fields(settings, pack, spec.quantity)
    elif products.is_registered(spec.product):
        fields = products.kind(spec.product).reserve_fields(pack_id, spec.currency, spec.product_data or {})
    else:
        fields = _bundle_fields(purchasable_bundle(pack_id, spec.currency))
    opening = _new_opening(settings, wallet, spec, now, fields)
    if opening.fairness_version is not None:  # signed once, as quoted (FAIRNESS.md 13.3)
        quote_signing.stamp(opening)
    remembered = None
    if idempotency_key is not None:  # a card checkout is answered once its session exists: pending until then
        status, answer = ((201, signed_quote_view(opening)) if spec.rail == SOLANA
                          else (202, {"opening_id": opening.opening_id}))
        remembered = store.new_idempotency(wallet, spec.operation, idempotency_key, request_hash, status, answer)
    store.reserve_quote(opening, pack, settings.max_open_quotes, cap, remembered,
                        _request_token(wallet, spec.operation, idempotency_key))
    return opening


def _explain_refusal(settings: Settings, wallet: str, pack_id: str, spec: Reservation) -> None:
    """After a cancelled reservation, the reason a buyer should hear (or nothing: try again)."""
    if spec.product == "pack":
        known = _PACKS.get(pack_id)
        forget_pack(pack_id)  # it may have changed: the next attempt reads it afresh
        pack = known if known is not None and store.is_sharded(known) else purchasable_pack(pack_id, spec.currency)
        if store.is_sharded(pack):  # the pack row is read with its shards: one round trip
            pack = recheck_sharded_supply(pack_id, pack, spec.currency, spec.quantity)
        elif pack.supply_total is not None and int(pack.supply_available) < spec.quantity:
            raise not_enough_left(int(pack.supply_available))
        cap = int(pack.max_per_wallet) if pack.max_per_wallet is not None else None
        if cap is not None and (held_packs := store.wallet_pack_count(wallet, pack_id)) + spec.quantity > cap:
            raise PackvaultError(ErrorCode.MINT_LIMIT_REACHED, f"One wallet may hold at most {cap} of this pack "
                                 f"(this one holds {held_packs}).", limit=cap, remaining=max(cap - held_packs, 0))
    held = store.open_quote_count(wallet)
    if held + spec.quantity > settings.max_open_quotes:
        raise PackvaultError(ErrorCode.TOO_MANY_OPEN_QUOTES, f"You hold {held} unpaid packs in quotes; at most "
                             f"{settings.max_open_quotes} may be unpaid at once: pay or wait until a quote expires.",
                             limit=settings.max_open_quotes)


_PACKS: dict[str, store.PackRecord] = {}


def purchasable_pack(pack_id: str, currency: str) -> store.PackRecord:
    """The pack as this container last read it (reservations check in their transaction that it is unchanged;
    a failed check drops it from the cache), refused when it cannot be bought in `currency`."""
    pack = _PACKS.get(pack_id) or store.get_pack(pack_id)
    if pack is None:
        raise PackvaultError(ErrorCode.PACK_NOT_FOUND, f"No pack has the id {pack_id!r}.")
    _PACKS[pack_id] = pack
    if pack.status != "ACTIVE":
        _PACKS.pop(pack_id, None)
        raise PackvaultError(ErrorCode.PACK_INACTIVE)
    prices = pack.prices.as_dict()
    if currency not in prices:
        raise PackvaultError(ErrorCode.CURRENCY_NOT_ACCEPTED, f"This pack is priced in {', '.join(sorted(prices))}, "
                             f"not {currency}.")
    if pack.supply_total is not None and not store.is_sharded(pack) and int(pack.supply_available) <= 0:
        _PACKS.pop(pack_id, None)
        raise PackvaultError(ErrorCode.SOLD_OUT)  # a sharded pack: decided by recheck_sharded_supply
    return pack


def purchasable_bundle(bundle_id: str, currency: str) -> store.BundleRecord:
    bundle = store.get_bundle(bundle_id)
    if bundle is None:
        raise PackvaultError(ErrorCode.BUNDLE_NOT_FOUND, f"No credit bundle has the id {bundle_id!r}.")
    if bundle.status != "ACTIVE":
        raise PackvaultError(ErrorCode.PACK_INACTIVE, "This credit bundle is not on sale.")
    prices = bundle.prices.as_dict()
    if currency not in prices:
        raise PackvaultError(ErrorCode.CURRENCY_NOT_ACCEPTED, f"This bundle is priced in {', '.join(sorted(prices))}, "
                             f"not {currency}.")
    return bundle


def _pack_fields(settings: Settings, pack: store.PackRecord, quantity: int = 1) -> dict[str, Any]:
    server_seed = fairness.new_server_seed()
    return {"pack_id": pack.pack_id, "pack_name": pack.name, "prices": pack.prices.as_dict(),
            "cards_per_pack": int(pack.cards_per_pack), "odds_version": int(pack.odds_version),
            "odds_hash": pack.odds_hash, "server_seed": server_seed,
            "stock_committed": dict(pack.stock_totals or {}), "items_hash": pack.items_hash,
            "server_seed_hash": fairness.commitment(server_seed), "fairness_version": fairness.FAIRNESS_VERSION,
            "limited_supply": pack.supply_total is not None, "supply_shard": supply_shard(pack, quantity),
            "mint_limited": pack.max_per_wallet is not None,
            **buyback_terms(settings, pack)}


def buyback_terms(settings: Settings, pack: store.PackRecord) -> dict[str, int]:
    """The instant-buyback terms frozen on an opening: the pack's own, else the deployment's."""
    return {"buyback_bp": int(pack.buyback_bp) if pack.buyback_bp is not None else settings.buyback_bp,
            "buyback_hours": int(pack.buyback_hours) if pack.buyback_hours is not None
            else settings.buyback_window_hours}


def _bundle_fields(bundle: store.BundleRecord) -> dict[str, Any]:
    """A top-up draws nothing: no odds, no seed; it carries the credits it will post."""
    return {"pack_id": bundle.bundle_id, "pack_name": bundle.name, "prices": bundle.prices.as_dict(),
            "cards_per_pack": 0, "odds_version": 0, "odds_hash": "", "product": "credits",
            "credits": int(bundle.credits)}


def _new_opening(settings: Settings, wallet: str, spec: Reservation, now: datetime,
                 product: dict[str, Any]) -> store.OpeningRecord:
    opening_id = str(uuid.uuid4())
    unit = money.currency(spec.currency)
    expires_at = iso_seconds(now + timedelta(seconds=spec.ttl_seconds))
    created_at = store.utc_now_iso()
    solana = spec.rail == SOLANA
    prices = product.pop("prices")
    if spec.quantity > 1:
        product |= {"quantity": spec.quantity, "bundle_units": bundle_units(opening_id, spec.quantity)}
    return store.OpeningRecord(
        **store.opening_keys(opening_id, wallet, product["pack_id"], created_at),
        expiry_shard=_expiry_shard(opening_id, settings.expiry_shards),
        expires_at=expires_at, opening_id=opening_id, wallet=wallet, status="QUOTED", rail=spec.rail,
        currency=unit.symbol,
        amount_base_units=str(money.to_base_units(prices[spec.currency], unit.decimals) * spec.quantity),
        receiver_wallet=require_platform_wallet(settings) if solana else None,
        payer_wallet=spec.payer_wallet if solana and spec.payer_wallet != wallet else None,
        reference=new_reference() if solana else None, quote_expires_at=expires_at, client_seed=spec.client_seed,
        created_at=created_at, updated_at=created_at, **product,
    )


def bundle_units(bundle_id: str, quantity: int) -> list[dict[str, str]]:
    """The other units of a bundle, each committed at quote time like the lead: its opening id and the hash of
    its own server seed (the seed stays secret until it opens)."""
    units = []
    for index in range(1, quantity):
        seed = fairness.new_server_seed()
        units.append({"opening_id": fairness.unit_opening_id(bundle_id, index), "server_seed": seed,
                      "server_seed_hash": fairness.commitment(seed)})
    return units


def _expiry_shard(opening_id: str, shards: int) -> str:
    """Spreads the expiry index over `shards` partitions so the sweep has no hot key ("Q": quoted)."""
    return store.expiry_shard_key(store.QUOTED_SHARD, int(hashlib.sha256(opening_id.encode()).hexdigest(), 16) % shards)


def _request_token(wallet: str, operation: str, idempotency_key: str | None) -> str:
    """DynamoDB's ClientRequestToken (36 characters at most): a Lambda or SDK retry of the same request
    replays the transaction instead of applying it twice."""
    seed = f"{wallet}|{operation}|{idempotency_key}" if idempotency_key else uuid.uuid4().hex
    return hashlib.sha256(seed.encode()).hexdigest()[:36]

