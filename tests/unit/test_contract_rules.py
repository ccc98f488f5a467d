"""R-OPS-5: each probe row's rule decides its reading from canned answers: every known reading,
an answer that fits neither (NEITHER, naming what was seen), and an account that cannot tell yet."""

from __future__ import annotations

import pytest

from sos_wiz_sync.rules import contract as c
from sos_wiz_sync.rules.contract import NEITHER, Answer


def ok(data, **extra) -> Answer:
    return Answer(200, {"data": data, **extra})


def wc_page(rows, total=None, pages=1, page=1, next_page=0) -> Answer:
    return Answer(200, {"data": rows, "pagination": {"total_records": len(rows) if total is None else total,
                                                     "total_pages": pages, "current_page": page,
                                                     "next_page": next_page}})


def order(*lines, number="SO-1", **links):
    return {"id": 1, "number": number, "lines": list(lines), **links}


LINK = {"id": 9, "transactionType": "Invoice", "refNumber": "I-1"}
INVENTORY = {name: None for name in c.INVENTORY_BODY}
CASES = [
    # SOS-A2: a single record wrapped or bare
    ("SOS-A2", {c.SOS_ITEM: Answer(200, {"status": "ok", "data": {"id": 3}})}, "wrapped"),
    ("SOS-A2", {c.SOS_ITEM: Answer(200, {"id": 3, "name": "x"})}, "bare"),
    ("SOS-A2", {c.SOS_ITEM: Answer(200, {"status": "ok", "message": "?"})}, NEITHER),
    ("SOS-A2", {}, None),
    # SOS-A4: an unknown id
    ("SOS-A4", {c.SOS_UNKNOWN_ITEM: Answer(404, {"status": "error"})}, "404"),
    ("SOS-A4", {c.SOS_UNKNOWN_ITEM: Answer(400, {"status": "error"})}, NEITHER),
    # SOS-A7: the line price casing
    ("SOS-A7", {c.SOS_ORDERS: ok([order({"unitPrice": 2})])}, "unitPrice"),
    ("SOS-A7", {c.SOS_ORDERS: ok([order({"unitprice": 2})]), c.SOS_INVOICES: ok([order({"unitPrice": 2})])},
     "unitprice"),
    ("SOS-A7", {c.SOS_ORDERS: ok([order({"price": 2})])}, NEITHER),
    ("SOS-A7", {c.SOS_ORDERS: ok([order({"unitPrice": 2}), order({"unitprice": 2})])}, NEITHER),
    ("SOS-A7", {c.SOS_ORDERS: ok([])}, None),
    # SOS-A9: linked* elements
    ("SOS-A9", {c.SOS_ORDERS: ok([order(linkedInvoices=[LINK])])}, "object"),
    ("SOS-A9", {c.SOS_ORDERS: ok([order(linkedInvoices=[9])])}, NEITHER),
    ("SOS-A9", {c.SOS_ORDERS: ok([order()])}, None),
    # SOS-A10: the shipment's order link
    ("SOS-A10", {c.SOS_SHIPMENTS: ok([{"id": 1, "linkedTransaction": {"id": 4}}])}, "header"),
    ("SOS-A10", {c.SOS_SHIPMENTS: ok([{"id": 1, "lines": [{"linkedTransaction": {"id": 4}}]}])}, "lines"),
    ("SOS-A10", {c.SOS_SHIPMENTS: ok([])}, None),
    # SOS-A11: /payment
    ("SOS-A11", {c.SOS_PAYMENTS: ok([])}, "present"),
    ("SOS-A11", {c.SOS_PAYMENTS: Answer(404, None)}, "absent"),
    ("SOS-A11", {c.SOS_PAYMENTS: Answer(403, {"status": "error"})}, NEITHER),
    ("SOS-A11", {}, None),
    # SOS-A15: a longer number disproves the 21-character limit
    ("SOS-A15", {c.SOS_ORDERS: ok([order(number="X" * 22)])}, "longer numbers exist"),
    ("SOS-A15", {c.SOS_ORDERS: ok([order(number="X" * 21)])}, None),
    # SOS-A17: kit type
    ("SOS-A17", {c.SOS_ITEMS: ok([{"type": "Kit"}, {"type": "Inventory Item"}])}, "Kit"),
    ("SOS-A17", {c.SOS_ITEMS: ok([{"type": "Item Group"}])}, "Item Group"),
    ("SOS-A17", {c.SOS_ITEMS: ok([{"type": "Inventory Item"}])}, None),
    # SOS-A21: customer addresses
    ("SOS-A21", {c.SOS_CUSTOMERS: ok([{"billing": {"line1": "a", "city": "b"}}])}, "flat"),
    ("SOS-A21", {c.SOS_CUSTOMERS: ok([{"billing": {"company": "x", "address": {"line1": "a"}}}])}, "nested"),
    ("SOS-A21", {c.SOS_CUSTOMERS: ok([{"billing": {"street": "a"}}])}, NEITHER),
    # WC-A1: next_page on the last page
    ("WC-A1", {c.WC_PRODUCTS_LAST: wc_page([{}], next_page=0)}, "empty"),
    ("WC-A1", {c.WC_PRODUCTS_LAST: wc_page([{}], next_page=3)}, "set"),
    # WC-A4: the inventory read shape
    ("WC-A4", {c.WC_INVENTORIES: wc_page([INVENTORY])}, "full body"),
    ("WC-A4", {c.WC_INVENTORIES: wc_page([{"sku": "a"}])}, "partial"),
    # WC-A5: shipment casing
    ("WC-A5", {c.wc_list("shipments"): wc_page([{"order_id": "1", "tracking_number": "t"}])}, "snake_case"),
    ("WC-A5", {c.wc_list("shipments"): wc_page([{"orderId": "1", "tracking": "t"}])}, "camelCase"),
    ("WC-A5", {c.wc_list("shipments"): wc_page([{"orderId": "1", "tracking_number": "t"}])}, NEITHER),
    # WC-A9: reference_ids honoured
    ("WC-A9", {**{c.wc_list(r): wc_page([{}], total=5) for r in c.WC_DOCUMENTS},
               **{c.wc_by_sentinel(r): wc_page([], total=0) for r in c.WC_DOCUMENTS}}, "honoured"),
    ("WC-A9", {**{c.wc_list(r): wc_page([{}], total=5) for r in c.WC_DOCUMENTS},
               **{c.wc_by_sentinel(r): wc_page([{}], total=5) for r in c.WC_DOCUMENTS}}, "ignored"),
    ("WC-A9", {**{c.wc_list(r): wc_page([{}], total=5) for r in c.WC_DOCUMENTS},
               **{c.wc_by_sentinel(r): wc_page([{}], total=2) for r in c.WC_DOCUMENTS}}, NEITHER),
    # WC-A10: a comma sku_id
    ("WC-A10", {c.WC_PRODUCTS: wc_page([{"sku": "a"}, {"sku": "b"}]),
                c.WC_PRODUCTS_SKUS: wc_page([{"sku": "a"}, {"sku": "b"}])}, "comma list"),
    ("WC-A10", {c.WC_PRODUCTS: wc_page([{"sku": "a"}, {"sku": "b"}]),
                c.WC_PRODUCTS_SKUS: Answer(400, {"code": "validation_error"})}, "one per call"),
    ("WC-A10", {c.WC_PRODUCTS: wc_page([{"sku": "a"}, {"sku": "b"}]), c.WC_PRODUCTS_SKUS: wc_page([])}, NEITHER),
    ("WC-A10", {c.WC_PRODUCTS: wc_page([{"sku": "a"}])}, None),
    # WC-A11: updated_after on invoices and shipments
    ("WC-A11", {c.wc_updated_after_now(r): wc_page([]) for r in ("invoices", "shipments")}, "honoured"),
    ("WC-A11", {c.wc_updated_after_now(r): wc_page([{"id": 1}]) for r in ("invoices", "shipments")}, "ignored"),
    ("WC-A11", {c.wc_updated_after_now(r): Answer(400, {}) for r in ("invoices", "shipments")}, NEITHER),
    # WC-A13: undocumented order fields
    ("WC-A13", {c.WC_ORDERS: wc_page([{"discount_value": 1, "billing_address": {"type": "b"}}])}, "carried"),
    ("WC-A13", {c.WC_ORDERS: wc_page([{"billing_address": {}}])}, "not carried"),
    # WC-A14: invoice order_id
    ("WC-A14", {c.WC_ORDER_OF_INVOICE: Answer(200, {"data": {"id": "o1"}})}, "order id"),
    ("WC-A14", {c.WC_ORDER_OF_INVOICE: Answer(404, {"code": "not_found"})}, "reference"),
    ("WC-A14", {c.WC_ORDER_OF_INVOICE: Answer(400, {"code": "validation_error"})}, NEITHER),
    # WC-A16: customer lists without status
    ("WC-A16", {c.WC_CUSTOMERS: wc_page([], total=3), c.WC_CUSTOMERS_ACTIVE: wc_page([], total=3),
                c.WC_CUSTOMERS_INACTIVE: wc_page([], total=2)}, "active only"),
    ("WC-A16", {c.WC_CUSTOMERS: wc_page([], total=5), c.WC_CUSTOMERS_ACTIVE: wc_page([], total=3),
                c.WC_CUSTOMERS_INACTIVE: wc_page([], total=2)}, "all"),
    ("WC-A16", {c.WC_CUSTOMERS: wc_page([], total=4), c.WC_CUSTOMERS_ACTIVE: wc_page([], total=3),
                c.WC_CUSTOMERS_INACTIVE: wc_page([], total=2)}, NEITHER),
    ("WC-A16", {c.WC_CUSTOMERS: wc_page([], total=3), c.WC_CUSTOMERS_ACTIVE: wc_page([], total=3),
                c.WC_CUSTOMERS_INACTIVE: wc_page([], total=0)}, None),
    # WC-A19: cancelled orders stay listed
    ("WC-A19", {c.WC_CANCELLED: wc_page([{"status": "cancelled"}])}, "listed"),
    ("WC-A19", {c.WC_CANCELLED: wc_page([{"status": "draft"}])}, NEITHER),
    ("WC-A19", {c.WC_CANCELLED: wc_page([{"order_status": "cancelled", "status": "confirmed"}])}, NEITHER),
    ("WC-A19", {c.WC_CANCELLED: wc_page([])}, None),
]


@pytest.mark.parametrize(("row_id", "answers", "expected"), CASES,
                         ids=[f"{case[0]}-{case[2]}" for case in CASES])
def test_rule_reads_each_reading_and_names_what_fits_neither(row_id, answers, expected):
    reading = c.RULES[row_id](answers)
    assert reading.id == row_id
    assert reading.reading == expected, reading.evidence
    assert reading.evidence  # always says what was seen
    assert reading.neither == (expected == NEITHER)


def test_every_probe_row_of_the_index_has_a_rule_or_says_why_not():
    probe_rows = {row_id for row_id, row in c.ROWS.items() if row.settle == "probe"}
    assert set(c.RULES) <= probe_rows
    assert probe_rows == set(c.RULES)  # every probe row has its rule
    ids = [f"SOS-A{n}" for n in range(1, 24)] + [f"WC-A{n}" for n in range(1, 20)]
    assert list(c.ROWS) == ids


def test_every_reading_a_rule_can_give_has_its_effect():
    """doctor --contract says what the code does under each reading, not only the default."""
    missing = {(row_id, expected) for row_id, _, expected in CASES
               if expected not in (None, NEITHER) and expected not in c.ROWS[row_id].effects}
    assert missing == set()
