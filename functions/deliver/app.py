"""SQS (NotificationsQueue): each message is one attempt of one delivery (a signed webhook or a receipt email);
retries are scheduled by the delivery itself (packvault.notifications.delivery), so a message that raised is the
only one SQS redelivers (partial batch failure; its dead-letter queue after maxReceiveCount)."""

import json

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.core import context
from packvault.core.log import logger
from packvault.edge.runtime import configure
from packvault.notifications import delivery

settings = configure()
processor = BatchProcessor(event_type=EventType.SQS)


def attempt(record: SQSRecord) -> str:
    context.begin("system:deliver", record.message_id)
    message = json.loads(record.body)
    return delivery.deliver(settings, message["delivery"], message.get("not_before"))


@logger.inject_lambda_context
def lambda_handler(event: dict, lambda_context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=attempt, processor=processor, context=lambda_context)
