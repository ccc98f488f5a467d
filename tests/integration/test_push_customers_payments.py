"""Customers and online payments WizCommerce → SOS on moto server and the emulators over HTTP,
through the real ingress, WC change poll and push handlers (R-CUS-1, R-PAY-1, R-REF-3).
WizCommerce has no payment resource or event: a payment is the order's `amount_paid` rising."""

from __future__ import annotations

import pytest

from push_stack import PushStack, push_stack, started_push_stack  # noqa: F401 - fixture

POST_CUSTOMER = "POST /api/v2/customer"
POST_PAYMENT = "POST /api/v2/payment"
PUT_ORDER = "PUT /api/v2/salesorder/{id}"


def sos_customers_named(stack: PushStack, name: str) -> list[dict]:
    return [c for c in stack.sos.customers.values() if c["name"] == name]


def test_a_new_wc_customer_is_created_in_sos_and_gets_the_sos_id_as_reference(push_stack):
    stack = push_stack
    # Given a customer created in WizCommerce, with addresses, a rep and a catalog
    customer = stack.wiz.create_customer(
        company_name="Fjord Outfitters", email="buyer@fjord.example", assigned_sales_rep_ids=["rep_1"],
        assigned_price_list_id="pl_2",
        addresses=[{"type": "billing", "is_default": True, "address_line_1": "1 Quay St", "city": "Portland",
                    "state": "OR", "zip_code": "97205", "country": "US"}])
    # When customer.created (and our reference write's customer.updated) go through
    assert stack.sync() == [202, 202]
    # Then SOS has it once, and WC knows its SOS id
    [sos_customer] = sos_customers_named(stack, "Fjord Outfitters")
    assert sos_customer["email"] == "buyer@fjord.example" and sos_customer["billing"]["line1"] == "1 Quay St"
    assert sos_customer["companyName"] == "Fjord Outfitters"
    assert stack.wiz.customers[customer["id"]]["reference_id"] == str(sos_customer["id"])
    mapping = stack.mappings.by_wc("customer", customer["id"])
    assert mapping.sos_id == str(sos_customer["id"]) and mapping.origin == "wc"
    # And an edit updates that SOS customer, never a second one
    stack.wiz.update_customer(customer["id"], phone="+1-555-0100", first_name="Ida", last_name="Berg")
    stack.sync()
    assert [c["contact"]["firstName"] for c in sos_customers_named(stack, "Fjord Outfitters")] == ["Ida"]
    assert [c["phone"] for c in sos_customers_named(stack, "Fjord Outfitters")] == ["+1-555-0100"]
    assert stack.sos.counters()[POST_CUSTOMER] == 1


def test_a_customer_linked_by_reference_id_is_updated_not_created(push_stack):
    stack = push_stack
    sos_count = len(stack.sos.customers)
    # Given a WC customer whose reference_id already names its SOS customer (no mapping yet)
    stack.wiz.update_customer("cust_3", phone="+1-555-0199")
    stack.sync()
    # Then that SOS customer is updated and the link stored
    assert len(stack.sos.customers) == sos_count
    assert stack.sos.customers[3]["phone"] == "+1-555-0199"
    assert stack.mappings.by_wc("customer", "cust_3").sos_id == "3"


def test_an_order_of_a_customer_not_in_sos_creates_the_customer_first(push_stack):
    stack = push_stack
    wc_only = stack.seeded["wiz_only_customer_ids"][0]
    order = stack.place_order(stack.mapped_items()[:1], customer=wc_only)
    stack.sync()
    mapping = stack.mappings.by_wc("customer", wc_only)
    [sos_order] = stack.sos_orders_numbered(f"WC-{order['display_id']}")
    assert sos_order["customer"]["id"] == int(mapping.sos_id)
    assert stack.wiz.customers[wc_only]["reference_id"] == mapping.sos_id
    assert stack.sos.counters()[POST_CUSTOMER] == 1


def test_orders_of_one_new_customer_pushed_side_by_side_create_it_once(push_stack):
    """A batch's message groups run at once (issue 20): three orders of a customer not in SOS yet
    race to create it; the customer lease lets one create it and the others find its mapping."""
    stack = push_stack
    wc_only = stack.seeded["wiz_only_customer_ids"][0]
    orders = [stack.place_order(stack.mapped_items()[k:k + 1], customer=wc_only) for k in range(3)]
    stack.sync()
    mapping = stack.mappings.by_wc("customer", wc_only)
    for order in orders:
        [sos_order] = stack.sos_orders_numbered(f"WC-{order['display_id']}")
        assert sos_order["customer"]["id"] == int(mapping.sos_id)
    assert stack.sos.counters()[POST_CUSTOMER] == 1
    assert stack.state.open_failures() == [] and stack.dlq_messages() == []


def test_a_customer_create_answered_with_a_5xx_after_sos_applied_it_is_found_not_repeated(push_stack):
    stack = push_stack
    stack.sos.inject_write_then_5xx(count=1, method="POST", path="/api/v2/customer")
    customer = stack.wiz.create_customer(name="Lost Answer Ltd", email="ap@lost.example")
    stack.sync()
    [sos_customer] = sos_customers_named(stack, "Lost Answer Ltd")
    assert stack.mappings.by_wc("customer", customer["id"]).sos_id == str(sos_customer["id"])


def test_an_online_payment_reaches_the_sos_order_as_its_deposit_once_and_shows_in_trace(push_stack):
    stack = push_stack
    order = stack.place_order(stack.mapped_items()[:1])
    stack.sync()
    sos_order = stack.the_sos_order(order)
    assert sos_order["depositAmount"] == 0
    stack.sos.reset_counters()
    # Given a payment made online in WizCommerce (amount_paid rises; no event is sent)
    stack.wiz.record_payment(order["id"], 20.0)
    # When the poll finds the order, and the change is announced three more times
    stack.sync()
    for n in range(3):
        stack.send_to_push_queue(stack.change_message("order", order["id"], f"again-{n}"), f"order#{order['id']}")
    stack.runtime.drain("PushQueue")
    # Then the SOS order's deposit is what was paid, written once
    assert stack.the_sos_order(order)["depositAmount"] == 20.0
    assert stack.sos.counters().get(PUT_ORDER) == 1 and stack.sos.counters().get(POST_PAYMENT) is None
    # And a second payment raises it to the total paid
    stack.wiz.record_payment(order["id"], 5.0)
    stack.sync()
    assert stack.the_sos_order(order)["depositAmount"] == 25.0
    # And the order's story says which route each payment took
    pushed = [e for e in stack.state.history("order", order["id"]) if e["action"] == "payment-pushed"]
    assert [(e["route"], float(e["amount_paid"])) for e in pushed] == [("deposit", 25.0), ("deposit", 20.0)]


def test_what_was_paid_before_the_order_reached_sos_goes_in_with_it(push_stack):
    stack = push_stack
    order = stack.place_order(stack.mapped_items()[:1], status="draft")
    stack.wiz.record_payment(order["id"], 12.5)
    stack.wiz.set_order_status(order["id"], "confirmed")
    stack.sync()
    assert stack.the_sos_order(order)["depositAmount"] == 12.5
    assert stack.sos.counters().get(PUT_ORDER, 0) == 0  # in the create, not a second write
    assert stack.mappings.by_wc("order", order["id"]).pushed_amount_paid == 12.5


def test_the_payment_route_posts_one_sos_payment_per_rise_where_the_account_answers_it(monkeypatch):
    stack = started_push_stack(monkeypatch, parameters={"PaymentRoute": "payment"})
    try:
        stack.sos.configure(payment_endpoint=True)
        order = stack.place_order(stack.mapped_items()[:1])
        stack.sync()
        sos_order = stack.the_sos_order(order)
        # Given a payment SOS applies but answers with a 500
        stack.sos.inject_write_then_5xx(count=1, method="POST", path="/api/v2/payment")
        stack.wiz.record_payment(order["id"], 25.0)
        stack.sync()
        stack.sync()
        # Then SOS has exactly one payment, on the order, numbered from the order and the total paid
        [sos_payment] = stack.sos.payments.values()
        assert sos_payment["number"] == f"WCP-{order['display_id']}@25.00" and sos_payment["amount"] == 25.0
        assert sos_payment["linkedTransaction"]["id"] == sos_order["id"]
    finally:
        stack.stop()


def test_the_payment_route_on_an_account_without_payment_parks_the_change_with_its_reason(monkeypatch):
    stack = started_push_stack(monkeypatch, parameters={"PaymentRoute": "payment"})
    try:
        order = stack.place_order(stack.mapped_items()[:1])
        stack.sync()
        stack.wiz.record_payment(order["id"], 5.0)
        stack.sync()
        assert len(stack.sos.payments) == 0
        failure = stack.state.get_failure("order", order["id"])
        assert "does not answer /payment" in failure["reason"] and failure["status"] == "open"
        assert stack.dlq_messages()
    finally:
        stack.stop()


@pytest.mark.parametrize(("present", "reading"), [(True, "present"), (False, "absent")])
def test_the_payment_route_follows_the_stored_sos_a11_reading_without_probing_payment(monkeypatch, present, reading):
    """R-OPS-5, SOS-A11 under each reading: with `/payment`'s presence stored by the contract probe,
    the push takes it as settled (no `GET /payment` of its own): present, the payment is posted;
    absent, the change is parked naming SOS-A11."""
    from sos_wiz_sync.store.contract import ContractReadings

    stack = started_push_stack(monkeypatch, parameters={"PaymentRoute": "payment"})
    try:
        stack.sos.configure(payment_endpoint=present)
        ContractReadings(stack.runtime.ref("StateTable")).save(
            "SOS-A11", reading=reading, how="GET /payment?maxresults=1", evidence=f"test: {reading}")
        order = stack.place_order(stack.mapped_items()[:1])
        stack.sync()
        stack.sos.reset_counters()
        stack.wiz.record_payment(order["id"], 5.0)
        stack.sync()
        # the stored reading, not a probe: present, only the lookup of the payment's number; absent, no call
        assert stack.sos.counters().get("GET /api/v2/payment", 0) == (1 if present else 0)
        if present:
            [sos_payment] = stack.sos.payments.values()
            assert sos_payment["amount"] == 5.0
        else:
            assert len(stack.sos.payments) == 0
            failure = stack.state.get_failure("order", order["id"])
            assert "SOS-A11" in failure["reason"] and failure["status"] == "open"
    finally:
        stack.stop()


def test_an_edit_sos_receives_nothing_of_is_recorded_as_examined_for_the_ledger(push_stack):
    """R-OPS-4: a WC customer edit that changes no field SOS receives pushes nothing, yet the
    mapping records that this WC version was examined (`wc_version`), so the ledger counts the
    customer synced instead of an edit never pushed."""
    from datetime import datetime

    from sos_wiz_sync.rules.versions import timestamp_version

    stack = push_stack
    customer = stack.wiz.create_customer(company_name="Quiet Edits Co", email="quiet@example.com")
    stack.sync()
    puts = stack.sos.counters().get("PUT /api/v2/customer/{id}", 0)
    edited = stack.wiz.update_customer(customer["id"], payment_term="net-60")  # no field SOS receives
    stack.sync()
    assert stack.sos.counters().get("PUT /api/v2/customer/{id}", 0) == puts  # nothing pushed
    examined = datetime.fromisoformat(edited["updated_at"].replace("Z", "+00:00"))
    assert stack.mappings.by_wc("customer", customer["id"]).wc_version == timestamp_version(examined)
