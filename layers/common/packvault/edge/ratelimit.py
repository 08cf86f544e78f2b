"""Per-identity rate limits for the routes where the stage's throttle is not enough: sign-in per client IP (it writes a
nonce per call) and email codes per address too (each sends a mail), checkout per account (each one creates a Stripe
session) and operator changes per operator. A fixed one-minute window per (scope, identity), counted by one
conditional DynamoDB update (1 round trip, 1 write unit); the buyer's hot path (purchase, confirm) carries none: the
open-quote limit and the stage throttle bound it. RATE_LIMITS=false turns them off (load runs from one address)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from packvault import store
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.settings import Settings

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Limit:
    per_minute: int
    identity: str  # "ip" | "account" (the route middleware counts these) | "email" (counted by the sign-in itself)


LIMITS = {
    "sign-in": Limit(30, "ip"),
    "email-address": Limit(3, "email"),  # codes sent to one address; each also costs a sign-in from its IP
    "checkout": Limit(20, "account"),
    "admin-change": Limit(60, "account"),
}


def enforce(settings: Settings, scope: str, identity: str, now: float | None = None) -> None:
    """Count this request; 429 RATE_LIMITED with the seconds until the window ends when over the limit."""
    if not settings.rate_limits:
        return
    limit = LIMITS[scope]
    moment = time.time() if now is None else now
    window_start = int(moment // WINDOW_SECONDS * WINDOW_SECONDS)
    if not store.take_request(scope, identity, window_start, WINDOW_SECONDS, limit.per_minute):
        retry_after = max(1, window_start + WINDOW_SECONDS - int(moment))
        raise PackvaultError(ErrorCode.RATE_LIMITED, f"More than {limit.per_minute} requests a minute; retry in "
                             f"{retry_after} s.", retry_after_seconds=retry_after, limit_per_minute=limit.per_minute)
