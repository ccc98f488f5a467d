"""Scenario 2 — outages (DESIGN failure model: SOS and WizCommerce may answer 429 or 5xx, time out,
or be down for an hour; respect Retry-After; nothing is ever dropped silently; R-OPS-1: a redrive
after the cause is fixed syncs each parked push exactly once).

Three phases on one stack, WizCommerce users at work throughout:
1. SOS is down (every API call answers 503) longer than SQS retries a message: the webhooks are
   still accepted at once, and every push ends in the DLQ with its reason;
2. SOS comes back flaky: 5xx bursts, writes applied but answered with a 500, requests that hang
   past the client's timeout (and are applied after it gave up), the access token expiring
   between two batches; WizCommerce answers 429 with Retry-After;
3. recovery: faults cleared, the DLQ redriven once — SOS must then hold every record exactly once
   at its latest revision; a second redrive (and replaying every parked message once more)
   changes nothing.

Time is compressed where the suite cannot wait (stated where it is done): urllib3's backoff
sleeps a five-hundredth of its time, SQS redelivers a failed message after 1 s (the queue's
VisibilityTimeout is 720 s), and the push function's HTTP timeout is 1 s (20 s by default).
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import time
from dataclasses import replace

import pytest

from local import ops
from push_stack import MAX_RECEIVE_COUNT
from resilience_stack import WRITE_METHODS, compress_backoff, drain_until_settled
from resilience_workload import Deliveries, StoreActivity, sos_outcome

SEED = 2027
BACKOFF_FACTOR = 0.002
RETRY_VISIBILITY_SECONDS = 1     # timeout + this > the hang: a retry never overtakes its own request
HTTP_TIMEOUT_SECONDS = 1
HANG_MS = 1500                   # SOS answers (and applies) after the client has given up
RETRY_AFTER_SECONDS = 1
# SOS writes applied but answered with a 500, and requests answered only after the client gave up
# PUT /salesorder: order edits and online payments (the SOS order's deposit, R-PAY-1)
APPLIED_THEN_500 = (("POST", "/salesorder", 3), ("PUT", "/salesorder", 4), ("POST", "/customer", 1))
HANGS = (("POST", "/salesorder", 2), ("PUT", "/salesorder", 1))
SOS_API = "/api/v2"


@pytest.fixture
def outage_stack(make_stack, tmp_path):
    watched = make_stack()
    runtime = watched.stack.runtime
    runtime.retry_visibility_seconds = RETRY_VISIBILITY_SECONDS
    push = runtime.functions["PushFunction"]
    runtime.functions["PushFunction"] = replace(  # settings' http_timeout_seconds, before the cold start
        push, environment={**push.environment, "HTTP_TIMEOUT_SECONDS": str(HTTP_TIMEOUT_SECONDS)})
    return watched, compress_backoff(runtime, BACKOFF_FACTOR, tmp_path)


def waits_after_429(wiz_requests) -> list[float]:
    """For each 429 WizCommerce answered: how long after that answer the client asked the same
    thing again (the same request, sent after the answer: the push's message groups send their
    requests side by side, and another group's identical one may already be on its way)."""
    served = wiz_requests.served()
    waits = []
    for position, answer in enumerate(served):
        if answer.status == 429:
            retry = next(later for later in served[position + 1:] if later.at >= answer.answered_at
                         and (later.method, later.path, later.query) == (answer.method, answer.path, answer.query))
            waits.append(retry.at - answer.answered_at)
    return waits


def test_sos_down_then_flaky_wc_throttling_and_token_expiry_lose_and_duplicate_nothing(outage_stack, scale, figures):
    watched, backoff = outage_stack
    stack, sos, wiz = watched.stack, watched.stack.sos, watched.stack.wiz
    rng = random.Random(SEED)
    activity, deliveries = StoreActivity(stack, rng), Deliveries(stack, rng, times=1, spread=0)
    down = scale.outage_events // 4  # events while SOS is down; the rest while it is flaky

    # Given SOS down for longer than SQS retries (every API call answers 503)
    sos.inject_5xx(count=None, seconds=3600, status=503, path=SOS_API)
    # When users keep working in WizCommerce and PushFunction works the queue
    activity.act(down)
    deliveries.collect(0)
    deliveries.post_due(0)
    attempts_down = drain_until_settled(stack, wait_seconds=RETRY_VISIBILITY_SECONDS + 1)
    # Then every webhook was accepted at once (the ingress never calls SOS), nothing reached SOS,
    # and every change is parked in the DLQ after maxReceiveCount attempts, its reason recorded
    assert dict(deliveries.answers) == {202: deliveries.webhooks_posted}
    assert sos.counters().get("POST /api/v2/salesorder", 0) == 0 and len(sos.sales_orders) == 0
    parked = count_dlq(stack)
    assert parked == deliveries.posted and attempts_down == MAX_RECEIVE_COUNT * deliveries.posted
    assert {failure["reason"] for failure in stack.state.open_failures(limit=1000)} == {"sos-503"}

    # Given SOS back but flaky, WizCommerce throttling, and the SOS token about to expire
    sos.clear_faults()
    sos.inject_5xx(count=6, status=503, path=SOS_API)
    for method, path, count in APPLIED_THEN_500:
        sos.inject_write_then_5xx(count=count, status=500, method=method, path=SOS_API + path)
    for method, path, count in HANGS:
        sos.inject_latency(HANG_MS, count=count, method=method, path=SOS_API + path)
    wiz.inject_429(count=4, retry_after=RETRY_AFTER_SECONDS, method="PUT", path="/v1/orders")
    wiz.inject_429(count=2, retry_after=RETRY_AFTER_SECONDS, method="GET", path="/v1/products")
    # When users keep working, and the token expires after the first batch of the queue's work
    activity.act(scale.outage_events - down)
    deliveries.collect(1)
    deliveries.post_due(1)
    stack.runtime.drain("PushQueue", max_batches=1)
    sos.expire_tokens()
    drain_until_settled(stack, wait_seconds=RETRY_VISIBILITY_SECONDS + 1)
    # Then every injected fault was met (the pushes ran into each of them)
    assert [rule for rule in sos.faults.describe() + wiz.faults.describe() if rule["count"]] == []

    # When the faults are over and the operator redrives the DLQ once
    sos.clear_faults()
    wiz.clear_faults()
    recovered_at = time.monotonic()
    parked_messages = []
    redriven = redrive_keeping_copies(stack, parked_messages)
    now = 2
    while True:  # the changes our own writes make are announced too, as WizCommerce and the poll do
        drain_until_settled(stack, wait_seconds=RETRY_VISIBILITY_SECONDS + 1)
        now += 1
        if not deliveries.collect(now):
            break
        deliveries.post_due(now)
    recovery_seconds = time.monotonic() - recovered_at

    # Then SOS holds every record exactly once at its latest revision, nothing is left parked
    outcome = sos_outcome(stack, activity, watched.sos_requests)
    assert outcome.exact, "\n".join(outcome.problems)
    assert count_dlq(stack) == 0 and stack.state.open_failures(limit=1000) == []
    assert redriven == len(parked_messages) >= parked
    # ... and Retry-After was waited out each time
    faulted = sos.faulted_counters()
    assert sum(faulted.values()) >= parked * MAX_RECEIVE_COUNT
    waits = waits_after_429(watched.wiz_requests)
    assert len(waits) == 6 and min(waits) >= RETRY_AFTER_SECONDS - 0.05
    # ... and the expired token was refreshed and the new pair written back to Secrets Manager
    assert sos.counters().get("POST /oauth2/token", 0) >= 1
    assert sos_secret(stack)["refresh_token"] == sos.credentials()["refresh_token"]

    # When the DLQ is redriven again, and every message it held is replayed once more as well
    sos_writes = writes(watched.sos_requests)
    assert stack.redrive() == 0
    for body, group in parked_messages:
        stack.send_to_push_queue(body, group)
    drain_until_settled(stack, wait_seconds=RETRY_VISIBILITY_SECONDS + 1)
    # Then nothing changes in SOS: not one write
    assert writes(watched.sos_requests) == sos_writes
    assert sos_outcome(stack, activity, watched.sos_requests).exact
    figures.record("outages", user_events=activity.event_count, events_with_echoes=deliveries.events,
                   parked_while_sos_down=parked, attempts_while_down=attempts_down, redriven=redriven,
                   records=outcome.records, duplicates=outcome.duplicates, lost=outcome.missing,
                   not_latest=outcome.not_latest, stale_overwrites=outcome.stale_overwrites,
                   sos_faulted_answers=sum(faulted.values()), sos_hung_past_timeout=sum(n for *_, n in HANGS),
                   sos_applied_then_500=sum(n for *_, n in APPLIED_THEN_500), wc_429_answers=len(waits),
                   min_wait_after_429_s=round(min(waits), 2),
                   token_refreshes=sos.counters().get("POST /oauth2/token", 0),
                   replayed_after_recovery=len(parked_messages), sos_writes_from_replays=0,
                   client_retries_backed_off=len(backoff.intended),
                   longest_backoff_s=round(max(backoff.intended, default=0), 2),
                   max_recovery_seconds=round(recovery_seconds, 1))


def sos_secret(stack) -> dict:
    runtime = stack.runtime
    return json.loads(runtime.secretsmanager.get_secret_value(SecretId=runtime.ref("SosSecret"))["SecretString"])


def count_dlq(stack) -> int:
    return stack.runtime.queue_counts("PushDLQ").total


def redrive_keeping_copies(stack, copies: list[tuple[str, str]]) -> int:
    """The console's "redrive to source" of the push DLQ; the body and group of every message it
    moved are appended to `copies` (SQS cannot show a FIFO group's messages behind a held one,
    so they are taken as they move)."""
    sqs = stack.runtime.sqs
    send_batch = sqs.send_message_batch

    def keep(**request):
        copies.extend((entry["MessageBody"], entry["MessageGroupId"]) for entry in request["Entries"])
        return send_batch(**request)

    sqs.send_message_batch = keep
    try:
        return stack.redrive()
    finally:
        del sqs.send_message_batch


def writes(journal) -> int:
    return sum(1 for served in journal.served() if served.method in WRITE_METHODS)


def test_a_customer_whose_push_failed_while_sos_was_down_has_no_open_failure_once_it_is_in_sos(make_stack,
                                                                                               tmp_path):
    stack = make_stack().stack
    compress_backoff(stack.runtime, BACKOFF_FACTOR, tmp_path)
    # Given SOS down while a new customer's webhook arrives: its push fails until it is parked
    stack.sos.inject_5xx(count=None, seconds=3600, status=503, path=SOS_API)
    customer = stack.wiz.create_customer(name="Outage Buyer", email="ap@outage-buyer.example")
    stack.deliver(stack.new_events())
    stack.runtime.drain("PushQueue")
    assert stack.state.get_failure("customer", customer["id"])["status"] == "open"
    # When SOS is back and the DLQ is redriven
    stack.sos.clear_faults()
    assert stack.redrive() == 1
    stack.sync()
    # Then the customer is in SOS once, and its failure is resolved (not listed as open forever)
    assert [c["name"] for c in stack.sos.customers.values()].count("Outage Buyer") == 1
    assert stack.state.get_failure("customer", customer["id"])["status"] == "resolved"
    assert stack.state.open_failures() == []


def test_retrying_a_record_moves_back_every_parked_event_of_it_even_more_than_one_receive_returns(make_stack,
                                                                                                  tmp_path):
    stack = make_stack().stack
    compress_backoff(stack.runtime, BACKOFF_FACTOR, tmp_path)
    # Given SOS down while an order is confirmed and edited a dozen times, each state announced (as
    # the WC change poll does): 13 changes parked in one FIFO group, more than one SQS receive
    # hands out (10)
    stack.sos.inject_5xx(count=None, seconds=3600, status=503, path=SOS_API)
    order = stack.place_order(stack.mapped_items()[:1], internal_note="rev 1")
    stamps = [order["updated_at"]] + [stack.wiz.update_order(order["id"], internal_note=f"rev {rev}")["updated_at"]
                                      for rev in range(2, 14)]
    for stamp in stamps:
        stack.send_to_push_queue(stack.change_message("order", order["id"], f"poll:order:{order['id']}:{stamp}"),
                                 f"order#{order['id']}")
    stack.runtime.drain("PushQueue")
    assert count_dlq(stack) == 13
    # When SOS is back and the operator retries that order with sos-wiz-ops
    stack.sos.clear_faults()
    with contextlib.redirect_stdout(io.StringIO()):
        assert ops.run(stack.runtime, ["retry", order["id"]]) == 0
    stack.sync()
    # Then all 13 went back and were applied: SOS has the last revision, nothing is left parked
    assert count_dlq(stack) == 0
    assert stack.the_sos_order(order)["comment"] == "rev 13"
