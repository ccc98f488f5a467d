"""Reading SOS records as the contract has them, and saying which record and field when one
does not read (issue 19): SOS-A9 link shapes, SOS-A15 numbers, SOS-A21 customer addresses,
SOS-A23 null refs. Pure: no I/O."""

from __future__ import annotations

import pytest

from sos_wiz_sync.models.sos import (
    SosCustomer,
    SosInvoice,
    SosItem,
    SosRecordError,
    SosSalesOrder,
    linked_transactions,
    read_record,
)
from sos_wiz_sync.rules.sos_to_wc import wc_customer

LINE = {"item": {"id": 5, "name": "Widget"}, "quantity": 2, "unitPrice": 3.5}
ORDER = {"id": 42, "number": "1001", "customer": {"id": 7}, "lines": [LINE]}


def unreadable(model, row, resource) -> str:
    with pytest.raises(SosRecordError) as refused:
        read_record(model, row, resource)
    return refused.value.reason


# -- SOS-A9: linked* elements -----------------------------------------------------------------------

@pytest.mark.parametrize("link", [
    {"id": 9, "transactionType": "Shipment", "refNumber": "SH-9", "linenumber": 1},
    [{"id": 9, "transactionType": "Shipment"}],  # wrapped in a one-element list
    {"id": "9"},  # a number sent as a string
])
def test_the_documented_link_shape_reads(link):
    order = read_record(SosSalesOrder, {**ORDER, "linkedShipments": [link]}, "salesorder")
    assert [shipment.id for shipment in order.linkedShipments] == [9]


@pytest.mark.parametrize("links, field, shown", [
    ([9], "linkedShipments.0", "9"),
    (["SH-9"], "linkedShipments.0", "'SH-9'"),
    ([{"shipmentId": 9}], "linkedShipments.0", "{'shipmentId': 9}"),
    ([[{"id": 9}, {"id": 10}]], "linkedShipments.0", "[{'id': 9}, {'id': 10}]"),
])
def test_any_other_link_shape_names_the_record_the_field_and_sos_a9(links, field, shown):
    reason = unreadable(SosSalesOrder, {**ORDER, "linkedShipments": links}, "salesorder")
    assert reason == (f"unreadable: salesorder 42 {field}: not a linked transaction {{id, transactionType, "
                      f"refNumber, lineNumber}}: {shown} (SOS-A9)")


def test_a_links_field_that_is_not_a_list_is_no_list_of_links():
    reason = unreadable(SosSalesOrder, {**ORDER, "linkedInvoices": {"id": 3}}, "salesorder")
    assert reason.startswith("unreadable: salesorder 42 linkedInvoices: not a list of linked transactions")
    assert reason.endswith("(SOS-A9)")
    assert read_record(SosSalesOrder, {**ORDER, "linkedInvoices": None}, "salesorder").linkedInvoices == []


def test_one_link_list_of_a_raw_record_is_read_strictly():
    record = {"id": 42, "linkedShipments": [{"id": 9}], "linkedInvoices": [3]}
    assert [link.id for link in linked_transactions(record, "linkedShipments", "salesorder")] == [9]
    with pytest.raises(SosRecordError, match=r"salesorder 42 linkedInvoices\.0: .*\(SOS-A9\)"):
        linked_transactions(record, "linkedInvoices", "salesorder")


def test_an_invoice_line_link_in_another_shape_is_refused_not_read_as_no_order():
    invoice = {"id": 8, "total": 10, "lines": [{"item": {"id": 5}, "linkedTransaction": "SO 1001"}]}
    assert unreadable(SosInvoice, invoice, "invoice") == (
        "unreadable: invoice 8 lines: line 0 linkedTransaction: not a linked transaction {id, transactionType, "
        "refNumber, lineNumber}: 'SO 1001' (SOS-A9)")
    link = [{"id": 42, "transactionType": "SalesOrder"}]
    linked = {**invoice, "lines": [{"item": {"id": 5}, "linkedTransaction": link}]}
    assert read_record(SosInvoice, linked, "invoice").sales_order.id == 42


# -- SOS-A15, SOS-A23 ------------------------------------------------------------------------------

def test_a_number_longer_than_we_create_reads():
    assert read_record(SosSalesOrder, {**ORDER, "number": "N" * 25}, "salesorder").number == "N" * 25


def test_null_refs_read_and_the_lines_with_an_item_are_told_apart():
    order = read_record(SosSalesOrder, {**ORDER, "customer": None, "lines": [LINE, {**LINE, "item": None}]},
                        "salesorder")
    assert order.customer is None and [line.item.id for line in order.item_lines] == [5]


def test_a_value_that_does_not_read_names_the_record_and_field():
    assert unreadable(SosItem, {"id": 3, "onhand": "lots"}, "item") == (
        "unreadable: item 3 onhand: Input should be a valid number, unable to parse string as a number: 'lots'")
    assert unreadable(SosSalesOrder, {**ORDER, "lines": [{"item": {"id": 5}, "quantity": 1}]}, "salesorder") == (
        "unreadable: salesorder 42 lines.0.unitPrice: missing")
    problem = SosRecordError("salesorder", 42, "customer", "null", "SOS-A23", kind="unmirrorable")
    assert (problem.count_key, problem.details()["field"]) == ("unmirrorable-sos-record", "customer")


# -- SOS-A21: customer addresses ---------------------------------------------------------------------

FLAT = {"line1": "1 Main St", "city": "Austin", "stateProvince": "TX", "postalCode": "78701", "country": "US"}


@pytest.mark.parametrize("billing", [FLAT, {"company": "Acme", "phone": "555", "email": None, "addressName": None,
                                            "addressType": None, "address": FLAT}])
def test_customer_addresses_flat_or_nested_reach_wizcommerce(billing):
    customer = SosCustomer.model_validate({"id": 7, "name": "Acme", "billing": billing, "shipping": None})
    [address] = wc_customer(customer, None)["addresses"]
    assert (address["type"], address["address_line_1"], address["city"], address["zip_code"]) == (
        "billing", "1 Main St", "Austin", "78701")
