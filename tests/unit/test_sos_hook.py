"""SOS quantity hook ingress (R-INV-6): path token, payload hint, coalescing ids, settings."""

from __future__ import annotations

import json

import pytest
from fake_aws import FakeSecrets, FakeSqs
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sos_wiz_sync.clients.http import ApiError
from sos_wiz_sync.config import FIFO_DEDUP_INTERVAL_SECONDS, SosHookSettings
from sos_wiz_sync.hook.ingress import (
    NOT_FOUND,
    HookRejected,
    SosHookIngress,
    coalescing_message,
    hinted_item_id,
    token_matches,
)
from sos_wiz_sync.hook.worker import retryable

TOKEN = "t0k3n-abcdefghijklmnopqrstuvwxyz"
HOOK_BODY = json.dumps({"id": 42, "name": "Widget", "fullname": "Widget", "description": "", "sku": "W-1",
                        "onhand": 7, "available": 5})


def make_ingress(secret: dict | None = None, now: float = 1_000.0, window: int = 10) -> tuple[SosHookIngress, FakeSqs]:
    sqs = FakeSqs()
    settings = SosHookSettings(sos_hook_secret_id="hook-secret", inventory_hook_queue_url="https://sqs/q.fifo",
                               coalesce_window_seconds=window)
    ingress = SosHookIngress(settings=settings, secrets=FakeSecrets(secret or {"token": TOKEN}), sqs=sqs,
                             clock=lambda: now)
    return ingress, sqs


# -- token -----------------------------------------------------------------------------------

@pytest.mark.parametrize("given_token", [None, "", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "tökén", "../" + TOKEN])
def test_a_wrong_or_missing_token_does_not_match(given_token):
    assert not token_matches(given_token, TOKEN)


def test_the_configured_token_matches():
    assert token_matches(TOKEN, TOKEN)


@pytest.mark.parametrize(("token", "body", "status", "message"), [
    ("forged-token-forged-token", HOOK_BODY, 404, NOT_FOUND),  # what an unknown route would say
    (None, "not json", 404, NOT_FOUND),                        # the token is checked before the body
    (TOKEN, '{"name": "no id"}', 400, "body must be a JSON object with an integer item id"),
])
def test_a_rejected_hook_queues_nothing(token, body, status, message):
    # Given an ingress whose secret holds TOKEN
    ingress, sqs = make_ingress()
    # When a hook arrives with this token and body
    with pytest.raises(HookRejected) as rejected:
        ingress.accept(token, body)
    # Then it gets this answer and nothing is queued
    assert (rejected.value.status, rejected.value.message) == (status, message)
    assert sqs.sent == []


def test_a_short_token_in_the_secret_is_refused_rather_than_trusted():
    ingress, sqs = make_ingress(secret={"token": "short"})
    with pytest.raises(ValidationError):
        ingress.accept("short", HOOK_BODY)
    assert sqs.sent == []


# -- payload -----------------------------------------------------------------------------------

def test_the_item_id_is_taken_from_the_hook_body():
    assert hinted_item_id(HOOK_BODY) == 42
    assert hinted_item_id(HOOK_BODY.encode()) == 42


@pytest.mark.parametrize("body", [None, "", "not json", "[]", "{}", '{"id": null}', '{"id": "abc"}',
                                  '{"id": 1.5}', '{"sku": "W-1", "available": 5}'])
def test_a_body_without_a_usable_item_id_is_a_400(body):
    with pytest.raises(HookRejected) as rejected:
        hinted_item_id(body)
    assert rejected.value.status == 400


def test_a_genuine_hook_queues_the_item_by_its_coalescing_ids():
    ingress, sqs = make_ingress(now=1_234.5, window=10)
    assert ingress.accept(TOKEN, HOOK_BODY) == 42
    assert sqs.sent == [{"QueueUrl": "https://sqs/q.fifo", "MessageGroupId": "42",
                         "MessageDeduplicationId": "42:123", "MessageBody": '{"item_id":42}'}]


# -- coalescing ---------------------------------------------------------------------------------

def test_hooks_in_one_window_share_a_deduplication_id_and_the_next_window_does_not():
    ids = [coalescing_message(7, now, 10)["MessageDeduplicationId"] for now in (100.0, 104.2, 109.999, 110.0)]
    assert ids == ["7:10", "7:10", "7:10", "7:11"]


def test_items_are_spread_over_message_groups():
    assert coalescing_message(1, 100.0, 10)["MessageGroupId"] != coalescing_message(2, 100.0, 10)["MessageGroupId"]
    assert coalescing_message(1, 100.0, 10)["MessageDeduplicationId"] != \
        coalescing_message(2, 100.0, 10)["MessageDeduplicationId"]


@given(first=st.floats(min_value=0, max_value=1e9, allow_nan=False),
       gap=st.floats(min_value=0, max_value=1e4, allow_nan=False),
       window=st.integers(min_value=1, max_value=FIFO_DEDUP_INTERVAL_SECONDS))
def test_a_hook_is_only_absorbed_by_a_message_that_is_read_after_it(first, gap, window):
    """The message sent at `first` is delivered W later (DelaySeconds = W). A later hook that
    SQS drops as its duplicate must come before that delivery — and within the 5-minute
    deduplication interval — or the change it announces could be missed."""
    later = first + gap
    same = (coalescing_message(9, first, window)["MessageDeduplicationId"]
            == coalescing_message(9, later, window)["MessageDeduplicationId"])
    if same:
        assert later < first + window + 1e-6 * first  # float slack at 1e9 seconds
        assert later - first < FIFO_DEDUP_INTERVAL_SECONDS
    if gap >= window * (1 + 1e-9):
        assert not same  # a hook a whole window later is a new read


@pytest.mark.parametrize("window", [0, -1, FIFO_DEDUP_INTERVAL_SECONDS + 1])
def test_a_window_outside_fifo_deduplication_is_refused_at_cold_start(window, monkeypatch):
    monkeypatch.setenv("SOS_HOOK_SECRET_ID", "s")
    monkeypatch.setenv("INVENTORY_HOOK_QUEUE_URL", "q")
    monkeypatch.setenv("COALESCE_WINDOW_SECONDS", str(window))
    with pytest.raises(ValidationError, match="coalesce_window_seconds"):
        SosHookSettings()


# -- worker retry decision ----------------------------------------------------------------------

@pytest.mark.parametrize(("error", "expected"), [
    (ApiError("SOS", "GET", "/item/1", 429, "slow down"), True),
    (ApiError("WizCommerce", "POST", "/v1/inventories", 503, "down"), True),
    (ConnectionError("reset"), True),
    (ApiError("SOS", "GET", "/item/1", 401, "unauthorized"), False),
    (ApiError("WizCommerce", "POST", "/v1/inventories", 404, "no such sku"), False),
])
def test_only_failures_that_may_pass_later_are_retried(error, expected):
    assert retryable(error) is expected
