"""SosClient: the SOS Inventory API v2 as described in ../shared/api/sos.md.

SOS sends no modification time and pages by a 1-based row number (`start`) over a row order
it does not document, so:
- change detection uses `updatedsince` windows (`ChangeWindow`) that start a margin before the
  previous run started, in the account's zone (a template parameter: SOS does not document it);
- a list is read by `OffsetCursor` pages that overlap the previous page by one row (the anchor).
  When the anchor is not where it was, rows moved under us: the pager steps back until it finds
  a row it read, so a row that slid into the part already read is read again, never skipped.
  Re-read rows are dropped by id within an invocation; the syncToken stored with each mapping
  makes a row read in two invocations apply once;
- every answer's `status` is checked: SOS reports errors and throttling with HTTP 200 too, and
  an answer is a success only when it is recognisably one (SOS-A18): a list answer carries a
  `data` list, a record an `id`; a body with none of `status`, `data`, `id` is an error.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import requests

from ..models.sos import (
    KIT_TYPES,
    SosCustomer,
    SosHook,
    SosInvoice,
    SosItem,
    SosPayment,
    SosSalesOrder,
    SosShipment,
    linked_transactions,
    read_record,
)
from ..models.contract import ContractStop, neither_stop, settled_choice
from ..store.contract import FirstUse, ignore_first_use
from .http import ApiError, CallCounter, Pacer
from .sos_auth import SosTokenManager

log = logging.getLogger(__name__)

PAGE_SIZE = 200  # SOS's maximum `maxresults`
ANCHORS_KEPT = 20  # ids of a page's tail kept to find our place again when rows move
STALLED_PAGES_MAX = 3  # step-back pages in a row that get no further before a read gives up
THROTTLE_TEXT = "throttle limit exceeded"
THROTTLE_MESSAGE = "Throttle limit exceeded"
# What an answer must be to count as a success (SOS-A18), by what the call reads:
LIST = "list"      # an envelope with a `data` list
RECORD = "record"  # one record with an `id`, in `data` or bare (SOS-A2)
ANY = "any"        # an ok envelope or a record
DONE = "done"      # as ANY, or an empty 2xx (SOS-A20: DELETE /hook/{id})
ERROR_STATUSES = frozenset({"error", "invalid", "failed"})
UNRECOGNISED = "unrecognised"  # the `sos_status` of a 2xx answer that is not recognisably a success
STALE_TEXTS = ("modified by someone else", "id of posted object is incorrect")
WRITE_RETRIES = 3  # stale syncToken: re-read and write again this many times at most


class SosError(ApiError):
    """SOS said no: HTTP error or a non-ok `status` (SOS answers errors with HTTP 200 too)."""

    def __init__(self, method: str, path: str, http_status: int, status: str, message: str, body: object = None):
        # An error inside an HTTP 200 keeps a 4xx/5xx-like code for callers that branch on it.
        code = http_status if http_status >= 400 else (400 if status == "invalid" else 502)
        super().__init__("SOS", method, path, code, f"[{status}] {message}", body)
        self.http_status = http_status
        self.sos_status = status
        self.throttled = THROTTLE_TEXT in message.lower() or http_status == 429

    @property
    def transient(self) -> bool:
        return self.throttled or self.status >= 500

    @property
    def stale(self) -> bool:
        return self.sos_status == "invalid" and any(text in self.message.lower() for text in STALE_TEXTS)


@dataclass(frozen=True)
class ChangeWindow:
    """How `updatedsince` is derived from the previous run's start: a margin earlier, written
    as SOS reads it (local time in the account's zone, whole seconds, no suffix)."""

    zone: str = "UTC"
    overlap_seconds: int = 300

    def since(self, previous_start_utc: str) -> str:
        start = datetime.fromisoformat(previous_start_utc)
        if start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        local = (start - timedelta(seconds=self.overlap_seconds)).astimezone(ZoneInfo(self.zone))
        return local.replace(tzinfo=None, microsecond=0).isoformat(timespec="seconds")


@dataclass(frozen=True)
class OffsetCursor:
    """Where a list read stands: `start` is the 1-based row the next page begins at, `anchors`
    the ids of the last rows handled (newest last), `since` the run's `updatedsince` (None:
    everything). Saved in checkpoints, so a killed run resumes here."""

    start: int = 1
    anchors: tuple[int, ...] = ()
    since: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "anchors": list(self.anchors), "since": self.since}

    @classmethod
    def from_dict(cls, value: dict[str, Any] | None) -> OffsetCursor:
        if not value:
            return cls()
        return cls(int(value.get("start") or 1), tuple(value.get("anchors") or ()), value.get("since"))


@dataclass(frozen=True)
class SosPage:
    rows: list[dict[str, Any]]  # rows not handled before on this cursor (may repeat after a step back)
    cursor: OffsetCursor        # position after this page
    last: bool
    total: int | None = None    # SOS's totalCount: rows matching the request
    reads: int = 1              # requests this page took (more than one when rows moved)
    moved: bool = False         # rows moved under us and the pager stepped back
    read_at: int | None = None  # when the request its rows came from was sent (`read_clock`)


@dataclass
class Backoff:
    """Exponential backoff with jitter for SOS's throttle and errors (no Retry-After exists)."""

    attempts: int = 6
    base_seconds: float = 0.5
    max_seconds: float = 30.0
    sleep: Any = field(default=time.sleep, repr=False)

    def delay(self, attempt: int) -> float:
        return min(self.max_seconds, self.base_seconds * 2 ** attempt) * (0.5 + random.random() / 2)


def read_clock() -> int:
    """Now, in microseconds since the epoch: when a read was sent, so that of two inventory
    writes the one based on the older read never overwrites the newer (sync/inventory.py)."""
    return time.time_ns() // 1000


class SosClient:
    def __init__(self, *, base_url: str, tokens: SosTokenManager, session: requests.Session,
                 pacer: Pacer | None = None, timeout: float = 20.0, calls: CallCounter | None = None,
                 window: ChangeWindow | None = None, backoff: Backoff | None = None,
                 first_use: FirstUse = ignore_first_use):
        self._base = base_url.rstrip("/")
        self._tokens = tokens
        self._session = session
        self._pacer = pacer or Pacer(0)
        self._timeout = timeout
        self.calls = calls or CallCounter()
        self.window = window or ChangeWindow()
        self.backoff = backoff or Backoff()
        self._payment_endpoint: bool | None = None
        self._payment_endpoint_stop: ContractStop | None = None  # SOS-A11's stored reading fits neither
        self._kit_types: frozenset[str] | ContractStop = KIT_TYPES  # SOS-A17: both until settled
        self._stops: dict[str, ContractStop] = {}  # SOS-A4, SOS-A9: stored readings that fit neither
        self._zone_recorded = False  # SOS-A16 recorded (stored, or by this client), or being checked
        self._once = threading.Lock()  # the checks made once per client, not once per thread (the push's groups)
        self.first_use = first_use  # first-use rows (SOS-A8, SOS-A20) recorded the first time they show
        # per thread: when its last request went out; a page's rows show SOS as it was then or later
        self._sent = threading.local()
        self._throttle_deadline: float | None = None  # see waiting_out_throttles

    @contextmanager
    def waiting_out_throttles(self, until: float) -> Iterator[None]:
        """Inside, a throttled request (SOS-A3/A18: the account's limit) is asked again past
        `backoff.attempts`, until `until` (epoch seconds): a pull waits its turn rather than
        failing its run; past it, the throttle is raised and the engine continues later."""
        self._throttle_deadline = until
        try:
            yield
        finally:
            self._throttle_deadline = None

    # -- transport -------------------------------------------------------------------------
    def _send(self, method: str, path: str, token: str, params: dict | None, body: Any) -> requests.Response:
        self._pacer.wait()
        self.calls.add()
        self._sent.at = read_clock()
        return self._session.request(method, f"{self._base}{path}", params=params, json=body,
                                     headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                                     timeout=self._timeout)

    def _answer(self, method: str, path: str, params: dict | None, body: Any, expect: str) -> dict[str, Any]:
        """One call: 401 → refresh once; a throttle, an error or an answer that is not
        recognisably what `expect` says raises SosError; an empty 2xx (DONE only) reads `{}`."""
        token = self._tokens.access_token()
        response = self._send(method, path, token, params, body)
        if response.status_code == 401:  # expired token: refresh once, then the call once more
            response = self._send(method, path, self._tokens.refresh(token), params, body)
        text = response.text
        try:
            payload = response.json() if text.strip() else None
        except ValueError:
            payload = None
        status = str(payload.get("status") or "").lower() if isinstance(payload, dict) else ""
        if response.status_code == 429 or _throttled(payload, text):
            # SOS-A18: 429, or HTTP 200 with the throttle text, with or without a `status`
            raise SosError(method, path, response.status_code, status or "throttled",
                           f"{THROTTLE_MESSAGE} ({text[:200]})", payload if payload is not None else text)
        if response.status_code >= 400:
            if not isinstance(payload, dict):
                raise SosError(method, path, response.status_code, "error", text[:200] or response.reason, text)
            raise SosError(method, path, response.status_code, status or "error", _message(payload, response), payload)
        if payload is None and not text.strip() and expect == DONE:
            return {}  # SOS-A20: an empty 2xx
        if not isinstance(payload, dict):
            raise SosError(method, path, response.status_code, UNRECOGNISED,
                           f"answer is not a JSON object, so not a success (SOS-A18): {text[:200]!r}",
                           text)
        shape = _shape(payload)
        if shape == "error":
            raise SosError(method, path, response.status_code, status, _message(payload, response), payload)
        problem = _unlike(shape, payload, expect)
        if problem:
            raise SosError(method, path, response.status_code, UNRECOGNISED,
                           f"{problem}, so not a success: {text[:200]}", payload)
        return payload

    def request(self, method: str, path: str, *, params: dict | None = None, body: Any = None,
                expect: str = ANY) -> dict[str, Any]:
        """A call with SOS's errors handled. HTTP 429 and 5xx are retried by the session
        (urllib3 Retry: backoff with jitter; POST only on 429). What urllib3 cannot see is
        retried here with the same kind of backoff: a throttle answered with HTTP 200 in any
        form (any method: nothing was applied), and a read answered HTTP 200 with status
        error/failed or with a body that is not recognisably what it asked for (`expect`).
        Then the error is raised, never returned as data."""
        attempt = 0
        while True:
            try:
                return self._answer(method, path, params, body, expect)
            except SosError as exc:
                if exc.throttled:  # the account's limit (SOS-A3): lower the deployment's rate
                    self._pacer.throttled()
                delay = self.backoff.delay(attempt)
                deadline = self._throttle_deadline
                # a throttle is a refusal (nothing applied): waited out whatever the method or form
                patient = exc.throttled and deadline is not None and time.time() + delay < deadline
                retry = patient or exc.http_status < 400 and (
                    exc.throttled or (method == "GET" and exc.sos_status in ("error", "failed", UNRECOGNISED)))
                attempt += 1
                if not retry or (attempt >= self.backoff.attempts and not patient):
                    raise
                log.info("SOS %s %s: %s; retrying", method, path, exc.message)
                self.backoff.sleep(delay)

    def _record_answer(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """One record (SOS-A2): `data` of the envelope, or the bare record with all its own
        fields (an invoice's `status` stays the invoice's)."""
        payload = self.request(method, path, body=body, expect=RECORD)
        data = payload.get("data")
        return data if isinstance(data, dict) else payload

    # -- lists -----------------------------------------------------------------------------
    def page(self, resource: str, cursor: OffsetCursor, **filters: Any) -> SosPage:
        """The next page of `resource` from `cursor`, overlapping the last page by its final
        row. If that row is not where it was (rows moved), step back a page at a time until a
        row we handled shows up, and hand on every row after it: the overlap then holds rows
        read before (dropped by the caller's dedupe), and no row is skipped."""
        params = {**filters, "maxresults": PAGE_SIZE}
        if cursor.since:
            params["updatedsince"] = cursor.since
        if not cursor.anchors:
            payload = self.request("GET", f"/{resource}", params={**params, "start": cursor.start}, expect=LIST)
            return self._page(payload, cursor, cursor.start, _rows(payload), reads=1)
        anchors = set(cursor.anchors)
        start = cursor.start - 1
        # Each step back starts PAGE_SIZE - 1 rows earlier and row 1 always ends it: bounded.
        for reads in range(1, -(-start // (PAGE_SIZE - 1)) + 2):
            payload = self.request("GET", f"/{resource}", params={**params, "start": start}, expect=LIST)
            data = _rows(payload)
            if data and data[0].get("id") == cursor.anchors[-1] and start == cursor.start - 1:
                return self._page(payload, cursor, start, data[1:], reads=reads)  # nothing moved
            if start == 1 or any(row.get("id") in anchors for row in data):
                # Rows moved: hand on every row of this page but the ones we know were handled.
                fresh = [row for row in data if row.get("id") not in anchors]
                return self._page(payload, cursor, start, fresh, reads=reads, moved=True)
            start = max(1, start - PAGE_SIZE + 1)
        raise AssertionError("unreachable: the read from row 1 returns")

    def _page(self, payload: dict[str, Any], cursor: OffsetCursor, start: int, rows: list[dict[str, Any]], *,
              reads: int, moved: bool = False) -> SosPage:
        data = _rows(payload)
        total = payload.get("totalCount")
        end = start + len(data)  # the row number after this page
        last = not data or len(data) < PAGE_SIZE or (isinstance(total, int) and end > total)
        anchors = tuple(row["id"] for row in data[-ANCHORS_KEPT:]) if data else cursor.anchors
        next_cursor = OffsetCursor(end if data else cursor.start, anchors, cursor.since)
        return SosPage(rows=rows, cursor=next_cursor, last=last, total=total if isinstance(total, int) else None,
                       reads=reads, moved=moved, read_at=self._sent.at)

    def iter_pages(self, resource: str, cursor: OffsetCursor | None = None, **filters: Any) -> Iterator[SosPage]:
        """Pages from `cursor` to the end, each row handed on once per call (dedupe by id).
        Pages that step back without getting past where they began (rows moving under us on
        every read) end the read after STALLED_PAGES_MAX in a row with a transient error: the
        checkpoint (the last page's cursor) never lies past an unread row, so the next run
        resumes with nothing skipped; starting again from row 1 could stall the same way."""
        cursor = cursor or OffsetCursor()
        seen: set[int] = set()
        stalled = 0
        while True:
            page = self.page(resource, cursor, **filters)
            stalled = stalled + 1 if page.moved and page.cursor.start <= cursor.start else 0
            if stalled > STALLED_PAGES_MAX:
                raise SosError("GET", f"/{resource}", 503, "error",
                               f"rows kept moving under the pager: {stalled} step-backs in a row from row "
                               f"{cursor.start} without getting further (SOS-A5); resume from the checkpoint later")
            fresh = [row for row in page.rows if row.get("id") not in seen]
            seen.update(row.get("id") for row in fresh)
            yield SosPage(fresh, page.cursor, page.last, page.total, page.reads, page.moved, page.read_at)
            if page.last:
                return
            cursor = page.cursor

    def list_all(self, resource: str, **filters: Any) -> list[dict[str, Any]]:
        return [row for page in self.iter_pages(resource, **filters) for row in page.rows]

    # -- records ---------------------------------------------------------------------------
    def get(self, resource: str, record_id: int | str) -> dict[str, Any]:
        """One record by id. A refusal that could mean "no such record" (a 4xx, or a 2xx without
        a record) is raised as SOS-A4's ContractStop where this account's unknown ids answer
        neither 404 nor a reading we know: the caller would read it as absent, a guess."""
        try:
            return self._record_answer("GET", f"/{resource}/{record_id}")
        except SosError as exc:
            stop = self._stops.get("SOS-A4")
            if stop is None or exc.throttled or exc.http_status >= 500 or exc.http_status in (401, 403):
                raise
            raise ContractStop("SOS-A4", f"{stop.evidence}; GET /{resource}/{record_id} answered "
                                         f"HTTP {exc.http_status} {exc.message[:160]}") from exc

    def get_item(self, item_id: int | str) -> SosItem:
        return SosItem.model_validate(self.get("item", item_id))

    def find_by_number(self, resource: str, number: str) -> dict[str, Any] | None:
        """Exact-number lookup through `query` (which also searches comments, customer names…,
        by an undocumented match rule): every page of matches is read until the exact one, so
        "WC-1" is not missed among WC-10…WC-19999 and a replay cannot create a duplicate."""
        for page in self.iter_pages(resource, query=number):
            match = next((row for row in page.rows if str(row.get("number") or "") == number), None)
            if match is not None:
                return match
        return None

    def find_customers_by_name(self, name: str) -> list[SosCustomer]:
        """Customers whose name is exactly `name` (case-insensitive)."""
        wanted = name.casefold()
        return [SosCustomer.model_validate(row) for row in self.list_all("customer", query=name)
                if str(row.get("name") or "").casefold() == wanted]

    def find_sales_order_by_number(self, number: str) -> SosSalesOrder | None:
        """The order number is unique in SOS: the guard against a second order (R-ORD-4)."""
        row = self.find_by_number("salesorder", number)
        return SosSalesOrder.model_validate(row) if row else None

    def create_sales_order(self, order: dict[str, Any]) -> SosSalesOrder:
        before = datetime.now(timezone.utc)
        created = SosSalesOrder.model_validate(self._record_answer("POST", "/salesorder", order))
        if self.first_use is not ignore_first_use and self._claim_zone_check():
            self._record_updatedsince_zone(created.id, before)
        return created

    def _claim_zone_check(self) -> bool:
        """Whether this create checks SOS-A16: the first one of this client (one of its threads)."""
        with self._once:
            claimed, self._zone_recorded = not self._zone_recorded, True
            return claimed

    def _record_updatedsince_zone(self, order_id: int, before: datetime) -> None:
        """SOS-A16 at its first use, once per deployment: the order just created listed by
        `updatedsince` = just before the write, in SosTimezone with no overlap. Listed: SOS reads
        the parameter no later than meant; missing: later (another zone), so windows could miss
        changes: logged loudly, the operator sets SosTimezone. Observational: never fails the write."""
        since = ChangeWindow(self.window.zone, 0).since(before.isoformat())
        try:
            rows = _rows(self.request("GET", "/salesorder", params={"updatedsince": since, "maxresults": PAGE_SIZE},
                                      expect=LIST))
        except SosError as exc:
            log.warning("SOS-A16 not checked after creating sales order %s: %s", order_id, exc.message)
            self._zone_recorded = False  # the next create checks
            return
        if any(row.get("id") == order_id for row in rows):
            self.first_use("SOS-A16", "SosTimezone", f"sales order {order_id} listed by updatedsince={since} "
                           f"({self.window.zone}, just before it was written)")
            return
        log.error("SOS-A16: sales order %s just written is not listed by updatedsince=%s (%s): SOS reads the "
                  "time later than meant; set SosTimezone to the account's zone", order_id, since, self.window.zone)
        self.first_use("SOS-A16", "later than meant", f"sales order {order_id} not listed by updatedsince={since} "
                       f"read in {self.window.zone} (just before it was written): {len(rows)} other row(s)")

    def update_sales_order(self, order_id: int, fields: dict[str, Any],
                           fit: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None
                           ) -> SosSalesOrder:
        """`fit(current, fields)`: the fields as they suit the record read just before the PUT
        (e.g. its lines' ids and price casing, SOS-A7)."""
        return SosSalesOrder.model_validate(self.update("salesorder", order_id, fields, fit))

    def get_sales_order(self, order_id: int) -> SosSalesOrder:
        return SosSalesOrder.model_validate(self.get("salesorder", order_id))

    def update(self, resource: str, record_id: int, fields: dict[str, Any],
               fit: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None) -> dict[str, Any]:
        """SOS's PUT replaces the whole record: read it, merge `fields` (as `fit` suits them to
        what was read), write it all back with its current syncToken; when someone wrote in
        between (stale syncToken), do it again."""
        for attempt in range(WRITE_RETRIES):
            current = self.get(resource, record_id)
            changed = fit(current, fields) if fit else fields
            body = {**current, **changed, "syncToken": current.get("syncToken")}
            try:
                written = self._record_answer("PUT", f"/{resource}/{record_id}", body)
                if resource == "salesorder":
                    self.first_use("SOS-A8", "exists", f"PUT /salesorder/{record_id} was taken")
                self.first_use("SOS-A12", "ignored", f"PUT /{resource}/{record_id} with the GET record's read-only "
                               "fields was taken")
                return written
            except SosError as exc:
                if resource == "salesorder" and exc.http_status in (404, 405):  # SOS-A8
                    self.first_use("SOS-A8", "refused", f"PUT /salesorder/{record_id} answered {exc.message[:200]}")
                sent_back = _read_only_named(exc, current, changed)
                if sent_back:  # SOS-A12: a field we only sent back as read was refused
                    self.first_use("SOS-A12", "refused", f"PUT /{resource}/{record_id} refused {sent_back!r}: "
                                   f"{exc.message[:200]}")
                if not exc.stale or attempt == WRITE_RETRIES - 1:
                    raise
                log.info("SOS %s %s changed while we wrote it; reading it again", resource, record_id)
        raise AssertionError("unreachable")

    def linked_documents(self, order_id: int, link_field: str, resource: str) -> list[dict[str, Any]]:
        """The invoices or shipments of a sales order, through its `linkedInvoices` /
        `linkedShipments` (SOS has no filter by order). A link of any shape but the contract's
        raises SosRecordError (SOS-A9): never read as "no links"; stored as fitting neither
        reading, SOS-A9's ContractStop before any call."""
        self.require("SOS-A9")
        order = self.get("salesorder", order_id)
        ids = [link.id for link in linked_transactions(order, link_field, "salesorder")]
        return [self.get(resource, document_id) for document_id in dict.fromkeys(ids)]

    def invoices_for_order(self, order_id: int) -> list[SosInvoice]:
        return [read_record(SosInvoice, r, "invoice")
                for r in self.linked_documents(order_id, "linkedInvoices", "invoice")]

    def shipments_for_order(self, order_id: int) -> list[SosShipment]:
        return [read_record(SosShipment, r, "shipment")
                for r in self.linked_documents(order_id, "linkedShipments", "shipment")]

    def get_customer(self, customer_id: int) -> SosCustomer:
        return SosCustomer.model_validate(self.get("customer", customer_id))

    def create_customer(self, customer: dict[str, Any]) -> SosCustomer:
        return SosCustomer.model_validate(self._record_answer("POST", "/customer", customer))

    def update_customer(self, customer_id: int, fields: dict[str, Any]) -> SosCustomer:
        return SosCustomer.model_validate(self.update("customer", customer_id, fields))

    # -- payments: no documented endpoint ----------------------------------------------------
    def follow_contract(self, readings: Mapping[str, Any]) -> None:
        """Start from the readings doctor's probe stored (R-OPS-5): SOS-A11 settled needs no
        probe of /payment; SOS-A17 settled names the kit type; fitting neither stops what needs
        the row with that reason (SOS-A4: reads by id; SOS-A9: what reads links, `require`).
        Called again in warm containers: a reading settled since a stop replaces it."""
        self._payment_endpoint_stop = None
        self._stops = {row_id: stop for row_id in ("SOS-A4", "SOS-A9")
                       if (stop := neither_stop(readings.get(row_id), row_id))}
        self._zone_recorded = self._zone_recorded or "SOS-A16" in readings
        try:
            self._kit_types = settled_choice(readings.get("SOS-A17"), "SOS-A17", {
                "Kit": frozenset({"Kit"}), "Item Group": frozenset({"Item Group"}), "both": KIT_TYPES}, KIT_TYPES)
        except ContractStop as stop:
            self._kit_types = stop
        try:
            self._payment_endpoint = settled_choice(readings.get("SOS-A11"), "SOS-A11",
                                                    {"present": True, "absent": False}, self._payment_endpoint)
        except ContractStop as stop:
            self._payment_endpoint_stop = stop

    def require(self, *row_ids: str) -> None:
        """ContractStop when one of these rows' stored reading fits neither (R-OPS-5): what needs
        it stops with that reason rather than guess."""
        for row_id in row_ids:
            if row_id in self._stops:
                raise self._stops[row_id]

    def kit_types(self) -> frozenset[str]:
        """The `type` names this account's kits read (SOS-A17): both until the probe settles it."""
        if isinstance(self._kit_types, ContractStop):
            raise self._kit_types
        return self._kit_types

    def payment_endpoint_available(self) -> bool:
        """Whether this account answers `/payment` (SOS-A11: undocumented, some accounts do).
        Probed once per client, and only where the payment route is configured: 404 = absent,
        a list answer = present; a throttle or 5xx stays transient (retried, then raised: never
        "absent"); anything else is raised naming SOS-A11."""
        if self._payment_endpoint_stop:
            raise self._payment_endpoint_stop
        with self._once:  # the other threads wait for this one's answer
            if self._payment_endpoint is None:
                try:
                    self.request("GET", "/payment", params={"maxresults": 1}, expect=LIST)
                    self._payment_endpoint = True
                except SosError as exc:
                    if exc.http_status != 404:
                        raise SosError("GET", "/payment", exc.http_status, exc.sos_status,
                                       f"SOS-A11: the /payment probe answered neither a list nor 404: {exc.message}",
                                       exc.body) from exc
                    self._payment_endpoint = False
            return self._payment_endpoint

    def create_payment(self, payment: dict[str, Any]) -> SosPayment:
        return SosPayment.model_validate(self._record_answer("POST", "/payment", payment))

    def find_payment_by_number(self, number: str) -> SosPayment | None:
        row = self.find_by_number("payment", number)
        return SosPayment.model_validate(row) if row else None

    # -- item quantity hook ------------------------------------------------------------------
    def list_hooks(self) -> list[SosHook]:
        return [SosHook.model_validate(r) for r in _rows(self.request("GET", "/hook", expect=LIST))]

    def create_hook(self, post_uri: str) -> SosHook:
        body = SosHook(postUri=post_uri).model_dump(exclude={"id"})
        return SosHook.model_validate(self._record_answer("POST", "/hook", body))

    def delete_hook(self, hook_id: int) -> None:
        answer = self.request("DELETE", f"/hook/{hook_id}", expect=DONE)  # SOS-A20: JSON or an empty 2xx
        self.first_use("SOS-A20", "JSON" if answer else "empty", f"DELETE /hook/{hook_id} answered "
                       + (f"JSON {sorted(answer)}" if answer else "an empty 2xx"))


def _read_only_named(exc: SosError, current: Mapping[str, Any], fields: Mapping[str, Any]) -> str | None:
    """The field of a 400 (not a stale syncToken) that we only sent back as the GET read it (SOS-A12)."""
    if exc.http_status != 400 or exc.stale:
        return None
    return next((name for name in current if name not in fields and name != "syncToken"
                 and re.search(rf"\b{re.escape(name)}\b", exc.message)), None)


def _rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a list answer (`request(..., expect=LIST)` made sure `data` is a list)."""
    return payload["data"]


def _message(payload: dict[str, Any], response: requests.Response) -> str:
    return str(payload.get("message") or payload.get("error_description") or payload.get("error")
               or response.reason or "")


def _is_bare_record(payload: dict[str, Any]) -> bool:
    """SOS-A2: a record is recognised by its `id`. Its own `status` ("Open", even "Failed") is
    the record's: only an envelope word (error/invalid/failed) together with a `message`,
    which no SOS record carries, makes a body with an `id` an error envelope."""
    if "data" in payload or payload.get("id") is None:
        return False
    return not (str(payload.get("status") or "").lower() in ERROR_STATUSES and "message" in payload)


def _throttled(payload: Any, text: str) -> bool:
    """SOS-A18: the throttle text in any casing anywhere in the answer but inside its records
    (a customer may be named anything): in a body that is not JSON, or in any field of the
    envelope (`message`, `status`, `error`…) however nested."""
    if not isinstance(payload, dict):
        return THROTTLE_TEXT in text.lower()
    if _is_bare_record(payload):
        envelope = {key: payload.get(key) for key in ("message", "error", "error_description")}
    else:
        envelope = {key: value for key, value in payload.items() if key != "data"}
    return THROTTLE_TEXT in json.dumps(envelope, default=str).lower()


def _shape(payload: dict[str, Any]) -> str:
    """What a 2xx JSON object is: "record" (bare, SOS-A2), "envelope" (ok, or no `status` but a
    `data`), "error" (a non-ok `status`) or "unknown" (none of `status`, `data`, `id`: SOS-A18)."""
    if _is_bare_record(payload):
        return "record"
    status = str(payload.get("status") or "").lower()
    if status and status != "ok":
        return "error"
    return "envelope" if status == "ok" or "data" in payload else "unknown"


def _unlike(shape: str, payload: dict[str, Any], expect: str) -> str | None:
    """Why a 2xx answer of `shape` is not what `expect` asked for (None: it is)."""
    if shape == "unknown":
        return "the answer has no `status`, `data` or `id` (SOS-A18)"
    data = payload.get("data")
    if expect == LIST and not (shape == "envelope" and isinstance(data, list)):
        return "a list answer without a `data` list (SOS-A18)"
    if expect == RECORD:
        record = payload if shape == "record" else data
        if not isinstance(record, dict) or record.get("id") is None:
            return "a record answer without a record that has an `id` (SOS-A2, SOS-A18)"
    return None
