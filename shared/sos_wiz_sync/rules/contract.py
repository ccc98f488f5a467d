"""Which reading of each contract assumption this account follows (R-OPS-5): pure rules that
decide it from the answers of read-only calls, and what the code does under each reading.

The assumptions are the Assumptions index of ../shared/api/sos.md and wizcommerce.md. A rule
reads the answers it needs (by call label) and says one of three things:
- a known reading (settled);
- NEITHER: the answer fits no known reading (doctor is red naming the id and what was seen, and
  the stream that needs the row stops with that reason rather than guess);
- not settled (`reading` None): the account holds nothing that tells (e.g. no sales order yet);
  the safe default applies until a later probe settles it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..models.contract import NEITHER
from ..models.sos import LINK_SHAPE, SosRecordError, linked_transactions
from .sos_to_wc import PULLED_ORDER_SOURCE

UNKNOWN_SOS_ID = 2147483647  # SOS-A4: an id no account has
SENTINEL_REFERENCE = "sos-wiz-probe-no-such-reference"  # WC-A9: a reference_id no record has
SOS_NUMBER_MAX = 21  # SOS-A15
LINK_LISTS = ("linkedInvoices", "linkedShipments", "linkedPayments")  # SOS-A9


@dataclass(frozen=True)
class Answer:
    """What one call answered: its HTTP status and JSON body (None: empty or not JSON)."""

    status: int
    body: Any = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and isinstance(self.body, dict)

    @property
    def rows(self) -> list[dict[str, Any]]:
        data = self.body.get("data") if self.ok else None
        return [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []

    @property
    def total(self) -> int | None:
        """WizCommerce's `pagination.total_records`."""
        pagination = self.body.get("pagination") if self.ok else None
        total = pagination.get("total_records") if isinstance(pagination, dict) else None
        return total if isinstance(total, int) else None


Answers = Mapping[str, Answer]  # call label → answer


@dataclass(frozen=True)
class Reading:
    id: str
    reading: str | None  # a known reading, NEITHER, or None (not settled)
    evidence: str
    how: str = ""  # the calls that settled it

    @property
    def settled(self) -> bool:
        return self.reading is not None and self.reading != NEITHER

    @property
    def neither(self) -> bool:
        return self.reading == NEITHER


@dataclass(frozen=True)
class Row:
    settle: str  # "probe", "first use" or "never" (the index's settle column)
    default: str  # the safe default, what the code does until the row is settled
    effects: Mapping[str, str] = field(default_factory=dict)  # reading → what the code does under it
    how: str = ""  # probe rows: the calls


# -- SOS call labels ---------------------------------------------------------------------------
SOS_ITEMS = "GET /item?maxresults=200"  # a full page: kits are few
SOS_ITEM = "GET /item/{id}"  # of a listed item
SOS_UNKNOWN_ITEM = f"GET /item/{UNKNOWN_SOS_ID}"
SOS_ORDERS = "GET /salesorder?maxresults=50"
SOS_INVOICES = "GET /invoice?maxresults=5"
SOS_SHIPMENTS = "GET /shipment?maxresults=5"
SOS_PAYMENTS = "GET /payment?maxresults=1"
SOS_CUSTOMERS = "GET /customer?maxresults=20"
SOS_PAGE_SIZE = 5  # SOS-A5: pages 1 and 2 of /item, each read twice
SOS_PAGES = tuple(f"GET /item?maxresults={SOS_PAGE_SIZE}&start={start} (read {n})"
                  for n in (1, 2) for start in (1, SOS_PAGE_SIZE + 1))
# -- WizCommerce call labels -------------------------------------------------------------------
WC_PRODUCTS = "GET /v1/products?page_size=2"
WC_PRODUCTS_LAST = "GET /v1/products?page=<last>&page_size=2"
WC_PRODUCTS_SKUS = "GET /v1/products?sku_id=<sku1>,<sku2>"
WC_INVENTORIES = "GET /v1/inventories?page_size=1"
WC_ORDERS = "GET /v1/orders?order_status=confirmed&page_size=1"
WC_ORDER_OF_INVOICE = "GET /v1/orders/<invoice order_id>"
WC_CANCELLED = "GET /v1/orders?order_status=cancelled&page_size=1"
WC_CUSTOMERS = "GET /v1/customers?page_size=1"
WC_CUSTOMERS_ACTIVE = "GET /v1/customers?status=active&page_size=1"
WC_CUSTOMERS_INACTIVE = "GET /v1/customers?status=inactive&page_size=1"
WC_DOCUMENTS = ("products", "invoices", "shipments")  # WC-A9
WC_OUR_ORDER = "GET /v1/orders/<an order the pull created>"  # WC-A15


def wc_list(resource: str) -> str:
    return f"GET /v1/{resource}?page_size=2"


def wc_by_sentinel(resource: str) -> str:
    return f"GET /v1/{resource}?reference_ids={SENTINEL_REFERENCE}"


def wc_updated_after_now(resource: str) -> str:
    return f"GET /v1/{resource}?updated_after=<now>"


def _seen(answer: Answer | None) -> str:
    if answer is None:
        return "not asked"
    text = repr(answer.body)
    return f"HTTP {answer.status} {text[:160]}"


# -- the SOS rules ------------------------------------------------------------------------------
def sos_a2(answers: Answers) -> Reading:
    answer = answers.get(SOS_ITEM)
    if answer is None:
        return Reading("SOS-A2", None, "no item listed to read")
    if answer.ok and isinstance(answer.body.get("data"), dict) and "id" in answer.body["data"]:
        return Reading("SOS-A2", "wrapped", "GET /item/{id} answered {status, message, data:{id, …}}")
    if answer.ok and "id" in answer.body:
        return Reading("SOS-A2", "bare", "GET /item/{id} answered the record itself")
    return Reading("SOS-A2", NEITHER, f"GET /item/{{id}} answered {_seen(answer)}")


def sos_a4(answers: Answers) -> Reading:
    answer = answers.get(SOS_UNKNOWN_ITEM)
    if answer is None:
        return Reading("SOS-A4", None, "not asked")
    if answer.status == 404:
        return Reading("SOS-A4", "404", f"an unknown id answered 404")
    return Reading("SOS-A4", NEITHER, f"an unknown id answered {_seen(answer)}")


def _price_fields(rows: list[dict[str, Any]]) -> set[str]:
    return {name for row in rows for line in (row.get("lines") or []) if isinstance(line, dict)
            for name in ("unitPrice", "unitprice") if name in line}


def sos_a5(answers: Answers) -> Reading:
    """Pages 1 and 2 read twice: the same ids in the same order = stable; otherwise rows moved
    between reads. Either way the pager keeps anchor-overlap paging and dedupes by id."""
    pages = [answers.get(label) for label in SOS_PAGES]
    if any(page is None for page in pages):
        return Reading("SOS-A5", None, "not asked")
    odd = [label for label, page in zip(SOS_PAGES, pages) if not (page.ok and isinstance(page.body.get("data"), list))]
    if odd:
        return Reading("SOS-A5", NEITHER, f"{odd[0]} answered {_seen(answers[odd[0]])}")
    first, second = ([row.get("id") for page in pages[n:n + 2] for row in page.rows] for n in (0, 2))
    if len(first) <= SOS_PAGE_SIZE:
        return Reading("SOS-A5", None, f"fewer than {SOS_PAGE_SIZE + 1} items: no page 2 to compare")
    if first == second:
        return Reading("SOS-A5", "stable", f"pages 1-2 listed the same {len(first)} ids in the same order twice")
    return Reading("SOS-A5", "rows move", f"pages 1-2 read twice differ: {first} then {second}")


def sos_a7(answers: Answers) -> Reading:
    """The casing of the line price on sales orders (what we write) and invoices (read both)."""
    orders = answers.get(SOS_ORDERS)
    lines = [line for row in (orders.rows if orders else []) for line in (row.get("lines") or [])
             if isinstance(line, dict)]
    if not lines:
        return Reading("SOS-A7", None, "no sales order line to look at")
    seen = _price_fields(orders.rows)
    invoices = answers.get(SOS_INVOICES)
    on_invoices = _price_fields(invoices.rows) if invoices else set()
    also = f"; invoices: {', '.join(sorted(on_invoices)) or 'none seen'}"
    if len(seen) == 1:
        casing = seen.pop()
        return Reading("SOS-A7", casing, f"sales order lines carry {casing}{also}")
    if not seen:
        keys = sorted({key for line in lines for key in line})
        return Reading("SOS-A7", NEITHER, f"sales order lines carry no unitPrice/unitprice (keys: {keys})")
    return Reading("SOS-A7", NEITHER, f"sales order lines carry both {sorted(seen)}")


def sos_a9(answers: Answers) -> Reading:
    """Judged by the reader the code uses (models/sos.linked_transactions): one rule for both."""
    orders = answers.get(SOS_ORDERS)
    count = 0
    for row in orders.rows if orders else []:
        for name in LINK_LISTS:
            try:
                count += len(linked_transactions(row, name, "salesorder"))
            except SosRecordError as problem:
                return Reading("SOS-A9", NEITHER, f"sales order {row.get('id')}: {problem}")
    if not count:
        return Reading("SOS-A9", None, "no sales order with links among the last 50")
    return Reading("SOS-A9", "object", f"{count} linked* element(s), each read as {LINK_SHAPE}")


def sos_a10(answers: Answers) -> Reading:
    shipments = answers.get(SOS_SHIPMENTS)
    rows = shipments.rows if shipments else []
    if any(isinstance(row.get("linkedTransaction"), dict) and row["linkedTransaction"].get("id") for row in rows):
        return Reading("SOS-A10", "header", "a shipment's header linkedTransaction names its sales order")
    if any(isinstance(line.get("linkedTransaction"), dict) and line["linkedTransaction"].get("id")
           for row in rows for line in (row.get("lines") or []) if isinstance(line, dict)):
        return Reading("SOS-A10", "lines", "shipments name their sales order on lines[].linkedTransaction only")
    return Reading("SOS-A10", None, f"no shipment linked to a sales order among {len(rows)}")


def sos_a11(answers: Answers) -> Reading:
    answer = answers.get(SOS_PAYMENTS)
    if answer is None:
        return Reading("SOS-A11", None, "not probed: PaymentRoute is deposit")
    if answer.status == 404:
        return Reading("SOS-A11", "absent", "GET /payment answered 404")
    if answer.ok and isinstance(answer.body.get("data"), list):
        return Reading("SOS-A11", "present", "GET /payment answered a list")
    return Reading("SOS-A11", NEITHER, f"GET /payment answered {_seen(answer)}")


def sos_a15(answers: Answers) -> Reading:
    orders = answers.get(SOS_ORDERS)
    numbers = [str(row.get("number")) for row in (orders.rows if orders else []) if row.get("number")]
    longest = max(numbers, key=len, default="")
    if len(longest) > SOS_NUMBER_MAX:
        return Reading("SOS-A15", "longer numbers exist", f"order number {longest!r} has {len(longest)} characters")
    return Reading("SOS-A15", None, f"not disproved: the longest of {len(numbers)} order numbers has "
                                    f"{len(longest)} characters")


def sos_a17(answers: Answers) -> Reading:
    items = answers.get(SOS_ITEMS)
    types = {row.get("type") for row in (items.rows if items else [])}
    kits = types & {"Kit", "Item Group"}
    if len(kits) == 1:
        kit = kits.pop()
        return Reading("SOS-A17", kit, f"item types seen: {sorted(map(str, types))}")
    if kits:
        return Reading("SOS-A17", "both", f"item types seen: {sorted(map(str, types))}")
    return Reading("SOS-A17", None, f"no kit among the listed items (types: {sorted(map(str, types))})")


def sos_a21(answers: Answers) -> Reading:
    customers = answers.get(SOS_CUSTOMERS)
    shapes = set()
    for row in customers.rows if customers else []:
        for name in ("billing", "shipping"):
            address = row.get(name)
            if isinstance(address, dict):
                shapes.add("nested" if isinstance(address.get("address"), dict) else
                           "flat" if any(key in address for key in ("line1", "city", "postalCode", "country"))
                           else "other")
    if not shapes:
        return Reading("SOS-A21", None, "no customer with an address among the first 20")
    if len(shapes) == 1 and "other" not in shapes:
        shape = shapes.pop()
        return Reading("SOS-A21", shape, f"customer billing/shipping read {shape}")
    return Reading("SOS-A21", NEITHER, f"customer billing/shipping shapes seen: {sorted(shapes)}")


# -- the WizCommerce rules -------------------------------------------------------------------------
def wc_a1(answers: Answers) -> Reading:
    last = answers.get(WC_PRODUCTS_LAST)
    if last is None or not last.ok:
        return Reading("WC-A1", None, "no product list to page" if last is None else f"last page: {_seen(last)}")
    pagination = last.body.get("pagination") or {}
    nxt = pagination.get("next_page")
    if nxt in (None, 0, False, ""):
        return Reading("WC-A1", "empty", f"next_page on the last page is {nxt!r}")
    return Reading("WC-A1", "set", f"next_page on the last page is {nxt!r} (we stop at total_pages)")


INVENTORY_BODY = ("sku", "available_quantity", "reserved_quantity", "in_stock_quantity", "back_order_quantity",
                  "back_order_allowed", "out_of_stock_threshold", "inventory_status", "track_inventory",
                  "on_order_details", "in_transit_details", "dynamic_details", "notes")


def wc_a4(answers: Answers) -> Reading:
    answer = answers.get(WC_INVENTORIES)
    rows = answer.rows if answer else []
    if not rows:
        return Reading("WC-A4", None, "no inventory record to read")
    missing = [name for name in INVENTORY_BODY if name not in rows[0]]
    if not missing:
        return Reading("WC-A4", "full body", "an inventory read carries every body field")
    return Reading("WC-A4", "partial", f"an inventory read lacks {missing}: those are sent as last written")


def wc_a5(answers: Answers) -> Reading:
    rows = answers[wc_list("shipments")].rows if wc_list("shipments") in answers else []
    if not rows:
        return Reading("WC-A5", None, "no shipment to read")
    keys = set(rows[0])
    camel = sorted(key for key in keys if re.search(r"[a-z][A-Z]", key))
    if not camel:
        return Reading("WC-A5", "snake_case", f"shipment keys: {sorted(keys)[:8]}…")
    if not any("_" in key for key in keys):
        return Reading("WC-A5", "camelCase", f"shipment keys: {camel[:8]}")
    return Reading("WC-A5", NEITHER, f"shipment keys mix snake_case and camelCase: {camel[:8]}")


def wc_a9(answers: Answers) -> Reading:
    """Honoured when a reference_id nobody has lists 0 rows on each of products, invoices,
    shipments; ignored when it lists as many as no filter does."""
    honoured, ignored, unknown = [], [], []
    for resource in WC_DOCUMENTS:
        everything, filtered = answers.get(wc_list(resource)), answers.get(wc_by_sentinel(resource))
        total, by_ref = (everything.total if everything else None), (filtered.total if filtered else None)
        if filtered is not None and filtered.status == 400:
            ignored.append(f"{resource}: refused (400)")
        elif total is None or by_ref is None or total == 0:
            unknown.append(f"{resource}: {total} / {by_ref}")
        elif by_ref == 0:
            honoured.append(resource)
        elif by_ref == total:
            ignored.append(f"{resource}: {by_ref} of {total} listed")
        else:
            return Reading("WC-A9", NEITHER, f"{resource}: an unknown reference_id listed {by_ref} of {total}")
    if ignored:
        return Reading("WC-A9", "ignored", "; ".join(ignored))
    if unknown:
        return Reading("WC-A9", None, f"honoured on {honoured or 'none'}; cannot tell: {'; '.join(unknown)}")
    return Reading("WC-A9", "honoured", "an unknown reference_id lists 0 products, invoices and shipments")


def wc_a10(answers: Answers) -> Reading:
    answer = answers.get(WC_PRODUCTS_SKUS)
    products = answers.get(WC_PRODUCTS)
    skus = [row.get("sku") for row in (products.rows if products else []) if row.get("sku")]
    if answer is None or len(set(skus)) < 2:
        return Reading("WC-A10", None, "fewer than two products with a sku")
    if answer.status == 400:
        return Reading("WC-A10", "one per call", f"sku_id={','.join(skus[:2])} answered 400")
    found = {row.get("sku") for row in answer.rows}
    if answer.ok and set(skus[:2]) <= found and found <= set(skus[:2]):
        return Reading("WC-A10", "comma list", f"sku_id={','.join(skus[:2])} listed both")
    return Reading("WC-A10", NEITHER, f"sku_id={','.join(skus[:2])} answered {_seen(answer)}")


def wc_a11(answers: Answers) -> Reading:
    honoured, ignored = [], []
    for resource in ("invoices", "shipments"):
        answer = answers.get(wc_updated_after_now(resource))
        if answer is None or not answer.ok:
            return Reading("WC-A11", NEITHER if answer else None,
                           f"{resource}?updated_after=<now> answered {_seen(answer)}")
        (ignored if answer.rows else honoured).append(resource)
    if ignored:
        return Reading("WC-A11", "ignored", f"updated_after=<now> still lists {', '.join(ignored)}")
    return Reading("WC-A11", "honoured", "updated_after=<now> lists no invoice and no shipment")


def wc_a13(answers: Answers) -> Reading:
    answer = answers.get(WC_ORDERS)
    rows = answer.rows if answer else []
    if not rows:
        return Reading("WC-A13", None, "no confirmed order to read")
    order = rows[0]
    addresses = [a for a in (order.get("billing_address"), order.get("shipping_address")) if isinstance(a, dict)]
    carried = "discount_value" in order and all("type" in a for a in addresses)
    return Reading("WC-A13", "carried" if carried else "not carried",
                   f"discount_value {'present' if 'discount_value' in order else 'absent'}; address type "
                   f"{'present' if addresses and all('type' in a for a in addresses) else 'absent'}")


def wc_a14(answers: Answers) -> Reading:
    answer = answers.get(WC_ORDER_OF_INVOICE)
    if answer is None:
        return Reading("WC-A14", None, "no invoice with an order_id to resolve")
    if answer.ok:
        return Reading("WC-A14", "order id", "an invoice's order_id resolved by GET /orders/{id}")
    if answer.status == 404:
        return Reading("WC-A14", "reference", "an invoice's order_id is no order id (404): read as its reference")
    return Reading("WC-A14", NEITHER, f"GET /orders/<invoice order_id> answered {_seen(answer)}")


def wc_a15(answers: Answers) -> Reading:
    """An order the pull created (found through our mapping) read back: kept when it still shows
    our `source`, the SOS number as `display_id` and a confirmed (or since cancelled) status."""
    answer = answers.get(WC_OUR_ORDER)
    if answer is None:
        return Reading("WC-A15", None, "no order created by the pull among SOS's last 50 orders")
    record = answer.body.get("data") if answer.ok else None
    if not isinstance(record, dict):
        return Reading("WC-A15", None, f"the order we created could not be read: {_seen(answer)}")
    orders = answers.get(SOS_ORDERS)
    number = next((str(row.get("number")) for row in (orders.rows if orders else [])
                   if str(row.get("id")) == str(record.get("reference_id"))), None)
    lost = [name for name, ok in (("source", record.get("source") == PULLED_ORDER_SOURCE),
                                  ("display_id", number is not None and record.get("display_id") == number),
                                  ("status", record.get("status") in ("confirmed", "cancelled"))) if not ok]
    if not lost:
        return Reading("WC-A15", "kept", f"order {record.get('id')} reads source {record.get('source')!r}, "
                                         f"display_id {record.get('display_id')!r}, status {record.get('status')!r}")
    return Reading("WC-A15", "not kept", f"order {record.get('id')} we created reads "
                   + ", ".join(f"{name} {record.get(name)!r}" for name in lost))


def wc_a16(answers: Answers) -> Reading:
    plain, active, inactive = (answers.get(WC_CUSTOMERS), answers.get(WC_CUSTOMERS_ACTIVE),
                               answers.get(WC_CUSTOMERS_INACTIVE))
    totals = [a.total if a else None for a in (plain, active, inactive)]
    if None in totals:
        return Reading("WC-A16", None, f"customer totals (none/active/inactive): {totals}")
    without, on, off = totals
    if off == 0:
        return Reading("WC-A16", None, "no inactive customer: cannot tell")
    if without == on:
        return Reading("WC-A16", "active only", f"without status {without} = active {on} (inactive {off})")
    if without == on + off:
        return Reading("WC-A16", "all", f"without status {without} = active {on} + inactive {off}")
    return Reading("WC-A16", NEITHER, f"without status {without}, active {on}, inactive {off}")


def wc_a19(answers: Answers) -> Reading:
    answer = answers.get(WC_CANCELLED)
    if answer is None:
        return Reading("WC-A19", None, "not asked")
    if not answer.ok:
        return Reading("WC-A19", NEITHER, f"order_status=cancelled answered {_seen(answer)}")
    if not answer.rows:
        return Reading("WC-A19", None, "no cancelled order listed yet")
    row = answer.rows[0]  # an order read carries `status`; `order_status` is only the list's filter
    if row.get("status") == "cancelled":
        return Reading("WC-A19", "listed", "a cancelled order is listed with order_status=cancelled")
    return Reading("WC-A19", NEITHER, f"order_status=cancelled listed an order of status {row.get('status')!r}")


RULES: dict[str, Callable[[Answers], Reading]] = {
    "SOS-A2": sos_a2, "SOS-A4": sos_a4, "SOS-A5": sos_a5, "SOS-A7": sos_a7, "SOS-A9": sos_a9, "SOS-A10": sos_a10,
    "SOS-A11": sos_a11,
    "SOS-A15": sos_a15, "SOS-A17": sos_a17, "SOS-A21": sos_a21,
    "WC-A1": wc_a1, "WC-A4": wc_a4, "WC-A5": wc_a5, "WC-A9": wc_a9, "WC-A10": wc_a10, "WC-A11": wc_a11,
    "WC-A13": wc_a13, "WC-A14": wc_a14, "WC-A15": wc_a15, "WC-A16": wc_a16, "WC-A19": wc_a19,
}


def decide(answers: Answers) -> list[Reading]:
    """Every probe row's reading from the probe's answers."""
    return [Reading(row_id, r.reading, r.evidence, ROWS[row_id].how)
            for row_id, rule in RULES.items() for r in [rule(answers)]]


# The Assumptions index: settle kind, safe default, and per known reading what the code does.
ROWS: dict[str, Row] = {
    "SOS-A1": Row("first use", "store the new pair before using it; one refresher",
                  {"rotating": "each refresh's new refresh token is stored before use",
                   "not rotating": "the refresh token is kept (no new one answered)"}),
    "SOS-A2": Row("probe", "accept both; a record is recognised by its id",
                  {"wrapped": "records read from data", "bare": "records read as answered"}, SOS_ITEM),
    "SOS-A3": Row("never", "one SOS budget per deployment, shared by every function"),
    "SOS-A4": Row("probe", "404 = absent; anything else is an error",
                  {"404": "404 read as absent"}, SOS_UNKNOWN_ITEM),
    "SOS-A5": Row("probe", "anchor-overlap paging, dedupe by id",
                  {"stable": "anchor-overlap paging and dedupe by id kept all the same (order may change later)",
                   "rows move": "anchor-overlap paging, dedupe by id (rows moved between two reads)"},
                  ", ".join(SOS_PAGES)),
    "SOS-A6": Row("never", "full inventory pass every run"),
    "SOS-A7": Row("probe", "read both; new orders written with SosLinePriceField (unitPrice)",
                  {"unitPrice": "new SOS orders written with unitPrice", "unitprice": "new SOS orders written with "
                   "unitprice"}, f"{SOS_ORDERS}, {SOS_INVOICES}"),
    "SOS-A8": Row("first use", "PUT used for edits, deposits, cancellations; a refusal is parked",
                  {"exists": "orders edited by PUT", "refused": "PUT refused: edits are parked with the call named"}),
    "SOS-A9": Row("probe", "read {id, transactionType}; any other shape is a loud failure",
                  {"object": "documents found through the order's links"}, SOS_ORDERS),
    "SOS-A10": Row("probe", "header link, then lines",
                   {"header": "shipments matched by their header link", "lines": "shipments matched by their lines' "
                    "links"}, SOS_SHIPMENTS),
    "SOS-A11": Row("probe", "deposit route; /payment probed only on the payment route",
                   {"present": "payments written to /payment", "absent": "payment route has no /payment: the "
                    "payments stream reports it"}, SOS_PAYMENTS),
    "SOS-A12": Row("first use", "send the GET record back",
                   {"ignored": "records PUT back as read (read-only fields ignored by SOS)",
                    "refused": "SOS refuses read-only fields sent back: such edits are parked with SOS's answer"}),
    "SOS-A13": Row("never", "look up by number before re-creating; never repeat a POST blindly"),
    "SOS-A14": Row("first use", "strict JSON; 400 otherwise",
                   {"JSON": "hook bodies read as JSON objects; the item re-read from SOS"}),
    "SOS-A15": Row("probe", "numbers we create fitted to 21; no length enforced on read",
                   {"longer numbers exist": "the 21-character limit is disproved; numbers still fitted to 21"},
                   SOS_ORDERS),
    "SOS-A16": Row("first use", "updatedsince in SosTimezone with an overlap window",
                   {"SosTimezone": "updatedsince read in SosTimezone, windows a margin early",
                    "later than meant": "SOS reads updatedsince later than meant: changes may be missed; set "
                    "SosTimezone to the account's zone (or widen SosUpdatedsinceOverlapSeconds past the gap)"}),
    "SOS-A17": Row("probe", "kits read as Kit or Item Group",
                   {"Kit": "kits read as Kit", "Item Group": "kits read as Item Group", "both": "both read"},
                   SOS_ITEMS),
    "SOS-A18": Row("never", "throttle text anywhere = throttle; no status/data/id is not a success"),
    "SOS-A19": Row("first use", "deposit route; read back after writing",
                   {"writable": "payments written as the order's depositAmount",
                    "ignored": "SOS ignores depositAmount: deposit pushes are parked (set PaymentRoute=payment)"}),
    "SOS-A20": Row("first use", "accept JSON or an empty 2xx",
                   {"JSON": "DELETE /hook answered JSON", "empty": "DELETE /hook answered an empty 2xx"}),
    "SOS-A21": Row("probe", "accept flat and nested",
                   {"flat": "customer addresses read flat", "nested": "customer addresses read nested"},
                   SOS_CUSTOMERS),
    "SOS-A22": Row("first use", "cancelled lines written with quantity 0; a refusal is parked",
                   {"accepted": "cancellations written as lines at quantity 0",
                    "refused": "SOS refuses lines at 0: cancellations are parked, cancel them in SOS by hand"}),
    "SOS-A23": Row("never", "a null ref keeps the record; never stops a page"),
    "WC-A1": Row("probe", "stop at current_page >= total_pages or an empty page",
                 {"empty": "paging stops at total_pages", "set": "paging stops at total_pages (next_page ignored)"},
                 WC_PRODUCTS_LAST),
    "WC-A2": Row("never", "no blind POST retry; look up by reference_ids first"),
    "WC-A3": Row("never", "backoff; honour Retry-After; bounded concurrency"),
    "WC-A4": Row("probe", "send every inventory field, notes/dynamic_details as read",
                 {"full body": "every field sent as read", "partial": "every field sent; unread ones as last "
                  "written"}, WC_INVENTORIES),
    "WC-A5": Row("probe", "shipments read snake_case",
                 {"snake_case": "shipments read snake_case",
                  "camelCase": "shipments are read snake_case only: the shipments stream fails naming the fields"},
                 wc_list("shipments")),
    "WC-A6": Row("first use", "custom header or HMAC (hex or base64)",
                 {"custom header": "webhooks verified by the custom header", "HMAC hex": "webhooks verified by "
                  "their hex HMAC-SHA256", "HMAC base64": "webhooks verified by their base64 HMAC-SHA256"}),
    "WC-A7": Row("first use", "customer.address.* answered 200 and noted; the minute poll catches the change",
                 {"delivered": "customer.address.* events arrive under these names: noted (they name no "
                  "customer), the minute customer poll catches the change"}),
    "WC-A8": Row("never", "one-minute poll of confirmed and cancelled orders"),
    "WC-A9": Row("probe", "look up by reference_ids; if ignored, a full map",
                 {"honoured": "lookups by reference_ids", "ignored": "a full map per run (its cost in the run "
                  "report)"}, ", ".join(f"{wc_list(r)} + {wc_by_sentinel(r)}" for r in WC_DOCUMENTS)),
    "WC-A10": Row("probe", "a comma list; one call per SKU after a 400",
                  {"comma list": "SKUs asked for in comma lists", "one per call": "one call per SKU"},
                  WC_PRODUCTS_SKUS),
    "WC-A11": Row("probe", "updated_after used; if ignored, the run fails naming the filter",
                  {"honoured": "invoices and shipments read incrementally", "ignored": "the run fails naming the "
                   "filter"}, ", ".join(wc_updated_after_now(r) for r in ("invoices", "shipments"))),
    "WC-A12": Row("never", "whole seconds YYYY-MM-DDTHH:MM:SSZ, window start floored"),
    "WC-A13": Row("probe", "never depend on an undocumented order field",
                  {"carried": "not compared all the same", "not carried": "not compared"}, WC_ORDERS),
    "WC-A14": Row("probe", "resolve invoice order_id both ways, loud when neither resolves",
                  {"order id": "order_id resolved as the order id first", "reference": "order_id resolved as its "
                   "reference"}, WC_ORDER_OF_INVOICE),
    "WC-A15": Row("probe", "our orders recognised by our mapping, not by source",
                  {"kept": "our orders recognised by our mapping (source and display_id kept as well)",
                   "not kept": "our orders recognised by our mapping only"}, WC_OUR_ORDER),
    "WC-A16": Row("probe", "every lookup reads each status it needs",
                  {"active only": "each customer status asked for", "all": "customers listed in one pass "
                   "without status (it shows every status)"},
                  f"{WC_CUSTOMERS}, {WC_CUSTOMERS_ACTIVE}, {WC_CUSTOMERS_INACTIVE}"),
    "WC-A17": Row("first use", "write only documented customer fields",
                  {"accepted": "documented customer fields written and read back as sent",
                   "not kept": "a documented customer field did not read back as written: compared like with "
                   "like, the difference is drift"}),
    "WC-A18": Row("first use", "only PAID written as payment_status",
                  {"accepted": "payment_status PAID written on orders paid in full",
                   "refused": "PUT refused payment_status PAID: order payments are parked with the reason",
                   "not kept": "payment_status PAID written but not read back"}),
    "WC-A19": Row("probe", "poll confirmed and cancelled orders",
                  {"listed": "cancelled orders polled by order_status=cancelled"}, WC_CANCELLED),
}


# WC-A6: the form the webhook ingress verified a delivery by (on the push message) → its reading.
WEBHOOK_AUTH_READINGS = {"header": "custom header", "hmac-hex": "HMAC hex", "hmac-base64": "HMAC base64"}


def effect(row_id: str, reading: str | None) -> str:
    row = ROWS[row_id]
    if reading == NEITHER:
        return "the streams that need it stop with this reason"
    return row.effects.get(reading or "", f"safe default: {row.default}")
