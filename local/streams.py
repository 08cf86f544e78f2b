"""The local DynamoDB Streams event source mapping: DynamoDB Local serves the table's stream (the boto3
`dynamodbstreams` API at the same endpoint); this poller reads every shard from TRIM_HORIZON as the template says,
applies the mapping's FilterCriteria (the EventBridge-style pattern: lists of values and {"prefix": ...}), and invokes
the function with Lambda's stream event shape. A record the function reports (ReportBatchItemFailures) is read
again from its sequence number, with the ones after it, as Lambda does.

Simplifications: one poller per stream (Lambda runs one per shard, in parallel); no MaximumRetryAttempts or
on-failure destination (a record that always fails is retried every second and logged)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from local import template

log = logging.getLogger("local")
SHARD_CHECK_SECONDS = 5
IDLE_SECONDS = 0.25


def matches(pattern: Any, value: Any) -> bool:
    """Does `value` match an event filter `pattern` (the subset Lambda's FilterCriteria use here)?"""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(key in value and matches(sub, value[key])
                                               for key, sub in pattern.items())
    if isinstance(pattern, list):
        return any(_matches_one(option, value) for option in pattern)
    return pattern == value


def _matches_one(option: Any, value: Any) -> bool:
    if isinstance(option, dict) and "prefix" in option:
        return isinstance(value, str) and value.startswith(option["prefix"])
    return option == value


class StreamPoller(threading.Thread):
    def __init__(self, endpoint: str, table_name: str, source: template.StreamSource, invoke: Any,
                 stop: threading.Event) -> None:
        super().__init__(daemon=True, name=f"stream-{source.function_id}")
        import boto3

        from local.dynamodb import LOCAL_CREDENTIALS

        credentials = {"aws_access_key_id": LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                       "aws_secret_access_key": LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}
        self.streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name="us-east-1", **credentials)
        tables = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", **credentials)
        table = tables.describe_table(TableName=table_name)["Table"]
        if not table.get("LatestStreamArn"):  # a table made before it had a stream (--dynamodb-endpoint)
            table = tables.update_table(TableName=table_name, StreamSpecification={
                "StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})["TableDescription"]
        self.stream_arn = table["LatestStreamArn"]
        self.source, self.invoke, self._stop = source, invoke, stop
        self.iterators: dict[str, str | None] = {}
        self.next_shard_check = 0.0

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.poll_once():
                    time.sleep(IDLE_SECONDS)
            except Exception:
                log.exception("stream poll for %s failed", self.source.function_id)
                time.sleep(1)

    def poll_once(self) -> bool:
        """True when records were handed over."""
        if time.monotonic() >= self.next_shard_check:  # new shards are rare: look every few seconds, not each poll
            self.next_shard_check = time.monotonic() + SHARD_CHECK_SECONDS
            for shard in self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]:
                if shard["ShardId"] not in self.iterators:
                    self.iterators[shard["ShardId"]] = self.streams.get_shard_iterator(
                        StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON",
                    )["ShardIterator"]
        moved = False
        for shard_id, iterator in list(self.iterators.items()):
            if iterator is None:
                continue
            answer = self.streams.get_records(ShardIterator=iterator, Limit=self.source.batch_size)
            records = [r for r in answer.get("Records", []) if matches(self.source.pattern, _filterable(r))]
            failed = self._invoke(records) if records else None
            if failed is not None:  # read again from the failed record
                self.iterators[shard_id] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="AT_SEQUENCE_NUMBER",
                    SequenceNumber=failed)["ShardIterator"]
                time.sleep(1)
                continue
            self.iterators[shard_id] = answer.get("NextShardIterator")
            moved = moved or bool(answer.get("Records"))
        return moved

    def _invoke(self, records: list[dict[str, Any]]) -> str | None:
        """The sequence number to read again from, or None when the batch succeeded."""
        event = {"Records": [_lambda_record(r, self.stream_arn) for r in records]}
        try:
            answer = self.invoke(event) or {}
        except Exception:
            log.exception("%s failed its stream batch; it will be read again", self.source.function_id)
            return records[0]["dynamodb"]["SequenceNumber"]
        failures = answer.get("batchItemFailures") or []
        return failures[0]["itemIdentifier"] if failures and self.source.partial_failures else None


def _filterable(record: dict[str, Any]) -> dict[str, Any]:
    return {"eventName": record.get("eventName"), "dynamodb": record.get("dynamodb", {})}


def _lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    dynamodb = {key: (value.isoformat() if hasattr(value, "isoformat") else value)
                for key, value in record.get("dynamodb", {}).items()}
    return {"eventID": record.get("eventID"), "eventName": record.get("eventName"), "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": dynamodb,
            "eventSourceARN": stream_arn}

