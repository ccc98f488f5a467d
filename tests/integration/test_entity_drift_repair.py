"""Drift repair on the entity pulls (issue 13 item 3) on the local runtime: a WizCommerce user's
hand edit of a field the pull owns on an SOS-origin order, an invoice or a shipment is put back
to what SOS says by the next run of its stream, counted `drift-corrected`; what WizCommerce owns
stays as edited; our own writes, which bump `updated_at` too, cost no SOS read and write nothing."""

from __future__ import annotations

from pull_stack import PullStack, pull_stack  # noqa: F401 - fixture


def an_order_invoiced_and_shipped_in_sos(stack: PullStack) -> dict:
    """An SOS-origin order with its invoice and shipment, all in WizCommerce; the WC ids by entity."""
    sos = stack.sos
    stack.first_sync()
    order = sos.create_sales_order(customer={"id": 3}, lines=stack.sos_lines(stack.push.mapped_items()[:2]))
    invoice = sos.create_invoice(order["id"])
    shipment = sos.create_shipment(order["id"], tracking_number="1Z999", shipping_method="UPS")
    stack.run_all()
    return {entity: stack.mappings.by_sos(entity, record["id"]).wc_id
            for entity, record in (("order", order), ("invoice", invoice), ("shipment", shipment))}


def stamps(store: dict) -> dict[str, str]:
    return {record_id: record["updated_at"] for record_id, record in store.items()}


def assert_repaired_once(stack: PullStack, stream: str, store: dict) -> None:
    """One run puts the edit back (drift-corrected, not changed); the next, which lists our own
    write among WizCommerce's changes, reads nothing from SOS for it and writes nothing."""
    repaired = stack.run(stream)
    assert (repaired["changed"], repaired["notes"].get("drift-corrected")) == (0, 1)
    assert repaired["notes"]["drift_checked"] == 1
    before = stamps(store)
    again = stack.run(stream)
    assert again["changed"] == 0 and "drift-corrected" not in again["notes"]
    assert "drift_checked" not in again["notes"]  # our echo: no SOS read by id
    assert stamps(store) == before


def test_a_hand_edited_invoice_gets_sos_amounts_back_and_keeps_its_remarks(pull_stack):
    stack = pull_stack
    wc_id = an_order_invoiced_and_shipped_in_sos(stack)["invoice"]
    shown = dict(stack.wiz.invoices[wc_id])

    stack.wiz.edit_document("invoices", wc_id, total_amount=1.0, paid_amount=1.0, status="PAID",
                            remarks="checked by accounts")
    assert_repaired_once(stack, "invoices", stack.wiz.invoices)

    repaired = stack.wiz.invoices[wc_id]
    assert [repaired[f] for f in ("total_amount", "paid_amount", "status")] == [
        shown[f] for f in ("total_amount", "paid_amount", "status")]
    assert repaired["remarks"] == "checked by accounts"  # not a field the pull writes
    assert stack.state.history("invoice", stack.mappings.by_wc("invoice", wc_id).sos_id)[0]["action"] == \
        "pulled-drift-corrected"


def test_a_hand_edited_shipment_gets_its_tracking_back_and_keeps_its_status(pull_stack):
    stack = pull_stack
    wc_id = an_order_invoiced_and_shipped_in_sos(stack)["shipment"]

    stack.wiz.edit_document("shipments", wc_id, shipment_status="fulfilled",
                            tracking_info={"tracking_number": "TYPO", "tracking_url": None, "delivery_partner": "UPS"})
    assert_repaired_once(stack, "shipments", stack.wiz.shipments)

    repaired = stack.wiz.shipments[wc_id]
    assert repaired["tracking_info"]["tracking_number"] == "1Z999"
    assert repaired["shipment_status"] == "fulfilled"  # set once at create, WizCommerce's workflow after


def test_a_hand_edited_sos_order_gets_sos_fields_back_and_a_pushed_order_is_left_to_the_push(pull_stack):
    stack = pull_stack
    wiz = stack.wiz
    wc_id = an_order_invoiced_and_shipped_in_sos(stack)["order"]
    pushed = stack.push.place_order(stack.push.mapped_items()[2:3])
    stack.push.sync()
    stack.run("orders")  # a run that starts after the push: its window starts after the push's writes
    shown = dict(wiz.orders[wc_id])

    # When WC users edit an SOS-origin order (an SOS field and one of WizCommerce's own) and a
    # pushed order (whose edits are the push's to take to SOS, R-ORD-2)
    wiz.update_order(wc_id, internal_note="edited in WC", line_items=[
        {**line, "quantity": line["quantity"] + 1} for line in shown["line_items"]], po_number="PO-7")
    wiz.update_order(pushed["id"], internal_note="the customer called")
    assert_repaired_once(stack, "orders", wiz.orders)

    repaired = wiz.orders[wc_id]
    assert repaired["internal_note"] == shown["internal_note"]
    assert [line["quantity"] for line in repaired["line_items"]] == [line["quantity"] for line in shown["line_items"]]
    assert repaired["po_number"] == "PO-7"  # not a field the pull writes
    assert wiz.orders[pushed["id"]]["internal_note"] == "the customer called"
