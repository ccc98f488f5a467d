"""SOS quantity hook ingress (R-INV-6): check the path token, take the item id from the body as
a hint, queue one re-read per item and coalescing window. No SOS call here.

The body is never trusted for quantities (it has no onPO and no signature); the worker reads
the item from the API. A wrong or missing token gets the same bare 404 as an unknown route,
so the URL tells a prober nothing.
"""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Callable
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, Field, ValidationError

from ..config import SosHookSettings
from ..models.hook import InventoryHookMessage
from ..models.sos import SosQuantityHookPayload
from ..observability import logger, metrics
from ..secrets import SecretStore

NOT_FOUND = "Not Found"  # what API Gateway answers for a route it does not have


class HookRejected(Exception):
    """`reason` is for our logs; `message` is what the caller is told."""

    def __init__(self, status: int, reason: str, message: str | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.message = message or reason


class HookTokenSecret(BaseModel):
    """`SOS_HOOK_SECRET_ID`: the unguessable path token (a short one would be guessable)."""

    token: str = Field(min_length=16)


def token_matches(given: str | None, expected: str) -> bool:
    """Constant-time compare (bytes, so a non-ASCII path cannot raise)."""
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def hinted_item_id(body: str | bytes | None) -> int:
    try:
        return SosQuantityHookPayload.model_validate_json(body or b"").id
    except ValidationError:
        raise HookRejected(400, "body must be a JSON object with an integer item id") from None


def coalescing_message(item_id: int, now: float, window_seconds: int) -> dict[str, str]:
    """SendMessage arguments that collapse every hook for one item within one window into one message.

    The deduplication id is constant for an item over the window [kW, (k+1)W), and the queue
    delays each message by W (DelaySeconds), so the one message is delivered after its window
    closed: the single read sees every change hooked in it. A later hook falls in window k+1
    and becomes a new message. One message group per item: items are re-read in parallel, and
    two reads of the same item never race.
    """
    window = math.floor(now / window_seconds)
    return {"MessageGroupId": str(item_id), "MessageDeduplicationId": f"{item_id}:{window}",
            "MessageBody": InventoryHookMessage(item_id=item_id).model_dump_json(exclude_defaults=True)}


class SosHookIngress:
    def __init__(self, *, settings: SosHookSettings, secrets: SecretStore, sqs: Any,
                 clock: Callable[[], float] = time.time):
        self._settings = settings
        self._secrets = secrets
        self._sqs = sqs
        self._clock = clock

    @classmethod
    def from_environment(cls) -> "SosHookIngress":
        return cls(settings=SosHookSettings(), secrets=SecretStore(), sqs=boto3.client("sqs"))

    def accept(self, token: str | None, body: str | bytes | None) -> int:
        """Queue a re-read of the hinted item and return its id; HookRejected otherwise."""
        try:
            item_id = self._checked_item_id(token, body)
        except HookRejected as rejected:
            logger.warning("sos hook rejected", extra={"status": rejected.status, "reason": rejected.reason})
            metrics.add_metric(name="SosHooksRejected", unit=MetricUnit.Count, value=1)
            raise
        self._sqs.send_message(QueueUrl=self._settings.inventory_hook_queue_url,
                               **coalescing_message(item_id, self._clock(), self._settings.coalesce_window_seconds))
        logger.info("sos hook queued", extra={"sos_item_id": item_id})
        metrics.add_metric(name="SosHooksQueued", unit=MetricUnit.Count, value=1)
        return item_id

    def _checked_item_id(self, token: str | None, body: str | bytes | None) -> int:
        expected = HookTokenSecret.model_validate(self._secrets.read(self._settings.sos_hook_secret_id)).token
        if not token_matches(token, expected):
            raise HookRejected(404, "wrong or missing path token", NOT_FOUND)
        return hinted_item_id(body)
