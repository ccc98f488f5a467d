"""SOS Inventory API v2 emulator, following /work/shared/api/sos.md (the contract).

Choices where the contract is silent (all in one place so tests and clients agree):
- Sales orders do not move item quantities; shipments do (onhand and available of each
  shipped stock item drop, and each line fires the quantity hook).
- A kit's `available` is recomputed from its components (whole kits); a component change
  fires the hook for the component only, not for the kits that contain it.
- Hooks fire when `onhand` or `available` change; an `onPO`-only change is silent (the
  hook payload has no onPO anyway), unless `fire_hook=True` is passed.
- `additionalData` of a hook is stored but does not filter (quantities are not per location).
- Refs are `{"id", "name"}`; for documents `name` is their number. Invoices and shipments
  carry `salesOrder: {"id", "number"}` as the contract shows.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Response, request

from .base import (
    ADMIN_PREFIX,
    ApiError,
    Deliverer,
    Emulator,
    RecordStore,
    clamp_int,
    json_body,
    json_response,
    stamp_param,
)

API = "/api/v2"
PAGE_MAX = 200
NUMBER_MAX_LENGTH = 21
HOOK_EVENT = "item.quantity_updated"
HOOK_FIELDS = ("id", "name", "fullname", "description", "sku", "onhand", "available")
QUANTITY_FIELDS = ("onhand", "available", "onSO", "onPO", "onWO")
STOCK_TYPES = frozenset({"Inventory Item", "Assembly"})  # types whose stock a shipment moves
ITEM_TYPES = ("Inventory Item", "Non-inventory Item", "Service", "Assembly", "Kit")
ITEM_EDITABLE = ("name", "fullname", "sku", "description", "type", "salesPrice", "archived")
CUSTOMER_EDITABLE = ("name", "companyName", "firstName", "lastName", "email", "phone", "billing", "shipping",
                     "notes", "salesRep", "priceTier", "archived")
ORDER_EDITABLE = ("number", "date", "customer", "location", "billing", "shipping", "lines", "discountAmount",
                  "memo", "customerNotes", "salesRep", "priceTier", "closed")
ADDRESS_FIELDS = ("line1", "line2", "city", "stateProvince", "postalCode", "country")


def _copy(record: Any) -> Any:
    """A detached copy for programmatic callers (store records stay private to the lock)."""
    return json.loads(json.dumps(record))


def _number(value: Any, name: str, *, default: float | None = None) -> float:
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(400, f"{name} must be a number")
    return value


def kit_available(parts: Iterable[tuple[float, float]]) -> int:
    """Whole kits the components allow: parts are (component available, quantity per kit)."""
    return max(0, min((math.floor(available / per) for available, per in parts), default=0))


def _address(value: Any, name: str) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError(400, f"{name} must be an address object")
    return {key: value.get(key) for key in ADDRESS_FIELDS}


class SosEmulator(Emulator):
    """The SOS Inventory API on a local port: `start()` → base URL; the API is under `/api/v2`,
    the token endpoint is `/oauth2/token`."""

    SEED_ROLE = "sos"
    ADMIN_ACTIONS = frozenset({
        "set_item_quantities", "update_item", "add_item", "create_customer", "update_customer",
        "create_sales_order", "update_sales_order", "create_invoice", "create_shipment", "create_payment",
        "expire_tokens", "set_token_lifetime", "credentials",
    })

    def __init__(self, *, client_id: str = "sos-emulator-client", client_secret: str | None = None,
                 access_token: str | None = None, refresh_token: str | None = None, expires_in: int = 3600,
                 rate_limit_rps: float | None = None, host: str = "127.0.0.1", port: int = 0):
        super().__init__(host=host, port=port, rate_limit_rps=rate_limit_rps)
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.expires_in = expires_in
        self._access_tokens: dict[str, float] = {}  # token → expiry on self.clock
        self._refresh_tokens: set[str] = set()
        self._current_pair = self._issue_tokens(access_token, refresh_token)

        self.items = RecordStore("lastModified")
        self.locations = RecordStore("lastModified")
        self.customers = RecordStore("lastModified")
        self.sales_orders = RecordStore("lastModified", unique=("number",))
        self.invoices = RecordStore("lastModified")
        self.shipments = RecordStore("lastModified")
        self.payments = RecordStore("lastModified")
        self.sales_reps = RecordStore("lastModified")
        self.price_tiers = RecordStore("lastModified")
        self.hooks = RecordStore("lastModified")
        self._kit_components: dict[int, list[tuple[int, float]]] = {}  # kit id → (component id, per kit)
        self._kits_using: dict[int, set[int]] = {}  # component id → kit ids
        self.hook_deliverer = Deliverer(timeout=10.0)

        # resource → (store, writers by method); a method without a writer answers 405
        self._resources: dict[str, tuple[RecordStore, dict[str, Any]]] = {
            "item": (self.items, {}),
            "location": (self.locations, {}),
            "customer": (self.customers, {"POST": self._create_customer, "PUT": self._update_customer}),
            "salesorder": (self.sales_orders, {"POST": self._create_sales_order, "PUT": self._update_sales_order}),
            "invoice": (self.invoices, {}),
            "shipment": (self.shipments, {}),
            "payment": (self.payments, {"POST": self._create_payment}),
            "salesrep": (self.sales_reps, {}),
            "pricetier": (self.price_tiers, {}),
            "hook": (self.hooks, {"POST": self._create_hook, "DELETE": self._delete_hook}),
        }

    # -- auth ----------------------------------------------------------------------------------
    def credentials(self) -> dict[str, str]:
        """The current token pair and client credentials, as the SOS secret holds them."""
        with self.lock:
            return {**self._current_pair, "client_id": self.client_id, "client_secret": self.client_secret}

    def expire_tokens(self, in_seconds: float = 0) -> None:
        """Every access token issued so far stops working in `in_seconds` (0: now)."""
        with self.lock:
            deadline = self.clock.now() + in_seconds
            for token, expiry in self._access_tokens.items():
                self._access_tokens[token] = min(expiry, deadline)

    def set_token_lifetime(self, expires_in: int) -> None:
        """`expires_in` of tokens issued from now on."""
        self.expires_in = expires_in

    def add_fault(self, spec: dict) -> None:
        """Adds the SOS token faults to the common ones: {"type": "expire_tokens", "seconds"?}
        and {"type": "token_lifetime", "expires_in"}."""
        if spec.get("type") == "expire_tokens":
            self.expire_tokens(spec.get("seconds", 0))
        elif spec.get("type") == "token_lifetime":
            self.set_token_lifetime(int(spec["expires_in"]))
        else:
            super().add_fault(spec)

    def _issue_tokens(self, access_token: str | None = None, refresh_token: str | None = None) -> dict[str, str]:
        access = access_token or secrets.token_urlsafe(32)
        refresh = refresh_token or secrets.token_urlsafe(32)
        self._access_tokens[access] = self.clock.now() + self.expires_in
        self._refresh_tokens.add(refresh)
        self._current_pair = {"access_token": access, "refresh_token": refresh}
        return self._current_pair

    def authenticate(self) -> None:
        if request.path == "/oauth2/token":
            return
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        expiry = self._access_tokens.get(token)
        if expiry is None or expiry <= self.clock.now():
            raise ApiError(401, "Invalid or expired access token")

    def _token(self) -> Response:
        form = request.form
        if form.get("grant_type") != "refresh_token":
            return json_response({"error": "unsupported_grant_type",
                                  "error_description": "only grant_type=refresh_token is supported"}, 400)
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if request.authorization:  # OAuth clients may send the client credentials as Basic auth instead
            client_id, client_secret = request.authorization.username, request.authorization.password
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return json_response({"error": "invalid_client", "error_description": "unknown client"}, 401)
        with self.lock:
            refresh = form.get("refresh_token", "")
            if refresh not in self._refresh_tokens:
                return json_response({"error": "invalid_grant",
                                      "error_description": "refresh token is invalid, expired or already used"}, 400)
            self._refresh_tokens.discard(refresh)  # rotation: a refresh token works once
            pair = self._issue_tokens()
            return json_response({**pair, "expires_in": self.expires_in, "token_type": "bearer"})

    # -- HTTP ----------------------------------------------------------------------------------
    def error_body(self, error: ApiError) -> dict:
        return {"status": "error", "message": error.message}

    def _register_routes(self) -> None:
        route = self.app.add_url_rule
        route("/oauth2/token", "token", self._token, methods=["POST"])
        route(f"{API}/<resource>", "collection", self._collection, methods=["GET", "POST"])
        route(f"{API}/<resource>/<int:record_id>", "record", self._record, methods=["GET", "PUT", "DELETE"])
        route(f"{ADMIN_PREFIX}/items/<int:item_id>/quantities", "admin_quantities", self._admin_quantities,
              methods=["POST"])

    def _collection(self, resource: str) -> Response:
        store = self._resource(resource)[0]
        if request.method == "GET":
            with self.lock:
                return self._list(store)
        writer, body = self._writer(resource), json_body()
        with self.lock:
            return self._one(writer(body))

    def _record(self, resource: str, record_id: int) -> Response:
        store = self._resource(resource)[0]
        if request.method == "GET":
            with self.lock:
                return self._one(self._get(store, record_id))
        writer = self._writer(resource)
        args = (record_id, json_body()) if request.method == "PUT" else (record_id,)
        with self.lock:
            return self._one(writer(*args))

    def _admin_quantities(self, item_id: int) -> Response:
        body = json_body()
        fields = {key: body[key] for key in (*QUANTITY_FIELDS, "fire_hook") if key in body}
        return json_response({"data": self.set_item_quantities(item_id, **fields)})

    @staticmethod
    def _one(record: dict) -> Response:
        return json_response({"status": "ok", "message": "", "data": record})

    def _list(self, store: RecordStore) -> Response:
        args = request.args
        start = clamp_int(args.get("start"), default=0, low=0, high=2**31, name="start")
        size = clamp_int(args.get("maxresults"), default=PAGE_MAX, low=1, high=PAGE_MAX, name="maxresults")
        since = stamp_param("updatedsince")
        query = args.get("query", "").lower()
        order_id = clamp_int(args.get("salesorderid"), default=0, low=0, high=2**63, name="salesorderid")

        rows = store.ordered()
        first = store.first_index(since, inclusive=True) if since else 0
        if query or order_id:
            rows = [row for row in rows[first:]
                    if (not query or any(query in str(row.get(f) or "").lower() for f in ("number", "name", "sku")))
                    and (not order_id or (row.get("salesOrder") or {}).get("id") == order_id)]
            first = 0
        page = rows[first + start:first + start + size]
        return json_response({"status": "ok", "message": "", "count": len(page),
                              "totalCount": len(rows) - first, "data": page})

    # -- lookups and validation ----------------------------------------------------------------
    @staticmethod
    def _get(store: RecordStore, record_id: Any) -> dict:
        record = store.get(record_id)
        if record is None:
            raise ApiError(404, f"Record {record_id} not found")
        return record

    @staticmethod
    def _ref(store: RecordStore, value: Any, what: str, *, required: bool = False, where: str = "",
             name_field: str = "name") -> dict | None:
        """Resolve a ref given as {"id": n} (or a bare id) to {"id", "name"}; 400 naming it if unknown."""
        suffix = f" ({where})" if where else ""
        if value is None:
            if required:
                raise ApiError(400, f"{what} is required{suffix}")
            return None
        ref_id = value.get("id") if isinstance(value, dict) else value
        record = store.get(ref_id) if isinstance(ref_id, int) and not isinstance(ref_id, bool) else None
        if record is None:
            raise ApiError(400, f"Unknown {what} id {ref_id}{suffix}")
        return {"id": record["id"], "name": record[name_field]}

    def _today(self) -> str:
        return self.clock.stamp()[:10]

    # -- items and quantities ------------------------------------------------------------------
    def set_item_quantities(self, item_id: int, *, available: float | None = None, onhand: float | None = None,
                            onPO: float | None = None,  # noqa: N803 - SOS's field names
                            onSO: float | None = None,  # noqa: N803
                            onWO: float | None = None,  # noqa: N803
                            fire_hook: bool | None = None) -> dict:
        """Quantities change as transactions would change them: lastModified stays, hooks fire
        when onhand/available moved (or as `fire_hook` says)."""
        given = {"available": available, "onhand": onhand, "onPO": onPO, "onSO": onSO, "onWO": onWO}
        changes = {key: _number(value, key) for key, value in given.items() if value is not None}
        with self.lock:
            item = self._get(self.items, item_id)
            stock_moved = any(item[key] != changes[key] for key in ("onhand", "available") if key in changes)
            item.update(changes)  # in place: the list position (lastModified, id) does not change
            self._refresh_kits(item_id)
            if fire_hook or (fire_hook is None and stock_moved):
                self._fire_hooks(item)
            return _copy(item)

    def update_item(self, item_id: int, **fields: Any) -> dict:
        """An edit of the item record (name, sku, price, archived, …): lastModified moves."""
        with self.lock:
            item = self._get(self.items, item_id)
            changes = {key: fields[key] for key in ITEM_EDITABLE if key in fields}
            return _copy(self.items.put({**item, **changes, "lastModified": self.clock.stamp()}))

    def add_item(self, *, name: str, sku: str = "", type: str = "Inventory Item", **fields: Any) -> dict:
        """A new item record; quantities default to 0 (set them with set_item_quantities)."""
        if type not in ITEM_TYPES:
            raise ApiError(400, f"type must be one of {ITEM_TYPES}")
        with self.lock:
            record = {"id": self.items.new_id(), "name": name, "fullname": fields.get("fullname", name),
                      "sku": sku, "description": fields.get("description", ""), "type": type,
                      **{key: 0 for key in QUANTITY_FIELDS}, "salesPrice": fields.get("salesPrice", 0.0),
                      "archived": bool(fields.get("archived", False)), "lastModified": self.clock.stamp()}
            return _copy(self.items.put(record))

    def _refresh_kits(self, component_id: int) -> None:
        for kit_id in self._kits_using.get(component_id, ()):
            self._compute_kit(kit_id)

    def _compute_kit(self, kit_id: int) -> None:
        """A kit's available = whole kits its components' availability allows; onhand is 0."""
        kit = self.items[kit_id]
        kit["onhand"] = 0
        kit["available"] = kit_available((self.items[component]["available"], per)
                                         for component, per in self._kit_components[kit_id])

    def _take_stock(self, item_id: int, quantity: float) -> None:
        item = self.items[item_id]
        if item["type"] == "Kit":
            for component_id, per_kit in self._kit_components.get(item_id, ()):
                self._take_stock(component_id, quantity * per_kit)
        elif item["type"] in STOCK_TYPES:
            item["onhand"] = round(item["onhand"] - quantity, 6)
            item["available"] = round(item["available"] - quantity, 6)
            self._refresh_kits(item_id)
            self._fire_hooks(item)

    def _fire_hooks(self, item: dict) -> None:
        body = json.dumps({key: item.get(key) for key in HOOK_FIELDS}).encode()
        for hook in self.hooks.values():
            if hook["enabled"]:
                self.hook_deliverer.submit(hook["postUri"], body, {"Content-Type": "application/json"})

    def wait_for_hooks(self, timeout: float = 10.0) -> bool:
        """Block until every queued hook call has been delivered (or failed)."""
        return self.hook_deliverer.drain(timeout)

    @property
    def hook_deliveries(self) -> list[dict]:
        """Every hook POST attempt: {"url", "body", "headers", "attempt", "status", "error"}."""
        return self.hook_deliverer.log

    def _deliverers(self) -> list[Deliverer]:
        return [self.hook_deliverer]

    # -- customers -----------------------------------------------------------------------------
    def create_customer(self, **fields: Any) -> dict:
        with self.lock:
            return _copy(self._create_customer(fields))

    def update_customer(self, customer_id: int, **fields: Any) -> dict:
        with self.lock:
            return _copy(self._update_customer(customer_id, fields))

    def _create_customer(self, body: dict) -> dict:
        defaults = {key: None for key in CUSTOMER_EDITABLE} | {"archived": False, "notes": ""}
        record = self._customer_record(defaults, body)
        return self.customers.put({"id": self.customers.new_id(), **record, "lastModified": self.clock.stamp()})

    def _update_customer(self, customer_id: int, body: dict) -> dict:
        current = self._get(self.customers, customer_id)
        return self.customers.put({**self._customer_record(current, body), "lastModified": self.clock.stamp()})

    def _customer_record(self, current: dict, body: dict) -> dict:
        record = {**current, **{key: body[key] for key in CUSTOMER_EDITABLE if key in body}}
        if not isinstance(record.get("name"), str) or not record["name"].strip():
            raise ApiError(400, "name is required")
        record["salesRep"] = self._ref(self.sales_reps, record["salesRep"], "sales rep")
        record["priceTier"] = self._ref(self.price_tiers, record["priceTier"], "price tier")
        record["billing"] = _address(record["billing"], "billing")
        record["shipping"] = _address(record["shipping"], "shipping")
        record["archived"] = bool(record["archived"])
        return record

    # -- sales orders --------------------------------------------------------------------------
    def create_sales_order(self, **fields: Any) -> dict:
        with self.lock:
            return _copy(self._create_sales_order(fields))

    def update_sales_order(self, order_id: int, **fields: Any) -> dict:
        with self.lock:
            return _copy(self._update_sales_order(order_id, fields))

    def _create_sales_order(self, body: dict) -> dict:
        defaults = {key: None for key in ORDER_EDITABLE} | {
            "date": self._today(), "lines": [], "discountAmount": 0, "memo": "", "customerNotes": "", "closed": False}
        record = self._order_record(defaults, body)
        order_id = self.sales_orders.new_id()
        record["number"] = record["number"] or str(order_id)  # SOS numbers an order left without one
        self._check_number(record["number"], order_id)
        return self.sales_orders.put({"id": order_id, **record, "lastModified": self.clock.stamp()})

    def _update_sales_order(self, order_id: int, body: dict) -> dict:
        current = self._get(self.sales_orders, order_id)
        record = self._order_record(current, body)
        record["number"] = record["number"] or current["number"]
        self._check_number(record["number"], order_id)
        return self.sales_orders.put({**record, "lastModified": self.clock.stamp()})

    def _check_number(self, number: str, own_id: int | None) -> None:
        if len(number) > NUMBER_MAX_LENGTH:
            raise ApiError(400, f"Reference number {number!r} is longer than {NUMBER_MAX_LENGTH} characters")
        existing = self.sales_orders.find("number", number)
        if existing is not None and existing["id"] != own_id:
            raise ApiError(400, "Duplicate reference number")

    def _order_record(self, current: dict, body: dict) -> dict:
        record = {**current, **{key: body[key] for key in ORDER_EDITABLE if key in body}}
        record["number"] = str(record["number"] or "").strip()
        customer_ref = self._ref(self.customers, record["customer"], "customer", required=True)
        customer = self.customers[customer_ref["id"]]
        record["customer"] = customer_ref
        record["location"] = self._ref(self.locations, record["location"], "location")
        record["salesRep"] = self._ref(self.sales_reps, record["salesRep"], "sales rep")
        record["priceTier"] = self._ref(self.price_tiers, record["priceTier"], "price tier")
        record["billing"] = _address(record["billing"], "billing") or customer["billing"]
        record["shipping"] = _address(record["shipping"], "shipping") or customer["shipping"]
        record["lines"] = self._lines(record["lines"])
        record["discountAmount"] = _number(record["discountAmount"], "discountAmount", default=0)
        record["total"] = round(sum(line["amount"] for line in record["lines"]) - record["discountAmount"], 2)
        record["closed"] = bool(record["closed"])
        return record

    def _lines(self, lines: Any) -> list[dict]:
        if not isinstance(lines, list):
            raise ApiError(400, "lines must be a list")
        built = []
        for number, line in enumerate(lines, start=1):
            if not isinstance(line, dict):
                raise ApiError(400, f"line {number} must be an object")
            item_ref = self._ref(self.items, line.get("item"), "item", required=True, where=f"line {number}")
            item = self.items[item_ref["id"]]
            quantity = _number(line.get("quantity"), f"quantity (line {number})")
            unit_price = _number(line.get("unitprice"), f"unitprice (line {number})",
                                 default=item.get("salesPrice") or 0)
            built.append({"lineNumber": number, "item": item_ref,
                          "description": line.get("description") or item.get("description", ""),
                          "quantity": quantity, "unitprice": unit_price, "amount": round(quantity * unit_price, 2)})
        return built

    # -- invoices, shipments, payments (made in SOS by its users) ------------------------------
    def create_invoice(self, order_id: int, lines: list[dict] | None = None, *, number: str | None = None,
                       date: str | None = None) -> dict:
        """Invoice a sales order: all its lines (less its discount) unless `lines` (SOS line
        shape: {"item": {"id"}, "quantity", "unitprice"?}) are given."""
        with self.lock:
            order = self._get(self.sales_orders, order_id)
            if lines is None:
                built, total = _copy(order["lines"]), order["total"]
            else:
                built = self._lines(lines)
                total = round(sum(line["amount"] for line in built), 2)
            invoice_id = self.invoices.new_id()
            record = {"id": invoice_id, "number": number or f"INV-{invoice_id}", "date": date or self._today(),
                      "customer": order["customer"], "salesOrder": {"id": order["id"], "number": order["number"]},
                      "lines": built, "total": total, "amountDue": total, "lastModified": self.clock.stamp()}
            return _copy(self.invoices.put(record))

    def create_shipment(self, order_id: int, lines: list[dict] | None = None, *, number: str | None = None,
                        date: str | None = None, tracking_number: str = "", carrier: str = "") -> dict:
        """Ship a sales order (all its lines unless `lines` [{"item": {"id"}, "quantity"}]):
        stock of each shipped item drops and each line fires the quantity hook."""
        with self.lock:
            order = self._get(self.sales_orders, order_id)
            wanted = lines if lines is not None else [
                {"item": line["item"], "quantity": line["quantity"]} for line in order["lines"]]
            shipped = []
            for line_number, line in enumerate(wanted, start=1):
                item_ref = self._ref(self.items, line.get("item"), "item", required=True, where=f"line {line_number}")
                quantity = _number(line.get("quantity"), f"quantity (line {line_number})")
                shipped.append({"lineNumber": line_number, "item": item_ref, "quantity": quantity})
            shipment_id = self.shipments.new_id()
            record = {"id": shipment_id, "number": number or f"SH-{shipment_id}", "date": date or self._today(),
                      "customer": order["customer"], "salesOrder": {"id": order["id"], "number": order["number"]},
                      "lines": shipped, "trackingNumber": tracking_number, "carrier": carrier,
                      "lastModified": self.clock.stamp()}
            self.shipments.put(record)
            for line in shipped:
                self._take_stock(line["item"]["id"], line["quantity"])
            return _copy(record)

    def create_payment(self, **fields: Any) -> dict:
        with self.lock:
            return _copy(self._create_payment(fields))

    def _create_payment(self, body: dict) -> dict:
        amount = _number(body.get("amount"), "amount")
        if amount <= 0:
            raise ApiError(400, "amount must be positive")
        customer = self._ref(self.customers, body.get("customer"), "customer", required=True)
        invoice = self._ref(self.invoices, body.get("invoice"), "invoice", name_field="number")
        order = self._ref(self.sales_orders, body.get("salesOrder"), "sales order", name_field="number")
        payment_id = self.payments.new_id()
        record = {"id": payment_id, "number": str(body.get("number") or payment_id), "date": body.get("date") or
                  self._today(), "customer": customer, "amount": amount, "method": body.get("method") or "",
                  "invoice": invoice, "salesOrder": order, "memo": body.get("memo") or "",
                  "lastModified": self.clock.stamp()}
        if invoice is not None:
            paid = self.invoices[invoice["id"]]
            self.invoices.put({**paid, "amountDue": round(max(0.0, paid["amountDue"] - amount), 2),
                               "lastModified": self.clock.stamp()})
        return self.payments.put(record)

    # -- hooks -----------------------------------------------------------------------------------
    def _create_hook(self, body: dict) -> dict:
        if body.get("eventType") != HOOK_EVENT:
            raise ApiError(400, f"eventType must be {HOOK_EVENT!r}")
        uri = body.get("postUri")
        if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
            raise ApiError(400, "postUri must be an http(s) URL")
        return self.hooks.put({"id": self.hooks.new_id(), "eventType": HOOK_EVENT, "postUri": uri,
                               "additionalData": str(body.get("additionalData") or ""),
                               "enabled": bool(body.get("enabled", True)), "lastModified": self.clock.stamp()})

    def _delete_hook(self, hook_id: int) -> dict:
        self._get(self.hooks, hook_id)
        return self.hooks.remove(hook_id)

    # -- bulk data -------------------------------------------------------------------------------
    def load(self, *, items: Sequence[dict] = (), kit_components: dict[int, list[tuple[int, float]]] | None = None,
             locations: Sequence[dict] = (), customers: Sequence[dict] = (), sales_orders: Sequence[dict] = (),
             invoices: Sequence[dict] = (), shipments: Sequence[dict] = (), payments: Sequence[dict] = (),
             sales_reps: Sequence[dict] = (), price_tiers: Sequence[dict] = ()) -> None:
        """Add records as they are (ids and lastModified included); kits' availability is
        then derived from `kit_components` {kit id: [(component id, quantity per kit)]}."""
        with self.lock:
            for store, records in ((self.items, items), (self.locations, locations), (self.customers, customers),
                                   (self.sales_orders, sales_orders), (self.invoices, invoices),
                                   (self.shipments, shipments), (self.payments, payments),
                                   (self.sales_reps, sales_reps), (self.price_tiers, price_tiers)):
                if records:
                    store.load(records)
                    self.clock.observe(store.latest_stamp())
            for kit_id, parts in (kit_components or {}).items():
                self._kit_components[kit_id] = [(component, per) for component, per in parts]
                for component, _ in parts:
                    self._kits_using.setdefault(component, set()).add(kit_id)
                self._compute_kit(kit_id)

    def reset(self) -> None:
        """Remove all business records; hook subscriptions and tokens (the integration's own
        setup) stay."""
        with self.lock:
            for store, _ in self._resources.values():
                if store is not self.hooks:
                    store.clear()
            self._kit_components.clear()
            self._kits_using.clear()

    def state(self) -> dict:
        with self.lock:
            counts = {name: len(store) for name, (store, _) in self._resources.items()}
        return {"counts": counts, "hook_deliveries": len(self.hook_deliverer.log),
                "hooks_pending": self.hook_deliverer.pending()}
