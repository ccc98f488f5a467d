"""Exactly once (R-PUSH-1, R-ORD-4, R-OPS-1): every order announced five times — by the WC change
poll, reconciliation, redelivery — in shuffled order, gives one SOS order per WC order: through
the poll and the FIFO queue, and also when the repeats come later than SQS's five-minute
deduplication window and reach the push function as new messages."""

from __future__ import annotations

import random

from push_stack import PushStack, delivered_record, push_stack  # noqa: F401 - fixture

DELIVERIES = 5
BATCH = 10  # PushFunction's BatchSize
COLD_START_EVERY = 100  # batches: a new container, so repeats meet the idempotency table too
POST_ORDER = "POST /api/v2/salesorder"


def confirmed_orders(stack: PushStack, count: int) -> list[dict]:
    items = stack.mapped_items()
    customers = [f"cust_{n}" for n in range(1, 7)]
    return [stack.wiz.create_order(customers[n % len(customers)],
                                   [{"product_id": stack.product_for_item(items[n % len(items)])["id"],
                                     "quantity": 1 + n % 3, "unit_price": 9.99}])
            for n in range(count)]


def assert_each_order_once(stack: PushStack, orders: list[dict]) -> None:
    numbers = [f"WC-{order['display_id']}" for order in orders]
    in_sos = [order["number"] for order in stack.sos.sales_orders.values()]
    assert sorted(in_sos) == sorted(numbers)                      # every order there, none twice
    assert stack.sos.counters()[POST_ORDER] == len(orders)         # each created once, none adopted
    assert all(stack.wc_order(o["id"])["reference_id"] for o in orders)
    assert stack.state.open_failures() == [] and stack.dlq_messages() == []


def announcements(stack: PushStack, orders: list[dict]) -> list[tuple[str, str]]:
    """(message body, group) of each order announced DELIVERIES times under different ids."""
    sources = ("poll", "reconcile", "redelivery-1", "redelivery-2", "redelivery-3")
    return [(stack.change_message("order", order["id"], f"{source}:order:{order['id']}:{order['updated_at']}"),
             f"order#{order['id']}") for order in orders for source in sources[:DELIVERIES]]


def test_repeats_through_the_poll_and_the_fifo_queue_give_one_sos_order_each(push_stack):
    stack = push_stack
    orders = confirmed_orders(stack, 100)
    repeats = announcements(stack, orders)
    random.Random(5).shuffle(repeats)
    for body, group in repeats:
        stack.send_to_push_queue(body, group)
    stack.sync()  # and the poll announces each once more
    assert_each_order_once(stack, orders)


def test_1000_orders_delivered_5_times_each_in_shuffled_order_give_exactly_1000_sos_orders(push_stack):
    stack = push_stack
    orders = confirmed_orders(stack, 1000)
    # Given each order announced five times, shuffled, as new SQS messages (repeats hours apart:
    # the queue's deduplication has long forgotten them)
    records = [delivered_record(body, group, stack.queue_arn) for body, group in announcements(stack, orders)]
    random.Random(7).shuffle(records)
    # When PushFunction gets them in batches, in a new container now and then
    failed = set()
    for n, start in enumerate(range(0, len(records), BATCH)):
        if n % COLD_START_EVERY == 0:
            stack.runtime.recycle("PushFunction")
        failed |= stack.invoke_push(records[start:start + BATCH])
    # Then no record failed and SOS has exactly one order per WC order
    assert failed == set()
    assert_each_order_once(stack, orders)
