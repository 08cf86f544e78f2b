"""The one spelling of instants on the wire and in the table: UTC ISO 8601 with a Z suffix."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_seconds(moment: datetime) -> str:
    """'2026-11-23T08:55:36Z': quote expiries, sign-in times, the expiry index (sortable as text)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def iso_millis(moment: datetime) -> str:
    """'2026-11-23T08:45:36.361Z': creation and event times, where ordering within a second matters."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
