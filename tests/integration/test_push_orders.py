"""Orders and order edits WizCommerce → SOS on moto server and the emulators over HTTP, through
the real ingress and push handlers (R-ORD-1..6, R-REF-1..3)."""

from __future__ import annotations

import pytest
from push_stack import PushStack, event_body, push_stack, started_push_stack  # noqa: F401 - fixture

SOS_ORDER_WRITES = ("POST /api/v2/salesorder", "PUT /api/v2/salesorder/{id}")


def sos_writes(stack: PushStack) -> int:
    counters = stack.sos.counters()
    return sum(counters.get(key, 0) for key in SOS_ORDER_WRITES)


def test_a_confirmed_order_becomes_one_sos_order_linked_both_ways(push_stack):
    stack = push_stack
    items = stack.mapped_items()[:2]
    # Given a confirmed WC order of a customer linked to SOS by Reference ID
    order = stack.place_order(items)
    # When its webhook is delivered and the queue drained
    assert stack.sync() == [202, 202]
    # Then SOS has one order with our number, for that customer, its lines by Reference ID
    # (the second answer is for the echo of our reference_id write to WC)
    sos_order = stack.the_sos_order(order)
    assert sos_order["customer"]["id"] == 2
    assert [(line["item"]["id"], line["quantity"], line["unitPrice"]) for line in sos_order["lines"]] == \
        [(items[0], 2, 12.5), (items[1], 2, 12.5)]
    # And both sides know each other; the echo of our own write to WC changed nothing in SOS
    assert stack.wc_order(order["id"])["reference_id"] == str(sos_order["id"])
    assert stack.mappings.by_wc("order", order["id"]).sos_id == str(sos_order["id"])
    assert sos_writes(stack) == 1


def test_prices_rep_tier_and_line_notes_follow_the_configuration(monkeypatch):
    stack = started_push_stack(monkeypatch, parameters={
        "SalesRepMap": '{"rep_3": "3"}', "DefaultSalesRepId": "1", "PriceTierMap": '{"pl_2": "2"}'})
    item = stack.mapped_items()[0]
    product = stack.product_for_item(item)["id"]
    try:
        # Given an order on the Wholesale catalog, by a mapped rep, with a discounted line and line notes
        mapped = stack.wiz.create_order("cust_2", [
            {"product_id": product, "quantity": 4, "unit_price": 25.0, "discount": 10, "discount_type": "percentage",
             "note": "gift wrap"},
            {"product_id": product, "quantity": 2, "unit_price": 10.0, "discount": 3, "note": "fragile"}],
            price_list_id="pl_2", sales_rep_id="rep_3", internal_note="call before delivery")
        # And one by an unmapped rep on a catalog without a tier
        unmapped = stack.place_order([item], sales_rep_id="rep_2", price_list_id="pl_1")
        stack.sync()
        # Then SOS has the prices charged in WC, the mapped tier and rep, and every note in the memo
        sos_order = stack.the_sos_order(mapped)
        assert [(line["unitPrice"], line["amount"]) for line in sos_order["lines"]] == [(22.5, 90.0), (8.5, 17.0)]
        assert "priceTier" not in sos_order and sos_order["salesRep"]["id"] == 3  # SOS orders have no tier
        assert sos_order["comment"] == "call before delivery\nLine 1 (%s): gift wrap\nLine 2 (%s): fragile" % (
            (stack.product_for_item(item)["sku"],) * 2)
        # And the unmapped rep falls back to the default, the unmapped catalog sets no tier
        other = stack.the_sos_order(unmapped)
        assert other["salesRep"]["id"] == 1
    finally:
        stack.stop()


@pytest.mark.parametrize("status", ["draft", "quote"])
def test_drafts_and_quotes_do_not_push_until_confirmed(push_stack, status):
    stack = push_stack
    # Given a draft (or quote) that is edited
    order = stack.place_order(stack.mapped_items()[:1], status=status)
    stack.wiz.update_order(order["id"], internal_note="still deciding")
    stack.sync()
    # Then nothing reached SOS
    assert stack.sos_orders_numbered(f"WC-{order['display_id']}") == []
    # When it is confirmed (WC sends order.confirmed and order.updated for the same version)
    stack.wiz.set_order_status(order["id"], "confirmed")
    assert stack.sync() == [202, 202, 202]  # order.confirmed, order.updated, our write's echo
    # Then it is in SOS once
    assert stack.the_sos_order(order)["comment"] == "still deciding"
    assert stack.sos.counters()["POST /api/v2/salesorder"] == 1


def test_an_edit_reaches_sos_and_an_older_version_never_overwrites_it(push_stack):
    stack = push_stack
    items = stack.mapped_items()[:3]
    order = stack.place_order(items[:1])
    stack.sync()
    # Given two edits whose webhooks arrive newest first
    product = stack.product_for_item(items[1])["id"]
    stack.wiz.update_order(order["id"], line_items=[{"product_id": product, "quantity": 5, "unit_price": 3.0}])
    stack.wiz.update_order(order["id"], line_items=[{"product_id": product, "quantity": 7, "unit_price": 3.0}],
                           shipping_address={"address_line_1": "9 New Rd", "city": "Denver"})
    older, newer = stack.new_events()
    stack.deliver([newer, older])
    stack.sync()
    # Then SOS has the newest edit, not the older one delivered after it
    sos_order = stack.the_sos_order(order)
    assert [(line["item"]["id"], line["quantity"]) for line in sos_order["lines"]] == [(items[1], 7)]
    assert sos_order["shipping"]["address"]["line1"] == "9 New Rd"
    assert stack.mappings.by_wc("order", order["id"]).wc_version == event_body(newer)["data"]["version"]


def test_edits_stop_once_sos_shipped_and_the_block_shows_in_wc_and_in_our_state(push_stack):
    stack = push_stack
    items = stack.mapped_items()[:2]
    order = stack.place_order(items[:1])
    stack.sync()
    sos_order = stack.the_sos_order(order)
    # Given SOS shipped the order
    stack.sos.create_shipment(sos_order["id"])
    stack.sos.reset_counters()
    # When the WC order is edited
    product = stack.product_for_item(items[1])["id"]
    stack.wiz.update_order(order["id"], line_items=[{"product_id": product, "quantity": 1, "unit_price": 1.0}])
    stack.sync()
    # Then SOS is not written, and the block with its reason is visible in WC and in our state
    assert sos_writes(stack) == 0
    assert stack.the_sos_order(order)["lines"] == sos_order["lines"]
    [attribute] = [a for a in stack.wc_order(order["id"])["attributes"] if a["name"] == "sos_sync"]
    assert attribute["value"].startswith("edit-blocked: SOS already has shipment")
    mapping = stack.mappings.by_wc("order", order["id"])
    assert mapping.edit_blocked and "shipment" in mapping.edit_blocked_reason
    failure = stack.state.get_failure("order", order["id"])
    assert failure["status"] == "open" and failure["details"]["disposition"] == "edit-blocked"
    # And the echo of our attribute write, and later edits, are not pushed either
    stack.wiz.update_order(order["id"], internal_note="another edit")
    stack.sync()
    assert sos_writes(stack) == 0


def test_a_change_sos_does_not_receive_is_not_an_edit_and_does_not_block(push_stack):
    stack = push_stack
    order = stack.place_order(stack.mapped_items()[:1])
    stack.sync()
    stack.sos.create_invoice(stack.the_sos_order(order)["id"])
    stack.sos.reset_counters()
    # When only the payment status changes in WC (an order.updated with nothing SOS gets)
    stack.wiz.update_order(order["id"], amount_paid=25.0)
    stack.sync()
    # Then nothing is written and the order is not edit-blocked
    assert sos_writes(stack) == 0
    assert not stack.mappings.by_wc("order", order["id"]).edit_blocked
    assert not any(a["name"] == "sos_sync" for a in stack.wc_order(order["id"])["attributes"])


def test_a_long_wc_number_gets_the_documented_short_unique_sos_number(push_stack):
    stack = push_stack
    items = stack.mapped_items()[:1]
    first = stack.place_order(items, display_id="WEB-2026-05-000000012345")
    second = stack.place_order(items, display_id="APP-2026-05-000000012345")  # same tail
    stack.sync()
    numbers = {stack.mappings.by_wc("order", o["id"]).number for o in (first, second)}
    assert len(numbers) == 2 and all(len(n) == 21 and n.startswith("WC-") and "~" in n for n in numbers)
    assert {o["number"] for o in stack.sos.sales_orders.values()} >= numbers
