"""The container's SQS client, one per (region, endpoint): botocore's, not boto3's (the import is a fraction of the
cost). Used by whatever sends to a queue (game-credit fulfilment, notification deliveries)."""

from __future__ import annotations

from functools import cache
from typing import Any

from packvault.core.settings import Settings


@cache
def _client(region: str, endpoint: str | None) -> Any:
    import botocore.session

    return botocore.session.get_session().create_client("sqs", region_name=region, endpoint_url=endpoint)


def sqs(settings: Settings) -> Any:
    return _client(settings.aws_region, settings.sqs_endpoint)
