"""The push path's sample events (events/README.md) are what they say: each webhook sample gets
its documented answer, signed with the documented test secret, and each SQS sample parses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_aws import FakeSecrets, FakeSqs
from pydantic import ValidationError

from local.stack import LOCAL_WEBHOOK_SECRET
from sos_wiz_sync.config import IngressSettings
from sos_wiz_sync.push.events import RecordChanged
from sos_wiz_sync.push.ingress import WebhookIngress

EVENTS = Path(__file__).resolve().parents[2] / "events"
ANSWERS = {
    "webhook_customer_created": 202, "webhook_customer_updated": 202,
    "webhook_customer_updated_base64_signature": 202, "webhook_customer_updated_base64_body": 202,
    "webhook_customer_updated_rotating_secrets": 202, "webhook_customer_updated_header_auth": 202,
    "webhook_customer_deleted": 200, "webhook_customer_contact_created": 200, "webhook_unknown_event": 200,
    "webhook_forged_signature": 401, "webhook_missing_signature": 401, "webhook_malformed_json": 400,
    "webhook_invalid_envelope": 400,
}
HEADER_MODE = {"webhook_customer_updated_header_auth"}


def sample(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def test_every_webhook_sample_is_listed_with_its_answer():
    assert {path.stem for path in EVENTS.glob("webhook_*.json")} == set(ANSWERS)


@pytest.mark.parametrize("name, status", sorted(ANSWERS.items()))
def test_a_webhook_sample_gets_its_documented_answer(name, status):
    secret = {"webhook_secrets": [LOCAL_WEBHOOK_SECRET]}
    if name in HEADER_MODE:
        secret["webhook_auth_header"] = "X-Webhook-Key"
    sqs = FakeSqs()
    ingress = WebhookIngress(settings=IngressSettings(wiz_secret_id="wiz", push_queue_url="https://sqs/push.fifo"),
                             secrets=FakeSecrets(secret), sqs=sqs)
    assert ingress.handle(sample(name))["statusCode"] == status
    assert len(sqs.sent) == (status == 202)


@pytest.mark.parametrize("name", ["sqs_push_order_changes", "sqs_push_customer_changes"])
def test_sqs_samples_carry_change_messages_in_their_records_group(name):
    for record in sample(name)["Records"]:
        message = RecordChanged.model_validate_json(record["body"])
        assert record["attributes"]["MessageDeduplicationId"] == message.id
        assert record["attributes"]["MessageGroupId"] == f"{message.entity}#{message.wc_id}"


def test_the_not_a_change_sample_is_not_a_change_message():
    [record] = sample("sqs_push_not_a_change")["Records"]
    with pytest.raises(ValidationError):
        RecordChanged.model_validate_json(record["body"])
