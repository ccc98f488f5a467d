"""WizCommerce API emulator, following /work/shared/api/wizcommerce.md (the contract) and only it.

What the contract settles and this emulator enforces:
- Lists: `{"data", "pagination"}`, `sort` default **desc**, `sort_by` default `updated_at`,
  `updated_after/_before`, `created_after/_before` (strict comparisons), each only in the
  documented form `YYYY-MM-DDTHH:MM:SSZ` (WC-A12: anything else, fractions included, is a 400);
  orders filter by `order_status` (default **draft**), customers by `status` (default **active**,
  WC-A16).
- No uniqueness on `reference_id` (WC-A2: no duplicate answer is documented): a repeated POST
  creates a second record.
- `PUT /orders/{id}` is a full replace: fields the body leaves out are removed. Orders have no
  `version` and their lines no `id`. There is no payment resource: an online payment raises the
  order's `amount_paid` (a user action, `record_payment`), and sends no event.
- `POST /inventories` refuses a body without every required field (400 naming them).
- Customer reads carry `name` (writes send `company_name`); invoice status PAID|PENDING|
  PARTIALLY_PAID|OVERPAID.
- Product writes are the documented ones only: `POST /products` takes `{group_code, variants:
  [{sku_id, reference_id, name, attributes, product_prices, ...}]}` (one product per variant,
  read back with `sku`); `PATCH /products/{id}` may only set `status` to `inactive`: anything
  else is a 400 naming why. (A user's own edits in the app, `update_product`, may change more.)
- Orders read back only the documented read fields: `discount_value`, `tax_value`,
  `shipping_charge`, `customer_consent`, `container_info` and an order address's `type` are
  accepted on write (and count in `amount`) but never returned (WC-A13). Since a PUT replaces
  the whole order, a PUT that leaves them out removes them.
- `payment_status` on an order write: "PAID" or absent/null only (WC-A18: the one documented
  value); anything else is a 400.
- Webhooks are thin, `{"id","event","timestamp","data":{"id"}}`, and only for `customer.*`.
  Authentication is switchable between the two public readings: "signature" (X-Wizcommerce-
  Signature, one HMAC-SHA256 per active secret, comma-separated, hex or base64 as chosen) and
  "header" (a custom header carrying the secret).

Choices where the contract is silent ([assumed] readings):
- `POST` answers 201, `PATCH` 200, `PUT /orders/{id}` 201 (as documented). A product create
  answers its primary (first) variant as read.
- A customer written with `contacts` reads its default contact's first/last name, email and
  phone at the top level (where the read documents them) unless those are written too.
- A second product with a sku already taken answers 400 `validation_error` (inventories upsert by
  sku, so it names one product); a duplicate `reference_id` is created (see `refuse_duplicate_reference_id`).
- `GET /v1/inventories?sku=a,b` is a list like every other (SDK: filters `sku`, `status`
  active|inactive, `sort_by` created_at|updated_at|product_id|id; no default status filter); an
  upsert for a sku no product has answers 404 `not_found`. A user may edit an inventory record
  in WizCommerce itself (`edit_inventory`): no event is sent (no `inventory.*` is documented);
  likewise an invoice or shipment (`edit_document`).
- `next_page` is 0 on the last page.

Switchable where the contract names two readings (`configure(...)`, defaults strict):
- `sku_id_list` (WC-A10): whether `sku_id` takes a comma-separated list; False (default) answers
  a comma in `sku_id` with 400.
- `refuse_duplicate_reference_id` (WC-A2): False (default) creates a second record on a POST
  whose `reference_id` is taken; True answers it 400 `validation_error` (no 409 is documented).
- The probe rows of the Assumptions index (R-OPS-5), each default the documented or safe reading:
  `next_page_on_last_page` "zero"|"next" (WC-A1); `inventory_read` "full"|"partial" (WC-A4:
  partial reads lack `notes`, `dynamic_details`); `shipment_case` "snake_case"|"camelCase"|"mixed"
  (WC-A5: shipment reads' keys); `reference_ids_documents` "honoured"|"ignored" (WC-A9, on
  products, invoices, shipments); `updated_after_documents` "honoured"|"ignored"|"refused" (WC-A11,
  on invoices and shipments; "refused" = 400, fitting neither reading); `order_reads_write_only`
  False|True (WC-A13: reads carry `discount_value` and address `type`); `invoice_order_id`
  "order id"|"reference" (WC-A14: what an invoice's `order_id` names); `order_source_kept`
  True|False (WC-A15: False overwrites an API-created order's `source`); `customer_list_default`
  "active"|"all" (WC-A16: what the customer list shows without `status`); `cancelled_orders`
  "listed"|"refused" (WC-A19: "refused" answers `order_status=cancelled` 400, fitting neither
  reading).
- Webhook delivery retries on the public schedule (30 s, 1, 2, 4, 8 min) unless told otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import secrets
import uuid
from collections.abc import Sequence
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
    canonical_stamp,
    json_response,
)

API = "/v1"
PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100
PUBLIC_RETRY_DELAYS = (30.0, 60.0, 120.0, 240.0, 480.0)
PRODUCT_STATUSES = ("active", "inactive")
ORDER_STATUSES = ("draft", "confirmed", "cancelled")
INVENTORY_STATUSES = ("IN_STOCK", "OUT_OF_STOCK", "BACK_ORDER")
# List orders by resource beyond updated_at|created_at (the SDK's list types).
EXTRA_SORT_FIELDS = {"inventories": ("product_id", "id")}
# What a user may set on an inventory record in WizCommerce (the documented body less its key).
INVENTORY_EDITABLE = ("available_quantity", "reserved_quantity", "in_stock_quantity", "back_order_quantity",
                      "back_order_allowed", "out_of_stock_threshold", "inventory_status", "track_inventory",
                      "on_order_details", "in_transit_details", "dynamic_details", "notes")
INVOICE_STATUSES = ("PAID", "PENDING", "PARTIALLY_PAID", "OVERPAID")
INVENTORY_REQUIRED = ("sku", "available_quantity", "reserved_quantity", "in_stock_quantity", "out_of_stock_threshold",
                      "inventory_status", "track_inventory", "on_order_details", "in_transit_details")
CUSTOMER_EVENTS_ONLY = "customer."
SHIPMENT_STATUSES = ("created", "shipped", "fulfilled")
ADDRESS_FIELDS = ("id", "reference_id", "type", "is_default", "first_name", "last_name", "address_line_1",
                  "address_line_2", "city", "state", "country", "zip_code", "phone", "email")
# Customer writes use the documented write names; `company_name` is read back as `name`.
CUSTOMER_EDITABLE = ("reference_id", "display_id", "display_name", "company_name", "first_name",
                     "last_name", "email", "phone", "status", "payment_term", "addresses", "contacts")
CONTACT_FIELDS = ("id", "reference_id", "first_name", "last_name", "email", "phone", "designation", "is_default")
CONTACT_PERSON = ("first_name", "last_name", "email", "phone")  # read at the top level from the default contact
# Product create: the documented top-level and variant fields (R/v2/product/create-product).
PRODUCT_CREATE_FIELDS = ("group_code", "variants")
PRODUCT_VARIANT_FIELDS = ("sku_id", "reference_id", "name", "attributes", "product_prices", "medias",
                          "description", "status")
# Written with an order, never read back (WC-A13): kept privately, counted in `amount`.
ORDER_WRITE_ONLY = ("discount_value", "tax_value", "shipping_charge", "customer_consent", "container_info")
ORDER_ADDRESS_READ = ("id", "first_name", "last_name", "phone", "email", "address_line_1", "address_line_2", "city",
                      "state", "country", "zip_code")
ORDER_PAYMENT_STATUSES = ("PAID",)  # WC-A18: the only documented value
# The documented order body (R/orders/create-order, get-order); PUT replaces all of it.
ORDER_EDITABLE = ("reference_id", "display_id", "customer_id", "status", "line_items", "discount_value", "tax_value",
                  "shipping_charge", "customer_note", "internal_note", "price_list_id", "billing_address",
                  "shipping_address", "source", "amount_paid", "payment_status", "payment_method_id",
                  "payment_method", "payment_term", "shipping_method", "freight_term", "shipment_date", "due_date",
                  "po_number", "fulfillment_status", "primary_contact", "charges", "customer_consent",
                  "container_info")
INVOICE_EDITABLE = ("reference_id", "order_id", "invoice_number", "total_amount", "paid_amount", "status",
                    "due_date", "remarks", "url", "items")
SHIPMENT_EDITABLE = ("reference_id", "order_id", "shipment_status", "tracking_info", "shipment_items", "note")
# switch → its allowed values, the first the default (bool: False/True as given)
SWITCHES: dict[str, tuple[Any, ...]] = {
    "sku_id_list": (False, True), "refuse_duplicate_reference_id": (False, True),
    "next_page_on_last_page": ("zero", "next"),                              # WC-A1
    "inventory_read": ("full", "partial"),                                   # WC-A4
    "shipment_case": ("snake_case", "camelCase", "mixed"),                   # WC-A5
    "reference_ids_documents": ("honoured", "ignored"),                      # WC-A9
    "updated_after_documents": ("honoured", "ignored", "refused"),           # WC-A11
    "order_reads_write_only": (False, True),                                 # WC-A13
    "invoice_order_id": ("order id", "reference"),                           # WC-A14
    "order_source_kept": (True, False),                                      # WC-A15
    "customer_list_default": ("active", "all"),                              # WC-A16
    "cancelled_orders": ("listed", "refused"),                               # WC-A19
}
REFERENCE_IDS_ASSUMED = ("products", "invoices", "shipments")  # WC-A9
UPDATED_AFTER_ASSUMED = ("invoices", "shipments")  # WC-A11
PARTIAL_INVENTORY_READ = ("notes", "dynamic_details")  # WC-A4 "partial": not read back
TIME_FILTERS = ("updated_after", "updated_before", "created_after", "created_before")
WHOLE_SECOND_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")  # the documented filter form
DEFAULT_CODES = {400: "validation_error", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
                 429: "rate_limited"}


def _copy(record: Any) -> Any:
    """A detached copy for programmatic callers (store records stay private to the lock)."""
    return json.loads(json.dumps(record))


def _invalid(field: str, reason: str) -> ApiError:
    return ApiError(400, f"{field}: {reason}", code="validation_error", details=[{"field": field, "reason": reason}])


def _number(value: Any, field: str, *, default: float | None = None) -> float:
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid(field, "must be a number")
    return value


def _choice(value: Any, allowed: Sequence[str], field: str) -> str:
    if value not in allowed:
        raise _invalid(field, f"must be one of {', '.join(allowed)}")
    return value


def _text(value: Any, field: str, *, required: bool = False) -> str:
    if value is None or value == "":
        if required:
            raise _invalid(field, "is required")
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise _invalid(field, "must be a string")
    return str(value)


def _split(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def _time_filter(name: str) -> str | None:
    """A time filter in the documented form only (WC-A12), as a stamp to compare with; 400 else."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if not WHOLE_SECOND_UTC.fullmatch(raw):
        raise _invalid(name, f"must be a UTC time in whole seconds, YYYY-MM-DDTHH:MM:SSZ (got {raw!r})")
    try:
        return canonical_stamp(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _invalid(name, f"not a valid time: {raw!r}") from exc


def _company_name(fields: dict) -> dict:
    """The user methods take the name as it reads (`name`); the API writes it as `company_name`."""
    name = fields.pop("name", None)
    return {"company_name": name, **fields} if name is not None else fields


def _sub_id(prefix: str) -> str:
    """Ids of records inside records (line items, addresses)."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


class WizEmulator(Emulator):
    """The WizCommerce API on a local port: `start()` → base URL; paths under `/v1`,
    header `X-API-Key: <api_key>`. Outgoing webhooks go to `set_webhook_target(...)`."""

    SEED_ROLE = "wiz"
    RESOURCE_PATH = API
    ADMIN_ACTIONS = frozenset({
        "create_product", "update_product", "create_customer", "update_customer", "create_order", "update_order",
        "set_order_status", "record_payment", "set_webhook_target", "edit_inventory",
        "edit_document", "configure",
    })

    def __init__(self, *, api_key: str | None = None, webhook_retry_delays: Sequence[float] = PUBLIC_RETRY_DELAYS,
                 webhook_timeout: float = 30.0, rate_limit_rps: float | None = None, host: str = "127.0.0.1",
                 port: int = 0):
        super().__init__(host=host, port=port, rate_limit_rps=rate_limit_rps)
        self.api_key = api_key or f"wiz_{secrets.token_urlsafe(24)}"
        self.products = RecordStore("updated_at", id_prefix="prod", unique=("sku",), indexed=("reference_id",))
        self.inventories = RecordStore("updated_at", id_field="sku")
        self.customers = RecordStore("updated_at", id_prefix="cust", indexed=("reference_id",))
        self.orders = RecordStore("updated_at", id_prefix="ord", indexed=("reference_id",))
        self.invoices = RecordStore("updated_at", id_prefix="inv", indexed=("reference_id",))
        self.shipments = RecordStore("updated_at", id_prefix="shp", indexed=("reference_id",))
        self.price_lists = RecordStore("updated_at", id_prefix="pl", unique=("reference_id",))
        self.sales_reps = RecordStore("updated_at", id_prefix="rep")
        for name, values in SWITCHES.items():
            setattr(self, name, values[0])
        self._order_write_only: dict[str, dict[str, Any]] = {}  # order id → what it was written with, unread
        self.outbox: list[dict] = []  # every emitted event: {"envelope", "body" (bytes), "headers"}
        self.webhook_deliverer = Deliverer(timeout=webhook_timeout, retry_delays=webhook_retry_delays)
        self._webhook: dict[str, Any] = {"url": None, "secrets": [], "mode": "signature", "encoding": "hex",
                                         "header_name": "X-Webhook-Key"}

        # resource → (store, writers by method); a method without a writer answers 405
        self._resources: dict[str, tuple[RecordStore, dict[str, Any]]] = {
            "products": (self.products, {"POST": self._post_product, "PATCH": self._patch_product}),
            "inventories": (self.inventories, {"POST": self._upsert_inventory}),
            "customers": (self.customers, {"POST": self._post_customer, "PATCH": self._update_customer}),
            "orders": (self.orders, {"POST": self._create_order, "PUT": self._replace_order}),
            "invoices": (self.invoices, {"POST": self._create_invoice, "PATCH": self._update_invoice}),
            "shipments": (self.shipments, {"POST": self._create_shipment, "PATCH": self._update_shipment}),
            "price-lists": (self.price_lists, {}),
            "sales-reps": (self.sales_reps, {}),
        }

    # -- switches --------------------------------------------------------------------------------
    def configure(self, **switches: Any) -> dict:
        """Pick the readings of the contract's open points (see the module docstring)."""
        unknown = set(switches) - set(SWITCHES)
        if unknown:
            raise ApiError(400, f"unknown switches {sorted(unknown)}; known: {list(SWITCHES)}")
        for name, value in switches.items():
            allowed = SWITCHES[name]
            if not any(value == option and type(value) is type(option) for option in allowed):
                raise ApiError(400, f"{name} must be one of {list(allowed)} (got {value!r})")
        with self.lock:
            for name, value in switches.items():
                setattr(self, name, value)
            return {name: getattr(self, name) for name in SWITCHES}

    # -- HTTP ----------------------------------------------------------------------------------
    def authenticate(self) -> None:
        if not hmac.compare_digest(request.headers.get("X-API-Key", ""), self.api_key):
            raise ApiError(401, "Missing or invalid API key", code="unauthorized")

    def error_body(self, error: ApiError) -> dict:
        code = error.code or DEFAULT_CODES.get(error.status, "server_error" if error.status >= 500 else "error")
        return {"code": code, "message": error.message, "details": error.details}

    def _register_routes(self) -> None:
        route = self.app.add_url_rule
        route(f"{API}/<resource>", "collection", self._collection, methods=["GET", "POST"])
        route(f"{API}/<resource>/<record_id>", "record", self._record, methods=["GET", "PUT", "PATCH"])
        route(f"{API}/orders/<order_id>/status", "order_status", self._order_status, methods=["PATCH"])
        route(f"{ADMIN_PREFIX}/outbox", "admin_outbox", self._admin_outbox, methods=["GET"])

    def _collection(self, resource: str) -> Response:
        store = self._resource(resource)[0]
        if request.method == "GET":
            with self.lock:
                return self._list(resource, store)
        writer, body = self._writer(resource), json_body()
        with self.lock:
            reference_id = _text(body.get("reference_id"), "reference_id")
            if self.refuse_duplicate_reference_id and reference_id and store.lookup("reference_id", [reference_id]):
                raise _invalid("reference_id", "already exists")
            return json_response({"data": self._shown(resource, writer(body), written=True)}, 201)

    def _record(self, resource: str, record_id: str) -> Response:
        store = self._resource(resource)[0]
        if request.method == "GET":
            with self.lock:
                return json_response({"data": self._shown(resource, self._get(store, record_id))})
        writer, body = self._writer(resource), json_body()
        with self.lock:
            return json_response({"data": self._shown(resource, writer(record_id, body))},
                                 201 if request.method == "PUT" else 200)

    def _shown(self, resource: str, record: dict, *, written: bool = False) -> dict:
        """A record as this account's API answers it, under the switched readings (WC-A4, A5, A13, A15)."""
        if resource == "orders" and written and not self.order_source_kept and request.method == "POST":
            record = self.orders.put({**record, "source": "wizcommerce"})  # WC-A15 "not kept"
        if resource == "inventories" and self.inventory_read == "partial":
            return {key: value for key, value in record.items() if key not in PARTIAL_INVENTORY_READ}
        if resource == "shipments" and self.shipment_case != "snake_case":
            camel = (lambda key: re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key))
            keys = ("reference_id", "order_id") if self.shipment_case == "mixed" else tuple(record)
            return {camel(key) if key in keys else key: value for key, value in record.items()}
        if resource == "orders" and self.order_reads_write_only:  # WC-A13 "carried"
            kept = self._order_write_only.get(record["id"], {})
            return {**record, "discount_value": kept.get("discount_value", 0),
                    **{side: {**record[side], "type": side.split("_")[0]} for side in ("billing_address",
                                                                                      "shipping_address")
                       if isinstance(record.get(side), dict)}}
        return record

    def _order_status(self, order_id: str) -> Response:
        status = json_body().get("status")
        with self.lock:
            return json_response({"data": self._update_order(order_id, {"status": status})})

    def _admin_outbox(self) -> Response:
        """Emitted events from index `?start=` on, as JSON, for replay by another process."""
        start = clamp_int(request.args.get("start"), default=0, low=0, high=2**31, name="start")
        with self.lock:
            events = [{"envelope": event["envelope"], "body": event["body"].decode(), "headers": event["headers"]}
                      for event in self.outbox[start:]]
        return json_response({"data": events, "total": len(self.outbox)})

    def _list(self, resource: str, store: RecordStore) -> Response:
        args = request.args
        page = clamp_int(args.get("page"), default=1, low=1, high=2**31, name="page")
        size = clamp_int(args.get("page_size"), default=PAGE_SIZE_DEFAULT, low=1, high=PAGE_SIZE_MAX,
                         name="page_size")
        sort_by = _choice(args.get("sort_by", "updated_at"),
                          ("updated_at", "created_at", *EXTRA_SORT_FIELDS.get(resource, ())), "sort_by")
        descending = _choice(args.get("sort", "desc"), ("asc", "desc"), "sort") == "desc"
        updated_after, updated_before, created_after, created_before = map(_time_filter, TIME_FILTERS)
        status, status_field = args.get("status"), "status"
        if resource == "orders":  # `order_status`, default draft (R/orders/get-orders.md)
            status = _choice(args.get("order_status", "draft"), ORDER_STATUSES, "order_status")
            if status == "cancelled" and self.cancelled_orders == "refused":  # WC-A19: neither reading
                raise _invalid("order_status", "cancelled is not a filter of this account")
        elif resource == "customers":  # default active (R/customer)
            status = args.get("status", "active")
        elif resource == "shipments":
            status_field = "shipment_status"
        elif resource == "inventories" and status:
            _choice(status, PRODUCT_STATUSES, "status")
        if not self.sku_id_list and "," in args.get("sku_id", ""):
            raise _invalid("sku_id", "takes one sku (WC-A10: no comma-separated list)")
        if resource in UPDATED_AFTER_ASSUMED and self.updated_after_documents != "honoured" and (
                updated_after or updated_before):
            if self.updated_after_documents == "refused":  # WC-A11: an answer fitting neither reading
                raise _invalid("updated_after", f"not a filter of {resource}")
            updated_after = updated_before = None  # WC-A11 "ignored"
        if resource == "customers" and "status" not in args and self.customer_list_default == "all":
            status = None  # WC-A16 "all"
        references = args.get("reference_ids")
        if resource in REFERENCE_IDS_ASSUMED and self.reference_ids_documents == "ignored":
            references = None  # WC-A9 "ignored"
        wanted = {"reference_id": set(_split(references)),
                  "sku": set(_split(args.get("sku_id") or args.get("sku")))}

        # Narrow down without a scan where possible: an index for id lists, the store's kept
        # status view (one scan per change, not per page) and bisection for times.
        rows = None
        for field_name, values in wanted.items():
            if values and rows is None:
                rows = store.lookup(field_name, values)  # None: no index on that field
        checks = [lambda r, f=f, v=v: r.get(f) in v for f, v in wanted.items() if v]
        where = (status_field, status) if status else None
        if rows is None:
            rows = store.ordered(where)
            lo, hi = 0, len(rows)
            if updated_after:
                lo = store.first_index(updated_after, inclusive=False, where=where)
            if updated_before:
                hi = max(lo, store.first_index(updated_before, inclusive=True, where=where))
        else:
            lo, hi = 0, len(rows)
            if updated_after:
                checks.append(lambda r: r["updated_at"] > updated_after)
            if updated_before:
                checks.append(lambda r: r["updated_at"] < updated_before)
            if status:
                checks.append(lambda r: r.get(status_field) == status)
        if created_after:
            checks.append(lambda r: r["created_at"] > created_after)
        if created_before:
            checks.append(lambda r: r["created_at"] < created_before)
        if checks:
            rows = [row for row in rows[lo:hi] if all(check(row) for check in checks)]
            lo, hi = 0, len(rows)

        if sort_by != "updated_at":  # the store keeps updated_at order; others are sorted per request
            rows, lo, hi = sorted(rows[lo:hi], key=lambda r: (r.get(sort_by) or "", r.get("id"))), 0, hi - lo
        total = hi - lo
        offset = (page - 1) * size
        if descending:
            end = hi - offset
            data = rows[max(lo, end - size):end][::-1] if end > lo else []
        else:
            data = rows[lo + offset:min(hi, lo + offset + size)]
        pages = math.ceil(total / size)
        last_next = page + 1 if self.next_page_on_last_page == "next" else 0  # WC-A1
        return json_response({"data": [self._shown(resource, row) for row in data], "pagination": {
            "total_records": total, "total_pages": pages, "current_page": page,
            "next_page": page + 1 if page < pages else last_next, "prev_page": page - 1 if page > 1 else 0,
            "page_size": size}})

    # -- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _get(store: RecordStore, record_id: Any) -> dict:
        record = store.get(record_id)
        if record is None:
            raise ApiError(404, f"Record {record_id} not found", code="not_found")
        return record

    @staticmethod
    def _check_unique(store: RecordStore, field: str, value: str, own_id: str | None) -> None:
        """A 400 when another record holds `value` (no 409 or duplicate code is documented)."""
        existing = store.find(field, value) if value else None
        if existing is not None and existing["id"] != own_id:
            raise _invalid(field, "already exists")

    def _existing(self, store: RecordStore, value: Any, field: str) -> dict | None:
        """The record a `<thing>_id` field names (None if the field is empty); 400 if unknown."""
        if value in (None, ""):
            return None
        record = store.get(value)
        if record is None:
            raise _invalid(field, f"no record with id {value!r}")
        return record

    def _addresses(self, value: Any, field: str) -> list[dict]:
        if not isinstance(value, list):
            raise _invalid(field, "must be a list")
        return [self._address(address, f"{field}[{n}]") for n, address in enumerate(value)]

    @staticmethod
    def _address(value: Any, field: str) -> dict | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _invalid(field, "must be an object")
        address = {key: value.get(key) for key in ADDRESS_FIELDS}
        if address["type"] is not None:
            _choice(address["type"], ("billing", "shipping"), f"{field}.type")
        address["id"] = address["id"] or _sub_id("addr")
        return address

    # -- products and inventories --------------------------------------------------------------
    def create_product(self, **fields: Any) -> dict:
        with self.lock:
            return _copy(self._create_product(fields))

    def update_product(self, product_id: str, **fields: Any) -> dict:
        with self.lock:
            return _copy(self._update_product(product_id, fields))

    def _create_product(self, body: dict) -> dict:
        now = self.clock.stamp()
        record = self._product_record({"reference_id": "", "status": "active"}, body, own_id=None)
        return self.products.put({"id": self.products.new_id(), **record, "created_at": now, "updated_at": now})

    def _post_product(self, body: dict) -> dict:
        """POST /products, the documented shape: a group of variants, each its own product."""
        unknown = sorted(set(body) - set(PRODUCT_CREATE_FIELDS))
        if unknown:
            raise _invalid(unknown[0], "not a product create field (send {group_code, variants: [{sku_id, "
                                       "reference_id, name, ...}]})")
        group_code = _text(body.get("group_code"), "group_code", required=True)
        variants = body.get("variants")
        if not isinstance(variants, list) or not variants:
            raise _invalid("variants", "must be a non-empty list")
        created = []
        for n, variant in enumerate(variants):
            field = f"variants[{n}]"
            if not isinstance(variant, dict):
                raise _invalid(field, "must be an object")
            unknown = sorted(set(variant) - set(PRODUCT_VARIANT_FIELDS))
            if unknown:
                raise _invalid(f"{field}.{unknown[0]}", "not a variant field (the sku is written as `sku_id`)")
            attributes = variant.get("attributes") or []
            if not isinstance(attributes, list) or not all(isinstance(a, dict) and a.get("name") for a in attributes):
                raise _invalid(f"{field}.attributes", "must be a list of {name, value}")
            created.append(self._create_product({
                "sku": _text(variant.get("sku_id"), f"{field}.sku_id", required=True),
                "name": _text(variant.get("name"), f"{field}.name", required=True),
                "reference_id": variant.get("reference_id") or "", "group_code": group_code, "is_primary": n == 0,
                "attributes": [{"id": _sub_id("attr"), "name": a["name"], "value": a.get("value")} for a in attributes],
                **({"status": variant["status"]} if "status" in variant else {})}))
        return created[0]

    def _patch_product(self, product_id: str, body: dict) -> dict:
        """PATCH /products/{id}: documented only to set `status` to `inactive`."""
        if set(body) != {"status"} or body["status"] != "inactive":
            others = sorted(set(body) - {"status"})
            raise _invalid(others[0] if others else "status",
                           "a product PATCH may only set status to inactive (other changes are made in WizCommerce)")
        return self._update_product(product_id, body)

    def _update_product(self, product_id: str, body: dict) -> dict:
        current = self._get(self.products, product_id)
        record = self._product_record(current, body, own_id=product_id)
        return self.products.put({**record, "updated_at": self.clock.stamp()})

    def _product_record(self, current: dict, body: dict, *, own_id: str | None) -> dict:
        record = {"group_code": None, "is_primary": True, "attributes": [], **current,
                  **{key: body[key] for key in ("reference_id", "sku", "name", "status", "group_code", "is_primary",
                                                "attributes") if key in body}}
        record["reference_id"] = _text(record.get("reference_id"), "reference_id")
        record["sku"] = _text(record.get("sku"), "sku", required=True)
        record["name"] = _text(record.get("name"), "name", required=True)
        record["status"] = _choice(record["status"], PRODUCT_STATUSES, "status")
        record["group_code"] = record["group_code"] or record["sku"]
        self._check_unique(self.products, "sku", record["sku"], own_id)
        return record

    def edit_inventory(self, sku: str, **fields: Any) -> dict:
        """A user changing a SKU's inventory in WizCommerce itself (not through the API we call):
        the same checks as an upsert, a new `updated_at`, no event."""
        unknown = set(fields) - set(INVENTORY_EDITABLE)
        if unknown:
            raise ValueError(f"not editable on an inventory record: {', '.join(sorted(unknown))}")
        with self.lock:
            current = self._get(self.inventories, sku)
            return _copy(self._upsert_inventory({**current, **fields}))

    def _upsert_inventory(self, body: dict) -> dict:
        """One SKU per call; every required field must be there (the SDK's list)."""
        missing = [field for field in INVENTORY_REQUIRED if body.get(field) is None]
        if missing:
            raise ApiError(400, f"missing required fields: {', '.join(missing)}", code="validation_error",
                           details=[{"field": field, "reason": "is required"} for field in missing])
        sku = _text(body.get("sku"), "sku", required=True)
        product = self.products.find("sku", sku)
        if product is None:
            raise ApiError(404, f"No product has sku {sku!r}", code="not_found",
                           details=[{"field": "sku", "reason": "no product with this sku"}])
        record: dict[str, Any] = {"sku": sku}
        for field in ("available_quantity", "reserved_quantity", "in_stock_quantity", "out_of_stock_threshold"):
            record[field] = _number(body[field], field)
        record["back_order_quantity"] = _number(body.get("back_order_quantity"), "back_order_quantity", default=0)
        for field, default in (("track_inventory", None), ("back_order_allowed", False)):
            value = body.get(field, default)
            if not isinstance(value, bool):
                raise _invalid(field, "must be true or false")
            record[field] = value
        record["inventory_status"] = _choice(body["inventory_status"], INVENTORY_STATUSES, "inventory_status")
        record["on_order_details"] = self._on_order_details(body["on_order_details"], "on_order_details")
        record["in_transit_details"] = self._on_order_details(body["in_transit_details"], "in_transit_details")
        for field in ("dynamic_details", "notes"):
            record[field] = _text(body.get(field), field) or None
        now = self.clock.stamp()
        current = self.inventories.get(sku) or {"created_at": now}
        return self.inventories.put({**current, **record, "id": current.get("id") or _sub_id("invt"),
                                     "product_id": product["id"], "status": "active", "updated_at": now})

    @staticmethod
    def _on_order_details(value: Any, name: str) -> list[dict]:
        if not isinstance(value, list):
            raise _invalid(name, "must be a list")
        details = []
        for n, entry in enumerate(value):
            if not isinstance(entry, dict):
                raise _invalid(f"{name}[{n}]", "must be an object")
            date = entry.get("date")  # returned as YYYY-MM-DD
            details.append({"quantity": _number(entry.get("quantity"), f"{name}[{n}].quantity"),
                            "date": str(date)[:10] if date else None,
                            "identifier": _text(entry.get("identifier"), f"{name}[{n}].identifier")})
        return details

    # -- customers -----------------------------------------------------------------------------
    def create_customer(self, **fields: Any) -> dict:
        """A customer created by a user in WizCommerce (sends customer.created); `name` = company."""
        with self.lock:
            return _copy(self._create_customer(_company_name(fields)))

    def update_customer(self, customer_id: str, **fields: Any) -> dict:
        """A customer edited by a user in WizCommerce (sends customer.updated); `name` = company."""
        with self.lock:
            return _copy(self._update_customer(customer_id, _company_name(fields)))

    def _post_customer(self, body: dict) -> dict:
        """POST /customers: company_name, display_name and reference_id are required (SDK)."""
        missing = [field for field in ("company_name", "display_name", "reference_id") if not body.get(field)]
        if missing:
            raise ApiError(400, f"missing required fields: {', '.join(missing)}", code="validation_error",
                           details=[{"field": field, "reason": "is required"} for field in missing])
        return self._create_customer(body)

    def _create_customer(self, body: dict) -> dict:
        now = self.clock.stamp()
        customer_id = self.customers.new_id()
        defaults = {key: None for key in CUSTOMER_EDITABLE if key != "company_name"} | {"name": None} | {
            "reference_id": "", "display_id": f"C-{customer_id.split('_')[1].zfill(5)}", "status": "active",
            "addresses": [], "contacts": [], "assigned_sales_reps": [], "assigned_price_list": None,
            "created_at": now}
        record = self._customer_record(defaults, body)
        record = self.customers.put({"id": customer_id, **record, "updated_at": now})
        self._emit("customer.created", record)
        return record

    def _update_customer(self, customer_id: str, body: dict) -> dict:
        current = self._get(self.customers, customer_id)
        record = self._customer_record(current, body)
        record = self.customers.put({**record, "updated_at": self.clock.stamp()})
        self._emit("customer.updated", record)
        return record

    def _customer_record(self, current: dict, body: dict) -> dict:
        record = {**current, **{key: body[key] for key in CUSTOMER_EDITABLE if key in body}}
        record["reference_id"] = _text(record["reference_id"], "reference_id")
        full_name = " ".join(filter(None, (record.get("first_name"), record.get("last_name"))))
        # written as `company_name`, read back as `name`
        record["name"] = record.pop("company_name", None) or record["name"] or full_name
        if not record["name"]:
            raise _invalid("company_name", "is required")
        record["display_name"] = record["display_name"] or record["name"]
        record["addresses"] = self._addresses(record["addresses"], "addresses")
        if "contacts" in body:
            record["contacts"] = self._contacts(body["contacts"])
            default = next((c for c in record["contacts"] if c["is_default"]), None)
            for key in CONTACT_PERSON:
                if default is not None and key not in body:
                    record[key] = default[key]
        if "assigned_sales_rep_ids" in body:
            rep_ids = body["assigned_sales_rep_ids"] or []
            if not isinstance(rep_ids, list):
                raise _invalid("assigned_sales_rep_ids", "must be a list")
            reps = [self._existing(self.sales_reps, rep_id, "assigned_sales_rep_ids") for rep_id in rep_ids]
            record["assigned_sales_reps"] = [
                {key: rep[key] for key in ("id", "email", "first_name", "last_name")} for rep in reps if rep]
        if "assigned_price_list_id" in body:
            price_list = self._existing(self.price_lists, body["assigned_price_list_id"], "assigned_price_list_id")
            record["assigned_price_list"] = price_list and {"id": price_list["id"], "name": price_list["name"]}
        return record

    @staticmethod
    def _contacts(value: Any) -> list[dict]:
        if not isinstance(value, list) or not all(isinstance(contact, dict) for contact in value):
            raise _invalid("contacts", "must be a list of objects")
        return [{**{key: contact.get(key) for key in CONTACT_FIELDS}, "id": contact.get("id") or _sub_id("cont"),
                 "is_default": bool(contact.get("is_default"))} for contact in value]

    # -- orders --------------------------------------------------------------------------------
    def create_order(self, customer_id: str, line_items: list[dict], status: str = "confirmed",
                     **fields: Any) -> dict:
        """An order placed by a user: confirmed unless told otherwise. No event: none is documented."""
        with self.lock:
            return _copy(self._create_order({**fields, "customer_id": customer_id, "line_items": line_items,
                                             "status": status}))

    def update_order(self, order_id: str, **fields: Any) -> dict:
        """An edit by a user in the app: the given fields change, the rest stay."""
        with self.lock:
            return _copy(self._update_order(order_id, fields))

    def set_order_status(self, order_id: str, status: str) -> dict:
        with self.lock:
            return _copy(self._update_order(order_id, {"status": status}))

    def record_payment(self, order_id: str, amount: float) -> dict:
        """An online payment made in WizCommerce: the order's `amount_paid` rises. WizCommerce has
        no payment resource and documents no payment event, so nothing is sent."""
        if _number(amount, "amount") <= 0:
            raise _invalid("amount", "must be positive")
        with self.lock:
            order = self._get(self.orders, order_id)
            return _copy(self._update_order(order_id, {"amount_paid": round(order["amount_paid"] + amount, 2),
                                                       "payment_method": "card"}))

    def _create_order(self, body: dict) -> dict:
        now = self.clock.stamp()
        order_id = self.orders.new_id()
        record = self._order_record(body, order_id=order_id, created_at=now)
        return self.orders.put({**record, "updated_at": now})

    def _replace_order(self, order_id: str, body: dict) -> dict:
        """PUT /orders/{id}: the body replaces the whole order; fields it leaves out are removed."""
        current = self._get(self.orders, order_id)
        record = self._order_record(body, order_id=order_id, created_at=current["created_at"])
        return self.orders.put({**record, "updated_at": self.clock.stamp()})

    def _update_order(self, order_id: str, fields: dict) -> dict:
        current = self._get(self.orders, order_id)
        body = {key: current[key] for key in ORDER_EDITABLE if key in current} | self._order_write_only.get(
            order_id, {}) | fields
        record = self._order_record(body, order_id=order_id, created_at=current["created_at"])
        return self.orders.put({**record, "updated_at": self.clock.stamp()})

    def _order_record(self, body: dict, *, order_id: str, created_at: str) -> dict:
        defaults = {key: None for key in ORDER_EDITABLE} | {
            "reference_id": "", "display_id": f"SO-{1000 + int(order_id.split('_')[1])}", "status": "draft",
            "line_items": [], "customer_note": "", "internal_note": "", "source": "api", "charges": []}
        record = {**defaults, **{key: body[key] for key in ORDER_EDITABLE if key in body and body[key] is not None},
                  "id": order_id, "created_at": created_at}
        record["reference_id"] = _text(record["reference_id"], "reference_id")
        if self._existing(self.customers, record["customer_id"], "customer_id") is None:
            raise _invalid("customer_id", "is required")
        record["status"] = _choice(record["status"], ORDER_STATUSES, "status")
        self._existing(self.price_lists, record["price_list_id"], "price_list_id")
        for side in ("billing_address", "shipping_address"):  # `type` is checked, not kept (WC-A13)
            address = self._address(record[side], side)
            record[side] = address and {key: address[key] for key in ORDER_ADDRESS_READ}
        write_only = {key: value for key in ORDER_WRITE_ONLY  # never in a read, even left out (WC-A13)
                      if (value := record.pop(key, None)) is not None}
        charges = {field: _number(write_only.get(field), field, default=0)
                   for field in ("discount_value", "tax_value", "shipping_charge")}
        record["amount_paid"] = _number(record["amount_paid"], "amount_paid", default=0)
        record["line_items"] = self._line_items(record["line_items"])
        lines_total = sum(line["quantity"] * line["unit_price"] - self._line_discount(line)
                          for line in record["line_items"])
        record["amount"] = round(lines_total - charges["discount_value"] + charges["tax_value"]
                                 + charges["shipping_charge"], 2)
        if record["payment_status"] is not None:
            _choice(record["payment_status"], ORDER_PAYMENT_STATUSES, "payment_status")  # WC-A18
        else:  # an order not paid in full shows none
            record["payment_status"] = "PAID" if record["amount"] and record["amount_paid"] >= record["amount"] else None
        self._order_write_only[order_id] = write_only
        return record

    @staticmethod
    def _line_discount(line: dict) -> float:
        gross = line["quantity"] * line["unit_price"]
        return gross * line["discount"] / 100 if line["discount_type"] == "percentage" else line["discount"]

    def _line_items(self, value: Any) -> list[dict]:
        """The documented line fields; lines have no id of their own."""
        if not isinstance(value, list):
            raise _invalid("line_items", "must be a list")
        lines = []
        for n, line in enumerate(value):
            field = f"line_items[{n}]"
            if not isinstance(line, dict):
                raise _invalid(field, "must be an object")
            if line.get("product_id"):
                product = self._existing(self.products, line["product_id"], f"{field}.product_id")
            else:
                product = self.products.find("sku", line.get("sku") or "")
                if product is None:
                    raise _invalid(f"{field}.sku", f"no product with sku {line.get('sku')!r}")
            quantity = _number(line.get("quantity"), f"{field}.quantity")
            if quantity <= 0:
                raise _invalid(f"{field}.quantity", "must be positive")
            discount_type = line.get("discount_type")
            if discount_type is not None:
                _choice(discount_type, ("percentage", "value"), f"{field}.discount_type")
            lines.append({
                "product_id": product["id"], "sku": product["sku"], "quantity": quantity,
                "unit_price": _number(line.get("unit_price"), f"{field}.unit_price"),
                "discount": _number(line.get("discount"), f"{field}.discount", default=0),
                "discount_type": discount_type, "note": line.get("note") or "",
                "is_adhoc": bool(line.get("is_adhoc", False)),
                **{name: _number(line.get(name), f"{field}.{name}", default=0)
                   for name in ("shipped_quantity", "invoiced_quantity", "cancelled_quantity", "picked_quantity")}})
        return lines

    # -- invoices and shipments (written by the sync from SOS) ---------------------------------
    def _create_invoice(self, body: dict) -> dict:
        now = self.clock.stamp()
        defaults = {key: None for key in INVOICE_EDITABLE} | {
            "reference_id": "", "paid_amount": 0, "status": "PENDING", "items": [], "created_at": now}
        record = self._document_record(self.invoices, defaults, body, INVOICE_EDITABLE)
        return self.invoices.put({"id": self.invoices.new_id(), **record, "updated_at": now})

    def _update_invoice(self, invoice_id: str, body: dict) -> dict:
        current = self._get(self.invoices, invoice_id)
        record = self._document_record(self.invoices, current, body, INVOICE_EDITABLE)
        return self.invoices.put({**record, "updated_at": self.clock.stamp()})

    def _create_shipment(self, body: dict) -> dict:
        now = self.clock.stamp()
        defaults = {key: None for key in SHIPMENT_EDITABLE} | {
            "reference_id": "", "shipment_status": "created", "shipment_items": [], "note": "", "created_at": now}
        record = self._document_record(self.shipments, defaults, body, SHIPMENT_EDITABLE)
        return self.shipments.put({"id": self.shipments.new_id(), **record, "updated_at": now})

    def _update_shipment(self, shipment_id: str, body: dict) -> dict:
        current = self._get(self.shipments, shipment_id)
        record = self._document_record(self.shipments, current, body, SHIPMENT_EDITABLE)
        return self.shipments.put({**record, "updated_at": self.clock.stamp()})

    def edit_document(self, resource: str, record_id: str, **fields: Any) -> dict:
        """A user changing an invoice or shipment in WizCommerce itself: the same checks as the
        API's PATCH, a new `updated_at`, no event (no `invoice.*` or `shipment.*` is documented)."""
        editors = {"invoices": (self._update_invoice, INVOICE_EDITABLE),
                   "shipments": (self._update_shipment, SHIPMENT_EDITABLE)}
        if resource not in editors:
            raise ValueError(f"not a document resource: {resource!r}")
        update, editable = editors[resource]
        unknown = set(fields) - set(editable)
        if unknown:
            raise ValueError(f"not editable on {resource}: {', '.join(sorted(unknown))}")
        with self.lock:
            return _copy(update(record_id, fields))

    def _document_record(self, store: RecordStore, current: dict, body: dict, editable: Sequence[str]) -> dict:
        record = {**current, **{key: body[key] for key in editable if key in body}}
        record["reference_id"] = _text(record["reference_id"], "reference_id")
        if store is self.invoices and self.invoice_order_id == "reference":  # WC-A14 "reference"
            if record["order_id"] not in (None, "") and not self.orders.lookup("reference_id", [record["order_id"]]):
                raise _invalid("order_id", f"no order with reference_id {record['order_id']!r}")
        else:
            self._existing(self.orders, record["order_id"], "order_id")
        if store is self.invoices:
            record["status"] = _choice(record["status"], INVOICE_STATUSES, "status")
            for field in ("total_amount", "paid_amount"):
                record[field] = _number(record[field], field, default=0)
            if not isinstance(record["items"], list):
                raise _invalid("items", "must be a list")
        else:
            record["shipment_status"] = _choice(record["shipment_status"], SHIPMENT_STATUSES, "shipment_status")
            if not isinstance(record["shipment_items"], list):
                raise _invalid("shipment_items", "must be a list")
            for n, item in enumerate(record["shipment_items"]):
                self._existing(self.products, (item or {}).get("product_id"), f"shipment_items[{n}].product_id")
        return record

    # -- webhooks ------------------------------------------------------------------------------
    def set_webhook_target(self, url: str | None, secret: str | list[str] = "", mode: str = "signature",
                           header_name: str = "X-Webhook-Key", encoding: str = "hex") -> None:
        """Where events go (None: nowhere, they still land in `outbox`) and how they are
        authenticated, in either public reading: "signature" = X-Wizcommerce-Signature, HMAC-SHA256
        of the raw body in `encoding` hex|base64, one per secret, comma-separated (a rotation);
        "header" = `header_name` carrying the (first) secret."""
        _choice(mode, ("signature", "header"), "mode")
        _choice(encoding, ("hex", "base64"), "encoding")
        with self.lock:
            self._webhook = {"url": url, "secrets": [secret] if isinstance(secret, str) else list(secret),
                             "mode": mode, "encoding": encoding, "header_name": header_name}

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Block until every queued webhook was delivered or ran out of retries."""
        return self.webhook_deliverer.drain(timeout)

    @property
    def webhook_deliveries(self) -> list[dict]:
        """Every webhook POST attempt: {"url", "body", "headers", "attempt", "status", "error"}."""
        return self.webhook_deliverer.log

    def _deliverers(self) -> list[Deliverer]:
        return [self.webhook_deliverer]

    def _emit(self, event: str, record: dict) -> None:
        """A thin event (W/events): only the record's id; the receiver reads the record."""
        if not event.startswith(CUSTOMER_EVENTS_ONLY):
            raise AssertionError(f"{event}: only customer events are documented")
        envelope = {"id": f"webhook_{uuid.uuid4().hex}", "event": event,
                    "timestamp": self.clock.stamp(), "data": {"id": record["id"]}}
        body = json.dumps(envelope).encode()
        headers = {"Content-Type": "application/json", **self._auth_headers(body)}
        self.outbox.append({"envelope": envelope, "body": body, "headers": headers})
        if self._webhook["url"]:
            self.webhook_deliverer.submit(self._webhook["url"], body, headers)

    def _auth_headers(self, body: bytes) -> dict[str, str]:
        keys = [key for key in self._webhook["secrets"] if key]
        if not keys:
            return {}
        if self._webhook["mode"] == "header":
            return {self._webhook["header_name"]: keys[0]}
        digests = (hmac.new(key.encode(), body, hashlib.sha256).digest() for key in keys)
        encode = bytes.hex if self._webhook["encoding"] == "hex" else (lambda d: base64.b64encode(d).decode())
        return {"X-Wizcommerce-Signature": ",".join(encode(digest) for digest in digests)}

    # -- bulk data -----------------------------------------------------------------------------
    def load(self, *, products: Sequence[dict] = (), inventories: Sequence[dict] = (),
             customers: Sequence[dict] = (), orders: Sequence[dict] = (), invoices: Sequence[dict] = (),
             shipments: Sequence[dict] = (), price_lists: Sequence[dict] = (),
             sales_reps: Sequence[dict] = ()) -> None:
        """Add records as they are (ids and timestamps included); no events are sent."""
        with self.lock:
            for store, records in ((self.products, products), (self.inventories, inventories),
                                   (self.customers, customers), (self.orders, orders), (self.invoices, invoices),
                                   (self.shipments, shipments), (self.price_lists, price_lists),
                                   (self.sales_reps, sales_reps)):
                if records:
                    store.load(records)
                    self.clock.observe(store.latest_stamp())

    def reset(self) -> None:
        """Remove all records and the outbox; the webhook target stays."""
        with self.lock:
            for store, _ in self._resources.values():
                store.clear()
            self._order_write_only.clear()
            self.outbox.clear()

    def state(self) -> dict:
        with self.lock:
            counts = {name: len(store) for name, (store, _) in self._resources.items()}
            return {"counts": counts, "events": len(self.outbox), "webhook_deliveries": len(self.webhook_deliverer.log),
                    "webhooks_pending": self.webhook_deliverer.pending()}
