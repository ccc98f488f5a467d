"""WizClient: the WizCommerce REST API as described in ../shared/api/wizcommerce.md."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests

from ..models.wiz import WizCustomer, WizInventory, WizOrder, WizProduct
from .http import ApiError, CallCounter, map_bounded

PAGE_SIZE = 100  # WizCommerce's maximum `page_size`


class DuplicateReferenceId(ApiError):
    """POST of a record whose reference_id exists: `existing_id` is the record already there."""

    @property
    def existing_id(self) -> str | None:
        for detail in (self.body or {}).get("details") or []:
            if detail.get("field") == "id":
                return str(detail.get("reason"))
        return None


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
            error = DuplicateReferenceId if payload.get("code") == "duplicate_reference_id" else ApiError
            raise error("WizCommerce", method, path, response.status_code,
                        payload.get("message") or response.reason, payload)
        return payload

    def iter_pages(self, resource: str, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        """Pages of `/v1/<resource>` oldest update first."""
        page = 1
        while page:
            payload = self.request("GET", f"/v1/{resource}", params={
                "page": page, "page_size": PAGE_SIZE, "sort_by": "updated_at", "sort": "asc", **filters})
            yield payload.get("data") or []
            page = (payload.get("pagination") or {}).get("next_page") or 0

    def iter_pages_parallel(self, resource: str, concurrency: int, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        """All pages of a list, pages 2..N fetched with bounded concurrency (a full pass)."""
        def fetch(page: int) -> dict[str, Any]:
            return self.request("GET", f"/v1/{resource}", params={
                "page": page, "page_size": PAGE_SIZE, "sort_by": "updated_at", "sort": "asc", **filters})

        first = fetch(1)
        yield first.get("data") or []
        total_pages = (first.get("pagination") or {}).get("total_pages") or 1
        for _, payload, error in map_bounded(fetch, range(2, total_pages + 1), concurrency):
            if error is not None:
                raise error
            yield payload.get("data") or []

    def get(self, resource: str, record_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/{resource}/{record_id}")["data"]

    def create(self, resource: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create, or return the existing record when its reference_id is already there.

        A POST that answered 5xx may have been applied; replaying it then meets a 409, which
        tells us the id of the record that exists: no duplicate either way.
        """
        try:
            return self.request("POST", f"/v1/{resource}", body=body)["data"]
        except DuplicateReferenceId as exc:
            if not exc.existing_id:
                raise
            return self.get(resource, exc.existing_id)

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

    def upsert_inventory(self, inventory: WizInventory) -> dict[str, Any]:
        return self.request("POST", "/v1/inventories", body=inventory.model_dump())["data"]

    def get_inventory(self, sku: str) -> dict[str, Any] | None:
        rows = self.request("GET", "/v1/inventories", params={"sku": sku}).get("data")
        if isinstance(rows, list):
            return rows[0] if rows else None
        return rows

    def get_product(self, product_id: str) -> WizProduct:
        return WizProduct.model_validate(self.get("products", product_id))

    def get_order(self, order_id: str) -> WizOrder:
        return WizOrder.model_validate(self.get("orders", order_id))

    def update_order(self, order_id: str, body: dict[str, Any]) -> WizOrder:
        return WizOrder.model_validate(self.request("PUT", f"/v1/orders/{order_id}", body=body)["data"])

    def get_customer(self, customer_id: str) -> WizCustomer:
        return WizCustomer.model_validate(self.get("customers", customer_id))

    def update_customer(self, customer_id: str, fields: dict[str, Any]) -> WizCustomer:
        return WizCustomer.model_validate(self.patch("customers", customer_id, fields))
