"""Cancellations WizCommerce → SOS (R-ORD-8) on moto server and the emulators over HTTP, through
the real WC change poll (it lists `order_status=cancelled`, WC-A19) and push handlers: a pushed
order's SOS lines go to 0 with the comment, once; after a shipment or invoice SOS is untouched and
the cancellation is parked naming the SOS order; what did not reach SOS shows in the WC order's
note (R-ORD-2 edits too), written so a user's earlier edit is kept."""

from __future__ import annotations

import pytest
from push_stack import PushStack, push_stack  # noqa: F401 - fixture

from sos_wiz_sync.ops.ledger_rules import cancelled_order_facts, classify
from sos_wiz_sync.ops.render import render_trace
from sos_wiz_sync.ops.trace import trace

SO_PUT = "PUT /api/v2/salesorder/{id}"
SO_POST = "POST /api/v2/salesorder"
NOTE = "Not sent to SOS: "


def pushed(stack: PushStack, items: list[int], **fields) -> tuple[dict, dict]:
    order = stack.place_order(items, **fields)
    stack.sync()
    return order, stack.the_sos_order(order)


def cancel(stack: PushStack, order: dict) -> None:
    stack.wiz.set_order_status(order["id"], "cancelled")
    stack.sync()


def note_lines(stack: PushStack, order: dict) -> list[str]:
    return [line for line in (stack.wc_order(order["id"])["internal_note"] or "").splitlines()
            if line.startswith(NOTE)]


def test_a_pushed_order_cancelled_in_wc_has_its_sos_lines_zeroed_with_the_comment_once(push_stack):
    stack = push_stack
    items = stack.mapped_items()[:2]
    order, before = pushed(stack, items, internal_note="call first")
    available = {item: stack.sos.items[item]["available"] for item in items}
    stack.sos.reset_counters()
    # When the order is cancelled in WC, and the cancellation is announced three times more
    cancel(stack, order)
    for n in range(3):
        stack.send_to_push_queue(stack.change_message("order", order["id"], f"again-{n}"), f"order#{order['id']}")
    stack.runtime.drain("PushQueue")
    stack.sync()
    # Then the same SOS order is kept, every line at 0, its comment saying so — by one PUT
    after = stack.sos.sales_orders[before["id"]]
    assert stack.the_sos_order(order)["id"] == before["id"]
    assert [(line["id"], line["item"]["id"], line["quantity"], line["amount"]) for line in after["lines"]] == [
        (line["id"], line["item"]["id"], 0, 0) for line in before["lines"]]
    assert after["comment"].startswith("Cancelled in WizCommerce 20") and after["comment"].endswith("call first")
    assert stack.sos.counters().get(SO_PUT) == 1 and not stack.sos.counters().get(SO_POST)
    # And the stock the order committed is available again in SOS (H-avail)
    assert {item: stack.sos.items[item]["available"] for item in items} == {
        item: available[item] + 2 for item in items}
    # And our state, trace and the ledger's rule say so
    assert stack.mappings.by_wc("order", order["id"]).cancelled == "applied"
    story = trace(order["id"], mappings=stack.mappings, state=stack.state)
    [record] = [r for r in story["records"] if r["entity"] == "order"]
    assert record["mapping"]["cancelled"] == "applied"
    assert [e["action"] for e in record["history"]].count("cancelled") == 1
    assert "CANCELLED in WizCommerce: the SOS order was kept, its lines set to 0 (R-ORD-8)" in render_trace(story)
    facts = cancelled_order_facts("wc_to_sos.order", order["id"], pushed_sos_id=str(before["id"]),
                                  sos_order=after, sos_gone=False)
    assert classify(facts).state == "synced"


def test_a_cancellation_after_a_shipment_leaves_sos_untouched_and_is_parked_once_naming_the_sos_order(push_stack):
    stack = push_stack
    order, sos_order = pushed(stack, stack.mapped_items()[:1], internal_note="leave at the dock")
    shipment = stack.sos.create_shipment(sos_order["id"], number="S-12")
    shipped = stack.sos.sales_orders[sos_order["id"]]
    stack.sos.reset_counters()
    # When the order is cancelled in WC, and seen again (our note's echo, another announcement)
    cancel(stack, order)
    stack.send_to_push_queue(stack.change_message("order", order["id"], "again"), f"order#{order['id']}")
    stack.runtime.drain("PushQueue")
    stack.sync()
    # Then SOS is not written
    assert not stack.sos.counters().get(SO_PUT)
    assert stack.sos.sales_orders[sos_order["id"]]["lines"] == shipped["lines"]
    # And the cancellation is a failure naming the SOS order to cancel by hand, parked once (its alarm)
    failure = stack.state.get_failure("order", order["id"])
    assert failure["status"] == "open" and failure["details"]["disposition"] == "cancel-blocked"
    assert f"shipment {shipment['number']} for order {sos_order['number']}" in failure["reason"]
    assert f"cancel SOS order {sos_order['number']} (id {sos_order['id']}) by hand" in failure["reason"]
    assert len(stack.dlq_messages()) == 1
    shown = render_trace(trace(order["id"], mappings=stack.mappings, state=stack.state))
    assert f"CANCEL-BLOCKED: SOS already has shipment {shipment['number']}" in shown and "cancel-blocked" in shown
    facts = cancelled_order_facts("wc_to_sos.order", order["id"], pushed_sos_id=str(sos_order["id"]),
                                  sos_order=stack.sos.sales_orders[sos_order["id"]], sos_gone=False)
    assert classify(facts.__class__(**{**facts.__dict__, "failure": failure})).state == "blocked"
    # And the WC order says so in one line, the user's note kept
    wc = stack.wc_order(order["id"])
    assert wc["internal_note"].startswith("leave at the dock\n")
    assert note_lines(stack, order) == [
        f"{NOTE}SOS already has shipment S-12 for order {sos_order['number']}; cancel SOS order "
        f"{sos_order['number']} (id {sos_order['id']}) by hand in SOS (R-ORD-8)"]


def test_a_cancellation_after_an_invoice_is_blocked_too(push_stack):
    stack = push_stack
    order, sos_order = pushed(stack, stack.mapped_items()[:1])
    invoice = stack.sos.create_invoice(sos_order["id"])
    stack.sos.reset_counters()
    cancel(stack, order)
    assert not stack.sos.counters().get(SO_PUT)
    assert f"invoice {invoice['number']}" in stack.state.get_failure("order", order["id"])["reason"]


def test_a_partial_cancellation_lowers_exactly_that_line(push_stack):
    stack = push_stack
    items = stack.mapped_items()[:2]
    order, before = pushed(stack, items)
    # When WC cancels one of line 2's two units (the order stays confirmed)
    lines = [dict(line) for line in stack.wc_order(order["id"])["line_items"]]
    lines[1]["cancelled_quantity"] = 1
    stack.wiz.update_order(order["id"], line_items=lines)
    stack.sync()
    # Then SOS's line 2 is 1 (quantity − cancelled), line 1 as it was, same lines
    after = stack.the_sos_order(order)
    assert [(line["id"], line["quantity"], line["amount"]) for line in after["lines"]] == [
        (before["lines"][0]["id"], 2, 25.0), (before["lines"][1]["id"], 1, 12.5)]


def test_an_order_cancelled_before_it_was_pushed_creates_nothing_and_says_why(push_stack):
    stack = push_stack
    order = stack.place_order(stack.mapped_items()[:1], status="draft")
    stack.wiz.set_order_status(order["id"], "cancelled")
    stack.sync()
    assert stack.sos_orders_numbered(f"WC-{order['display_id']}") == []
    assert not stack.sos.counters().get(SO_POST) and not stack.sos.counters().get(SO_PUT)
    [event] = [e for e in stack.state.history("order", order["id"])]
    assert event["action"] == "ignored" and "before it was pushed" in event["reason"]


def test_sos_refusing_zero_quantity_lines_parks_the_cancellation_with_its_answer_and_the_fix(push_stack):
    """SOS-A22's other reading: SOS refuses a line at quantity 0."""
    stack = push_stack
    order, sos_order = pushed(stack, stack.mapped_items()[:1])
    stack.sos.configure(zero_quantity_lines="refused")
    cancel(stack, order)
    failure = stack.state.get_failure("order", order["id"])
    assert failure["details"]["disposition"] == "parked-in-dlq"
    assert "quantity must be greater than 0" in failure["reason"]  # SOS's answer
    assert f"Fix: cancel SOS order {sos_order['number']} in SOS by hand" in failure["reason"]
    assert stack.sos.sales_orders[sos_order["id"]]["lines"][0]["quantity"] == 2
    # Once SOS takes it (fixed by hand, or the account accepts it), the redrive applies it and clears the failure
    stack.sos.configure(zero_quantity_lines="accepted")
    assert stack.redrive() == 1
    stack.runtime.drain("PushQueue")
    assert stack.sos.sales_orders[sos_order["id"]]["lines"][0]["quantity"] == 0
    assert stack.state.get_failure("order", order["id"])["status"] == "resolved"


def test_a_cancellation_sos_applied_but_we_did_not_record_is_not_written_twice(push_stack):
    """Crash between SOS's PUT and our mapping update: the retry finds SOS showing it."""
    stack = push_stack
    order, sos_order = pushed(stack, stack.mapped_items()[:1])
    cancel(stack, order)
    stack.mappings.update("order", order["id"], cancelled=None)  # as if the run died after the PUT
    stack.sos.reset_counters()
    stack.send_to_push_queue(stack.change_message("order", order["id"], "retry"), f"order#{order['id']}")
    stack.runtime.drain("PushQueue")
    assert not stack.sos.counters().get(SO_PUT)
    assert stack.mappings.by_wc("order", order["id"]).cancelled == "applied"


def test_a_blocked_edit_leaves_one_line_in_the_wc_note_replaced_not_repeated(push_stack):
    stack = push_stack
    items = stack.mapped_items()[:2]
    order, sos_order = pushed(stack, items[:1])
    stack.sos.create_shipment(sos_order["id"], number="S-12")
    product = stack.product_for_item(items[1])["id"]
    stack.wiz.update_order(order["id"], line_items=[{"product_id": product, "quantity": 1, "unit_price": 1.0}])
    stack.sync()
    assert note_lines(stack, order) == [
        f"{NOTE}SOS already has shipment S-12 for order {sos_order['number']}; make the edit in SOS"]
    # Seen again, edited again: still one line, and our own write pushed nothing to SOS
    stack.sos.reset_counters()
    stack.wiz.update_order(order["id"], customer_note="please hurry")
    stack.sync()
    assert len(note_lines(stack, order)) == 1
    assert not stack.sos.counters().get(SO_PUT)


@pytest.mark.parametrize("blocked", ["edit", "cancellation"])
def test_a_users_edit_saved_before_our_note_write_reads_the_order_is_kept(push_stack, blocked):
    """The order PUT replaces all and takes no version: we re-read right before writing. A user's
    edit saved after the push read the order but before our write's own GET is kept (the window in
    which one could be lost is that GET→PUT round trip alone: WizClient.merge_order)."""
    stack = push_stack
    items = stack.mapped_items()[:2]
    order, sos_order = pushed(stack, items[:1])
    stack.sos.create_shipment(sos_order["id"])
    # The user's edit lands right after the push's read of the order (its GET /v1/orders/{id})
    stack.wiz.after_requests(1, lambda: stack.wiz.update_order(order["id"], customer_note="ring twice"),
                             method="GET", path=f"/v1/orders/{order['id']}")
    if blocked == "edit":
        product = stack.product_for_item(items[1])["id"]
        stack.wiz.update_order(order["id"], line_items=[{"product_id": product, "quantity": 1, "unit_price": 1.0}])
        stack.sync()
    else:
        cancel(stack, order)
    wc = stack.wc_order(order["id"])
    assert wc["customer_note"] == "ring twice"
    assert len(note_lines(stack, order)) == 1
