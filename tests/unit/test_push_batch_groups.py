"""PushFunction's batch (issue 20): the message groups of a batch are pushed side by side, each
group's records in order, a failure failing only the rest of its own group (FIFO)."""

from __future__ import annotations

import threading

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from sos_wiz_sync.push.router import PushRuntime


class NoNewReadings:
    def follow_if_due(self):
        return None


def runtime(handle) -> PushRuntime:
    push = PushRuntime(deps=None, parking=None, persistence=DynamoDBPersistenceLayer(table_name="unused"),
                       ttl_seconds=3600, contract=NoNewReadings())
    push.handle_record = handle  # the batch's mechanics only: what a record does is tested elsewhere
    return push


def sqs_record(message_id: str, group: str) -> dict:
    return {"messageId": message_id, "receiptHandle": f"rh-{message_id}", "body": "{}",
            "attributes": {"MessageGroupId": group}, "messageAttributes": {}, "md5OfBody": "",
            "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:push.fifo",
            "awsRegion": "us-east-1"}


def test_the_groups_of_a_batch_are_pushed_at_the_same_time():
    # Each record waits until the other group's record is running too: one after another, the
    # first would wait in vain and fail.
    both_running = threading.Barrier(2, timeout=10)

    def handle(record):
        both_running.wait()
        return {"status": "created"}

    batch = {"Records": [sqs_record("a1", "order#A"), sqs_record("b1", "order#B")]}
    answer = runtime(handle).handle_batch(batch, None)
    assert answer == {"batchItemFailures": []}


def test_a_group_keeps_its_order_and_its_failure_fails_only_its_own_later_records():
    seen: dict[str, list[str]] = {}
    lock = threading.Lock()

    def handle(record):
        group = record.attributes.message_group_id
        with lock:
            seen.setdefault(group, []).append(record.message_id)
        if record.message_id == "a1":
            raise RuntimeError("SOS answered 503")
        return {"status": "created"}

    batch = {"Records": [sqs_record("a1", "order#A"), sqs_record("b1", "order#B"), sqs_record("a2", "order#A"),
                         sqs_record("b2", "order#B")]}
    answer = runtime(handle).handle_batch(batch, None)
    # a2 was never tried (it must not overtake a1); B went on
    assert seen == {"order#A": ["a1"], "order#B": ["b1", "b2"]}
    assert sorted(f["itemIdentifier"] for f in answer["batchItemFailures"]) == ["a1", "a2"]


def test_a_batch_whose_every_record_failed_raises_so_lambda_returns_all_of_it():
    def handle(record):
        raise RuntimeError("WizCommerce answered 503")

    with pytest.raises(BatchProcessingError):
        runtime(handle).handle_batch({"Records": [sqs_record("a1", "order#A"), sqs_record("b1", "order#B")]}, None)


def test_an_empty_batch_is_answered_with_no_failures():
    def handle(record):
        raise AssertionError("no record to handle")

    assert runtime(handle).handle_batch({"Records": []}, None) == {"batchItemFailures": []}
