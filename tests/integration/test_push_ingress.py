"""The webhook route on the local stack (R-CFG-2): API Gateway → WebhookIngressFunction → PushQueue.
Forged or missing authentication is refused with 401 in either mode, nothing reaches the queue;
whatever a sender posts, the answer is never a 5xx. WizCommerce's webhooks are thin customer events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from push_stack import PushStack, push_stack, started_push_stack  # noqa: F401 - fixture

from local.stack import LOCAL_WEBHOOK_SECRET


def queued(stack: PushStack) -> int:
    return stack.runtime.queue_counts("PushQueue").total


def signed(body: bytes, secret: str = LOCAL_WEBHOOK_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {"X-Wizcommerce-Signature": base64.b64encode(digest).decode(), "Content-Type": "application/json"}


def thin(event: str, record_id: str = "cust_1") -> bytes:
    return json.dumps({"id": f"webhook_{event}", "event": event, "timestamp": "2025-01-01T00:00:00.000Z",
                       "data": {"id": record_id}}).encode()


def test_a_forged_or_missing_signature_gets_401_and_queues_nothing(push_stack):
    stack = push_stack
    stack.wiz.create_customer(name="Signed Co")
    [event] = stack.new_events()
    forged = {**event["headers"], "X-Wizcommerce-Signature": signed(event["body"], "guessed-secret")[
        "X-Wizcommerce-Signature"]}
    tampered_body = event["body"].replace(b'"customer.created"', b'"customer.updated"')
    assert stack.post(event["body"], forged) == 401
    assert stack.post(tampered_body, event["headers"]) == 401
    assert stack.post(event["body"], {"Content-Type": "application/json"}) == 401
    assert queued(stack) == 0
    assert stack.post(event["body"], event["headers"]) == 202
    assert queued(stack) == 1


@pytest.fixture
def header_mode_stack(monkeypatch):
    stack = started_push_stack(monkeypatch, wiz_secret={"webhook_auth_header": "X-Webhook-Key",
                                                        "webhook_secrets": ["old-key", LOCAL_WEBHOOK_SECRET]})
    stack.wiz.set_webhook_target(None, secret=LOCAL_WEBHOOK_SECRET, mode="header", header_name="X-Webhook-Key")
    yield stack
    stack.stop()


def test_in_header_mode_a_wrong_header_gets_401_and_the_right_one_pushes(header_mode_stack):
    stack = header_mode_stack
    customer = stack.wiz.create_customer(name="Header Mode Co")
    [event] = stack.new_events()
    assert stack.post(event["body"], {"X-Webhook-Key": "not-the-key"}) == 401
    assert stack.post(event["body"], {"X-Webhook-Key": LOCAL_WEBHOOK_SECRET.upper()}) == 401
    assert queued(stack) == 0
    assert stack.post(event["body"], {"X-Webhook-Key": "old-key"}) == 202  # a secret still active in rotation
    stack.runtime.drain("PushQueue")
    assert stack.mappings.by_wc("customer", customer["id"]) is not None


def test_both_signature_encodings_are_accepted(push_stack):
    body = thin("customer.updated")
    digest = hmac.new(LOCAL_WEBHOOK_SECRET.encode(), body, hashlib.sha256)
    assert push_stack.post(body, {"X-Wizcommerce-Signature": digest.hexdigest()}) == 202
    other = thin("customer.created")
    digest = hmac.new(LOCAL_WEBHOOK_SECRET.encode(), other, hashlib.sha256)
    assert push_stack.post(other, {"X-Wizcommerce-Signature": base64.b64encode(digest.digest()).decode()}) == 202
    assert queued(push_stack) == 2


@pytest.mark.parametrize("event", ["product.updated", "order.confirmed", "customer.deleted"])
def test_events_we_do_not_act_on_are_answered_200_and_not_queued(push_stack, event):
    body = thin(event)
    assert push_stack.post(body, signed(body)) == 200
    assert queued(push_stack) == 0


def test_a_body_over_256_kb_gets_413(push_stack):
    body = json.dumps({"id": "webhook_big", "event": "customer.updated", "timestamp": "2025-01-01T00:00:00Z",
                       "data": {"id": "cust_1", "padding": "x" * 262_144}}).encode()
    assert push_stack.post(body, signed(body)) == 413


json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=30)
envelopes = st.fixed_dictionaries({
    "id": st.text(max_size=140) | json_scalars,
    "event": st.sampled_from(["customer.created", "customer.updated", "customer.deleted", "order.confirmed",
                              "customer.contact.updated"]) | json_scalars,
    "timestamp": st.just("2025-01-01T00:00:00.000Z") | json_scalars,
    "data": st.dictionaries(st.sampled_from(["id", "name", "status"]), json_scalars, max_size=3)})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(body=envelopes.map(lambda v: json.dumps(v, ensure_ascii=False).encode()) | st.binary(max_size=200))
def test_whatever_a_signed_sender_posts_the_answer_is_never_a_5xx(push_stack, body):
    assert push_stack.post(body, signed(body)) in {200, 202, 400}
