"""Partners' webhook endpoints: registered by operators (admin route, CLI) with the notification types wanted and a
signing secret shown once (Standard Webhooks: whsec_<base64 of 32 random bytes>). The URL must be https and name a
public host (its text, and every address it resolves to, checked at registration; the delivery's connection checks
again at connect time). Only in the dev stage may an endpoint be http or on a private address (the local stack's
receiver), and only when WEBHOOKS_ALLOW_PRIVATE says so (`make run` does)."""

from __future__ import annotations

import base64
import secrets
from typing import Any
from urllib.parse import urlsplit

from packvault import store
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.outbound import NonPublicAddress, public_host, resolve_public
from packvault.core.settings import Settings
from packvault.notifications.catalogue import TYPES

MAX_URL_LENGTH = 2048


def create(settings: Settings, url: Any, event_types: Any) -> dict[str, Any]:
    """A new active endpoint; the answer carries its signing secret, shown this once."""
    checked = check_url(settings, url)
    wanted = _types(event_types)
    endpoint_id = "we_" + secrets.token_hex(10)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    now = store.utc_now_iso()
    endpoint = store.WebhookEndpointRecord(pk=store.endpoint_pk(endpoint_id), sk="ENDPOINT", gsi1sk=endpoint_id,
                                           endpoint_id=endpoint_id, url=checked, event_types=wanted, secret=secret,
                                           active=True, created_at=now, updated_at=now)
    store.put_endpoint(endpoint, "WEBHOOK_ENDPOINT_CREATED", {"url": checked, "event_types": wanted})
    return {**view(endpoint), "secret": secret}


def set_active(endpoint_id: str, active: bool, reason: str | None = None) -> dict[str, Any]:
    endpoint = _endpoint(endpoint_id)
    endpoint.active, endpoint.disabled_reason = active, (None if active else reason or "disabled by an operator")
    endpoint.failing_since = None if active else endpoint.failing_since
    endpoint.updated_at = store.utc_now_iso()
    store.put_endpoint(endpoint, "WEBHOOK_ENDPOINT_" + ("ENABLED" if active else "DISABLED"),
                       {"reason": endpoint.disabled_reason})
    return view(endpoint)


def check_url(settings: Settings, url: Any) -> str:
    """The URL if it may receive webhooks; 400 WEBHOOK_URL_INVALID saying why otherwise."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise PackvaultError(ErrorCode.WEBHOOK_URL_INVALID, "url: an https URL of at most 2048 characters.")
    parts = urlsplit(url.strip())
    relaxed = private_allowed(settings)
    if parts.scheme not in (("https", "http") if relaxed else ("https",)) or not parts.hostname or parts.username:
        raise PackvaultError(ErrorCode.WEBHOOK_URL_INVALID, "url: https://host/path (no user info)" +
                             ("" if relaxed else "; http only in the dev stage with WEBHOOKS_ALLOW_PRIVATE") + ".")
    if not relaxed:
        try:
            resolve_public(public_host(parts.hostname), parts.port or 443)
        except NonPublicAddress as refused:
            raise PackvaultError(ErrorCode.WEBHOOK_URL_INVALID, f"url: {refused}") from None
    return url.strip()


def private_allowed(settings: Settings) -> bool:
    """The local stack's receivers are on 127.0.0.1: only there (dev, and said explicitly) is the guard off."""
    return settings.stage == "dev" and settings.webhooks_allow_private


def view(endpoint: store.WebhookEndpointRecord) -> dict[str, Any]:
    return {"endpoint_id": endpoint.endpoint_id, "url": endpoint.url, "event_types": list(endpoint.event_types),
            "active": endpoint.active, "disabled_reason": endpoint.disabled_reason,
            "failing_since": endpoint.failing_since, "created_at": endpoint.created_at}


def subscribed(endpoints: list[store.WebhookEndpointRecord], notification_type: str) -> list[str]:
    return [e.endpoint_id for e in endpoints if e.active and notification_type in e.event_types]


def _endpoint(endpoint_id: str) -> store.WebhookEndpointRecord:
    endpoint = store.get_endpoint(endpoint_id) if isinstance(endpoint_id, str) else None
    if endpoint is None:
        raise PackvaultError(ErrorCode.WEBHOOK_ENDPOINT_NOT_FOUND)
    return endpoint


def _types(event_types: Any) -> list[str]:
    if event_types == "*" or event_types == ["*"]:
        return list(TYPES)
    if isinstance(event_types, str):
        event_types = [t.strip() for t in event_types.split(",") if t.strip()]
    if not isinstance(event_types, list) or not event_types or any(t not in TYPES for t in event_types):
        raise PackvaultError(ErrorCode.VALIDATION_FAILED, f"event_types: one or more of {', '.join(TYPES)} (or *).",
                             field="event_types")
    return sorted(set(event_types))
