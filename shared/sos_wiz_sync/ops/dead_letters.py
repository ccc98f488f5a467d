"""Parked messages in the dead-letter queues (R-OPS-1): look at them without consuming them,
put one record's back on its queue, or redrive a whole queue.

SQS has no "peek": a message is seen by receiving it. Receiving with visibility 0 would hand
back the same first messages of a FIFO queue again and again, so the messages are held
(received with a short visibility) until all are seen, then released at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .targets import DeadLetterQueue

HOLD_SECONDS = 30          # longer than reading a DLQ takes; released explicitly afterwards
SQS_BATCH = 10             # SQS's receive/send/delete batch limit
REASON_ATTRIBUTE = "failure_reason"  # set by the push function when it parks (push/parking.py)
SENDABLE_ATTRIBUTE_FIELDS = ("DataType", "StringValue", "BinaryValue")  # what SendMessage takes back


@dataclass(frozen=True)
class ParkedMessage:
    queue: str
    message_id: str
    entity: str | None      # order/customer/payment for push events, "stream" or "item" otherwise
    record_id: str | None   # the WC id of a push event, the stream name, the SOS item id
    change_id: str | None   # the push message's announcement id (webhook envelope id, poll id)
    trigger: str | None     # what announced it: a webhook event name, or poll / reconcile
    reason: str | None
    receive_count: int
    sent_at: str

    def matches(self, wanted: str) -> bool:
        return wanted in (self.message_id, self.record_id, self.change_id)


def describe(queue: str, message: dict[str, Any]) -> ParkedMessage:
    """What a parked message is about, read from its body: "WC record X changed" (push), a pull
    request {"stream"} or a hook message {"item_id"}; anything else is shown as it is."""
    try:
        body = json.loads(message["Body"])
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    entity = record_id = change_id = None
    if "wc_id" in body:
        entity, record_id, change_id = body.get("entity"), body["wc_id"], body.get("id")
    elif "stream" in body:
        entity, record_id = "stream", body["stream"]
    elif "item_id" in body:
        entity, record_id = "item", str(body["item_id"])
    attributes = message.get("Attributes", {})
    reason = message.get("MessageAttributes", {}).get(REASON_ATTRIBUTE, {}).get("StringValue")
    sent = datetime.fromtimestamp(int(attributes.get("SentTimestamp", 0)) / 1000, timezone.utc)
    return ParkedMessage(queue=queue, message_id=message["MessageId"], entity=entity,
                         record_id=None if record_id is None else str(record_id), change_id=change_id,
                         trigger=body.get("event") or body.get("source"), reason=reason,
                         receive_count=int(attributes.get("ApproximateReceiveCount", 0)), sent_at=sent.isoformat())


@contextmanager
def _held(sqs: Any, url: str, limit: int) -> Iterator[list[dict[str, Any]]]:
    """Up to `limit` messages of a queue, invisible to others until the block ends; those
    still in the list then (the block removes what it deleted) are visible again at once."""
    messages: list[dict[str, Any]] = []
    try:
        while len(messages) < limit:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(SQS_BATCH, limit - len(messages)),
                                        VisibilityTimeout=HOLD_SECONDS, WaitTimeSeconds=0, AttributeNames=["All"],
                                        MessageAttributeNames=["All"]).get("Messages", [])
            if not batch:
                break
            messages.extend(batch)
        yield messages
    finally:
        for start in range(0, len(messages), SQS_BATCH):
            sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for n, m in enumerate(messages[start:start + SQS_BATCH])])


def peek(sqs: Any, dlq: DeadLetterQueue, limit: int = 100) -> list[ParkedMessage]:
    with _held(sqs, dlq.url, limit) as messages:
        return [describe(dlq.name, message) for message in messages]


def move_back(sqs: Any, dlq: DeadLetterQueue, wanted: Callable[[ParkedMessage], bool],
              limit: int = 1000) -> list[ParkedMessage]:
    """Send the parked messages `wanted` picks back to the queue they came from, then delete
    them from the DLQ, as a redrive does for all. The rest stay parked.

    A FIFO DLQ hands out no more of a message group while some of it is held, so one pass sees
    at most what one receive gave of each group (10 at most); deleting the moved ones frees the
    rest, so passes repeat until one moves nothing."""
    moved: list[ParkedMessage] = []
    while len(moved) < limit:
        moved_now = []
        with _held(sqs, dlq.url, limit - len(moved)) as messages:
            for message in list(messages):
                parked = describe(dlq.name, message)
                if not wanted(parked):
                    continue
                sqs.send_message(**_back_to_source(dlq, message))
                sqs.delete_message(QueueUrl=dlq.url, ReceiptHandle=message["ReceiptHandle"])
                messages.remove(message)
                moved_now.append(parked)
        if not moved_now:
            break
        moved += moved_now
    return moved


def _back_to_source(dlq: DeadLetterQueue, message: dict[str, Any]) -> dict[str, Any]:
    """SendMessage arguments for a parked message, as SQS's redrive sends it: body and attributes
    (the parking reason included); for FIFO the same message group, so the record's events stay
    in order, and the DLQ message id as deduplication id, so a move repeated after a crash
    between send and delete is dropped by the source queue instead of applied twice."""
    request: dict[str, Any] = {"QueueUrl": dlq.source_url, "MessageBody": message["Body"]}
    attributes = {name: {key: value for key, value in attribute.items() if key in SENDABLE_ATTRIBUTE_FIELDS}
                  for name, attribute in message.get("MessageAttributes", {}).items()}
    if attributes:
        request["MessageAttributes"] = attributes
    if dlq.url.endswith(".fifo"):
        request.update(MessageGroupId=message["Attributes"]["MessageGroupId"],
                       MessageDeduplicationId=message["MessageId"])
    return request


def start_redrive(sqs: Any, dlq: DeadLetterQueue) -> dict[str, Any]:
    """Every message of the DLQ back to the queue it came from, by SQS itself
    (StartMessageMoveTask, what the console's "Start DLQ redrive" does); returns the task."""
    arn = sqs.get_queue_attributes(QueueUrl=dlq.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    task = sqs.start_message_move_task(SourceArn=arn)
    return {"queue": dlq.name, "task_handle": task["TaskHandle"]}
