"""The fulfilment queue: a paid order's id, sent once it is committed. One botocore SQS client per container
(botocore, not boto3: the import is a fraction of the cost). A send that fails is not an error for the buyer:
the order waits in the sweep's index and the sweep sends it again."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from packvault.core.log import logger
from packvault.core.settings import Settings


@cache
def _client(region: str, endpoint: str | None) -> Any:
    import botocore.session

    return botocore.session.get_session().create_client("sqs", region_name=region, endpoint_url=endpoint)


def send(settings: Settings, order_id: str) -> bool:
    """True when the queue took the message."""
    if not settings.fulfilment_queue_url:
        logger.warning("no fulfilment queue configured; the sweep will retry", extra={"order_id": order_id})
        return False
    try:
        _client(settings.aws_region, settings.sqs_endpoint).send_message(
            QueueUrl=settings.fulfilment_queue_url, MessageBody=json.dumps({"order_id": order_id}))
    except Exception as exc:  # any failure: the order stays in the sweep's index, nothing is lost
        logger.warning("fulfilment message not sent; the sweep will retry",
                       extra={"order_id": order_id, "error": exc.__class__.__name__})
        return False
    return True
