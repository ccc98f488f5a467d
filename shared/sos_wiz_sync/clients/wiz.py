"""WizClient: the WizCommerce REST API as described in ../shared/api/wizcommerce.md."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import requests

from ..models.wiz import WizCustomer, WizInventory, WizInventoryRecord, WizOrder, WizProduct
from .http import ApiError, CallCounter, map_bounded

PAGE_SIZE = 100  # WizCommerce's maximum `page_size`
# What a GET returns that is not part of the order body (R/orders/create-order).
READ_ONLY_ORDER_FIELDS = frozenset({"id", "created_at", "updated_at", "amount"})
# List filters by status, and their values (the lists' defaults hide the others).
STATUS_FILTERS = {"orders": ("order_status", ("confirmed", "draft", "cancelled")),
                  "customers": ("status", ("active", "inactive")),
                  "inventories": ("status", ("active", "inactive"))}


def _each_order_status(resource: str, filters: dict[str, Any]) -> list[dict[str, Any]]:
    if resource != "orders" or "order_status" in filters:
        return [filters]
    return [{**filters, "order_status": status} for status in STATUS_FILTERS["orders"][1]]


def _list_rows(payload: dict[str, Any], resource: str) -> list[dict[str, Any]]:
    rows = payload.get("data")
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise ValueError(f"WizCommerce /v1/{resource}: `data` of a list is {type(rows).__name__}, not a list")
    return rows


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


class WizClient:
    def __init__(self, *, base_url: str, api_key: str, session: requests.Session, timeout: float = 20.0,
                 calls: CallCounter | None = None):
        self._base = base_url.rstrip("/")
        self._session = session
        self._session.headers.update({"X-API-Key": api_key, "Accept": "application/json"})
        self._timeout = timeout
        self.calls = calls or CallCounter()

    def request(self, method: str, path: str, *, params: dict | None = None, body: Any = None) -> dict[str, Any]:
        self.calls.add()
        response = self._session.request(method, f"{self._base}{path}", params=params, json=body,
                                         timeout=self._timeout)
        try:
            payload = response.json() if response.content else {}
        except ValueError:
            payload = {"message": response.text[:200]}
        if response.status_code >= 400:
            raise ApiError("WizCommerce", method, path, response.status_code,
                           payload.get("message") or response.reason, payload)
        return payload

    def iter_pages(self, resource: str, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        """Pages of `/v1/<resource>` oldest update first (the API's default is newest first).
        Orders of every status unless `order_status` names one (the API lists drafts only by
        default): one status after the other, each oldest first.

        Stops at `current_page >= total_pages`: what `next_page` says on the last page is
        not documented ([assumed] 0), so it only ends a list early, never extends it."""
        for status_filters in _each_order_status(resource, filters):
            yield from self._iter_pages(resource, **status_filters)

    def _iter_pages(self, resource: str, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        page = 1
        while True:
            payload = self.request("GET", f"/v1/{resource}", params={
                "page": page, "page_size": PAGE_SIZE, "sort_by": "updated_at", "sort": "asc", **filters})
            yield payload.get("data") or []
            pagination = payload.get("pagination") or {}
            if not pagination.get("next_page") or page >= (pagination.get("total_pages") or 0):
                return
            page += 1

    def iter_pages_parallel(self, resource: str, concurrency: int, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        """All pages of a list, pages 2..N fetched with bounded concurrency (a full pass); orders
        of every status unless `order_status` names one, as `iter_pages`."""
        for status_filters in _each_order_status(resource, filters):
            yield from self._iter_pages_parallel(resource, concurrency, **status_filters)

    def _iter_pages_parallel(self, resource: str, concurrency: int, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        def fetch(page: int) -> dict[str, Any]:
            return self.request("GET", f"/v1/{resource}", params={
                "page": page, "page_size": PAGE_SIZE, "sort_by": "updated_at", "sort": "asc", **filters})

        first = fetch(1)
        yield _list_rows(first, resource)
        for _, payload, error in map_bounded(fetch, range(2, _total_pages(first, resource) + 1), concurrency):
            if error is not None:
                raise error
            yield _list_rows(payload, resource)

    def changed_since(self, resource: str, after: datetime) -> Iterator[list[dict[str, Any]]]:
        """Pages of the records changed after `after` (`updated_after`, whole seconds UTC, oldest
        first; orders of every status), 100 a page. For invoices and shipments the filter is
        [assumed] (documented for customers and orders): a row without `updated_at`, or older
        than the filter (a server that ignores it would list everything), is refused by name."""
        stamp = after.astimezone(timezone.utc).replace(microsecond=0)
        for page in self.iter_pages(resource, updated_after=stamp.strftime("%Y-%m-%dT%H:%M:%SZ")):
            for row in page:
                updated = _utc_time(row.get("updated_at"))
                if updated is None or updated < stamp:
                    raise ValueError(f"WizCommerce /v1/{resource}?updated_after={stamp.isoformat()} listed "
                                     f"{row.get('id')!r} with updated_at {row.get('updated_at')!r}: the filter was not applied")
            yield page

    def get(self, resource: str, record_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/{resource}/{record_id}")["data"]

    def create(self, resource: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create, or return the existing record when its reference_id is already there.

        A POST that answered 5xx may have been applied. How WizCommerce answers a duplicate
        `reference_id` is not documented ([assumed]): on any 4xx the record is looked up by
        `reference_ids=`, and returned when it is there; otherwise the error stands.
        """
        try:
            return self.request("POST", f"/v1/{resource}", body=body)["data"]
        except ApiError as exc:
            reference_id = str(body.get("reference_id") or "")
            if not 400 <= exc.status < 500 or exc.status == 429 or not reference_id:
                raise
            existing = self.by_reference_id(resource, reference_id)
            if existing is None:
                raise
            return existing

    def by_reference_id(self, resource: str, reference_id: str) -> dict[str, Any] | None:
        """The record with this reference_id, whatever its status: lists show one status at a
        time (orders default to draft, customers to active), so each is asked for in turn."""
        name, statuses = STATUS_FILTERS.get(resource, (None, (None,)))
        for status in statuses:
            params = {"reference_ids": reference_id, **({name: status} if name else {})}
            rows = self.request("GET", f"/v1/{resource}", params=params).get("data") or []
            found = next((row for row in rows if str(row.get("reference_id")) == reference_id), None)
            if found is not None:
                return found
        return None

    def patch(self, resource: str, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", f"/v1/{resource}/{record_id}", body=fields)["data"]

    # -- typed helpers ---------------------------------------------------------------------
    def products(self, **filters: Any) -> Iterator[WizProduct]:
        for page in self.iter_pages("products", **filters):
            yield from (WizProduct.model_validate(row) for row in page)

    def products_by_reference_ids(self, reference_ids: list[str]) -> list[WizProduct]:
        return self._products_where("reference_ids", reference_ids)

    def products_by_skus(self, skus: list[str]) -> list[WizProduct]:
        return self._products_where("sku_id", skus)

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
        name, statuses = STATUS_FILTERS["inventories"]
        for status in statuses:
            for page in self._iter_pages_parallel("inventories", concurrency, sort="desc", **{name: status}):
                yield from (WizInventoryRecord.model_validate(row) for row in page)

    def upsert_inventory(self, inventory: WizInventory) -> dict[str, Any]:
        """Every required field, always ([assumed]: whether omitted fields persist is unknown)."""
        return self.request("POST", "/v1/inventories", body=inventory.model_dump(mode="json"))["data"]

    def get_inventory(self, sku: str) -> dict[str, Any] | None:
        rows = self.request("GET", "/v1/inventories", params={"sku": sku}).get("data")
        if isinstance(rows, list):
            return rows[0] if rows else None
        return rows

    def get_product(self, product_id: str) -> WizProduct:
        return WizProduct.model_validate(self.get("products", product_id))

    def get_order(self, order_id: str) -> WizOrder:
        return WizOrder.model_validate(self.get("orders", order_id))

    def get_order_record(self, order_id: str) -> dict[str, Any]:
        """The order as read, every field kept (what a full-replace PUT must send back)."""
        return self.get("orders", order_id)

    def update_order(self, order_id: str, fields: dict[str, Any]) -> WizOrder:
        return WizOrder.model_validate(self.merge_order(order_id, fields))

    def merge_order(self, order_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Change `fields` of an order; the order as WizCommerce answers. `PUT /orders/{id}`
        replaces the whole order (omitted fields are removed), so the order is read, the fields
        merged in, and all of it sent. The order discount is written but not read (WC-A13): it is
        sent as the read's lines and `amount` show it, so the PUT does not remove it."""
        read = self.get_order_record(order_id)
        record = {**read, **fields}
        if "discount_value" not in record:
            discount = WizOrder.model_validate(read).implied_discount()
            if discount:
                record["discount_value"] = float(discount)
        body = {key: value for key, value in record.items() if key not in READ_ONLY_ORDER_FIELDS}
        return self.request("PUT", f"/v1/orders/{order_id}", body=body)["data"]

    def get_customer(self, customer_id: str) -> WizCustomer:
        return WizCustomer.model_validate(self.get("customers", customer_id))

    def update_customer(self, customer_id: str, fields: dict[str, Any]) -> WizCustomer:
        return WizCustomer.model_validate(self.patch("customers", customer_id, fields))

    def create_product(self, group_code: str, variant: dict[str, Any]) -> dict[str, Any]:
        """Create a one-variant product, the documented way: `{group_code, variants: [variant]}`
        (the variant writes its sku as `sku_id`; reads return `sku`). What a create answers is
        not documented beyond `data`: returned as it comes. On a 4xx the product may exist
        already (WC-A2): it is looked up by its Reference ID and returned when there."""
        try:
            return self.request("POST", "/v1/products", body={"group_code": group_code, "variants": [variant]})["data"]
        except ApiError as exc:
            reference_id = str(variant.get("reference_id") or "")
            if not 400 <= exc.status < 500 or exc.status == 429 or not reference_id:
                raise
            existing = self.products_by_reference_ids([reference_id])
            if not existing:
                raise
            return existing[0].model_dump(mode="json")
