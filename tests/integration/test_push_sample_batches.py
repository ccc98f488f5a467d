"""The SQS samples of events/ run through PushFunction on the local stack (events/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

from push_stack import push_stack  # noqa: F401 - fixture

EVENTS = Path(__file__).resolve().parents[2] / "events"


def sample_batch(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def records_data(batch: dict) -> list[dict]:
    return [json.loads(record["body"])["data"] for record in batch["Records"]]


def test_the_order_batch_creates_the_order_applies_its_edit_once_and_links_the_payment(push_stack):
    stack = push_stack
    batch = sample_batch("sqs_push_order_events")
    confirmed, edited, _, payment = records_data(batch)
    stack.wiz.load(orders=[edited])  # WizCommerce holds the order the events are about
    assert stack.runtime.invoke("PushFunction", batch) == {"batchItemFailures": []}
    [sos_order] = stack.sos_orders_numbered(f"WC-{confirmed['display_id']}")
    assert [line["quantity"] for line in sos_order["lines"]] == [3, 12]          # the edit, applied once
    assert sos_order["lines"][0]["unitPrice"] == 134.1                          # 149.00 less 10 %
    assert "Line 1 (TBL-10011): Deliver assembled" in sos_order["comment"]
    [sos_payment] = stack.sos.payments.values()
    assert (sos_payment["number"], sos_payment["salesOrder"]["id"]) == (f"WCP-{payment['id']}", sos_order["id"])


def test_the_customer_batch_creates_then_updates_one_sos_customer(push_stack):
    stack = push_stack
    batch = sample_batch("sqs_push_customer_events")
    created, edited = records_data(batch)
    stack.wiz.load(customers=[created])
    assert stack.runtime.invoke("PushFunction", batch) == {"batchItemFailures": []}
    [sos_customer] = [c for c in stack.sos.customers.values() if c["name"] == created["name"]]
    assert sos_customer["phone"] == edited["phone"]
    assert stack.wiz.customers[created["id"]]["reference_id"] == str(sos_customer["id"])


def test_a_message_that_is_no_webhook_event_is_parked_with_its_reason(push_stack):
    stack = push_stack
    batch = sample_batch("sqs_push_not_an_event")
    assert stack.runtime.invoke("PushFunction", batch) == {"batchItemFailures": []}
    [parked] = stack.dlq_messages()
    assert parked["Body"] == batch["Records"][0]["body"]
    failure = stack.state.get_failure("event", batch["Records"][0]["messageId"])
    assert failure["reason"].startswith("not a push event:")
