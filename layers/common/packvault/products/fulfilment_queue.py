"""The fulfilment queue: a paid order's id, sent once it is committed, through the container's one SQS client
(core.queues). A send that fails is not an error for the buyer:
the order waits in the sweep's index and the sweep sends it again."""

from __future__ import annotations

import json

from packvault.core.log import logger
from packvault.core.queues import sqs
from packvault.core.settings import Settings


def send(settings: Settings, order_id: str) -> bool:
    """True when the queue took the message."""
    if not settings.fulfilment_queue_url:
        logger.warning("no fulfilment queue configured; the sweep will retry", extra={"order_id": order_id})
        return False
    try:
        sqs(settings).send_message(
            QueueUrl=settings.fulfilment_queue_url, MessageBody=json.dumps({"order_id": order_id}))
    except Exception as exc:  # any failure: the order stays in the sweep's index, nothing is lost
        logger.warning("fulfilment message not sent; the sweep will retry",
                       extra={"order_id": order_id, "error": exc.__class__.__name__})
        return False
    return True
