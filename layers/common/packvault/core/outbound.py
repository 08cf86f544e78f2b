"""Outbound HTTP to addresses a buyer (or, later, a partner) chooses: never to this network's inside.

Two checks. `public_host(host)` refuses the text of every non-public address form before anything is fetched
(`127.1`, `0177.0.0.1`, `0x7f.1`, `10.1`, trailing dots, `localhost`, IPv4-mapped IPv6, ...). `guarded_session()`
is a requests session whose connections resolve the name, refuse it unless every address it resolves to is
public, and connect to the address that was checked (TLS still verifies the name), so a DNS answer that changes
between check and connect (rebinding) cannot reach an internal address.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

__all__ = ["NonPublicAddress", "guarded_session", "is_public_ip", "public_host", "refused_by_guard", "resolve_public"]

_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


class NonPublicAddress(ValueError):
    """A host that is, or resolves to, an address outside the public internet."""


def is_public_ip(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable unicast: not private, loopback, link-local, multicast, reserved, unspecified, shared
    (100.64/10), documentation or benchmarking ranges; an IPv4-mapped or 6to4/Teredo IPv6 is judged by its IPv4."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            return is_public_ip(embedded)
    return address.is_global and not address.is_multicast and not address.is_reserved


def _as_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host text stands for, in every form a resolver accepts (inet_aton: 127.1, 0x7f.1, 0177.0.0.1,
    2130706433), or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def public_host(host: str) -> str:
    """The host, lower-cased without a trailing dot, if its text names no internal address; NonPublicAddress
    otherwise. A name that passes must still pass `resolve_public` when connected to."""
    name = host.strip().lower().rstrip(".")
    if not name or name == "localhost" or name.endswith(_LOCAL_SUFFIXES):
        raise NonPublicAddress(f"{host!r} is a local name")
    literal = _as_ip(name.strip("[]"))
    if literal is not None:
        if not is_public_ip(literal):
            raise NonPublicAddress(f"{host!r} is not a public address")
        return name
    labels = name.split(".")
    if len(labels) < 2 or all(label.isdigit() or label.startswith("0x") for label in labels):
        raise NonPublicAddress(f"{host!r} is not a public host name")
    return name


def resolve_public(host: str, port: int) -> str:
    """One address to connect to: the host resolved, refused unless every address it resolves to is public."""
    public_host(host)
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NonPublicAddress(f"{host!r} does not resolve ({exc.strerror})") from None
    addresses = [ipaddress.ip_address(answer[4][0].split("%", 1)[0]) for answer in answers]
    refused = [str(address) for address in addresses if not is_public_ip(address)]
    if not addresses or refused:
        raise NonPublicAddress(f"{host!r} resolves to a non-public address ({', '.join(refused) or 'none'})")
    return str(addresses[0])


class _Guarded:
    """Mixed into urllib3's connections: resolve and check, then connect to exactly the checked address."""

    host: str
    port: int

    def _new_conn(self) -> socket.socket:
        try:
            self._dns_host = resolve_public(self.host, self.port)
        except NonPublicAddress as exc:
            raise NewConnectionError(self, f"refused: {exc}") from exc
        return super()._new_conn()  # type: ignore[misc]


class _GuardedHTTPConnection(_Guarded, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_Guarded, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        raise NonPublicAddress("outbound requests to buyer-chosen hosts do not go through a proxy")


def guarded_session() -> requests.Session:
    """A session for buyer-chosen URLs: every connection checked at connect time; no proxies from the
    environment (a proxy would connect for us, unchecked)."""
    session = requests.Session()
    session.trust_env = False
    adapter = _GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def refused_by_guard(exc: BaseException) -> NonPublicAddress | None:
    """The guard's refusal inside a requests error (ConnectionError -> MaxRetryError -> NewConnectionError ->
    NonPublicAddress), if that is what it was."""
    seen: Any = exc
    for _ in range(8):
        if seen is None or isinstance(seen, NonPublicAddress):
            return seen
        seen = getattr(seen, "reason", None) or seen.__cause__ or (
            seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None)
    return None
