"""Push failures on moto server and the emulators over HTTP (R-REF-2, R-OPS-1): business failures
are recorded with their reason and parked in the DLQ at once; SOS outages, including writes it
applied but answered with a 5xx, lose and duplicate nothing; a redrive after the fix pushes once."""

from __future__ import annotations

from push_stack import MAX_RECEIVE_COUNT, PushStack, push_stack  # noqa: F401 - fixture

POST_ORDER = "POST /api/v2/salesorder"


def orders_numbered(stack: PushStack, order: dict) -> list[dict]:
    return stack.sos_orders_numbered(f"WC-{order['display_id']}")


def test_an_order_with_a_product_without_reference_id_parks_with_its_reason_and_pushes_once_after_the_fix(
        push_stack):
    stack = push_stack
    good = stack.mapped_items()[0]
    [bad_item] = stack.seeded["products_without_reference_item_ids"]
    bad_product = next(p for p in stack.wiz.products.values() if p["sku"] == stack.sos.items[bad_item]["sku"])
    # Given an order whose second line's product has no Reference ID
    order = stack.wiz.create_order("cust_2", [
        {"product_id": stack.product_for_item(good)["id"], "quantity": 1, "unit_price": 5.0},
        {"product_id": bad_product["id"], "quantity": 3, "unit_price": 7.0}])
    stack.sync()
    # Then nothing reached SOS, the failure says why and which line, and the message is parked at once
    assert orders_numbered(stack, order) == [] and POST_ORDER not in stack.sos.counters()
    failure = stack.state.get_failure("order", order["id"])
    assert failure["status"] == "open" and "Reference ID" in failure["reason"]
    assert failure["details"]["disposition"] == "parked-in-dlq" and failure["attempts"] == 1  # no retries
    assert [(line["line"], line["product_id"], line["problem"]) for line in failure["details"]["lines"]] == \
        [(2, bad_product["id"], "product has no Reference ID")]
    [parked] = stack.dlq_messages()
    assert "Reference ID" in parked["MessageAttributes"]["failure_reason"]["StringValue"]
    # When the product gets its Reference ID and the operator redrives the DLQ
    stack.wiz.update_product(bad_product["id"], reference_id=str(bad_item))
    assert stack.redrive() == 1
    stack.sync()
    # Then the order is in SOS once, with both lines, and the failure is resolved
    [sos_order] = orders_numbered(stack, order)
    assert [line["item"]["id"] for line in sos_order["lines"]] == [good, bad_item]
    assert stack.state.get_failure("order", order["id"])["status"] == "resolved"
    assert stack.state.open_failures() == []
    # And redriving the same message once more changes nothing in SOS
    writes_before = stack.sos.counters()
    stack.send_to_push_queue(parked["Body"], parked["Attributes"]["MessageGroupId"])
    stack.sync()
    assert stack.sos.counters() == writes_before
    assert len(orders_numbered(stack, order)) == 1 and stack.dlq_messages() == []


def test_a_reference_id_that_matches_no_sos_item_is_named_in_the_failure(push_stack):
    stack = push_stack
    product = stack.wiz.create_product(sku="GHOST-1", name="Ghost chair", reference_id="99999")
    order = stack.wiz.create_order("cust_2", [{"product_id": product["id"], "quantity": 1, "unit_price": 5.0}])
    stack.sync()
    failure = stack.state.get_failure("order", order["id"])
    assert failure["reason"] == "Reference ID matches no SOS item (R-REF-2)"
    assert [line["problem"] for line in failure["details"]["lines"]] == ["Reference ID 99999 matches no SOS item"]
    assert len(stack.dlq_messages()) == 1 and orders_numbered(stack, order) == []


def test_sos_answering_5xx_for_a_while_even_after_applying_writes_loses_and_duplicates_nothing(push_stack):
    stack = push_stack
    items = stack.mapped_items()
    # Given SOS fails order creation: some writes are applied but answered 500, others refused with 503
    stack.sos.inject_write_then_5xx(count=3, method="POST", path="/api/v2/salesorder")
    stack.sos.inject_5xx(count=4, status=503, method="POST", path="/api/v2/salesorder")
    # When ten orders are confirmed and pushed
    orders = [stack.place_order([items[n % 5]], customer=f"cust_{1 + n % 6}") for n in range(10)]
    stack.sync()
    # Then each is in SOS exactly once, linked, and nothing is parked
    assert all(len(orders_numbered(stack, order)) == 1 for order in orders)
    assert len(stack.sos.sales_orders) == 10
    assert stack.sos.faulted_counters()[POST_ORDER] == 7
    assert all(stack.mappings.by_wc("order", o["id"]) for o in orders)
    assert stack.dlq_messages() == [] and stack.state.open_failures() == []


def test_an_sos_outage_longer_than_the_retries_parks_and_a_redrive_after_it_pushes_once(push_stack):
    stack = push_stack
    # Given SOS refuses order creation with 503 for longer than SQS retries two orders, and applies
    # the very last attempt but answers it with a 500 all the same
    stack.sos.inject_5xx(count=2 * MAX_RECEIVE_COUNT - 1, status=503, method="POST", path="/api/v2/salesorder")
    stack.sos.inject_write_then_5xx(count=1, method="POST", path="/api/v2/salesorder")
    orders = [stack.place_order([stack.mapped_items()[n]]) for n in range(2)]
    stack.sync()
    # Then after maxReceiveCount SQS parked both, with the last reason in our state
    assert len(stack.dlq_messages()) == 2
    failures = [stack.state.get_failure("order", o["id"]) for o in orders]
    assert sorted((f["reason"], f["attempts"]) for f in failures) == \
        [("sos-500", MAX_RECEIVE_COUNT), ("sos-503", MAX_RECEIVE_COUNT)]
    assert len(stack.sos.sales_orders) == 1  # the write SOS applied but answered with a 500
    # When SOS is back and the DLQ redriven
    assert stack.redrive() == 2
    stack.sync()
    # Then each order is in SOS exactly once: the one applied during the outage was found, not repeated
    assert [len(orders_numbered(stack, o)) for o in orders] == [1, 1]
    assert stack.sos.counters()[POST_ORDER] == 2 * MAX_RECEIVE_COUNT + 1
    assert stack.state.open_failures() == [] and stack.dlq_messages() == []


def test_wizcommerce_failing_our_reference_write_retries_without_a_second_sos_order(push_stack):
    stack = push_stack
    stack.wiz.inject_write_then_5xx(count=1, method="PUT", path="/v1/orders")
    stack.wiz.inject_5xx(count=1, method="PUT", path="/v1/orders")
    order = stack.place_order(stack.mapped_items()[:1])
    stack.sync()
    [sos_order] = orders_numbered(stack, order)
    assert stack.wc_order(order["id"])["reference_id"] == str(sos_order["id"])
    assert stack.sos.counters()[POST_ORDER] == 1
