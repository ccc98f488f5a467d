"""The webhook route on the local stack (R-CFG-2): API Gateway → WebhookIngressFunction → PushQueue.
Forged or missing authentication is refused with 401 in either mode, nothing reaches the queue;
whatever a sender posts, the answer is never a 5xx."""

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


def test_a_forged_or_missing_signature_gets_401_and_queues_nothing(push_stack):
    stack = push_stack
    stack.place_order(stack.mapped_items()[:1])
    [event] = stack.new_events()
    forged = {**event["headers"], "X-Wizcommerce-Signature": signed(event["body"], "guessed-secret")[
        "X-Wizcommerce-Signature"]}
    tampered_body = event["body"].replace(b'"quantity": 2', b'"quantity": 200')
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
    order = stack.place_order(stack.mapped_items()[:1])
    [event] = stack.new_events()
    assert stack.post(event["body"], {"X-Webhook-Key": "not-the-key"}) == 401
    assert stack.post(event["body"], {"X-Webhook-Key": LOCAL_WEBHOOK_SECRET.upper()}) == 401
    assert queued(stack) == 0
    assert stack.post(event["body"], {"X-Webhook-Key": "old-key"}) == 202  # a secret still active in rotation
    stack.sync()
    assert stack.the_sos_order(order)["customer"]["id"] == 2


def test_unknown_event_types_are_answered_200_and_not_queued(push_stack):
    body = json.dumps({"event_id": "evt_x", "event_type": "product.updated", "occurred_at": "2026-05-01T00:00:00Z",
                       "data": {"id": "prod_1"}}).encode()
    assert push_stack.post(body, signed(body)) == 200
    assert queued(push_stack) == 0


def test_a_body_over_256_kb_gets_413(push_stack):
    body = json.dumps({"event_id": "evt_big", "event_type": "order.updated", "occurred_at": "2026-05-01T00:00:00Z",
                       "data": {"padding": "x" * 262_144}}).encode()
    assert push_stack.post(body, signed(body)) == 413


json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=30)
envelopes = st.fixed_dictionaries({
    "event_id": st.text(max_size=140) | json_scalars,
    "event_type": st.sampled_from(["order.confirmed", "order.updated", "customer.created", "customer.updated",
                                   "payment.succeeded", "order.deleted"]) | json_scalars,
    "occurred_at": st.just("2026-05-01T00:00:00Z") | json_scalars,
    "data": st.dictionaries(st.sampled_from(["id", "display_id", "customer_id", "status", "amount", "line_items",
                                             "version", "order_id"]), json_scalars, max_size=8)})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(body=envelopes.map(lambda v: json.dumps(v, ensure_ascii=False).encode()) | st.binary(max_size=200))
def test_whatever_a_signed_sender_posts_the_answer_is_never_a_5xx(push_stack, body):
    assert push_stack.post(body, signed(body)) in {200, 202, 400}
