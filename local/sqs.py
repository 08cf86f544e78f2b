"""The local SQS: moto's standalone server (it speaks SQS's wire protocol, so the functions' own botocore client
talks to it exactly as to AWS), the template's queues created on it with their redrive policies, and an event
source mapping per SQS event: a poller that long-polls the queue, invokes the function with Lambda's SQS event
shape, deletes what succeeded and leaves the rest to come back (partial batch failures), as Lambda does.

Simplification: the visibility timeout is LOCAL_VISIBILITY_SECONDS instead of the template's, so a retried
message comes back in seconds rather than minutes; the redrive (maxReceiveCount) is the template's.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any

from local import template

log = logging.getLogger("local")
LOCAL_VISIBILITY_SECONDS = 3


class LocalSqs:
    def __init__(self, port: int = 0) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.server.start()
        host, bound = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{bound}"
        self.client = _client(self.endpoint)

    def create_queues(self, tpl: dict[str, Any]) -> dict[str, str]:
        """Every AWS::SQS::Queue of the template (dead-letter queues first): logical id -> queue URL."""
        queues = template.resources(tpl, "AWS::SQS::Queue")
        urls: dict[str, str] = {}
        ordered = sorted(queues, key=lambda q: "RedrivePolicy" in queues[q].get("Properties", {}))
        for logical_id in ordered:
            props = queues[logical_id].get("Properties", {})
            attributes = {"VisibilityTimeout": str(LOCAL_VISIBILITY_SECONDS)}
            if "RedrivePolicy" in props:
                target = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
                arn = self.client.get_queue_attributes(QueueUrl=urls[target], AttributeNames=["QueueArn"])
                attributes["RedrivePolicy"] = json.dumps({
                    "deadLetterTargetArn": arn["Attributes"]["QueueArn"],
                    "maxReceiveCount": str(props["RedrivePolicy"]["maxReceiveCount"])})
            urls[logical_id] = self.client.create_queue(QueueName=f"{logical_id}-{uuid.uuid4().hex[:6]}",
                                                        Attributes=attributes)["QueueUrl"]
        return urls

    def shutdown(self) -> None:
        self.server.stop()


def _client(endpoint: str) -> Any:
    import boto3

    from local.dynamodb import LOCAL_CREDENTIALS

    return boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


class QueuePoller(threading.Thread):
    """One event source mapping: receive up to batch_size messages, invoke, delete the successes."""

    def __init__(self, endpoint: str, queue_url: str, source: template.QueueSource, invoke: Any,
                 stop: threading.Event) -> None:
        super().__init__(daemon=True, name=f"sqs-{source.function_id}")
        self.client, self.queue_url, self.source, self.invoke, self._stop = _client(endpoint), queue_url, source, \
            invoke, stop

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # the local server stopping, or a function crashing: keep the mapping alive
                log.exception("sqs poll for %s failed", self.source.function_id)
                time.sleep(1)

    def poll_once(self) -> None:
        found = self.client.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=self.source.batch_size,
                                            WaitTimeSeconds=1, AttributeNames=["All"]).get("Messages", [])
        if not found:
            return
        event = {"Records": [_record(message, self.queue_url) for message in found]}
        try:
            answer = self.invoke(event) or {}
        except Exception:
            log.exception("%s failed its batch; the messages will come back", self.source.function_id)
            return
        failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])} if self.source.partial_failures \
            else set()
        done = [m for m in found if m["MessageId"] not in failed]
        if done:
            self.client.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)])


def _record(message: dict[str, Any], queue_url: str) -> dict[str, Any]:
    """One record of Lambda's SQS event."""
    name = queue_url.rsplit("/", 1)[-1]
    return {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
            "attributes": message.get("Attributes", {}), "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{name}", "awsRegion": "us-east-1"}
