"""SosClient: the SOS Inventory API v2 as described in ../shared/api/sos.md."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

from ..models.sos import SosCustomer, SosHook, SosInvoice, SosItem, SosPayment, SosSalesOrder, SosShipment
from .http import ApiError, CallCounter, Pacer
from .sos_auth import SosTokenManager

PAGE_SIZE = 200  # SOS's maximum `maxresults`


@dataclass(frozen=True)
class KeysetCursor:
    """Position in a list sorted by (lastModified, id): everything up to it has been handled.

    Offsets are not safe cursors: a record modified while we page moves to the end and shifts
    every later row one place left, so `start += 200` would skip a row. Asking again from the
    last seen `lastModified` and dropping rows at or before (lastModified, id) skips nothing.
    """

    last_modified: str | None = None
    last_id: int = 0
    skip: int = 0  # rows already consumed at exactly `last_modified` when a page was all ties

    def is_after(self, row: dict[str, Any]) -> bool:
        if self.last_modified is None:
            return True
        return (row["lastModified"], row["id"]) > (self.last_modified, self.last_id)

    def to_dict(self) -> dict[str, Any]:
        return {"last_modified": self.last_modified, "last_id": self.last_id, "skip": self.skip}

    @classmethod
    def from_dict(cls, value: dict[str, Any] | None) -> "KeysetCursor":
        return cls(**value) if value else cls()


@dataclass(frozen=True)
class SosPage:
    rows: list[dict[str, Any]]  # only rows after the cursor the page was asked with
    cursor: KeysetCursor        # position after this page
    last: bool
    total: int | None = None    # SOS's totalCount: rows matching the request, this page's included


class SosClient:
    def __init__(self, *, base_url: str, tokens: SosTokenManager, session: requests.Session,
                 pacer: Pacer | None = None, timeout: float = 20.0, calls: CallCounter | None = None):
        self._base = base_url.rstrip("/")
        self._tokens = tokens
        self._session = session
        self._pacer = pacer or Pacer(0)
        self._timeout = timeout
        self.calls = calls or CallCounter()

    # -- transport -------------------------------------------------------------------------
    def _send(self, method: str, path: str, token: str, params: dict | None, body: Any) -> requests.Response:
        self._pacer.wait()
        self.calls.add()
        return self._session.request(method, f"{self._base}{path}", params=params, json=body,
                                     headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                                     timeout=self._timeout)

    def request(self, method: str, path: str, *, params: dict | None = None, body: Any = None) -> dict[str, Any]:
        token = self._tokens.access_token()
        response = self._send(method, path, token, params, body)
        if response.status_code == 401:  # expired token: refresh once, then the call once more
            response = self._send(method, path, self._tokens.refresh(token), params, body)
        try:
            payload = response.json()
        except ValueError:
            payload = {"message": response.text[:200]}
        if response.status_code >= 400:
            message = payload.get("message", "") if isinstance(payload, dict) else ""
            raise ApiError("SOS", method, path, response.status_code, message or response.reason, payload)
        return payload

    # -- lists -----------------------------------------------------------------------------
    def page_after(self, resource: str, cursor: KeysetCursor, **filters: Any) -> SosPage:
        """One page of `resource` after `cursor`, oldest lastModified first."""
        params = {"maxresults": PAGE_SIZE, "start": cursor.skip, **filters}
        if cursor.last_modified is not None:
            params["updatedsince"] = cursor.last_modified
        payload = self.request("GET", f"/{resource}", params=params)
        data = payload.get("data") or []
        rows = [row for row in data if cursor.is_after(row)]
        last = len(data) < PAGE_SIZE
        if rows:
            tail = rows[-1]
            next_cursor = KeysetCursor(tail["lastModified"], tail["id"], 0)
        elif data:
            # A whole page of rows we had already seen: ties on lastModified. Step over them.
            next_cursor = KeysetCursor(cursor.last_modified, cursor.last_id, cursor.skip + len(data))
        else:
            next_cursor = cursor
        return SosPage(rows=rows, cursor=next_cursor, last=last, total=payload.get("totalCount"))

    def iter_pages(self, resource: str, cursor: KeysetCursor | None = None, **filters: Any) -> Iterator[SosPage]:
        cursor = cursor or KeysetCursor()
        while True:
            page = self.page_after(resource, cursor, **filters)
            yield page
            if page.last:
                return
            cursor = page.cursor

    def list_all(self, resource: str, **filters: Any) -> list[dict[str, Any]]:
        return [row for page in self.iter_pages(resource, **filters) for row in page.rows]

    # -- records ---------------------------------------------------------------------------
    def get(self, resource: str, record_id: int | str) -> dict[str, Any]:
        return self.request("GET", f"/{resource}/{record_id}")["data"]

    def get_item(self, item_id: int | str) -> SosItem:
        return SosItem.model_validate(self.get("item", item_id))

    def find_by_number(self, resource: str, number: str) -> dict[str, Any] | None:
        """Exact-number lookup (`query` is a substring match on number/name/sku).

        Every page of matches is read until the exact one: "WC-1" also matches WC-10…WC-19999,
        and missing the exact row would let a replay create a duplicate.
        """
        for page in self.iter_pages(resource, query=number):
            match = next((row for row in page.rows if row.get("number") == number), None)
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
        return SosSalesOrder.model_validate(self.request("POST", "/salesorder", body=order)["data"])

    def update_sales_order(self, order_id: int, fields: dict[str, Any]) -> SosSalesOrder:
        return SosSalesOrder.model_validate(self.request("PUT", f"/salesorder/{order_id}", body=fields)["data"])

    def get_sales_order(self, order_id: int) -> SosSalesOrder:
        return SosSalesOrder.model_validate(self.get("salesorder", order_id))

    def documents_for_order(self, resource: str, order_id: int) -> list[dict[str, Any]]:
        """Invoices or shipments of one sales order (`salesorderid` filter)."""
        return self.request("GET", f"/{resource}", params={"salesorderid": order_id, "maxresults": PAGE_SIZE})["data"]

    def invoices_for_order(self, order_id: int) -> list[SosInvoice]:
        return [SosInvoice.model_validate(r) for r in self.documents_for_order("invoice", order_id)]

    def shipments_for_order(self, order_id: int) -> list[SosShipment]:
        return [SosShipment.model_validate(r) for r in self.documents_for_order("shipment", order_id)]

    def get_customer(self, customer_id: int) -> SosCustomer:
        return SosCustomer.model_validate(self.get("customer", customer_id))

    def create_customer(self, customer: dict[str, Any]) -> SosCustomer:
        return SosCustomer.model_validate(self.request("POST", "/customer", body=customer)["data"])

    def update_customer(self, customer_id: int, fields: dict[str, Any]) -> SosCustomer:
        return SosCustomer.model_validate(self.request("PUT", f"/customer/{customer_id}", body=fields)["data"])

    def create_payment(self, payment: dict[str, Any]) -> SosPayment:
        return SosPayment.model_validate(self.request("POST", "/payment", body=payment)["data"])

    def find_payment_by_number(self, number: str) -> SosPayment | None:
        row = self.find_by_number("payment", number)
        return SosPayment.model_validate(row) if row else None

    # -- item quantity hook ------------------------------------------------------------------
    def list_hooks(self) -> list[SosHook]:
        return [SosHook.model_validate(r) for r in self.request("GET", "/hook")["data"]]

    def create_hook(self, post_uri: str) -> SosHook:
        body = SosHook(postUri=post_uri).model_dump(exclude={"id"})
        return SosHook.model_validate(self.request("POST", "/hook", body=body)["data"])

    def delete_hook(self, hook_id: int) -> None:
        self.request("DELETE", f"/hook/{hook_id}")
