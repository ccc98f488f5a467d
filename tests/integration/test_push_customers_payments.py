"""Customers and online payments WizCommerce → SOS on moto server and the emulators over HTTP,
through the real ingress and push handlers (R-CUS-1, R-PAY-1, R-REF-3)."""

from __future__ import annotations

from push_stack import PushStack, push_stack  # noqa: F401 - fixture

POST_CUSTOMER = "POST /api/v2/customer"
POST_PAYMENT = "POST /api/v2/payment"


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
    # When customer.created (and our reference write's echo) go through
    stack.sync()
    # Then SOS has it once, and WC knows its SOS id
    [sos_customer] = sos_customers_named(stack, "Fjord Outfitters")
    assert sos_customer["email"] == "buyer@fjord.example" and sos_customer["billing"]["line1"] == "1 Quay St"
    assert stack.wiz.customers[customer["id"]]["reference_id"] == str(sos_customer["id"])
    mapping = stack.mappings.by_wc("customer", customer["id"])
    assert mapping.sos_id == str(sos_customer["id"]) and mapping.origin == "wc"
    # And an edit updates that SOS customer, never a second one
    stack.wiz.update_customer(customer["id"], phone="+1-555-0100")
    stack.sync()
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


def test_a_customer_create_answered_with_a_5xx_after_sos_applied_it_is_found_not_repeated(push_stack):
    stack = push_stack
    stack.sos.inject_write_then_5xx(count=1, method="POST", path="/api/v2/customer")
    customer = stack.wiz.create_customer(name="Lost Answer Ltd", email="ap@lost.example")
    stack.sync()
    [sos_customer] = sos_customers_named(stack, "Lost Answer Ltd")
    assert stack.mappings.by_wc("customer", customer["id"]).sos_id == str(sos_customer["id"])


def test_an_online_payment_reaches_sos_linked_to_customer_order_and_invoice_once(push_stack):
    stack = push_stack
    order = stack.place_order(stack.mapped_items()[:1])
    stack.sync()
    [sos_order] = stack.sos_orders_numbered(f"WC-{order['display_id']}")
    invoice = stack.sos.create_invoice(sos_order["id"])
    # Given a payment SOS applies but answers with a 500, and WizCommerce sending its webhook twice
    stack.sos.inject_write_then_5xx(count=1, method="POST", path="/api/v2/payment")
    payment = stack.wiz.emit_payment(order["id"], 25.0)
    [event] = stack.new_events()
    assert stack.deliver([event, event]) == [202, 202]
    stack.sync()
    # Then SOS has exactly one payment, linked to the customer, the order and its invoice
    [sos_payment] = [p for p in stack.sos.payments.values() if p["number"] == f"WCP-{payment['id']}"]
    assert (sos_payment["customer"]["id"], sos_payment["salesOrder"]["id"], sos_payment["invoice"]["id"]) == \
        (2, sos_order["id"], invoice["id"])
    assert sos_payment["amount"] == 25.0 and len(stack.sos.payments) == 1
    assert stack.mappings.by_wc("payment", payment["id"]).sos_id == str(sos_payment["id"])


def test_a_payment_for_an_order_not_in_sos_is_linked_to_the_customer(push_stack):
    stack = push_stack
    draft = stack.place_order(stack.mapped_items()[:1], status="draft")
    payment = stack.wiz.emit_payment(draft["id"], 10.0)
    stack.sync()
    [sos_payment] = stack.sos.payments.values()
    assert sos_payment["number"] == f"WCP-{payment['id']}" and sos_payment["customer"]["id"] == 2
    assert sos_payment["salesOrder"] is None and sos_payment["invoice"] is None
