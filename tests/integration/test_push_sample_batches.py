"""The SQS samples of events/ run through PushFunction on the local stack (events/README.md).
The messages only name their records: the test puts those records into WizCommerce first."""

from __future__ import annotations

import json
from pathlib import Path

from push_stack import push_stack  # noqa: F401 - fixture

EVENTS = Path(__file__).resolve().parents[2] / "events"
STAMP = "2026-05-01T18:05:00.000000Z"


def sample_batch(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def test_the_order_batch_creates_the_order_once_whatever_how_often_it_is_announced(push_stack):
    stack = push_stack
    batch = sample_batch("sqs_push_order_changes")
    [wc_id] = {json.loads(record["body"])["wc_id"] for record in batch["Records"]}
    first, second = (stack.product_for_item(item) for item in stack.mapped_items()[:2])
    stack.wiz.load(orders=[{  # WizCommerce holds the order the messages are about
        "id": wc_id, "reference_id": "", "display_id": "SO-9001", "customer_id": "cust_2", "status": "confirmed",
        "line_items": [{"product_id": first["id"], "sku": first["sku"], "quantity": 3, "unit_price": 149.0,
                        "discount": 10, "discount_type": "percentage", "note": "Deliver assembled"},
                       {"product_id": second["id"], "sku": second["sku"], "quantity": 12, "unit_price": 8.5,
                        "discount": 0, "discount_type": None, "note": ""}],
        "amount": 504.3, "amount_paid": 100.0,
        "customer_note": "", "internal_note": "", "created_at": STAMP, "updated_at": STAMP}])
    assert stack.runtime.invoke("PushFunction", batch) == {"batchItemFailures": []}
    [sos_order] = stack.sos_orders_numbered("WC-SO-9001")
    assert [line["quantity"] for line in sos_order["lines"]] == [3, 12]
    assert sos_order["lines"][0]["unitPrice"] == 134.1                          # 149.00 less 10 %
    assert f"Line 1 ({first['sku']}): Deliver assembled" in sos_order["comment"]
    assert sos_order["depositAmount"] == 100.0                                 # paid online (R-PAY-1)
    assert stack.sos.counters()["POST /api/v2/salesorder"] == 1


def test_the_customer_batch_creates_one_sos_customer(push_stack):
    stack = push_stack
    batch = sample_batch("sqs_push_customer_changes")
    stack.wiz.load(customers=[{
        "id": "cust_42", "reference_id": "", "display_id": "C-00042", "name": "Fjord Outfitters",
        "display_name": "Fjord Outfitters", "first_name": "Ida", "last_name": "Berg",
        "email": "ida.berg@fjord.example", "phone": "+1-555-0199", "status": "active", "assigned_sales_reps": [],
        "assigned_price_list": None, "addresses": [], "created_at": STAMP, "updated_at": STAMP}])
    assert stack.runtime.invoke("PushFunction", batch) == {"batchItemFailures": []}
    [sos_customer] = [c for c in stack.sos.customers.values() if c["name"] == "Fjord Outfitters"]
    assert sos_customer["phone"] == "+1-555-0199" and sos_customer["contact"]["lastName"] == "Berg"
    assert stack.wiz.customers["cust_42"]["reference_id"] == str(sos_customer["id"])
    assert stack.sos.counters()["POST /api/v2/customer"] == 1


def test_a_message_that_is_no_change_message_is_parked_with_its_reason(push_stack):
    stack = push_stack
    batch = sample_batch("sqs_push_not_a_change")
    assert stack.runtime.invoke("PushFunction", batch) == {"batchItemFailures": []}
    [parked] = stack.dlq_messages()
    assert parked["Body"] == batch["Records"][0]["body"]
    failure = stack.state.get_failure("message", batch["Records"][0]["messageId"])
    assert failure["reason"].startswith("not a push message:")
