"""Online payments WizCommerce → SOS (R-PAY-1): one SOS payment per WC payment, linked to the
customer and, where known, the order and its invoice.

SOS has no idempotency keys: the payment number is derived from the WC payment id and looked
up before create, so a write SOS applied but answered with a 5xx is found, not paid twice.
"""

from __future__ import annotations

from ..clients.http import ApiError
from ..models.sos import SosPayment
from ..models.wiz import WizPayment
from ..rules.payments import sos_payment
from ..store.mappings import Mapping
from .customers import sos_customer_id
from .deps import PushDeps
from .failures import PermanentPushFailure
from .outcome import PushOutcome


def push_payment(deps: PushDeps, payment: WizPayment) -> PushOutcome:
    mapping = deps.mappings.by_wc("payment", payment.id)
    if mapping is not None:
        return PushOutcome(entity="payment", wc_id=payment.id, status="ignored", sos_id=mapping.sos_id,
                           reason="payment already pushed")
    customer_id = sos_customer_id(deps, payment.customer_id)
    order_id, invoice_id = _sos_order_and_invoice(deps, payment.order_id)
    body = sos_payment(payment, customer_id=customer_id, sales_order_id=order_id, invoice_id=invoice_id)
    existing = deps.sos.find_payment_by_number(body["number"])
    if existing is None:
        sos, status = _create(deps, body), "created"
    else:
        _check_ours(existing, customer_id)
        sos, status = existing, "adopted"
    deps.mappings.link(Mapping(entity="payment", wc_id=payment.id, sos_id=str(sos.id), origin="wc",
                               number=body["number"]))
    deps.state.resolve_failure("payment", payment.id)
    return PushOutcome(entity="payment", wc_id=payment.id, status=status, sos_id=str(sos.id))


def _sos_order_and_invoice(deps: PushDeps, wc_order_id: str | None) -> tuple[int | None, int | None]:
    """The SOS order the payment is for, when it was pushed, and its invoice when there is
    exactly one (with several, which one a payment settles is SOS's users' call)."""
    mapping = deps.mappings.by_wc("order", wc_order_id) if wc_order_id else None
    if mapping is None:
        return None, None
    order_id = int(mapping.sos_id)
    invoices = deps.sos.invoices_for_order(order_id)
    return order_id, invoices[0].id if len(invoices) == 1 else None


def _create(deps: PushDeps, body: dict) -> SosPayment:
    try:
        return deps.sos.create_payment(body)
    except ApiError as exc:
        if exc.status != 400:
            raise  # 5xx/timeout: it may have been applied; the retry finds it by number first
        raise PermanentPushFailure(f"SOS refused the payment: {exc.message[:200]}") from exc


def _check_ours(existing: SosPayment, customer_id: int) -> None:
    if existing.customer.id != customer_id:
        raise PermanentPushFailure(f"SOS payment number {existing.number} belongs to another customer")
