"""Game-credit top-ups (seed 001), pay first: the buyer has paid the platform wallet and submits the
transaction's signature with the game account to credit. The payment carries no reference, so what binds it
to this order is: signed and paid by the signed-in wallet, to the platform wallet, the item's price within
TOPUP_AMOUNT_TOLERANCE, at the configured commitment, at most TOPUP_PAYMENT_MAX_AGE_SECONDS old, and never
used before (the claim rows every opening and order share). Then the order is created paid, in one
transaction, and sent to the fulfilment queue.

A payment from this wallet to the platform for the wrong amount is not lost: it becomes an order in
`refund_due`, claimed so it cannot be used twice, and listed for operators.
"""

from __future__ import annotations

import secrets
import string
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from packvault import store
from packvault.chain.rpc import RpcError, RpcUnavailable, SolanaRpc
from packvault.chain.transactions import PaymentTerms, Verdict, memos, paid_by, verify_payment
from packvault.core import money
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.keys import is_signature
from packvault.core.log import logger
from packvault.core.settings import Settings, require_platform_wallet
from packvault.core.times import iso_seconds
from packvault.products import fulfilment_queue

_ORDER_NUMBER_CHARS = string.ascii_uppercase + string.digits
FIRST_CHECK_SECONDS = 120  # when the sweep first looks at a paid order (its message may have been lost)
QUOTE_MEMO_PREFIX = "packvault:"  # a quote's payment names its opening in its memo: it pays that, not a top-up


def submit_paid_order(settings: Settings, rpc: SolanaRpc | None, wallet: str, item_id: str, signature: str,
                      user_fields: dict[str, Any], additional_info: Any = None, currency: str | None = None,
                      payer: str | None = None) -> tuple[bool, dict[str, Any]]:
    """(created now, the order). The identical submission again gives the same order; see the module's rules.
    Without `currency`, the transaction says which it was (SOL, or the USDC/USDT mint it moved). `payer`: the
    account's linked wallet that must have sent it (None: the account id is that wallet)."""
    if not isinstance(signature, str) or not is_signature(signature):
        raise PackvaultError(ErrorCode.INVALID_TX_SIGNATURE)
    item = store.get_topup_item(item_id) if isinstance(item_id, str) and len(item_id) <= 64 else None
    if item is None:
        raise PackvaultError(ErrorCode.TOPUP_ITEM_NOT_FOUND, item_id=str(item_id)[:64])
    currencies = [c for c in item.prices.as_dict() if c in money.CURRENCIES and money.currency(c).rail == "solana"]
    if item.status != "ACTIVE" or (currency is not None and currency not in item.prices.as_dict()) or not currencies:
        raise PackvaultError(ErrorCode.PRODUCT_UNAVAILABLE, "This product is currently unavailable",
                             problems=["Product is not available for purchase"])
    if currency is not None and money.currency(currency).rail != "solana":
        raise PackvaultError(ErrorCode.CURRENCY_NOT_ACCEPTED, f"{currency} is paid by card: use POST "
                             "/api/v1/game-credits/{item_id}/checkout.", currency=currency)
    user_data = check_user_data(item, user_fields, additional_info)
    if (earlier := _earlier_order(wallet, signature, item_id, user_data)) is not None:
        return False, order_view(earlier)
    result = _fetch(settings, rpc, signature)
    terms, verdict = _judge(settings, result, [_terms(settings, item, payer or wallet, c) for c in
                                               ([currency] if currency is not None else currencies)])
    return _record(settings, rpc, wallet, item, signature, user_data, terms, verdict)


def order_terms(item_id: Any, body: dict[str, Any]) -> tuple[store.TopupItemRecord, dict[str, Any]]:
    """A quote-first order's item and user data, from a REST body: game_account_id, server_id, in_game_name and
    additional_info (seed 001's names, snake_case)."""
    item = store.get_topup_item(item_id) if isinstance(item_id, str) and len(item_id) <= 64 else None
    if item is None:
        raise PackvaultError(ErrorCode.TOPUP_ITEM_NOT_FOUND, item_id=str(item_id)[:64])
    fields = {name: body.get(name) for name in ("game_account_id", "server_id", "in_game_name")}
    return item, check_user_data(item, fields, body.get("additional_info"))


def check_user_data(item: store.TopupItemRecord, user_fields: dict[str, Any], additional_info: Any) -> dict[str, Any]:
    """The order's user data (the named fields, then the game-specific extras), valid for the game's schema."""
    from jsonschema import Draft202012Validator

    if additional_info is not None and not isinstance(additional_info, dict):
        raise PackvaultError(ErrorCode.USER_DATA_INVALID, "additionalInfo must be an object.",
                             problems=["additionalInfo: must be an object"])
    data = {**(additional_info or {}), **{k: v for k, v in user_fields.items() if v is not None}}
    problems = [f"{'.'.join(map(str, e.absolute_path)) or '(user data)'}: {e.message}"
                for e in Draft202012Validator(item.user_data_schema).iter_errors(data)]
    if problems:
        raise PackvaultError(ErrorCode.USER_DATA_INVALID, f"The details for {item.game_name} are not valid: "
                             f"{'; '.join(sorted(problems))}.", problems=sorted(problems))
    return data


def _earlier_order(wallet: str, signature: str, item_id: str, user_data: dict[str, Any]) -> store.OrderRecord | None:
    """The order this signature already paid, if this is the identical request again (this wallet, this item, the
    same game account details); SIGNATURE_ALREADY_USED if it paid anything else."""
    claim = store.get_payment_claim("solana", signature)
    if claim is None:
        return None
    order = store.get_order(claim.opening_id.removeprefix("order:")) if claim.opening_id.startswith("order:") else None
    if order is not None and order.wallet == wallet and order.item_id == item_id and order.user_data == user_data:
        return order
    raise PackvaultError(ErrorCode.SIGNATURE_ALREADY_USED, "This transaction has already been used",
                         problems=["This transaction signature has already been used for another order"])


def _terms(settings: Settings, item: store.TopupItemRecord, wallet: str, currency: str) -> PaymentTerms:
    unit = money.currency(currency)
    return PaymentTerms(recipient=require_platform_wallet(settings), currency=unit.symbol, sender=wallet,
                        amount_base_units=money.to_base_units(item.prices.as_dict()[currency], unit.decimals),
                        tolerance_base_units=money.to_base_units(settings.topup_amount_tolerance, unit.decimals),
                        mint=unit.mint, token_program=unit.token_program)


def _fetch(settings: Settings, rpc: SolanaRpc | None, signature: str) -> Any:
    if rpc is None:
        raise PackvaultError(ErrorCode.RPC_UNAVAILABLE, "No Solana RPC URL is configured.")
    try:
        return rpc.get_transaction(signature, settings.solana_commitment, settings.solana_max_transaction_version)
    except (RpcUnavailable, RpcError) as exc:
        logger.warning("solana rpc unavailable", extra={"error": str(exc)})
        raise PackvaultError(ErrorCode.RPC_UNAVAILABLE) from None


def _judge(settings: Settings, result: Any, candidates: list[PaymentTerms]) -> tuple[PaymentTerms, Verdict]:
    """The terms this transaction paid (the first candidate currency it moved to the platform wallet, else the
    first one, whose refusal is the answer) and its verdict."""
    judged = [(terms, _verify(settings, result, terms)) for terms in candidates]
    paid = [(terms, verdict) for terms, verdict in judged if verdict.accepted and verdict.received_base_units > 0]
    if paid:
        return paid[0]
    terms, verdict = judged[0]
    _refuse(settings, result, terms, verdict)
    raise AssertionError("unreachable")  # _refuse always raises for a verdict that was not accepted


def _verify(settings: Settings, result: Any, terms: PaymentTerms) -> Verdict:
    """The payment in one currency, checked for everything but its amount (compared with the price by the caller,
    so that a wrong amount from this wallet is kept for a refund rather than refused and forgotten)."""
    verdict = verify_payment(result, replace(terms, amount_base_units=1, tolerance_base_units=0))
    if verdict.status == "pending":
        raise PackvaultError(ErrorCode.TRANSACTION_NOT_FOUND, "Transaction not found on blockchain")
    if any(memo.startswith(QUOTE_MEMO_PREFIX) for memo in memos(result)):
        raise PackvaultError(ErrorCode.PAYMENT_FOR_A_QUOTE)
    if verdict.accepted:
        _refuse(settings, result, terms, verdict)
    return verdict


def _refuse(settings: Settings, result: Any, terms: PaymentTerms, verdict: Verdict) -> None:
    """Raises for a payment not made by the signed-in wallet, not accepted, or too old; returns otherwise."""
    sender_paid = verdict.accepted and paid_by(result, terms, terms.sender or "") >= verdict.received_base_units
    if verdict.code in {"SENDER_NOT_SIGNER", "SENDER_NOT_DEBITED"} or (verdict.accepted and not sender_paid):
        sender = verdict.fee_payer or "unknown"
        raise PackvaultError(ErrorCode.SENDER_MISMATCH, f"Transaction sender {_short(sender)} does not match "
                             f"expected {_short(terms.sender or '')}")
    if not verdict.accepted:
        raise PackvaultError(ErrorCode(verdict.code), verdict.message)
    max_age = timedelta(seconds=settings.topup_payment_max_age_seconds)
    if verdict.block_time is not None and datetime.fromtimestamp(verdict.block_time, UTC) < datetime.now(UTC) - max_age:
        raise PackvaultError(ErrorCode.PAYMENT_TOO_OLD, max_age_seconds=settings.topup_payment_max_age_seconds)


def _record(settings: Settings, rpc: SolanaRpc | None, wallet: str, item: store.TopupItemRecord, signature: str,
            user_data: dict[str, Any], terms: PaymentTerms, verdict: Verdict) -> tuple[bool, dict[str, Any]]:
    decimals = money.currency(terms.currency).decimals
    received = verdict.received_base_units
    mismatch = abs(received - terms.amount_base_units) > terms.tolerance_base_units
    transaction = {"transaction_signature": signature, **_signature_status(settings, rpc, signature),
                   "block_time": verdict.block_time, "payer": verdict.payer,
                   "received": money.from_base_units(received, decimals)}
    failure = None
    if mismatch:
        failure = {"code": "AMOUNT_MISMATCH", "message": _amount_message(received, terms)}
    order = _new_order(wallet, item, terms, signature, user_data, transaction, failure)
    for _ in range(5):
        try:
            store.create_order(order)
            break
        except store.OrderConflict as conflict:
            if conflict.reason == "payment_claimed":  # a concurrent submission of this payment won
                earlier = _earlier_order(wallet, signature, item.item_id, user_data)
                if earlier is None:
                    raise
                return False, order_view(earlier)
            order.order_number = new_order_number()  # taken by another order this second: draw again
    else:
        raise PackvaultError(ErrorCode.BUSY_RETRY)
    if order.status == "refund_due":
        raise PackvaultError(ErrorCode.AMOUNT_MISMATCH, failure["message"] if failure else "",
                             order_number=order.order_number, status="refund_due")
    fulfilment_queue.send(settings, order.order_id)
    return True, order_view(order)


def _new_order(wallet: str, item: store.TopupItemRecord, terms: PaymentTerms, signature: str,
               user_data: dict[str, Any], transaction: dict[str, Any], failure: dict[str, Any] | None
               ) -> store.OrderRecord:
    order_id, now = str(uuid.uuid4()), store.utc_now_iso()
    waiting = {} if failure else {"expiry_shard": store.expiry_shard_key(store.FULFILMENT_SHARD, secrets.randbelow(16)),
                                  "expires_at": iso_seconds(datetime.now(UTC) + timedelta(seconds=FIRST_CHECK_SECONDS))}
    return store.OrderRecord(
        pk=store.order_pk(order_id), sk=store.ORDER_SORT_KEY, gsi1pk=store.wallet_orders_key(wallet),
        gsi1sk=f"{now}#{order_id}", order_id=order_id, order_number=new_order_number(), wallet=wallet,
        item_id=item.item_id, game_id=item.game_id, item_name=item.name, denomination=int(item.denomination),
        currency=terms.currency, amount_base_units=str(terms.amount_base_units),
        status="refund_due" if failure else "paid", user_data=user_data, crypto_transaction=transaction,
        payment_id=signature, failure=failure, created_at=now, updated_at=now, **waiting)


def paid_order(opening: store.OpeningRecord, payment: dict[str, Any], payment_id: str) -> store.OrderRecord:
    """The order a paid game-credit quote becomes (quote first, any rail): the same id as its opening, the user
    data and price fixed at quote time, waiting for delivery."""
    data = opening.product_data or {}
    now = store.utc_now_iso()
    transaction = {"transaction_signature": payment.get("tx_signature"), "state": "verified",
                   "confirmations": None, "block_time": payment.get("block_time"), "payer": payment.get("payer"),
                   "received": payment.get("received")} if opening.rail == "solana" else {"rail": opening.rail}
    return store.OrderRecord(
        pk=store.order_pk(opening.opening_id), sk=store.ORDER_SORT_KEY, gsi1pk=store.wallet_orders_key(opening.wallet),
        gsi1sk=f"{now}#{opening.opening_id}", order_id=opening.opening_id, order_number=new_order_number(),
        wallet=opening.wallet, item_id=opening.pack_id, game_id=data["game_id"], item_name=opening.pack_name,
        denomination=int(data["denomination"]), currency=opening.currency,
        amount_base_units=opening.amount_base_units, status="paid", user_data=data["user_data"],
        crypto_transaction=transaction, payment_id=payment_id, created_at=now, updated_at=now,
        expiry_shard=store.expiry_shard_key(store.FULFILMENT_SHARD, secrets.randbelow(16)),
        expires_at=iso_seconds(datetime.now(UTC) + timedelta(seconds=FIRST_CHECK_SECONDS)))


def new_order_number(now: float | None = None) -> str:
    """ORD-<unix seconds>-<4 characters A-Z0-9>; uniqueness is enforced by the order number's own row."""
    suffix = "".join(secrets.choice(_ORDER_NUMBER_CHARS) for _ in range(4))
    return f"ORD-{int(time.time() if now is None else now)}-{suffix}"


def _signature_status(settings: Settings, rpc: SolanaRpc | None, signature: str) -> dict[str, Any]:
    try:
        statuses = rpc.call("getSignatureStatuses", [[signature], {"searchTransactionHistory": True}]) if rpc else None
        status = (statuses or {}).get("value", [None])[0] or {}
    except (RpcUnavailable, RpcError):
        status = {}
    return {"state": status.get("confirmationStatus") or settings.solana_commitment,
            "confirmations": status.get("confirmations")}


def _amount_message(received: int, terms: PaymentTerms) -> str:
    decimals = money.currency(terms.currency).decimals
    return (f"Transaction amount {money.from_base_units(received, decimals)} {terms.currency} does not match "
            f"expected {money.from_base_units(terms.amount_base_units, decimals)} {terms.currency}")


def _short(address: str) -> str:
    return f"{address[:6]}..." if len(address) > 9 else address


# --- reading orders ----------------------------------------------------------------------------------


def get_order(wallet: str, order_id: Any) -> dict[str, Any]:
    order = store.get_order(order_id) if isinstance(order_id, str) and len(order_id) <= 64 else None
    if order is None or order.wallet != wallet:
        raise PackvaultError(ErrorCode.ORDER_NOT_FOUND)
    return order_view(order)


def my_orders(wallet: str, limit: int) -> list[dict[str, Any]]:
    if not 1 <= limit <= 100:
        raise PackvaultError(ErrorCode.INVALID_LIMIT)
    return [order_view(order) for order in store.wallet_orders(wallet, limit, None).rows]


def order_view(order: store.OrderRecord) -> dict[str, Any]:
    decimals = money.currency(order.currency).decimals
    transaction = order.crypto_transaction or {}
    block_time = transaction.get("block_time")
    return {"id": order.order_id, "order_number": order.order_number, "status": order.status,
            "amount": money.from_base_units(int(order.amount_base_units), decimals), "currency": order.currency,
            "item_id": order.item_id, "item_name": order.item_name, "denomination": int(order.denomination),
            "user_data": order.user_data, "created_at": order.created_at, "updated_at": order.updated_at,
            "failure": order.failure, "delivery": order.delivery,
            "crypto_transaction": {"transaction_signature": transaction.get("transaction_signature"),
                                   "state": transaction.get("state"), "confirmations": transaction.get("confirmations"),
                                   "block_timestamp": iso_seconds(datetime.fromtimestamp(block_time, UTC))
                                   if block_time else None}}


# --- what the open path and the rails ask of a game-credit opening (registered with sales.products) ------------


def reservation_fields(item_id: str, currency: str, product_data: dict[str, Any]) -> dict[str, Any]:
    """A game-credit quote draws nothing; it carries what the order will be made of."""
    item = store.get_topup_item(item_id)
    if item is None:
        raise PackvaultError(ErrorCode.TOPUP_ITEM_NOT_FOUND, f"No game-credit item has the id {item_id!r}.")
    prices = item.prices.as_dict()
    if item.status != "ACTIVE":
        raise PackvaultError(ErrorCode.PRODUCT_UNAVAILABLE)
    if currency not in prices:
        raise PackvaultError(ErrorCode.CURRENCY_NOT_ACCEPTED, f"This item is priced in {', '.join(sorted(prices))}, "
                             f"not {currency}.")
    return {"pack_id": item.item_id, "pack_name": item.name, "prices": prices, "cards_per_pack": 0,
            "odds_version": 0, "odds_hash": "", "product": "game_credit",
            "product_data": {"game_id": item.game_id, "denomination": int(item.denomination), **product_data}}


def opening_fields(opening: store.OpeningRecord, view: str) -> dict[str, Any]:
    """What a quote, a receipt or a card checkout's answer shows of a game-credit opening (its order)."""
    data = opening.product_data or {}
    if view == "quote":
        return {"product": "game_credit", "item_id": opening.pack_id, "game_id": data.get("game_id"),
                "denomination": data.get("denomination"), "user_data": data.get("user_data"),
                "order_id": opening.opening_id, "order_number": data.get("order_number")}
    if view == "receipt":
        return {"product": "game_credit", "order_id": opening.opening_id, "order_number": data.get("order_number")}
    return {"product": "game_credit", "item_id": opening.pack_id, "order_id": opening.opening_id}
