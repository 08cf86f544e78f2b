"""From the table's stream to deliveries: every appended event row the stream hands over (INSERTs of EVENT# rows)
that the catalogue names becomes a notification; each active endpoint subscribed to its type, and the buyer's
verified email address for receipts, gets one delivery row (created once, whatever the stream repeats) and one queue
message. The state change never waits for any of this: its own transaction already wrote the event row."""

from __future__ import annotations

import json
from typing import Any

from packvault import store
from packvault.core.log import logger
from packvault.core.queues import sqs
from packvault.core.settings import Settings
from packvault.notifications import catalogue, endpoints


def fan_out(settings: Settings, events: list[dict[str, Any]]) -> int:
    """Deliveries made (and queued) for these event rows."""
    registered: list[store.WebhookEndpointRecord] | None = None
    made = 0
    for event in events:
        notification = catalogue.notification_of(event)
        if notification is None:
            continue
        if registered is None:
            registered = store.list_endpoints()
        receivers = endpoints.subscribed(registered, notification["type"])
        lead = not (notification["data"].get("bundle") or {}).get("unit_index")  # a bundle: one email, the lead's
        if notification["type"] in catalogue.EMAILED and lead and _emailable(notification["data"].get("account_id")):
            receivers.append(f"email:{notification['data']['account_id']}")
        for receiver in receivers:
            delivery_id = f"{receiver}#{notification['id']}"
            if store.create_delivery(receiver, notification) is None:  # the stream handed this event over before:
                earlier = store.get_delivery(delivery_id)         # queue it again if it never got an attempt (a
                if earlier is None or earlier.status != "PENDING" or int(earlier.attempts):  # crash after the row,
                    continue                                                  # before the message); copies are
            enqueue(settings, delivery_id)                                    # harmless: attempts are claimed
            made += 1
    return made


def _emailable(account_id: Any) -> bool:
    if not isinstance(account_id, str):
        return False
    from packvault.accounts.principal import identities

    return any(row.kind == "email" for row in identities(account_id)) and store.email_receipts_wanted(account_id)


def enqueue(settings: Settings, delivery_id: str, delay_seconds: int = 0, not_before: str | None = None) -> None:
    """One message per attempt; the queue's own redelivery and dead-letter queue cover a lost consumer."""
    if not settings.notifications_queue_url:
        logger.warning("no notifications queue configured", extra={"delivery": delivery_id})
        return
    body = {"delivery": delivery_id, **({"not_before": not_before} if not_before else {})}
    sqs(settings).send_message(
        QueueUrl=settings.notifications_queue_url, MessageBody=json.dumps(body),
        DelaySeconds=max(0, min(900, delay_seconds)))


def plain(image: dict[str, Any]) -> dict[str, Any]:
    """A stream record's NewImage (DynamoDB JSON) as plain values (the event rows' attributes are strings)."""
    return {name: next(iter(value.values())) for name, value in image.items()}
