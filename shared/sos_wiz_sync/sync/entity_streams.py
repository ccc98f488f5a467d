"""The entity pulls SOS → WizCommerce, each declared on the one engine: customers (R-CUS-3),
orders with their customer (R-ORD-7), invoices and shipments linked to their order (R-DOC-1),
and payments as the order's and invoice's paid amounts (R-PAY-2).

All are incremental (`updatedsince` windows overlapping the previous run, offset pages, a
checkpoint per page, each record's syncToken kept on its mapping so a record read twice is
applied once), wait for the first sync (R-TIME-2), and retry at each run's start what earlier
runs kept pending.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..clients.http import ApiError
from ..models.sos import SosCustomer, SosInvoice, SosRecordError, SosSalesOrder, SosShipment
from ..rules.sos_to_wc import (
    INVOICE_CREATE_ONLY_FIELDS,
    PULLED_ORDER_SOURCE,
    Waiting,
    changed_fields,
    counted_paid,
    is_pushed_order_number,
    order_paid,
    wc_customer,
    wc_invoice,
    wc_order,
    wc_order_payment,
    wc_shipment,
)
from ..store.mappings import Entity, Mapping as Link
from .engine import DriftCheck, Stream
from .mirror import (
    MirrorSpec,
    Prepared,
    WcWrite,
    Write,
    decide,
    drifted_rows,
    full_map_cost,
    prepare,
    update_wc,
    wc_by_reference,
    writes_of,
)
from .quarantine import EndQuarantine, count_problem, quarantine_write, quarantined_rows, read_rows
from .report import RunCounts

if TYPE_CHECKING:
    from .deps import PullDeps

FIRST_SYNC_NEEDED = "the first sync has not completed: run it once (README, 'Pull streams and first sync')"


def first_sync_missing(deps: PullDeps) -> str | None:
    """R-TIME-2: no entity stream creates anything before the first sync has matched what exists."""
    return None if deps.state.first_sync_status().get("status") == "done" else FIRST_SYNC_NEEDED


def retried_rows(deps: PullDeps, entity: Entity, stream: str, resource: str) -> list[dict[str, Any]]:
    """What a run plans first: the rows kept pending, and the quarantined records read again."""
    pending = deps.state.pending(entity)
    return [*(item["row"] for item in pending),
            *quarantined_rows(deps, entity, stream, resource, already=(item["sos_id"] for item in pending))]


def declared_stream(deps: PullDeps, spec: MirrorSpec, plan: Any) -> Stream:
    """What every entity stream shares: incremental, gated, pending and quarantined records
    retried, writes self-contained; `plan(prepared, rows, counts, recheck)`. Where the spec says
    so, records WizCommerce shows edited since the previous run are compared again (drift
    repair, counted `drift-corrected`)."""
    drift_check = DriftCheck(rows=lambda since: drifted_rows(deps, spec, since),
                             plan=lambda prepared, rows, counts: plan(prepared, rows, counts, True))
    return Stream(name=spec.stream, resource=spec.sos_resource, incremental=True,
                  prepare=lambda: deps.sos.require(*spec.contract_rows) or prepare(deps, spec.entity, spec.stream),
                  plan=lambda prepared, rows, counts: plan(prepared, rows, counts, False),
                  send=lambda prepared, write: write.apply(deps), entity=spec.entity,
                  event_details=lambda write: write.event(), is_change=lambda write: write.changes_wc,
                  corrects_drift=lambda write: isinstance(write, WcWrite) and write.corrects_drift,
                  drift_check=drift_check if spec.repairs_drift else None,
                  pending=lambda: retried_rows(deps, spec.entity, spec.stream, spec.sos_resource),
                  blocked=lambda: first_sync_missing(deps) or deps.wiz.stream_stop(spec.wc_resource))


def mirror_stream(deps: PullDeps, spec: MirrorSpec) -> Stream:
    return declared_stream(deps, spec, lambda prepared, rows, counts, recheck: writes_of(
        decide(deps, spec, rows, prepared, counts, recheck=recheck), counts))


# -- customers (R-CUS-3) -------------------------------------------------------------------

def customers_spec() -> MirrorSpec[SosCustomer]:
    """Every SOS customer, whichever side it came from: a WC-origin one is linked (by the push)
    and gets SOS's edits; an SOS-origin one is created with `reference_id` = its SOS id. No drift
    repair: every field written here is one the push takes from a WC edit to SOS (R-CUS-1), so a
    WC edit of it is a change for SOS, not drift."""
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


def products_for(deps: PullDeps, item_ids: Iterable[int], counts: RunCounts | None = None) -> Products:
    wanted = sorted({str(item_id) for item_id in item_ids})
    found = deps.wiz.products_by_reference_ids(wanted, full_map_cost(counts)) if wanted else []
    linked = [p for p in found if (p.reference_id or "").strip().isdigit()]
    return Products(ids={int(p.reference_id): p.id for p in linked}, skus={int(p.reference_id): p.sku for p in linked})


@dataclass(frozen=True)
class DocumentLookups:
    orders: dict[str, Link]  # SOS order id → its mapping
    products: Products


def document_lookups(deps: PullDeps, documents: list[SosInvoice] | list[SosShipment],
                     item_ids: list[int], counts: RunCounts) -> DocumentLookups:
    order_ids = {str(doc.sales_order.id) for doc in documents if doc.sales_order}
    return DocumentLookups(deps.mappings.by_sos_many("order", order_ids), products_for(deps, item_ids, counts))


def order_of(document: SosInvoice | SosShipment, lookups: DocumentLookups) -> Link | Waiting:
    """R-DOC-1: a document is shown on its WC order (found through its `linkedTransaction`);
    while that order is not in WizCommerce the document waits (pending), it is not dropped."""
    order = document.sales_order
    link = lookups.orders.get(str(order.id))
    if link is None:
        return Waiting(f"its order {order.refNumber or order.id} (SOS id {order.id}) is not in WizCommerce yet")
    return link


def no_order(document: SosInvoice | SosShipment, link: Link | None) -> str | None:
    return "no-sales-order" if document.sales_order is None else None


# -- invoices and shipments (R-DOC-1) -----------------------------------------------------

def invoices_spec(deps: PullDeps) -> MirrorSpec[SosInvoice]:
    def desired(invoice: SosInvoice, lookups: DocumentLookups, wc: dict | None, link: Link | None):
        order = order_of(invoice, lookups)
        if isinstance(order, Waiting):
            return order  # WC-A14: the invoice names its order as the probe found this account reads it
        return wc_invoice(invoice, order_id=deps.wiz.invoice_order_ref(order.wc_id, order.sos_id),
                          skus=lookups.products.skus)

    return MirrorSpec(stream="invoices", entity="invoice", sos_resource="invoice", wc_resource="invoices",
                      model=SosInvoice, desired=desired, skip=no_order, number=lambda invoice: invoice.number,
                      create_only=INVOICE_CREATE_ONLY_FIELDS, repairs_drift=True,
                      contract_rows=("SOS-A9",),  # invoices carry linkedPayments
                      lookups=lambda invoices, prepared, counts: document_lookups(
                          deps, invoices, [line["item"]["id"] for i in invoices for line in i.lines if line.get("item")],
                          counts))


def shipments_spec(deps: PullDeps) -> MirrorSpec[SosShipment]:
    def lookups(shipments: list[SosShipment], prepared: Prepared, counts: RunCounts) -> DocumentLookups:
        found = document_lookups(deps, shipments, [line.item.id for s in shipments for line in s.lines if line.item],
                                 counts)
        unlisted = sum(1 for s in shipments for line in s.lines if line.item and line.item.id not in found.products.ids)
        if unlisted:
            counts.note("shipment_lines_without_wc_product", unlisted)  # WC refuses lines it has no product for
        count_itemless(counts, "shipment", [line for s in shipments for line in s.lines])
        return found

    def desired(shipment: SosShipment, lookups: DocumentLookups, wc: dict | None, link: Link | None):
        order = order_of(shipment, lookups)
        listed = shipment.model_copy(update={"lines": [line for line in shipment.lines if line.item]})
        return order if isinstance(order, Waiting) else wc_shipment(listed, order_id=order.wc_id,
                                                                    product_ids=lookups.products.ids)

    return MirrorSpec(stream="shipments", entity="shipment", sos_resource="shipment", wc_resource="shipments",
                      model=SosShipment, desired=desired, skip=no_order, lookups=lookups,
                      number=lambda shipment: shipment.number, repairs_drift=True)


def count_itemless(counts: RunCounts, document: str, lines: list[Any]) -> None:
    """SOS-A23: a line whose item is null is not carried to WizCommerce (its lines need a
    product); the record is, and the run report says how many lines were left out."""
    itemless = sum(1 for line in lines if line.item is None)
    if itemless:
        counts.note(f"{document}_lines_without_item_skipped", itemless)


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
        else:  # (an unreadable one is quarantined by the customers stream)
            why = decision.failed.reason if decision.failed else decision.skipped
            found[int(decision.sos_id)] = Waiting(f"its customer {decision.sos_id} cannot be created in "
                                                  f"WizCommerce ({why})")
    return found


def orders_spec(deps: PullDeps) -> MirrorSpec[SosSalesOrder]:
    prefix, suffix = deps.order_number_prefix, deps.order_number_suffix

    def skip(order: SosSalesOrder, link: Link | None) -> str | Waiting | SosRecordError | None:
        if link is not None and link.origin == "wc":
            return "pushed-from-wc"  # R-ORD-7: never pulled back, nor its SOS edits bounced to WC
        if order.customer is None:  # SOS-A23: no WC order without a customer; kept until SOS names one
            return SosRecordError("salesorder", order.id, "customer", "null: an order without a customer "
                                  "cannot be mirrored", "SOS-A23", kind="unmirrorable")
        if link is None and is_pushed_order_number(order.number, prefix, suffix):
            return Waiting(f"number {order.number} is a pushed order's number but has no mapping yet: "
                           "waiting for the push to link it")
        return None

    def lookups(orders: list[SosSalesOrder], prepared: Prepared, counts: RunCounts) -> OrderLookups:
        customers = parent_customers(deps, {order.customer.id for order in orders}, prepared, counts)
        count_itemless(counts, "order", [line for order in orders for line in order.lines])
        return OrderLookups(customers, products_for(deps, [line.item.id for o in orders for line in o.item_lines],
                                                    counts))

    def desired(order: SosSalesOrder, lookups: OrderLookups, wc: dict | None, link: Link | None):
        if link is None and wc is not None and wc.get("source") != PULLED_ORDER_SOURCE:
            # A WC-placed order carrying this SOS id: the push created it and has not linked it yet.
            return Waiting(f"WC order {wc['id']} carries this SOS id but was not made by the pull: "
                           "waiting for the push to link it")
        customer = lookups.customers[order.customer.id]
        if isinstance(customer, Waiting):
            return customer
        customer_id = customer if isinstance(customer, str) else ""  # filled in by the parent write
        listed = order.model_copy(update={"lines": order.item_lines})  # SOS-A23: item-less lines left out
        return wc_order(listed, customer_id=customer_id, product_ids=lookups.products.ids)

    def parent(order: SosSalesOrder, lookups: OrderLookups) -> WcWrite | None:
        customer = lookups.customers.get(order.customer.id)
        return customer if isinstance(customer, WcWrite) else None

    return MirrorSpec(stream="orders", entity="order", sos_resource="salesorder", wc_resource="orders",
                      model=SosSalesOrder, desired=desired, skip=skip, lookups=lookups, parent=parent,
                      parent_field="customer_id", number=lambda order: order.number,
                      repairs_drift=True,  # SOS-origin orders only: their WC edits are not pushed
                      contract_rows=("SOS-A9",))  # orders carry linked* lists


# -- payments (R-PAY-2) --------------------------------------------------------------------

PAYMENT_ENDPOINT_MISSING = "payment_endpoint_missing"
PAYMENTS = "payments"


@dataclass(frozen=True)
class OrderPaid:
    """The WC order's paid amount and status, set (not added: a replay changes nothing) from
    what SOS says is paid on the order."""

    record_id: str          # the SOS order id
    wc_order_id: str
    body: dict[str, Any]    # the WC order fields that change
    changes_wc = True

    def apply(self, deps: PullDeps) -> None:
        update_wc(deps, "orders", self.wc_order_id, self.body)

    def event(self) -> dict[str, Any]:
        return {"entity": "order", "action": "pulled-payments", "wc_id": self.wc_order_id,
                "fields": sorted(self.body)}


def order_payment_writes(deps: PullDeps, orders: list[SosSalesOrder], counts: RunCounts,
                         paid_now: Mapping[int, float] | None = None) -> list[Write]:
    """One write per linked WC order whose paid amount or status SOS now sees otherwise. What its
    invoices say is paid is read from their WC copies (one call per 100, kept current from SOS's
    balances by the invoices stream), not from SOS one by one: SOS allows ~2 requests a second.
    `paid_now`: invoices whose new paid amount this page is about to write (SOS id → paid).
    An online payment we pushed (R-PAY-1, as the order's deposit) is already in WC's
    amount_paid: it compares equal and causes no write (not pulled back as something new)."""
    paid_now = paid_now or {}
    links = deps.mappings.by_sos_many("order", [str(order.id) for order in orders])
    linked = [order for order in orders if str(order.id) in links]
    current = wc_by_reference(deps, "orders", [str(order.id) for order in linked])
    wc_invoices = wc_by_reference(deps, "invoices", [str(ref.id) for order in linked for ref in order.linkedInvoices
                                                     if ref.id not in paid_now])
    writes: list[Write] = []
    for order in orders:
        counts.seen += 1
        link = links.get(str(order.id))
        if link is None:
            counts.skip("order-not-in-wizcommerce")  # the orders stream brings it; its payments come then
            continue
        invoice_ids = dict.fromkeys(ref.id for ref in order.linkedInvoices)
        paid = order_paid(order.depositAmount, [
            paid_now[i] if i in paid_now else float((wc_invoices.get(str(i)) or {}).get("paid_amount") or 0)
            for i in invoice_ids])
        wc = current.get(str(order.id)) or deps.wiz.get("orders", link.wc_id)
        changes = changed_fields(wc, wc_order_payment(wc.get("amount"), paid))
        if changes:
            writes.append(OrderPaid(str(order.id), link.wc_id, changes))
        else:
            counts.unchanged += 1
    return writes


def payments_stream(deps: PullDeps) -> Stream:
    """R-PAY-2: each WC order's paid amount and status from its SOS order's deposit and its
    invoices' balances (each WC invoice's own paid amount comes with the invoices stream). SOS
    documents no payment endpoint (SOS-A11): on the deposit route it is never probed; on the
    payment route it is, and where it answers 404 the run report says so (a gauge)."""

    def prepare_run() -> bool:
        """Whether /payment is missing where the route needs it."""
        deps.sos.require("SOS-A9")  # an order's paid amount comes through its linkedInvoices
        return deps.payment_route == "payment" and not deps.sos.payment_endpoint_available()

    def plan(endpoint_missing: bool, rows: list[dict[str, Any]], counts: RunCounts) -> list[Write]:
        if endpoint_missing:
            counts.gauges[PAYMENT_ENDPOINT_MISSING] = 1
        reading = read_rows(SosSalesOrder, rows, "salesorder")
        writes: list[Write] = []
        for problem in reading.problems:  # quarantined: the rest of the page goes on
            counts.seen += 1
            count_problem(counts, problem)
            writes += filter(None, [quarantine_write(problem, "order", PAYMENTS)])
        orders = [order for _, order in reading.records]
        held = set(deps.state.quarantined("order", PAYMENTS)) if reading.records or reading.gone else set()
        writes += [EndQuarantine(sos_id, "order", PAYMENTS, "read again")
                   for sos_id in [*(str(order.id) for order in orders), *reading.gone] if sos_id in held]
        return writes + order_payment_writes(deps, orders, counts)

    return Stream(name=PAYMENTS, resource="salesorder", incremental=True, prepare=prepare_run, plan=plan,
                  send=lambda prepared, write: write.apply(deps), entity="order",
                  event_details=lambda write: write.event(), is_change=lambda write: write.changes_wc,
                  pending=lambda: quarantined_rows(deps, "order", PAYMENTS, "salesorder"),
                  blocked=lambda: first_sync_missing(deps))


def invoices_stream(deps: PullDeps) -> Stream:
    """R-DOC-1 and R-PAY-2: the invoices, and for each whose paid amount changed, its order's
    paid amount too (a payment on an invoice need not touch the sales order in SOS, so the
    payments stream's window may not see it)."""
    spec = invoices_spec(deps)

    def plan(prepared: Prepared, rows: list[dict[str, Any]], counts: RunCounts, recheck: bool) -> list[Write]:
        writes = writes_of(decide(deps, spec, rows, prepared, counts, recheck=recheck), counts)
        # Invoices whose paid amount WC is about to learn: a new one with something paid, or an
        # update of its paid amount. Their orders are read from SOS (one read each, only when
        # money moved) for the deposit; the orders' other invoices come from WC.
        moved = {w.record_id for w in writes if isinstance(w, WcWrite)
                 and ((w.wc_id is None and w.body.get("paid_amount")) or "paid_amount" in w.body and w.wc_id)}
        invoices = [invoice for _, invoice in read_rows(SosInvoice, rows, "invoice").records
                    if str(invoice.id) in moved and invoice.sales_order]
        if invoices:
            paid_now = {invoice.id: counted_paid(invoice) for invoice in invoices}
            orders = read_rows(SosSalesOrder, [deps.sos.get("salesorder", order_id) for order_id in
                                               sorted({invoice.sales_order.id for invoice in invoices})], "salesorder")
            if orders.problems:  # the orders and payments pulls quarantine them; these invoices go on
                counts.note("order_payments_not_updated_unreadable_order", len(orders.problems))
            order_writes = order_payment_writes(deps, [order for _, order in orders.records], RunCounts(), paid_now)
            counts.note("order_payments_updated", len(order_writes))
            writes += order_writes
        return writes

    return declared_stream(deps, spec, plan)


def entity_streams(deps: PullDeps) -> list[Stream]:
    return [mirror_stream(deps, customers_spec()), mirror_stream(deps, orders_spec(deps)),
            invoices_stream(deps), mirror_stream(deps, shipments_spec(deps)), payments_stream(deps)]
