"""R-ORD-8 end to end on the local stack: template.yaml's functions run by local/runner.py on moto,
the WC change poll on its own schedule (time compressed) finding cancelled orders
(`order_status=cancelled`, WC-A19), the push zeroing the SOS order, and the SOS emulator — whose
open sales-order lines commit stock as SOS documents (H-avail) — firing its quantity hook, so
WizCommerce's available rises back: cancel in WC → SOS order zeroed → hook → WC available up.
One stack for the module (e2e stacks are slow); each test uses its own orders."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from local.aws import use_local_aws
from local.hook_stack import HookedStack, wait_until
from local.stack import LOCAL_WEBHOOK_SECRET
from sos_wiz_sync.rules.inventory import inventory_levels_from_sos

SECONDS_PER_MINUTE = 2.0   # the poll's rate(1 minute), compressed
ONE_PUSH_SECONDS = 15.0    # generous: the machine is shared
WINDOW = 5                 # CoalesceWindowSeconds: the hook's window
NOTE = "Not sent to SOS: "


@pytest.fixture(scope="module")
def stack() -> Iterator[HookedStack]:
    with HookedStack(items=120, window_seconds=WINDOW, parameters={"OrderNumberPrefix": "WC-"}) as hooked:
        use_local_aws(hooked.embedded.endpoints.aws)
        hooked.wiz.set_webhook_target(None, secret=LOCAL_WEBHOOK_SECRET)
        # A deployment whose first sync is done: the WC change poll waits for it (R-TIME-2)
        hooked.runtime.dynamodb.put_item(TableName=hooked.runtime.ref("StateTable"), Item={
            "pk": {"S": "FIRSTSYNC"}, "sk": {"S": "FIRSTSYNC"}, "status": {"S": "done"},
            "finished_at": {"S": datetime.now(timezone.utc).isoformat()}})
        hooked.runtime.start_scheduler(seconds_per_minute=SECONDS_PER_MINUTE)
        yield hooked


def within(condition, timeout: float = SECONDS_PER_MINUTE + ONE_PUSH_SECONDS) -> None:
    assert wait_until(condition, timeout=timeout, interval=0.05), f"not within {timeout:.0f} s"


def products(stack: HookedStack, count: int, offset: int) -> list[tuple[int, str]]:
    """(SOS item id, WC product id) of stocked items a WC product links to by Reference ID."""
    # items with nothing on order and stock to spare: WC's available moves with SOS's one for one
    items = [item for item in stack.embedded.stocked_mapped_item_ids()
             if stack.sos.items[item]["onPO"] == 0 and stack.sos.items[item]["available"] > 10][offset:offset + count]
    by_reference = {p["reference_id"]: p["id"] for p in stack.wiz.products.values() if p["reference_id"]}
    return [(item, by_reference[str(item)]) for item in items]


def sos_order(stack: HookedStack, order: dict) -> dict | None:
    return next((o for o in stack.sos.sales_orders.values() if o["number"] == f"WC-{order['display_id']}"), None)


def pushed_order(stack: HookedStack, lines: list[tuple[int, str]], **fields) -> tuple[dict, dict]:
    order = stack.wiz.create_order("cust_2", [{"product_id": product, "quantity": 2, "unit_price": 12.5}
                                              for _, product in lines], **fields)
    within(lambda: sos_order(stack, order) is not None and stack.wiz.orders[order["id"]]["reference_id"])
    return order, sos_order(stack, order)


def announce(stack: HookedStack, order: dict, times: int) -> None:
    for n in range(times):
        stack.runtime.sqs.send_message(
            QueueUrl=stack.runtime.ref("PushQueue"), MessageGroupId=f"order#{order['id']}",
            MessageDeduplicationId=f"{order['id']}-again-{n}",
            MessageBody=json.dumps({"id": f"{order['id']}-again-{n}", "entity": "order", "wc_id": order["id"],
                                    "source": "reconcile"}))


def wc_should_show(stack: HookedStack, item: int) -> dict[str, float]:
    """What WizCommerce shows for the SOS item's current quantities (R-INV-1..3)."""
    return inventory_levels_from_sos(stack.sos.items[item]["available"], stack.sos.items[item]["onPO"]).as_dict()


def our_note_lines(stack: HookedStack, order: dict) -> list[str]:
    return [line for line in (stack.wiz.orders[order["id"]]["internal_note"] or "").splitlines()
            if line.startswith(NOTE)]


def test_a_cancelled_pushed_order_is_zeroed_once_and_wc_available_rises_back(stack):
    lines = products(stack, 2, offset=0)
    items = [item for item, _ in lines]
    order, created = pushed_order(stack, lines)
    # The open order committed its stock; the hook brought that to WizCommerce
    committed = {item: stack.sos.items[item]["available"] for item in items}
    within(lambda: all(stack.wc_levels(item) == wc_should_show(stack, item) for item in items), WINDOW + 15)
    wc_before = {item: stack.wc_levels(item)["available"] for item in items}
    token = stack.sos.sales_orders[created["id"]]["syncToken"]
    # (a) When it is cancelled in WC, and the cancellation is announced three times more
    stack.wiz.set_order_status(order["id"], "cancelled")
    announce(stack, order, 3)
    within(lambda: stack.sos.sales_orders[created["id"]]["comment"].startswith("Cancelled in WizCommerce"))
    zeroed_at = time.monotonic()
    # Then the same SOS order has every line at 0 with the comment, by one PUT however often announced
    after = stack.sos.sales_orders[created["id"]]
    assert sos_order(stack, order)["id"] == created["id"]
    assert [(line["id"], line["quantity"], line["amount"]) for line in after["lines"]] == [
        (line["id"], 0, 0) for line in created["lines"]]
    assert after["comment"].startswith(f"Cancelled in WizCommerce {datetime.now(timezone.utc).date().isoformat()}")
    # (e) And WizCommerce's available for the order's items rises back within the hook window
    released = {item: committed[item] + 2 for item in items}
    assert {item: stack.sos.items[item]["available"] for item in items} == released
    within(lambda: all(stack.wc_levels(item) == wc_should_show(stack, item) for item in items), WINDOW + 10)
    assert all(stack.wc_levels(item)["available"] > wc_before[item] for item in items)
    assert time.monotonic() - zeroed_at < WINDOW + 10
    # Still one PUT once the poll and the announcements are all through
    time.sleep(3 * SECONDS_PER_MINUTE)
    announce(stack, order, 3)
    time.sleep(3 * SECONDS_PER_MINUTE)
    assert stack.sos.sales_orders[created["id"]]["syncToken"] == token + 1


def test_a_cancellation_after_a_shipment_leaves_sos_untouched_and_names_the_sos_order(stack):
    parked_before = stack.runtime.queue_counts("PushDLQ").total
    order, created = pushed_order(stack, products(stack, 1, offset=2), internal_note="dock 4")
    stack.sos.create_shipment(created["id"], number=f"S-{created['id']}")
    shipped = json.loads(json.dumps(stack.sos.sales_orders[created["id"]]))
    # (b) When it is cancelled in WC
    stack.wiz.set_order_status(order["id"], "cancelled")
    # Then it is parked once, as a failure naming the SOS order to cancel by hand
    within(lambda: stack.runtime.queue_counts("PushDLQ").total == parked_before + 1)
    from sos_wiz_sync.store.state import SyncState

    failure = SyncState(stack.runtime.ref("StateTable")).get_failure("order", order["id"])
    assert failure["details"]["disposition"] == "cancel-blocked"
    assert f"cancel SOS order {created['number']} (id {created['id']}) by hand" in failure["reason"]
    # (f) And the WC order says so in one line, the user's note kept; seen again, still one
    within(lambda: len(our_note_lines(stack, order)) == 1)
    assert stack.wiz.orders[order["id"]]["internal_note"].startswith("dock 4\n")
    assert f"shipment S-{created['id']} for order {created['number']}" in our_note_lines(stack, order)[0]
    time.sleep(3 * SECONDS_PER_MINUTE)
    assert len(our_note_lines(stack, order)) == 1
    assert stack.runtime.queue_counts("PushDLQ").total == parked_before + 1
    # And SOS was not changed
    now = stack.sos.sales_orders[created["id"]]
    assert (now["syncToken"], now["lines"], now["comment"]) == (shipped["syncToken"], shipped["lines"],
                                                                 shipped["comment"])


def test_a_partial_cancellation_lowers_exactly_that_line(stack):
    order, created = pushed_order(stack, products(stack, 2, offset=3))
    # (c) When one unit of line 2 is cancelled (the order stays confirmed)
    lines = [dict(line) for line in stack.wiz.orders[order["id"]]["line_items"]]
    lines[1]["cancelled_quantity"] = 1
    stack.wiz.update_order(order["id"], line_items=lines)
    within(lambda: sos_order(stack, order)["lines"][1]["quantity"] == 1)
    assert [(line["id"], line["quantity"]) for line in sos_order(stack, order)["lines"]] == [
        (created["lines"][0]["id"], 2), (created["lines"][1]["id"], 1)]


def test_an_order_cancelled_before_it_was_pushed_creates_nothing(stack):
    lines = products(stack, 1, offset=5)
    order = stack.wiz.create_order("cust_3", [{"product_id": lines[0][1], "quantity": 1, "unit_price": 5.0}],
                                   status="draft")
    # (d) cancelled while a draft: never pushed
    stack.wiz.set_order_status(order["id"], "cancelled")
    time.sleep(3 * SECONDS_PER_MINUTE + ONE_PUSH_SECONDS / 3)
    assert sos_order(stack, order) is None


def test_a_blocked_edit_leaves_one_line_in_the_wc_order(stack):
    parked_before = stack.runtime.queue_counts("PushDLQ").total
    lines = products(stack, 2, offset=6)
    order, created = pushed_order(stack, lines[:1])
    stack.sos.create_shipment(created["id"], number=f"S-{created['id']}")
    # (f) When the WC order is edited after SOS shipped it, twice
    stack.wiz.update_order(order["id"], line_items=[{"product_id": lines[1][1], "quantity": 1, "unit_price": 1.0}])
    within(lambda: len(our_note_lines(stack, order)) == 1)
    stack.wiz.update_order(order["id"], customer_note="second edit")
    time.sleep(3 * SECONDS_PER_MINUTE)
    # Then one line says what did not reach SOS and why; SOS kept what it had
    assert our_note_lines(stack, order) == [
        f"{NOTE}SOS already has shipment S-{created['id']} for order {created['number']}; make the edit in SOS"]
    assert stack.wiz.orders[order["id"]]["customer_note"] == "second edit"
    assert [line["quantity"] for line in sos_order(stack, order)["lines"]] == [2]
    assert stack.runtime.queue_counts("PushDLQ").total == parked_before
