"""Buyers' receipts by email: text and HTML built from the notification — every value from the catalog or the
buyer is escaped in the HTML (an item named <script> is shown as text) and stripped of control characters in the
text — with the link to the public proof and how to turn receipts off."""

from __future__ import annotations

import html
from typing import Any

SUBJECTS = {"opening.opened": "Your pack is open", "opening.refunded": "Your refund",
            "order.succeeded": "Your top-up was delivered", "order.refunded": "Your refund",
            "credits.topped_up": "Credits added", "entitlement.purchased": "Your pack of {unit_label}s"}


def receipt(notification: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html)."""
    subject, lines = _lines(notification)
    text = "\n".join(lines) + "\n"
    html_body = "".join(f"<p>{html.escape(line)}</p>" for line in lines if line)
    return subject, text, f"<!doctype html><html><body>{html_body}</body></html>"


def _lines(notification: dict[str, Any]) -> tuple[str, list[str]]:
    data = notification.get("data") or {}
    subject = "Packvault: " + SUBJECTS.get(notification.get("type", ""), "an update").format(
        unit_label=_text(data.get("unit_label") or "unit"))
    lines = [f"{_text(data.get('name') or '')}"]
    for item in data.get("items") or []:
        lines.append(f"  - {_text(item.get('name'))} ({_text(item.get('rarity'))}, ${_text(item.get('fmv'))})")
    if (data.get("bundle") or {}).get("quantity"):
        lines.append(f"The first of {int(data['bundle']['quantity'])} packs you bought together; the others' items "
                     "are in your vault and history, each with its own proof.")
    if "credits" in data:
        lines.append(f"{int(data['credits'])} credits")
    if "units_remaining" in data:
        lines.append(f"{int(data['units_remaining'])} of {int(data['units_included'])} "
                     f"{_text(data.get('unit_label'))}s")
    if "order_number" in data:
        lines.append(f"Order {_text(data['order_number'])}: {_text(data.get('status'))}")
    if data.get("proof_url"):
        lines.append(f"Check the draw yourself: {_text(data['proof_url'])}")
    lines += ["", "Receipts by email can be turned off: PUT /api/v1/me/notifications {\"email_receipts\": false}."]
    return subject, lines


def _text(value: Any) -> str:
    """One line of plain text: control characters (a header injection or a fake line) removed."""
    return "".join(ch for ch in str(value if value is not None else "") if ch.isprintable())[:200]
