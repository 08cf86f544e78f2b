"""Notifications out: what happened, told to partners (signed webhooks, Standard Webhooks) and buyers (email
receipts). The table's stream hands every appended event row to `fanout`, which turns the events people need into
notifications (`catalogue`) and makes one delivery per receiver; `delivery` attempts each with retries over more than
a day; `endpoints` is the partners' registration. Nothing here writes in a state change's own transaction: the event
row that transaction appends is the outbox. May import core, store and accounts."""

from __future__ import annotations

__all__ = ["catalogue", "delivery", "endpoints", "fanout"]
