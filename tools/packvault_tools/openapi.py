"""The API's OpenAPI 3.1 document, generated from the code: routes and their authorizers from template.yaml
(the one source of truth for routes), bodies from the pydantic models below, error codes from
packvault.core.errors. `make openapi` writes docs/openapi.json and the copy the catalog function serves at
GET /api/v1/openapi.json; a test fails when either differs from what this module generates, or when a route
of the template has no description here.

The models state what a client can rely on: every field listed is present (nullable where it says so) and
objects may gain fields. Tooling only: no Lambda imports this module (pydantic's schema generation stays off
the cold start).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from packvault.core.errors import ErrorCode, catalogue

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "openapi.json"
SERVED = ROOT / "layers" / "common" / "packvault" / "schemas" / "openapi.json"
VERSION = "1.0.0"

Decimal = Field(pattern=r"^(0|[1-9][0-9]*)(\.[0-9]+)?$", description="A decimal string; never a JSON number.")
Uuid = Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Open(BaseModel):
    """Objects may gain fields over time; clients ignore what they do not know."""

    model_config = ConfigDict(extra="allow")


# --- shared shapes ----------------------------------------------------------------------------------


class ErrorDetail(Open):
    code: ErrorCode
    message: str
    details: dict[str, Any] | None = None
    request_id: str | None = None


class ErrorBody(Open):
    """The one error shape of this API."""

    error: ErrorDetail


class GatewayMessage(Open):
    """API Gateway's own answers, before any function runs (no Authorization header, no such route, a body
    over 10 MB, the stage's throttle)."""

    message: str


class Price(Open):
    currency: str
    amount: str = Decimal
    rail: Literal["solana", "stripe", "credits"]
    amount_base_units: str = Field(pattern=r"^[0-9]+$")


class Item(Open):
    vault_item_id: str
    item_id: str
    nft_id: str
    name: str
    rarity: str
    tier_id: str
    fmv: str = Decimal
    metadata: dict[str, Any] | None
    image_url: str | None = Field(None, description="The item's image (https, or a file the storefront serves).")


# --- public reads -----------------------------------------------------------------------------------


class PackSummary(Open):
    pack_id: str
    name: str
    status: Literal["ACTIVE", "INACTIVE"]
    prices: list[Price]
    cards_per_pack: int
    max_quantity: int = Field(description="The most packs one purchase may open together (bulk opening).")
    image_url: str | None = Field(None, description="The pack's image (https, or a file the storefront serves).")
    supply: dict[str, Any]
    remaining_supply: int | None
    sold_out: bool
    odds: dict[str, Any] = Field(description="The odds disclosure: version, hash, policy, slots, tiers and items "
                                             "with exact probabilities (docs/FAIRNESS.md).")


class PackList(Open):
    packs: list[PackSummary]


class OddsVersion(Open):
    pack_id: str
    odds_version: int
    odds_hash: str
    odds_table: dict[str, Any]


class Bundle(Open):
    bundle_id: str
    name: str
    credits: int
    prices: list[Price]


class BundleList(Open):
    bundles: list[Bundle]
    credit_value_usd: str = Decimal


class PublicProof(Open):
    opening_id: str
    pack_id: str
    wallet: str
    status: str
    rail: str
    server_seed_hash: str | None
    odds_version: int
    odds_hash: str
    proof: dict[str, Any] | None = Field(description="Once opened: everything docs/FAIRNESS.md needs to "
                                                     "recompute the draw; null before.")
    server_seed: str | None = Field(None, description="Revealed when the opening can no longer open (expired, "
                                                      "refund due).")
    odds_table: dict[str, Any] | None = Field(None, description="With a revealed server seed: the odds it would "
                                                                "have been drawn with.")
    would_have_drawn: dict[str, Any] | None = Field(None, description="With a revealed server seed and a known "
                                                                      "payment: the draw it would have made.")
    commitment: dict[str, Any] | None = Field(None, description="Fairness v3, an opening that never opened: the "
                                              "signed commitment its quote showed ({commitment, quote_hash, "
                                              "quote_signature, quote_key}; docs/FAIRNESS.md 13.3). An opened "
                                              "one's is in its proof.")
    endings: list[dict[str, Any]] | None = Field(None, description="Each time the quote ended without opening "
                                                 "(expired, refund due), the ending document its leaf in the public "
                                                 "record commits to, with its inclusion once the hour is sealed "
                                                 "(docs/FAIRNESS.md 13.11).")


# --- sign-in ----------------------------------------------------------------------------------------


class QuoteKey(Open):
    algorithm: Literal["Ed25519"]
    public_key: str | None = Field(description="base58; quotes are signed with it (null: this deployment does not "
                                               "sign quotes)")
    signed_quotes: bool


class SealedRecord(Open):
    period: str
    root: str
    count: int
    sealed_at: str
    leaves: list[str] = Field(description="Every leaf of the hour, in order: recompute the root from them.")
    entries: list[dict[str, Any]] | None = Field(None, description="Beside each leaf: {opening_id, at, ended?}, the "
                                                 "order it is sealed in (at, then opening_id; docs/FAIRNESS.md "
                                                 "13.12) and whether it is an ending (13.11).")
    prev_period: str | None = Field(None, description="Chained (docs/FAIRNESS.md 13.7): the hour sealed just "
                                    "before; null for the first chained hour.")
    prev: str | None = Field(None, description="That hour's chain_hash (64 zeros for the first chained hour).")
    chain_hash: str | None = Field(None, description="sha256 of canonical JSON {period, root, count, prev_period, "
                                   "prev, quote_key} (with tree and stock_heads when present); absent for hours "
                                   "sealed before seals were chained.")
    quote_key: str | None = Field(None, description="The quote-signing key in force when it was sealed (13.7).")
    tree: int | None = Field(None, description="The Merkle tree its root was computed with: 2 (leaf and node "
                             "hashes apart, docs/FAIRNESS.md 13.12); absent: tree 1.")
    stock_heads: dict[str, Any] | None = Field(None, description="Every pack's stock chain head when it was sealed, "
                                               "{pack_id: {seq, hash}} (docs/FAIRNESS.md 13.10).")
    anchor: dict[str, Any] | None = Field(None, description="The Solana memo transaction carrying the root and "
                                          "chain hash, once anchored (docs/FAIRNESS.md section 9).")


class NonceRequest(BaseModel):
    wallet: str = Field(description="The buyer's Solana public key (base58).")


class Nonce(Open):
    wallet: str
    nonce: str
    message: str = Field(description="The Sign-In With Solana text to sign, exactly as given.")
    issued_at: str
    expires_at: str


class VerifyRequest(BaseModel):
    wallet: str
    message: str
    signature: str = Field(description="The wallet's ed25519 signature of `message`, base58.")


class Session(Open):
    token: str
    token_type: Literal["Bearer"]
    account_id: str = Field(description="The account the token acts for: a wallet's own account is named by its "
                                        "address, an account created by a passkey or an email is acct_<24 chars>.")
    wallet: str | None = Field(description="The wallet this session signed in with (null for a passkey or an email).")
    expires_at: str
    expires_in: int
    role: Literal["admin", "support"] | None = Field(None, description="Only for operators.")


class EmailStartRequest(BaseModel):
    email: str = Field(max_length=254, description="Where to send the 6-digit code.")


class EmailStarted(Open):
    """The same answer whether or not the address has an account."""

    status: Literal["sent"]
    email: str
    expires_in: int
    message: str


class EmailVerifyRequest(BaseModel):
    email: str = Field(max_length=254)
    code: str = Field(pattern=r"^[0-9]{6}$", description="The code from the newest email; 5 guesses per code.")


class PasskeyOptionsRequest(BaseModel):
    name: str | None = Field(None, max_length=64, description="What the passkey manager shows for this passkey.")


class PasskeyOptions(Open):
    options: dict[str, Any] = Field(description="PublicKeyCredentialCreationOptionsJSON (or RequestOptionsJSON) for "
                                                "navigator.credentials.create/get; binary fields are base64url.")
    expires_in: int


class PasskeyCredentialRequest(BaseModel):
    credential: dict[str, Any] = Field(description="The PublicKeyCredential as JSON (id, rawId, type, response with "
                                                   "base64url fields), e.g. credential.toJSON().")


class Identity(Open):
    kind: Literal["wallet", "passkey", "email"]
    id: str = Field(description="The wallet address, the passkey's credential id or the email address.")
    linked_at: str


class Identities(Open):
    account_id: str
    identities: list[Identity]


class LinkWalletRequest(VerifyRequest):
    pass


class EntitlementProduct(Open):
    entitlement_id: str
    name: str
    description: str | None = None
    units_included: int
    unit_label: str
    status: Literal["ACTIVE", "INACTIVE"]
    validity_days: int | None = None
    prices: list[Price]
    definition_hash: str


class EntitlementList(Open):
    entitlements: list[EntitlementProduct]


class Holding(Open):
    holding_id: str = Uuid
    entitlement_id: str
    name: str
    unit_label: str
    units_included: int
    units_remaining: int
    locked_credits_remaining: int = Field(description="Seed 004's v1 invariant: always equal to units_remaining.")
    status: Literal["ACTIVE", "EXHAUSTED", "REFUNDED", "EXPIRED"]
    purchased_at: str
    expires_at: str | None = None


class HoldingList(Open):
    holdings: list[Holding]
    cursor: str | None = None


class ServiceHolding(Open):
    holding_id: str = Uuid
    entitlement_id: str
    unit_label: str
    units_included: int
    units_remaining: int
    status: str
    expires_at: str | None = None


class ConsumeRequest(BaseModel):
    units: int = Field(ge=1, le=1000)
    order_ref: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,128}$", description="Your order's id: a retry with the same "
                                                                            "order_ref answers the first result.")


class RestoreRequest(BaseModel):
    order_ref: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")


class Consumption(Open):
    holding_id: str = Uuid
    order_ref: str
    units: int
    units_remaining: int
    consumed_at: str
    restored_at: str | None = None


class ServiceTokenAnswer(Open):
    """RFC 6749 §5.1; errors are RFC 6749 §5.2's {"error", "error_description"}."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str


class OAuthError(Open):
    """RFC 6749 §5.2: the token endpoint's errors, in the shape OAuth libraries read."""

    error: Literal["invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                   "unsupported_grant_type", "invalid_scope"]
    error_description: str | None = None


class ServiceClient(Open):
    client_id: str
    name: str
    scopes: list[str]
    active: bool
    secrets_valid: int
    created_at: str
    updated_at: str
    client_secret: str | None = Field(None, description="Only when created or rotated: shown once, never again.")


class ServiceClientList(Open):
    service_clients: list[ServiceClient]


class ServiceClientRequest(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9 ._-]{1,64}$")
    scopes: list[Literal["entitlements:consume", "entitlements:read"]]


class EntitlementChange(Open):
    action: Literal["created", "updated", "unchanged"]
    entitlement: EntitlementProduct


class NotificationPreferences(Open):
    email_receipts: bool
    email: str | None = Field(description="Where receipts go: the account's verified address (null: none).")


class NotificationPreferencesRequest(BaseModel):
    email_receipts: bool


class WebhookEndpoint(Open):
    endpoint_id: str
    url: str
    event_types: list[str]
    active: bool
    disabled_reason: str | None = None
    failing_since: str | None = None
    created_at: str
    secret: str | None = Field(None, description="Only when created: the Standard Webhooks signing secret (whsec_...).")


class WebhookEndpointList(Open):
    webhook_endpoints: list[WebhookEndpoint]


class WebhookEndpointRequest(BaseModel):
    url: str = Field(max_length=2048, description="https, on a public host (http and private hosts only in dev).")
    event_types: list[str] = Field(description="Notification types (README, \"Notifications\"), or [\"*\"].")


class Delivery(Open):
    delivery_id: str
    notification_id: str
    type: str
    status: Literal["PENDING", "DELIVERED", "FAILED"]
    attempts: int
    last_status: int | None = None
    last_error: str | None = None
    next_attempt_at: str | None = None
    delivered_at: str | None = None
    created_at: str


class DeliveryList(Open):
    endpoint_id: str
    deliveries: list[Delivery]
    cursor: str | None = None


class CloseAccountRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class ClosedAccount(Open):
    account_id: str
    status: Literal["CLOSED"]
    closed_at: str
    closed_reason: str


# --- buying -----------------------------------------------------------------------------------------


class PurchaseRequest(BaseModel):
    currency: str | None = Field(None, description="SOL, USDC, USDT (a Solana quote) or CREDIT (opens at once "
                                                   "from the credit balance). Default: SOL.")
    client_seed: str | None = Field(None, max_length=128)
    payer_wallet: str | None = Field(None, description="A Solana quote: the account's linked wallet that pays "
                                                       "(default: the wallet you signed in with, else your only one).")
    quantity: int | None = Field(None, ge=1, le=10, description="Packs bought together with one payment (default 1; "
                                 "the pack's max_quantity may be lower): every unit reserved or none (409 "
                                 "NOT_ENOUGH_LEFT with `remaining`), each opened as its own opening.")


class Quote(Open):
    opening_id: str = Uuid
    pack_id: str
    status: str
    rail: str
    currency: str
    amount: str = Decimal
    amount_base_units: str
    quote_expires_at: str
    receiver_wallet: str | None = None
    payer_wallet: str | None = Field(None, description="The wallet the payment must come from.")
    reference: str | None = None
    solana_pay_url: str | None = None
    stock_committed: dict[str, int] | None = Field(None, description="Finite stock totals the draw will use (v2).")
    items_hash: str | None = Field(None, description="The item definitions version the quote commits to (v2).")
    commitment: dict[str, Any] | None = Field(None, description="What the quote commits to (fairness v2); keep it.")
    quote_hash: str | None = Field(None, description="sha256 of canonical_json(commitment); in the payment's memo.")
    quote_signature: str | None = Field(None, description="Ed25519 over canonical_json(commitment), base58.")
    quote_key: str | None = None
    quantity: int | None = Field(None, description="A bundle: how many packs this one payment buys.")
    units: list[dict[str, str]] | None = Field(None, description="A bundle's units, the lead (this opening) first: "
                                               "opening_id and server_seed_hash of each (FAIRNESS.md section 12).")


class ConfirmRequest(BaseModel):
    tx_signature: str | None = Field(None, description="The paying transaction's signature (base58).")
    tx_hash: str | None = Field(None, description="Seed 000's name for tx_signature.")
    chain: str | None = Field(None, description="sol or solana.")
    client_seed: str | None = Field(None, max_length=128)


class RecordReceipt(Open):
    type: str = Field(description="packvault-record-receipt")
    opening_id: str = Uuid
    pack_id: str
    opened_at: str
    period: str = Field(description="The UTC hour of the public record the leaf must be sealed in (2026-12-05T10).")
    leaf: str = Field(description="hex sha256 of the leaf (docs/FAIRNESS.md 9)")
    signature: str | None = Field(description="Ed25519 over the canonical JSON of the other fields, base58; null "
                                  "where the deployment has no quote-signing key")
    key: str | None = Field(description="the quote key (GET /api/v1/fairness/quote-key), base58")


class Opened(Open):
    opening_id: str = Uuid
    pack_id: str
    status: str
    rail: str
    items: list[Item]
    fairness: dict[str, Any] | None
    payment: dict[str, Any] | None = None
    bundle: dict[str, Any] | None = Field(None, description="A bundle's lead: {bundle_id, quantity, openings: "
                                          "[{opening_id, unit_index, opened_at, items, fairness, record_receipt}]}, "
                                          "every unit.")
    record_receipt: RecordReceipt | None = Field(None, description="Keep it: the leaf and hour this opening must "
                                                 "appear under in the public record, signed with the quote key "
                                                 "(docs/FAIRNESS.md 13.5; `packvault verify-opening --receipt`).")


class Pending(Open):
    """The payment is not final yet: ask again after Retry-After seconds."""

    status: Literal["pending"]
    code: Literal["PAYMENT_PENDING"]
    message: str
    retry_after_seconds: int


class CheckoutRequest(BaseModel):
    success_url: str
    cancel_url: str
    client_seed: str | None = Field(None, max_length=128)
    quantity: int | None = Field(None, ge=1, le=10, description="Packs bought together with one payment (default 1; "
                                 "the pack's max_quantity may be lower): every unit reserved or none (409 "
                                 "NOT_ENOUGH_LEFT with `remaining`), each opened as its own opening.")


class OpenPaymentsCheckoutRequest(BaseModel):
    wallet_address: str = Field(max_length=512, description="The buyer's Open Payments wallet address: "
                                "https://wallet.example/alice or $wallet.example/alice.")
    return_url: str | None = Field(None, max_length=2048, description="Where the finish route sends the buyer's "
                                   "browser afterwards (with ?opening_id=&status=): an absolute URL on one of "
                                   "CHECKOUT_RETURN_ORIGINS. Without it, OPEN_PAYMENTS_RESULT_URL, else a JSON answer.")
    quantity: int | None = Field(None, ge=1, le=10, description="Packs bought together with one payment (default 1; "
                                 "the pack's max_quantity may be lower): every unit reserved or none (409 "
                                 "NOT_ENOUGH_LEFT with `remaining`), each opened as its own opening.")


class DebitAmount(Open):
    value: str = Decimal
    currency: str


class OpenPaymentsCheckout(Open):
    opening_id: str = Uuid
    redirect_url: str = Field(description="Send the buyer's browser here to approve the payment in their wallet.")
    expires_at: str
    amount: str = Decimal
    currency: Literal["USD"]
    debit_amount: DebitAmount
    wallet_address: str
    server_seed_hash: str


class OpenPaymentsFinish(Open):
    opening_id: str = Uuid
    status: Literal["opened", "pending", "failed", "rejected", "refund_due", "refunded"]


class StockChain(Open):
    pack_id: str
    head: str | None = Field(description="The hash of the last link.")
    links: list[dict[str, Any]] = Field(description="Oldest first: pack_id, seq, prev, stock_totals, supply_total, "
                                        "at, hash (docs/FAIRNESS.md section 9); since v3 also kind (load or "
                                        "opening) and left (units left after it), and an opening link's "
                                        "opening_id and taken (section 13.10).")
    intact: bool


class Pull(Open):
    opening_id: str
    opened_at: str
    item_id: str
    name: str
    rarity: str | None
    tier_id: str
    odds_version: int
    fmv: str = Field(description="The delivered item's fair market value (USD, decimal string).")
    probability: str | None = Field(None, description="Rarest pulls: the item's published probability in its "
                                    "slot (decimal string).")
    proof: str = Field(description="Where its public proof is.")


class EndedWithoutOpening(Open):
    expired: int
    refund_due: int
    expiry_rate: str | None = Field(description="Expired quotes over every quote that ended (opened, expired, "
                                    "refund due), a decimal string; null with none.")
    refund_rate: str | None = Field(description="Paid quotes recorded for a refund over every quote that ended.")


class StatsWindow(Open):
    openings: int
    ended_without_opening: EndedWithoutOpening = Field(description="Quotes that ended without opening, from their "
                                                       "leaves in the public record (docs/FAIRNESS.md 13.11).")
    draws: int
    tiers: list[dict[str, Any]] = Field(description="[{tier_id, count}]")
    most_pulled: list[dict[str, Any]] = Field(description="[{item_id, name, rarity, count}], most first (10).")
    rarest_pulls: list[Pull] = Field(description="The 10 lowest published probabilities actually drawn.")
    biggest_pulls: list[Pull] = Field(description="The 10 highest fair values drawn.")


class PackStats(Open):
    pack_id: str
    name: str
    through: str | None = Field(description="The last sealed hour counted (YYYY-MM-DDTHH, UTC); null: none yet.")
    source: str
    all_time: StatsWindow
    last_24_hours: StatsWindow
    realized_odds: dict[str, Any] | None = Field(description=(
        "The current odds version's draws made at the published odds against the published probabilities: "
        "per slot, each tier's published probability, observed count and share, 95% Wilson interval, expected "
        "count and p-value (this tier against the others), and Pearson's chi-square (statistic, "
        "degrees_of_freedom, p_value, valid: every cell expects at least 5 draws); chi_square combined over the "
        "slots with its sample_size; per tier its items' published and observed shares; drift (combined p-value "
        "below drift_threshold_p_value on a valid sample). docs/FAIRNESS.md section 11 says how to read them."))


class Jwks(Open):
    keys: list[dict[str, Any]]


class Checkout(Open):
    opening_id: str = Uuid
    checkout_url: str
    checkout_session_id: str
    expires_at: str
    amount: str = Decimal
    currency: Literal["USD"]


class OpeningView(Open):
    opening_id: str = Uuid
    pack_id: str
    status: str
    rail: str
    quote: dict[str, Any]
    created_at: str
    items: list[Item]
    record_receipt: RecordReceipt | None = Field(None, description="An opened pack of yours (GET of one opening): "
                                                 "the record receipt its open answered (docs/FAIRNESS.md 13.5).")


class OpeningList(Open):
    openings: list[dict[str, Any]]
    next_cursor: str | None


class Vault(Open):
    items: list[dict[str, Any]]
    next_cursor: str | None


class StripeEventAnswer(Open):
    received: bool
    event_id: str
    outcome: str


# --- credits ----------------------------------------------------------------------------------------


class Credits(Open):
    wallet: str
    balance: int
    unit: Literal["credit"]
    credit_value_usd: str = Decimal
    entries: list[dict[str, Any]]
    next_cursor: str | None


class BuybackOffer(Open):
    vault_item_id: str
    opening_id: str
    item_id: str
    fmv: str = Decimal
    rate: str = Decimal
    credits: int
    status: str


class BuybackSale(Open):
    vault_item_id: str
    status: Literal["sold"]
    credits: int
    balance: int
    already_sold: bool


class BundlePurchaseRequest(BaseModel):
    currency: str | None = None


class SeedPair(Open):
    server_seed_hash: str
    client_seed: str
    next_nonce: int
    pair: int


class RotateRequest(BaseModel):
    client_seed: str | None = Field(None, max_length=128)


# --- operators --------------------------------------------------------------------------------------


class Supply(Open):
    """Summed over the pack's supply shards."""

    total: int
    available: int
    reserved: int
    sold: int
    shards: int = Field(description="Rows the counters are spread over (1: the pack row alone).")


class AdminPack(Open):
    pack_id: str
    name: str
    status: Literal["ACTIVE", "INACTIVE"]
    prices: dict[str, str]
    cards_per_pack: int
    supply: Supply | None
    opened_count: int = Field(description="Openings so far: a limited pack's from its supply counters; an unlimited "
                                          "pack's counted when each hour of the public record is sealed")
    opened_count_through: str | None = Field(None, description="Unlimited packs: the last sealed hour counted "
                                                               "(YYYY-MM-DDTHH, UTC); null when none yet")
    max_per_wallet: int | None
    odds_version: int
    odds_hash: str
    definition_hash: str
    created_at: str
    updated_at: str


class AdminPackList(Open):
    packs: list[AdminPack]


class AdminPackDetail(Open):
    pack: AdminPack
    definition: dict[str, Any] = Field(description="The pack as a catalog file has it (catalog.schema.json).")


class CatalogChange(Open):
    action: Literal["created", "updated", "unchanged"]
    pack: AdminPack


class AdminOpening(Open):
    opening_id: str
    pack_id: str
    wallet: str
    status: str
    rail: str
    product: str
    currency: str
    amount: str = Decimal
    payment_id: str | None
    created_at: str
    updated_at: str
    opened_at: str | None


class AdminOpeningList(Open):
    openings: list[AdminOpening]
    cursor: str | None


class RefundRequest(Open):
    status: str = Field(description="requested (the provider accepted it) or failed (asked again later)")
    attempts: int
    refusals: int = 0
    refund_id: str | None = None
    last_error: str | None = None
    next_attempt_at: str | None = None


class Refund(Open):
    opening_id: str
    wallet: str
    pack_id: str
    rail: str
    payment_id: str | None
    amount: str | None
    currency: str | None
    refund_request: RefundRequest | None = Field(
        None, description="Card refunds: what Stripe said when asked (absent until asked; the sweep retries failures).")


class OrderRefund(Open):
    order_id: str
    order_number: str
    wallet: str
    item_id: str
    payment_id: str
    amount: str | None
    currency: str
    reason: str | None


class RefundList(Open):
    refunds: list[Refund]
    orders: list[OrderRefund] = Field(description="Game-credit orders whose payment must be returned.")


class MarkRefundedRequest(BaseModel):
    refund_reference: str = Field(description="The refund transaction's signature (Solana rail) or the provider's "
                                              "refund id.")


class MarkedRefunded(Open):
    opening_id: str | None = None
    order_id: str | None = None
    status: Literal["REFUNDED", "refunded"]
    refund: dict[str, str]


class Event(Open):
    event_type: str
    at: str
    actor: str | None
    request_id: str | None
    payload: dict[str, Any]


class EventList(Open):
    entity: str | None
    events: list[Event]
    cursor: str | None


class GameCreditItem(Open):
    item_id: str
    name: str
    denomination: int
    prices: list[Price]


class GameCreditGame(Open):
    game_id: str
    name: str
    user_data_schema: dict[str, Any] = Field(description="A JSON Schema of the user data an order needs.")
    items: list[GameCreditItem]


class GameCreditList(Open):
    games: list[GameCreditGame]


class GameCreditPurchaseRequest(BaseModel):
    currency: str | None = Field(None, description="SOL (default), USDC or USDT.")
    game_account_id: str
    server_id: str | None = None
    in_game_name: str | None = None
    additional_info: dict[str, Any] | None = Field(None, description="Game-specific keys, e.g. zone_id.")


class GameCreditCheckoutRequest(CheckoutRequest):
    game_account_id: str
    server_id: str | None = None
    in_game_name: str | None = None
    additional_info: dict[str, Any] | None = None


class GraphqlRequest(BaseModel):
    query: str = Field(max_length=20000)
    variables: dict[str, Any] | None = None
    operationName: str | None = None  # GraphQL over HTTP names it so


class GraphqlResponse(Open):
    """GraphQL over HTTP: `data` and/or `errors` (seed 001's operations; the schema is
    layers/common/packvault/schemas/game_credits.graphql, also served by introspection)."""

    data: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None


# --- the routes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    operation_id: str
    summary: str
    tag: str
    responses: dict[int, type[BaseModel] | tuple[type[BaseModel], ...] | str | None]  # str: a text media type
    request: type[BaseModel] | dict[str, Any] | None = None
    query: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


PAGING = ("limit", "cursor")
IDEMPOTENT = ("Idempotency-Key",)
CATALOG_PACK = {"$ref": "#/components/schemas/CatalogPack"}

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/api/v1/packs"): Operation("listPacks", "Packs on sale, with prices, supply and odds", "catalog",
                                        {200: PackList}),
    ("GET", "/api/v1/packs/{pack_id}"): Operation("getPack", "One pack (also an inactive one)", "catalog",
                                                  {200: PackSummary}),
    ("GET", "/api/v1/packs/{pack_id}/odds/{version}"): Operation(
        "getOddsVersion", "An immutable odds version: the table the draw used", "catalog", {200: OddsVersion}),
    ("GET", "/api/v1/packs/{pack_id}/stock-chain"): Operation(
        "getStockChain", "A pack's stock history chain: every change to a finite count or to what quotes commit to, "
        "hash-linked",
        "catalog", {200: StockChain}),
    ("GET", "/api/v1/packs/{pack_id}/stats"): Operation(
        "getPackStats", "Pull statistics and realized odds against the published odds, from the public record",
        "catalog", {200: PackStats}),
    ("GET", "/api/v1/proofs/{opening_id}"): Operation("getProof", "Any opening's public fairness proof", "catalog",
                                                      {200: PublicProof}),
    ("GET", "/api/v1/credits/bundles"): Operation("listBundles", "Credit bundles on sale", "credits",
                                                  {200: BundleList}),
    ("GET", "/api/v1/fairness/quote-key"): Operation("getQuoteKey", "The public key quotes are signed with",
                                                     "catalog", {200: QuoteKey}),
    ("GET", "/api/v1/fairness/records/{period}"): Operation(
        "getSealedRecord", "An hour of the public record of openings: its sealed Merkle root and leaves", "catalog",
        {200: SealedRecord}),
    ("GET", "/api/v1/openapi.json"): Operation("getOpenApi", "This document", "catalog", {200: None}),
    ("POST", "/api/v1/auth/nonce"): Operation("createNonce", "A sign-in message for a wallet to sign", "auth",
                                              {200: Nonce}, NonceRequest),
    ("POST", "/api/v1/auth/verify"): Operation("verifySignIn", "Exchange the signed message for an access token",
                                               "auth", {200: Session}, VerifyRequest),
    ("POST", "/api/v1/auth/email/start"): Operation(
        "startEmailSignIn", "Email a 6-digit sign-in code (same answer for every address)", "auth",
        {200: EmailStarted}, EmailStartRequest),
    ("POST", "/api/v1/auth/email/verify"): Operation(
        "verifyEmailSignIn", "Exchange the emailed code for an access token (a new address gets an account)", "auth",
        {200: Session}, EmailVerifyRequest),
    ("POST", "/api/v1/auth/passkey/register/options"): Operation(
        "passkeyRegistrationOptions", "Start creating a passkey for a new account", "auth", {200: PasskeyOptions},
        PasskeyOptionsRequest),
    ("POST", "/api/v1/auth/passkey/register/verify"): Operation(
        "passkeyRegister", "Finish creating the passkey: a new account and its access token", "auth",
        {200: Session}, PasskeyCredentialRequest),
    ("POST", "/api/v1/auth/passkey/authenticate/options"): Operation(
        "passkeyAuthenticationOptions", "Start signing in with a passkey", "auth", {200: PasskeyOptions}),
    ("POST", "/api/v1/auth/passkey/authenticate/verify"): Operation(
        "passkeyAuthenticate", "Finish signing in with a passkey: an access token", "auth", {200: Session},
        PasskeyCredentialRequest),
    ("GET", "/api/v1/me/identities"): Operation(
        "listIdentities", "The ways your account signs in", "auth", {200: Identities}),
    ("POST", "/api/v1/me/identities/wallet"): Operation(
        "linkWallet", "Link a Solana wallet (a sign-in message from /auth/nonce, signed)", "auth",
        {200: Identities}, LinkWalletRequest),
    ("POST", "/api/v1/me/identities/email"): Operation(
        "linkEmail", "Link an email address (a code from /auth/email/start)", "auth", {200: Identities},
        EmailVerifyRequest),
    ("POST", "/api/v1/me/identities/passkey/options"): Operation(
        "linkPasskeyOptions", "Start creating a passkey for your account", "auth", {200: PasskeyOptions},
        PasskeyOptionsRequest),
    ("POST", "/api/v1/me/identities/passkey"): Operation(
        "linkPasskey", "Finish creating the passkey and link it", "auth", {200: Identities},
        PasskeyCredentialRequest),
    ("DELETE", "/api/v1/me/identities/{kind}/{identity_id}"): Operation(
        "unlinkIdentity", "Remove a way to sign in (never the last one)", "auth", {200: Identities}),
    ("POST", "/api/v1/packs/{pack_id}/purchase"): Operation(
        "purchasePack", "Reserve a pack and get a payment quote (or open it from credits)", "buying",
        {201: (Quote, Opened)}, PurchaseRequest, headers=IDEMPOTENT),
    ("POST", "/api/v1/packs/{pack_id}/checkout"): Operation(
        "checkoutPack", "Reserve a pack and start a Stripe Checkout Session", "buying", {201: Checkout},
        CheckoutRequest, headers=IDEMPOTENT),
    ("POST", "/api/v1/credits/bundles/{bundle_id}/checkout"): Operation(
        "checkoutBundle", "Start a Stripe Checkout Session for a credit bundle", "credits", {201: Checkout},
        CheckoutRequest, headers=IDEMPOTENT),
    ("POST", "/api/v1/packs/openings/{opening_id}/confirm-payment"): Operation(
        "confirmPayment", "Verify the Solana payment and open the pack (idempotent)", "buying",
        {200: Opened, 202: Pending}, ConfirmRequest),
    ("GET", "/api/v1/packs/openings/{opening_id}"): Operation("getOpening", "One of your openings", "buying",
                                                              {200: OpeningView}),
    ("GET", "/api/v1/me/openings"): Operation("listMyOpenings", "Your openings, newest first", "buying",
                                              {200: OpeningList}, query=PAGING),
    ("GET", "/api/v1/me/vault"): Operation("getVault", "Your vault, newest first", "buying", {200: Vault},
                                           query=PAGING),
    ("POST", "/api/v1/packs/{pack_id}/open-payments/checkout"): Operation(
        "checkoutOpenPayments", "Reserve a pack and ask the buyer's Open Payments wallet for the payment", "buying",
        {201: OpenPaymentsCheckout}, OpenPaymentsCheckoutRequest, headers=IDEMPOTENT),
    ("GET", "/api/v1/open-payments/finish/{key}"): Operation(
        "finishOpenPayments", "Where the buyer's wallet sends the browser back: verified, paid, opened (idempotent)",
        "buying", {200: OpenPaymentsFinish, 303: None}, query=("interact_ref", "hash", "result")),
    ("GET", "/api/v1/open-payments/jwks.json"): Operation(
        "openPaymentsJwks", "The seller's public key set (register it with the seller's wallet provider)", "buying",
        {200: Jwks}),
    ("POST", "/api/v1/webhooks/stripe"): Operation(
        "stripeWebhook", "Stripe's signed events (verified on the raw body; applied once)", "webhooks",
        {200: StripeEventAnswer}, {"type": "object"}, headers=("Stripe-Signature",)),
    ("POST", "/api/v1/credits/bundles/{bundle_id}/purchase"): Operation(
        "purchaseBundle", "A Solana quote for a credit bundle", "credits", {201: Quote}, BundlePurchaseRequest,
        headers=IDEMPOTENT),
    ("GET", "/api/v1/me/credits"): Operation("getCredits", "Your credit balance and ledger", "credits",
                                             {200: Credits}, query=PAGING),
    ("GET", "/api/v1/me/openings/{opening_id}/items/{vault_item_id}/buyback"): Operation(
        "getBuybackOffer", "The instant buyback offer for one of your items", "credits", {200: BuybackOffer}),
    ("POST", "/api/v1/me/openings/{opening_id}/items/{vault_item_id}/buyback"): Operation(
        "sellBack", "Sell an item back for credits (once)", "credits", {200: BuybackSale}),
    ("GET", "/api/v1/me/seeds"): Operation("getSeeds", "Your current seed pair for balance openings", "credits",
                                           {200: SeedPair}),
    ("POST", "/api/v1/me/seeds/rotate"): Operation("rotateSeeds", "Reveal the current seed pair and start another",
                                                   "credits", {200: SeedPair}, RotateRequest),
    ("GET", "/api/v1/game-credits"): Operation("listGameCredits", "Game-credit items on sale, by game",
                                               "game-credits", {200: GameCreditList}),
    ("POST", "/api/v1/game-credits/{item_id}/purchase"): Operation(
        "purchaseGameCreditQuote", "Quote first: a Solana quote for a game-credit item and the account to credit; "
        "confirm-payment makes the order", "game-credits", {201: Quote}, GameCreditPurchaseRequest,
        headers=IDEMPOTENT),
    ("POST", "/api/v1/game-credits/{item_id}/checkout"): Operation(
        "checkoutGameCredit", "A Stripe Checkout Session for a game-credit item; the paid session makes the order",
        "game-credits", {201: Checkout}, GameCreditCheckoutRequest, headers=IDEMPOTENT),
    ("POST", "/graphql"): Operation("graphql", "Seed 001's GraphQL operations: sign-in, game-credit products, "
                                    "purchaseGameCredit, order, myOrders", "game-credits",
                                    {200: GraphqlResponse, 400: GraphqlResponse}, GraphqlRequest),
    ("GET", "/graphql/schema.graphql"): Operation("graphqlSchema", "The GraphQL schema (SDL) of POST /graphql, for "
                                                  "schema tools; standard introspection is answered too",
                                                  "game-credits", {200: "text/plain"}),
    ("GET", "/api/v1/admin/packs"): Operation("adminListPacks", "Every pack, inactive ones too", "operators",
                                              {200: AdminPackList}),
    ("POST", "/api/v1/admin/packs"): Operation("adminCreatePack", "Create a pack from a catalog-file definition",
                                               "operators", {201: CatalogChange}, CATALOG_PACK, headers=IDEMPOTENT),
    ("GET", "/api/v1/admin/packs/{pack_id}"): Operation("adminGetPack", "A pack, its counters and its definition",
                                                        "operators", {200: AdminPackDetail}),
    ("PATCH", "/api/v1/admin/packs/{pack_id}"): Operation(
        "adminPatchPack", "Change a pack: a JSON Merge Patch of its definition (RFC 7396)", "operators",
        {200: CatalogChange}, {"type": "object"}, headers=(*IDEMPOTENT, "If-Match")),
    ("POST", "/api/v1/admin/packs/{pack_id}/activate"): Operation("adminActivatePack", "Put a pack on sale",
                                                                  "operators", {200: CatalogChange},
                                                                  headers=IDEMPOTENT),
    ("POST", "/api/v1/admin/packs/{pack_id}/deactivate"): Operation("adminDeactivatePack", "Take a pack off sale",
                                                                    "operators", {200: CatalogChange},
                                                                    headers=IDEMPOTENT),
    ("GET", "/api/v1/admin/openings"): Operation("adminListOpenings", "Openings by pack and status", "operators",
                                                 {200: AdminOpeningList}, query=("pack_id", "status", *PAGING)),
    ("GET", "/api/v1/admin/refunds"): Operation("adminListRefunds", "Payments awaiting a refund", "operators",
                                                {200: RefundList}),
    ("POST", "/api/v1/admin/refunds/{opening_id}/mark-refunded"): Operation(
        "adminMarkRefunded", "Record a refund made outside Packvault", "operators", {200: MarkedRefunded},
        MarkRefundedRequest, headers=IDEMPOTENT),
    ("GET", "/api/v1/entitlements"): Operation(
        "listEntitlements", "Entitlement packs on sale (units a partner service consumes later)", "entitlements",
        {200: EntitlementList}),
    ("POST", "/api/v1/entitlements/products/{entitlement_id}/purchase"): Operation(
        "purchaseEntitlement", "Reserve an entitlement pack and get a Solana payment quote", "entitlements",
        {201: Quote}, PurchaseRequest, headers=IDEMPOTENT),
    ("POST", "/api/v1/entitlements/products/{entitlement_id}/checkout"): Operation(
        "checkoutEntitlement", "Buy an entitlement pack by card (a Stripe Checkout Session)", "entitlements",
        {201: Checkout}, CheckoutRequest, headers=IDEMPOTENT),
    ("GET", "/api/v1/me/entitlements"): Operation(
        "myEntitlements", "Your holdings, newest first", "entitlements", {200: HoldingList}, query=PAGING),
    ("GET", "/api/v1/entitlements/{holding_id}"): Operation(
        "serviceGetHolding", "A holding's units (partner service, scope entitlements:read)", "partners",
        {200: ServiceHolding}, extra={"security": [{"service": ["entitlements:read"]}]}),
    ("POST", "/api/v1/entitlements/{holding_id}/consume"): Operation(
        "serviceConsume", "Consume units for an order, exactly once per order_ref (scope entitlements:consume)",
        "partners", {200: Consumption}, ConsumeRequest, extra={"security": [{"service": ["entitlements:consume"]}]}),
    ("POST", "/api/v1/entitlements/{holding_id}/restore"): Operation(
        "serviceRestore", "Give back the units of a cancelled order, once (scope entitlements:consume)", "partners",
        {200: Consumption}, RestoreRequest, extra={"security": [{"service": ["entitlements:consume"]}]}),
    ("POST", "/api/v1/oauth/token"): Operation(
        "serviceToken", "OAuth 2.0 client credentials: a partner service's five-minute access token", "partners",
        {200: ServiceTokenAnswer, 400: OAuthError, 401: OAuthError},
        extra={"security": [], "requestBody": {"required": True, "content": {
            "application/x-www-form-urlencoded": {"schema": {
                "type": "object", "required": ["grant_type"], "properties": {
                    "grant_type": {"const": "client_credentials"}, "scope": {"type": "string"},
                    "client_id": {"type": "string"}, "client_secret": {"type": "string"}}}}}}}),
    ("GET", "/api/v1/me/notifications"): Operation(
        "getNotificationPreferences", "Whether receipts are emailed to your verified address", "auth",
        {200: NotificationPreferences}),
    ("PUT", "/api/v1/me/notifications"): Operation(
        "setNotificationPreferences", "Turn emailed receipts on or off", "auth", {200: NotificationPreferences},
        NotificationPreferencesRequest),
    ("GET", "/api/v1/admin/webhook-endpoints"): Operation(
        "adminListWebhookEndpoints", "Partners' webhook endpoints (never a secret)", "operators",
        {200: WebhookEndpointList}),
    ("POST", "/api/v1/admin/webhook-endpoints"): Operation(
        "adminCreateWebhookEndpoint", "Register a webhook endpoint; its signing secret is in this answer only",
        "operators", {201: WebhookEndpoint}, WebhookEndpointRequest, headers=IDEMPOTENT),
    ("POST", "/api/v1/admin/webhook-endpoints/{endpoint_id}/{action}"): Operation(
        "adminChangeWebhookEndpoint", "enable or disable an endpoint", "operators", {200: WebhookEndpoint},
        headers=IDEMPOTENT),
    ("GET", "/api/v1/admin/webhook-endpoints/{endpoint_id}/deliveries"): Operation(
        "adminListDeliveries", "An endpoint's deliveries, newest first, with their attempts", "operators",
        {200: DeliveryList}, query=PAGING),
    ("POST", "/api/v1/admin/webhook-endpoints/{endpoint_id}/deliveries/{notification_id}/replay"): Operation(
        "adminReplayDelivery", "Deliver a notification again (a new attempt sequence, the same id and body)",
        "operators", {200: Delivery}, headers=IDEMPOTENT),
    ("GET", "/api/v1/admin/service-clients"): Operation(
        "adminListServiceClients", "Partner service clients (never a secret)", "operators", {200: ServiceClientList}),
    ("POST", "/api/v1/admin/service-clients"): Operation(
        "adminCreateServiceClient", "Create a partner service client; its secret is in this answer only",
        "operators", {201: ServiceClient}, ServiceClientRequest, headers=IDEMPOTENT),
    ("POST", "/api/v1/admin/service-clients/{client_id}/{action}"): Operation(
        "adminChangeServiceClient", "rotate (a second secret), finish-rotation, or revoke a service client",
        "operators", {200: ServiceClient}, headers=IDEMPOTENT),
    ("PUT", "/api/v1/admin/entitlements/{entitlement_id}"): Operation(
        "adminPutEntitlement", "Create or replace an entitlement product (the catalog file's definition)",
        "operators", {200: EntitlementChange, 201: EntitlementChange},
        {"$ref": "#/components/schemas/CatalogEntitlement"}, headers=IDEMPOTENT),
    ("POST", "/api/v1/admin/accounts/{account_id}/close"): Operation(
        "adminCloseAccount", "Close a buyer account (its tokens stop working; nothing it bought is removed)",
        "operators", {200: ClosedAccount}, CloseAccountRequest, headers=IDEMPOTENT),
    ("GET", "/api/v1/admin/events"): Operation("adminListEvents", "The audit trail of a pack, opening or wallet",
                                               "operators", {200: EventList}, query=("entity", *PAGING)),
}

_QUERY = {
    "limit": {"type": "string", "pattern": "^[0-9]{1,3}$", "description": "1-100"},
    "cursor": {"type": "string", "maxLength": 2000, "description": "From the previous page's answer."},
    "pack_id": {"type": "string", "maxLength": 64},
    "status": {"type": "string", "enum": ["QUOTED", "OPENED", "EXPIRED", "REFUND_DUE", "REFUNDED"]},
    "interact_ref": {"type": "string", "maxLength": 256},
    "hash": {"type": "string", "maxLength": 128, "description": "The interaction hash (GNAP), base64."},
    "result": {"type": "string", "maxLength": 64, "description": "grant_rejected when the buyer declined."},
    "entity": {"type": "string", "maxLength": 120,
               "description": "pack:<pack_id>, opening:<id>, order:<id> or wallet:<wallet>"},
}
_PATH = {
    "opening_id": {"type": "string", "format": "uuid"},
    "vault_item_id": {"type": "string", "format": "uuid"},
    "version": {"type": "string", "pattern": "^[0-9]{1,6}$"},
    "kind": {"type": "string", "enum": ["wallet", "passkey", "email"]},
    "holding_id": {"type": "string", "format": "uuid"},
    "client_id": {"type": "string", "pattern": "^svc_[a-z2-7]{20}$"},
    "action": {"type": "string", "enum": ["rotate", "finish-rotation", "revoke", "enable", "disable"]},
    "endpoint_id": {"type": "string", "pattern": "^we_[0-9a-f]{20}$"},
    "notification_id": {"type": "string", "pattern": "^evt_[0-9a-f]{26}$"},
    "identity_id": {"type": "string", "minLength": 1, "maxLength": 400},
    "account_id": {"type": "string", "pattern": "^(acct_[a-z2-7]{24}|[1-9A-HJ-NP-Za-km-z]{32,44})$"},
}
_HEADERS = {
    "Idempotency-Key": {"type": "string", "pattern": "^[!-~]{1,128}$"},
    "Stripe-Signature": {"type": "string"},
    "If-Match": {"type": "string", "description": "The pack's definition_hash your edit started from: if the pack "
                 "changed since, 409 CATALOG_CONFLICT and nothing changes."},
}


def generate(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The document for every route of the template; ValueError names a route without a description here, or a
    description without a route."""
    from local import template as templates

    tpl = template or templates.load()
    routes = {(route.method, route.path): route for route in templates.routes(tpl)}
    missing = sorted(set(routes) - set(OPERATIONS))
    stale = sorted(set(OPERATIONS) - set(routes))
    if missing or stale:
        raise ValueError(f"routes without an OpenAPI description: {missing}; descriptions without a route: {stale}")
    schemas: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), operation in sorted(OPERATIONS.items(), key=lambda entry: (entry[0][1], entry[0][0])):
        secured = routes[(method, path)].authorizer is not None
        paths.setdefault(path, {})[method.lower()] = _operation(path, operation, secured, schemas)
    for model in (ErrorBody, GatewayMessage):
        _ref(model, schemas)
    schemas.update(_catalog_schemas())
    return {
        "openapi": "3.1.0",
        "info": {"title": "Packvault API", "version": VERSION,
                 "description": "Randomized packs of collectibles and digital goods, paid on Solana, by card "
                                "(Stripe) or from a credit balance. Money is a decimal string with its currency "
                                "beside it; every error is {\"error\": {\"code\", \"message\", \"details\"?, "
                                "\"request_id\"}} with a stable code."},
        "servers": [{"url": "/"}],
        "tags": [{"name": name} for name in ("catalog", "auth", "buying", "credits", "game-credits", "entitlements",
                                             "partners", "webhooks", "operators")],
        "components": {"securitySchemes": {
                           "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                           "service": {"type": "oauth2", "description": "Partner services: OAuth 2.0 client "
                                       "credentials (RFC 6749 §4.4), a five-minute bearer token.",
                                       "flows": {"clientCredentials": {"tokenUrl": "/api/v1/oauth/token", "scopes": {
                                           "entitlements:consume": "consume and restore units of a holding",
                                           "entitlements:read": "read a holding's units"}}}}},
                       "responses": {"ClientError": _error_response("4"), "ServerError": _error_response("5")},
                       "schemas": dict(sorted(schemas.items()))},
        "paths": paths,
    }


def _operation(path: str, operation: Operation, secured: bool, schemas: dict[str, Any]) -> dict[str, Any]:
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": _PATH.get(name, {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"})}
                  for name in _path_names(path)]
    parameters += [{"name": name, "in": "query", "required": False, "schema": _QUERY[name]}
                   for name in operation.query]
    parameters += [{"name": name, "in": "header", "required": name == "Idempotency-Key"
                    and operation.tag == "operators", "schema": _HEADERS[name]} for name in operation.headers]
    document: dict[str, Any] = {"operationId": operation.operation_id, "summary": operation.summary,
                                "tags": [operation.tag], "security": [{"bearer": []}] if secured else []}
    if parameters:
        document["parameters"] = parameters
    if operation.request is not None:
        schema = operation.request if isinstance(operation.request, dict) else _ref(operation.request, schemas)
        document["requestBody"] = {"required": operation.request is not PurchaseRequest,
                                   "content": {"application/json": {"schema": schema}}}
    responses: dict[str, Any] = {}
    for status, model in operation.responses.items():
        if status == 303:
            responses["303"] = {"description": "See Other: the configured result page, ?opening_id=&status=",
                                "headers": {"Location": {"schema": {"type": "string"}}}}
            continue
        if isinstance(model, str):  # a text answer of that media type
            responses[str(status)] = {"description": "OK", "content": {model: {"schema": {"type": "string"}}}}
            continue
        if isinstance(model, tuple):
            schema = {"oneOf": [_ref(each, schemas) for each in model]}
        else:
            schema = _ref(model, schemas) if model else {"type": "object"}
        content = {"application/json": {"schema": schema}}
        responses[str(status)] = {"description": {200: "OK", 201: "Created", 202: "Accepted"}.get(status, "Refused"),
                                  "content": content}
    responses["4XX"] = {"$ref": "#/components/responses/ClientError"}
    responses["5XX"] = {"$ref": "#/components/responses/ServerError"}
    document["responses"] = responses
    document.update(operation.extra)  # what the route says of itself (another security scheme, a form body)
    return document


def _catalog_schemas() -> dict[str, Any]:
    """The catalog file's JSON Schema definitions as components (CatalogPack, CatalogTier, ...): a pack sent to
    the operators' API is checked by exactly the schema a catalog file is."""
    from packvault.catalog.loader import schema

    definitions = schema()["$defs"]
    name = {key: f"Catalog{key[0].upper()}{key[1:]}" for key in definitions}
    text = json.dumps(definitions)
    for key, component in name.items():
        text = text.replace(f'"#/$defs/{key}"', f'"#/components/schemas/{component}"')
    return {name[key]: value for key, value in json.loads(text).items()}


def _error_response(first_digit: str) -> dict[str, Any]:
    codes = sorted(f"{code} ({status})" for code, (status, _) in catalogue().items() if str(status)[0] == first_digit)
    errors = {"oneOf": [{"$ref": "#/components/schemas/ErrorBody"}, {"$ref": "#/components/schemas/GatewayMessage"}]}
    return {"description": "An error in the one error shape (or API Gateway's own). Codes: " + ", ".join(codes),
            "content": {"application/json": {"schema": errors}}}


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _ref(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        schemas[name] = definition
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """python -m packvault_tools.openapi [--check]: write (or check) docs/openapi.json and the served copy."""
    text = render(generate())
    if argv and "--check" in argv:
        stale = [str(path) for path in (DOCUMENT, SERVED) if not path.exists() or path.read_text() != text]
        if stale:
            print(f"openapi: out of date: {', '.join(stale)} (run `make openapi`)", file=sys.stderr)
            return 1
        return 0
    for path in (DOCUMENT, SERVED):
        path.write_text(text)
    print(f"openapi: wrote {DOCUMENT.relative_to(ROOT)} and {SERVED.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
