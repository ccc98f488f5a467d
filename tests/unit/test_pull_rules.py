"""SOS → WizCommerce record rules (R-CUS-3, R-ORD-7, R-DOC-1, R-PAY-2) and first-sync matching
(R-TIME-2): pure functions, no I/O."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sos_wiz_sync.models.sos import SosCustomer, SosInvoice, SosSalesOrder, SosShipment
from sos_wiz_sync.rules.matching import (
    SosSide,
    WcSide,
    email_key,
    first_sync_order_origin,
    match_records,
    wc_order_keys,
)
from sos_wiz_sync.rules.sos_to_wc import (
    PULLED_ORDER_SOURCE,
    Waiting,
    changed_fields,
    differs,
    is_pushed_order_number,
    is_pushed_payment_number,
    counted_paid,
    order_paid,
    payment_status,
    wc_customer,
    wc_invoice,
    wc_order,
    wc_shipment,
)
from sos_wiz_sync.rules.versions import timestamp_version
from sos_wiz_sync.store.mappings import Mapping
from sos_wiz_sync.sync.mirror import applied_already, may_be_hand_edit

ADDRESS = {"line1": "1 Main St", "line2": None, "city": "Austin", "stateProvince": "TX", "postalCode": "78701",
           "country": "US"}
TRANSACTION_ADDRESS = {"company": "Acme Supply", "phone": "555", "email": None, "addressName": None,
                       "addressType": None, "address": ADDRESS}


def sos_customer(**fields) -> SosCustomer:
    return SosCustomer.model_validate({"id": 7, "name": "Acme Supply", "companyName": "Acme Supply",
                                       "contact": {"firstName": "Sam", "lastName": "Lee"},
                                       "email": "sam@acme.example",
                                       "phone": "555", "billing": ADDRESS, "shipping": ADDRESS, **fields})


# -- comparing ------------------------------------------------------------------------------

@pytest.mark.parametrize("current, desired, expected", [
    (1.0, 1, False), (1.00001, 1.0, False), (1.01, 1.0, True), (None, "", False), ("", None, False),
    ("a", "b", True), ({"a": 1, "id": "x"}, {"a": 1}, False), ({"a": 1}, {"a": 2}, True),
    (None, {"a": None}, False), (None, {"a": 1}, True), ([{"q": 1, "id": 1}], [{"q": 1}], False),
    ([{"q": 1}], [{"q": 1}, {"q": 2}], True), (True, 1, True), (None, False, True), (False, False, False),
])
def test_only_what_we_write_is_compared(current, desired, expected):
    assert differs(current, desired) is expected


def test_changed_fields_leave_what_wizcommerce_owns_after_create():
    current = {"status": "cancelled", "reference_id": "9", "display_id": "1001", "customer_note": "x"}
    desired = {"status": "confirmed", "reference_id": "9", "display_id": "1002", "customer_note": "x"}
    assert changed_fields(current, desired) == {"display_id": "1002"}


# -- customers ------------------------------------------------------------------------------

CUSTOMER_WRITE_FIELDS = {"company_name", "display_name", "display_id", "reference_id", "assigned_sales_rep_ids",
                         "assigned_price_list_id", "payment_term", "addresses", "contacts", "attributes"}


def test_a_new_customer_gets_its_sos_id_names_contact_and_default_addresses():
    """WC-A17: only documented write fields; the contact person is the default contact."""
    body = wc_customer(sos_customer(), None)
    assert set(body) <= CUSTOMER_WRITE_FIELDS
    assert body["reference_id"] == "7" and body["display_name"] == "Acme Supply"
    assert [(c["first_name"], c["last_name"], c["email"], c["is_default"]) for c in body["contacts"]] == [
        ("Sam", "Lee", "sam@acme.example", True)]
    assert [(a["type"], a["is_default"], a["zip_code"], a["email"]) for a in body["addresses"]] == [
        ("billing", True, "78701", "sam@acme.example"), ("shipping", True, "78701", "sam@acme.example")]


def test_sos_addresses_replace_the_defaults_in_place_and_keep_other_wc_addresses():
    current = {"addresses": [
        {"id": "a1", "type": "billing", "is_default": True, "address_line_1": "old", "zip_code": "1"},
        {"id": "a2", "type": "shipping", "is_default": False, "address_line_1": "dock 2"},
        {"id": "a3", "type": "shipping", "is_default": True, "address_line_1": "old", "zip_code": "1"}]}
    addresses = wc_customer(sos_customer(), current)["addresses"]
    assert [(a["id"], a["address_line_1"]) for a in addresses] == [("a1", "1 Main St"), ("a2", "dock 2"),
                                                                   ("a3", "1 Main St")]


def as_read(body: dict) -> dict:
    """A customer as WC reads back what `body` wrote (WC-A17): `company_name` as `name`, ids on
    its addresses and contacts."""
    read = {key: value for key, value in body.items() if key != "company_name"}
    return {**read, "id": "cust_1", "name": body["company_name"],
            "addresses": [{**a, "id": f"x{n}"} for n, a in enumerate(body["addresses"])],
            "contacts": [{**c, "id": f"c{n}"} for n, c in enumerate(body.get("contacts", []))]}


@pytest.mark.parametrize("company", [None, "Acme Supply Co."])
def test_an_unchanged_customer_needs_no_write(company):
    """WC-A17: compared like with like, also when the company name differs from the SOS name
    (before, `name` and `company_name` were both compared with the read `name`: one always differed)."""
    current = as_read(wc_customer(sos_customer(companyName=company), None))
    assert changed_fields(current, wc_customer(sos_customer(companyName=company), current)) == {}
    changes = changed_fields(current, wc_customer(sos_customer(companyName=company, phone="556"), current))
    assert [c["phone"] for c in changes["contacts"]] == ["556"] and changes["contacts"][0]["id"] == "c0"
    assert [a["phone"] for a in changes["addresses"]] == ["556", "556"]
    assert [a["id"] for a in changes["addresses"]] == ["x0", "x1"]  # the same addresses, edited


def test_the_sos_contact_replaces_the_default_wc_contact_and_keeps_the_others():
    current = as_read(wc_customer(sos_customer(), None))
    current["contacts"] = [{"id": "c9", "first_name": "Buyer", "is_default": False}, *current["contacts"]]
    contacts = wc_customer(sos_customer(email="new@acme.example"), current)["contacts"]
    assert [(c["id"], c.get("email")) for c in contacts] == [("c9", None), ("c0", "new@acme.example")]


# -- orders ---------------------------------------------------------------------------------

def sos_order(**fields) -> SosSalesOrder:
    return SosSalesOrder.model_validate({
        "id": 31, "number": "1007", "customer": [{"id": 7}], "billing": TRANSACTION_ADDRESS, "shipping": None,
        # SOS's casing varies: both spellings of the line price and line number are read.
        "lines": [{"item": {"id": 4}, "quantity": 2, "unitPrice": 9.5, "lineNumber": 1},
                  {"item": {"id": 5}, "quantity": 1, "unitprice": 3, "linenumber": 2}],
        "discountAmount": 1.5, "comment": "call first", "customerMessage": "thanks", **fields})


def test_an_sos_order_becomes_a_confirmed_wc_order_marked_as_pulled():
    body = wc_order(sos_order(), customer_id="cust_3", product_ids={4: "prod_4", 5: "prod_5"})
    assert body["reference_id"] == "31" and body["display_id"] == "1007" and body["customer_id"] == "cust_3"
    assert body["status"] == "confirmed" and body["source"] == PULLED_ORDER_SOURCE
    assert body["line_items"] == [{"product_id": "prod_4", "quantity": 2, "unit_price": 9.5},
                                  {"product_id": "prod_5", "quantity": 1, "unit_price": 3}]
    assert body["discount_value"] == 1.5 and body["internal_note"] == "call first"
    assert body["customer_note"] == "thanks"
    assert body["billing_address"]["state"] == "TX" and body["shipping_address"] is None
    assert "type" not in body["billing_address"]  # WC-A13: an order address reads without `type`


def order_as_read(body: dict, **fields) -> dict:
    """What WC reads back of an order body (WC-A13): no `discount_value`, no address `type`, an
    `amount`."""
    amount = sum(line["quantity"] * line["unit_price"] for line in body["line_items"]) - body["discount_value"]
    read = {key: value for key, value in body.items() if key != "discount_value"}
    return {**read, "id": "ord_1", "amount": round(amount, 2), **fields}


def test_an_unchanged_sos_order_needs_no_write_though_the_read_lacks_discount_value():
    """WC-A13: `discount_value` is not read back: it is compared through `amount`, never itself."""
    body = wc_order(sos_order(), customer_id="cust_3", product_ids={4: "prod_4", 5: "prod_5"})
    assert changed_fields(order_as_read(body), body) == {}


def test_a_changed_sos_discount_shows_in_the_amount_and_is_sent_with_any_order_change():
    body = wc_order(sos_order(discountAmount=4.0), customer_id="cust_3", product_ids={4: "prod_4", 5: "prod_5"})
    read = order_as_read(wc_order(sos_order(), customer_id="cust_3", product_ids={4: "prod_4", 5: "prod_5"}))
    assert changed_fields(read, body) == {"discount_value": 4.0}
    edited = wc_order(sos_order(comment="new"), customer_id="cust_3", product_ids={4: "prod_4", 5: "prod_5"})
    assert changed_fields(read, edited) == {"internal_note": "new", "discount_value": 1.5}  # a PUT would drop it


def test_an_order_with_an_item_no_wc_product_carries_waits_and_says_which():
    waiting = wc_order(sos_order(), customer_id="cust_3", product_ids={4: "prod_4"})
    assert isinstance(waiting, Waiting) and "5" in waiting.reason


@pytest.mark.parametrize("number, prefix, suffix, pushed", [
    ("WC-SO-1001", "WC-", "", True), ("1001", "WC-", "", False), ("WC-", "WC-", "", False),
    ("SO-1001-W", "", "-W", True), ("SO-1001", "", "", False),
])
def test_pushed_order_numbers_are_recognised_only_when_they_have_a_shape(number, prefix, suffix, pushed):
    assert is_pushed_order_number(number, prefix, suffix) is pushed


# -- invoices, shipments, payments ----------------------------------------------------------

def sos_invoice(**fields) -> SosInvoice:
    return SosInvoice.model_validate({
        "id": 3, "number": "INV-3", "total": 100.0, "balance": 40.0,
        "linkedTransaction": {"id": 31, "transactionType": "SalesOrder", "refNumber": "1007"},
        "lines": [{"item": {"id": 4, "name": "Chair"}, "quantity": 2, "unitprice": 50, "amount": 100}], **fields})


def test_an_invoice_shows_what_is_paid_and_its_status():
    invoice = sos_invoice()
    assert invoice.sales_order.id == 31
    body = wc_invoice(invoice, order_id="ord_9", skus={4: "CHR-4"})
    assert (body["order_id"], body["paid_amount"], body["status"]) == ("ord_9", 60.0, "PARTIALLY_PAID")
    assert body["items"] == [{"reference_id": "4", "sku": "CHR-4", "name": "Chair", "quantity": 2, "rate": 50,
                              "amount": 100}]


@pytest.mark.parametrize("balance, paid, status", [
    (100.0, 0.0, "PENDING"), (40.0, 60.0, "PARTIALLY_PAID"), (0.0, 100.0, "PAID"), (-20.0, 120.0, "OVERPAID"),
])
def test_the_invoice_status_comes_from_its_balance(balance, paid, status):
    body = wc_invoice(sos_invoice(balance=balance), order_id="ord_9", skus={})
    assert (body["paid_amount"], body["status"]) == (paid, status)


def test_an_invoice_from_a_fulfilment_finds_its_order_through_its_lines():
    invoice = sos_invoice(linkedTransaction={"id": 8, "transactionType": "Shipment"},
                          lines=[{"item": {"id": 4}, "quantity": 1, "unitPrice": 5, "amount": 5,
                                  "linkedTransaction": {"id": 31, "transactionType": "SalesOrder"}}])
    assert invoice.sales_order.id == 31
    assert sos_invoice(linkedTransaction=None).sales_order is None


def test_an_order_is_paid_its_deposit_or_what_its_invoices_say_never_both():
    assert order_paid(30, []) == 30 and order_paid(None, []) == 0
    assert order_paid(30, [counted_paid(sos_invoice(balance=40.0))]) == 60
    assert order_paid(30, [counted_paid(sos_invoice(balance=100.0)),
                           counted_paid(sos_invoice(balance=10.0, voided=True))]) == 30


def test_a_shipment_carries_tracking_and_only_lines_wc_has_products_for():
    shipment = SosShipment.model_validate({
        "id": 8, "number": "SH-8", "trackingNumber": "1Z999", "shippingMethod": {"id": 2, "name": "UPS"},
        "linkedTransaction": None,
        "lines": [{"item": {"id": 4}, "quantity": 2, "linkedTransaction": {"id": 31, "transactionType": "SalesOrder"}},
                  {"item": {"id": 6}, "quantity": 1}]})
    assert shipment.sales_order.id == 31
    body = wc_shipment(shipment, order_id="ord_9", product_ids={4: "prod_4"})
    assert body["tracking_info"] == {"tracking_number": "1Z999", "tracking_url": None, "delivery_partner": "UPS"}
    assert body["shipment_items"] == [{"product_id": "prod_4", "quantity": 2}]


def test_sos_a10_a_shipment_names_its_order_on_the_header_first_then_on_a_line():
    """SOS-A10: an account whose shipments name the order on the header (lines null) is read too,
    and a header naming something other than a sales order falls back to the lines."""
    header = SosShipment.model_validate({
        "id": 9, "linkedTransaction": {"id": 32, "transactionType": "SalesOrder", "refNumber": "SO-32"},
        "lines": [{"item": {"id": 4}, "quantity": 2, "linkedTransaction": None}]})
    assert header.sales_order.id == 32
    other = SosShipment.model_validate({
        "id": 10, "linkedTransaction": {"id": 5, "transactionType": "Invoice"},
        "lines": [{"item": {"id": 4}, "quantity": 2, "linkedTransaction": {"id": 33, "transactionType": "SalesOrder"}}]})
    assert other.sales_order.id == 33


@pytest.mark.parametrize("amount, paid, status", [
    (100, 0, None), (100, 40, None), (100, 100, "PAID"), (100, 120, "PAID"), (None, 5, "PAID"),
])
def test_payment_status_is_paid_in_full_or_left_unset(amount, paid, status):
    """WC-A18: only "PAID" is a documented value; below paid in full nothing is written."""
    assert payment_status(amount, paid) == status


def test_payments_the_push_made_are_recognised_by_their_number():
    assert is_pushed_payment_number("WCP-pay_12") and not is_pushed_payment_number("17")
    assert not is_pushed_payment_number(None)


# -- first-sync matching --------------------------------------------------------------------

def test_reference_id_first_then_a_key_only_when_both_sides_have_one_candidate():
    sos = [SosSide("1", email_key("a@x")), SosSide("2", email_key("b@x")), SosSide("3", email_key("c@x")),
           SosSide("4", email_key("c@x")), SosSide("5", email_key("e@x"))]
    wc = [WcSide("w1", "1", email_key("other@x")),   # by Reference ID, whatever the email says
          WcSide("w2", "", email_key("B@X ")),       # by email, normalised
          WcSide("w3", None, email_key("c@x")),      # two SOS candidates: ambiguous
          WcSide("w5", None, email_key("e@x")), WcSide("w6", None, email_key("e@x")),  # two WC: ambiguous
          WcSide("w7", None, email_key("nobody@x"))]
    result = match_records(sos, wc, linked_sos={}, linked_wc={})
    assert {(m.sos_id, m.wc_id, m.how) for m in result.matches} == {("1", "w1", "reference"), ("2", "w2", "key")}
    assert sorted((a.sos_ids, a.wc_ids) for a in result.ambiguous) == [(("3", "4"), ("w3",)),
                                                                       (("5",), ("w5", "w6"))]


def test_stored_mappings_are_kept_and_a_reference_to_a_linked_record_is_a_conflict():
    sos = [SosSide("1"), SosSide("2")]
    wc = [WcSide("w1", "1"), WcSide("w9", "2")]
    result = match_records(sos, wc, linked_sos={"1": "w1", "2": "w2"}, linked_wc={"w1": "1", "w2": "2"})
    assert result.matches == [] and result.already_linked == 1
    assert [(c.sos_ids, c.wc_ids) for c in result.conflicts] == [(("2",), ("w9",))]


def test_a_wc_order_matches_the_number_the_push_gave_it_or_its_own():
    assert wc_order_keys("SO-1001", "WC-", "") == {"WC-SO-1001", "SO-1001"}
    assert first_sync_order_origin("WC-SO-1001", "SO-1001", "web", "WC-", "") == "wc"
    assert first_sync_order_origin("4411", "4411", PULLED_ORDER_SOURCE, "", "") == "sos"
    assert first_sync_order_origin("SO-1001", "SO-1001", "web", "", "") == "wc"
    assert first_sync_order_origin("4411", "SO-1001", None, "", "") == "sos"


# -- drift repair on the entity pulls -----------------------------------------------------------

def link(origin: str = "sos", echo: int | None = None, token: int | None = 4) -> Mapping:
    return Mapping(entity="invoice", wc_id="inv_1", sos_id="7", origin=origin, wc_echo_version=echo,
                   sos_sync_token=token)


def test_a_wc_change_is_worth_an_sos_read_only_on_an_sos_origin_record_we_did_not_write_last():
    at = datetime(2026, 11, 30, 12, 0, 0, 123000, tzinfo=timezone.utc)
    ours = timestamp_version(at)
    assert may_be_hand_edit(link(echo=ours - 1), at)
    assert may_be_hand_edit(link(echo=None), at)
    assert not may_be_hand_edit(link(echo=ours), at)           # our own write: SOS's content
    assert not may_be_hand_edit(link(origin="wc", echo=None), at)  # the push takes its edits to SOS
    assert not may_be_hand_edit(None, at)                      # not linked: nothing of SOS's to put back


def test_a_version_is_applied_already_only_when_the_mapping_holds_that_sync_token():
    assert applied_already(link(token=4), {"syncToken": 4})
    assert not applied_already(link(token=4), {"syncToken": 5})
    assert not applied_already(link(token=None), {"syncToken": None})  # first sync: never applied
    assert not applied_already(None, {"syncToken": 4})
