"""The push queue's message: "WC record X changed" — thin, like WizCommerce's webhooks.

The webhook ingress, the scheduled WC change poll and reconciliation all put this on the push
queue; the push function reads the record's current state from the WC API and acts on that
(R-PUSH-1), so how often and in which order a change is announced does not matter.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_REASON_ERRORS = 5
# SQS FIFO group and deduplication ids: 1..128 characters of printable ASCII.
_SQS_TOKEN = re.compile(r"^[\x21-\x7e]{1,128}$")

PushedEntity = Literal["order", "customer"]
# An address event names only the address, not its customer (WC-A7): the push function notes
# that such events arrive and pushes nothing for them.
NotedEntity = Literal["address"]
NOTED_REASON = "an address event names no customer: the customer poll picks up the change"
Source = Literal["webhook", "poll", "reconcile"]
# How the ingress verified a webhook (WC-A6): the custom header, or the HMAC in hex or base64.
WebhookAuth = Literal["header", "hmac-hex", "hmac-base64"]


class RecordChanged(BaseModel):
    """One announcement of a change. `id` is unique per announcement: the webhook envelope id,
    or `<source>:<entity>:<wc id>:<updated_at>` for what the poll and reconciliation saw."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=256)
    entity: PushedEntity | NotedEntity
    wc_id: str = Field(min_length=1, max_length=128)
    source: Source
    event: str | None = Field(default=None, max_length=64)  # the webhook's event name, if any
    # Optional: messages queued before it existed (on the queue, in the DLQ) still read.
    auth: WebhookAuth | None = None  # the webhook's verified form (WC-A6), if any

    @classmethod
    def seen(cls, source: Source, entity: PushedEntity, record: dict) -> "RecordChanged":
        """What the poll or reconciliation enqueues for a record it listed: the same record
        seen again unchanged gives the same id (SQS deduplicates it, idempotency skips it)."""
        return cls(id=f"{source}:{entity}:{record['id']}:{record.get('updated_at') or ''}", entity=entity,
                   wc_id=str(record["id"]), source=source)


@dataclass(frozen=True)
class QueuedMessage:
    body: str
    group: str
    dedup: str


def queued(message: RecordChanged) -> QueuedMessage:
    """The SQS FIFO message: one group per WC record (its changes are applied one at a time),
    deduplicated by the announcement id."""
    return QueuedMessage(body=message_body(message),
                         group=sqs_token(f"{message.entity}#{message.wc_id}"), dedup=sqs_token(message.id))


def message_body(message: RecordChanged) -> str:
    """The message as JSON with every non-ASCII character escaped (\\uXXXX): SQS refuses some
    characters a webhook's ids may hold (U+FFFE, U+FFFF, NUL, …), and the escaped form is plain
    ASCII that any JSON reader (`RecordChanged.model_validate_json`) turns back into exactly the
    same ids. (A lone surrogate is no text at all: the envelope's validation refuses it, 400.)"""
    return json.dumps(message.model_dump(mode="json", exclude_none=True), ensure_ascii=True, separators=(",", ":"))


def sqs_token(value: str) -> str:
    """`value` if SQS accepts it as a group/deduplication id, else its SHA-256 (same input, same id)."""
    return value if _SQS_TOKEN.match(value) else hashlib.sha256(value.encode()).hexdigest()


def record_key(message: RecordChanged) -> tuple[str, str]:
    """(entity, WC id) of the record a message is about: the key of its failure record."""
    return message.entity, message.wc_id


def validation_reason(error: ValidationError) -> str:
    """Field paths and messages only: the body's values never go into answers or logs."""
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
             for e in error.errors(include_url=False, include_input=False, include_context=False)]
    more = f" (+{len(parts) - MAX_REASON_ERRORS} more)" if len(parts) > MAX_REASON_ERRORS else ""
    return "; ".join(parts[:MAX_REASON_ERRORS]) + more
