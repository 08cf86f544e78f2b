"""The table's stream (DynamoDB Streams, INSERTs of EVENT# rows, filtered by the event source mapping): the events
people need become notifications, one delivery per receiver, queued (packvault.notifications.fanout). A record that
fails is reported (ReportBatchItemFailures): the stream hands it, and those after it, over again."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.core import context
from packvault.core.log import logger
from packvault.edge.runtime import configure
from packvault.notifications.fanout import fan_out, plain

settings = configure()


@logger.inject_lambda_context
def lambda_handler(event: dict, lambda_context: LambdaContext) -> dict:
    context.begin("system:notify", lambda_context.aws_request_id if lambda_context else None)
    for record in event.get("Records", []):
        image = (record.get("dynamodb") or {}).get("NewImage")
        if record.get("eventName") != "INSERT" or not image:
            continue
        try:
            fan_out(settings, [plain(image)])
        except Exception:
            logger.exception("notification fan-out failed; the stream will hand this record over again")
            return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
    return {"batchItemFailures": []}
