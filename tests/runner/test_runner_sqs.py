"""SQS event-source mapping: Lambda's event, batch item failures, retries, DLQ and redrive."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from local.runner import InvocationError


def send(runtime, queue_id, message_id, action, group="g", **options):
    body = json.dumps({"id": message_id, "action": action})
    return runtime.sqs.send_message(QueueUrl=runtime.ref(queue_id), MessageBody=body, MessageGroupId=group,
                                    **options)["MessageId"]


def seen(runtime, message_id):
    """What the worker recorded, by receive count."""
    items = runtime.dynamodb.query(TableName=runtime.ref("StateTable"), KeyConditionExpression="pk = :pk",
                                   ExpressionAttributeValues={":pk": {"S": f"SEEN#{message_id}"}})["Items"]
    return {item["sk"]["S"]: json.loads(item["record"]["S"]) for item in items}


def receive_all(runtime, queue_id):
    return runtime.sqs.receive_message(QueueUrl=runtime.ref(queue_id), MaxNumberOfMessages=10,
                                       MessageSystemAttributeNames=["All"], VisibilityTimeout=0).get("Messages", [])


def test_the_handler_gets_lambdas_sqs_event(runtime):
    message_id = send(runtime, "WorkQueue", "a", "ok",
                      MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}})
    assert runtime.drain("WorkQueue").deleted == 1
    record = seen(runtime, "a")["1"]
    body = json.dumps({"id": "a", "action": "ok"})
    assert record["messageId"] == message_id
    assert record["body"] == body
    assert record["md5OfBody"] == hashlib.md5(body.encode()).hexdigest()
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == (
        "aws:sqs", runtime.queues["WorkQueue"].arn, "us-east-1")
    assert record["messageAttributes"] == {"kind": {"stringValue": "order", "stringListValues": [],
                                                    "binaryListValues": [], "dataType": "String"}}
    attributes = record["attributes"]
    assert attributes["ApproximateReceiveCount"] == "1"
    assert attributes["MessageGroupId"] == "g"
    assert attributes["MessageDeduplicationId"] == hashlib.sha256(body.encode()).hexdigest()
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= attributes.keys()


def test_reported_item_failures_stay_on_the_queue_and_the_rest_is_deleted(runtime):
    send(runtime, "WorkQueue", "a", "ok", group="g1")
    failing = send(runtime, "WorkQueue", "b", "fail", group="g2")
    send(runtime, "WorkQueue", "c", "ok", group="g3")
    result = runtime.drain("WorkQueue", max_batches=1)
    assert (result.batches, result.received, result.deleted, result.failed) == (1, 3, 2, 1)
    assert [message["MessageId"] for message in receive_all(runtime, "WorkQueue")] == [failing]


def test_a_handler_error_returns_the_whole_batch(runtime):
    send(runtime, "WorkQueue", "a", "ok", group="g1")
    send(runtime, "WorkQueue", "r", "raise", group="g2")
    result = runtime.drain("WorkQueue", max_batches=1)
    assert (result.deleted, result.failed) == (0, 2)
    assert [str(error) for error in result.errors] == ["the whole batch fails"]
    assert len(receive_all(runtime, "WorkQueue")) == 2


def test_an_invalid_batch_item_failure_fails_the_whole_batch(runtime):
    send(runtime, "WorkQueue", "a", "ok", group="g1")
    send(runtime, "WorkQueue", "m", "misreport", group="g2")
    result = runtime.drain("WorkQueue", max_batches=1)
    assert (result.deleted, result.failed) == (0, 2)
    assert isinstance(result.errors[0], InvocationError)


def test_without_fast_retries_a_failed_message_waits_for_its_visibility_timeout(make_runtime):
    runtime = make_runtime(retry_visibility_seconds=None)
    send(runtime, "WorkQueue", "b", "fail")
    runtime.drain("WorkQueue", max_batches=1)
    counts = runtime.queue_counts("WorkQueue")
    assert (counts.visible, counts.in_flight) == (0, 1)


def test_after_max_receive_count_the_message_is_in_the_dlq(runtime):
    message_id = send(runtime, "WorkQueue", "x", "fail")
    result = runtime.drain("WorkQueue")
    assert (result.batches, result.failed) == (2, 2)  # maxReceiveCount is 2
    assert set(seen(runtime, "x")) == {"1", "2"}
    assert runtime.queue_counts("WorkQueue").total == 0
    [dead] = receive_all(runtime, "WorkDLQ")
    assert dead["MessageId"] == message_id
    assert dead["Attributes"]["MessageGroupId"] == "g"
    # SQS gives a message moved to a FIFO DLQ its own id as deduplication id.
    assert dead["Attributes"]["MessageDeduplicationId"] == message_id


def test_redrive_moves_dlq_messages_back_to_their_source(runtime):
    send(runtime, "WorkQueue", "x", "fail", group="orders-1",
         MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}})
    runtime.drain("WorkQueue")
    assert runtime.redrive("WorkDLQ") == 1
    assert runtime.queue_counts("WorkDLQ").total == 0
    [back] = runtime.sqs.receive_message(QueueUrl=runtime.ref("WorkQueue"), MessageSystemAttributeNames=["All"],
                                         MessageAttributeNames=["All"]).get("Messages", [])
    assert json.loads(back["Body"]) == {"id": "x", "action": "fail"}
    assert back["Attributes"]["MessageGroupId"] == "orders-1"
    assert back["Attributes"]["ApproximateReceiveCount"] == "1"
    assert back["MessageAttributes"]["kind"]["StringValue"] == "order"


def test_fifo_deduplication_outlives_the_deleted_message(runtime):
    send(runtime, "WorkQueue", "d", "ok")
    assert runtime.drain("WorkQueue").deleted == 1
    send(runtime, "WorkQueue", "d", "ok")  # same body, content-based deduplication: SQS drops it
    assert runtime.queue_counts("WorkQueue").total == 0


def test_queue_delay_seconds_hold_messages_back(make_runtime):
    runtime = make_runtime(parameters={"CoalesceWindowSeconds": 5})
    runtime.sqs.send_message(QueueUrl=runtime.ref("HookQueue"), MessageBody="item-1")
    counts = runtime.queue_counts("HookQueue")
    assert (counts.visible, counts.delayed) == (0, 1)


def test_pollers_deliver_in_the_background(runtime):
    runtime.start_pollers(interval_seconds=0.02)
    send(runtime, "WorkQueue", "p", "ok")
    deadline = time.monotonic() + 5
    while not seen(runtime, "p") and time.monotonic() < deadline:
        time.sleep(0.02)
    runtime.stop_pollers()
    assert set(seen(runtime, "p")) == {"1"}


def test_drain_names_a_queue_or_a_function_with_one_trigger(runtime):
    assert runtime.drain("WorkerFunction").batches == 0
    with pytest.raises(KeyError, match="'HookQueue' names 0 SQS triggers"):
        runtime.drain("HookQueue")
