"""Payment push rule, WizCommerce → SOS (R-PAY-1). Pure: no I/O."""

from __future__ import annotations

from typing import Any

from ..models.wiz import WizPayment
from .push_config import payment_number, sos_ref

MONEY_DECIMALS = 2


def sos_payment(payment: WizPayment, *, customer_id: int, sales_order_id: int | None,
                invoice_id: int | None) -> dict[str, Any]:
    """The SOS payment body: linked to the customer and, where known, the order and invoice.
    Its number is derived from the WC payment id, so a replay finds it instead of paying twice."""
    body: dict[str, Any] = {
        "number": payment_number(payment.id),
        "customer": {"id": customer_id},
        "amount": round(payment.amount, MONEY_DECIMALS),
        "method": payment.method,
        "salesOrder": sos_ref(sales_order_id),
        "invoice": sos_ref(invoice_id),
        "memo": f"WizCommerce online payment {payment.id}",
    }
    if payment.paid_at is not None:
        body["date"] = payment.paid_at.date().isoformat()
    return body
