"""Open Payments checkout: pay for a pack from any Open Payments wallet (seed 002's flow, completed).

    start   reserve a unit (the reservation every rail uses) -> seller: incoming-payment grant + incoming payment
            for the price -> buyer: quote grant + quote paying it -> buyer: interactive outgoing-payment grant
            limited to the quote's debit amount -> persist the flow -> {opening_id, redirect_url}
    finish  the buyer's wallet redirects back with interact_ref and hash -> verify the hash -> one request claims
            the flow -> continue the grant -> the outgoing payment for the quote -> read the seller's incoming
            payment: opened when it has received the price (the same open path as every rail)
    sweep   a flow past its expiry: opened if its incoming payment received the price (the browser may never
            have come back), REFUND_DUE if it received part of it, else released and the incoming payment
            completed so that it accepts nothing more

Settlement is decided on the seller's side only: the incoming payment at the seller's wallet, read with the
seller's own grant. A finish that cannot be verified changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from packvault import store
from packvault.core import context, money
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.log import logger
from packvault.core.secrets_store import secret
from packvault.core.settings import Settings
from packvault.core.settlement import OPEN_PAYMENTS
from packvault.core.times import parse_iso
from packvault.fairness import primitives as fairness
from packvault.fairness.quote_signing import signed_commitment
from packvault.rails.open_payments.client import (
    OpenPaymentsClient,
    OpenPaymentsError,
    SellerKey,
    WalletAddress,
    WalletAddressInvalid,
    amount,
    amount_value,
    finish_hash_matches,
    normalise_wallet_address,
    scaled_price,
    settlement,
)
from packvault.sales.openings import OPENING_ID
from packvault.sales.reservation import (
    Reservation,
    check_pack_id,
    quantity_field,
    read_quantity,
    recall,
    remembered_row,
    reserve,
)
from packvault.sales.return_urls import return_url
from packvault.sales.settle import open_paid, settle_expired

if TYPE_CHECKING:  # the sweep's types only: the function that sweeps imports it, the others need not
    from packvault.sales.expiry import SettleDue, SweepReport

OPERATION = "open-payments-checkout"
FINISH_LEASE_SECONDS = 60
FINISH_MARGIN_SECONDS = 30  # no outgoing payment is started this close to the quote's expiry
SETTLE_POLLS = 6
SETTLE_POLL_SECONDS = 0.5
_WALLET_ERRORS = {404, 410}


@dataclass
class OpenPaymentsRail:
    """The container's Open Payments configuration and client; the seller's wallet address is read once."""

    settings: Settings
    client: OpenPaymentsClient
    finish_url: str
    result_url: str | None
    _seller: WalletAddress | None = None

    def seller(self) -> WalletAddress:
        if self._seller is None:
            seller = self.client.wallet_address(self.client.client)
            if seller.asset_code != money.USD.symbol or seller.asset_scale < 2:
                logger.error("the seller's Open Payments wallet is not in USD at scale 2 or more",
                             extra={"asset": seller.asset_code, "scale": seller.asset_scale})
                raise PackvaultError(ErrorCode.OPEN_PAYMENTS_UNAVAILABLE)
            self._seller = seller
        return self._seller


def from_settings(settings: Settings) -> OpenPaymentsRail | None:
    """The rail, or None where Open Payments is not configured (no seller wallet address or key)."""
    private_key = secret(settings.open_payments_private_key, settings.open_payments_private_key_parameter)
    if not (settings.open_payments_wallet_address and settings.open_payments_key_id and private_key
            and settings.open_payments_finish_url):
        return None
    key = SellerKey(settings.open_payments_key_id, private_key)
    client = OpenPaymentsClient(settings.open_payments_wallet_address, key, settings.open_payments_allow_http)
    return OpenPaymentsRail(settings, client, settings.open_payments_finish_url.rstrip("/"),
                            settings.open_payments_result_url)


def seller_jwks(rail: OpenPaymentsRail | None) -> dict[str, Any]:
    if rail is None:
        raise PackvaultError(ErrorCode.OPEN_PAYMENTS_UNAVAILABLE)
    return rail.client.key.jwks


# --- start ---------------------------------------------------------------------------------------------------


def start_checkout(rail: OpenPaymentsRail | None, wallet: str, pack_id: str, body: dict[str, Any],
                   idempotency_key: str | None) -> tuple[int, dict[str, Any]]:
    """(201, {opening_id, redirect_url, ...}): send the buyer's browser to redirect_url to approve the payment."""
    if rail is None:
        raise PackvaultError(ErrorCode.OPEN_PAYMENTS_UNAVAILABLE)
    check_pack_id(pack_id)
    try:
        address = normalise_wallet_address(body.get("wallet_address"), rail.settings.open_payments_allow_http)
    except WalletAddressInvalid as exc:
        raise PackvaultError(ErrorCode.WALLET_ADDRESS_INVALID, f"wallet_address {exc}.",
                             field="wallet_address") from None
    quantity = read_quantity(body)
    back = return_url(rail.settings, body, "return_url") if body.get("return_url") is not None else None
    request_hash = fairness.canonical_hash({"pack_id": pack_id, "wallet_address": address, "rail": OPEN_PAYMENTS,
                                            **quantity_field(quantity), **({"return_url": back} if back else {})})
    remembered = recall(wallet, OPERATION, idempotency_key, request_hash)
    if remembered is not None:
        return _remembered(remembered)
    seller = _call(rail.seller)
    buyer = _call(rail.client.wallet_address, address, wallet_address=True)
    spec = Reservation(OPEN_PAYMENTS, OPERATION, money.USD.symbol, None, rail.settings.open_payments_ttl_seconds,
                       quantity=quantity)
    reserved = reserve(rail.settings, wallet, pack_id, spec, idempotency_key, request_hash)
    if not isinstance(reserved, store.OpeningRecord):
        return _remembered(reserved)
    try:
        answer = _request_payment(rail, seller, buyer, reserved, idempotency_key, back)
    except PackvaultError as refused:
        store.expire_opening(reserved, None, f"open payments request failed: {refused.code}")
        raise
    return 201, answer


def _remembered(row: store.IdempotencyRecord) -> tuple[int, dict[str, Any]]:
    if int(row.status_code) == 201:
        return 201, row.response
    raise PackvaultError(ErrorCode.OPENING_NOT_CONFIRMABLE, "This checkout did not reach the wallet; start a new "
                         "checkout with another Idempotency-Key.")


def _request_payment(rail: OpenPaymentsRail, seller: WalletAddress, buyer: WalletAddress,
                     opening: store.OpeningRecord, idempotency_key: str | None,
                     back: str | None = None) -> dict[str, Any]:
    price = scaled_price(int(opening.amount_base_units), seller.asset_scale)
    incoming_grant = _call(rail.client.request_grant, seller, [
        {"type": "incoming-payment", "actions": ["create", "read", "complete"], "identifier": seller.id}])
    incoming = _call(rail.client.create_incoming_payment, seller, _token(incoming_grant.token, "incoming grant"),
                     amount(price, seller), opening.quote_expires_at,
                     {"opening_id": opening.opening_id, "description": f"Packvault: {opening.pack_name}"})
    _resource_id(incoming, "incoming payment")
    quote_grant = _call(rail.client.request_grant, buyer, [{"type": "quote", "actions": ["create", "read"]}])
    quote = _call(rail.client.create_quote, buyer, _token(quote_grant.token, "quote grant"), incoming["id"])
    debit = _check_quote(quote, price, seller)
    finish_secret, client_nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    finish_key = f"{opening.opening_id}.{finish_secret}"
    outgoing_grant = _call(rail.client.request_grant, buyer, [{
        "type": "outgoing-payment", "actions": ["create", "read"], "identifier": buyer.id,
        "limits": {"debitAmount": quote["debitAmount"], "receiver": incoming["id"]}}],
        interact={"start": ["redirect"], "finish": {"method": "redirect", "uri": f"{rail.finish_url}/{finish_key}",
                                                    "nonce": client_nonce}})
    if not (outgoing_grant.redirect and outgoing_grant.finish and outgoing_grant.continue_uri
            and outgoing_grant.continue_token):
        raise _refused("outgoing payment grant", "no interaction, finish nonce or continuation in the answer")
    flow = store.new_flow(
        opening, seller=_wallet_fields(seller), buyer=_wallet_fields(buyer), incoming_payment=incoming["id"],
        incoming_token=incoming_grant.token, incoming_manage=incoming_grant.manage, price=str(price),
        quote_id=quote["id"], debit_amount=debit, grant_endpoint=buyer.auth_server, client_nonce=client_nonce,
        server_nonce=outgoing_grant.finish, continue_uri=outgoing_grant.continue_uri,
        continue_token=outgoing_grant.continue_token, finish_key_hash=_key_hash(finish_secret), return_url=back)
    answer = {"opening_id": opening.opening_id, "redirect_url": outgoing_grant.redirect,
              "expires_at": opening.quote_expires_at, "pack_id": opening.pack_id,
              "amount": money.from_base_units(int(opening.amount_base_units), money.USD.decimals), "currency": "USD",
              "debit_amount": {"value": money.from_base_units(int(debit["value"]), int(debit["assetScale"])),
                               "currency": debit["assetCode"]},
              "wallet_address": buyer.id, "server_seed_hash": opening.server_seed_hash}
    if opening.stock_committed is not None:
        answer |= signed_commitment(opening)
    references = {"incoming_payment": incoming["id"], "quote": quote["id"], "buyer_wallet_address": buyer.id}
    remembered = remembered_row(opening.wallet, OPERATION, idempotency_key)
    if not store.attach_open_payments(opening, flow, references, remembered, answer):
        raise PackvaultError(ErrorCode.OPENING_NOT_CONFIRMABLE)
    logger.info("open payments checkout started", extra={"opening_id": opening.opening_id, "buyer": buyer.id})
    return answer


def _check_quote(quote: dict[str, Any], price: int, seller: WalletAddress) -> dict[str, Any]:
    """The buyer's wallet must quote delivering the whole price to our incoming payment; its debit amount (in the
    buyer's asset), checked to be an Open Payments amount."""
    _resource_id(quote, "quote")
    debit = quote.get("debitAmount")
    try:
        receive = amount_value(quote.get("receiveAmount"), seller.asset_code, seller.asset_scale)
        code, scale = debit["assetCode"], debit["assetScale"]
        if not isinstance(code, str) or not isinstance(scale, int) or isinstance(scale, bool) or not 0 <= scale <= 255:
            raise ValueError("not an asset")
        amount_value(debit, code, scale)
    except (ValueError, TypeError, KeyError):
        raise _refused("quote", "the quote's amounts are not in the expected form") from None
    if receive < price:
        raise _refused("quote", f"the quote delivers {receive}, less than the price {price}")
    return debit


def _resource_id(answer: dict[str, Any], step: str) -> str:
    if not isinstance(answer.get("id"), str) or not answer["id"].startswith(("https://", "http://")):
        raise _refused(step, "the answer names no resource URL")
    return answer["id"]


# --- finish --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FinishAnswer:
    opening_id: str
    status: str  # opened | pending | failed | rejected | refund_due | refunded
    location: str | None  # the result URL to redirect to, when configured

    def as_dict(self) -> dict[str, str]:
        return {"opening_id": self.opening_id, "status": self.status}


def finish(rail: OpenPaymentsRail | None, key: str, query: dict[str, str], now: datetime | None = None
           ) -> FinishAnswer:
    """The buyer's wallet sent the browser back. Verified, then at most one outgoing payment, then settled."""
    if rail is None:
        raise PackvaultError(ErrorCode.OPEN_PAYMENTS_UNAVAILABLE)
    now = now or datetime.now(UTC)
    flow, opening = _flow_of(key)
    context.act_as(f"open_payments:{_wallet_of(flow.buyer).id}")
    if opening.status in {"OPENED", "REFUND_DUE", "REFUNDED"}:
        return _answer(rail, opening, _final_status(opening), flow)
    if query.get("result") == "grant_rejected":  # carries no hash, so it is not proof of anything: nothing changes
        logger.info("open payments grant rejected (unverified)", extra={"opening_id": opening.opening_id})
        return _answer(rail, opening, "rejected", flow)
    interact_ref, received_hash = query.get("interact_ref") or "", query.get("hash") or ""
    if not interact_ref or len(interact_ref) > 256 or not finish_hash_matches(
            received_hash, flow.client_nonce, flow.server_nonce, interact_ref, flow.grant_endpoint):
        logger.warning("open payments finish hash does not verify", extra={"opening_id": opening.opening_id})
        raise PackvaultError(ErrorCode.FINISH_HASH_INVALID)
    if flow.outgoing_payment is None and flow.outcome is None:
        if opening.status != "QUOTED" or (parse_iso(flow.expires_at) - now).total_seconds() < FINISH_MARGIN_SECONDS:
            raise PackvaultError(ErrorCode.PAYMENT_FLOW_EXPIRED)
        request_id = context.request_id() or secrets.token_hex(8)
        if store.claim_finish(flow, opening, interact_ref, request_id, now, FINISH_LEASE_SECONDS):
            _pay(rail, flow, opening, interact_ref, request_id)
        else:
            flow = _wait_for_outcome(flow)
    if flow.outcome is not None and flow.outcome != "paying":
        current = store.get_opening(opening.opening_id) or opening  # refused, but money may have moved before
        return _answer(rail, current, "failed" if current.status in {"QUOTED", "EXPIRED"} else _final_status(current),
                       flow)
    outcome = _settle(rail, flow, opening, polls=SETTLE_POLLS).outcome
    status = "pending" if outcome == "underpaid" else outcome  # the sweep settles a shortfall
    return _answer(rail, opening, status, flow)


def _flow_of(key: str) -> tuple[store.OpenPaymentsFlowRecord, store.OpeningRecord]:
    opening_id, _, finish_secret = key.partition(".")
    if not OPENING_ID.match(opening_id) or not finish_secret or len(finish_secret) > 64:
        raise PackvaultError(ErrorCode.PAYMENT_FLOW_NOT_FOUND)
    flow = store.get_flow(opening_id)
    if flow is None or not hmac.compare_digest(flow.finish_key_hash, _key_hash(finish_secret)):
        raise PackvaultError(ErrorCode.PAYMENT_FLOW_NOT_FOUND)
    opening = store.get_opening(opening_id)
    if opening is None:
        raise PackvaultError(ErrorCode.PAYMENT_FLOW_NOT_FOUND)
    if opening.status == "EXPIRED":
        raise PackvaultError(ErrorCode.PAYMENT_FLOW_EXPIRED)
    return flow, opening


def _pay(rail: OpenPaymentsRail, flow: store.OpenPaymentsFlowRecord, opening: store.OpeningRecord,
         interact_ref: str, request_id: str) -> None:
    """Holding the claim: continue the grant, then create the outgoing payment for the quote. A refusal is
    final (recorded, the unit released); an unreachable wallet gives the claim back for a retry."""
    buyer = _wallet_of(flow.buyer)
    try:
        grant = _authenticated(rail.client.continue_grant, flow.continue_uri, flow.continue_token, interact_ref)
        if grant.token is None:
            raise OpenPaymentsError("grant continuation", 200, "too_fast", "no access token yet")
        outgoing = _authenticated(rail.client.create_outgoing_payment, buyer, grant.token, flow.quote_id,
                                  {"opening_id": opening.opening_id})
    except OpenPaymentsError as exc:
        if exc.retryable or _unverified(exc):  # our signature still not verified: ours to fix, not a refusal
            store.release_finish(flow, request_id)
            logger.warning("open payments wallet unavailable at finish", extra={"opening_id": opening.opening_id,
                                                                                "error": str(exc)})
            raise PackvaultError(ErrorCode.WALLET_PROVIDER_UNAVAILABLE,
                                 "The wallet provider could not be reached; reload this page to retry.") from None
        store.record_flow_outcome(flow, opening, f"refused: {exc.step}: {exc.code or exc.status}", None,
                                  {"description": exc.description})
        _close(rail, opening)
        return
    if outgoing.get("failed"):
        store.record_flow_outcome(flow, opening, "refused: outgoing payment failed", str(outgoing.get("id")), {})
        _close(rail, opening)
        return
    store.record_flow_outcome(flow, opening, "paying", str(outgoing.get("id")),
                              {"debit_amount": outgoing.get("debitAmount")})


AUTH_RETRY_DELAYS = (0.2, 0.5, 1.0)


def _authenticated(call: Any, *args: Any) -> Any:
    """A call whose 401 is retried: an authorization server answers 401 invalid_client when it could not verify
    our signature, often because fetching our keys failed for a moment. The request was not accepted, so sending
    it again is safe. Other refusals (invalid_continuation, a rejected grant, a failed payment) are final."""
    for delay in (*AUTH_RETRY_DELAYS, None):
        try:
            return call(*args)
        except OpenPaymentsError as exc:
            if not _unverified(exc) or delay is None:
                raise
            logger.warning("open payments request unauthenticated; retrying", extra={"step": exc.step,
                                                                                   "code": exc.code})
            time.sleep(delay)
    raise AssertionError("unreachable")


def _unverified(exc: OpenPaymentsError) -> bool:
    """GNAP's invalid_client: the server could not verify who we are (our signature or keys), nothing about the
    buyer's consent."""
    return exc.status == 401 and exc.code in {"invalid_client", None}


def _close(rail: OpenPaymentsRail, opening: store.OpeningRecord) -> None:
    """The wallet refused to pay (or to pay again): settle by the seller's side before letting the unit go. A
    request that died after its outgoing payment but before recording it leaves a grant that is now finalized;
    the money it moved is on the incoming payment, and opens the pack (or is recorded for a refund), never lost."""
    reconcile_due(rail, store.get_opening(opening.opening_id) or opening)


def _wait_for_outcome(flow: store.OpenPaymentsFlowRecord) -> store.OpenPaymentsFlowRecord:
    """Another request holds the claim: wait briefly for its outcome (the settlement below reads the seller's
    side either way)."""
    for _ in range(SETTLE_POLLS):
        current = store.get_flow(flow.opening_id) or flow
        if current.outcome is not None:
            return current
        time.sleep(SETTLE_POLL_SECONDS)
    return flow


@dataclass(frozen=True)
class Reading:
    """What settling found: `outcome` (opened | refund_due | pending: nothing received | underpaid: part of the
    price | another final status), with what the incoming payment had received when last read."""

    outcome: str
    received: int


def _settle(rail: OpenPaymentsRail, flow: store.OpenPaymentsFlowRecord, opening: store.OpeningRecord,
            polls: int = 1, found_by: str = "finish") -> Reading:
    """Read the seller's incoming payment (polling a little: a payment may take a moment to arrive); open when it
    has received the price."""
    seller, received = _wallet_of(flow.seller), 0
    for attempt in range(polls):
        incoming = _read_incoming(rail, flow)
        try:
            received = amount_value(incoming.get("receivedAmount"), seller.asset_code, seller.asset_scale)
        except ValueError:
            logger.error("incoming payment in an unexpected asset", extra={"opening_id": opening.opening_id})
            return Reading("pending", 0)
        if received >= int(flow.price):
            paid = settlement(flow.incoming_payment, received, {
                "found_by": found_by, "buyer": _wallet_of(flow.buyer).id, "outgoing_payment": flow.outgoing_payment,
                "asset": seller.asset_code, "scale": seller.asset_scale}, flow.interact_ref)
            outcome = _open(rail, opening, paid)
            _complete(rail, flow)
            return Reading(outcome, received)
        if attempt + 1 < polls:
            time.sleep(SETTLE_POLL_SECONDS)
    return Reading("pending" if received == 0 else "underpaid", received)


def _open(rail: OpenPaymentsRail, opening: store.OpeningRecord, paid: Any) -> str:
    current = store.get_opening(opening.opening_id) or opening
    if current.status == "EXPIRED":
        in_time = True  # the seller's wallet accepts nothing after the incoming payment's expiresAt (the quote's)
        return "opened" if settle_expired(current, paid, in_time, rail.settings.honour_late_payments) else "refund_due"
    if current.status != "QUOTED":
        return _final_status(current)
    try:
        open_paid(current, paid)
    except PackvaultError as refused:
        if refused.code == ErrorCode.PACK_EXHAUSTED:
            return "refund_due"
        raise
    return "opened"


def _read_incoming(rail: OpenPaymentsRail, flow: store.OpenPaymentsFlowRecord) -> dict[str, Any]:
    """The incoming payment, with the seller's token; a fresh incoming-payment grant if that token has lapsed."""
    try:
        return rail.client.get_incoming_payment(flow.incoming_payment, flow.incoming_token)
    except OpenPaymentsError as exc:
        if exc.status not in {401, 403}:
            raise _mapped(exc) from None
    seller = _wallet_of(flow.seller)
    grant = _call(rail.client.request_grant, seller, [
        {"type": "incoming-payment", "actions": ["create", "read", "complete"], "identifier": seller.id}])
    store.refresh_incoming_token(flow, _token(grant.token, "incoming grant"), grant.manage)
    flow.incoming_token = grant.token
    return _call(rail.client.get_incoming_payment, flow.incoming_payment, flow.incoming_token)


def _complete(rail: OpenPaymentsRail, flow: store.OpenPaymentsFlowRecord) -> None:
    """Mark the incoming payment completed: it accepts nothing more. Best effort (it also expires by itself)."""
    try:
        rail.client.complete_incoming_payment(flow.incoming_payment, flow.incoming_token)
    except OpenPaymentsError as exc:
        logger.warning("could not complete the incoming payment", extra={"opening_id": flow.opening_id,
                                                                          "error": str(exc)})


# --- the sweep -----------------------------------------------------------------------------------------------


def settle_due(wallets: OpenPaymentsRail | None) -> SettleDue:
    """The sweep's handler for Open Payments openings: reconcile_due, its outcome counted."""

    def settle(opening: store.OpeningRecord, kind: str, now: datetime, report: SweepReport) -> None:
        try:
            outcome = reconcile_due(wallets, opening)
        except PackvaultError as exc:
            logger.warning("open payments opening left for the next run",
                           extra={"opening_id": opening.opening_id, "error": str(exc)})
            return
        from packvault.sales.expiry import count_outcome

        count_outcome(outcome, opening, report)

    return settle


def reconcile_due(rail: OpenPaymentsRail | None, opening: store.OpeningRecord) -> str:
    """An Open Payments opening past its expiry (and grace): opened if the seller's incoming payment received the
    price, REFUND_DUE if part of it, else released (and the incoming payment completed). `skipped` leaves it for
    the next run."""
    if opening.status != "QUOTED":
        return "skipped"
    flow = store.get_flow(opening.opening_id)
    if flow is None:  # the flow was never recorded, so nobody was sent to a wallet
        return "released" if store.expire_opening(opening, None, "no open payments flow was recorded") else "skipped"
    if rail is None:
        logger.error("an open payments opening is due but Open Payments is not configured",
                     extra={"opening_id": opening.opening_id})
        return "skipped"
    reading = _settle(rail, flow, opening, found_by="expiry sweep")
    if reading.outcome == "underpaid":
        partial = settlement(flow.incoming_payment, reading.received, {"found_by": "expiry sweep",
                                                                  "buyer": _wallet_of(flow.buyer).id})
        _complete(rail, flow)
        return "refund_due" if store.mark_refund_due(opening, partial, "underpaid: the incoming payment received "
                                                     f"{reading.received} of {flow.price}") else "skipped"
    if reading.outcome == "pending":
        if not store.expire_opening(opening, None, "open payments checkout expired unpaid"):
            return "skipped"
        _complete(rail, flow)
        return "released"
    return reading.outcome


# --- helpers -------------------------------------------------------------------------------------------------


def _answer(rail: OpenPaymentsRail, opening: store.OpeningRecord, status: str,
            flow: store.OpenPaymentsFlowRecord | None = None) -> FinishAnswer:
    """The finish answer; the browser is sent on to the page the checkout named (`return_url`), else to
    OPEN_PAYMENTS_RESULT_URL, with the opening and the outcome in its query."""
    location = None
    target = (flow.return_url if flow is not None else None) or rail.result_url
    if target:
        separator = "&" if "?" in target else "?"
        location = target + separator + urlencode({"opening_id": opening.opening_id, "status": status})
    return FinishAnswer(opening.opening_id, status, location)


def _final_status(opening: store.OpeningRecord) -> str:
    return {"OPENED": "opened", "REFUND_DUE": "refund_due", "REFUNDED": "refunded"}.get(opening.status, "pending")


def _wallet_fields(wallet: WalletAddress) -> dict[str, Any]:
    return {"id": wallet.id, "auth_server": wallet.auth_server, "resource_server": wallet.resource_server,
            "asset_code": wallet.asset_code, "asset_scale": wallet.asset_scale}


def _wallet_of(fields: Any) -> WalletAddress:
    data = fields.as_dict() if hasattr(fields, "as_dict") else dict(fields)
    return WalletAddress(data["id"], data["asset_code"], int(data["asset_scale"]), data["auth_server"],
                         data["resource_server"])


def _key_hash(finish_secret: str) -> str:
    return base64.b64encode(hashlib.sha256(finish_secret.encode()).digest()).decode()


def _token(token: str | None, step: str) -> str:
    if not token:
        raise _refused(step, "no access token in the answer")
    return token


def _call(function: Any, *args: Any, wallet_address: bool = False, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except OpenPaymentsError as exc:
        if wallet_address and exc.status in _WALLET_ERRORS:
            raise PackvaultError(ErrorCode.WALLET_ADDRESS_NOT_FOUND) from None
        if wallet_address and exc.status == 200:
            raise PackvaultError(ErrorCode.WALLET_ADDRESS_NOT_FOUND, f"That is not an Open Payments wallet: "
                                 f"{exc.description}.") from None
        raise _mapped(exc) from None


def _mapped(exc: OpenPaymentsError) -> PackvaultError:
    """A wallet server's answer as an error of ours: unreachable/429/5xx -> 503 (retry), a refusal -> 422 with
    the step and the server's own code."""
    logger.warning("open payments request failed", extra={"step": exc.step, "status": exc.status,
                                                          "code": exc.code, "description": exc.description})
    if exc.retryable:
        return PackvaultError(ErrorCode.WALLET_PROVIDER_UNAVAILABLE, step=exc.step)
    return _refused(exc.step, exc.description, exc.code)


def _refused(step: str, why: str, code: str | None = None) -> PackvaultError:
    return PackvaultError(ErrorCode.WALLET_PROVIDER_REFUSED, f"The wallet provider refused the {step}: {why}. "
                          "Nothing was charged.", step=step, **({"provider_code": code} if code else {}))

