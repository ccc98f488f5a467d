"""WizClient: the WizCommerce REST API as described in ../shared/api/wizcommerce.md."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from ..models.wiz import WizCustomer, WizInventory, WizInventoryRecord, WizOrder, WizProduct
from ..observability import logger
from ..models.contract import ContractStop, neither_stop, settled_choice
from ..store.contract import FirstUse, ignore_first_use
from .http import ApiError, CallCounter, map_bounded

PAGE_SIZE = 100  # WizCommerce's maximum `page_size`
# The list filters that take a time, and the one form they are documented in (WC-A12).
TIME_FILTERS = ("updated_after", "updated_before", "created_after", "created_before")
WHOLE_SECOND_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
SECOND = timedelta(seconds=1)
# A create that failed in transit (5xx, timeout) is looked up, and only then sent again (WC-A2).
POST_ATTEMPTS = 3
POST_BACKOFF_SECONDS = 0.5
# Passes over a slice of more than a page of changes within two seconds before it must hold still.
SLICE_PASSES = 5
# What a GET returns that is not part of the order body (R/orders/create-order).
READ_ONLY_ORDER_FIELDS = frozenset({"id", "created_at", "updated_at", "amount"})
# List filters by status, and their values (the lists' defaults hide the others).
STATUS_FILTERS = {"orders": ("order_status", ("confirmed", "draft", "cancelled")),
                  "customers": ("status", ("active", "inactive")),
                  "inventories": ("status", ("active", "inactive"))}
# Where `reference_ids` is an [assumed] filter (WC-A9) and `updated_after` one (WC-A11).
REFERENCE_IDS_ASSUMED = ("products", "invoices", "shipments")
UPDATED_AFTER_ASSUMED = ("invoices", "shipments")
# Customer fields a write sends and the read documents, as (write name, read name) (WC-A17).
CUSTOMER_READ_BACK = (("company_name", "name"), ("first_name", "first_name"), ("last_name", "last_name"),
                      ("email", "email"), ("phone", "phone"))
CAMEL_CASE = re.compile(r"[a-z][A-Z]")


def wc_time(moment: datetime) -> str:
    """A time filter's value in its one documented form, `YYYY-MM-DDTHH:MM:SSZ` (WC-A12): UTC,
    whole seconds, rounded down (a window's start floored loses nothing)."""
    if moment.tzinfo is None:
        raise ValueError(f"WizCommerce time filter: {moment!r} has no time zone")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _whole_second(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def _time_filters(path: str, params: dict[str, Any] | None) -> dict[str, Any] | None:
    """`params` with every time filter in the documented form: a datetime is formatted, a string
    must be that form already (WC-A12) — anything else is refused before it is sent."""
    if not params or not any(name in params for name in TIME_FILTERS):
        return params
    formatted = dict(params)
    for name in TIME_FILTERS:
        value = formatted.get(name)
        if isinstance(value, datetime):
            formatted[name] = wc_time(value)
        elif value is not None and not (isinstance(value, str) and WHOLE_SECOND_UTC.fullmatch(value)):
            raise ValueError(f"WizCommerce {path}: {name}={value!r} is not a UTC time in whole seconds "
                             f"(YYYY-MM-DDTHH:MM:SSZ, WC-A12)")
    return formatted


def _each_status(resource: str, filters: dict[str, Any], *, customers_list_all: bool = False) -> list[dict[str, Any]]:
    """The filters once per status of a list that hides some by default (orders list drafts only,
    customers active only: WC-A16), unless the caller names a status. Where the probe found the
    customer list shows every status without the filter (WC-A16 "all"), one pass does."""
    if resource not in STATUS_FILTERS or STATUS_FILTERS[resource][0] in filters:
        return [filters]
    if resource == "customers" and customers_list_all:
        return [filters]
    name, statuses = STATUS_FILTERS[resource]
    return [{**filters, name: status} for status in statuses]


def _record_data(payload: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    """The record of a one-record answer, `{"data": {...}}`; anything else is not a success."""
    record = payload.get("data")
    if not isinstance(record, dict):
        raise ValueError(f"WizCommerce {method} {path}: answered without a record in `data` "
                         f"(saw {_shape(record) if 'data' in payload else 'no data'}; keys {sorted(payload)[:10]})")
    return record


def list_rows(payload: dict[str, Any], resource: str) -> list[dict[str, Any]]:
    """The rows of a list answer, `{"data": [...], ...}`; `data: []` is an empty page, a missing
    or other `data` is not a success. Shipments are read snake_case only (WC-A5): a camelCase
    key is refused by name, never read as a missing field."""
    if "data" not in payload:
        raise ValueError(f"WizCommerce /v1/{resource}: list answered without `data` (keys {sorted(payload)[:10]})")
    rows = payload["data"]
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ValueError(f"WizCommerce /v1/{resource}: `data` of a list is {_shape(rows)}, not a list of records")
    if resource == "shipments":
        camel = sorted({key for row in rows for key in row if CAMEL_CASE.search(key)})
        if camel:
            raise ValueError(f"WizCommerce /v1/shipments: fields {camel[:8]} are camelCase; shipments are read "
                             "snake_case only (WC-A5)")
    return rows


def _shape(value: Any) -> str:
    return f"{type(value).__name__} {str(value)[:80]!r}"


def _total_pages(payload: dict[str, Any], resource: str) -> int:
    """The list's page count. Without it a full pass would silently stop after one page, so a
    list answered without `pagination.total_pages` (the documented form) is refused."""
    total = (payload.get("pagination") or {}).get("total_pages")
    if isinstance(total, bool) or not isinstance(total, int):
        raise ValueError(f"WizCommerce /v1/{resource}: list answered without pagination.total_pages ({total!r})")
    return max(total, 1)


def _utc_time(value: Any) -> datetime | None:
    """A documented WC time (ISO 8601 with its zone, e.g. `…Z`); None for anything else."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def _changed_at(row: dict[str, Any], resource: str, since: datetime) -> datetime:
    """A listed change's `updated_at`, checked against the `updated_after` asked for: a server
    that ignored the filter (WC-A11) would list older rows, never to be read as changes."""
    updated = _utc_time(row.get("updated_at"))
    if updated is None or updated < since:
        raise ValueError(f"WizCommerce /v1/{resource}?updated_after={wc_time(since)} listed {row.get('id')!r} "
                         f"with updated_at {row.get('updated_at')!r}: the filter was not applied")
    return updated


class WizClient:
    def __init__(self, *, base_url: str, api_key: str, session: requests.Session, timeout: float = 20.0,
                 calls: CallCounter | None = None):
        self._base = base_url.rstrip("/")
        self._session = session
        self._session.headers.update({"X-API-Key": api_key, "Accept": "application/json"})
        self._timeout = timeout
        self.calls = calls or CallCounter()
        self._sku_id_list: bool | None = None  # WC-A10 as this client found it; None: not known yet
        self._sku_id_list_stop: ContractStop | None = None  # WC-A10's stored reading fits neither
        self._readings: Mapping[str, Mapping[str, Any]] = {}  # as doctor's probe stored them (R-OPS-5)
        self._reference_ids_honoured = True  # WC-A9: until settled, the filter is used (rows still matched)
        self._customers_list_all = False  # WC-A16: until settled, each customer status is asked for
        self.first_use: FirstUse = ignore_first_use  # first-use rows (WC-A17, WC-A18) recorded when first seen

    def request(self, method: str, path: str, *, params: dict | None = None, body: Any = None) -> dict[str, Any]:
        """The JSON object WizCommerce answered. Every documented answer is one (`{"data": …}`):
        an empty body, a body that is not JSON or not an object is not a success (ValueError)."""
        params = _time_filters(path, params)
        self.calls.add()
        response = self._session.request(method, f"{self._base}{path}", params=params, json=body,
                                         timeout=self._timeout)
        try:
            payload = response.json() if response.content else None
        except ValueError:
            payload = None
        if response.status_code >= 400:
            message = payload.get("message") if isinstance(payload, dict) else response.text[:200]
            raise ApiError("WizCommerce", method, path, response.status_code, message or response.reason,
                           payload if payload is not None else {"message": response.text[:200]})
        if not isinstance(payload, dict):
            seen = "an empty body" if not response.content else (
                f"not JSON: {response.text[:80]!r}" if payload is None else f"JSON that is not an object: {_shape(payload)}")
            raise ValueError(f"WizCommerce {method} {path} answered {response.status_code} with {seen}")
        return payload

    def _list_page(self, resource: str, page: int, **filters: Any) -> dict[str, Any]:
        return self.request("GET", f"/v1/{resource}", params={
            "page": page, "page_size": PAGE_SIZE, "sort_by": "updated_at", "sort": "asc", **filters})

    def iter_pages(self, resource: str, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        """Pages of `/v1/<resource>` oldest update first (the API's default is newest first).
        Every status unless the filters name one: orders list drafts only by default, customers
        active only (WC-A16), so each status is listed in turn, each oldest first.

        Stops at `current_page >= total_pages` or an empty page (WC-A1): what `next_page` says on
        the last page is not documented, so it is not read."""
        for status_filters in self._each_status(resource, filters):
            yield from self._iter_pages(resource, **status_filters)

    def _each_status(self, resource: str, filters: dict[str, Any]) -> list[dict[str, Any]]:
        return _each_status(resource, filters, customers_list_all=self._customers_list_all)

    def _iter_pages(self, resource: str, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        page = 1
        while True:
            payload = self._list_page(resource, page, **filters)
            rows = list_rows(payload, resource)
            yield rows
            if not rows or page >= _total_pages(payload, resource):
                return
            page += 1

    def iter_pages_parallel(self, resource: str, concurrency: int, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        """All pages of a list, pages 2..N fetched with bounded concurrency (a full pass); every
        status unless the filters name one, as `iter_pages`."""
        for status_filters in self._each_status(resource, filters):
            yield from self._iter_pages_parallel(resource, concurrency, **status_filters)

    def _iter_pages_parallel(self, resource: str, concurrency: int, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        first = self._list_page(resource, 1, **filters)
        yield list_rows(first, resource)
        pages = range(2, _total_pages(first, resource) + 1)
        for _, payload, error in map_bounded(lambda page: self._list_page(resource, page, **filters), pages,
                                             concurrency):
            if error is not None:
                raise error
            yield list_rows(payload, resource)

    def changed_since(self, resource: str, after: datetime, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        """Pages of the records changed after `after` (floored to the second, WC-A12), oldest
        first, each change `(id, updated_at)` once and none skipped though records change while
        they are listed; every status unless the filters name one (as `iter_pages`).

        Paging by page number is not safe here: a record edited during the listing moves to the
        end and the rows behind it move up a page, so one would be skipped. So after each page
        page 1 is asked again from the newest change read, one second back (the filter takes
        whole seconds and its strictness is not documented). Where more than a page of changes
        share those seconds, that slice is read by page number (`_slice`) until a pass over it
        finds it unchanged. For invoices and shipments `updated_after` is [assumed] (WC-A11): a
        row without `updated_at`, or older than the filter, is refused by name."""
        if resource in UPDATED_AFTER_ASSUMED and (self._readings.get("WC-A11") or {}).get("reading") == "ignored":
            raise ValueError(f"WizCommerce /v1/{resource}: updated_after is ignored by this account (WC-A11, see "
                             "sos-wiz-ops doctor --contract): its changes cannot be listed")
        for status_filters in self._each_status(resource, filters):
            yield from self._changed_since(resource, _whole_second(after), status_filters)

    def _changed_since(self, resource: str, since: datetime, filters: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        seen: set[tuple[Any, str]] = set()  # (id, updated_at) of every change yielded
        while True:
            payload = self._list_page(resource, 1, updated_after=since, **filters)
            rows = list_rows(payload, resource)
            if fresh := self._fresh(rows, resource, since, seen):
                yield fresh
            if not rows or _total_pages(payload, resource) <= 1:
                return
            newest = _whole_second(max(_changed_at(row, resource, since) for row in rows))
            if newest - SECOND > since:
                since = newest - SECOND  # its whole second again, whichever reading of `after`
                continue
            # A page of changes already read from `since` on: read the seconds up to `newest` whole.
            yield from self._slice(resource, since, newest + 2 * SECOND, filters, seen)
            since = newest + SECOND

    def _slice(self, resource: str, since: datetime, before: datetime, filters: dict[str, Any],
               seen: set[tuple[Any, str]]) -> Iterator[list[dict[str, Any]]]:
        """The changes after `since` and before `before`, by page number, pass after pass until
        one finds nothing new and the list's size the same on every page: a record moved (edited)
        during a pass shows as a new change, one gone from the slice as a changed size, and only
        those shift rows past the pages read."""
        for _ in range(SLICE_PASSES):
            fresh_in_pass, sizes, page = False, set(), 1
            while True:
                payload = self._list_page(resource, page, updated_after=since, updated_before=before, **filters)
                rows = list_rows(payload, resource)
                pagination = payload.get("pagination") or {}
                sizes.add((pagination.get("total_records"), _total_pages(payload, resource)))
                if fresh := self._fresh(rows, resource, since, seen):
                    fresh_in_pass = True
                    yield fresh
                if not rows or page >= _total_pages(payload, resource):
                    break
                page += 1
            if not fresh_in_pass and len(sizes) == 1:
                return
        raise RuntimeError(f"WizCommerce /v1/{resource}: the changes between {wc_time(since)} and {wc_time(before)} "
                           f"kept changing over {SLICE_PASSES} passes; the next run reads them again")

    @staticmethod
    def _fresh(rows: list[dict[str, Any]], resource: str, since: datetime,
               seen: set[tuple[Any, str]]) -> list[dict[str, Any]]:
        fresh = []
        for row in rows:
            _changed_at(row, resource, since)
            key = (row.get("id"), row["updated_at"])
            if key not in seen:
                seen.add(key)
                fresh.append(row)
        return fresh

    def get(self, resource: str, record_id: str) -> dict[str, Any]:
        path = f"/v1/{resource}/{record_id}"
        return _record_data(self.request("GET", path), "GET", path)

    def create(self, resource: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create a record, never twice (WC-A2/A3): WizCommerce documents no refusal of a
        duplicate `reference_id`, so a repeated POST may make a second record.

        - A 5xx or a timeout may hide a create that landed: the record is looked up by
          `reference_ids=` and returned when there; only when it is not is the POST sent again
          (at most POST_ATTEMPTS in all). The session never replays a POST by itself.
        - A 4xx (but 429): should WizCommerce refuse a duplicate after all, the record it means
          is looked up the same way and returned; otherwise the error stands.
        A create without a reference_id cannot be looked up, so it is never sent twice.
        """
        record = self._create(resource, body, str(body.get("reference_id") or ""))
        if resource == "customers":
            self._read_back_customer("POST", body, record)
        return record

    def _create(self, resource: str, body: dict[str, Any], reference_id: str) -> dict[str, Any]:
        landed = (lambda: self.by_reference_id(resource, reference_id)) if reference_id else None
        try:
            return self._post(f"/v1/{resource}", body, landed)
        except ApiError as exc:
            if not 400 <= exc.status < 500 or exc.status == 429 or not reference_id:
                raise
            existing = self.by_reference_id(resource, reference_id)
            if existing is None:
                raise
            return existing

    def _post(self, path: str, body: dict[str, Any], landed: Callable[[], dict[str, Any] | None] | None
              ) -> dict[str, Any]:
        """POST `body`. After a 5xx or a timeout it may have been applied: `landed()` finds what
        it made (None: nothing), and only if nothing is it sent again, at most POST_ATTEMPTS in
        all. `landed=None`: it cannot be found, so it is never sent twice."""
        attempt = 1
        while True:
            try:
                return _record_data(self.request("POST", path, body=body), "POST", path)
            except ApiError as exc:
                if exc.status < 500 or landed is None or attempt >= POST_ATTEMPTS:
                    raise
                lost = str(exc.status)
            except (requests.Timeout, requests.ConnectionError) as exc:
                if landed is None or attempt >= POST_ATTEMPTS:
                    raise
                lost = type(exc).__name__
            record = landed()
            if record is not None:
                logger.info("WizCommerce POST landed, its answer was lost", extra={"path": path, "answer": lost})
                return record
            time.sleep(POST_BACKOFF_SECONDS * 2 ** (attempt - 1))
            attempt += 1

    def by_reference_id(self, resource: str, reference_id: str) -> dict[str, Any] | None:
        """The record with this reference_id, whatever its status (`iter_pages` lists each)."""
        return self.by_reference_ids(resource, [reference_id]).get(reference_id)

    def by_reference_ids(self, resource: str, reference_ids: list[str],
                         full_map: Callable[[int, int], None] | None = None) -> dict[str, dict[str, Any]]:
        """reference_id → the record carrying it (of those asked for), whatever its status."""
        return {str(row["reference_id"]): row for row in self.rows_by_reference_ids(resource, reference_ids, full_map)}

    def rows_by_reference_ids(self, resource: str, reference_ids: list[str],
                              full_map: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
        """Every record carrying one of these reference_ids, whatever its status: a page of ids per
        request by `reference_ids=`, each row matched by its own reference_id. Where the probe
        found that filter ignored (WC-A9) the whole list is read once instead and matched here;
        `full_map(calls, rows)` is told what that cost (for the run report)."""
        wanted = list(dict.fromkeys(str(ref) for ref in reference_ids if str(ref)))
        if not wanted:
            return []
        if resource in REFERENCE_IDS_ASSUMED and not self._reference_ids_honoured:
            calls, listed, keep, found = self.calls.count, 0, set(wanted), []
            for page in self.iter_pages(resource):
                listed += len(page)
                found += [row for row in page if str(row.get("reference_id")) in keep]
            if full_map is not None:
                full_map(self.calls.count - calls, listed)
            return found
        found = []
        for start in range(0, len(wanted), PAGE_SIZE):
            keep = set(wanted[start:start + PAGE_SIZE])
            for page in self.iter_pages(resource, reference_ids=",".join(wanted[start:start + PAGE_SIZE])):
                found += [row for row in page if str(row.get("reference_id")) in keep]
        return found

    def patch(self, resource: str, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """PATCH sets the fields it names: sent twice, the record ends the same, so the session
        may replay it after a 5xx (unlike a POST)."""
        path = f"/v1/{resource}/{record_id}"
        record = _record_data(self.request("PATCH", path, body=fields), "PATCH", path)
        if resource == "customers":
            self._read_back_customer("PATCH", fields, record)
        return record

    # -- typed helpers ---------------------------------------------------------------------
    def products(self, **filters: Any) -> Iterator[WizProduct]:
        for page in self.iter_pages("products", **filters):
            yield from (WizProduct.model_validate(row) for row in page)

    def products_by_reference_ids(self, reference_ids: list[str],
                                  full_map: Callable[[int, int], None] | None = None) -> list[WizProduct]:
        return [WizProduct.model_validate(row) for row in self.rows_by_reference_ids("products", reference_ids, full_map)]

    def follow_contract(self, readings: Mapping[str, Mapping[str, Any]]) -> None:
        """Start from the readings doctor's probe stored (R-OPS-5): WC-A10 settled saves the
        first comma list's 400 or goes straight to lists; fitting neither stops lookups of
        several SKUs with that reason. WC-A9 ignored: lookups by reference_id read a full map;
        WC-A16 "all": customers listed in one pass. The rows a stream needs are checked by
        `stream_stop`. Called again in warm containers: a reading settled since a stop replaces it."""
        self._sku_id_list_stop = None
        self._readings = readings
        try:
            self._sku_id_list = settled_choice(readings.get("WC-A10"), "WC-A10",
                                               {"comma list": True, "one per call": False}, self._sku_id_list)
        except ContractStop as stop:
            self._sku_id_list_stop = stop
        self._reference_ids_honoured = (readings.get("WC-A9") or {}).get("reading") != "ignored"
        self._customers_list_all = (readings.get("WC-A16") or {}).get("reading") == "all"

    def stream_stop(self, resource: str) -> str | None:
        """Why a stream writing `resource` cannot run under the stored readings (None: it can):
        a row it needs fitting neither reading (WC-A9; WC-A14 for invoices; WC-A5 for shipments;
        WC-A11 for both), shipments answered camelCase (WC-A5: read snake_case only), or
        `updated_after` ignored where its drift repair needs it (WC-A11: the run fails naming the
        filter rather than re-read every record each run)."""
        needs = [("WC-A9", REFERENCE_IDS_ASSUMED), ("WC-A14", ("invoices",)), ("WC-A5", ("shipments",)),
                 ("WC-A11", UPDATED_AFTER_ASSUMED)]
        for row_id, resources in needs:
            if resource not in resources:
                continue
            stop = neither_stop(self._readings.get(row_id), row_id)
            if stop:
                return stop.reason
            stored = (self._readings.get(row_id) or {}).get("reading")
            if row_id == "WC-A5" and stored == "camelCase":
                return (f"WC-A5: this account answers shipments in camelCase "
                        f"({self._readings[row_id].get('evidence')}); they are read snake_case only: "
                        "see sos-wiz-ops doctor --contract")
            if row_id == "WC-A11" and stored == "ignored":
                return (f"WC-A11: WizCommerce ignores the updated_after filter on {resource} "
                        f"({self._readings[row_id].get('evidence')}): this stream cannot run incrementally; "
                        "see sos-wiz-ops doctor --contract")
        return None

    def invoice_order_ref(self, order_id: str, order_reference: str) -> str:
        """What an invoice's `order_id` carries (WC-A14): the WizCommerce order id unless the probe
        found invoices name their order by its reference."""
        stored = (self._readings.get("WC-A14") or {}).get("reading")
        return order_reference if stored == "reference" else order_id

    def products_by_skus(self, skus: list[str]) -> list[WizProduct]:
        """Products by sku. WC-A10: whether `sku_id` takes a comma-separated list is not
        documented; the first 400 on a list whose first sku alone is answered settles it for this
        client's lifetime, and from then on each sku is asked for by itself."""
        if len(skus) > 1 and self._sku_id_list_stop:
            raise self._sku_id_list_stop
        if len(skus) > 1 and self._sku_id_list is not False:
            try:
                found = self._products_where("sku_id", skus)
            except ApiError as exc:
                if exc.status != 400 or self._sku_id_list:
                    raise
                first = list(self.products(sku_id=skus[0]))  # still refused: the 400 was about more
                self._sku_id_list = False
                logger.info("WizCommerce sku_id takes one sku a call (WC-A10)", extra={"refused": exc.message[:200]})
                return first + [product for sku in skus[1:] for product in self.products(sku_id=sku)]
            self._sku_id_list = True
            return found
        return [product for sku in skus for product in self.products(sku_id=sku)]

    def _products_where(self, list_filter: str, values: list[str]) -> list[WizProduct]:
        """Products matching any of `values` in a comma-list filter, a page of values per request."""
        return [p for start in range(0, len(values), PAGE_SIZE)
                for p in self.products(**{list_filter: ",".join(values[start:start + PAGE_SIZE])})]

    def inventories(self, concurrency: int) -> Iterator[WizInventoryRecord]:
        """Every inventory record, one full pass of the SDK's list (100 a page, pages 2..N in
        parallel). Each status in turn: whether the list hides one by default is not documented
        ([assumed]), as customers hide inactive ones. Newest update first (the API's default):
        paging by offset, a record updated during the pass moves to page 1, so rows shift towards
        later pages (one may be read twice) and none not updated since the pass began is missed;
        oldest first would shift them the other way, past the pages still to read."""
        for page in self.iter_pages_parallel("inventories", concurrency, sort="desc"):
            yield from (WizInventoryRecord.model_validate(row) for row in page)

    def upsert_inventory(self, inventory: WizInventory) -> dict[str, Any]:
        """Every required field, always ([assumed]: whether omitted fields persist is unknown).
        An upsert by sku: sent again after a lost answer, it sets the same record the same way."""
        return self._post("/v1/inventories", inventory.model_dump(mode="json"), landed=lambda: None)

    def get_inventory(self, sku: str) -> dict[str, Any] | None:
        rows = list_rows(self.request("GET", "/v1/inventories", params={"sku": sku}), "inventories")
        return rows[0] if rows else None

    def get_product(self, product_id: str) -> WizProduct:
        return WizProduct.model_validate(self.get("products", product_id))

    def get_order(self, order_id: str) -> WizOrder:
        return WizOrder.model_validate(self.get("orders", order_id))

    def get_order_record(self, order_id: str) -> dict[str, Any]:
        """The order as read, every field kept (what a full-replace PUT must send back)."""
        return self.get("orders", order_id)

    def update_order(self, order_id: str, fields: dict[str, Any]) -> WizOrder:
        return WizOrder.model_validate(self.merge_order(order_id, fields))

    def merge_order(self, order_id: str,
                    fields: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Change `fields` of an order (or `fields(read)`: the change as the order read just now
        makes it); the order as WizCommerce answers. `PUT /orders/{id}` replaces the whole order
        (omitted fields are removed) and takes no version, so the order is read, the fields merged
        in, and all of it sent at once: a user's edit saved between this GET and PUT (the length of
        one round trip) is overwritten; any earlier one is kept. The order discount is written but
        not read (WC-A13): it is sent as the read's lines and `amount` show it, so the PUT does not
        remove it."""
        read = self.get_order_record(order_id)
        record = {**read, **(fields(read) if callable(fields) else fields)}
        if "discount_value" not in record:
            discount = WizOrder.model_validate(read).implied_discount()
            if discount:
                record["discount_value"] = float(discount)
        body = {key: value for key, value in record.items() if key not in READ_ONLY_ORDER_FIELDS}
        path = f"/v1/orders/{order_id}"
        paid = body.get("payment_status") == "PAID"
        try:
            written = _record_data(self.request("PUT", path, body=body), "PUT", path)
        except ApiError as exc:
            if paid and exc.status == 400 and "payment_status" in json.dumps(exc.body)[:2000]:
                self.first_use("WC-A18", "refused", f"PUT {path} with payment_status PAID answered {exc.message[:200]}")
            raise
        if paid:  # WC-A18: the first PUT setting PAID shows whether it is taken
            self.first_use("WC-A18", "accepted" if written.get("payment_status") == "PAID" else "not kept",
                           f"PUT {path} with payment_status PAID read back {written.get('payment_status')!r}")
        return written

    def get_customer(self, customer_id: str) -> WizCustomer:
        return WizCustomer.model_validate(self.get("customers", customer_id))

    def update_customer(self, customer_id: str, fields: dict[str, Any]) -> WizCustomer:
        return WizCustomer.model_validate(self.patch("customers", customer_id, fields))

    def _read_back_customer(self, method: str, body: dict[str, Any], record: dict[str, Any]) -> None:
        """WC-A17, at the first customer write naming any of them: whether the documented fields
        it sent read back as sent ("accepted") or not (which ones)."""
        sent = [(write, read) for write, read in CUSTOMER_READ_BACK if body.get(write) not in (None, "")]
        if not sent:
            return
        lost = [write for write, read in sent if record.get(read) != body[write]]
        self.first_use("WC-A17", "not kept" if lost else "accepted",
                       f"{method} /v1/customers read back {'without ' + ', '.join(lost) if lost else 'every field sent'}"
                       f" ({', '.join(write for write, _ in sent)} sent)")

    def create_product(self, group_code: str, variant: dict[str, Any]) -> dict[str, Any]:
        """Create a one-variant product, the documented way: `{group_code, variants: [variant]}`
        (the variant writes its sku as `sku_id`; reads return `sku`), never twice: like `create`,
        found by the variant's Reference ID after a lost answer or a 4xx (WC-A2/A3)."""
        return self._create("products", {"group_code": group_code, "variants": [variant]},
                            str(variant.get("reference_id") or ""))
