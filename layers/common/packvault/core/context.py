"""Who is acting, under which request: set once per invocation (HTTP request, scheduled run, CLI command)
and stamped on every event the store appends, so an audit trail names the actor and the request id
without threading them through every call. A context variable, so concurrent requests served by threads
(the local stack) never see each other's."""

from __future__ import annotations

from contextvars import ContextVar

SYSTEM = "system"

_actor: ContextVar[str] = ContextVar("packvault_actor", default=SYSTEM)
_request_id: ContextVar[str | None] = ContextVar("packvault_request_id", default=None)


def begin(actor: str, request_id: str | None) -> None:
    _actor.set(actor)
    _request_id.set(request_id)


def act_as(actor: str) -> None:
    """Name the actor once it is known (a signed-in wallet, a verified webhook's sender)."""
    _actor.set(actor)


def actor() -> str:
    return _actor.get()


def request_id() -> str | None:
    return _request_id.get()
