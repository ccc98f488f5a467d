"""Payment push rules, WizCommerce → SOS (R-PAY-1). Pure: no I/O.

WizCommerce has no payment resource and no payment event: an online payment shows as the
order's `amount_paid` rising. It reaches SOS on that order's SOS sales order, by the route
configuration names: its `depositAmount` (documented), or an SOS payment record (`/payment`,
which only some SOS accounts answer).
"""

from __future__ import annotations

from typing import Any

from ..models.wiz import WizOrder
from .push_config import payment_number, sos_ref

MONEY_DECIMALS = 2


def _money(value: float | None) -> float:
    return round(value or 0.0, MONEY_DECIMALS) + 0.0


def paid_rise(amount_paid: float | None, pushed: float | None) -> float | None:
    """How much more the order is paid than SOS was told, or None when it is not more.
    A fall (a refund) is not a payment: it is made in SOS by its users."""
    rise = _money(amount_paid) - _money(pushed)
    return _money(rise) if rise > 0 else None


def sos_deposit(order: WizOrder) -> dict[str, float]:
    """The deposit route: the SOS order's deposit is everything paid online so far (an absolute
    value, so writing it twice changes nothing)."""
    return {"depositAmount": _money(order.amount_paid)}


def sos_payment(order: WizOrder, *, paid_before: float | None, customer_id: int,
                sales_order_id: int) -> dict[str, Any]:
    """The payment route: one SOS payment per rise of `amount_paid`. Its number is derived from
    the order and the total paid, so a replay finds it (looked up before create), not pays twice."""
    total = _money(order.amount_paid)
    return {
        "number": payment_number(f"{order.display_id}@{total:.2f}"),
        "customer": {"id": customer_id},
        "amount": _money(total - _money(paid_before)),
        "salesOrder": sos_ref(sales_order_id),
        "comment": f"WizCommerce online payment on order {order.display_id}",
    }
