"""R-PUSH-1 end to end on the local stack: WizCommerce sends no order or payment webhook, yet a
confirmed order — and then its online payment — is in SOS within the poll interval plus one push,
exactly once; announced five more times, it is still created once. The schedule fires on its own
(`rate(1 minute)`, time compressed) and the push queue is polled as the event-source mapping does."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from local.aws import use_local_aws
from local.runner import LocalRuntime
from local.stack import LOCAL_WEBHOOK_SECRET, EmbeddedStack

ROOT = Path(__file__).resolve().parents[2]
SECONDS_PER_MINUTE = 2.0   # the poll's rate(1 minute), compressed
ONE_PUSH_SECONDS = 15.0    # generous: one push is a few hundred ms here, the machine is shared


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[LocalRuntime, EmbeddedStack]]:
    with EmbeddedStack(items=120, customers=6) as embedded:
        use_local_aws(embedded.endpoints.aws)
        embedded.wiz.set_webhook_target(None, secret=LOCAL_WEBHOOK_SECRET)
        runtime = LocalRuntime(ROOT / "template.yaml", stack_name=f"poll-e2e-{uuid.uuid4().hex[:6]}",
                               parameters={**embedded.parameter_overrides(), "OrderNumberPrefix": "WC-"},
                               secret_values=embedded.secret_values(), endpoint_url=embedded.endpoints.aws,
                               containers=True)
        runtime.start()
        # A deployment whose first sync is done: the WC change poll waits for it (R-TIME-2)
        runtime.dynamodb.put_item(TableName=runtime.ref("StateTable"), Item={
            "pk": {"S": "FIRSTSYNC"}, "sk": {"S": "FIRSTSYNC"}, "status": {"S": "done"},
            "finished_at": {"S": datetime.now(timezone.utc).isoformat()}})
        runtime.start_pollers()
        runtime.start_scheduler(seconds_per_minute=SECONDS_PER_MINUTE)
        try:
            yield runtime, embedded
        finally:
            runtime.stop()


def wait_for(condition, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout:.0f} s")


def a_product(embedded: EmbeddedStack) -> dict:
    return next(p for p in embedded.wiz.products.values()
                if p["reference_id"] and int(p["reference_id"]) in embedded.stocked_mapped_item_ids())


def sos_orders(embedded: EmbeddedStack, order: dict) -> list[dict]:
    return [o for o in embedded.sos.sales_orders.values() if o["number"] == f"WC-{order['display_id']}"]


def test_a_confirmed_order_with_no_webhook_is_in_sos_within_the_poll_interval_plus_one_push(running):
    runtime, embedded = running
    outbox = len(embedded.wiz.outbox)
    order = embedded.wiz.create_order("cust_2", [{"product_id": a_product(embedded)["id"], "quantity": 2,
                                                  "unit_price": 12.5}])
    assert len(embedded.wiz.outbox) == outbox  # WizCommerce documents no order event: none was sent
    took = wait_for(lambda: sos_orders(embedded, order), SECONDS_PER_MINUTE + ONE_PUSH_SECONDS)
    assert took < SECONDS_PER_MINUTE + ONE_PUSH_SECONDS
    # And it stays one order while the poll keeps running (its own reference write included)
    wait_for(lambda: embedded.wiz.orders[order["id"]]["reference_id"], ONE_PUSH_SECONDS)
    time.sleep(3 * SECONDS_PER_MINUTE)
    [sos_order] = sos_orders(embedded, order)
    assert embedded.wiz.orders[order["id"]]["reference_id"] == str(sos_order["id"])

    # Then its online payment (amount_paid rising, no event either) reaches the SOS order's deposit
    embedded.wiz.record_payment(order["id"], 10.0)
    wait_for(lambda: sos_orders(embedded, order)[0]["depositAmount"] == 10.0,
             SECONDS_PER_MINUTE + ONE_PUSH_SECONDS)


def test_an_order_announced_five_more_times_is_still_created_once(running):
    runtime, embedded = running
    order = embedded.wiz.create_order("cust_3", [{"product_id": a_product(embedded)["id"], "quantity": 1,
                                                  "unit_price": 3.0}])
    for n in range(5):  # the poll's, reconciliation's and redelivered announcements of the same order
        runtime.sqs.send_message(QueueUrl=runtime.ref("PushQueue"), MessageGroupId=f"order#{order['id']}",
                                 MessageDeduplicationId=f"again-{n}", MessageBody=json.dumps(
                                     {"id": f"again-{n}", "entity": "order", "wc_id": order["id"],
                                      "source": "reconcile"}))
    wait_for(lambda: sos_orders(embedded, order), SECONDS_PER_MINUTE + ONE_PUSH_SECONDS)
    time.sleep(3 * SECONDS_PER_MINUTE)
    assert len(sos_orders(embedded, order)) == 1
    assert runtime.queue_counts("PushDLQ").total == 0
