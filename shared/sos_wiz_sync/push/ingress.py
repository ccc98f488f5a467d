"""WizCommerce webhook ingress: authenticate, validate, enqueue, answer — no API call here.

Webhooks are thin (`{"id","event","timestamp","data":{"id"}}`): the ingress enqueues "WC record
X changed" and the push function reads the record. Answers (../shared/api/wizcommerce.md):
413 above 256 KB, 401 for missing or wrong authentication, 400 with a reason for a body that is
not an envelope, 200 for events we do not act on (ignored with a logged reason), 202 once the
change is on the push queue. Bad input never gets a 5xx. Only ids from the body reach the logs.
This function touches no table: what the deployment learns from a delivery (the verified
authentication form, WC-A6; that `customer.address.*` events arrive, WC-A7) travels on the
message, and the push function records it. An address event is queued as a note (200): it names
no customer, so nothing is pushed for it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, ValidationError

from ..config import IngressSettings
from ..models.wiz import ADDRESS_EVENT_PREFIX, CUSTOMER_PUSH_EVENTS, WebhookEnvelope
from ..observability import logger, metrics
from ..secrets import SecretStore
from .events import NOTED_REASON, RecordChanged, WebhookAuth, queued, validation_reason

MAX_BODY_BYTES = 256 * 1024
SIGNATURE_HEADER = "x-wizcommerce-signature"


class WebhookSecrets(BaseModel):
    """The webhook part of the WIZ secret: every active secret (rotation) and, for accounts
    that authenticate by a custom header instead of a signature, that header's name."""

    model_config = ConfigDict(extra="ignore")

    webhook_secrets: list[str] = []
    webhook_auth_header: str | None = None

    def active(self) -> list[bytes]:
        return [secret.encode() for secret in self.webhook_secrets if secret]  # "" would accept ""


def _signature_bytes(value: str) -> tuple[bytes, WebhookAuth] | None:
    """One signature as sent, quotes stripped, and its encoding: hex (the Go sample) or base64
    (the page's text)."""
    value = value.strip().strip('"').strip()
    if len(value) == 64:
        try:
            return bytes.fromhex(value), "hmac-hex"
        except ValueError:
            pass
    try:
        return base64.b64decode(value, validate=True), "hmac-base64"
    except (binascii.Error, ValueError):
        return None


def verified_by(headers: Mapping[str, str], raw_body: bytes, auth: WebhookSecrets) -> WebhookAuth | None:
    """R-CFG-2, both public readings (WC-A6): with a custom header configured, that header must
    carry an active secret; otherwise X-Wizcommerce-Signature holds HMAC-SHA256 signatures of the
    raw body (comma-separated during a rotation), each hex or base64, and one must match an active
    secret. The form that verified the delivery, or None. Constant-time compares."""
    secrets = auth.active()
    if auth.webhook_auth_header:
        given = headers.get(auth.webhook_auth_header.lower(), "").encode()
        matched = bool(given) and any(hmac.compare_digest(secret, given) for secret in secrets)
        return "header" if matched else None
    signatures = [sig for sig in map(_signature_bytes, headers.get(SIGNATURE_HEADER, "").split(",")) if sig]
    expected = [hmac.new(secret, raw_body, hashlib.sha256).digest() for secret in secrets]
    return next((form for e in expected for signature, form in signatures if hmac.compare_digest(e, signature)),
                None)


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
        form = verified_by(headers, body, auth)
        if form is None:
            raise WebhookRejected(401, "missing or wrong webhook signature or key")
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise WebhookRejected(400, f"body is not JSON: {type(exc).__name__}") from None
        try:
            envelope = WebhookEnvelope.model_validate(payload)
        except ValidationError as exc:
            raise WebhookRejected(400, f"not a webhook event: {validation_reason(exc)}") from None
        logger.set_correlation_id(envelope.id)
        reason = ignore_reason(envelope.event)
        if reason:
            logger.info("webhook ignored", extra={"event": envelope.event[:64], "wc_id": envelope.data.id,
                                                  "reason": reason})
            metrics.add_metric(name="WebhooksIgnored", unit=MetricUnit.Count, value=1)
            return answer(200, status="ignored", reason=reason, id=envelope.id)
        noted = envelope.event.startswith(ADDRESS_EVENT_PREFIX)  # WC-A7
        message = queued(RecordChanged(id=envelope.id, entity="address" if noted else "customer",
                                       wc_id=envelope.data.id, source="webhook", event=envelope.event, auth=form))
        self._sqs.send_message(QueueUrl=self._settings.push_queue_url, MessageBody=message.body,
                               MessageGroupId=message.group, MessageDeduplicationId=message.dedup)
        logger.info("webhook queued", extra={"event": envelope.event, "wc_id": envelope.data.id,
                                             "group": message.group})
        metrics.add_metric(name="WebhooksQueued", unit=MetricUnit.Count, value=1)
        if noted:
            return answer(200, status="noted", reason=NOTED_REASON, id=envelope.id)
        return answer(202, status="queued", id=envelope.id)


def ignore_reason(event: str) -> str | None:
    """Why a webhook event is not acted on, or None for the events queued: the customer events we
    push (W/events) and the address events the push function notes (WC-A7). Contact and address
    events carry only their own id, not the customer's ([assumed]); the customer's next edit or
    the poll brings whatever they changed."""
    if event in CUSTOMER_PUSH_EVENTS or event.startswith(ADDRESS_EVENT_PREFIX):
        return None
    if event == "customer.deleted":
        return "customer deleted in WizCommerce: SOS keeps its customer (delete or archive it there)"
    if event.startswith("customer.contact."):
        return "contact event: it names no customer; the customer poll picks up the change"
    return "event not handled (WizCommerce documents only customer events)"
