"""Order push rules (R-ORD-1..6, R-REF-1..2): numbers, lines, prices, notes, reps, tiers, edits,
and the SOS sales order in its documented shape (nested addresses, `comment`, no price tier)."""

from __future__ import annotations

import pytest
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from sos_wiz_sync.config import PushSettings
from sos_wiz_sync.models.wiz import WizLineItem, WizOrder
from sos_wiz_sync.rules.orders import (
    charged_unit_price,
    edit_block_reason,
    fit_lines_to_record,
    line_notes,
    order_notes,
    order_skip_reason,
    pushed_content_digest,
    reference_problem,
    sos_order_lines,
    sos_sales_order,
)
from sos_wiz_sync.rules.push_config import (
    DIGEST_LENGTH,
    DIGEST_MARK,
    MAX_AFFIXES_LENGTH,
    SOS_NUMBER_MAX_LENGTH,
    PushConfig,
    fit_sos_number,
    payment_number,
    sos_id_from_reference,
)

printable = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF), min_size=1, max_size=60).filter(str.strip)
affixes = st.tuples(st.text(max_size=7), st.text(max_size=6))


def order(**fields) -> WizOrder:
    base = {"id": "ord_1", "display_id": "SO-1001", "customer_id": "cust_1", "status": "confirmed", "amount": 20.0,
            "line_items": [{"product_id": "prod_1", "sku": "CHR-1", "quantity": 2, "unit_price": 10.0}]}
    return WizOrder.model_validate({**base, **fields})


# -- R-ORD-4: the SOS order number -----------------------------------------------------------

@given(core=printable, prefix_suffix=affixes)
def test_every_number_fits_sos_and_keeps_prefix_and_suffix(core, prefix_suffix):
    prefix, suffix = prefix_suffix
    number = fit_sos_number(prefix, core, suffix)
    assert len(number) <= SOS_NUMBER_MAX_LENGTH
    assert number.startswith(prefix) and number.endswith(suffix)
    assert number == fit_sos_number(prefix, core, suffix)  # deterministic: a replay finds it again


@given(core=printable, prefix_suffix=affixes)
def test_a_number_that_fits_is_kept_verbatim_and_a_long_one_gets_a_digest(core, prefix_suffix):
    prefix, suffix = prefix_suffix
    number = fit_sos_number(prefix, core, suffix)
    if len(prefix + core.strip() + suffix) <= SOS_NUMBER_MAX_LENGTH:
        assert number == prefix + core.strip() + suffix
    else:
        assert len(number) == SOS_NUMBER_MAX_LENGTH
        body = number[len(prefix):len(number) - len(suffix)]
        tail, digest = body.rsplit(DIGEST_MARK, 1)
        assert len(digest) == DIGEST_LENGTH and core.strip().endswith(tail) and tail


@given(cores=st.lists(st.text(st.characters(min_codepoint=48, max_codepoint=122), min_size=22, max_size=40),
                      min_size=2, max_size=30, unique=True))
def test_long_numbers_that_share_their_tail_stay_distinct(cores):
    cores = [core + "-000123456789" for core in cores]  # same last 13 characters, different starts
    assert len({fit_sos_number("WC-", core, "") for core in cores}) == len(cores)


def test_the_documented_long_number_shape():
    number = fit_sos_number("WC-", "SO-2026-000000123456789", "")
    assert number.startswith("WC-00123456789~") and len(number) == 21  # 11-char tail + ~ + 6-char digest


@pytest.mark.parametrize("core", ["", "   "])
def test_an_empty_wc_number_cannot_make_an_sos_number(core):
    with pytest.raises(ValueError):
        fit_sos_number("WC-", core, "")


def test_affixes_that_leave_no_room_fail_the_cold_start():
    PushConfig(number_prefix="A" * MAX_AFFIXES_LENGTH)
    with pytest.raises(ValueError, match="prefix"):
        PushConfig(number_prefix="A" * (MAX_AFFIXES_LENGTH - 2), number_suffix="ZZZ")


def test_payment_numbers_are_derived_from_the_wc_id_and_fit():
    assert payment_number("pay_1") == "WCP-pay_1"
    assert len(payment_number("pay_" + "9" * 40)) == SOS_NUMBER_MAX_LENGTH


# -- R-REF-1/2: Reference IDs -----------------------------------------------------------------

@pytest.mark.parametrize("reference, problem", [
    (None, "product has no Reference ID"), ("", "product has no Reference ID"), ("  ", "product has no Reference ID"),
    ("abc", "is not an SOS item id"), ("12a", "is not an SOS item id"), ("٣", "is not an SOS item id"),
    ("-5", "is not an SOS item id"), ("1.5", "is not an SOS item id"),
])
def test_references_that_cannot_name_an_sos_item(reference, problem):
    assert problem in reference_problem(reference)
    assert sos_id_from_reference(reference) is None


def test_a_decimal_reference_is_the_sos_item_id():
    assert reference_problem(" 42 ") is None and sos_id_from_reference(" 42 ") == 42


# -- R-ORD-5: prices --------------------------------------------------------------------------

def line(**fields) -> WizLineItem:
    return WizLineItem.model_validate({"product_id": "prod_1", "quantity": 4, "unit_price": 25.0, **fields})


@pytest.mark.parametrize("fields, charged", [
    ({}, 25.0),
    ({"discount": 10, "discount_type": "percentage"}, 22.5),
    ({"discount": 10, "discount_type": "PERCENT"}, 22.5),
    ({"discount": 10, "discount_type": "amount"}, 22.5),   # 10 off the line of 4 → 2.50 a unit
    ({"discount": 10}, 22.5),
    ({"discount": 0, "discount_type": "percentage"}, 25.0),
])
def test_the_price_charged_in_wc_is_the_sos_unit_price(fields, charged):
    assert charged_unit_price(line(**fields)) == charged


def exact(value: float) -> Decimal:
    return Decimal(str(value))


@given(quantity=st.integers(1, 500), unit=st.decimals(0, 10_000, places=4).map(float),
       percent=st.integers(0, 100), off=st.decimals(0, 50, places=2).map(float), percentage=st.booleans())
def test_sos_line_amount_is_exactly_quantity_times_unit_price(quantity, unit, percent, off, percentage):
    """SOS's rule (contract, salesorder lines): amount == quantity × unit price, exactly; and
    the line never exceeds what WC charged by a hundredth of a cent a unit or more."""
    wc_line = line(quantity=quantity, unit_price=unit, discount=percent if percentage else off,
                   discount_type="percentage" if percentage else "value")
    sos_line = sos_order_lines([wc_line], [7])[0]
    assert exact(sos_line["amount"]) == exact(quantity) * exact(sos_line["unitPrice"])
    charged = exact(quantity) * exact(unit) * (1 - (Decimal(percent) / 100 if percentage else 0)) - (
        0 if percentage else exact(off))
    assert Decimal(0) <= exact(sos_line["amount"]) - charged < exact(quantity) * Decimal("0.0001")
    assert sos_line["item"] == {"id": 7} and sos_line["quantity"] == quantity


def test_a_four_place_price_keeps_its_exact_amount():
    """The audit's case: 3 × 9.9967 is 29.9901, not 29.99 (which an exact check refuses)."""
    sos_line = sos_order_lines([line(quantity=3, unit_price=9.9967)], [7])[0]
    assert (sos_line["unitPrice"], sos_line["amount"]) == (9.9967, 29.9901)


def test_the_sos_total_equals_the_wc_amount_when_a_line_discount_does_not_divide():
    """29.95 over 3 units is no finite price: the line takes 9.9834 (rounded up, 29.9502) and
    the 0.0002 it exceeds WC's line by joins the order discount, so SOS's total is WC's."""
    wc = order(amount=27.95, line_items=[{"product_id": "p1", "sku": "A", "quantity": 3, "unit_price": 9.99,
                                          "discount": 0.02, "discount_type": "value"}])  # 2.00 order discount
    body = sos_sales_order(wc, number="N-1", customer_id=4, item_ids=[8], config=config())
    (sos_line,) = body["lines"]
    assert exact(sos_line["amount"]) == 3 * exact(sos_line["unitPrice"]) == Decimal("29.9502")
    assert exact(sos_line["amount"]) - exact(body["discountAmount"]) == exact(wc.amount)


def test_the_order_discount_comes_from_the_documented_amount_never_from_discount_value():
    """WC-A13: reads do not document `discount_value`; a read that carries one anyway is not
    believed, the lines against `amount` are."""
    kept = sos_sales_order(order(amount=20.0, discount_value=5), number="N", customer_id=4, item_ids=[8],
                           config=config())
    derived = sos_sales_order(order(amount=17.5), number="N", customer_id=4, item_ids=[8], config=config())
    taxed = sos_sales_order(order(amount=21.6), number="N", customer_id=4, item_ids=[8], config=config())
    assert (kept["discountAmount"], derived["discountAmount"], taxed["discountAmount"]) == (0, 2.5, 0)
    with pytest.raises(ValueError, match="amount.*WC-A13"):
        sos_sales_order(order(amount=None), number="N", customer_id=4, item_ids=[8], config=config())


@pytest.mark.parametrize("casing", ["unitPrice", "unitprice"])
def test_an_edit_writes_the_casing_its_record_came_with_and_keeps_line_ids(casing):
    """SOS-A7: an edit's lines take the read record's price casing, and each line that is still
    the same line (number and item, else item) keeps its id; a new line has none."""
    current = [{"id": 31, "lineNumber": 1, "item": {"id": 8}, casing: 10.0, "amount": 20.0, "quantity": 2},
               {"id": 32, "lineNumber": 2, "item": {"id": 9}, casing: 1.0, "amount": 1.0, "quantity": 1}]
    new = sos_order_lines([line(quantity=1, unit_price=1.0), line(quantity=3, unit_price=10.0),
                           line(quantity=1, unit_price=4.0)], [9, 8, 5])
    fitted = fit_lines_to_record(new, current)
    assert [(l.get("id"), l["item"]["id"], l[casing]) for l in fitted] == [(32, 9, 1.0), (31, 8, 10.0), (None, 5, 4.0)]
    assert all(set(l) & {"unitPrice", "unitprice"} == {casing} for l in fitted)


def test_a_new_order_writes_the_default_casing_from_one_place():
    assert "unitPrice" in sos_order_lines([line()], [1])[0]
    assert "unitprice" in sos_order_lines([line()], [1], price_field="unitprice")[0]


def test_lines_keep_wc_order_and_each_its_own_item():
    lines = sos_order_lines([line(sku="A"), line(sku="B", quantity=1)], [11, 12])
    assert [(l["lineNumber"], l["item"]["id"], l["quantity"]) for l in lines] == [(1, 11, 4), (2, 12, 1)]


# -- R-ORD-5/6: price tier and sales rep --------------------------------------------------------

def config(**settings) -> PushConfig:
    return PushConfig.from_settings(PushSettings(push_dlq_url="dlq", idempotency_table="idem", **settings))


def test_mapped_rep_and_tier_are_used_an_unmapped_rep_gets_the_default():
    cfg = config(sales_rep_map='{"rep_1": "3"}', default_sales_rep_id="9", price_tier_map='{"pl_1": "2"}')
    assert cfg.sales_rep_for("rep_1") == 3
    assert cfg.sales_rep_for("rep_2") == 9 and cfg.sales_rep_for(None) == 9
    assert cfg.price_tier_for("pl_1") == 2


def test_an_unmapped_catalog_is_not_an_error_and_no_default_rep_means_none():
    cfg = config()
    assert cfg.price_tier_for("pl_9") is None and cfg.sales_rep_for("rep_1") is None


def test_a_non_integer_sos_id_in_a_map_fails_the_cold_start_naming_the_setting():
    with pytest.raises(ValueError, match="PRICE_TIER_MAP"):
        config(price_tier_map='{"pl_1": "wholesale"}')


def test_the_sales_order_body_carries_rep_customer_nested_addresses_po_and_number_but_no_tier():
    cfg = config(sales_rep_map='{"rep_1": "3"}', price_tier_map='{"pl_1": "2"}')
    wc = order(price_list_id="pl_1", amount=15.0, po_number="PO-77",  # 20 of lines, 5 off (WC-A13)
               shipping_address={"address_line_1": "1 Main St", "city": "Austin", "state": "TX", "zip_code": "78701",
                                 "first_name": "Jo", "last_name": "Ng", "phone": "555", "email": "jo@ng.example"},
               created_at="2026-05-01T17:03:11Z")
    body = sos_sales_order(wc, number="WC-SO-1001", customer_id=4, item_ids=[8], config=cfg, wc_rep_id="rep_1",
                           company="Acme")
    assert body["number"] == "WC-SO-1001" and body["customer"] == {"id": 4}
    assert body["salesRep"] == {"id": 3} and "priceTier" not in body and body["discountAmount"] == 5
    assert body["shipping"] == {"company": "Acme", "phone": "555", "email": "jo@ng.example", "addressName": "Jo Ng",
                                "addressType": "shipping", "address": {
                                    "line1": "1 Main St", "line2": None, "city": "Austin", "stateProvince": "TX",
                                    "postalCode": "78701", "country": None}}
    assert body["billing"] is None and body["date"] == "2026-05-01" and body["customerPO"] == "PO-77"
    assert "memo" not in body
    assert body["lines"] == [{"lineNumber": 1, "item": {"id": 8}, "quantity": 2, "unitPrice": 10.0, "amount": 20.0}]


# -- R-ORD-3: line notes --------------------------------------------------------------------------

def test_line_notes_are_appended_to_the_internal_comment_by_default():
    wc = order(internal_note="call first", customer_note="thanks",
               line_items=[{"product_id": "p1", "sku": "A-1", "quantity": 1, "unit_price": 1, "note": "gift wrap"},
                           {"product_id": "p2", "sku": "B-2", "quantity": 1, "unit_price": 1, "note": "  "},
                           {"product_id": "p3", "quantity": 1, "unit_price": 1, "note": "blue"}])
    assert order_notes(wc, True) == {"comment": "call first\nLine 1 (A-1): gift wrap\nLine 3 (p3): blue",
                                     "customerMessage": "thanks"}


def test_switched_off_line_notes_go_to_the_customer_message_never_nowhere():
    wc = order(line_items=[{"product_id": "p1", "sku": "A-1", "quantity": 1, "unit_price": 1, "note": "gift"}])
    assert order_notes(wc, False) == {"comment": "", "customerMessage": "Line 1 (A-1): gift"}


@given(notes=st.lists(st.text(max_size=30), max_size=6), to_comment=st.booleans())
def test_no_line_note_is_lost(notes, to_comment):
    wc = order(line_items=[{"product_id": f"p{i}", "quantity": 1, "unit_price": 1, "note": note}
                           for i, note in enumerate(notes)])
    written = "\n".join(order_notes(wc, to_comment).values())
    assert all(note.strip() in written for note in notes)
    assert len(line_notes(wc.line_items)) == sum(1 for note in notes if note.strip())


# -- R-ORD-1, R-ORD-2 and the fingerprint -----------------------------------------------------------

@pytest.mark.parametrize("status", ["draft", "cancelled", "active"])
def test_only_confirmed_orders_push(status):
    assert order_skip_reason(order(status=status)) and order_skip_reason(order()) is None


def test_edits_are_blocked_once_sos_shipped_or_invoiced():
    assert edit_block_reason([], []) is None
    assert "shipment SH-1" in edit_block_reason(["SH-1"], []) and "make the edit in SOS" in edit_block_reason([], ["I-1"])


def test_only_edits_to_pushed_fields_change_the_digest():
    wc = order()
    ours = wc.model_copy(update={"payment_status": "PAID", "amount_paid": 20, "reference_id": "55",
                                 "updated_at": "2026-05-02T00:00:00Z"})  # our own reference_id write, a payment
    assert pushed_content_digest(wc) == pushed_content_digest(ours)
    assert pushed_content_digest(wc) != pushed_content_digest(order(line_items=[
        {"product_id": "prod_1", "sku": "CHR-1", "quantity": 3, "unit_price": 10.0}]))
    assert pushed_content_digest(wc) != pushed_content_digest(order(po_number="PO-2"))
