"""SQS (FulfilmentQueue): deliver paid game-credit orders through the vendor. Powertools batch processing: each
message is one order id; a message that must come back is reported as a partial batch failure (SQS redelivers
it; after the queue's maxReceiveCount it goes to the dead-letter queue)."""

import json

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.core import context
from packvault.core.log import logger
from packvault.edge.runtime import configure
from packvault.products import fulfilment

settings = configure()
vendor = fulfilment.from_settings(settings)
processor = BatchProcessor(event_type=EventType.SQS)


def deliver(record: SQSRecord) -> str:
    context.begin("system:fulfilment", record.message_id)  # the events it writes name the message
    return fulfilment.fulfil(settings, vendor, json.loads(record.body)["order_id"])


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=deliver, processor=processor, context=context)
