"""WizCommerce webhook ingress: authenticate, validate, enqueue, answer — no SOS call here.

Answers (../shared/api/wizcommerce.md): 413 above 256 KB, 401 for missing or wrong
authentication, 400 with a reason for a body that is not a valid event, 200 for event types
we do not handle (ignored with a logged reason), 202 once the event is on the push queue.
Bad input never gets a 5xx. Only ids from the body reach the logs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, ValidationError

from ..config import IngressSettings
from ..models.wiz import HANDLED_EVENT_TYPES, WebhookEnvelope
from ..observability import logger, metrics
from ..secrets import SecretStore
from .events import message_group_id, push_event, sqs_token, validation_reason

MAX_BODY_BYTES = 256 * 1024
SIGNATURE_HEADER = "x-wizcommerce-signature"
# Characters SQS refuses in a message body: valid JSON may still carry them (e.g. U+FFFF).
_NOT_QUEUEABLE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class WebhookSecrets(BaseModel):
    """The webhook part of the WIZ secret: every active secret (rotation) and, for accounts
    that authenticate by a custom header instead of a signature, that header's name."""

    model_config = ConfigDict(extra="ignore")

    webhook_secrets: list[str] = []
    webhook_auth_header: str | None = None

    def active(self) -> list[bytes]:
        return [secret.encode() for secret in self.webhook_secrets if secret]  # "" would accept ""


def is_authentic(headers: Mapping[str, str], raw_body: bytes, auth: WebhookSecrets) -> bool:
    """R-CFG-2: a signature (base64 HMAC-SHA256 of the raw body; several, comma-separated,
    during rotation) or the configured header matches any active secret. Constant-time compares."""
    secrets = auth.active()
    signatures = [s.strip().encode() for s in headers.get(SIGNATURE_HEADER, "").split(",") if s.strip()]
    if signatures:
        expected = [base64.b64encode(hmac.new(secret, raw_body, hashlib.sha256).digest()) for secret in secrets]
        if any(hmac.compare_digest(e, s) for e in expected for s in signatures):
            return True
    if auth.webhook_auth_header:
        given = headers.get(auth.webhook_auth_header.lower(), "").encode()
        return bool(given) and any(hmac.compare_digest(secret, given) for secret in secrets)
    return False


def answer(status_code: int, **body: Any) -> dict[str, Any]:
    return {"statusCode": status_code, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def body_size(event: Mapping[str, Any]) -> int:
    """Bytes of the raw body, without decoding it (the size check comes before anything else)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4 - body[-2:].count("=")
    return len(body.encode())


class WebhookRejected(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def raw_body(event: Mapping[str, Any]) -> bytes:
    body = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return body.encode()
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookRejected(400, "body is not valid base64") from None


class WebhookIngress:
    def __init__(self, *, settings: IngressSettings, secrets: SecretStore, sqs: Any):
        self._settings = settings
        self._secrets = secrets
        self._sqs = sqs

    @classmethod
    def from_environment(cls) -> "WebhookIngress":
        return cls(settings=IngressSettings(), secrets=SecretStore(), sqs=boto3.client("sqs"))

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return self._accept(event)
        except WebhookRejected as rejected:
            logger.info("webhook rejected", extra={"status": rejected.status, "reason": rejected.reason})
            metrics.add_metric(name="WebhooksRejected", unit=MetricUnit.Count, value=1)
            return answer(rejected.status, message=rejected.reason)

    def _accept(self, event: Mapping[str, Any]) -> dict[str, Any]:
        if body_size(event) > MAX_BODY_BYTES:
            raise WebhookRejected(413, f"body is larger than {MAX_BODY_BYTES} bytes")
        body = raw_body(event)
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        auth = WebhookSecrets.model_validate(self._secrets.read(self._settings.wiz_secret_id))
        if not is_authentic(headers, body, auth):
            raise WebhookRejected(401, "missing or wrong webhook signature or key")
        try:
            text = body.decode("utf-8")
            payload = json.loads(text)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise WebhookRejected(400, f"body is not JSON: {type(exc).__name__}") from None
        if _NOT_QUEUEABLE.search(text):
            raise WebhookRejected(400, "body holds characters SQS cannot carry")
        try:
            envelope = WebhookEnvelope.model_validate(payload)
        except ValidationError as exc:
            raise WebhookRejected(400, f"not a webhook event: {validation_reason(exc)}") from None
        logger.set_correlation_id(envelope.event_id)
        if envelope.event_type not in HANDLED_EVENT_TYPES:
            logger.info("webhook ignored: event type not handled", extra={"event_type": envelope.event_type[:64]})
            metrics.add_metric(name="WebhooksIgnored", unit=MetricUnit.Count, value=1)
            return answer(200, status="ignored", reason="event type not handled", event_id=envelope.event_id)
        try:
            push = push_event.validate_python(payload)
        except ValidationError as exc:
            raise WebhookRejected(400, f"invalid {envelope.event_type} data: {validation_reason(exc)}") from None
        group = message_group_id(push)
        self._sqs.send_message(QueueUrl=self._settings.push_queue_url, MessageBody=text, MessageGroupId=group,
                               MessageDeduplicationId=sqs_token(push.event_id))
        logger.info("webhook queued", extra={"event_type": push.event_type, "wc_id": push.data.id, "group": group})
        metrics.add_metric(name="WebhooksQueued", unit=MetricUnit.Count, value=1)
        return answer(202, status="queued", event_id=push.event_id)
