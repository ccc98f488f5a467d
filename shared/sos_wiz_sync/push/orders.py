"""Orders WizCommerce → SOS (R-ORD-1..6, R-ORD-8, R-REF-1..3, R-PAY-1): a confirmed order becomes
one SOS sales order, its edits follow until SOS ships or invoices it, its online payments follow as
the SOS order's deposit, its cancellation zeroes the SOS order's lines (releasing the stock they
commit), and nothing ever makes a second one.

What did not reach SOS (an edit or a cancellation after SOS shipped or invoiced) also shows in the
WC order itself: one "Not sent to SOS: …" line in its `internal_note`, replaced when seen again.
That line is never sent to SOS and left out of the pushed fingerprint, so our own write of it is
no edit to push (its echo: the poll lists the order again, the push finds nothing SOS receives
changed).

Every push reads the order's current state from WizCommerce (R-PUSH-1): announcements only say
"order X changed", so their number and order do not matter. What SOS got is kept on the mapping
as a fingerprint (and the amount paid), so a change already pushed — or our own write to WC,
which touches no field SOS receives — pushes nothing.

Crash safety: SOS is written first, then WC learns the SOS id (its `reference_id`), then the
mapping is stored. Just before its POST a create records its attempt (Mappings.first_create_attempt),
so a run interrupted anywhere after that finds its SOS order again by its unique number (R-ORD-4)
before creating: a write SOS applied but answered with a 5xx is adopted, not repeated (SOS-A13).
Only the first attempt of an order with no `reference_id` skips that look-up: nothing can be in SOS
under its number from us yet, so a new order costs one SOS call, its POST.
"""

from __future__ import annotations

from ..clients.http import ApiError
from datetime import date, datetime, timezone
from typing import Any, NoReturn

from ..models.sos import SosRecordError, SosSalesOrder, linked_transactions
from ..models.wiz import WizOrder, WizProduct
from ..rules.orders import (
    CANCELLED_ORDER_STATUS,
    LineProblem,
    cancellation_plan,
    cancelled_comment,
    cancelled_sos_order,
    edit_block_reason,
    fit_lines_to_record,
    line_problem,
    note_with_ours,
    order_skip_reason,
    pushed_content_digest,
    reference_problem,
    sos_sales_order,
    zeroed_lines,
)
from ..rules.payments import sos_deposit
from ..rules.push_config import sos_id_from_reference
from ..rules.versions import is_our_write
from ..store.mappings import Mapping
from .customers import HELD, sos_customer_id
from .deps import PushDeps
from .failures import PermanentPushFailure
from .outcome import PushOutcome, current_state, gone
from .payments import push_payment, read_back_deposit, record_payment


def push_order(deps: PushDeps, wc_id: str) -> PushOutcome:
    """Order X changed: create it in SOS when not linked yet, else push its edit and payment."""
    order = current_state(deps.wiz.get_order, wc_id)
    if order is None:
        return gone("order", wc_id)
    mapping = deps.mappings.by_wc("order", order.id)
    if order.status == CANCELLED_ORDER_STATUS:
        return _cancel(deps, order, mapping)
    if mapping is None:
        return _create(deps, order)
    outcome = _edit(deps, order, mapping)
    if is_our_write(order.updated_at, mapping.wc_echo_version):
        # The payments pull wrote amount_paid from what SOS has (R-PAY-2): not a payment to push back.
        deps.mappings.update("order", order.id, pushed_amount_paid=order.amount_paid)
    else:
        push_payment(deps, order, mapping)
    return outcome


def _outcome(order: WizOrder, status, sos_id: object = None, reason: str | None = None) -> PushOutcome:
    return PushOutcome(entity="order", wc_id=order.id, status=status,
                       sos_id=None if sos_id is None else str(sos_id), reason=reason)


def _order_body(deps: PushDeps, order: WizOrder, number: str, item_ids: list[int]) -> dict:
    customer_id = sos_customer_id(deps, order.customer_id)
    customer = deps.wiz.get_customer(order.customer_id)  # its sales rep (R-ORD-6) and company name
    rep = customer.assigned_sales_reps[0].id if customer.assigned_sales_reps else None
    try:
        return sos_sales_order(order, number=number, customer_id=customer_id, item_ids=item_ids,
                               config=deps.config, wc_rep_id=rep, company=customer.name)
    except ValueError as exc:  # a read that lacks what the body is derived from (WC-A13)
        raise PermanentPushFailure(str(exc)) from exc


def _create(deps: PushDeps, order: WizOrder) -> PushOutcome:
    skip = order_skip_reason(order)
    if skip:
        return _outcome(order, "ignored", reason=skip)
    if deps.state.is_held("order", "wc", order.id):
        return _outcome(order, "ignored", reason=HELD)
    try:
        number = deps.config.order_number(order.display_id)
    except ValueError as exc:  # an empty WC number: no unique SOS number can be made from it
        raise PermanentPushFailure(f"no SOS order number: {exc}") from exc
    existing = None
    if order.reference_id:
        existing = deps.sos.find_sales_order_by_number(number)
        if existing is None or str(existing.id) != order.reference_id:
            # Linked to an SOS order we did not push (an SOS-origin order the pull wrote to WC): R-ORD-7.
            return _outcome(order, "ignored", order.reference_id,
                            "order carries the id of an SOS order it did not push")
    item_ids = _sos_item_ids(deps, order)
    body = _order_body(deps, order, number, item_ids)
    paid = deps.config.payment_route == "deposit" and bool(order.amount_paid)
    if paid:  # R-PAY-1: what was paid before the order reached SOS goes in with it
        body |= sos_deposit(order)
    if existing is None and not deps.mappings.first_create_attempt("order", order.id):
        # An earlier attempt may have landed (a 5xx or timeout on its POST, or a crash after it): SOS-A13.
        existing = deps.sos.find_sales_order_by_number(number)
    if existing is None:
        sos_order, status = _create_sos_order(deps, order, body, item_ids)
    else:
        sos_order, status = _adopt(deps, order, existing, body, item_ids), "adopted"
    if paid:
        read_back_deposit(deps, sos_order, body["depositAmount"])
    if order.reference_id != str(sos_order.id):
        deps.wiz.update_order(order.id, {"reference_id": str(sos_order.id)})  # its echo changes no pushed field
    mapping = deps.mappings.link(Mapping(
        entity="order", wc_id=order.id, sos_id=str(sos_order.id), origin="wc", number=number,
        pushed_digest=pushed_content_digest(order), pushed_amount_paid=order.amount_paid if paid else None))
    if paid:
        record_payment(deps, order, mapping.sos_id, "deposit")
    else:
        push_payment(deps, order, mapping)
    deps.state.resolve_failure("order", order.id)
    return _outcome(order, status, sos_order.id)


def _create_sos_order(deps: PushDeps, order: WizOrder, body: dict, item_ids: list[int]) -> tuple[SosSalesOrder, str]:
    try:
        return deps.sos.create_sales_order(body), "created"
    except ApiError as exc:
        if exc.status != 400:
            raise  # 5xx/timeout: it may have been applied; the retry finds it by number first
        existing = deps.sos.find_sales_order_by_number(body["number"])  # "Duplicate reference number"
        if existing is None:
            raise _refused(deps, order, item_ids, exc) from exc
        return _adopt(deps, order, existing, body, item_ids), "adopted"


def _adopt(deps: PushDeps, order: WizOrder, existing: SosSalesOrder, body: dict, item_ids: list[int]) -> SosSalesOrder:
    """An SOS order with our number: ours from an interrupted attempt, brought to this event's
    content — unless it belongs to another record (R-ORD-4 uniqueness)."""
    _check_ours(deps, order, existing, body["customer"]["id"])
    return _update_sos_order(deps, order, existing.id, body, item_ids)


def _check_ours(deps: PushDeps, order: WizOrder, existing: SosSalesOrder, customer_id: int) -> None:
    """R-ORD-4: the number is unique in SOS; the order found by it must be this WC order's."""
    owner = deps.mappings.by_sos("order", existing.id)
    if owner is not None and owner.wc_id != order.id:
        raise PermanentPushFailure(f"SOS order number {existing.number} is already linked to WC order {owner.wc_id}")
    if owner is None and (existing.customer is None or existing.customer.id != customer_id):
        raise PermanentPushFailure(f"SOS order number {existing.number} is taken by SOS order {existing.id} "
                                   "of another customer")


def _edit(deps: PushDeps, order: WizOrder, mapping: Mapping) -> PushOutcome:
    sos_id = mapping.sos_id
    if mapping.origin == "sos":
        return _outcome(order, "ignored", sos_id, "SOS-origin order: it is edited in SOS (R-ORD-7)")
    skip = order_skip_reason(order)
    if skip:
        return _outcome(order, "ignored", sos_id, skip)
    digest = pushed_content_digest(order)
    if digest == mapping.pushed_digest:
        return _outcome(order, "ignored", sos_id, "nothing SOS receives changed")
    if mapping.edit_blocked:
        return _outcome(order, "ignored", sos_id, f"edit-blocked: {mapping.edit_blocked_reason}")
    blocked = edit_block_reason(*_documents(deps, sos_id, "edit"), mapping.number or sos_id)
    if blocked:
        return _block_edit(deps, order, sos_id, blocked)
    item_ids = _sos_item_ids(deps, order)
    number = mapping.number or deps.config.order_number(order.display_id)
    _update_sos_order(deps, order, int(sos_id), _order_body(deps, order, number, item_ids), item_ids)
    deps.mappings.update("order", order.id, pushed_digest=digest)
    deps.state.resolve_failure("order", order.id)
    return _outcome(order, "updated", sos_id)


def _fit_to_record(current: dict, body: dict) -> dict:
    """SOS-A7: the edit's lines as the record read just before the PUT has them (price casing,
    line ids kept), so SOS updates its lines rather than recreating them."""
    return {**body, "lines": fit_lines_to_record(body["lines"], current.get("lines") or [])}


def _update_sos_order(deps: PushDeps, order: WizOrder, sos_id: int, body: dict, item_ids: list[int]) -> SosSalesOrder:
    try:
        return deps.sos.update_sales_order(sos_id, body, _fit_to_record)
    except ApiError as exc:
        if exc.status != 400:
            raise
        raise _refused(deps, order, item_ids, exc) from exc


def _documents(deps: PushDeps, sos_id: str, change: str) -> tuple[list[str], list[str]]:
    """The numbers of the shipments and invoices SOS has for the order (R-ORD-2, R-ORD-8)."""
    try:
        return ([s.number or str(s.id) for s in deps.sos.shipments_for_order(int(sos_id))],
                [i.number or str(i.id) for i in deps.sos.invoices_for_order(int(sos_id))])
    except SosRecordError as exc:  # links we cannot read may hide a shipment: hold the change (SOS-A9)
        raise PermanentPushFailure(f"{change} held: cannot tell whether SOS shipped or invoiced order {sos_id}: "
                                   f"{exc.reason}") from exc


def _block_edit(deps: PushDeps, order: WizOrder, sos_id: str, reason: str) -> PushOutcome:
    """R-ORD-2: not pushed; the order is marked edit-blocked with the reason in our state (the
    operator's `failures` and `trace`) and in the WC order's own note."""
    deps.mappings.update("order", order.id, edit_blocked=True, edit_blocked_reason=reason)
    deps.state.record_failure("order", order.id, reason=f"edit-blocked: {reason}",
                              details={"disposition": "edit-blocked", "sos_order_id": sos_id})
    _note_in_wc(deps, order, reason)
    return _outcome(order, "edit-blocked", sos_id, reason)


def _note_in_wc(deps: PushDeps, order: WizOrder, reason: str) -> None:
    """One "Not sent to SOS" line in the WC order's `internal_note`, replacing an earlier one.
    Written from the order as read right before the PUT (WizClient.merge_order), not from the
    push's earlier read, so what a user saved meanwhile stays; already there: no write at all."""
    if note_with_ours(order.internal_note, reason) == order.internal_note:
        return
    deps.wiz.merge_order(order.id, lambda read: {"internal_note": note_with_ours(read.get("internal_note"), reason)})


# -- cancellations (R-ORD-8) -----------------------------------------------------------------

class _ShippedMeanwhile(Exception):
    """SOS shipped or invoiced the order between our check and our write."""


def _cancel(deps: PushDeps, order: WizOrder, mapping: Mapping | None) -> PushOutcome:
    """A cancelled WC order: its SOS order's lines to 0 with the comment, once; or, after a
    shipment or invoice, a `cancel-blocked` failure parked (its alarm) naming the SOS order."""
    if mapping is None or mapping.origin == "sos":
        plan = cancellation_plan(sos_order_id=mapping and mapping.sos_id, sos_order_number=None,
                                 origin=mapping and mapping.origin)
        return _outcome(order, "ignored", mapping and mapping.sos_id, plan.reason)
    sos_id, number = mapping.sos_id, mapping.number or mapping.sos_id
    if mapping.cancelled == "applied":
        return _outcome(order, "ignored", sos_id, "cancellation already applied in SOS (R-ORD-8)")
    current = deps.sos.get("salesorder", int(sos_id))
    if mapping.cancelled == "blocked" and not cancelled_sos_order(current):
        # seen again (our note's echo, another edit): parked once already, SOS still not cancelled by hand
        return _outcome(order, "ignored", sos_id, f"cancel-blocked, parked once: {mapping.edit_blocked_reason}")
    shows = cancelled_sos_order(current)
    shipments, invoices = ([], []) if shows else _documents(deps, sos_id, "cancellation")
    plan = cancellation_plan(sos_order_id=sos_id, sos_order_number=number, origin=mapping.origin,
                             shipment_numbers=shipments, invoice_numbers=invoices, sos_shows_cancelled=shows)
    if plan.action == "blocked":
        _block_cancellation(deps, order, sos_id, plan.reason)
    if plan.action == "zero-lines":
        try:
            _zero_sos_order(deps, order, int(sos_id), number)
        except _ShippedMeanwhile:
            shipments, invoices = _documents(deps, sos_id, "cancellation")
            plan = cancellation_plan(sos_order_id=sos_id, sos_order_number=number, origin=mapping.origin,
                                     shipment_numbers=shipments, invoice_numbers=invoices)
            _block_cancellation(deps, order, sos_id, plan.reason)
    deps.mappings.update("order", order.id, cancelled="applied")
    deps.state.resolve_failure("order", order.id)
    return _outcome(order, "cancelled", sos_id, plan.reason)


def _cancelled_on(order: WizOrder) -> date:
    return (order.updated_at or datetime.now(timezone.utc)).astimezone(timezone.utc).date()


def _zero_sos_order(deps: PushDeps, order: WizOrder, sos_id: int, number: str) -> None:
    """GET, every line to 0 and the comment, PUT with its syncToken (SOS-A8, SOS-A22): the lines'
    ids and price casing kept as read. A shipment or invoice appearing meanwhile stops it."""
    def cancelled(current: dict[str, Any], _fields: dict[str, Any]) -> dict[str, Any]:
        if linked_transactions(current, "linkedShipments", "salesorder") or linked_transactions(
                current, "linkedInvoices", "salesorder"):
            raise _ShippedMeanwhile()
        return {"lines": zeroed_lines(current.get("lines") or []),
                "comment": cancelled_comment(_cancelled_on(order), current.get("comment"))}

    try:
        deps.sos.update_sales_order(sos_id, {}, cancelled)
    except ApiError as exc:
        if exc.status != 400:
            raise  # 5xx/timeout: retried; the retry finds the cancellation in SOS if it landed
        if not getattr(exc, "stale", False):  # a stale syncToken says nothing about quantity 0
            deps.sos.first_use("SOS-A22", "refused", f"PUT /salesorder/{sos_id} with every line at quantity 0 "
                               f"answered {exc.message[:200]}")
        raise PermanentPushFailure(
            f"SOS refused the cancellation of SOS order {number} (id {sos_id}; PUT /salesorder with every line "
            f"at quantity 0, SOS-A8/SOS-A22): {exc.message[:200]}. Fix: cancel SOS order {number} in SOS by hand "
            "(its lines to 0, or close it), then redrive this message", sos_order_id=str(sos_id)) from exc
    deps.sos.first_use("SOS-A22", "accepted", f"PUT /salesorder/{sos_id} with every line at quantity 0 was taken")


def _block_cancellation(deps: PushDeps, order: WizOrder, sos_id: str, reason: str) -> NoReturn:
    """R-ORD-8 after a shipment or invoice: SOS is not changed; the cancellation is a failure
    naming the SOS order (`failures`, `trace`), parked in the DLQ like every parked push (its
    alarm), once: the mapping remembers it; and the WC order's note says so."""
    deps.mappings.update("order", order.id, cancelled="blocked", edit_blocked=True, edit_blocked_reason=reason)
    _note_in_wc(deps, order, reason)
    raise PermanentPushFailure(f"cancel-blocked: {reason}", disposition="cancel-blocked", sos_order_id=sos_id)


# -- lines → SOS items (R-REF-1, R-REF-2) --------------------------------------------------

def _sos_item_ids(deps: PushDeps, order: WizOrder) -> list[int]:
    """The SOS item of every line: its WC product's Reference ID, read now (a product fixed
    since the order was placed counts). Every offending line is reported at once."""
    products = _line_products(deps, order)
    item_ids, problems = [], []
    for number, line in enumerate(order.line_items, start=1):
        product = products.get(line.product_id or "")
        if not line.product_id:
            problem = "line has no product"
        elif product is None:
            problem = f"product {line.product_id} is not in WizCommerce"
        else:
            problem = reference_problem(product.reference_id)
        if problem:
            problems.append(line_problem(number, line, problem))
        else:
            item_ids.append(sos_id_from_reference(product.reference_id))
    if problems:
        raise PermanentPushFailure("order lines without a usable Reference ID (R-REF-2)", problems)
    return item_ids


def _line_products(deps: PushDeps, order: WizOrder) -> dict[str, WizProduct]:
    """The lines' products by id: one list call by sku for the order, then a read by id for any
    line the list did not answer (no sku on the line, or the product's sku changed since)."""
    skus = sorted({line.sku for line in order.line_items if line.sku})
    products = {product.id: product for product in deps.wiz.products_by_skus(skus)} if skus else {}
    for product_id in {line.product_id for line in order.line_items if line.product_id} - products.keys():
        try:
            products[product_id] = deps.wiz.get_product(product_id)
        except ApiError as exc:
            if exc.status != 404:
                raise
    return products


def _refused(deps: PushDeps, order: WizOrder, item_ids: list[int], error: ApiError) -> PermanentPushFailure:
    """SOS answered 400: name the lines whose Reference ID matches no SOS item, if that is why."""
    missing = {item_id for item_id in set(item_ids) if not _sos_item_exists(deps, item_id)}
    problems: list[LineProblem] = [
        line_problem(number, line, f"Reference ID {item_id} matches no SOS item")
        for number, (line, item_id) in enumerate(zip(order.line_items, item_ids), start=1) if item_id in missing]
    reason = ("Reference ID matches no SOS item (R-REF-2)" if problems
              else f"SOS refused the order: {error.message[:200]}")
    return PermanentPushFailure(reason, problems)


def _sos_item_exists(deps: PushDeps, item_id: int) -> bool:
    try:
        deps.sos.get_item(item_id)
        return True
    except ApiError as exc:
        if exc.status != 404:
            raise
        return False
