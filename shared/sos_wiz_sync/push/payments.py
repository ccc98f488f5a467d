"""Online payments WizCommerce → SOS (R-PAY-1): a WC order's `amount_paid` rising reaches that
order's SOS sales order once — as its deposit (the documented route, default) or, where the SOS
account answers `/payment` and configuration says so, as an SOS payment.

"Once": the amount last brought to SOS is kept on the order's mapping. The deposit is absolute
(written twice it is the same); a payment's number is derived from the order and the total paid
and looked up before create, so a write SOS applied but answered with a 5xx is found, not repeated.
"""

from __future__ import annotations

from ..clients.http import ApiError
from ..models.sos import SosSalesOrder
from ..models.wiz import WizOrder
from ..rules.payments import paid_rise, sos_deposit, sos_payment
from ..store.mappings import Mapping
from .customers import sos_customer_id
from .deps import PushDeps
from .failures import PermanentPushFailure


def push_payment(deps: PushDeps, order: WizOrder, mapping: Mapping) -> None:
    if mapping.origin == "sos":
        return  # its payments are SOS's: the payments pull writes them to WC (R-PAY-2), never back
    if paid_rise(order.amount_paid, mapping.pushed_amount_paid) is None:
        return
    route = deps.config.payment_route
    if route == "deposit":
        deposit = sos_deposit(order)
        read_back_deposit(deps, deps.sos.update_sales_order(int(mapping.sos_id), deposit), deposit["depositAmount"])
    else:
        if not deps.sos.payment_endpoint_available():
            raise PermanentPushFailure("PaymentRoute is payment, but this SOS account does not answer /payment "
                                       "(SOS-A11): set PaymentRoute to deposit")
        body = sos_payment(order, paid_before=mapping.pushed_amount_paid, sales_order_id=int(mapping.sos_id),
                           customer_id=sos_customer_id(deps, order.customer_id))
        if deps.sos.find_payment_by_number(body["number"]) is None:
            _create(deps, body)
    deps.mappings.update("order", order.id, pushed_amount_paid=order.amount_paid)
    record_payment(deps, order, mapping.sos_id, route)


def read_back_deposit(deps: PushDeps, written: SosSalesOrder, amount: float) -> None:
    """SOS-A19: the order SOS answered after we wrote its deposit carries what we wrote
    (recorded "writable" the first time), or the deposit was ignored: recorded, and the push
    parked naming the order rather than counting a payment SOS does not show."""
    if written.depositAmount is not None and abs(written.depositAmount - amount) < 0.005:
        deps.sos.first_use("SOS-A19", "writable", f"SOS order {written.id} read back depositAmount {amount}")
        return
    deps.sos.first_use("SOS-A19", "ignored", f"SOS order {written.id} read back depositAmount "
                       f"{written.depositAmount} where {amount} was written")
    raise PermanentPushFailure(
        f"SOS kept depositAmount {written.depositAmount} on SOS order {written.number} (id {written.id}) where "
        f"{amount} was written (SOS-A19: depositAmount is not writable on this account). Fix: set PaymentRoute "
        "to payment if the account has /payment, or enter the deposit in SOS by hand, then redrive this message",
        sos_order_id=str(written.id))


def record_payment(deps: PushDeps, order: WizOrder, sos_id: str, route: str) -> None:
    """The payment's line in the order's story (`sos-wiz-ops trace`), naming the route used."""
    deps.state.record_event("order", order.id, "payment-pushed", source="push", route=route, sos_id=sos_id,
                            amount_paid=order.amount_paid)


def _create(deps: PushDeps, body: dict) -> None:
    try:
        deps.sos.create_payment(body)
    except ApiError as exc:
        if exc.status != 400:
            raise  # 5xx/timeout: it may have been applied; the retry finds it by number first
        raise PermanentPushFailure(f"SOS refused the payment: {exc.message[:200]}") from exc
