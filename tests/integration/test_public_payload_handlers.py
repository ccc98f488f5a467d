"""AWS's own sample events (tests/payloads/aws, sources in SOURCES.md) through the real handlers
(functions/*/app.py) on the local stack: moto server and the emulators. What our samples in
events/ show, AWS's show too: the handlers read the event shapes as AWS publishes them."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from push_stack import PushStack, push_stack  # noqa: F401 - fixture

from local.stack import LOCAL_WEBHOOK_SECRET

PAYLOADS = Path(__file__).resolve().parents[1] / "payloads"


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


def test_aws_http_api_event_through_the_webhook_function(push_stack: PushStack):
    """As published (unsigned, someone else's body): 401. Carrying WizCommerce's published
    customer.updated event, signed: 202, and the change is on the push queue."""
    event = payload("aws/apiGatewayProxyV2Event.json")
    runtime = push_stack.runtime
    assert runtime.invoke("WebhookIngressFunction", event)["statusCode"] == 401
    body = (PAYLOADS / "wizcommerce/webhook_customer_updated.json").read_text()
    signature = hmac.new(LOCAL_WEBHOOK_SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
    signed = {**event, "body": body, "headers": {**event["headers"], "x-wizcommerce-signature": signature}}
    answer = runtime.invoke("WebhookIngressFunction", signed)
    assert answer["statusCode"] == 202, answer
    assert json.loads(answer["body"]) == {"status": "queued", "id": "webhook_123"}


def test_aws_sqs_sample_through_the_push_function_parks_each_body_with_its_reason(push_stack: PushStack):
    """AWS's SQS sample holds two bodies that are no "record changed" message: the push
    function parks both in PushDLQ at once with the reason, and reports no failed record
    (nothing to retry), instead of failing the batch or reading them as empty."""
    records = payload("aws/sqsEvent.json")["Records"]
    assert push_stack.invoke_push(records) == set()
    parked = push_stack.dlq_messages()
    assert sorted(message["Body"] for message in parked) == sorted(record["body"] for record in records)
    assert all(message["MessageAttributes"]["failure_reason"]["StringValue"].startswith("not a push message")
               for message in parked)


def test_aws_scheduler_event_runs_the_wc_change_poll(push_stack: PushStack):
    """The WC change poll takes no input from its event: the Input-less envelope AWS publishes
    runs it as our schedule's Input does."""
    answer = push_stack.runtime.invoke("WcPollFunction", payload("aws/eventBridgeSchedulerEvent.json"))
    assert answer and set(answer) <= {"order", "order-cancelled", "customer", "status", "reason"}, answer
