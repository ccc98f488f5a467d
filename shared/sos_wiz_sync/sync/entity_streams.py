"""The entity pulls SOS → WizCommerce, each declared on the one engine: customers (R-CUS-3),
orders with their customer (R-ORD-7), invoices and shipments linked to their order (R-DOC-1),
and payments as the order's and invoice's paid amounts (R-PAY-2).

All are incremental (`updatedsince` keyset cursor, a checkpoint per page), wait for the first
sync (R-TIME-2), and retry at each run's start what earlier runs kept pending.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..clients.http import ApiError
from ..models.sos import SosCustomer, SosInvoice, SosPayment, SosSalesOrder, SosShipment
from ..rules.sos_to_wc import (
    PULLED_ORDER_SOURCE,
    Waiting,
    changed_fields,
    is_pushed_order_number,
    is_pushed_payment_number,
    wc_customer,
    wc_invoice,
    wc_order,
    wc_order_payment,
    wc_shipment,
)
from ..store.mappings import Entity, Mapping as Link
from .engine import Stream
from .mirror import (
    Decision,
    EndPending,
    KeepPending,
    MirrorSpec,
    Prepared,
    WcWrite,
    Write,
    decide,
    prepare,
    wc_by_reference,
    writes_of,
)
from .report import RunCounts, failure_reason

if TYPE_CHECKING:
    from .streams import PullDeps

FIRST_SYNC_NEEDED = "the first sync has not completed: run it once (README, 'Pull streams and first sync')"


def first_sync_missing(deps: PullDeps) -> str | None:
    """R-TIME-2: no entity stream creates anything before the first sync has matched what exists."""
    return None if deps.state.first_sync_status().get("status") == "done" else FIRST_SYNC_NEEDED


def declared_stream(deps: PullDeps, *, name: str, resource: str, entity: Entity,
                    prepare_run: Any, plan: Any) -> Stream:
    """What every entity stream shares: incremental, gated, pending retried, writes self-contained."""
    return Stream(name=name, resource=resource, incremental=True, prepare=prepare_run, plan=plan,
                  send=lambda prepared, write: write.apply(deps), entity=entity,
                  event_details=lambda write: write.event(), is_change=lambda write: write.changes_wc,
                  pending=lambda: [item["row"] for item in deps.state.pending(entity)],
                  blocked=lambda: first_sync_missing(deps))


def mirror_stream(deps: PullDeps, spec: MirrorSpec) -> Stream:
    return declared_stream(
        deps, name=spec.stream, resource=spec.sos_resource, entity=spec.entity,
        prepare_run=lambda: prepare(deps, spec.entity),
        plan=lambda prepared, rows, counts: writes_of(decide(deps, spec, rows, prepared, counts), counts))


# -- customers (R-CUS-3) -------------------------------------------------------------------

def customers_spec() -> MirrorSpec[SosCustomer]:
    """Every SOS customer, whichever side it came from: a WC-origin one is linked (by the push)
    and gets SOS's edits; an SOS-origin one is created with `reference_id` = its SOS id."""
    return MirrorSpec(
        stream="customers", entity="customer", sos_resource="customer", wc_resource="customers",
        model=SosCustomer, desired=lambda customer, lookups, wc, link: wc_customer(customer, wc),
        skip=lambda customer, link: "archived" if customer.archived and link is None else None)


# -- shared look-ups -----------------------------------------------------------------------

@dataclass(frozen=True)
class Products:
    """WC products of a page's SOS items, by SOS item id (their Reference ID)."""

    ids: dict[int, str]
    skus: dict[int, str]


def products_for(deps: PullDeps, item_ids: Iterable[int]) -> Products:
    wanted = sorted({str(item_id) for item_id in item_ids})
    found = deps.wiz.products_by_reference_ids(wanted) if wanted else []
    linked = [p for p in found if (p.reference_id or "").strip().isdigit()]
    return Products(ids={int(p.reference_id): p.id for p in linked}, skus={int(p.reference_id): p.sku for p in linked})


@dataclass(frozen=True)
class DocumentLookups:
    orders: dict[str, Link]  # SOS order id → its mapping
    products: Products


def document_lookups(deps: PullDeps, documents: list[SosInvoice] | list[SosShipment],
                     item_ids: list[int]) -> DocumentLookups:
    order_ids = {str(doc.salesOrder.id) for doc in documents if doc.salesOrder}
    return DocumentLookups(deps.mappings.by_sos_many("order", order_ids), products_for(deps, item_ids))


def order_of(document: SosInvoice | SosShipment, lookups: DocumentLookups) -> Link | Waiting:
    """R-DOC-1: a document is shown on its WC order; while that order is not in WizCommerce the
    document waits (pending), it is not dropped."""
    link = lookups.orders.get(str(document.salesOrder.id))
    if link is None:
        number = document.salesOrder.number or document.salesOrder.id
        return Waiting(f"its order {number} (SOS id {document.salesOrder.id}) is not in WizCommerce yet")
    return link


def no_order(document: SosInvoice | SosShipment, link: Link | None) -> str | None:
    return "no-sales-order" if document.salesOrder is None else None


# -- invoices and shipments (R-DOC-1) -----------------------------------------------------

def invoices_spec(deps: PullDeps) -> MirrorSpec[SosInvoice]:
    def desired(invoice: SosInvoice, lookups: DocumentLookups, wc: dict | None, link: Link | None):
        order = order_of(invoice, lookups)
        return order if isinstance(order, Waiting) else wc_invoice(invoice, order_id=order.wc_id,
                                                                   skus=lookups.products.skus)

    return MirrorSpec(stream="invoices", entity="invoice", sos_resource="invoice", wc_resource="invoices",
                      model=SosInvoice, desired=desired, skip=no_order, number=lambda invoice: invoice.number,
                      lookups=lambda invoices, prepared, counts: document_lookups(
                          deps, invoices, [line["item"]["id"] for i in invoices for line in i.lines if line.get("item")]))


def shipments_spec(deps: PullDeps) -> MirrorSpec[SosShipment]:
    def lookups(shipments: list[SosShipment], prepared: Prepared, counts: RunCounts) -> DocumentLookups:
        found = document_lookups(deps, shipments, [line.item.id for s in shipments for line in s.lines])
        unlisted = sum(1 for s in shipments for line in s.lines if line.item.id not in found.products.ids)
        if unlisted:
            counts.note("shipment_lines_without_wc_product", unlisted)  # WC refuses lines it has no product for
        return found

    def desired(shipment: SosShipment, lookups: DocumentLookups, wc: dict | None, link: Link | None):
        order = order_of(shipment, lookups)
        return order if isinstance(order, Waiting) else wc_shipment(shipment, order_id=order.wc_id,
                                                                    product_ids=lookups.products.ids)

    return MirrorSpec(stream="shipments", entity="shipment", sos_resource="shipment", wc_resource="shipments",
                      model=SosShipment, desired=desired, skip=no_order, lookups=lookups,
                      number=lambda shipment: shipment.number)


# -- orders (R-ORD-7) ----------------------------------------------------------------------

@dataclass(frozen=True)
class OrderLookups:
    customers: dict[int, str | WcWrite | Waiting]  # SOS customer id → WC id, the write creating it, or why not
    products: Products


def parent_customers(deps: PullDeps, customer_ids: set[int], prepared: Prepared,
                     counts: RunCounts) -> dict[int, str | WcWrite | Waiting]:
    """The WC customer of each order: linked already, or pulled first — through the customers
    stream's own decisions, so a customer pulled with its order is the one that stream makes."""
    links = deps.mappings.by_sos_many("customer", customer_ids)
    found: dict[int, str | WcWrite | Waiting] = {int(sos_id): link.wc_id for sos_id, link in links.items()}
    rows = []
    for customer_id in sorted(customer_ids - set(found)):
        try:
            rows.append(deps.sos.get("customer", customer_id))
        except ApiError as exc:
            if exc.status != 404:
                raise
            found[customer_id] = Waiting(f"its customer {customer_id} is not in SOS")
    for decision in decide(deps, customers_spec(), rows, prepared.for_parents(), RunCounts()):
        if isinstance(decision.write, WcWrite):
            found[int(decision.sos_id)] = decision.write
            counts.note("customers_pulled_with_their_order")
        else:
            found[int(decision.sos_id)] = Waiting(
                f"its customer {decision.sos_id} cannot be created in WizCommerce ({decision.skipped})")
    return found


def orders_spec(deps: PullDeps) -> MirrorSpec[SosSalesOrder]:
    prefix, suffix = deps.order_number_prefix, deps.order_number_suffix

    def skip(order: SosSalesOrder, link: Link | None) -> str | Waiting | None:
        if link is not None and link.origin == "wc":
            return "pushed-from-wc"  # R-ORD-7: never pulled back, nor its SOS edits bounced to WC
        if link is None and is_pushed_order_number(order.number, prefix, suffix):
            return Waiting(f"number {order.number} is a pushed order's number but has no mapping yet: "
                           "waiting for the push to link it")
        return None

    def lookups(orders: list[SosSalesOrder], prepared: Prepared, counts: RunCounts) -> OrderLookups:
        customers = parent_customers(deps, {order.customer.id for order in orders}, prepared, counts)
        return OrderLookups(customers, products_for(deps, [line.item.id for o in orders for line in o.lines]))

    def desired(order: SosSalesOrder, lookups: OrderLookups, wc: dict | None, link: Link | None):
        if link is None and wc is not None and wc.get("source") != PULLED_ORDER_SOURCE:
            # A WC-placed order carrying this SOS id: the push created it and has not linked it yet.
            return Waiting(f"WC order {wc['id']} carries this SOS id but was not made by the pull: "
                           "waiting for the push to link it")
        customer = lookups.customers[order.customer.id]
        if isinstance(customer, Waiting):
            return customer
        customer_id = customer if isinstance(customer, str) else ""  # filled in by the parent write
        return wc_order(order, customer_id=customer_id, product_ids=lookups.products.ids)

    def parent(order: SosSalesOrder, lookups: OrderLookups) -> WcWrite | None:
        customer = lookups.customers.get(order.customer.id)
        return customer if isinstance(customer, WcWrite) else None

    return MirrorSpec(stream="orders", entity="order", sos_resource="salesorder", wc_resource="orders",
                      model=SosSalesOrder, desired=desired, skip=skip, lookups=lookups, parent=parent,
                      parent_field="customer_id", number=lambda order: order.number)


# -- payments (R-PAY-2) --------------------------------------------------------------------

@dataclass(frozen=True)
class OrderPaid:
    """SOS payments of one order recorded in our ledger, then the WC order's paid amount and
    status set from the ledger's total (a set, not an add: replaying it changes nothing)."""

    record_id: str                       # the SOS order id
    wc_order_id: str
    payments: dict[str, float]           # SOS payment id → amount, recorded before the WC write
    body: dict[str, Any]                 # the WC order fields that change; empty: ledger only
    rows: tuple[dict[str, Any], ...]     # SOS-origin payments, kept pending if the write fails
    ended_pending: tuple[str, ...] = ()

    @property
    def changes_wc(self) -> bool:
        return bool(self.body)

    def apply(self, deps: PullDeps) -> None:
        try:
            for payment_id, amount in self.payments.items():
                deps.state.record_order_payment(self.record_id, payment_id, amount)
            if self.body:
                order = deps.wiz.update_order(self.wc_order_id, self.body)
                deps.mappings.update("order", self.wc_order_id, wc_echo_version=order.version)  # the push drops it
        except Exception as exc:
            for row in self.rows:
                deps.state.save_pending("payment", str(row["id"]), reason=f"write failed: {failure_reason(exc)}",
                                        row=row)
            raise
        for payment_id in self.ended_pending:
            deps.state.resolve_pending("payment", payment_id)

    def event(self) -> dict[str, Any]:
        return {"entity": "order", "action": "pulled-payments" if self.body else "payments-recorded",
                "wc_id": self.wc_order_id, "payments": sorted(self.payments)[:20]}


@dataclass(frozen=True)
class SeenPayment:
    payment: SosPayment
    row: dict[str, Any]
    pushed: bool


def payments_stream(deps: PullDeps) -> Stream:
    """R-PAY-2: the order's paid amount and status. The invoice's come with the invoice itself:
    a payment on it changes its `amountDue` (and so its lastModified) in SOS."""

    def prepare_run() -> Prepared:
        return prepare(deps, "payment")

    def plan(prepared: Prepared, rows: list[dict[str, Any]], counts: RunCounts) -> list[Write]:
        payments = [SosPayment.model_validate(row) for row in rows]
        links = deps.mappings.by_sos_many("payment", [str(p.id) for p in payments])
        invoice_orders = orders_of_invoices(deps, {p.invoice.id for p in payments if p.invoice and not p.salesOrder})
        by_order: dict[str, list[SeenPayment]] = {}
        decisions: list[Decision] = []
        for payment, row in zip(payments, rows):
            link = links.get(str(payment.id))
            pushed = (link is not None and link.origin == "wc") or is_pushed_payment_number(payment.number)
            order_id = payment.salesOrder.id if payment.salesOrder else invoice_orders.get(
                payment.invoice.id if payment.invoice else None)
            if order_id is None:
                ended = EndPending(str(payment.id), "payment", "no order") if str(payment.id) in prepared.pending \
                    else None
                decisions.append(Decision(str(payment.id), ended, skipped="not-for-an-order"))
                continue
            by_order.setdefault(str(order_id), []).append(SeenPayment(payment, row, pushed))
        return writes_of(decisions, counts) + order_payment_writes(deps, by_order, prepared, counts)

    return declared_stream(deps, name="payments", resource="payment", entity="payment",
                           prepare_run=prepare_run, plan=plan)


def orders_of_invoices(deps: PullDeps, invoice_ids: set[int]) -> dict[int, int | None]:
    """SOS invoice id → its SOS order id. Through WizCommerce where the invoice is there (its
    `order_id`, then that order's mapping): one call per 100 invoices. SOS is asked only about
    the others, one read each, against its low request limit."""
    wc_invoices = wc_by_reference(deps, "invoices", [str(i) for i in invoice_ids])
    order_links = deps.mappings.by_wc_many("order", {i["order_id"] for i in wc_invoices.values() if i.get("order_id")})
    found: dict[int, int | None] = {int(sos_id): int(order_links[invoice["order_id"]].sos_id)
                                    for sos_id, invoice in wc_invoices.items() if invoice.get("order_id") in order_links}
    for invoice_id in sorted(invoice_ids - set(found)):
        found[invoice_id] = (deps.sos.get("invoice", invoice_id).get("salesOrder") or {}).get("id")
    return found


def order_payment_writes(deps: PullDeps, by_order: dict[str, list[SeenPayment]], prepared: Prepared,
                         counts: RunCounts) -> list[Write]:
    """One write per order whose payments this page saw. Payments we pushed (R-PAY-1) are
    recorded — they are part of what SOS says is paid — but never cause a write by themselves."""
    order_links = deps.mappings.by_sos_many("order", by_order)
    current = wc_by_reference(deps, "orders", [sos_id for sos_id in by_order if sos_id in order_links])
    writes: list[Write] = []
    for sos_order_id, seen in by_order.items():
        counts.seen += len(seen)
        own = [s for s in seen if not s.pushed]
        if len(own) < len(seen):
            counts.skip("pushed-from-wc", len(seen) - len(own))
        link = order_links.get(sos_order_id)
        if link is None:
            reason = f"its order (SOS id {sos_order_id}) is not in WizCommerce yet"
            writes += [KeepPending(str(s.payment.id), "payment", reason, s.row) for s in own]
            if own:
                counts.skip("pending", len(own))
            continue
        recorded = deps.state.order_payments(sos_order_id)
        payments = {str(s.payment.id): s.payment.amount for s in seen}
        wc = current.get(sos_order_id) or deps.wiz.get("orders", link.wc_id)
        total = sum({**recorded, **payments}.values())
        changes = changed_fields(wc, wc_order_payment(wc.get("amount"), total)) if own else {}
        new = {pid: amount for pid, amount in payments.items() if recorded.get(pid) != amount}
        ended = tuple(str(s.payment.id) for s in own if str(s.payment.id) in prepared.pending)
        if changes or new or ended:
            writes.append(OrderPaid(sos_order_id, link.wc_id, new, changes, tuple(s.row for s in own), ended))
        if not changes:
            counts.unchanged += len(own)
    return writes


def entity_streams(deps: PullDeps) -> list[Stream]:
    return [mirror_stream(deps, customers_spec()), mirror_stream(deps, orders_spec(deps)),
            mirror_stream(deps, invoices_spec(deps)), mirror_stream(deps, shipments_spec(deps)),
            payments_stream(deps)]
