"""A local Open Payments wallet provider: wallet address server, authorization server (GNAP) and resource server
for a seller and buyers, on one loopback port. It checks everything a real provider would, so that our client is
held to the published contract, not to our reading of it:

- every request and every answer is validated against Interledger's own OpenAPI specifications (the npm package
  @interledger/open-payments ships them under dist/openapi/specs/; fetched once into the cache, like DynamoDB
  Local): a request that does not conform gets 400 invalid_request, an answer of ours that does not is a bug
  (500, logged);
- every signed request is verified (RFC 9421, the `http-message-signatures` library) against the client's keys,
  read from `<client wallet address>/jwks.json`, with the body's Content-Digest;
- grants: non-interactive ones for incoming payments and quotes, interactive outgoing-payment grants through a
  consent page a person can click (or a test can POST), finishing with the redirect and the hash GNAP defines
  (padded base64 over the grant endpoint with its trailing slash, as Rafiki sends it); a continuation works once;
- balances: an outgoing payment debits the buyer and pays the incoming payment at once (one ledger, so the
  payment is synchronous and in one asset; real Interledger payments stream and may cross assets).

Routes: GET /<name> (wallet address), GET /<name>/jwks.json; POST /auth/, POST /auth/continue/<id>,
GET /auth/interact/<id>/<nonce> (consent), POST the same (decision=approve|reject); POST /op/incoming-payments,
GET /op/incoming-payments/<id>, POST .../<id>/complete, POST /op/quotes, POST /op/outgoing-payments; and for
people and tests GET/POST /_double/accounts (balances; create or fund an account), POST /_double/pay (money
into an incoming payment from elsewhere), GET /_double/log.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from local import npm_cache

log = logging.getLogger("local.open_payments")

SPEC_PACKAGE = "@interledger/open-payments@7.4.0"
SPEC_FILES = {"wallet": "wallet-address-server.yaml", "auth": "auth-server.yaml", "resource": "resource-server.yaml"}


def specs_dir() -> Path:
    folder = npm_cache.unpacked(SPEC_PACKAGE, "open-payments-7.4.0", "package/dist/openapi/specs/*.yaml")
    return folder / "package" / "dist" / "openapi" / "specs"


class Contract:
    """The three published specifications, and validation of a body against an operation's schema."""

    def __init__(self, folder: Path) -> None:
        self.specs = {kind: _as_intended(yaml.safe_load((folder / name).read_text()))
                      for kind, name in SPEC_FILES.items()}
        registry = Registry()
        for kind, spec in self.specs.items():
            registry = registry.with_resource(f"urn:open-payments:{kind}",
                                              Resource(contents=spec, specification=DRAFT202012))
        self.registry = registry

    def operation(self, kind: str, path: str, method: str) -> dict[str, Any]:
        return self.specs[kind]["paths"][path][method.lower()]

    def errors(self, kind: str, path: str, method: str, instance: Any, status: int | None = None) -> list[str]:
        """Why `instance` does not conform: the request body (status None) or the answer with that status."""
        pointer = "/".join(("paths", path.replace("~", "~0").replace("/", "~1"), method.lower()))
        if status is None:
            pointer += "/requestBody/content/application~1json/schema"
        else:
            responses = self.operation(kind, path, method)["responses"]
            answer = responses[str(status)]
            if "$ref" in answer:
                pointer = answer["$ref"].lstrip("#/") + "/content/application~1json/schema"
            else:
                pointer += f"/responses/{status}/content/application~1json/schema"
        schema = {"$ref": f"urn:open-payments:{kind}#/{pointer}"}
        validator = Draft202012Validator(schema, registry=self.registry, format_checker=FormatChecker())
        return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"[:300]
                for e in validator.iter_errors(instance)]

    def required_headers(self, kind: str, path: str, method: str) -> list[str]:
        operation = self.operation(kind, path, method)
        params = operation.get("parameters", []) + self.specs[kind]["paths"][path].get("parameters", [])
        names = []
        for param in params:
            if "$ref" in param:
                param = self.specs[kind]["components"]["parameters"][param["$ref"].rsplit("/", 1)[1]]
            if param.get("in") == "header" and param.get("required"):
                names.append(param["name"].lower())
        return names


def _as_intended(node: Any) -> Any:
    """One reading of the specs' own: a few schemas put `additionalProperties: false` beside a `$ref` and no
    `properties` (e.g. the answer of complete-incoming-payment), which JSON Schema 2020-12 reads as "no property
    at all" while the examples beside them have many. OpenAPI 3.0 ignored a `$ref`'s siblings; so do we, for this
    keyword only."""
    if isinstance(node, dict):
        if "$ref" in node and node.get("additionalProperties") is False and "properties" not in node:
            node = {key: value for key, value in node.items() if key != "additionalProperties"}
        return {key: _as_intended(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_as_intended(value) for value in node]
    return node


class Refused(Exception):
    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status, self.code, self.description = status, code, description


class ProviderState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.accounts: dict[str, dict[str, Any]] = {}
        self.jwks_urls: dict[str, str] = {}  # a client's wallet address -> where its keys are registered
        self.jwks: dict[str, dict[str, Any]] = {}  # ... or the keys themselves
        self.grants: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}  # access token -> grant id
        self.incoming: dict[str, dict[str, Any]] = {}
        self.quotes: dict[str, dict[str, Any]] = {}
        self.outgoing: dict[str, dict[str, Any]] = {}
        self.log: list[dict[str, Any]] = []
        self.key_resolution_failures = 0  # the next N signature checks fail as if the client's JWKS could not be read


class WalletProvider(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port: int = 0, contract: Contract | None = None) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.contract = contract or Contract(specs_dir())
        self.state = ProviderState()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> WalletProvider:
        threading.Thread(target=self.serve_forever, daemon=True, name="open-payments-double").start()
        return self

    def add_account(self, name: str, balance: int = 0, asset_code: str = "USD", asset_scale: int = 2,
                    jwks_url: str | None = None, jwks: dict[str, Any] | None = None) -> str:
        """An account and its wallet address (`<url>/<name>`); `jwks_url` (the seller's: Packvault's JWKS route)
        or `jwks`: the client keys registered for this wallet address."""
        address = f"{self.url}/{name}"
        with self.state.lock:
            self.state.accounts.setdefault(name, {"asset_code": asset_code, "asset_scale": asset_scale,
                                                  "balance": 0, "public_name": name.title()})
            self.state.accounts[name]["balance"] += balance
            if jwks_url:
                self.state.jwks_urls[address] = jwks_url
            if jwks:
                self.state.jwks[address] = jwks
        return address

    def balance(self, name: str) -> int:
        with self.state.lock:
            return self.state.accounts[name]["balance"]

    def approve(self, redirect_url: str, decision: str = "approve") -> str:
        """What a person does on the consent page: the finish URL the wallet sends the browser to."""
        answer = requests.post(redirect_url, data={"decision": decision}, allow_redirects=False, timeout=10)
        if answer.status_code != 302:
            raise RuntimeError(f"consent answered {answer.status_code}: {answer.text[:200]}")
        return answer.headers["Location"]

    def fail_key_resolution(self, times: int) -> None:
        """The next `times` signed requests are refused 401 invalid_client (the keys could not be fetched)."""
        with self.state.lock:
            self.state.key_resolution_failures = times

    def outgoing_payments(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return list(self.state.outgoing.values())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Message:
    """The request as http-message-signatures reads it."""

    def __init__(self, method: str, url: str, headers: dict[str, str]) -> None:
        self.method, self.url, self.headers = method, url, headers


class _Handler(BaseHTTPRequestHandler):
    server: WalletProvider
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: Any) -> None:
        pass

    # --- plumbing --------------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        try:
            self._route(method, path)
        except Refused as refused:
            self._json(refused.status, {"error": {"code": refused.code, "description": refused.description}})
        except Exception:  # a bug of the double: say so loudly
            log.exception("open payments double failed on %s %s", method, path)
            self._json(500, {"error": {"code": "internal_error", "description": "the double failed; see its log"}})

    def _route(self, method: str, path: str) -> None:
        parts = [part for part in path.split("/") if part]
        if parts[:1] == ["_double"]:
            return self._double(method, parts[1:])
        if parts[:1] == ["auth"]:
            return self._auth(method, parts[1:])
        if parts[:1] == ["op"]:
            return self._resource(method, parts[1:])
        if method == "GET" and len(parts) == 1:
            return self._wallet_address(parts[0])
        if method == "GET" and len(parts) == 2 and parts[1] == "jwks.json":
            return self._jwks(parts[0])
        raise Refused(404, "not_found", f"no route {method} {path}")

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _answer(self, kind: str, spec_path: str, method: str, status: int, body: Any) -> None:
        """Send an answer after checking it against the specification (a non-conforming answer is our bug)."""
        problems = self.server.contract.errors(kind, spec_path, method, body, status)
        if problems:
            log.error("open payments double: answer to %s %s breaks the spec: %s", method, spec_path, problems)
            raise Refused(500, "internal_error", f"the double's answer breaks the spec: {problems[:3]}")
        self._json(status, body)

    def _request_json(self, kind: str, spec_path: str, method: str) -> dict[str, Any]:
        """The body, parsed and validated against the operation's request schema; required headers present."""
        missing = [name for name in self.server.contract.required_headers(kind, spec_path, method)
                   if not self.headers.get(name)]
        if missing:
            raise Refused(401 if kind == "resource" else 400, "invalid_request", f"missing headers: {missing}")
        try:
            body = json.loads(self.body or b"null")
        except ValueError:
            raise Refused(400, "invalid_request", "the body is not JSON") from None
        problems = self.server.contract.errors(kind, spec_path, method, body)
        if problems:
            self._note("refused", spec_path, problems)
            raise Refused(400, "invalid_request", "; ".join(problems[:3]))
        return body

    def _note(self, what: str, where: str, detail: Any) -> None:
        with self.server.state.lock:
            self.server.state.log.append({"at": _now(), "what": what, "where": where, "detail": detail})

    def _verify_signature(self, client: str) -> None:
        """RFC 9421 over @method, @target-uri, authorization (when sent) and the body's Content-Digest, with the
        key the client publishes at <client>/jwks.json under the signature's keyid."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        from http_message_signatures import HTTPMessageVerifier, InvalidSignature, algorithms
        from http_message_signatures.exceptions import HTTPMessageSignaturesException
        from http_message_signatures.resolvers import MappingKeyResolver

        with self.server.state.lock:
            unresolvable = self.server.state.key_resolution_failures > 0
            self.server.state.key_resolution_failures -= unresolvable
        if unresolvable:  # as an authorization server does when fetching the client's keys times out
            self._note("keys unresolvable", self.path, client)
            raise Refused(401, "invalid_client", "could not resolve the client's keys")
        keys = {}
        for jwk in self._client_keys(client):
            if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and jwk.get("kid"):
                raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
                keys[jwk["kid"]] = Ed25519PublicKey.from_public_bytes(raw)
        headers = {name.lower(): value for name, value in self.headers.items()}
        message = _Message(self.command, self.server.url + self.path, headers)
        required = ["@method", "@target-uri"] + (["authorization"] if "authorization" in headers else [])
        verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519,
                                       key_resolver=MappingKeyResolver(public_keys=keys, private_keys={}))
        try:
            verifier.verify(message, require_components=required, body=self.body or None,
                            max_age=timedelta(minutes=5))
        except (InvalidSignature, HTTPMessageSignaturesException, KeyError) as exc:
            self._note("bad signature", self.path, str(exc))
            raise Refused(401, "invalid_client", f"signature does not verify: {exc}") from None

    def _client_keys(self, client: str) -> list[dict[str, Any]]:
        with self.server.state.lock:
            registered = self.server.state.jwks_urls.get(client)
            static = self.server.state.jwks.get(client)
        if static is not None:
            return static.get("keys", [])
        url = registered or client.rstrip("/") + "/jwks.json"
        try:
            answer = requests.get(url, timeout=5)
            return answer.json().get("keys", []) if answer.ok else []
        except (requests.RequestException, ValueError):
            return []

    # --- wallet addresses ------------------------------------------------------------------------------------

    def _wallet_address(self, name: str) -> None:
        with self.server.state.lock:
            account = self.server.state.accounts.get(name)
        if account is None:
            raise Refused(404, "not_found", "no such wallet address")
        self._answer("wallet", "/", "GET", 200, {
            "id": f"{self.server.url}/{name}", "publicName": account["public_name"],
            "assetCode": account["asset_code"], "assetScale": account["asset_scale"],
            "authServer": f"{self.server.url}/auth", "resourceServer": f"{self.server.url}/op"})

    def _jwks(self, name: str) -> None:
        address = f"{self.server.url}/{name}"
        with self.server.state.lock:
            registered = address in self.server.state.jwks_urls or address in self.server.state.jwks
        keys = self._client_keys(address) if registered else []
        self._answer("wallet", "/jwks.json", "GET", 200, {"keys": keys})

    # --- the authorization server ----------------------------------------------------------------------------

    def _auth(self, method: str, parts: list[str]) -> None:
        if method == "POST" and not parts:
            return self._grant_request()
        if method == "POST" and len(parts) == 2 and parts[0] == "continue":
            return self._continue(parts[1])
        if len(parts) == 3 and parts[0] == "interact":
            return self._consent(method, parts[1], parts[2])
        raise Refused(404, "invalid_request", "no such authorization server route")

    def _grant_request(self) -> None:
        body = self._request_json("auth", "/", "POST")
        client = body["client"] if isinstance(body["client"], str) else body["client"].get("walletAddress")
        if not client:
            raise Refused(400, "invalid_client", "a client wallet address is required")
        self._verify_signature(client)
        access = body["access_token"]["access"]
        interactive = any(item["type"] == "outgoing-payment" for item in access)
        grant_id = uuid.uuid4().hex
        grant = {"id": grant_id, "client": client, "access": access, "status": "pending" if interactive else "approved",
                 "continue_token": uuid.uuid4().hex, "interact": body.get("interact")}
        if interactive:
            finish = (body.get("interact") or {}).get("finish")
            if "redirect" not in (body.get("interact") or {}).get("start", []) or not finish:
                raise Refused(400, "invalid_request", "an outgoing-payment grant needs interact.start redirect and "
                                                      "interact.finish")
            grant |= {"as_nonce": uuid.uuid4().hex, "interact_nonce": uuid.uuid4().hex}
        with self.server.state.lock:
            self.server.state.grants[grant_id] = grant
        answer: dict[str, Any] = {"continue": {"access_token": {"value": grant["continue_token"]},
                                               "uri": f"{self.server.url}/auth/continue/{grant_id}"}}
        if interactive:
            answer["interact"] = {"redirect": f"{self.server.url}/auth/interact/{grant_id}/{grant['interact_nonce']}",
                                  "finish": grant["as_nonce"]}
        else:
            answer["access_token"] = self._issue_token(grant)
        self._answer("auth", "/", "POST", 200, answer)

    def _issue_token(self, grant: dict[str, Any]) -> dict[str, Any]:
        value = uuid.uuid4().hex
        with self.server.state.lock:
            self.server.state.tokens[value] = grant["id"]
        return {"value": value, "manage": f"{self.server.url}/auth/token/{uuid.uuid4().hex}", "expires_in": 600,
                "access": grant["access"]}

    def _continue(self, grant_id: str) -> None:
        body = self._request_json("auth", "/continue/{id}", "POST")
        with self.server.state.lock:
            grant = self.server.state.grants.get(grant_id)
        authorization = self.headers.get("Authorization") or ""
        if grant is None or authorization != f"GNAP {grant['continue_token']}":
            raise Refused(401, "invalid_continuation", "unknown grant or wrong continuation token")
        self._verify_signature(grant["client"])
        with self.server.state.lock:
            if grant["status"] != "approved" or grant.get("finalized") \
                    or body.get("interact_ref") != grant.get("interact_ref"):
                raise Refused(401, "invalid_continuation",
                              f"grant is {grant['status']}{' and finalized' if grant.get('finalized') else ''}, "
                              "or the interact_ref does not match")
            grant["finalized"] = True
        answer = {"access_token": self._issue_token(grant),
                  "continue": {"access_token": {"value": grant["continue_token"]},
                               "uri": f"{self.server.url}/auth/continue/{grant_id}"}}
        self._answer("auth", "/continue/{id}", "POST", 200, answer)

    def _consent(self, method: str, grant_id: str, nonce: str) -> None:
        with self.server.state.lock:
            grant = self.server.state.grants.get(grant_id)
        if grant is None or grant.get("interact_nonce") != nonce or grant["status"] != "pending":
            raise Refused(404, "invalid_request", "no interaction is waiting here")
        if method == "GET":
            return self._consent_page(grant)
        decision = parse_qs(self.body.decode()).get("decision", [""])[0]
        finish = grant["interact"]["finish"]
        if decision == "approve":
            interact_ref = uuid.uuid4().hex
            digest = hashlib.sha256("\n".join((finish["nonce"], grant["as_nonce"], interact_ref,
                                               f"{self.server.url}/auth/")).encode()).digest()
            with self.server.state.lock:
                grant |= {"status": "approved", "interact_ref": interact_ref}
            query = {"hash": base64.b64encode(digest).decode(), "interact_ref": interact_ref}
        else:
            with self.server.state.lock:
                grant["status"] = "rejected"
            query = {"result": "grant_rejected"}
        separator = "&" if "?" in finish["uri"] else "?"
        self.send_response(302)
        self.send_header("Location", finish["uri"] + separator + urlencode(query))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _consent_page(self, grant: dict[str, Any]) -> None:
        access = grant["access"][0]
        debit = access.get("limits", {}).get("debitAmount", {})
        value = int(debit.get("value", "0")) / 10 ** int(debit.get("assetScale", 0)) if debit else 0
        page = f"""<!doctype html><html lang="en"><meta charset="utf-8"><title>Approve a payment</title>
<body style="font-family: system-ui; max-width: 32rem; margin: 3rem auto">
<h1>Approve a payment</h1>
<p><strong>{html.escape(grant['client'])}</strong> asks to send
<strong>{value:.{int(debit.get('assetScale', 2))}f} {html.escape(debit.get('assetCode', ''))}</strong>
from <strong>{html.escape(access.get('identifier', ''))}</strong>
to <code>{html.escape(access.get('limits', {}).get('receiver', ''))}</code>.</p>
<form method="post"><button name="decision" value="approve">Approve</button>
<button name="decision" value="reject">Reject</button></form>
<p><small>Local Open Payments wallet provider (a test double).</small></p></body></html>"""
        data = page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # --- the resource server ---------------------------------------------------------------------------------

    def _resource(self, method: str, parts: list[str]) -> None:
        if method == "POST" and parts == ["incoming-payments"]:
            return self._create_incoming()
        if len(parts) == 2 and parts[0] == "incoming-payments" and method == "GET":
            return self._get_incoming(parts[1])
        if len(parts) == 3 and parts[0] == "incoming-payments" and parts[2] == "complete" and method == "POST":
            return self._complete_incoming(parts[1])
        if method == "POST" and parts == ["quotes"]:
            return self._create_quote()
        if method == "POST" and parts == ["outgoing-payments"]:
            return self._create_outgoing()
        raise Refused(404, "not_found", "no such resource server route")

    def _authorised(self, access_type: str, action: str, wallet: str | None) -> dict[str, Any]:
        """The grant behind `Authorization: GNAP <token>`, verified signature, with `action` on `access_type`."""
        token = (self.headers.get("Authorization") or "").removeprefix("GNAP ")
        with self.server.state.lock:
            grant = self.server.state.grants.get(self.server.state.tokens.get(token, ""))
        if grant is None:
            raise Refused(401, "unauthorized", "unknown access token")
        self._verify_signature(grant["client"])
        for item in grant["access"]:
            if item["type"] == access_type and action in item["actions"] and \
                    (wallet is None or item.get("identifier") in {None, wallet}):
                return item
        raise Refused(403, "forbidden", f"the token does not grant {action} on {access_type} for {wallet}")

    def _account_of(self, wallet: str) -> tuple[str, dict[str, Any]]:
        name = wallet.removeprefix(self.server.url + "/")
        with self.server.state.lock:
            account = self.server.state.accounts.get(name)
        if account is None or "/" in name:
            raise Refused(404, "not_found", f"no wallet address {wallet} here")
        return name, account

    def _create_incoming(self) -> None:
        body = self._request_json("resource", "/incoming-payments", "POST")
        self._authorised("incoming-payment", "create", body["walletAddress"])
        _, account = self._account_of(body["walletAddress"])
        amount = body.get("incomingAmount")
        if amount and (amount["assetCode"], amount["assetScale"]) != (account["asset_code"], account["asset_scale"]):
            raise Refused(400, "invalid_request", "incomingAmount is not in the wallet's asset")
        payment_id = f"{self.server.url}/op/incoming-payments/{uuid.uuid4()}"
        now = _now()
        record = {"id": payment_id, "walletAddress": body["walletAddress"], "completed": False,
                  "receivedAmount": {"value": "0", "assetCode": account["asset_code"],
                                     "assetScale": account["asset_scale"]},
                  "createdAt": now, "updatedAt": now, "metadata": body.get("metadata") or {}}
        if amount:
            record["incomingAmount"] = amount
        if body.get("expiresAt"):
            record["expiresAt"] = body["expiresAt"]
        with self.server.state.lock:
            self.server.state.incoming[payment_id] = record
        self._answer("resource", "/incoming-payments", "POST", 201, self._with_methods(record))

    def _with_methods(self, record: dict[str, Any]) -> dict[str, Any]:
        secret = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        return {**record, "methods": [{"type": "ilp", "ilpAddress": "test.local." + record["id"].rsplit("/", 1)[1],
                                       "sharedSecret": secret}]}

    def _incoming(self, payment_id: str) -> dict[str, Any]:
        url = f"{self.server.url}/op/incoming-payments/{payment_id}"
        with self.server.state.lock:
            record = self.server.state.incoming.get(url)
        if record is None:
            raise Refused(404, "not_found", "no such incoming payment")
        return record

    def _get_incoming(self, payment_id: str) -> None:
        record = self._incoming(payment_id)
        self._authorised("incoming-payment", "read", record["walletAddress"])
        with self.server.state.lock:
            self._answer("resource", "/incoming-payments/{id}", "GET", 200, self._with_methods(dict(record)))

    def _complete_incoming(self, payment_id: str) -> None:
        record = self._incoming(payment_id)
        self._authorised("incoming-payment", "complete", record["walletAddress"])
        with self.server.state.lock:
            record["completed"] = True
            record["updatedAt"] = _now()
            answer = dict(record)
        self._answer("resource", "/incoming-payments/{id}/complete", "POST", 200, answer)

    def _create_quote(self) -> None:
        body = self._request_json("resource", "/quotes", "POST")
        self._authorised("quote", "create", body["walletAddress"])
        _, account = self._account_of(body["walletAddress"])
        incoming = self._incoming(body["receiver"].rsplit("/", 1)[1])
        if incoming["completed"] or "incomingAmount" not in incoming:
            raise Refused(400, "invalid_request", "the receiver is completed or has no incomingAmount")
        asset = (incoming["incomingAmount"]["assetCode"], incoming["incomingAmount"]["assetScale"])
        if asset != (account["asset_code"], account["asset_scale"]):
            raise Refused(400, "invalid_request", "this provider quotes in one asset only (no exchange)")
        remaining = int(incoming["incomingAmount"]["value"]) - int(incoming["receivedAmount"]["value"])
        if remaining <= 0:
            raise Refused(400, "invalid_request", "nothing remains to be paid to the receiver")
        amount = {"value": str(remaining), "assetCode": asset[0], "assetScale": asset[1]}
        quote = {"id": f"{self.server.url}/op/quotes/{uuid.uuid4()}", "walletAddress": body["walletAddress"],
                 "receiver": body["receiver"], "debitAmount": amount, "receiveAmount": amount, "method": "ilp",
                 "createdAt": _now(),
                 "expiresAt": (datetime.now(UTC) + timedelta(minutes=10)).isoformat().replace("+00:00", "Z")}
        with self.server.state.lock:
            self.server.state.quotes[quote["id"]] = quote
        self._answer("resource", "/quotes", "POST", 201, quote)

    def _create_outgoing(self) -> None:
        body = self._request_json("resource", "/outgoing-payments", "POST")
        access = self._authorised("outgoing-payment", "create", body["walletAddress"])
        with self.server.state.lock:
            quote = self.server.state.quotes.get(body.get("quoteId", ""))
            if quote is None or quote["walletAddress"] != body["walletAddress"]:
                raise Refused(404, "not_found", "no such quote for this wallet address")
            if quote.get("used"):
                raise Refused(403, "forbidden", "an outgoing payment already exists for this quote")
            limits = access.get("limits", {})
            debit = int(quote["debitAmount"]["value"])
            if limits.get("receiver") not in {None, quote["receiver"]} or \
                    ("debitAmount" in limits and int(limits["debitAmount"]["value"]) < debit):
                raise Refused(403, "forbidden", "the quote exceeds the grant's limits")
            _, account = self._account_of(body["walletAddress"])
            incoming = self.state_incoming(quote["receiver"])
            now = _now()
            failed = (account["balance"] < debit or incoming["completed"]
                      or incoming.get("expiresAt", "9999") < now)
            if not failed:
                quote["used"] = True
                account["balance"] -= debit
                incoming["receivedAmount"]["value"] = str(int(incoming["receivedAmount"]["value"]) + debit)
                self.server.state.accounts[incoming["walletAddress"].rsplit("/", 1)[1]]["balance"] += debit
                incoming["updatedAt"] = now
            sent = quote["debitAmount"] if not failed else {**quote["debitAmount"], "value": "0"}
            payment = {"id": quote["id"].replace("/quotes/", "/outgoing-payments/"),
                       "walletAddress": body["walletAddress"], "quoteId": quote["id"], "failed": failed,
                       "receiver": quote["receiver"], "receiveAmount": quote["receiveAmount"],
                       "debitAmount": quote["debitAmount"], "sentAmount": sent, "grantSpentDebitAmount": sent,
                       "grantSpentReceiveAmount": sent, "metadata": body.get("metadata") or {},
                       "createdAt": now, "updatedAt": now}
            self.server.state.outgoing[payment["id"]] = payment
        self._answer("resource", "/outgoing-payments", "POST", 201, payment)

    def state_incoming(self, url: str) -> dict[str, Any]:
        record = self.server.state.incoming.get(url)
        if record is None:
            raise Refused(404, "not_found", "the quote's receiver is not an incoming payment here")
        return record

    # --- for people and tests --------------------------------------------------------------------------------

    def _double(self, method: str, parts: list[str]) -> None:
        state = self.server.state
        if parts == ["accounts"] and method == "POST":
            body = json.loads(self.body or b"{}")
            address = self.server.add_account(str(body["name"]), int(body.get("balance", 0)),
                                              body.get("asset_code", "USD"), int(body.get("asset_scale", 2)))
            return self._json(201, {"wallet_address": address, "balance": self.server.balance(str(body["name"]))})
        if parts == ["accounts"]:
            with state.lock:
                return self._json(200, {name: {"wallet_address": f"{self.server.url}/{name}", **account}
                                        for name, account in state.accounts.items()})
        if parts == ["pay"] and method == "POST":  # a payment into an incoming payment from outside (e.g. STREAM)
            body = json.loads(self.body or b"{}")
            with state.lock:
                incoming = self.state_incoming(str(body["incoming_payment"]))
                incoming["receivedAmount"]["value"] = str(int(incoming["receivedAmount"]["value"]) + int(body["value"]))
            return self._json(200, incoming)
        if parts == ["log"]:
            with state.lock:
                return self._json(200, {"log": state.log[-200:], "outgoing_payments": list(state.outgoing.values())})
        raise Refused(404, "not_found", "no such double route")
