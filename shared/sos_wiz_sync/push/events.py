"""The webhook events the push path handles, typed per event type, and how they are queued.

Ingress validates with these models (a bad body is a 400 there, not a parked message later)
and the push function validates again on the way out of the queue.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Literal, Union

from pydantic import Field, TypeAdapter, ValidationError

from ..models.wiz import WebhookEnvelope, WizCustomer, WizOrder, WizPayment

MAX_REASON_ERRORS = 5
# SQS FIFO group and deduplication ids: 1..128 characters of printable ASCII.
_SQS_TOKEN = re.compile(r"^[\x21-\x7e]{1,128}$")


class OrderEvent(WebhookEnvelope):
    event_type: Literal["order.confirmed", "order.updated"]
    data: WizOrder


class CustomerEvent(WebhookEnvelope):
    event_type: Literal["customer.created", "customer.updated"]
    data: WizCustomer


class PaymentEvent(WebhookEnvelope):
    event_type: Literal["payment.succeeded"]
    data: WizPayment


PushEvent = Annotated[Union[OrderEvent, CustomerEvent, PaymentEvent], Field(discriminator="event_type")]
push_event = TypeAdapter(PushEvent)


def sqs_token(value: str) -> str:
    """`value` if SQS accepts it as a group/deduplication id, else its SHA-256 (same input, same id)."""
    return value if _SQS_TOKEN.match(value) else hashlib.sha256(value.encode()).hexdigest()


def record_key(event: OrderEvent | CustomerEvent | PaymentEvent) -> tuple[str, str]:
    """(entity, WC id) of the record an event is about: the key of its failure record."""
    entity = "order" if isinstance(event, OrderEvent) else "customer" if isinstance(event, CustomerEvent) else "payment"
    return entity, event.data.id


def message_group_id(event: OrderEvent | CustomerEvent | PaymentEvent) -> str:
    """One FIFO group per WC record, so its events are applied in the order they came.

    A payment joins its order's group: it is applied after the order is in SOS, so it can be
    linked to it (R-PAY-1).
    """
    entity, wc_id = record_key(event)
    if isinstance(event, PaymentEvent) and event.data.order_id:
        entity, wc_id = "order", event.data.order_id
    return sqs_token(f"{entity}#{wc_id}")


def validation_reason(error: ValidationError) -> str:
    """Field paths and messages only: the body's values never go into answers or logs."""
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
             for e in error.errors(include_url=False, include_input=False, include_context=False)]
    more = f" (+{len(parts) - MAX_REASON_ERRORS} more)" if len(parts) > MAX_REASON_ERRORS else ""
    return "; ".join(parts[:MAX_REASON_ERRORS]) + more
