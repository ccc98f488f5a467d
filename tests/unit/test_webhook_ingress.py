"""Webhook ingress (R-CFG-2, R-PUSH-1): the thin documented envelope, authentication by signature
(hex or base64, any active secret) or by a custom header, answers by kind of bad input, and the
"record changed" message it queues — never a 5xx for bad input."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

import pytest
from fake_aws import FakeSecrets, FakeSqs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sos_wiz_sync.config import IngressSettings
from sos_wiz_sync.push.events import RecordChanged, queued, sqs_token
from sos_wiz_sync.push.ingress import MAX_BODY_BYTES, WebhookIngress, WebhookSecrets, body_size, verified_by

SECRET = "whsec_current"
OLD_SECRET = "whsec_previous"


def envelope(event: str = "customer.updated", record_id: str = "cust_7", envelope_id: str = "webhook_1") -> bytes:
    return json.dumps({"id": envelope_id, "event": event, "timestamp": "2025-01-01T00:00:00.000Z",
                       "data": {"id": record_id}}).encode()


def signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def b64_signature(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def make_ingress(secret: dict | None = None) -> tuple[WebhookIngress, FakeSqs]:
    sqs = FakeSqs()
    settings_ = IngressSettings(wiz_secret_id="wiz", push_queue_url="https://sqs/push.fifo")
    return WebhookIngress(settings=settings_, secrets=FakeSecrets(secret or {"webhook_secrets": [SECRET]}),
                          sqs=sqs), sqs


def post(ingress: WebhookIngress, body: bytes, headers: dict[str, str], *, b64: bool = False) -> dict:
    return ingress.handle({"headers": headers, "isBase64Encoded": b64,
                           "body": base64.b64encode(body).decode() if b64 else body.decode("utf-8", "replace")})


def status_and_message(answer: dict) -> tuple[int, str]:
    return answer["statusCode"], json.loads(answer["body"]).get("message", "")


# -- authentication -------------------------------------------------------------------------

def test_a_customer_event_queues_customer_x_changed_grouped_by_record_deduplicated_by_envelope_id():
    ingress, sqs = make_ingress()
    body = envelope()
    answer = post(ingress, body, {"X-Wizcommerce-Signature": signature(body)})
    assert answer["statusCode"] == 202
    [sent] = sqs.sent
    assert (sent["QueueUrl"], sent["MessageGroupId"], sent["MessageDeduplicationId"]) == (
        "https://sqs/push.fifo", "customer#cust_7", "webhook_1")
    assert RecordChanged.model_validate_json(sent["MessageBody"]) == RecordChanged(
        id="webhook_1", entity="customer", wc_id="cust_7", source="webhook", event="customer.updated",
        auth="hmac-hex")


# SQS's message characters: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF
SQS_TEXT = re.compile("^[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")


@pytest.mark.parametrize("odd", ["\uffff", "\ufffe", "\u0000", "\u001f", "\ufdd0\U0010ffff"],
                         ids=["U+FFFF", "U+FFFE", "NUL", "U+001F", "other-noncharacters"])
def test_ids_with_characters_sqs_cannot_carry_are_queued_escaped_and_decoded_back_exactly(odd):
    ingress, sqs = make_ingress()
    # JSON escapes them (a sender must, for NUL)
    body = envelope(record_id=f"cust{odd}7", envelope_id=f"webhook{odd}1")
    answer = post(ingress, body, {"X-Wizcommerce-Signature": signature(body)})
    assert answer["statusCode"] == 202
    [sent] = sqs.sent
    assert SQS_TEXT.match(sent["MessageBody"]) and sent["MessageBody"].isascii()
    assert RecordChanged.model_validate_json(sent["MessageBody"]) == RecordChanged(
        id=f"webhook{odd}1", entity="customer", wc_id=f"cust{odd}7", source="webhook", event="customer.updated",
        auth="hmac-hex")
    # the ids SQS takes as group/deduplication ids are printable ASCII; the same record, the same group
    assert sent["MessageGroupId"] == sqs_token(f"customer#cust{odd}7") and sent["MessageGroupId"].isascii()


@given(st.text(min_size=1, max_size=40))
def test_any_ids_round_trip_through_the_escaped_message_body(text):
    message = RecordChanged(id=text, entity="customer", wc_id=text, source="webhook", event="customer.updated")
    body = queued(message).body
    assert SQS_TEXT.match(body) and RecordChanged.model_validate_json(body) == message


@pytest.mark.parametrize("encode, form", [(signature, "hmac-hex"), (b64_signature, "hmac-base64"),
                                          (lambda body: f'"{signature(body)}"', "hmac-hex")],
                         ids=["hex", "base64", "quoted"])
def test_the_signature_may_be_hex_or_base64_quoted_or_not_and_the_message_says_which_wc_a6(encode, form):
    ingress, sqs = make_ingress()
    body = envelope()
    assert post(ingress, body, {"X-Wizcommerce-Signature": encode(body)})["statusCode"] == 202
    assert RecordChanged.model_validate_json(sqs.sent[0]["MessageBody"]).auth == form


def test_during_rotation_the_form_is_that_of_the_signature_that_matched_wc_a6():
    auth = WebhookSecrets(webhook_secrets=[OLD_SECRET, SECRET])
    body = envelope()
    given = f"{signature(body, 'whsec_guess')},{b64_signature(body, OLD_SECRET)}"
    assert verified_by({"x-wizcommerce-signature": given}, body, auth) == "hmac-base64"


def test_during_rotation_any_signature_matching_any_active_secret_passes():
    ingress, _ = make_ingress({"webhook_secrets": [OLD_SECRET, SECRET]})
    body = envelope()
    assert post(ingress, body, {"x-wizcommerce-signature": f"bm90LWl0, {signature(body)}"})["statusCode"] == 202
    assert post(ingress, body, {"x-wizcommerce-signature": b64_signature(body, OLD_SECRET)})["statusCode"] == 202


@pytest.mark.parametrize("headers", [
    {},
    {"X-Wizcommerce-Signature": ""},
    {"X-Wizcommerce-Signature": signature(envelope(), "whsec_guess")},
    {"X-Wizcommerce-Signature": signature(envelope() + b" ")},         # signed another body
    {"X-Wizcommerce-Signature": "ünïcode-not-base64"},
    {"X-Webhook-Key": SECRET},                                         # header mode is not configured
])
def test_a_missing_or_forged_signature_gets_401_and_nothing_is_queued(headers):
    ingress, sqs = make_ingress()
    assert post(ingress, envelope(), headers)["statusCode"] == 401
    assert sqs.sent == []


def test_header_mode_compares_the_configured_header_with_every_secret():
    ingress, sqs = make_ingress({"webhook_secrets": [OLD_SECRET, SECRET], "webhook_auth_header": "X-Webhook-Key"})
    assert post(ingress, envelope(), {"X-Webhook-Key": OLD_SECRET})["statusCode"] == 202
    assert RecordChanged.model_validate_json(sqs.sent[0]["MessageBody"]).auth == "header"  # WC-A6
    body = envelope()
    for forged in ({"X-Webhook-Key": SECRET + "x"}, {"X-Webhook-Key": ""}, {"X-Other-Key": SECRET},
                   {"X-Wizcommerce-Signature": signature(body)}):  # the account uses the header: only it counts
        assert post(ingress, body, forged)["statusCode"] == 401
    assert len(sqs.sent) == 1


def test_an_empty_secret_never_authenticates_an_empty_header():
    auth = WebhookSecrets(webhook_secrets=[""], webhook_auth_header="X-Webhook-Key")
    assert verified_by({"x-webhook-key": ""}, b"{}", auth) is None
    assert verified_by({"x-wizcommerce-signature": signature(b"{}", "")}, b"{}",
                       WebhookSecrets(webhook_secrets=[""])) is None


def test_the_signature_covers_the_raw_body_even_base64_encoded():
    ingress, sqs = make_ingress()
    body = envelope()
    assert post(ingress, body, {"X-Wizcommerce-Signature": signature(body)}, b64=True)["statusCode"] == 202
    assert json.loads(sqs.sent[0]["MessageBody"])["wc_id"] == "cust_7"


# -- bad input: 413, 400, 200 ---------------------------------------------------------------------

def test_a_body_over_256_kb_gets_413_before_anything_else():
    ingress, sqs = make_ingress()
    big = b"x" * (MAX_BODY_BYTES + 1)
    assert post(ingress, big, {})["statusCode"] == 413                      # not even authenticated
    assert post(ingress, big, {}, b64=True)["statusCode"] == 413
    assert sqs.sent == []


@pytest.mark.parametrize("size", [0, 1, 2, 3, 100, 1001])
def test_body_size_of_a_base64_body_is_its_decoded_size(size):
    raw = bytes(range(256)) * 4
    event = {"body": base64.b64encode(raw[:size]).decode(), "isBase64Encoded": True}
    assert body_size(event) == size


@pytest.mark.parametrize("body, reason", [
    (b"not json", "not JSON"),
    (b"\xff\xfe{}", "not JSON"),
    (b"[" * 5000 + b"]" * 5000, "not JSON"),
    (b'["a list"]', "not a webhook event"),
    (json.dumps({"event": "customer.updated", "data": {"id": "c"}}).encode(), "id"),
    (json.dumps({"event_id": "evt_1", "event_type": "order.confirmed", "occurred_at": "2026-05-01T00:00:00Z",
                 "data": {"id": "ord_1"}}).encode(), "not a webhook event"),  # the old, guessed envelope
    (json.dumps({"id": "w", "event": "customer.updated", "timestamp": "yesterday",
                 "data": {"id": "c"}}).encode(), "timestamp"),
    (json.dumps({"id": "w", "event": "customer.updated", "timestamp": "2025-01-01T00:00:00Z",
                 "data": {}}).encode(), "data.id"),
    (envelope(record_id="cust\ud800"), "data.id"),  # a lone surrogate is no text: no WC id holds one
])
def test_a_bad_body_gets_400_with_a_reason_that_quotes_no_values(body, reason):
    ingress, sqs = make_ingress()
    answer = post(ingress, body, {"X-Wizcommerce-Signature": signature(body)}, b64=True)  # raw bytes as sent
    status, message = status_and_message(answer)
    assert status == 400 and reason in message
    assert "yesterday" not in message
    assert sqs.sent == []


@pytest.mark.parametrize("event", ["customer.deleted", "customer.contact.created", "order.confirmed",
                                   "payment.succeeded", "product.updated", "customer_address.updated"])
def test_events_we_do_not_act_on_are_answered_200_with_the_reason(event):
    ingress, sqs = make_ingress()
    body = envelope(event)
    answer = post(ingress, body, {"X-Wizcommerce-Signature": signature(body)})
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["status"] == "ignored" and json.loads(answer["body"])["reason"]
    assert sqs.sent == []


@pytest.mark.parametrize("event", ["customer.address.created", "customer.address.updated", "customer.address.deleted"])
def test_an_address_event_is_answered_200_and_queued_as_a_note_for_the_push_function_wc_a7(event):
    """It names the address, not its customer: nothing to push, but the push function records
    that address events arrive under these names (WC-A7) — the ingress touches no table."""
    ingress, sqs = make_ingress()
    body = envelope(event, record_id="addr_9")
    answer = post(ingress, body, {"X-Wizcommerce-Signature": signature(body)})
    assert answer["statusCode"] == 200 and json.loads(answer["body"])["status"] == "noted"
    [sent] = sqs.sent
    assert sent["MessageGroupId"] == "address#addr_9"
    assert RecordChanged.model_validate_json(sent["MessageBody"]) == RecordChanged(
        id="webhook_1", entity="address", wc_id="addr_9", source="webhook", event=event, auth="hmac-hex")


def test_a_message_queued_before_the_auth_field_existed_still_reads():
    """Messages on the queue or in the DLQ from before WC-A6's field carry no `auth`."""
    old = '{"id":"webhook_1","entity":"customer","wc_id":"cust_7","source":"webhook","event":"customer.updated"}'
    assert RecordChanged.model_validate_json(old).auth is None


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                        max_size=4), max_leaves=12)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"id": json_values | st.text(max_size=200), "event": st.sampled_from(
        ["customer.created", "customer.updated", "customer.deleted", "order.confirmed", "x"]),
        "timestamp": json_values | st.just("2025-01-01T00:00:00.000Z"),
        "data": json_values | st.fixed_dictionaries({"id": json_values | st.text(max_size=200)})},
    ).map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, signed=st.booleans(), b64=st.booleans())
def test_whatever_arrives_the_answer_is_never_a_5xx(body, signed, b64):
    ingress, sqs = make_ingress()
    headers = {"X-Wizcommerce-Signature": signature(body)} if signed else {}
    answer = post(ingress, body, headers, b64=b64)
    assert answer["statusCode"] in {200, 202, 400, 401, 413}
    assert (answer["statusCode"] == 202) == bool(sqs.sent)
    if not signed:
        assert answer["statusCode"] == 401


# -- queueing ----------------------------------------------------------------------------------------

def test_poll_messages_of_an_unchanged_record_are_the_same_message():
    record = {"id": "ord_7", "updated_at": "2026-05-01T00:00:00.123456Z"}
    first, again = (queued(RecordChanged.seen("poll", "order", record)) for _ in range(2))
    assert first == again and first.group == "order#ord_7"
    edited = queued(RecordChanged.seen("poll", "order", {**record, "updated_at": "2026-05-01T00:00:01Z"}))
    assert edited.dedup != first.dedup and edited.group == first.group


@pytest.mark.parametrize("value", ["evt 1", "é", "x" * 129, ""])
def test_ids_sqs_would_refuse_become_a_stable_hash(value):
    token = sqs_token(value)
    assert token == sqs_token(value) and len(token) == 64 and token != value
    assert sqs_token("evt_ok-1") == "evt_ok-1"
