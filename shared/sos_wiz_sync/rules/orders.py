"""Order push rules, WizCommerce → SOS (R-ORD-1..6, R-REF-1..2). Pure: no I/O."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..models.wiz import WizLineItem, WizOrder
from .customers import sos_transaction_address
from .push_config import PushConfig, sos_id_from_reference, sos_ref

PUSHED_ORDER_STATUS = "confirmed"
PERCENT_DISCOUNT_TYPES = frozenset({"percent", "percentage", "%"})
MONEY_DECIMALS = 2
UNIT_PRICE_DECIMALS = 4
# What of a WC order reaches SOS as the order: an edit to anything else (our own reference_id,
# payment, fulfilment…) is not an edit SOS sees, so it neither pushes nor trips the edit block
# (R-ORD-2). Payments reach SOS on their own path (R-PAY-1).
PUSHED_ORDER_FIELDS = {
    "display_id": True, "customer_id": True, "discount_value": True, "internal_note": True,
    "customer_note": True, "po_number": True, "billing_address": True, "shipping_address": True,
    "line_items": {"__all__": {"product_id", "sku", "quantity", "unit_price", "discount", "discount_type", "note"}},
}


# -- lines ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class LineProblem:
    """An order line that keeps the order from pushing (R-REF-2), as the failure record shows it."""

    line_number: int
    product_id: str | None
    sku: str | None
    problem: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line_number, "product_id": self.product_id,
                "sku": self.sku, "problem": self.problem}


def reference_problem(reference_id: str | None) -> str | None:
    """R-REF-2: why a product's Reference ID cannot name an SOS item, or None when it can."""
    if not (reference_id or "").strip():
        return "product has no Reference ID"
    if sos_id_from_reference(reference_id) is None:
        return f"Reference ID {reference_id.strip()[:40]!r} is not an SOS item id"
    return None


def line_problem(number: int, line: WizLineItem, problem: str) -> LineProblem:
    return LineProblem(number, line.product_id, line.sku, problem)


def charged_unit_price(line: WizLineItem) -> float:
    """R-ORD-5: the unit price actually charged in WC, after the line's discount.

    A percentage discount (`discount_type` percent/percentage/%) reduces the unit price; any
    other discount is an amount off the whole line, spread over its quantity.
    """
    discount = line.discount or 0.0
    if not discount:
        return round(line.unit_price, UNIT_PRICE_DECIMALS)
    if (line.discount_type or "").strip().lower() in PERCENT_DISCOUNT_TYPES:
        return round(line.unit_price * (1 - discount / 100), UNIT_PRICE_DECIMALS)
    if not line.quantity:
        return round(line.unit_price, UNIT_PRICE_DECIMALS)
    return round((line.unit_price * line.quantity - discount) / line.quantity, UNIT_PRICE_DECIMALS)


def sos_order_lines(lines: Sequence[WizLineItem], item_ids: Sequence[int]) -> list[dict[str, Any]]:
    """SOS lines in WC order; `item_ids[i]` is the SOS item of `lines[i]` (by Reference ID)."""
    built = []
    for number, (line, item_id) in enumerate(zip(lines, item_ids, strict=True), start=1):
        unit_price = charged_unit_price(line)
        built.append({"lineNumber": number, "item": {"id": item_id}, "quantity": line.quantity,
                      "unitPrice": unit_price, "amount": round(unit_price * line.quantity, MONEY_DECIMALS)})
    return built


# -- notes ---------------------------------------------------------------------------------

def line_notes(lines: Sequence[WizLineItem]) -> list[str]:
    return [f"Line {number} ({line.sku or line.product_id or 'no sku'}): {line.note.strip()}"
            for number, line in enumerate(lines, start=1) if line.note and line.note.strip()]


def _joined(*parts: str | None) -> str:
    return "\n".join(part.strip() for part in parts if part and part.strip())


def order_notes(order: WizOrder, line_notes_to_comment: bool) -> dict[str, str]:
    """R-ORD-3: SOS has no line notes, so they are never dropped: they are appended to the
    order's internal `comment` (LINE_NOTES_TO_COMMENT=true, the default) or else to its
    `customerMessage`. The WC customer's own note goes to `customerMessage` too."""
    notes = "\n".join(line_notes(order.line_items))
    if line_notes_to_comment:
        return {"comment": _joined(order.internal_note, notes), "customerMessage": _joined(order.customer_note)}
    return {"comment": _joined(order.internal_note), "customerMessage": _joined(order.customer_note, notes)}


# -- the order -----------------------------------------------------------------------------

def sos_sales_order(order: WizOrder, *, number: str, customer_id: int, item_ids: Sequence[int],
                    config: PushConfig, wc_rep_id: str | None = None,
                    company: str | None = None) -> dict[str, Any]:
    """The SOS sales order fields (POST, and merged into the record for a PUT) of a confirmed WC
    order. WC orders carry no sales rep: `wc_rep_id` is the customer's first assigned one
    (R-ORD-6). SOS orders have no price tier: each line carries the price charged (R-ORD-5)."""
    body: dict[str, Any] = {
        "number": number,
        "customer": {"id": customer_id},
        "billing": sos_transaction_address(order.billing_address, "billing", company),
        "shipping": sos_transaction_address(order.shipping_address, "shipping", company),
        "lines": sos_order_lines(order.line_items, item_ids),
        "discountAmount": round(order.discount_value or 0.0, MONEY_DECIMALS),
        "salesRep": sos_ref(config.sales_rep_for(wc_rep_id)),
        "customerPO": order.po_number or None,
        **order_notes(order, config.line_notes_to_comment),
    }
    if order.created_at is not None:
        body["date"] = order.created_at.date().isoformat()
    return body


def edit_block_reason(shipment_numbers: Sequence[str], invoice_numbers: Sequence[str]) -> str | None:
    """R-ORD-2: edits push until SOS has a shipment or an invoice for the order; then the edit
    has to be made in SOS, and this says why."""
    documents = [f"shipment {n}" for n in shipment_numbers] + [f"invoice {n}" for n in invoice_numbers]
    if not documents:
        return None
    return f"SOS already has {', '.join(documents)} for this order; make the edit in SOS"


def order_skip_reason(order: WizOrder) -> str | None:
    """R-ORD-1: only confirmed orders push; drafts (and cancelled orders) do not."""
    if order.status != PUSHED_ORDER_STATUS:
        return f"status {order.status[:20]!r} is not pushed, only {PUSHED_ORDER_STATUS!r}"
    return None


def pushed_content_digest(order: WizOrder) -> str:
    """A fingerprint of what an order push sends SOS, to tell real edits from other changes."""
    content = order.model_dump(mode="json", include=PUSHED_ORDER_FIELDS)
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]
