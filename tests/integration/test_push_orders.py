"""Orders and order edits WizCommerce → SOS on moto server and the emulators over HTTP, through
the real WC change poll and push handlers (R-PUSH-1, R-ORD-1..6, R-REF-1..3). WizCommerce sends
no order webhooks: the poll finds confirmed orders and their edits."""

from __future__ import annotations

from dataclasses import replace

import pytest
from push_stack import PushStack, push_stack, started_push_stack  # noqa: F401 - fixture

SOS_ORDER_WRITES = ("POST /api/v2/salesorder", "PUT /api/v2/salesorder/{id}")


def sos_writes(stack: PushStack) -> int:
    counters = stack.sos.counters()
    return sum(counters.get(key, 0) for key in SOS_ORDER_WRITES)


def test_a_confirmed_order_becomes_one_sos_order_linked_both_ways(push_stack):
    stack = push_stack
    items = stack.mapped_items()[:2]
    # Given a confirmed WC order of a customer linked to SOS by Reference ID
    order = stack.place_order(items)
    # When the poll runs and the queue is drained (WizCommerce sends no order webhook)
    assert stack.sync() == []
    # Then SOS has one order with our number, for that customer, its lines by Reference ID
    sos_order = stack.the_sos_order(order)
    assert sos_order["customer"]["id"] == 2
    assert [(line["item"]["id"], line["quantity"], line["unitPrice"]) for line in sos_order["lines"]] == \
        [(items[0], 2, 12.5), (items[1], 2, 12.5)]
    # And both sides know each other; the poll seeing our own write to WC changed nothing in SOS
    stack.sync()
    assert stack.wc_order(order["id"])["reference_id"] == str(sos_order["id"])
    assert stack.mappings.by_wc("order", order["id"]).sos_id == str(sos_order["id"])
    assert sos_writes(stack) == 1


def test_prices_rep_addresses_and_line_notes_follow_the_configuration(monkeypatch):
    stack = started_push_stack(monkeypatch, parameters={"SalesRepMap": '{"rep_1": "3"}', "DefaultSalesRepId": "1"})
    item = stack.mapped_items()[0]
    product = stack.product_for_item(item)["id"]
    customer = stack.wiz.update_customer("cust_2", assigned_sales_rep_ids=["rep_1"])
    stack.wiz.update_customer("cust_3", assigned_sales_rep_ids=["rep_2"])
    try:
        # Given an order of a customer whose WC rep maps to SOS rep 3, with a discounted line and notes
        mapped = stack.wiz.create_order("cust_2", [
            {"product_id": product, "quantity": 4, "unit_price": 25.0, "discount": 10, "discount_type": "percentage",
             "note": "gift wrap"},
            {"product_id": product, "quantity": 2, "unit_price": 10.0, "discount": 3, "note": "fragile"}],
            internal_note="call before delivery", po_number="PO-9", shipping_address={
                "address_line_1": "9 Dock Rd", "city": "Duluth", "state": "MN", "zip_code": "55802",
                "first_name": "Sam", "last_name": "Lee"})
        # And one of a customer whose rep is not mapped
        unmapped = stack.place_order([item], customer="cust_3")
        stack.sync()
        # Then SOS has the prices charged in WC, and every note in the internal comment
        sos_order = stack.the_sos_order(mapped)
        assert [(line["unitPrice"], line["amount"]) for line in sos_order["lines"]] == [(22.5, 90.0), (8.5, 17.0)]
        assert sos_order["comment"] == "call before delivery\nLine 1 (%s): gift wrap\nLine 2 (%s): fragile" % (
            (stack.product_for_item(item)["sku"],) * 2)
        # And the address nested as SOS transactions have it, the PO, no order price tier
        assert sos_order["shipping"]["address"]["line1"] == "9 Dock Rd"
        assert sos_order["shipping"]["company"] == customer["name"] and sos_order["customerPO"] == "PO-9"
        assert "priceTier" not in sos_order or sos_order["priceTier"] is None
        # And the customer's WC rep is mapped to SOS's; an unmapped one gets the default (R-ORD-6)
        assert sos_order["salesRep"]["id"] == 3
        assert stack.the_sos_order(unmapped)["salesRep"]["id"] == 1
    finally:
        stack.stop()


def test_drafts_do_not_push_until_confirmed(push_stack):
    stack = push_stack
    # Given a draft that is edited
    order = stack.place_order(stack.mapped_items()[:1], status="draft")
    stack.wiz.update_order(order["id"], internal_note="still deciding")
    stack.sync()
    # Then nothing reached SOS
    assert stack.sos_orders_numbered(f"WC-{order['display_id']}") == []
    # When it is confirmed
    stack.wiz.set_order_status(order["id"], "confirmed")
    stack.sync()
    stack.sync()
    # Then it is in SOS once
    assert stack.the_sos_order(order)["comment"] == "still deciding"
    assert stack.sos.counters()["POST /api/v2/salesorder"] == 1


def test_an_edit_reaches_sos_and_an_announcement_of_an_older_state_changes_nothing(push_stack):
    stack = push_stack
    items = stack.mapped_items()[:3]
    order = stack.place_order(items[:1])
    stack.sync()
    # Given two edits, announced newest first and then an announcement of the first one again
    product = stack.product_for_item(items[1])["id"]
    stack.wiz.update_order(order["id"], line_items=[{"product_id": product, "quantity": 5, "unit_price": 3.0}])
    first = stack.wiz.orders[order["id"]]["updated_at"]
    stack.wiz.update_order(order["id"], line_items=[{"product_id": product, "quantity": 7, "unit_price": 3.0}],
                           shipping_address={"address_line_1": "9 New Rd", "city": "Denver"})
    stack.sync()
    stack.send_to_push_queue(stack.change_message("order", order["id"], f"poll:order:{order['id']}:{first}"),
                             f"order#{order['id']}")
    stack.sos.reset_counters()
    stack.runtime.drain("PushQueue")
    # Then SOS has the newest edit, and the late announcement wrote nothing
    sos_order = stack.the_sos_order(order)
    assert [(line["item"]["id"], line["quantity"]) for line in sos_order["lines"]] == [(items[1], 7)]
    assert sos_order["shipping"]["address"]["line1"] == "9 New Rd"
    assert sos_writes(stack) == 0


def test_edits_stop_once_sos_shipped_and_the_block_shows_in_our_state(push_stack):
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
    # Then SOS is not written, and the block with its reason is visible in our state
    assert sos_writes(stack) == 0
    assert stack.the_sos_order(order)["lines"] == sos_order["lines"]
    mapping = stack.mappings.by_wc("order", order["id"])
    assert mapping.edit_blocked and "shipment" in mapping.edit_blocked_reason
    failure = stack.state.get_failure("order", order["id"])
    assert failure["status"] == "open" and failure["details"]["disposition"] == "edit-blocked"
    # And later edits are not pushed either
    stack.wiz.update_order(order["id"], internal_note="another edit")
    stack.sync()
    assert sos_writes(stack) == 0


def test_an_edit_is_held_not_pushed_when_the_orders_links_do_not_read(push_stack):
    """SOS-A9: links in another shape may hide a shipment: the edit is parked with the reason,
    never pushed as if SOS had shipped or invoiced nothing (R-ORD-2)."""
    stack = push_stack
    items = stack.mapped_items()[:2]
    order = stack.place_order(items[:1])
    stack.sync()
    sos_order = stack.the_sos_order(order)
    # Given SOS shipped the order, on an account whose links read as bare ids
    stack.sos.create_shipment(sos_order["id"])
    stack.sos.configure(linked_shape="id")
    stack.sos.reset_counters()
    # When the WC order is edited
    product = stack.product_for_item(items[1])["id"]
    stack.wiz.update_order(order["id"], line_items=[{"product_id": product, "quantity": 1, "unit_price": 1.0}])
    stack.sync()
    # Then SOS is not written, and the parked edit says why, naming the order, field and assumption
    assert sos_writes(stack) == 0
    failure = stack.state.get_failure("order", order["id"])
    assert failure["status"] == "open" and failure["details"]["disposition"] == "parked-in-dlq"
    assert failure["reason"].startswith(
        f"edit held: cannot tell whether SOS shipped or invoiced order {sos_order['id']}: "
        f"unreadable: salesorder {sos_order['id']} linkedShipments.0")
    assert failure["reason"].endswith("(SOS-A9)")
    [parked] = stack.dlq_messages()
    assert "SOS-A9" in parked["MessageAttributes"]["failure_reason"]["StringValue"]


def test_a_change_sos_does_not_receive_is_not_an_edit_and_does_not_block(push_stack):
    stack = push_stack
    order = stack.place_order(stack.mapped_items()[:1])
    stack.sync()
    stack.sos.create_invoice(stack.the_sos_order(order)["id"])
    stack.sos.reset_counters()
    # When only the fulfilment status changes in WC (nothing SOS gets)
    stack.wiz.update_order(order["id"], fulfillment_status="IN_PROGRESS")
    stack.sync()
    # Then nothing is written and the order is not edit-blocked
    assert sos_writes(stack) == 0
    assert not stack.mappings.by_wc("order", order["id"]).edit_blocked


def test_a_long_wc_number_gets_the_documented_short_unique_sos_number(push_stack):
    stack = push_stack
    items = stack.mapped_items()[:1]
    first = stack.place_order(items, display_id="WEB-2026-05-000000012345")
    second = stack.place_order(items, display_id="APP-2026-05-000000012345")  # same tail
    stack.sync()
    numbers = {stack.mappings.by_wc("order", o["id"]).number for o in (first, second)}
    assert len(numbers) == 2 and all(len(n) == 21 and n.startswith("WC-") and "~" in n for n in numbers)
    assert {o["number"] for o in stack.sos.sales_orders.values()} >= numbers


def test_an_announcement_of_a_record_wizcommerce_no_longer_has_is_ignored_not_parked(push_stack):
    stack = push_stack
    # Given announcements of an order and a customer WizCommerce does not have (any more)
    stack.send_to_push_queue(stack.change_message("order", "ord_gone", "poll:order:ord_gone:1"), "order#ord_gone")
    stack.send_to_push_queue(stack.change_message("customer", "cust_gone", "poll:customer:cust_gone:1"),
                             "customer#cust_gone")
    # When the push queue is drained
    stack.sync()
    # Then nothing reaches SOS, nothing is parked, and the record's story says why
    assert sos_writes(stack) == 0 and stack.sos.counters().get("POST /api/v2/customer", 0) == 0
    assert stack.dlq_messages() == []
    for entity, wc_id in (("order", "ord_gone"), ("customer", "cust_gone")):
        assert stack.state.get_failure(entity, wc_id) is None
        assert [event.get("reason") for event in stack.state.history(entity, wc_id)] == ["not in WizCommerce any more"]


# -- SOS line rules: exact amounts, minimum price, price casing (SOS-A7), kept line ids ------------

@pytest.mark.parametrize("casing", ["unitPrice", "unitprice"])
def test_create_and_edit_write_the_accounts_price_casing_and_the_edit_keeps_line_ids(push_stack, casing):
    """SOS-A7, under each reading (the emulator ignores the other casing): prices arrive, and an
    edit updates the SOS lines (same ids) instead of recreating them."""
    stack = push_stack
    stack.sos.configure(line_price_field=casing)
    push = stack.runtime.functions["PushFunction"]  # the account's casing, as configured (SOS-A7)
    stack.runtime.functions["PushFunction"] = replace(push, environment={
        **push.environment, "SOS_LINE_PRICE_FIELD": casing})
    items = stack.mapped_items()[:2]
    order = stack.place_order(items)
    stack.sync()
    created = stack.the_sos_order(order)
    assert [(line["item"]["id"], line[casing]) for line in created["lines"]] == [(items[0], 12.5), (items[1], 12.5)]
    # When the order's second line changes quantity and price in WC
    lines = [{"product_id": stack.product_for_item(item)["id"], "quantity": q, "unit_price": p}
             for item, q, p in ((items[0], 2, 12.5), (items[1], 4, 11.0))]
    stack.wiz.update_order(order["id"], line_items=lines)
    stack.sync()
    edited = stack.the_sos_order(order)
    assert [line["id"] for line in edited["lines"]] == [line["id"] for line in created["lines"]]
    assert [(line["quantity"], line[casing], line["amount"]) for line in edited["lines"]] == [(2, 12.5, 25.0),
                                                                                            (4, 11.0, 44.0)]
    assert stack.state.open_failures() == []


def test_a_four_place_price_reaches_sos_with_its_exact_amount_and_the_totals_agree(push_stack):
    """SOS's exact rule: 3 × 9.9967 is sent as 29.9901 (not 29.99, which SOS refuses)."""
    stack = push_stack
    item = stack.mapped_items()[0]
    order = stack.wiz.create_order("cust_2", [{"product_id": stack.product_for_item(item)["id"], "quantity": 3,
                                               "unit_price": 9.9967}])
    stack.sync()
    sos_order = stack.the_sos_order(order)
    assert [(line["unitPrice"], line["amount"]) for line in sos_order["lines"]] == [(9.9967, 29.9901)]
    assert sos_order["total"] == stack.wc_order(order["id"])["amount"] == 29.99


def test_a_price_below_the_items_minimum_parks_the_order_with_sos_reason(push_stack):
    stack = push_stack
    item = stack.mapped_items()[0]
    stack.sos.update_item(item, minimumPrice=20.0)
    order = stack.place_order([item])  # 12.50 a unit
    stack.sync()
    failure = stack.state.get_failure("order", order["id"])
    assert failure["status"] == "open" and failure["details"]["disposition"] == "parked-in-dlq"
    assert "minimum price" in failure["reason"] and "Line 1" in failure["reason"]
    assert failure["attempts"] == 1 and len(stack.dlq_messages()) == 1
    assert stack.sos_orders_numbered(f"WC-{order['display_id']}") == []


def test_an_order_the_first_sync_held_is_not_pushed_until_released(push_stack):
    """R-TIME-2: a held record (the first sync found two candidates) is never created in SOS by a
    push; the push reads its one hold by key."""
    stack = push_stack
    order = stack.place_order(stack.mapped_items()[:1])
    other = stack.place_order(stack.mapped_items()[1:2])
    stack.state.hold("order", "wc", order["id"], reason="two SOS candidates")
    stack.state.hold("order", "sos", order["id"], reason="a SOS-side hold of the same id holds nothing here")
    stack.sync()
    assert stack.sos_orders_numbered(f"WC-{order['display_id']}") == []
    assert stack.mappings.by_wc("order", order["id"]) is None
    assert stack.state.history("order", order["id"])[0]["reason"].startswith("held:")
    assert len(stack.sos_orders_numbered(f"WC-{other['display_id']}")) == 1  # the next order is not held
    # When an operator releases it and the order changes again
    assert stack.state.release_hold("order", "wc", order["id"])
    stack.wiz.update_order(order["id"], customer_note="released")
    stack.sync()
    assert len(stack.sos_orders_numbered(f"WC-{order['display_id']}")) == 1
