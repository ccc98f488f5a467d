"""What a new order costs in SOS calls (issue 20: ~17 orders per poll share 2 requests/s): its
first attempt is one POST, no look-up by number; every later attempt looks up first, because an
earlier POST may have been applied although it answered 5xx or timed out (SOS-A13), and so does
an order whose `reference_id` R-ORD-7 must check."""

from __future__ import annotations

from push_stack import PushStack, push_stack  # noqa: F401 - fixture

POST_ORDER = "POST /api/v2/salesorder"
FIND_ORDER = "GET /api/v2/salesorder"  # `?query=<number>`: the look-up by number


def orders_numbered(stack: PushStack, order: dict) -> list[dict]:
    return stack.sos_orders_numbered(f"WC-{order['display_id']}")


def test_the_first_push_of_a_new_order_is_one_post_and_no_lookup_by_number(push_stack):
    stack = push_stack
    # Given a deployment past its first order (that one also reads `updatedsince` once: SOS-A16's first use)
    stack.place_order(stack.mapped_items()[:1])
    stack.sync()
    # and a newly confirmed WC order, never attempted
    order = stack.place_order(stack.mapped_items()[:2])
    stack.sos.reset_counters()
    # When the poll announces it and the push runs (and the echo of our reference_id write after)
    stack.sync()
    # Then SOS got the order in one call for the order itself: the POST, no GET by number before it
    counters = stack.sos.counters()
    assert counters.get(POST_ORDER) == 1 and counters.get(FIND_ORDER, 0) == 0, counters
    [sos_order] = orders_numbered(stack, order)
    assert stack.mappings.by_wc("order", order["id"]).sos_id == str(sos_order["id"])
    assert stack.state.open_failures() == [] and stack.dlq_messages() == []


def test_a_post_sos_applied_but_answered_5xx_is_found_by_number_on_redelivery_not_posted_again(push_stack):
    """SOS-A13: the first attempt's marker makes the redelivered push look up before creating."""
    stack = push_stack
    # Given SOS applies the order's POST but answers 500
    stack.sos.inject_write_then_5xx(count=1, method="POST", path="/api/v2/salesorder")
    order = stack.place_order(stack.mapped_items()[:1])
    stack.sos.reset_counters()
    # When the push fails and SQS delivers the message again
    stack.sync()
    # Then the retry found the order by its number and adopted it: one SOS order, one POST, one look-up
    [sos_order] = orders_numbered(stack, order)
    counters = stack.sos.counters()
    assert (counters.get(POST_ORDER), counters.get(FIND_ORDER)) == (1, 1), counters
    assert stack.sos.faulted_counters().get(POST_ORDER) == 1
    assert stack.mappings.by_wc("order", order["id"]).sos_id == str(sos_order["id"])
    assert stack.wc_order(order["id"])["reference_id"] == str(sos_order["id"])
    assert stack.state.open_failures() == [] and stack.dlq_messages() == []


def test_a_new_order_carrying_a_reference_id_is_still_looked_up_and_r_ord_7_keeps_it_out_of_sos(push_stack):
    """No create attempt is recorded for it, yet it is not POSTed blindly: the reference_id names
    an SOS order, and only the order found by its number may be it (R-ORD-7)."""
    stack = push_stack
    sos_made = stack.sos.create_sales_order(number="SO-BY-HAND-7", customer={"id": 2},
                                            lines=[{"item": {"id": stack.mapped_items()[0]}, "quantity": 1,
                                                    stack.sos.line_price_field: 3}])
    # Given a WC order, not pushed by us, carrying the id of an SOS order made by hand under another number
    order = stack.place_order(stack.mapped_items()[:1], reference_id=str(sos_made["id"]))
    stack.sos.reset_counters()
    stack.sync()
    # Then it was looked up by its number and left alone: no SOS order made, nothing linked
    counters = stack.sos.counters()
    assert counters.get(FIND_ORDER) == 1 and counters.get(POST_ORDER, 0) == 0, counters
    assert orders_numbered(stack, order) == [] and len(stack.sos.sales_orders) == 1
    assert stack.mappings.by_wc("order", order["id"]) is None
    assert stack.state.open_failures() == [] and stack.dlq_messages() == []


def test_new_orders_pushed_side_by_side_check_sos_a16_once(push_stack):
    """A batch's groups are pushed at once (issue 20): SOS-A16's check after the first create is
    one `updatedsince` read per client, not one per thread that created an order before it ended."""
    stack = push_stack
    orders = [stack.place_order(stack.mapped_items()[k:k + 1]) for k in range(4)]
    # the first create's check is slow: the other threads' creates end while it runs
    stack.sos.inject_latency(1500, method="GET", path="/api/v2/salesorder", count=1)
    stack.sos.reset_counters()
    stack.sync()
    counters = stack.sos.counters()
    assert counters.get(POST_ORDER) == 4 and counters.get(FIND_ORDER) == 1, counters  # the updatedsince read
    assert all(len(orders_numbered(stack, order)) == 1 for order in orders)
