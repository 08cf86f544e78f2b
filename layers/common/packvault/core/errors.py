"""The error catalogue: every failure a client can see has a stable code, an HTTP status and a message.

Handlers never build error responses themselves: they raise PackvaultError and the HTTP adapter maps it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    BAD_REQUEST = "BAD_REQUEST"
    INVALID_JSON = "INVALID_JSON"
    INVALID_BODY_ENCODING = "INVALID_BODY_ENCODING"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    VALIDATION_FAILED = "VALIDATION_FAILED"
    ROUTE_NOT_FOUND = "ROUTE_NOT_FOUND"
    PACK_NOT_FOUND = "PACK_NOT_FOUND"
    INVALID_PACK_ID = "INVALID_PACK_ID"
    ODDS_VERSION_NOT_FOUND = "ODDS_VERSION_NOT_FOUND"
    INVALID_WALLET = "INVALID_WALLET"
    INVALID_SIGNATURE = "INVALID_SIGNATURE"
    INVALID_MESSAGE = "INVALID_MESSAGE"
    SIGNATURE_MISMATCH = "SIGNATURE_MISMATCH"
    NONCE_UNKNOWN = "NONCE_UNKNOWN"
    NONCE_EXPIRED = "NONCE_EXPIRED"
    NONCE_USED = "NONCE_USED"
    AUTH_REQUIRED = "AUTH_REQUIRED"
    TOKEN_INVALID = "TOKEN_INVALID"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    OPENING_NOT_FOUND = "OPENING_NOT_FOUND"
    INVALID_OPENING_ID = "INVALID_OPENING_ID"
    INVALID_CURSOR = "INVALID_CURSOR"
    INVALID_LIMIT = "INVALID_LIMIT"
    PACK_INACTIVE = "PACK_INACTIVE"
    CURRENCY_NOT_ACCEPTED = "CURRENCY_NOT_ACCEPTED"
    INVALID_CLIENT_SEED = "INVALID_CLIENT_SEED"
    SOLD_OUT = "SOLD_OUT"
    NOT_ENOUGH_LEFT = "NOT_ENOUGH_LEFT"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    TOO_MANY_OPEN_QUOTES = "TOO_MANY_OPEN_QUOTES"
    MINT_LIMIT_REACHED = "MINT_LIMIT_REACHED"
    INVALID_IDEMPOTENCY_KEY = "INVALID_IDEMPOTENCY_KEY"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_KEY_MISMATCH = "IDEMPOTENCY_KEY_MISMATCH"
    BUSY_RETRY = "BUSY_RETRY"
    INVALID_CHAIN = "INVALID_CHAIN"
    INVALID_TX_SIGNATURE = "INVALID_TX_SIGNATURE"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    WRONG_RECIPIENT = "WRONG_RECIPIENT"
    WRONG_MINT = "WRONG_MINT"
    UNDERPAID = "UNDERPAID"
    REFERENCE_MISSING = "REFERENCE_MISSING"
    SENDER_NOT_SIGNER = "SENDER_NOT_SIGNER"
    SENDER_NOT_DEBITED = "SENDER_NOT_DEBITED"
    PAYMENT_AFTER_EXPIRY = "PAYMENT_AFTER_EXPIRY"
    PAYMENT_REFUND_DUE = "PAYMENT_REFUND_DUE"
    SIGNATURE_ALREADY_USED = "SIGNATURE_ALREADY_USED"
    UNSUPPORTED_TRANSACTION_VERSION = "UNSUPPORTED_TRANSACTION_VERSION"
    RPC_UNAVAILABLE = "RPC_UNAVAILABLE"
    PACK_EXHAUSTED = "PACK_EXHAUSTED"
    OPENING_NOT_CONFIRMABLE = "OPENING_NOT_CONFIRMABLE"
    WRONG_RAIL = "WRONG_RAIL"
    VAULT_ITEM_NOT_FOUND = "VAULT_ITEM_NOT_FOUND"
    INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"
    BUNDLE_NOT_FOUND = "BUNDLE_NOT_FOUND"
    BUYBACK_UNAVAILABLE = "BUYBACK_UNAVAILABLE"
    CARD_PAYMENTS_UNAVAILABLE = "CARD_PAYMENTS_UNAVAILABLE"
    PAYMENT_PROVIDER_UNAVAILABLE = "PAYMENT_PROVIDER_UNAVAILABLE"
    WEBHOOK_SIGNATURE_INVALID = "WEBHOOK_SIGNATURE_INVALID"
    OPEN_PAYMENTS_UNAVAILABLE = "OPEN_PAYMENTS_UNAVAILABLE"
    WALLET_ADDRESS_INVALID = "WALLET_ADDRESS_INVALID"
    WALLET_ADDRESS_NOT_FOUND = "WALLET_ADDRESS_NOT_FOUND"
    WALLET_PROVIDER_REFUSED = "WALLET_PROVIDER_REFUSED"
    WALLET_PROVIDER_UNAVAILABLE = "WALLET_PROVIDER_UNAVAILABLE"
    FINISH_HASH_INVALID = "FINISH_HASH_INVALID"
    PAYMENT_FLOW_NOT_FOUND = "PAYMENT_FLOW_NOT_FOUND"
    PAYMENT_FLOW_EXPIRED = "PAYMENT_FLOW_EXPIRED"
    WEBHOOK_PAYLOAD_INVALID = "WEBHOOK_PAYLOAD_INVALID"
    FORBIDDEN = "FORBIDDEN"
    ORIGIN_NOT_ALLOWED = "ORIGIN_NOT_ALLOWED"
    RATE_LIMITED = "RATE_LIMITED"
    IDEMPOTENCY_KEY_REQUIRED = "IDEMPOTENCY_KEY_REQUIRED"
    PACK_EXISTS = "PACK_EXISTS"
    CATALOG_INVALID = "CATALOG_INVALID"
    CATALOG_CONFLICT = "CATALOG_CONFLICT"
    REFUND_NOT_DUE = "REFUND_NOT_DUE"
    INVALID_STATUS = "INVALID_STATUS"
    INVALID_ENTITY = "INVALID_ENTITY"
    TRANSACTION_NOT_FOUND = "TRANSACTION_NOT_FOUND"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    SENDER_MISMATCH = "SENDER_MISMATCH"
    PRODUCT_UNAVAILABLE = "PRODUCT_UNAVAILABLE"
    TOPUP_ITEM_NOT_FOUND = "TOPUP_ITEM_NOT_FOUND"
    USER_DATA_INVALID = "USER_DATA_INVALID"
    PAYMENT_TOO_OLD = "PAYMENT_TOO_OLD"
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    PAYMENT_FOR_A_QUOTE = "PAYMENT_FOR_A_QUOTE"
    RECORD_NOT_SEALED = "RECORD_NOT_SEALED"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_CODE = "INVALID_CODE"
    CODE_INCORRECT = "CODE_INCORRECT"
    CODE_ATTEMPTS_EXHAUSTED = "CODE_ATTEMPTS_EXHAUSTED"
    MAIL_UNAVAILABLE = "MAIL_UNAVAILABLE"
    PASSKEYS_NOT_CONFIGURED = "PASSKEYS_NOT_CONFIGURED"
    INVALID_CREDENTIAL = "INVALID_CREDENTIAL"
    CHALLENGE_UNKNOWN = "CHALLENGE_UNKNOWN"
    PASSKEY_REFUSED = "PASSKEY_REFUSED"
    PASSKEY_UNKNOWN = "PASSKEY_UNKNOWN"
    IDENTITY_TAKEN = "IDENTITY_TAKEN"
    IDENTITY_NOT_FOUND = "IDENTITY_NOT_FOUND"
    LAST_IDENTITY = "LAST_IDENTITY"
    WALLET_REQUIRED = "WALLET_REQUIRED"
    PAYER_WALLET_NOT_LINKED = "PAYER_WALLET_NOT_LINKED"
    PAYER_WALLET_REQUIRED = "PAYER_WALLET_REQUIRED"
    ACCOUNT_NOT_FOUND = "ACCOUNT_NOT_FOUND"
    INVALID_ACCOUNT_ID = "INVALID_ACCOUNT_ID"
    ENTITLEMENT_NOT_FOUND = "ENTITLEMENT_NOT_FOUND"
    HOLDING_NOT_FOUND = "HOLDING_NOT_FOUND"
    INSUFFICIENT_UNITS = "INSUFFICIENT_UNITS"
    HOLDING_REFUNDED = "HOLDING_REFUNDED"
    HOLDING_EXPIRED = "HOLDING_EXPIRED"
    CONSUMPTION_NOT_FOUND = "CONSUMPTION_NOT_FOUND"
    ORDER_REF_REUSED = "ORDER_REF_REUSED"
    SERVICE_TOKEN_REQUIRED = "SERVICE_TOKEN_REQUIRED"
    SCOPE_MISSING = "SCOPE_MISSING"
    BUYER_TOKEN_REQUIRED = "BUYER_TOKEN_REQUIRED"
    SERVICE_CLIENT_NOT_FOUND = "SERVICE_CLIENT_NOT_FOUND"
    WEBHOOK_URL_INVALID = "WEBHOOK_URL_INVALID"
    WEBHOOK_ENDPOINT_NOT_FOUND = "WEBHOOK_ENDPOINT_NOT_FOUND"
    DELIVERY_NOT_FOUND = "DELIVERY_NOT_FOUND"
    INTERNAL_ERROR = "INTERNAL_ERROR"


_CATALOGUE: dict[ErrorCode, tuple[int, str]] = {
    ErrorCode.BAD_REQUEST: (400, "The request is not valid."),
    ErrorCode.INVALID_JSON: (400, "The request body is not valid JSON."),
    ErrorCode.INVALID_BODY_ENCODING: (400, "The request body must be UTF-8 encoded JSON."),
    ErrorCode.PAYLOAD_TOO_LARGE: (413, "The request body is larger than this route accepts."),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: (415, "This route takes a JSON body: send it with Content-Type: "
                                            "application/json."),
    ErrorCode.VALIDATION_FAILED: (400, "A field of the request is not valid."),
    ErrorCode.ROUTE_NOT_FOUND: (404, "No such route."),
    ErrorCode.PACK_NOT_FOUND: (404, "No pack has this id."),
    ErrorCode.INVALID_PACK_ID: (400, "A pack id is 1-64 characters of letters, digits, '-' and '_'."),
    ErrorCode.ODDS_VERSION_NOT_FOUND: (404, "This pack has no odds version with that number."),
    ErrorCode.INVALID_WALLET: (400, "The wallet must be a base58 Solana public key (32 bytes)."),
    ErrorCode.INVALID_SIGNATURE: (400, "The signature must be base58 of 64 bytes (an ed25519 signature)."),
    ErrorCode.INVALID_MESSAGE: (400, "The message is not a Packvault sign-in message."),
    ErrorCode.SIGNATURE_MISMATCH: (401, "The signature was not made by this wallet over this message."),
    ErrorCode.NONCE_UNKNOWN: (401, "This sign-in message was not issued to this wallet, or was changed."),
    ErrorCode.NONCE_EXPIRED: (401, "This sign-in message has expired; ask for a new one."),
    ErrorCode.NONCE_USED: (401, "This sign-in message has already been used; ask for a new one."),
    ErrorCode.AUTH_REQUIRED: (401, "Sign in first: send 'Authorization: Bearer <token>'."),
    ErrorCode.TOKEN_INVALID: (401, "The access token is not valid; sign in again."),
    ErrorCode.TOKEN_EXPIRED: (401, "The access token has expired; sign in again."),
    ErrorCode.OPENING_NOT_FOUND: (404, "No opening has this id."),
    ErrorCode.INVALID_OPENING_ID: (400, "An opening id is a UUID."),
    ErrorCode.INVALID_CURSOR: (400, "The cursor is not one this API returned for this list."),
    ErrorCode.INVALID_LIMIT: (400, "limit must be an integer from 1 to 100."),
    ErrorCode.PACK_INACTIVE: (409, "This pack is not on sale."),
    ErrorCode.CURRENCY_NOT_ACCEPTED: (400, "This pack is not priced in that currency."),
    ErrorCode.INVALID_CLIENT_SEED: (400, "client_seed must be a string of 1-128 printable characters."),
    ErrorCode.SOLD_OUT: (409, "This pack is sold out."),
    ErrorCode.NOT_ENOUGH_LEFT: (409, "Fewer packs are left than you asked for; nothing was reserved."),
    ErrorCode.INVALID_QUANTITY: (400, "quantity must be a whole number of packs from 1 to this pack's maximum."),
    ErrorCode.TOO_MANY_OPEN_QUOTES: (429, "You hold too many unpaid quotes; pay or let one expire first."),
    ErrorCode.MINT_LIMIT_REACHED: (429, "You have reached this pack's limit per wallet."),
    ErrorCode.INVALID_IDEMPOTENCY_KEY: (400, "Idempotency-Key must be 1-128 printable ASCII characters."),
    ErrorCode.IDEMPOTENCY_KEY_REUSED: (422, "This Idempotency-Key was used for a different request."),
    ErrorCode.IDEMPOTENCY_KEY_MISMATCH: (400, "The Idempotency-Key header and the body's idempotency_key differ: "
                                              "send one, or the same in both."),
    ErrorCode.BUSY_RETRY: (503, "Too many simultaneous changes; retry shortly."),
    ErrorCode.INVALID_CHAIN: (400, "chain must be Solana (accepted: sol, solana, in any case)."),
    ErrorCode.INVALID_TX_SIGNATURE: (400, "tx_signature must be a base58 transaction signature (64 bytes)."),
    ErrorCode.PAYMENT_FAILED: (422, "The transaction failed on chain; no payment was made."),
    ErrorCode.WRONG_RECIPIENT: (422, "The transaction does not pay the platform wallet."),
    ErrorCode.WRONG_MINT: (422, "The transaction pays in another token than the quote's."),
    ErrorCode.UNDERPAID: (422, "The transaction pays less than the quote."),
    ErrorCode.REFERENCE_MISSING: (422, "The transaction does not carry this quote's reference."),
    ErrorCode.SENDER_NOT_SIGNER: (422, "The buyer's wallet did not sign this transaction."),
    ErrorCode.SENDER_NOT_DEBITED: (422, "The buyer's wallet did not pay this amount."),
    ErrorCode.PAYMENT_AFTER_EXPIRY: (410, "The payment landed after the quote expired; it is recorded for a refund."),
    ErrorCode.PAYMENT_REFUND_DUE: (409, "This payment could not open the pack; it is recorded for a refund."),
    ErrorCode.SIGNATURE_ALREADY_USED: (409, "This transaction already paid for another opening."),
    ErrorCode.UNSUPPORTED_TRANSACTION_VERSION: (422, "This transaction's version is newer than we read."),
    ErrorCode.RPC_UNAVAILABLE: (503, "The Solana network could not be reached; retry shortly."),
    ErrorCode.PACK_EXHAUSTED: (409, "Nothing is left to draw in this pack; your payment is recorded for a refund."),
    ErrorCode.OPENING_NOT_CONFIRMABLE: (409, "This opening can no longer be confirmed."),
    ErrorCode.BUNDLE_NOT_FOUND: (404, "No credit bundle has this id."),
    ErrorCode.INSUFFICIENT_CREDITS: (402, "Your credit balance does not cover this pack; nothing was charged."),
    ErrorCode.VAULT_ITEM_NOT_FOUND: (404, "No item of that opening is in this wallet's vault."),
    ErrorCode.BUYBACK_UNAVAILABLE: (409, "This item cannot be sold back."),
    ErrorCode.WRONG_RAIL: (409, "This opening is paid through another payment rail."),
    ErrorCode.CARD_PAYMENTS_UNAVAILABLE: (503, "Card payments are not configured on this deployment."),
    ErrorCode.PAYMENT_PROVIDER_UNAVAILABLE: (503, "The card payment provider could not be reached; retry with the "
                                             "same Idempotency-Key."),
    ErrorCode.WEBHOOK_SIGNATURE_INVALID: (400, "The webhook signature is missing or does not verify."),
    ErrorCode.OPEN_PAYMENTS_UNAVAILABLE: (503, "Open Payments is not configured on this deployment."),
    ErrorCode.WALLET_ADDRESS_INVALID: (400, "wallet_address must be an Open Payments wallet address: "
                                       "https://wallet.example/alice or $wallet.example/alice."),
    ErrorCode.WALLET_ADDRESS_NOT_FOUND: (422, "No Open Payments wallet answers at that wallet address."),
    ErrorCode.WALLET_PROVIDER_REFUSED: (422, "The wallet provider refused the payment request; nothing was "
                                       "charged."),
    ErrorCode.WALLET_PROVIDER_UNAVAILABLE: (503, "The wallet provider could not be reached; nothing was charged. "
                                            "Retry with the same Idempotency-Key."),
    ErrorCode.FINISH_HASH_INVALID: (400, "The interaction hash does not verify; nothing was paid."),
    ErrorCode.PAYMENT_FLOW_NOT_FOUND: (404, "No payment is waiting for this link."),
    ErrorCode.PAYMENT_FLOW_EXPIRED: (410, "This payment link has expired; start a new checkout."),
    ErrorCode.WEBHOOK_PAYLOAD_INVALID: (400, "The webhook body is not an event this endpoint understands."),
    ErrorCode.FORBIDDEN: (403, "Your wallet does not have the role this route needs."),
    ErrorCode.ORIGIN_NOT_ALLOWED: (403, "Requests from this Origin are not allowed."),
    ErrorCode.RATE_LIMITED: (429, "Too many requests; retry after the time in Retry-After."),
    ErrorCode.IDEMPOTENCY_KEY_REQUIRED: (400, "This route changes state: send an Idempotency-Key header."),
    ErrorCode.PACK_EXISTS: (409, "A pack with this id already exists; change it with PATCH."),
    ErrorCode.CATALOG_INVALID: (400, "The pack definition breaks the catalog rules; see details.problems."),
    ErrorCode.CATALOG_CONFLICT: (409, "The change would take back units already reserved or sold, or the pack "
                                      "changed meanwhile; nothing was changed."),
    ErrorCode.REFUND_NOT_DUE: (409, "This opening is not awaiting a refund."),
    ErrorCode.INVALID_STATUS: (400, "status must be one of QUOTED, OPENED, EXPIRED, REFUND_DUE, REFUNDED."),
    ErrorCode.INVALID_ENTITY: (400, "entity must be pack:<pack_id>, opening:<opening_id>, order:<order_id>, "
                                    "wallet:<wallet>, account:<account_id>, holding:<holding_id>, "
                                    "entitlement:<entitlement_id> or service:<client_id>."),
    ErrorCode.TRANSACTION_NOT_FOUND: (422, "Transaction not found on blockchain. Please ensure the transaction is "
                                           "confirmed."),
    ErrorCode.AMOUNT_MISMATCH: (422, "The transaction amount does not match the product price."),
    ErrorCode.SENDER_MISMATCH: (422, "The transaction was not sent by the signed-in wallet."),
    ErrorCode.PRODUCT_UNAVAILABLE: (409, "This product is currently unavailable."),
    ErrorCode.TOPUP_ITEM_NOT_FOUND: (404, "No game-credit item has this id."),
    ErrorCode.USER_DATA_INVALID: (400, "The game account details are not valid for this game; see details."),
    ErrorCode.PAYMENT_TOO_OLD: (422, "The transaction is older than a top-up payment may be; send a new payment."),
    ErrorCode.ORDER_NOT_FOUND: (404, "No order has this id."),
    ErrorCode.RECORD_NOT_SEALED: (404, "That hour of the record is not sealed (yet): hours are sealed a few minutes "
                                       "after they end."),
    ErrorCode.PAYMENT_FOR_A_QUOTE: (422, "This transaction pays a pack quote (its memo names the opening), not a "
                                         "top-up; confirm it on that opening."),
    ErrorCode.ACCOUNT_CLOSED: (403, "This account is closed; it cannot sign in or act."),
    ErrorCode.INVALID_EMAIL: (400, "email must be an address like name@example.com (at most 254 characters)."),
    ErrorCode.INVALID_CODE: (400, "code must be the 6 digits from the email."),
    ErrorCode.CODE_INCORRECT: (401, "That code is not the one we sent, or it has expired; check the newest email or "
                                    "ask for a new code."),
    ErrorCode.CODE_ATTEMPTS_EXHAUSTED: (401, "Too many wrong codes for this one; ask for a new code."),
    ErrorCode.MAIL_UNAVAILABLE: (503, "The email could not be sent just now; nothing was changed. Retry in a minute."),
    ErrorCode.PASSKEYS_NOT_CONFIGURED: (503, "Passkeys are not configured on this API (PASSKEY_RP_ID and "
                                             "PASSKEY_ORIGINS)."),
    ErrorCode.INVALID_CREDENTIAL: (400, "credential must be the JSON of a WebAuthn PublicKeyCredential (id, rawId, "
                                        "type, response)."),
    ErrorCode.CHALLENGE_UNKNOWN: (401, "This passkey ceremony was not started here, was already used or has expired; "
                                       "start again."),
    ErrorCode.PASSKEY_REFUSED: (401, "The passkey response did not verify."),
    ErrorCode.PASSKEY_UNKNOWN: (401, "This passkey is not registered with any account."),
    ErrorCode.IDENTITY_TAKEN: (409, "This identity already belongs to another account; sign in with it there "
                                    "(accounts are never merged silently)."),
    ErrorCode.IDENTITY_NOT_FOUND: (404, "This account has no such identity."),
    ErrorCode.LAST_IDENTITY: (409, "This is the account's only way to sign in; link another identity before "
                                   "removing it."),
    ErrorCode.WALLET_REQUIRED: (409, "Solana payments come from a wallet linked to your account: link one with POST "
                                     "/api/v1/me/identities/wallet."),
    ErrorCode.PAYER_WALLET_NOT_LINKED: (403, "payer_wallet must be a Solana wallet linked to your account."),
    ErrorCode.PAYER_WALLET_REQUIRED: (400, "Your account has several wallets: name the paying one as payer_wallet."),
    ErrorCode.ACCOUNT_NOT_FOUND: (404, "No account has this id."),
    ErrorCode.INVALID_ACCOUNT_ID: (400, "An account id is a Solana wallet address or acct_ followed by 24 letters a-z "
                                        "and digits 2-7."),
    ErrorCode.ENTITLEMENT_NOT_FOUND: (404, "No entitlement product has this id."),
    ErrorCode.HOLDING_NOT_FOUND: (404, "No holding has this id."),
    ErrorCode.INSUFFICIENT_UNITS: (409, "The holding has fewer units left than this order asks for; nothing was "
                                        "taken."),
    ErrorCode.HOLDING_REFUNDED: (409, "This holding was refunded: its units can no longer be consumed or restored."),
    ErrorCode.HOLDING_EXPIRED: (409, "This holding has expired: its units can no longer be consumed."),
    ErrorCode.CONSUMPTION_NOT_FOUND: (404, "This service consumed nothing from this holding under that order_ref."),
    ErrorCode.ORDER_REF_REUSED: (409, "This order_ref was used for another consumption."),
    ErrorCode.SERVICE_TOKEN_REQUIRED: (403, "This route is for partner services: use a service token (POST "
                                            "/api/v1/oauth/token)."),
    ErrorCode.SCOPE_MISSING: (403, "The service token does not carry the scope this route needs."),
    ErrorCode.BUYER_TOKEN_REQUIRED: (403, "This route is for buyers: a service token cannot act for a buyer."),
    ErrorCode.SERVICE_CLIENT_NOT_FOUND: (404, "No service client has this id."),
    ErrorCode.WEBHOOK_URL_INVALID: (400, "url must be an https URL on a public host."),
    ErrorCode.WEBHOOK_ENDPOINT_NOT_FOUND: (404, "No webhook endpoint has this id."),
    ErrorCode.DELIVERY_NOT_FOUND: (404, "No delivery has this id."),
    ErrorCode.INTERNAL_ERROR: (500, "Something went wrong on our side; it has been logged."),
}


def http_status(code: ErrorCode) -> int:
    return _CATALOGUE[code][0]


def default_message(code: ErrorCode) -> str:
    return _CATALOGUE[code][1]


def catalogue() -> dict[ErrorCode, tuple[int, str]]:
    """The whole catalogue, for docs and tests."""
    return dict(_CATALOGUE)


class PackvaultError(Exception):
    """A domain failure with a stable code. `details` must be JSON-safe (strings, ints, lists, dicts)."""

    def __init__(self, code: ErrorCode, message: str | None = None, **details: Any) -> None:
        self.code = code
        self.message = message or default_message(code)
        self.details = details
        super().__init__(f"{code}: {self.message}")

    @property
    def status(self) -> int:
        return http_status(self.code)

    def to_body(self, request_id: str | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {"code": str(self.code), "message": self.message}
        if self.details:
            error["details"] = self.details
        if request_id:
            error["request_id"] = request_id
        return {"error": error}
