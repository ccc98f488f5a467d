"""Parking a message in the push DLQ at once (R-REF-2, R-OPS-1): a business failure retrying
cannot fix waits there, with its reason, for an operator's redrive after the fix."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from .events import sqs_token

SQS_MAX_MESSAGE_BYTES = 256 * 1024
REASON_ATTRIBUTE = "failure_reason"
MAX_REASON_CHARS = 256


class DeadLetterParking:
    def __init__(self, *, sqs: Any, queue_url: str):
        self._sqs = sqs
        self._queue_url = queue_url

    def park(self, record: SQSRecord, reason: str) -> None:
        """Same body and group as the original, so a redrive puts it back where it was. The
        deduplication id is the SQS message id: parking one delivery twice (a crash between
        park and the batch answer) leaves one copy."""
        message: dict[str, Any] = {
            "QueueUrl": self._queue_url, "MessageBody": record.body,
            "MessageGroupId": record.attributes.message_group_id or sqs_token(record.message_id),
            "MessageDeduplicationId": sqs_token(record.message_id),
        }
        reason = reason[:MAX_REASON_CHARS]
        attribute_bytes = len(REASON_ATTRIBUTE) + len("String") + len(reason.encode())
        if len(record.body.encode()) + attribute_bytes <= SQS_MAX_MESSAGE_BYTES:  # the reason rides along if it fits
            message["MessageAttributes"] = {REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason}}
        self._sqs.send_message(**message)
