"""Open Payments (Interledger): the only code that talks to Open Payments wallets, as the seller's client.

Requesting a payment: an incoming payment for the price at the seller's wallet, a quote at the buyer's wallet
paying it, and an interactive outgoing-payment grant the buyer approves in their wallet. Proving settlement:
the seller's own incoming payment, read back, has received the price (never the buyer's word or the browser's).

Every request is signed as Open Payments requires: RFC 9421 HTTP Message Signatures with the seller's Ed25519
key (label `sig1`, `keyid` = the key's JWK `kid`, `created`, covering `@method`, `@target-uri`, `authorization`
when present and `content-digest`/`content-length`/`content-type` when there is a body), through the
`http-message-signatures` library; GNAP access tokens go in `Authorization: GNAP <token>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from packvault.core.outbound import NonPublicAddress, guarded_session, public_host, refused_by_guard
from packvault.core.settlement import OPEN_PAYMENTS, Settlement

SIGNATURE_LABEL = "sig1"
TIMEOUT = (3.05, 10.0)
_WALLET_FIELDS = ("id", "assetCode", "assetScale", "authServer", "resourceServer")


NON_PUBLIC_ADDRESS = "non_public_address"  # our own refusal to connect (packvault.outbound), not a server's


class WalletAddressInvalid(ValueError):
    """What the buyer typed is not a wallet address we may fetch."""


class OpenPaymentsError(RuntimeError):
    """An Open Payments server refused a request (`status`, its GNAP/Open Payments error `code`), or could not be
    reached (`status` 0). `retryable`: worth trying again later (unreachable, 429, 5xx)."""

    def __init__(self, step: str, status: int, code: str | None, description: str) -> None:
        super().__init__(f"{step}: {status or 'unreachable'} {code or ''} {description}".strip())
        self.step, self.status, self.code, self.description = step, status, code, description

    @property
    def retryable(self) -> bool:
        if self.code == NON_PUBLIC_ADDRESS:
            return False
        return self.status == 0 or self.status == 429 or self.status >= 500


# --- wallet addresses ----------------------------------------------------------------------------------------


def normalise_wallet_address(text: str, allow_http: bool = False) -> str:
    """A wallet address URL from what a person types: `$wallet.example/alice` -> `https://wallet.example/alice`,
    `$wallet.example` -> `https://wallet.example/.well-known/pay`, a URL kept (host lower-cased, no trailing
    slash). Only https, no credentials, query or fragment, and a host whose text names no internal address in any
    form (packvault.outbound.public_host); plain http and local hosts only with `allow_http` (the local stack), so a
    buyer cannot make the backend fetch an internal address. Where it resolves to is checked again at connect
    time (the client's guarded session)."""
    value = text.strip() if isinstance(text, str) else ""
    if not value or len(value) > 512:
        raise WalletAddressInvalid("a wallet address is required (e.g. $wallet.example/alice)")
    if value.startswith("$"):
        value = "https://" + value[1:]
    try:
        parts = urlsplit(value)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise WalletAddressInvalid("not a URL or $payment-pointer") from None
    schemes = {"https", "http"} if allow_http else {"https"}
    if parts.scheme not in schemes or not host or parts.username or parts.password or parts.query or parts.fragment:
        raise WalletAddressInvalid("must be an https URL (or $host/path) without credentials, query or fragment")
    if not allow_http:
        try:
            host = public_host(host)
        except NonPublicAddress:
            raise WalletAddressInvalid("must name a public host") from None
    path = parts.path.rstrip("/") or "/.well-known/pay"
    netloc = (f"[{host}]" if ":" in host else host.lower()) + (f":{port}" if port else "")
    return f"{parts.scheme}://{netloc}{path}"


@dataclass(frozen=True)
class WalletAddress:
    id: str
    asset_code: str
    asset_scale: int
    auth_server: str
    resource_server: str
    public_name: str | None = None

    @classmethod
    def from_document(cls, document: Any) -> WalletAddress:
        if not isinstance(document, dict) or any(field not in document for field in _WALLET_FIELDS):
            raise OpenPaymentsError("wallet address", 200, "invalid_wallet_address",
                                    "the document lacks id, assetCode, assetScale, authServer or resourceServer")
        scale = document["assetScale"]
        if not isinstance(scale, int) or isinstance(scale, bool) or not 0 <= scale <= 255:
            raise OpenPaymentsError("wallet address", 200, "invalid_wallet_address", "assetScale is not 0-255")
        return cls(str(document["id"]), str(document["assetCode"]), scale, str(document["authServer"]),
                   str(document["resourceServer"]), document.get("publicName"))


# --- amounts -------------------------------------------------------------------------------------------------


def amount(value: int, wallet: WalletAddress) -> dict[str, Any]:
    """An Open Payments amount: an unsigned 64-bit integer as a string, with the wallet's asset."""
    return {"value": str(value), "assetCode": wallet.asset_code, "assetScale": wallet.asset_scale}


def amount_value(document: Any, asset_code: str, asset_scale: int) -> int:
    """The integer value of an Open Payments amount in the expected asset; ValueError if it is another asset or
    not an unsigned integer string."""
    if not isinstance(document, dict) or document.get("assetCode") != asset_code \
            or document.get("assetScale") != asset_scale:
        raise ValueError(f"expected an amount in {asset_code} at scale {asset_scale}, got {document!r}")
    value = document.get("value")
    if not isinstance(value, str) or not value.isdigit() or len(value) > 20:
        raise ValueError(f"amount value {value!r} is not an unsigned integer string")
    return int(value)


def scaled_price(cents: int, asset_scale: int) -> int:
    """A USD price in cents at the seller wallet's scale (2 or more: a cent must be representable)."""
    if asset_scale < 2:
        raise ValueError(f"asset scale {asset_scale} cannot represent cents")
    return cents * 10 ** (asset_scale - 2)


# --- the interaction finish hash -----------------------------------------------------------------------------


def finish_hash(client_nonce: str, server_nonce: str, interact_ref: str, grant_endpoint: str) -> bytes:
    """SHA-256 over `client_nonce \\n server_nonce \\n interact_ref \\n grant endpoint URL` (GNAP §4.2.3, as
    Open Payments uses it)."""
    base = "\n".join((client_nonce, server_nonce, interact_ref, grant_endpoint))
    return hashlib.sha256(base.encode()).digest()


def finish_hash_matches(received: str, client_nonce: str, server_nonce: str, interact_ref: str,
                        grant_endpoint: str) -> bool:
    """The `hash` a wallet returned, compared in constant time. Accepts padded or unpadded, standard or URL-safe
    base64, and the grant endpoint with or without its trailing slash: the specification says unpadded, Rafiki
    sends padded base64 over the URL with a slash."""
    if not isinstance(received, str) or not 40 <= len(received) <= 64:
        return False
    try:
        padded = received + "=" * (-len(received) % 4)
        given = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (ValueError, TypeError):
        return False
    endpoint = grant_endpoint.rstrip("/")
    matched = False
    for candidate in (endpoint, endpoint + "/"):
        matched |= hmac.compare_digest(given, finish_hash(client_nonce, server_nonce, interact_ref, candidate))
    return matched


# --- signing -------------------------------------------------------------------------------------------------


class SellerKey:
    """The seller's Ed25519 key: signs requests; its public half is served as a JWK Set (`jwks`)."""

    def __init__(self, key_id: str, private_key_b64: str) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        seed = _b64decode(private_key_b64)
        if len(seed) != 32:
            raise ValueError("the Open Payments private key must be a 32-byte Ed25519 seed, base64")
        self.key_id = key_id
        self.private_key = Ed25519PrivateKey.from_private_bytes(seed)
        self._signer: Any = None

    @property
    def jwk(self) -> dict[str, str]:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {"kid": self.key_id, "alg": "EdDSA", "kty": "OKP", "crv": "Ed25519",
                "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode(), "use": "sig"}

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk]}

    def sign(self, request: requests.PreparedRequest, created: datetime | None = None) -> None:
        """Add Signature, Signature-Input (and Content-Digest for a body) to a prepared request, in place."""
        body = request.body.encode() if isinstance(request.body, str) else request.body
        covered = ["@method", "@target-uri"]
        if "Authorization" in request.headers:
            covered.append("authorization")
        if body:
            covered += ["content-digest", "content-length", "content-type"]
        self._http_signer().sign(request, key_id=self.key_id, label=SIGNATURE_LABEL, include_alg=False,
                                 covered_component_ids=covered, body=body or None,
                                 created=created or datetime.now(UTC))

    def _http_signer(self) -> Any:
        if self._signer is None:
            from http_message_signatures import HTTPMessageSigner, algorithms
            from http_message_signatures.resolvers import MappingKeyResolver

            self._signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=MappingKeyResolver(
                public_keys={}, private_keys={self.key_id: self.private_key}))
        return self._signer


def _b64decode(text: str) -> bytes:
    cleaned = text.strip()
    return base64.b64decode(cleaned.replace("-", "+").replace("_", "/") + "=" * (-len(cleaned) % 4))


# --- the client ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """A grant answer: an access token (`token`, `manage`) and/or an interaction (`redirect`, `finish` = the
    authorization server's nonce) with the continuation (`continue_uri`, `continue_token`, `wait`)."""

    token: str | None
    manage: str | None
    redirect: str | None
    finish: str | None
    continue_uri: str | None
    continue_token: str | None
    wait: int

    @classmethod
    def from_answer(cls, answer: dict[str, Any]) -> Grant:
        """Missing or malformed parts are None (the caller refuses what it needs and did not get)."""
        access, interact, cont = (_object(answer.get(name)) for name in ("access_token", "interact", "continue"))
        wait = cont.get("wait")
        return cls(_text(access.get("value")), _text(access.get("manage")), _text(interact.get("redirect")),
                   _text(interact.get("finish")), _text(cont.get("uri")),
                   _text(_object(cont.get("access_token")).get("value")), wait if isinstance(wait, int) else 0)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class OpenPaymentsClient:
    """One per container. `client` is the seller's wallet address: the identity grant requests carry, whose
    `/jwks.json` the authorization servers read the seller's public key from."""

    def __init__(self, client: str, key: SellerKey, allow_http: bool = False,
                 session: requests.Session | None = None) -> None:
        self.client = client
        self.key = key
        self.allow_http = allow_http
        # Every host here comes from a buyer's wallet address or its documents: checked at connect time, except on
        # the local stack (allow_http), whose wallet provider is on this machine.
        self.session = session or (requests.Session() if allow_http else guarded_session())

    # wallet addresses (public, unsigned)
    def wallet_address(self, url: str) -> WalletAddress:
        answer = self._send("wallet address", "GET", url, None, None, sign=False)
        wallet = WalletAddress.from_document(answer)
        for server in (wallet.auth_server, wallet.resource_server):
            try:
                normalise_wallet_address(server, self.allow_http)
            except WalletAddressInvalid:
                raise OpenPaymentsError("wallet address", 200, "invalid_wallet_address",
                                        f"server {server!r} is not an allowed URL") from None
        return wallet

    # grants (GNAP)
    def request_grant(self, wallet: WalletAddress, access: list[dict[str, Any]],
                      interact: dict[str, Any] | None = None) -> Grant:
        body: dict[str, Any] = {"access_token": {"access": access}, "client": self.client}
        if interact is not None:
            body["interact"] = interact
        return Grant.from_answer(self._send("grant request", "POST", wallet.auth_server, None, body))

    def continue_grant(self, continue_uri: str, continue_token: str, interact_ref: str) -> Grant:
        return Grant.from_answer(self._send("grant continuation", "POST", continue_uri, continue_token,
                                            {"interact_ref": interact_ref}))

    # resources
    def create_incoming_payment(self, wallet: WalletAddress, token: str, incoming_amount: dict[str, Any],
                                expires_at: str, metadata: dict[str, Any]) -> dict[str, Any]:
        body = {"walletAddress": wallet.id, "incomingAmount": incoming_amount, "expiresAt": expires_at,
                "metadata": metadata}
        return self._send("incoming payment", "POST", _join(wallet.resource_server, "incoming-payments"), token, body)

    def get_incoming_payment(self, url: str, token: str) -> dict[str, Any]:
        return self._send("incoming payment read", "GET", url, token, None)

    def complete_incoming_payment(self, url: str, token: str) -> dict[str, Any]:
        return self._send("incoming payment completion", "POST", url.rstrip("/") + "/complete", token, None)

    def create_quote(self, wallet: WalletAddress, token: str, receiver: str) -> dict[str, Any]:
        body = {"walletAddress": wallet.id, "receiver": receiver, "method": "ilp"}
        return self._send("quote", "POST", _join(wallet.resource_server, "quotes"), token, body)

    def create_outgoing_payment(self, wallet: WalletAddress, token: str, quote_id: str,
                                metadata: dict[str, Any]) -> dict[str, Any]:
        body = {"walletAddress": wallet.id, "quoteId": quote_id, "metadata": metadata}
        return self._send("outgoing payment", "POST", _join(wallet.resource_server, "outgoing-payments"), token,
                          body)

    def _send(self, step: str, method: str, url: str, token: str | None, body: dict[str, Any] | None,
              sign: bool = True) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"GNAP {token}"
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        prepared = requests.Request(method, url, headers=headers, data=data).prepare()
        if sign:
            self.key.sign(prepared)
        try:
            response = self.session.send(prepared, timeout=TIMEOUT, allow_redirects=False)
        except requests.RequestException as exc:
            refused = refused_by_guard(exc)
            if refused is not None:
                raise OpenPaymentsError(step, 0, NON_PUBLIC_ADDRESS, str(refused)) from None
            raise OpenPaymentsError(step, 0, None, exc.__class__.__name__) from None
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            answer = None
        if response.status_code >= 300 or not isinstance(answer, dict):
            error = (answer or {}).get("error") if isinstance(answer, dict) else None
            error = error if isinstance(error, dict) else {}
            raise OpenPaymentsError(step, response.status_code, error.get("code"),
                                    str(error.get("description") or response.reason or "not JSON")[:300])
        return answer


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path


def settlement(incoming_payment: str, received: int, details: dict[str, Any], interact_ref: str | None = None
               ) -> Settlement:
    """The proof an Open Payments opening opens on: the seller's incoming payment (the URL it was created at is the
    payment id: one incoming payment pays for one opening) and what it received. The draw's entropy is the
    interaction reference the buyer's authorization server created when the buyer approved (FAIRNESS.md 13.1),
    never the incoming payment, which we create; money that arrived without an approved interaction has none."""
    payment_id = incoming_payment
    entropy = {"entropy": interact_ref} if interact_ref else {}
    return Settlement(OPEN_PAYMENTS, payment_id, {**details, "received": str(received), **entropy},
                      {"incoming_payment": payment_id})
