"""The contract probe (R-OPS-5): the read-only calls that settle every *probe* row of the
Assumptions index, at most SOS_CALL_BUDGET SOS and WC_CALL_BUDGET WizCommerce calls for all rows
together (one answer serves several rows), the readings stored, and the table `doctor --contract`
prints. The rules that read the answers are rules/contract.py. In sync/: `doctor` runs it, and so
does the first sync, on its own, before it writes anything (`probe_before_first_sync`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from ..clients.http import ApiError
from ..clients.sos import ANY, RECORD, SosClient
from ..clients.wiz import WizClient, wc_time
from ..rules import contract as rules
from ..rules.contract import Answer, Reading
from ..store.contract import ContractReadings
from ..store.mappings import Mappings

SOS_CALL_BUDGET = 20
WC_CALL_BUDGET = 20

log = logging.getLogger(__name__)


def _answer(call: Callable[[], dict[str, Any]]) -> Answer:
    """A call's answer as data: an error answer is evidence for a rule (a 404, a 400), except a
    throttle or 5xx, which says nothing about the contract and is raised."""
    try:
        return Answer(200, call())
    except ApiError as exc:
        status = getattr(exc, "http_status", exc.status)
        # by the HTTP status: a 2xx SOS answer that is no success (SosError's 502) is evidence too (SOS-A4)
        if status == 429 or status >= 500 or getattr(exc, "throttled", False):
            raise
        return Answer(status, exc.body if isinstance(exc.body, dict) else None)


def sos_answers(sos: SosClient, *, payment_route: str) -> dict[str, Answer]:
    def get(path: str, expect: str = ANY, **params: Any) -> Answer:
        return _answer(lambda: sos.request("GET", path, params=params or None, expect=expect))

    answers = {rules.SOS_ITEMS: get("/item", maxresults=200)}
    for label, start in zip(rules.SOS_PAGES, (1, rules.SOS_PAGE_SIZE + 1) * 2):  # SOS-A5, in read order
        answers[label] = get("/item", maxresults=rules.SOS_PAGE_SIZE, start=start)
    listed = [row["id"] for row in answers[rules.SOS_ITEMS].rows if row.get("id") is not None]
    if listed:
        answers[rules.SOS_ITEM] = get(f"/item/{listed[0]}", RECORD)
    answers[rules.SOS_UNKNOWN_ITEM] = get(f"/item/{rules.UNKNOWN_SOS_ID}", RECORD)
    answers[rules.SOS_ORDERS] = get("/salesorder", maxresults=50)
    answers[rules.SOS_INVOICES] = get("/invoice", maxresults=5)
    answers[rules.SOS_SHIPMENTS] = get("/shipment", maxresults=5)
    if payment_route == "payment":  # SOS-A11: never probed on the deposit route
        answers[rules.SOS_PAYMENTS] = get("/payment", maxresults=1)
    answers[rules.SOS_CUSTOMERS] = get("/customer", maxresults=20)
    return answers


def _not_before_newest(now: datetime, listed: Answer) -> datetime:
    """WC-A11's `<now>`: our clock, or past the newest listed row's `updated_at` (rounded up to
    the second) where WizCommerce's clock is ahead of ours, so that an honoured filter lists none."""
    stamps = [row.get("updated_at") for row in listed.rows if isinstance(row.get("updated_at"), str)]
    newest = []
    for stamp in stamps:
        try:
            newest.append(datetime.fromisoformat(stamp.replace("Z", "+00:00")))
        except ValueError:
            continue
    latest = max((moment for moment in newest if moment.tzinfo is not None), default=None)
    if latest is None:
        return now
    return max(now, latest.replace(microsecond=0) + timedelta(seconds=1))


def wiz_answers(wiz: WizClient, now: datetime) -> dict[str, Answer]:
    def get(path: str, **params: Any) -> Answer:
        return _answer(lambda: wiz.request("GET", f"/v1/{path}", params=params))

    answers = {rules.WC_PRODUCTS: get("products", page=1, page_size=2)}
    products = answers[rules.WC_PRODUCTS]
    pages = (products.body.get("pagination") or {}).get("total_pages") if products.ok else None
    if isinstance(pages, int) and pages > 1:
        answers[rules.WC_PRODUCTS_LAST] = get("products", page=pages, page_size=2)
    elif products.ok:
        answers[rules.WC_PRODUCTS_LAST] = products  # one page: it is the last
    skus = [row["sku"] for row in products.rows if row.get("sku")]
    if len(set(skus)) >= 2:
        answers[rules.WC_PRODUCTS_SKUS] = get("products", sku_id=",".join(skus[:2]))
    answers[rules.wc_list("products")] = products
    answers[rules.wc_by_sentinel("products")] = get("products", reference_ids=rules.SENTINEL_REFERENCE)
    for resource in ("invoices", "shipments"):
        answers[rules.wc_list(resource)] = get(resource, page=1, page_size=2)
        answers[rules.wc_by_sentinel(resource)] = get(resource, reference_ids=rules.SENTINEL_REFERENCE)
        after = _not_before_newest(now, answers[rules.wc_list(resource)])
        answers[rules.wc_updated_after_now(resource)] = get(resource, updated_after=wc_time(after))
    order_ids = [row["order_id"] for row in answers[rules.wc_list("invoices")].rows if row.get("order_id")]
    if order_ids:
        answers[rules.WC_ORDER_OF_INVOICE] = get(f"orders/{order_ids[0]}")
    answers[rules.WC_INVENTORIES] = get("inventories", page_size=1)
    answers[rules.WC_ORDERS] = get("orders", order_status="confirmed", page_size=1)
    answers[rules.WC_CANCELLED] = get("orders", order_status="cancelled", page_size=1)
    answers[rules.WC_CUSTOMERS] = get("customers", page_size=1)
    answers[rules.WC_CUSTOMERS_ACTIVE] = get("customers", status="active", page_size=1)
    answers[rules.WC_CUSTOMERS_INACTIVE] = get("customers", status="inactive", page_size=1)
    return answers


def our_order_answer(wiz: WizClient, mappings: Mappings, sos_orders: Answer) -> dict[str, Answer]:
    """WC-A15: one order the pull created (mapped with origin sos) among SOS's listed orders,
    read back; none such: not asked."""
    links = mappings.by_sos_many("order", [str(row["id"]) for row in sos_orders.rows if row.get("id") is not None])
    ours = max((link for link in links.values() if link.origin == "sos"), key=lambda link: link.updated_at or "",
               default=None)  # the latest: it shows what the account does now
    return {rules.WC_OUR_ORDER: _answer(lambda: wiz.request("GET", f"/v1/orders/{ours.wc_id}"))} if ours else {}


def run_probe(sos: SosClient, wiz: WizClient, store: ContractReadings, *, payment_route: str,
              now: datetime | None = None, mappings: Mappings | None = None) -> list[Reading]:
    """Probe both APIs and store every row the answers settle, and every answer that fits
    neither reading; a row the account cannot tell yet keeps what was stored before. With the
    mappings, an order the pull created is read back (WC-A15)."""
    answers = {**sos_answers(sos, payment_route=payment_route),
               **wiz_answers(wiz, now or datetime.now(timezone.utc))}
    if mappings is not None:
        answers.update(our_order_answer(wiz, mappings, answers[rules.SOS_ORDERS]))
    readings = rules.decide(answers)
    for reading in readings:
        if reading.reading is not None:
            store.save(reading.id, reading=reading.reading, how=reading.how, evidence=reading.evidence)
    return readings


def probe_before_first_sync(sos: SosClient, wiz: WizClient, store: ContractReadings, *,
                            payment_route: str) -> dict[str, Any]:
    """The probe as the first sync runs it, before it writes anything; its result for the run
    report: the rows settled, those fitting neither reading (stored as such: the streams that need
    them stop with the reason, the others run), those the account cannot tell yet, and its SOS
    and WizCommerce calls. A throttle, 5xx or network failure says nothing about the contract and
    does not fail the first sync: logged, every row stays as stored (the safe default until
    settled by doctor or a later first sync)."""
    sos_before, wiz_before = sos.calls.count, wiz.calls.count
    try:
        readings = run_probe(sos, wiz, store, payment_route=payment_route)
    except (ApiError, requests.RequestException) as exc:
        log.warning("contract probe not finished (%s); the rows stay as stored: safe defaults", exc)
        result: dict[str, Any] = {"status": "not finished", "reason": f"{type(exc).__name__}: {exc}"[:300]}
    else:
        neither = {r.id: r.evidence for r in readings if r.neither}
        result = {"status": "neither" if neither else "ok", "settled": [r.id for r in readings if r.settled],
                  "neither": neither, "not_settled": [r.id for r in readings if r.reading is None]}
    return {**result, "sos_calls": sos.calls.count - sos_before, "wc_calls": wiz.calls.count - wiz_before}


def contract_table(stored: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """One line per assumption id: the stored reading, or the safe default (`settled` false)."""
    lines = []
    for row_id, row in rules.ROWS.items():
        found = stored.get(row_id) or {}
        reading = found.get("reading")
        settled = reading is not None and reading != rules.NEITHER
        lines.append({
            "id": row_id, "reading": reading or ("never settled" if row.settle == "never" else
                                                 "not seen yet" if row.settle == "first use" else "not settled"),
            "settled": settled, "neither": reading == rules.NEITHER, "settle": row.settle,
            "how": found.get("how") or row.how or row.settle, "at": found.get("at"),
            "evidence": found.get("evidence"), "effect": rules.effect(row_id, reading)})
    return {"readings": lines}
