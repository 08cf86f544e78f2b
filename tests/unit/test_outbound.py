"""The outbound guard (packvault.outbound): no request a buyer can aim reaches a non-public address, whatever the
spelling of the host or what its name resolves to, and the address checked is the address connected to. No test
here sends traffic anywhere but this machine's loopback: connections to public addresses are intercepted."""

from __future__ import annotations

import base64
import ipaddress
import os
import socket

import pytest
import requests
from urllib3.util import connection as urllib3_connection

from packvault.core import outbound
from packvault.rails.open_payments.client import OpenPaymentsClient, OpenPaymentsError, SellerKey


def _key() -> SellerKey:
    return SellerKey("k", base64.b64encode(os.urandom(32)).decode())


def _resolving(monkeypatch, answers: dict[str, list[str]]) -> list[str]:
    """getaddrinfo answers from a table (a fake DNS); returns the names looked up."""
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
                for ip in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.mark.parametrize("host", ["127.1", "0177.0.0.1", "10.1", "127.0.0.1.", "localhost.", "0x7f.1", "LOCALHOST",
                                  "2130706433", "::ffff:127.0.0.1", "[::1]", "169.254.169.254", "100.64.1.1",
                                  "intranet", "1.2.3.4.5", "x.internal"])
def test_non_public_host_texts_are_refused(host):
    with pytest.raises(outbound.NonPublicAddress):
        outbound.public_host(host)


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "1.1.1.1"])
def test_public_addresses_pass(address):
    assert outbound.is_public_ip(ipaddress.ip_address(address))


@pytest.mark.parametrize("answers", [["127.0.0.1"], ["10.0.0.5"], ["93.184.216.34", "127.0.0.1"], ["::1"],
                                     ["::ffff:10.0.0.1"], ["169.254.169.254"]])
def test_a_name_resolving_to_any_private_address_is_refused(monkeypatch, answers):
    _resolving(monkeypatch, {"wallet.example": answers})
    with pytest.raises(outbound.NonPublicAddress, match="non-public"):
        outbound.resolve_public("wallet.example", 443)


def test_a_guarded_request_to_a_name_resolving_to_loopback_never_connects(monkeypatch):
    _resolving(monkeypatch, {"rebind.example": ["127.0.0.1"]})
    connected = []
    monkeypatch.setattr(urllib3_connection, "create_connection", lambda *a, **k: connected.append(a) or 1 / 0)
    with pytest.raises(requests.ConnectionError) as failure:
        outbound.guarded_session().get("https://rebind.example/alice", timeout=2)
    assert connected == []
    assert isinstance(outbound.refused_by_guard(failure.value), outbound.NonPublicAddress)


def test_the_checked_address_is_the_one_connected_to(monkeypatch):
    """DNS rebinding: the first answer is public, every later one is loopback; the connection goes to the address
    that was checked, the name is resolved once per connection."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"]])
    asked = []

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in next(answers)]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    connected = []

    def create_connection(address, *args, **kwargs):
        connected.append(address)
        raise OSError("intercepted: no traffic leaves this machine")

    import urllib3.connection

    monkeypatch.setattr(urllib3.connection.connection, "create_connection", create_connection)
    with pytest.raises(requests.ConnectionError):
        outbound.guarded_session().get("https://rebind.example/alice", timeout=2)
    assert connected == [("93.184.216.34", 443)] and asked == ["rebind.example"]


def test_environment_proxies_are_not_used(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    assert outbound.guarded_session().trust_env is False


def test_the_open_payments_client_refuses_a_wallet_host_that_resolves_inside(monkeypatch):
    _resolving(monkeypatch, {"wallet.example": ["127.0.0.1"]})
    client = OpenPaymentsClient("https://shop.example/seller", _key())
    with pytest.raises(OpenPaymentsError) as refused:
        client.wallet_address("https://wallet.example/alice")
    assert refused.value.code == "non_public_address" and not refused.value.retryable


def test_the_local_stack_client_may_reach_loopback():
    client = OpenPaymentsClient("http://127.0.0.1:1/seller", _key(), allow_http=True)
    assert not isinstance(client.session.get_adapter("http://127.0.0.1/"), outbound._GuardedAdapter)
