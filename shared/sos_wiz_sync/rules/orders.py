"""Order push rules, WizCommerce → SOS (R-ORD-1..6, R-REF-1..2). Pure: no I/O."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any, get_args

from ..config import DEFAULT_LINE_PRICE_FIELD, LinePriceField
from ..models.wiz import WizLineItem, WizOrder, exact
from .customers import sos_transaction_address
from .push_config import PushConfig, sos_id_from_reference, sos_ref

PUSHED_ORDER_STATUS = "confirmed"
UNIT_PRICE_DECIMALS = 4
UNIT_PRICE_STEP = Decimal(1).scaleb(-UNIT_PRICE_DECIMALS)
LINE_PRICE_FIELDS = get_args(LinePriceField)  # SOS-A7: both casings are read
# What of a WC order reaches SOS as the order: an edit to anything else (our own reference_id,
# payment, fulfilment…) is not an edit SOS sees, so it neither pushes nor trips the edit block
# (R-ORD-2). Payments reach SOS on their own path (R-PAY-1).
PUSHED_ORDER_FIELDS = {
    "display_id": True, "customer_id": True, "amount": True, "internal_note": True,
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


@dataclass(frozen=True)
class SosLinePrice:
    """An SOS line's price and amount, with amount == quantity × unit price exactly (SOS's
    rule), and what that amount exceeds WC's charged line total by (never negative)."""

    unit_price: Decimal
    amount: Decimal
    remainder: Decimal


def sos_line_price(line: WizLineItem) -> SosLinePrice:
    """The charged unit price to 4 places, rounded up (so a price is never understated against
    SOS's minimum price), and the amount as the exact product of quantity and that price: never
    rounded, so SOS's exact check holds. Where the charged total does not divide by the
    quantity (3 for 29.95), the amount exceeds it by under a hundredth of a cent a unit: that
    remainder joins the order's discount, so the SOS total equals WC's (`sos_sales_order`)."""
    quantity = exact(line.quantity)
    total = line.charged_total()
    if not quantity:
        return SosLinePrice(exact(line.unit_price).quantize(UNIT_PRICE_STEP, ROUND_CEILING), Decimal(0), Decimal(0))
    unit_price = (total / quantity).quantize(UNIT_PRICE_STEP, ROUND_CEILING)
    amount = quantity * unit_price
    return SosLinePrice(unit_price, amount, amount - total)


def charged_unit_price(line: WizLineItem) -> float:
    """R-ORD-5: the unit price actually charged in WC, after the line's discount (4 places)."""
    return float(sos_line_price(line).unit_price)


def sos_order_lines(lines: Sequence[WizLineItem], item_ids: Sequence[int],
                    price_field: str = DEFAULT_LINE_PRICE_FIELD) -> list[dict[str, Any]]:
    """SOS lines in WC order; `item_ids[i]` is the SOS item of `lines[i]` (by Reference ID).
    The price goes under `price_field` (SOS-A7: the casing the account or record uses)."""
    built = []
    for number, (line, item_id) in enumerate(zip(lines, item_ids, strict=True), start=1):
        price = sos_line_price(line)
        built.append({"lineNumber": number, "item": {"id": item_id}, "quantity": line.quantity,
                      price_field: float(price.unit_price), "amount": float(price.amount)})
    return built


def line_price_field(lines: Sequence[Mapping[str, Any]], default: str = DEFAULT_LINE_PRICE_FIELD) -> str:
    """SOS-A7: the price field's casing in an SOS record's lines (`unitPrice` or `unitprice`),
    or `default` when no line shows one."""
    for line in lines:
        for name in line:
            if name in LINE_PRICE_FIELDS:
                return name
    return default


def fit_lines_to_record(lines: Sequence[Mapping[str, Any]], current: Sequence[Mapping[str, Any]]
                        ) -> list[dict[str, Any]]:
    """New SOS lines for an edit of an order whose lines are `current` (as read): the price
    under the casing the record came with (SOS-A7), and each line that is still the same line
    (same lineNumber and item, else the first unused current line of that item) keeps its `id`,
    so SOS updates the lines instead of recreating them."""
    price_field = line_price_field(current)
    unused = [line for line in current if line.get("id") is not None]

    def item_of(line: Mapping[str, Any]) -> Any:
        return (line.get("item") or {}).get("id")

    def number_of(line: Mapping[str, Any]) -> Any:
        return line.get("lineNumber", line.get("linenumber"))

    fitted = []
    for line in lines:
        price = next((line[name] for name in LINE_PRICE_FIELDS if name in line), None)
        body = {name: value for name, value in line.items() if name not in LINE_PRICE_FIELDS and name != "id"}
        body[price_field] = price
        same = (next((c for c in unused if number_of(c) == number_of(line) and item_of(c) == item_of(line)), None)
                or next((c for c in unused if item_of(c) == item_of(line)), None))
        if same is not None:
            unused.remove(same)
            body = {"id": same["id"], **body}
        fitted.append(body)
    return fitted


def order_discount(order: WizOrder) -> Decimal:
    """WC-A13: the order-level discount, from what an order read documents (the lines against
    `amount`; `discount_value` is written but not read, so never relied on). An order read
    without `amount` cannot say: refused by name."""
    discount = order.implied_discount()
    if discount is None:
        raise ValueError(f"WC order {order.id}: the read has no `amount`, so its discount cannot be derived (WC-A13)")
    return discount


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
        "lines": sos_order_lines(order.line_items, item_ids, config.line_price_field),
        # WC-A13: derived from the read; the lines' rounding remainders join it (exact totals).
        "discountAmount": float(order_discount(order) + sum(
            (sos_line_price(line).remainder for line in order.line_items), Decimal(0))),
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
