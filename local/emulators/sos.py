"""SOS Inventory API v2 emulator, following /work/shared/api/sos.md (the contract) and nothing else.

What the contract says, the emulator does: no modification timestamp in any answer (it keeps
one privately, `_modified`, for `updatedsince`), a `syncToken` per record bumped on every
write, 1-based `start`, at most 200 rows a page, the list envelope {count, totalCount, data,
status, message}, unknown query parameters silently ignored, PUT as a full replace that needs
the current `syncToken` (stale: 400 {"status": "invalid", "...modified by someone else..."}),
nested transaction addresses, `linked*` fields, invoice `balance`, shipment `shippingMethod`.

Switchable where the contract says [assumed] or names two readings (`configure(...)`):
- `throttle_http_status`: throttling answers 429 (M) or HTTP 200 (A); both say "Throttle limit
  exceeded" with a non-ok status and no Retry-After. An injected throttle (`inject_throttle`)
  can also come as the message alone, no `status` (SOS-A18), and hit every Nth call.
- `validation_http_status`: validation errors as HTTP 400 or as HTTP 200 with status "invalid".
- `refresh_returns_token`: whether a refresh answers a new refresh token (then the old one dies).
- `payment_endpoint`: `/payment` answers, or 404 as on accounts without it (the documented case).
- `kit_type`: what a kit's `type` reads ("Kit" or "Item Group").
- `wrap_single`: one record comes as {"status","message","data"} or unwrapped (SOS-A2: a bare
  record keeps its own fields, an invoice its `status` "Open").
- `hook_delete_empty`: `DELETE /hook/{id}` answers the deleted hook as JSON, or an empty 204
  (SOS-A20).
- `timezone`: the zone `updatedsince`/`createdsince` are read in (SOS does not document it).
- `order`: list row order, "modified" (an edited record moves to the end: rows shift under an
  offset pager, the adversarial case) or "id".
- `customer_address_shape` (SOS-A21): a customer's `billing`/`shipping` read "flat"
  (`{line1.., city, ...}`, the contract) or "nested" like a transaction's (`{company, phone,
  email, addressName, addressType, address: {...}}`). Writes take the flat shape in both
  readings (what the contract documents), the nested one only under "nested".
- `linked_shape` (SOS-A9): the elements of `linkedInvoices`/`linkedShipments`/`linkedPayments`
  read as the documented "object" `{id, transactionType, refNumber, linenumber}` or as bare
  "id"s, a shape a client must refuse loudly rather than read as "no links".
- `line_price_field` (SOS-A7): the casing of a sales order line's price, "unitPrice" (D
  salesorder) or "unitprice" (Z salesorder). Lines are answered with it, and a write's price
  under the other casing is ignored (the line takes its item's sales price, as an empty price
  does), strict as "prices may be ignored" reads.
- `zero_quantity_lines` (SOS-A22): a sales order line at quantity 0 (a cancelled order's lines,
  R-ORD-8) is "accepted" (the assumption) or "refused" (400 invalid, naming the line).
- `unknown_id` (SOS-A4): a GET of an id the account does not have answers "404" (the assumption)
  or, as an account fitting neither reading, "200-empty" (HTTP 200 {status ok, data {}}) or "400".
- `rows_move` (SOS-A5): False, or True: every `GET /item` list moves the oldest item to the end
  (as if a user edited it between reads), so rows shift under an offset pager between reads.
- `read_only_fields` (SOS-A12): the read-only fields a GET returns, sent back on a write, are
  "ignored" (the assumption) or "refused" (400 naming the first; syncToken is always taken).
- `deposit_amount` (SOS-A19): a sales order's `depositAmount` is "writable" (the assumption) or
  "ignored" on write (the order keeps the deposit it had).
- `shipment_link` (SOS-A10): where a shipment names its sales order: "lines" (the contract: the
  header `linkedTransaction` is documented "Unused", each line's names the order line) or
  "header" (the header names the order; its lines' `linkedTransaction` are null, so a reader
  trusting only the lines finds no order).

Sales order lines as the contract states them: `amount` must equal quantity × unit price
exactly (compared as decimals, no tolerance; left out, it is that product), a unit price below
the item's `minimumPrice` is refused (400 invalid, naming the line), and a PUT keeps the `id` of
each line it carries with an id of the order's lines (new ids only for lines without; an id the
order does not have is refused). A create ignores line ids.

Choices where the contract is silent:
- Row order defaults to modification order (see above). Quantity changes move neither the
  modification time nor the syncToken ([assumed] in the contract: they do not match updatedsince).
- Available stock as SOS documents it (H-avail: available = in stock − open sales orders − …):
  the open (not closed, not archived) lines of a sales order, less what its shipments shipped,
  commit stock. A sales order written (API or user) moves each stock item's `available` and
  `onSO` by the change in what it commits, and each item whose `available` moved fires the
  quantity hook: zeroing an order's lines (R-ORD-8) raises `available` again. Loaded orders'
  commitments are taken as already in the loaded quantities (seeds stay as given). A shipment
  lowers onhand, releases what it shipped from the order's commitment, and fires one hook per
  line; stock it ships beyond a commitment lowers available too.
- A kit's `available` is recomputed from its components (whole kits); its onhand is 0.
- Hooks fire when `onhand` or `available` change (or as `fire_hook` says).
- Creating an invoice, shipment or payment for an order appends to the order's `linked*` list
  and so is a write of the order (new syncToken, modified now).
- The 21-character order number limit ([assumed], SOS-A15) applies to API writes only: an order
  a user makes in SOS (`create_sales_order`, `update_sales_order` admin actions) may be longer.
- `set_stored_value` puts a value into a stored record as it is, unchecked and not as a write:
  what SOS can hold though its API would not take it (a null ref, SOS-A23, e.g. its record
  deleted; a value another integration left), for the readers' tests.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, request

from .base import (
    ADMIN_PREFIX,
    ApiError,
    Deliverer,
    Emulator,
    RecordStore,
    clamp_int,
    endpoint_key,
    json_body,
    json_response,
)
from .values import format_stamp, kit_available, parse_stamp

API = "/api/v2"
PAGE_MAX = 200
NUMBER_MAX_LENGTH = 21  # [assumed] in the contract; kept as the strictest reading
HOOK_EVENT = "item.quantity_updated"
HOOK_FIELDS = ("id", "name", "fullname", "description", "sku", "onhand", "available")
QUANTITY_FIELDS = ("onhand", "available", "onSO", "onSR", "onPO", "onWO", "onRMA", "rented")
ITEM_TYPES = ("Inventory Item", "Non-inventory", "Category", "Expense", "Assembly", "Kit", "Service", "Labor",
              "Overhead", "Other")
STOCK_TYPES = frozenset({"Inventory Item", "Assembly"})  # types whose stock a shipment moves
ADDRESS_FIELDS = ("line1", "line2", "line3", "line4", "line5", "city", "stateProvince", "postalCode", "country")
TRANSACTION_ADDRESS_FIELDS = ("company", "phone", "email", "addressName", "addressType")
CONTACT_FIELDS = ("title", "firstName", "middleName", "lastName", "suffix")
# Writable fields (what PUT replaces: left out = cleared) and their empty values.
CUSTOMER_FIELDS = {"name": None, "companyName": None, "email": None, "phone": None, "mobile": None, "contact": None,
                   "billing": None, "shipping": None, "altAddresses": [], "notes": None, "salesRep": None,
                   "priceTier": None, "terms": None, "paymentMethod": None, "customFields": []}
ORDER_FIELDS = {"number": None, "date": None, "customer": None, "location": None, "salesRep": None, "terms": None,
                "channel": None, "orderStage": None, "billing": None, "shipping": None, "comment": None,
                "customerMessage": None, "customerNotes": None, "customerPO": None, "discountAmount": 0,
                "taxAmount": 0, "shippingAmount": 0, "depositAmount": 0, "linkedTransaction": None,
                "customFields": [], "lines": []}
ORDER_LINKS = ("linkedInvoices", "linkedShipments", "linkedPayments")  # kept by SOS, not by the writer
# What a write may carry besides the writable fields: the read-only ones a GET returns (so a
# record read, changed and PUT back is accepted; they are ignored). Anything else is refused
# with its name: a field SOS does not have (an order `memo`, `priceTier`) would be lost there.
READ_ONLY = {"customer": {"id", "syncToken", "fullname", "archived"},
             "salesorder": {"id", "syncToken", "subTotal", "total", "closed", "archived", *ORDER_LINKS}}
STALE_MESSAGE = "This record has been modified by someone else since you retrieved it. Please reload it."
THROTTLE_MESSAGE = "Throttle limit exceeded"
# Every throttle form the contract documents, as `inject_throttle` arguments (SOS-A18).
THROTTLE_FORMS = {"429": {"http_status": 429}, "200-error": {"http_status": 200, "status": "error"},
                  "200-other-status": {"http_status": 200, "status": "failed"},
                  "200-message-only": {"http_status": 200, "status": None}}
SWITCHES = ("throttle_http_status", "validation_http_status", "refresh_returns_token", "payment_endpoint",
            "kit_type", "wrap_single", "timezone", "order", "hook_delete_empty", "customer_address_shape",
            "linked_shape", "line_price_field", "zero_quantity_lines", "unknown_id", "rows_move",
            "read_only_fields", "deposit_amount", "shipment_link")
UNKNOWN_ID_ANSWERS = ("404", "200-empty", "400")
LINK_LISTS = ("linkedInvoices", "linkedShipments", "linkedPayments")
LINE_PRICE_FIELDS = ("unitPrice", "unitprice")
SHIPMENT_LINKS = ("lines", "header")  # SOS-A10


def _copy(record: Any) -> Any:
    """A detached copy for programmatic callers (store records stay private to the lock)."""
    return json.loads(json.dumps(_public(record)))


def _public(record: Any) -> Any:
    """What SOS sends: the record without the emulator's private `_` fields."""
    if isinstance(record, dict):
        return {key: value for key, value in record.items() if not key.startswith("_")}
    return record


def _number(value: Any, name: str, *, default: float | None = None) -> float:
    if value is None and default is not None:
        return default
    if isinstance(value, str):  # SOS's own samples quote numbers: lenient, like its parser
        try:
            return float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(400, f"{name} must be a number")
    return value


def _address(value: Any, name: str) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError(400, f"{name} must be an address object")
    return {key: value.get(key) for key in ADDRESS_FIELDS}


def _customer_address(value: Any, name: str, shape: str) -> dict | None:
    """A customer's billing/shipping as written: flat, or (under the "nested" reading of SOS-A21)
    nested like a transaction's; stored flat."""
    if isinstance(value, dict) and "address" in value:
        if shape != "nested":
            raise ApiError(400, f"{name} must be an address object {{line1.., city, ...}}, not nested")
        return _address(_transaction_address(value, name)["address"], f"{name}.address")
    return _address(value, name)


def _nested_customer_address(customer: dict, side: str) -> dict | None:
    """A customer's stored (flat) address as the "nested" reading of SOS-A21 shows it."""
    if customer.get(side) is None:
        return None
    return {"company": customer.get("companyName"), "phone": customer.get("phone"), "email": customer.get("email"),
            "addressName": None, "addressType": side, "address": customer[side]}


def _transaction_address(value: Any, name: str) -> dict | None:
    """{company, phone, email, addressName, addressType, address: {...}} (the contract's shape)."""
    if value is None:
        return None
    if not isinstance(value, dict) or ("address" in value and not isinstance(value["address"], (dict, type(None)))):
        raise ApiError(400, f"{name} must be a transaction address object")
    flat = set(value) & set(ADDRESS_FIELDS)
    if flat:
        raise ApiError(400, f"{name}: address fields belong in {name}.address, not at its top level ({sorted(flat)})")
    return {**{key: value.get(key) for key in TRANSACTION_ADDRESS_FIELDS},
            "address": _address(value.get("address"), f"{name}.address")}


def _link(record: dict, transaction_type: str, line_number: int | None = None) -> dict:
    return {"id": record["id"], "transactionType": transaction_type, "refNumber": record["number"],
            "linenumber": line_number}


def _decimal(value: float) -> Decimal:
    """A JSON number as the decimal it was written as (exact comparisons, no float noise)."""
    return Decimal(str(value))


@dataclass
class _Fault:
    """An injected SOS-style answer for `count` matching requests: a throttle, or an error with
    a non-ok status (both as the contract shows them, with HTTP 200 by default). `status` None:
    the message alone (SOS-A18). It lets `after` matching requests through first, then hits
    every `every`th one."""

    kind: str  # "throttle" | "status_error"
    count: int
    method: str = "*"
    path: str = "*"
    http_status: int = 200
    status: str | None = "error"
    message: str = ""
    after: int = 0
    every: int = 1
    matched: int = 0  # matching requests seen so far

    def matches(self, method: str, path: str) -> bool:
        return self.count > 0 and self.method in ("*", method) and (self.path == "*" or path.startswith(self.path))

    def hits(self) -> bool:
        """Whether this matching request is one the fault answers (counts it either way)."""
        self.matched += 1
        return self.matched > self.after and (self.matched - self.after) % self.every == 0

    def body(self) -> dict:
        return {"message": self.message} if self.status is None else {"status": self.status, "message": self.message}


class SosEmulator(Emulator):
    """The SOS Inventory API on a local port: `start()` → base URL; the API is under `/api/v2`,
    the token endpoint is `/oauth2/token`."""

    SEED_ROLE = "sos"
    ADMIN_ACTIONS = frozenset({
        "set_item_quantities", "update_item", "add_item", "create_customer", "update_customer",
        "create_sales_order", "update_sales_order", "archive_record", "create_invoice", "create_shipment",
        "record_payment", "create_payment", "expire_tokens", "set_token_lifetime", "credentials", "configure",
        "advance_clock", "set_stored_value",
    })

    def __init__(self, *, client_id: str = "sos-emulator-client", client_secret: str | None = None,
                 access_token: str | None = None, refresh_token: str | None = None, expires_in: int = 3600,
                 rate_limit_rps: float | None = None, host: str = "127.0.0.1", port: int = 0, **switches: Any):
        super().__init__(host=host, port=port, rate_limit_rps=rate_limit_rps)
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.expires_in = expires_in
        self.throttle_http_status = 429
        self.validation_http_status = 400
        self.refresh_returns_token = True
        self.payment_endpoint = False
        self.kit_type = "Kit"
        self.wrap_single = True
        self.hook_delete_empty = False
        self.timezone = "UTC"
        self.order = "modified"
        self.customer_address_shape = "flat"
        self.linked_shape = "object"
        self.line_price_field = "unitPrice"
        self.zero_quantity_lines = "accepted"
        self.unknown_id = "404"
        self.rows_move = False
        self.read_only_fields = "ignored"
        self.deposit_amount = "writable"
        self.shipment_link = "lines"
        self.configure(**switches)
        self._access_tokens: dict[str, float] = {}  # token → expiry on self.clock
        self._refresh_tokens: set[str] = set()
        self._current_pair = self._issue_tokens(access_token, refresh_token)
        self._sos_faults: list[_Fault] = []

        def store(**kwargs: Any) -> RecordStore:
            return RecordStore("_modified", **kwargs)

        self.items = store()
        self.locations = store()
        self.customers = store()
        self.sales_orders = store(unique=("number",))
        self.invoices = store()
        self.shipments = store()
        self.payments = store()
        self.sales_reps = store()
        self.price_tiers = store()
        self.shipping_methods = store()
        self.hooks = store()
        self._kit_components: dict[int, list[tuple[int, float]]] = {}  # kit id → (component id, per kit)
        self._kits_using: dict[int, set[int]] = {}  # component id → kit ids
        self._committed: dict[int, dict[int, float]] = {}  # sales order id → stock item id → quantity committed
        self._shipped: dict[int, dict[int, float]] = {}  # sales order id → stock item id → quantity shipped
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
            "shippingmethod": (self.shipping_methods, {}),
            "hook": (self.hooks, {"POST": self._create_hook, "DELETE": self._delete_hook}),
        }

    # -- switches --------------------------------------------------------------------------------
    def configure(self, **switches: Any) -> dict:
        """Pick the readings of the contract's open points (see the module docstring)."""
        unknown = set(switches) - set(SWITCHES)
        if unknown:
            raise ApiError(400, f"unknown switches {sorted(unknown)}; known: {list(SWITCHES)}")
        if switches.get("throttle_http_status", 429) not in (200, 429):
            raise ApiError(400, "throttle_http_status must be 200 or 429")
        if switches.get("validation_http_status", 400) not in (200, 400):
            raise ApiError(400, "validation_http_status must be 200 or 400")
        if switches.get("kit_type", "Kit") not in ("Kit", "Item Group"):
            raise ApiError(400, "kit_type must be 'Kit' or 'Item Group'")
        if switches.get("order", "modified") not in ("modified", "id"):
            raise ApiError(400, "order must be 'modified' or 'id'")
        if switches.get("customer_address_shape", "flat") not in ("flat", "nested"):
            raise ApiError(400, "customer_address_shape must be 'flat' or 'nested'")
        if switches.get("linked_shape", "object") not in ("object", "id"):
            raise ApiError(400, "linked_shape must be 'object' or 'id'")
        if switches.get("zero_quantity_lines", "accepted") not in ("accepted", "refused"):
            raise ApiError(400, "zero_quantity_lines must be 'accepted' or 'refused'")
        if switches.get("unknown_id", "404") not in UNKNOWN_ID_ANSWERS:
            raise ApiError(400, f"unknown_id must be one of {UNKNOWN_ID_ANSWERS}")
        if not isinstance(switches.get("rows_move", False), bool):
            raise ApiError(400, "rows_move must be true or false")
        if switches.get("read_only_fields", "ignored") not in ("ignored", "refused"):
            raise ApiError(400, "read_only_fields must be 'ignored' or 'refused'")
        if switches.get("deposit_amount", "writable") not in ("writable", "ignored"):
            raise ApiError(400, "deposit_amount must be 'writable' or 'ignored'")
        if switches.get("shipment_link", "lines") not in SHIPMENT_LINKS:
            raise ApiError(400, f"shipment_link must be one of {SHIPMENT_LINKS}")
        if switches.get("line_price_field", "unitPrice") not in LINE_PRICE_FIELDS:
            raise ApiError(400, f"line_price_field must be one of {LINE_PRICE_FIELDS}")
        if "timezone" in switches:
            ZoneInfo(switches["timezone"])  # raises on an unknown zone
        for name, value in switches.items():
            setattr(self, name, value)
        return {name: getattr(self, name) for name in SWITCHES}

    def advance_clock(self, seconds: float) -> float:
        """Move the emulator's clock (what `updatedsince` compares with) forward."""
        self.clock.advance(seconds)
        return self.clock.now()

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
        """Adds SOS's own faults to the common ones: {"type": "expire_tokens", "seconds"?},
        {"type": "token_lifetime", "expires_in"}, {"type": "throttle", "count", "http_status"?
        (200|429; default the throttle switch), "status"? ("error" default, another non-ok word, or
        null: the message alone), "after"?, "every"?, "method"?, "path"?} and {"type":
        "status_error", "count", "status"? ("error"|"invalid"|"failed"), "http_status"? (default
        200), "message"?, "method"?, "path"?}."""
        kind = spec.get("type")
        if kind == "expire_tokens":
            self.expire_tokens(spec.get("seconds", 0))
        elif kind == "token_lifetime":
            self.set_token_lifetime(int(spec["expires_in"]))
        elif kind == "throttle":
            self.inject_throttle(int(spec.get("count", 1)), http_status=spec.get("http_status"),
                                 status=spec.get("status", "error"), after=int(spec.get("after", 0)),
                                 every=int(spec.get("every", 1)), method=spec.get("method", "*"),
                                 path=spec.get("path", "*"))
        elif kind == "status_error":
            self.inject_status_error(int(spec.get("count", 1)), status=spec.get("status", "error"),
                                     http_status=int(spec.get("http_status", 200)), message=spec.get("message", ""),
                                     method=spec.get("method", "*"), path=spec.get("path", "*"))
        else:
            super().add_fault(spec)

    def inject_throttle(self, count: int = 1, *, http_status: int | None = None, status: str | None = "error",
                        after: int = 0, every: int = 1, method: str = "*", path: str = "*") -> None:
        """`count` matching requests answer "Throttle limit exceeded" (HTTP 200 or 429): with a
        non-ok `status`, or (status=None) as the message alone (SOS-A18). The first `after`
        matching requests pass, then every `every`th is throttled (every=2: every other call)."""
        if status is not None and status.lower() == "ok":
            raise ValueError("a throttle's status is not ok (None: no status at all)")
        if after < 0 or every < 1:
            raise ValueError("after must be >= 0 and every >= 1")
        with self.lock:
            self._sos_faults.append(_Fault("throttle", count, method.upper(), path,
                                           http_status or self.throttle_http_status, status, THROTTLE_MESSAGE,
                                           after=after, every=every))

    def inject_status_error(self, count: int = 1, *, status: str = "error", http_status: int = 200,
                            message: str = "", method: str = "*", path: str = "*") -> None:
        """The next `count` matching requests answer a non-ok `status` (by default with HTTP 200)."""
        if status == "ok":
            raise ValueError("a status error needs a non-ok status")
        with self.lock:
            self._sos_faults.append(_Fault("status_error", count, method.upper(), path, http_status, status,
                                           message or f"Injected {status}"))

    def clear_faults(self) -> None:
        super().clear_faults()
        with self.lock:
            self._sos_faults.clear()

    def _take_sos_fault(self) -> Response | None:
        if request.path.startswith(ADMIN_PREFIX) or request.path == "/oauth2/token":
            return None
        with self.lock:
            # every matching fault counts the request (its `after`/`every`); the first hitting one answers
            hitting = [f for f in self._sos_faults if f.matches(request.method, request.path) and f.hits()]
            fault = hitting[0] if hitting else None
            if fault is None:
                return None
            fault.count -= 1
            self._sos_faults = [f for f in self._sos_faults if f.count > 0]
        self._counters.fault(endpoint_key(request.method, request.path))
        return json_response(fault.body(), fault.http_status)

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
            if self.refresh_returns_token:
                self._refresh_tokens.discard(refresh)  # [assumed] rotation: a refresh token works once
                pair = self._issue_tokens()
            else:  # the other reading: only a new access token; the refresh token lives on
                pair = {"access_token": self._issue_tokens(refresh_token=refresh)["access_token"]}
            return json_response({**pair, "expires_in": self.expires_in, "refresh_expires_in": 86_400 * 100})

    # -- HTTP ----------------------------------------------------------------------------------
    def error_body(self, error: ApiError) -> dict:
        if error.code == "rate_limited":
            return {"status": "error", "message": THROTTLE_MESSAGE}
        return {"status": "invalid" if error.status == 400 else "error", "message": error.message}

    def _error_response(self, error: ApiError) -> Response:
        if error.code == "rate_limited":  # SOS's throttle: no Retry-After, 429 or HTTP 200
            return json_response(self.error_body(error), self.throttle_http_status)
        status = self.validation_http_status if error.status == 400 else error.status
        return json_response(self.error_body(error), status, error.headers)

    def _register_routes(self) -> None:
        self.app.before_request(self._take_sos_fault)
        route = self.app.add_url_rule
        route("/oauth2/token", "token", self._token, methods=["POST"])
        route(f"{API}/<resource>", "collection", self._collection, methods=["GET", "POST"])
        route(f"{API}/<resource>/<int:record_id>", "record", self._record, methods=["GET", "PUT", "DELETE"])
        route(f"{ADMIN_PREFIX}/items/<int:item_id>/quantities", "admin_quantities", self._admin_quantities,
              methods=["POST"])

    def _resource(self, name: str) -> tuple[RecordStore, dict[str, Any]]:
        if name == "payment" and not self.payment_endpoint:
            raise ApiError(404, "Not found")  # the documented API has no /payment
        return super()._resource(name)

    def _collection(self, resource: str) -> Response:
        store = self._resource(resource)[0]
        if request.method == "GET":
            with self.lock:
                return self._list(resource, store)
        writer, body = self._writer(resource), json_body()
        with self.lock:
            return self._one(self._out(resource, writer(body)))

    def _record(self, resource: str, record_id: int) -> Response:
        store = self._resource(resource)[0]
        if request.method == "GET":
            with self.lock:
                if store.get(record_id) is None and self.unknown_id != "404":  # SOS-A4's other answers
                    if self.unknown_id == "400":
                        raise ApiError(400, f"Invalid id {record_id}")
                    return json_response({"status": "ok", "message": "", "data": {}})
                return self._one(self._out(resource, self._get(store, record_id)))
        writer = self._writer(resource)
        args = (record_id, json_body()) if request.method == "PUT" else (record_id,)
        with self.lock:
            out = self._out(resource, writer(*args))
        if resource == "hook" and request.method == "DELETE" and self.hook_delete_empty:
            return Response(status=204)  # SOS-A20: the other reading, an empty 2xx
        return self._one(out)

    def _admin_quantities(self, item_id: int) -> Response:
        body = json_body()
        fields = {key: body[key] for key in (*QUANTITY_FIELDS, "fire_hook") if key in body}
        return json_response({"data": self.set_item_quantities(item_id, **fields)})

    def _one(self, record: dict) -> Response:
        return json_response({"status": "ok", "message": "", "data": record} if self.wrap_single else record)

    def _out(self, resource: str, record: dict) -> dict:
        out = _public(record)
        if resource == "item" and out.get("type") == "Kit":
            out = {**out, "type": self.kit_type}
        if resource == "customer" and self.customer_address_shape == "nested":
            out = {**out, **{side: _nested_customer_address(out, side) for side in ("billing", "shipping")}}
        if resource == "salesorder" and out.get("lines"):  # SOS-A7: the account's one casing, old lines too
            other = next(name for name in LINE_PRICE_FIELDS if name != self.line_price_field)
            out = {**out, "lines": [{(self.line_price_field if key == other else key): value
                                     for key, value in line.items()} for line in out["lines"]]}
        if resource == "shipment" and self.shipment_link == "header":  # SOS-A10's other reading, old ones too
            order = next((line["linkedTransaction"] for line in out.get("lines") or [] if line.get("linkedTransaction")),
                         None)
            out = {**out, "linkedTransaction": {**order, "linenumber": None} if order else None,
                   "lines": [{**line, "linkedTransaction": None} for line in out.get("lines") or []]}
        if self.linked_shape == "id":
            out = {**out, **{name: [link["id"] if isinstance(link, dict) else link for link in out[name]]
                             for name in LINK_LISTS if isinstance(out.get(name), list)}}
        return out

    # -- lists -----------------------------------------------------------------------------------
    def _since(self, name: str) -> str | None:
        """A `…since` parameter read as a local time in the account's zone, whole seconds."""
        raw = request.args.get(name)
        if not raw:
            return None
        try:
            moment = datetime.fromisoformat(raw.strip())
        except ValueError as exc:
            raise ApiError(400, f"{name} must be a date/time such as 2025-01-31T13:45:00") from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(self.timezone))
        return format_stamp(parse_stamp(moment.replace(microsecond=0).isoformat()))

    def _list(self, resource: str, store: RecordStore) -> Response:
        args = request.args
        start = clamp_int(args.get("start"), default=1, low=1, high=2**31, name="start")
        size = clamp_int(args.get("maxresults"), default=PAGE_MAX, low=1, high=PAGE_MAX, name="maxresults")
        updated, created = self._since("updatedsince"), self._since("createdsince")
        if resource not in ("item", "customer", "salesorder", "invoice", "shipment"):
            updated = created = None  # not offered there: ignored, like every unknown parameter
        rows = store.ordered()
        if updated:
            rows = rows[store.first_index(updated, inclusive=True):]
        if self.order == "id":
            rows = sorted(rows, key=lambda row: row["id"])
        predicates = self._filters(resource, created)
        if predicates:
            rows = [row for row in rows if all(keep(row) for keep in predicates)]
        page = [self._out(resource, row) for row in rows[start - 1:start - 1 + size]]
        if resource == "item" and self.rows_move and rows:  # SOS-A5: a user edits between our reads
            oldest = store.ordered()[0]
            store.put({**oldest, "_modified": self.clock.stamp()})
        return json_response({"status": "ok", "message": "", "count": len(page), "totalCount": len(rows),
                              "data": page})

    def _filters(self, resource: str, created: str | None) -> list:
        """The documented filters of `resource` that the request sets; any other parameter is
        ignored, as SOS does (a misspelt filter returns everything)."""
        args, keep = request.args, []
        if created:
            keep.append(lambda row: row["_created"] >= created)
        archived = args.get("archived", "").lower()
        if archived in ("yes", "no") and resource in ("item", "customer", "salesorder", "invoice", "shipment"):
            keep.append(lambda row: bool(row.get("archived")) == (archived == "yes"))
        query = args.get("query", "").strip().lower()
        fields = QUERY_FIELDS.get(resource)
        if query and fields:
            keep.append(lambda row: any(query in _text(row, field).lower() for field in fields))
        if resource == "item":
            if args.get("ids"):
                wanted = {part.strip() for part in args["ids"].split(",")}
                keep.append(lambda row: str(row["id"]) in wanted)
            if args.get("sku"):
                keep.append(lambda row: (row.get("sku") or "") == args["sku"])
        if resource == "customer":
            for name in ("name", "email"):
                if args.get(name):
                    keep.append(lambda row, name=name: (row.get(name) or "").lower() == args[name].lower())
        if resource == "salesorder" and args.get("status", "").lower() in ("open", "closed"):
            keep.append(lambda row: bool(row.get("closed")) == (args["status"].lower() == "closed"))
        if resource == "shipment" and args.get("customerId"):
            keep.append(lambda row: str((row.get("customer") or {}).get("id")) == args["customerId"])
        return keep

    # -- lookups and validation ----------------------------------------------------------------
    @staticmethod
    def _get(store: RecordStore, record_id: Any) -> dict:
        record = store.get(record_id)
        if record is None:
            raise ApiError(404, f"Record {record_id} not found")  # [assumed] in the contract
        return record

    @staticmethod
    def _ref(store: RecordStore, value: Any, what: str, *, required: bool = False, where: str = "",
             name_field: str = "name") -> dict | None:
        """Resolve a ref given as {"id": n}, a one-element list of it, or a bare id, to {"id", "name"}."""
        suffix = f" ({where})" if where else ""
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if value is None:
            if required:
                raise ApiError(400, f"{what} is required{suffix}")
            return None
        ref_id = value.get("id") if isinstance(value, dict) else value
        record = store.get(ref_id) if isinstance(ref_id, int) and not isinstance(ref_id, bool) else None
        if record is None:
            raise ApiError(400, f"Unknown {what} id {ref_id}{suffix}")
        return {"id": record["id"], "name": _display_name(record, name_field)}

    def _today(self) -> str:
        return self.clock.stamp()[:10] + "T00:00:00"

    def _write(self, store: RecordStore, record: dict, *, new: bool = False) -> dict:
        """Store a write: a new syncToken and modification time (what updatedsince sees)."""
        stamp = self.clock.stamp()
        if new:
            record["_created"] = stamp
            record["syncToken"] = 0
        record["syncToken"] = int(record.get("syncToken") or 0) + 1
        record["_modified"] = stamp
        return store.put(record)

    def _read_only(self, resource: str) -> set[str]:
        """The read-only fields a write may carry: all (SOS-A12 "ignored"), or syncToken alone."""
        return READ_ONLY[resource] if self.read_only_fields == "ignored" else {"syncToken"}

    def _check_token(self, current: dict, body: dict) -> None:
        """PUT needs the record's current syncToken: an older one means someone else wrote since."""
        token = body.get("syncToken")
        if token is None:
            raise ApiError(400, "syncToken is required to update a record")
        if isinstance(token, bool) or not isinstance(token, (int, str)) or str(token) != str(current["syncToken"]):
            raise ApiError(400, STALE_MESSAGE)
        if "id" in body and str(body["id"]) != str(current["id"]):
            raise ApiError(400, "id of posted object is incorrect")

    # -- items and quantities ------------------------------------------------------------------
    def set_item_quantities(self, item_id: int, *, fire_hook: bool | None = None, **quantities: float) -> dict:
        """Quantities change as transactions would change them: neither the syncToken nor the
        modification time moves ([assumed] in the contract); hooks fire when onhand/available
        moved (or as `fire_hook` says)."""
        unknown = set(quantities) - set(QUANTITY_FIELDS)
        if unknown:
            raise ApiError(400, f"unknown quantity fields {sorted(unknown)}")
        changes = {key: _number(value, key) for key, value in quantities.items() if value is not None}
        with self.lock:
            item = self._get(self.items, item_id)
            stock_moved = any(item[key] != changes[key] for key in ("onhand", "available") if key in changes)
            item.update(changes)  # in place: the list position does not change
            self._refresh_kits(item_id)
            if fire_hook or (fire_hook is None and stock_moved):
                self._fire_hooks(item)
            return _copy(item)

    def update_item(self, item_id: int, **fields: Any) -> dict:
        """An edit in SOS (name, sku, price, archived...): a write (syncToken, modified)."""
        editable = ("name", "fullname", "sku", "description", "type", "salesPrice", "baseSalesPrice", "archived",
                    "category", "minimumPrice")
        unknown = set(fields) - set(editable)
        if unknown:
            raise ApiError(400, f"not editable here: {sorted(unknown)}")
        with self.lock:
            item = dict(self._get(self.items, item_id))
            item.update(fields)
            if item["type"] not in ITEM_TYPES:
                raise ApiError(400, f"type must be one of {ITEM_TYPES}")
            return _copy(self._write(self.items, item))

    def add_item(self, **fields: Any) -> dict:
        with self.lock:
            item_type = fields.get("type", "Inventory Item")
            if item_type not in ITEM_TYPES:
                raise ApiError(400, f"type must be one of {ITEM_TYPES}")
            name = fields.get("name") or "New item"
            record = {"id": self.items.new_id(), "name": name, "fullname": fields.get("fullname", name),
                      "sku": fields.get("sku"), "description": fields.get("description", ""), "type": item_type,
                      "category": None, **{key: _number(fields.get(key, 0), key) for key in QUANTITY_FIELDS},
                      "salesPrice": fields.get("salesPrice", 0.0), "baseSalesPrice": fields.get("salesPrice", 0.0),
                      "minimumPrice": None, "priceTiers": [], "archived": bool(fields.get("archived", False))}
            return _copy(self._write(self.items, record, new=True))

    def archive_record(self, resource: str, record_id: int, archived: bool = True) -> dict:
        """A user archives (or restores) a record in SOS: a write like any other."""
        with self.lock:
            store = self._resource(resource)[0]
            record = dict(self._get(store, record_id))
            record["archived"] = archived
            return _copy(self._write(store, record))

    def _refresh_kits(self, component_id: int) -> None:
        for kit_id in self._kits_using.get(component_id, ()):
            self._compute_kit(kit_id)

    def _compute_kit(self, kit_id: int) -> None:
        """A kit's available = whole kits its components' availability allows; onhand is 0."""
        kit = self.items[kit_id]
        kit["onhand"] = 0
        kit["available"] = kit_available((self.items[component]["available"], per)
                                         for component, per in self._kit_components[kit_id])

    def _stock_parts(self, item_id: int, quantity: float) -> list[tuple[int, float]]:
        """The stock items (and quantities) a line of `item_id` takes: a kit's components."""
        item = self.items.get(item_id)
        if item is None:
            return []
        if item["type"] == "Kit":
            return [part for component_id, per_kit in self._kit_components.get(item_id, ())
                    for part in self._stock_parts(component_id, quantity * per_kit)]
        return [(item_id, quantity)] if item["type"] in STOCK_TYPES else []

    def _commitment(self, order: dict) -> dict[int, float]:
        """H-avail: what an open sales order commits, per stock item: its lines less what shipped."""
        if order.get("closed") or order.get("archived"):
            return {}
        ordered: dict[int, float] = {}
        for line in order.get("lines") or []:
            item_id = (line.get("item") or {}).get("id")
            for part_id, quantity in self._stock_parts(item_id, _number(line.get("quantity"), "quantity", default=0)):
                ordered[part_id] = ordered.get(part_id, 0) + quantity
        shipped = self._shipped.get(order["id"], {})
        return {item_id: round(max(0.0, quantity - shipped.get(item_id, 0)), 6) for item_id, quantity in ordered.items()}

    def _recommit(self, order: dict, *, fire: bool = True) -> None:
        """Move `available` and `onSO` of each stock item by the change in what `order` commits;
        an item whose available moved fires the quantity hook (unless the caller fires it)."""
        before = self._committed.get(order["id"], {})
        after = self._commitment(order)
        self._committed[order["id"]] = after
        for item_id in sorted(set(before) | set(after)):
            delta = round(after.get(item_id, 0) - before.get(item_id, 0), 6)
            if not delta or item_id not in self.items:
                continue
            item = self.items[item_id]
            item["available"] = round(item["available"] - delta, 6)
            item["onSO"] = round((item.get("onSO") or 0) + delta, 6)
            self._refresh_kits(item_id)
            if fire:
                self._fire_hooks(item)

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
        """An edit made in SOS's UI: the given fields change, the rest stay."""
        with self.lock:
            current = self._get(self.customers, customer_id)
            body = {**{key: current.get(key) for key in CUSTOMER_FIELDS}, **fields,
                    "syncToken": current["syncToken"]}
            return _copy(self._update_customer(customer_id, body))

    def _create_customer(self, body: dict) -> dict:
        if body.get("id") is not None:
            raise ApiError(400, "id must not be sent when creating a customer")
        record = {"id": self.customers.new_id(), **self._customer_record(body), "archived": False}
        return self._write(self.customers, record, new=True)

    def _update_customer(self, customer_id: int, body: dict) -> dict:
        current = self._get(self.customers, customer_id)
        self._check_token(current, body)
        record = {"id": customer_id, "syncToken": current["syncToken"], **self._customer_record(body),
                  "archived": current["archived"], "_created": current["_created"]}
        return self._write(self.customers, record)

    def _customer_record(self, body: dict) -> dict:
        """PUT and POST alike: every writable field from the body, the ones left out cleared."""
        _refuse_unknown(body, CUSTOMER_FIELDS, self._read_only("customer"), "customer")
        record = {key: body.get(key, empty) for key, empty in CUSTOMER_FIELDS.items()}
        if not isinstance(record["name"], str) or not record["name"].strip():
            raise ApiError(400, "name is required")
        contact = record["contact"]
        if contact is not None and not isinstance(contact, dict):
            raise ApiError(400, "contact must be an object")
        record["contact"] = {key: (contact or {}).get(key) for key in CONTACT_FIELDS}
        record["fullname"] = record["name"]
        record["salesRep"] = self._ref(self.sales_reps, record["salesRep"], "sales rep")
        record["priceTier"] = self._ref(self.price_tiers, record["priceTier"], "price tier")
        record["billing"] = _customer_address(record["billing"], "billing", self.customer_address_shape)
        record["shipping"] = _customer_address(record["shipping"], "shipping", self.customer_address_shape)
        return record

    # -- sales orders --------------------------------------------------------------------------
    def create_sales_order(self, **fields: Any) -> dict:
        """An order a user makes in SOS (its number may be longer than the API takes, SOS-A15)."""
        with self.lock:
            return _copy(self._create_sales_order(fields, by_user=True))

    def update_sales_order(self, order_id: int, **fields: Any) -> dict:
        """An edit made in SOS's UI: the given fields change, the rest stay."""
        with self.lock:
            current = self._get(self.sales_orders, order_id)
            body = {**{key: current.get(key) for key in ORDER_FIELDS}, **fields, "syncToken": current["syncToken"]}
            return _copy(self._update_sales_order(order_id, body, by_user=True))

    def set_stored_value(self, resource: str, record_id: int, path: str, value: Any) -> dict:
        """Put `value` at `path` ("customer", "lines.0.item", "onhand") of a stored record, as it
        is: no check, not a write (syncToken and modification time stay). See the module docstring."""
        with self.lock:
            store = self._resource(resource)[0]
            record = json.loads(json.dumps(self._get(store, record_id)))  # nothing shared with other records
            *parents, last = path.split(".")
            target: Any = record
            for part in parents:
                target = target[int(part)] if isinstance(target, list) else target[part]
            if isinstance(target, list):
                target[int(last)] = value
            else:
                target[last] = value
            return _copy(store.put(record))

    def _create_sales_order(self, body: dict, *, by_user: bool = False) -> dict:
        if body.get("id") is not None:
            raise ApiError(400, "id must not be sent when creating a sales order")
        order_id = self.sales_orders.new_id()
        record = {"id": order_id, **self._order_record(body, current_lines=None), **{key: [] for key in ORDER_LINKS},
                  "closed": bool(body.get("closed", False)), "archived": False}
        if self.deposit_amount == "ignored" and not by_user:  # SOS-A19's other reading
            record["depositAmount"] = 0
        if record["number"] in ("", "auto"):
            record["number"] = str(order_id)  # SOS's automatic numbering
        self._check_number(record["number"], order_id, by_user=by_user)
        written = self._write(self.sales_orders, record, new=True)
        self._recommit(written)
        return written

    def _update_sales_order(self, order_id: int, body: dict, *, by_user: bool = False) -> dict:
        current = self._get(self.sales_orders, order_id)
        self._check_token(current, body)
        record = {"id": order_id, "syncToken": current["syncToken"],
                  **self._order_record(body, current_lines=current["lines"]),
                  **{key: current[key] for key in ORDER_LINKS}, "closed": bool(body.get("closed", False)),
                  "archived": current["archived"], "_created": current["_created"]}
        if self.deposit_amount == "ignored":  # SOS-A19's other reading
            record["depositAmount"] = current["depositAmount"]
        if record["number"] in ("", "auto"):
            raise ApiError(400, "number is required")
        self._check_number(record["number"], order_id, by_user=by_user)
        written = self._write(self.sales_orders, record)
        self._recommit(written)
        return written

    def _check_number(self, number: str, own_id: int | None, *, by_user: bool = False) -> None:
        if not by_user and len(number) > NUMBER_MAX_LENGTH:  # the API's limit (SOS-A15), not SOS's UI's

            raise ApiError(400, f"Reference number {number!r} is longer than {NUMBER_MAX_LENGTH} characters")
        existing = self.sales_orders.find("number", number)
        if existing is not None and existing["id"] != own_id:
            raise ApiError(400, "Duplicate reference number")

    def _order_record(self, body: dict, *, current_lines: list[dict] | None) -> dict:
        """PUT and POST alike: every writable field from the body, the ones left out cleared.
        `current_lines`: the order's lines before a PUT (None: a create)."""
        _refuse_unknown(body, ORDER_FIELDS, self._read_only("salesorder"), "sales order")
        record = {key: body.get(key, empty) for key, empty in ORDER_FIELDS.items()}
        record["number"] = str(record["number"] or "").strip()
        record["date"] = record["date"] or self._today()
        customer_ref = self._ref(self.customers, record["customer"], "customer", required=True)
        customer = self.customers[customer_ref["id"]]
        record["customer"] = customer_ref
        record["location"] = self._ref(self.locations, record["location"], "location")
        record["salesRep"] = self._ref(self.sales_reps, record["salesRep"], "sales rep")
        for side in ("billing", "shipping"):
            given = _transaction_address(record[side], side)
            record[side] = given or {"company": customer.get("companyName"), "phone": customer.get("phone"),
                                     "email": customer.get("email"), "addressName": None, "addressType": None,
                                     "address": customer.get(side)}
        record["lines"] = self._lines(record["lines"], self.line_price_field, (self.line_price_field,),
                                      current_lines=current_lines)
        for key in ("discountAmount", "taxAmount", "shippingAmount", "depositAmount"):
            record[key] = _number(record[key], key, default=0)
        lines_total = sum((_decimal(line["amount"]) for line in record["lines"]), Decimal(0))
        record["subTotal"] = round(float(lines_total), 2)
        record["total"] = round(float(lines_total - _decimal(record["discountAmount"]) + _decimal(record["taxAmount"])
                                      + _decimal(record["shippingAmount"])), 2)
        return record

    def _lines(self, lines: Any, price_field: str, read_fields: Sequence[str] = LINE_PRICE_FIELDS, *,
               current_lines: list[dict] | None = None) -> list[dict]:
        """Lines as stored, the price under `price_field`; a price is read only under
        `read_fields` (SOS-A7: others are ignored). `current_lines`: the record's lines before a
        PUT, whose ids a line may carry (None: a create, whose line ids are ignored)."""
        if lines is None:
            return []
        if not isinstance(lines, list):
            raise ApiError(400, "lines must be a list")
        known_ids = {line["id"] for line in current_lines or [] if line.get("id") is not None}
        kept_ids: set = set()
        built = []
        for number, line in enumerate(lines, start=1):
            if not isinstance(line, dict):
                raise ApiError(400, f"line {number} must be an object")
            item_ref = self._ref(self.items, line.get("item"), "item", required=True, where=f"line {number}")
            item = self.items[item_ref["id"]]
            quantity = _number(line.get("quantity"), f"quantity (line {number})")
            if quantity == 0 and self.zero_quantity_lines == "refused":  # SOS-A22's other reading
                raise ApiError(400, f"Line {number}: quantity must be greater than 0")
            given = next((line[name] for name in read_fields if line.get(name) is not None), None)
            unit_price = _number(given, f"unitPrice (line {number})", default=item.get("salesPrice") or 0)
            minimum = item.get("minimumPrice")
            if minimum is not None and _decimal(unit_price) < _decimal(_number(minimum, "minimumPrice")):
                raise ApiError(400, f"Line {number}: unit price {unit_price} is below the minimum price {minimum} "
                                    f"of item {item.get('name') or item_ref['id']}")
            exact = _decimal(quantity) * _decimal(unit_price)
            if line.get("amount") is not None and _decimal(_number(line["amount"], "amount")) != exact:
                raise ApiError(400, f"Line {number}: amount {line['amount']} must equal quantity x unit price "
                                    f"({quantity} x {unit_price} = {exact})")
            line_id = line.get("id") if current_lines is not None else None
            if line_id is not None and (line_id not in known_ids or line_id in kept_ids):
                raise ApiError(400, f"Line {number}: id {line_id} is not a line of this order")
            kept_ids.add(line_id)
            built.append({"id": line_id, "lineNumber": number, "item": item_ref,
                          "description": line.get("description") or item.get("description", ""),
                          "quantity": quantity, price_field: unit_price, "amount": float(exact),
                          "linkedTransaction": line.get("linkedTransaction")})
        next_id = max((i for i in known_ids | kept_ids if isinstance(i, int)), default=0) + 1
        for line in built:
            if line["id"] is None:
                line["id"], next_id = next_id, next_id + 1
        return built

    def _link_to_order(self, order: dict, field_name: str, link: dict) -> None:
        """Documents made for an order show in its linked* lists: a write of the order."""
        updated = dict(order)
        updated[field_name] = [*order[field_name], link]
        self._write(self.sales_orders, updated)

    # -- invoices, shipments, payments (made in SOS by its users) ------------------------------
    def create_invoice(self, order_id: int, lines: list[dict] | None = None, *, number: str | None = None,
                       date: str | None = None) -> dict:
        """Invoice a sales order: all its lines (less its discount) unless `lines` (SOS line
        shape: {"item": {"id"}, "quantity", "unitprice"?}) are given."""
        with self.lock:
            order = self._get(self.sales_orders, order_id)
            if lines is None:
                built = [{**{k: v for k, v in line.items() if k not in LINE_PRICE_FIELDS},
                          "unitprice": line[self.line_price_field],
                          "linkedTransaction": _link(order, "SalesOrder", line["lineNumber"])}
                         for line in order["lines"]]
                total = order["total"]
            else:
                built = self._lines(lines, "unitprice")
                for line in built:
                    line["linkedTransaction"] = _link(order, "SalesOrder")
                total = round(sum(line["amount"] for line in built), 2)
            invoice_id = self.invoices.new_id()
            record = {"id": invoice_id, "number": number or f"INV-{invoice_id}", "date": date or self._today(),
                      "dueDate": None, "customer": order["customer"], "salesRep": order["salesRep"],
                      "terms": order["terms"], "billing": order["billing"], "shipping": order["shipping"],
                      "customerPO": order["customerPO"], "comment": None, "lines": built,
                      "subTotal": round(sum(line["amount"] for line in built), 2), "total": total, "balance": total,
                      "status": "Open", "voided": False, "archived": False,
                      "linkedTransaction": _link(order, "SalesOrder"), "linkedPayments": [],
                      "trackingNumber": None, "shipDate": None, "shippingMethod": None}
            self._write(self.invoices, record, new=True)
            self._link_to_order(order, "linkedInvoices", _link(record, "Invoice"))
            return _copy(record)

    def _shipping_method(self, name: str) -> dict | None:
        if not name:
            return None
        found = next((m for m in self.shipping_methods.values() if m["name"] == name), None)
        if found is None:
            found = self._write(self.shipping_methods, {"id": self.shipping_methods.new_id(), "name": name}, new=True)
        return {"id": found["id"], "name": found["name"]}

    def create_shipment(self, order_id: int, lines: list[dict] | None = None, *, number: str | None = None,
                        date: str | None = None, tracking_number: str = "", shipping_method: str = "") -> dict:
        """Ship a sales order (all its lines unless `lines` [{"item": {"id"}, "quantity"}]):
        stock of each shipped item drops and each line fires the quantity hook."""
        with self.lock:
            order = self._get(self.sales_orders, order_id)
            order_lines = {line["item"]["id"]: line["lineNumber"] for line in order["lines"]}
            wanted = lines if lines is not None else [
                {"item": line["item"], "quantity": line["quantity"]} for line in order["lines"]]
            shipped = []
            for line_number, line in enumerate(wanted, start=1):
                item_ref = self._ref(self.items, line.get("item"), "item", required=True, where=f"line {line_number}")
                quantity = _number(line.get("quantity"), f"quantity (line {line_number})")
                shipped.append({"lineNumber": line_number, "item": item_ref, "description": None,
                                "quantity": quantity, "invoiced": False, "backOrdered": 0,
                                "linkedTransaction": _link(order, "SalesOrder", order_lines.get(item_ref["id"]))})
            shipment_id = self.shipments.new_id()
            record = {"id": shipment_id, "number": number or f"SH-{shipment_id}", "date": date or self._today(),
                      "customer": order["customer"], "location": order["location"],
                      "shippingMethod": self._shipping_method(shipping_method), "trackingNumber": tracking_number,
                      "trackingLink": None, "shipBy": None, "customerPO": order["customerPO"], "comment": None,
                      "billing": order["billing"], "shipping": order["shipping"], "archived": False,
                      "linkedTransaction": None, "lines": shipped}
            self._write(self.shipments, record, new=True)
            self._link_to_order(order, "linkedShipments", _link(record, "Shipment"))
            shipped_parts = self._shipped.setdefault(order_id, {})
            for line in shipped:
                for part_id, quantity in self._stock_parts(line["item"]["id"], line["quantity"]):
                    shipped_parts[part_id] = shipped_parts.get(part_id, 0) + quantity
            self._recommit(self.sales_orders[order_id], fire=False)  # the shipped lines' hooks follow
            for line in shipped:
                self._take_stock(line["item"]["id"], line["quantity"])
            return _copy(record)

    def record_payment(self, amount: float, *, invoice_id: int | None = None, order_id: int | None = None,
                       number: str | None = None) -> dict:
        """A payment a user records in SOS (its UI; the documented API has no payment write):
        on an invoice it lowers its balance; on a sales order it raises its deposit. Both link
        it in `linkedPayments`."""
        with self.lock:
            return _copy(self._payment({"amount": amount, "number": number,
                                        "invoice": {"id": invoice_id} if invoice_id else None,
                                        "salesOrder": {"id": order_id} if order_id else None}, via_api=False))

    def create_payment(self, **fields: Any) -> dict:
        with self.lock:
            return _copy(self._create_payment(fields))

    def _create_payment(self, body: dict) -> dict:
        return self._payment(body, via_api=True)

    def _payment(self, body: dict, *, via_api: bool) -> dict:
        """A payment (the `/payment` record shape is unseen in every source: [assumed] here
        {customer, amount, invoice?, salesOrder?, number, date, paymentMethod, comment}). On an
        invoice it lowers the balance; else on a sales order it raises the deposit; both link it."""
        amount = _number(body.get("amount"), "amount")
        if amount <= 0:
            raise ApiError(400, "amount must be positive")
        invoice = self._ref(self.invoices, body.get("invoice"), "invoice", name_field="number")
        order = self._ref(self.sales_orders, body.get("salesOrder"), "sales order", name_field="number")
        target = self.invoices[invoice["id"]] if invoice else self.sales_orders[order["id"]] if order else None
        customer = self._ref(self.customers, body.get("customer") or (target or {}).get("customer"), "customer",
                             required=True)
        payment_id = self.payments.new_id()
        record = {"id": payment_id, "number": str(body.get("number") or payment_id),
                  "date": body.get("date") or self._today(), "customer": customer, "amount": amount,
                  "paymentMethod": body.get("paymentMethod"), "comment": body.get("comment") or "",
                  "invoice": invoice, "salesOrder": order,
                  "linkedTransaction": _link(target, "Invoice" if invoice else "SalesOrder") if target else None}
        self._write(self.payments, record, new=True)
        if target is None:
            return record
        updated = dict(target)
        updated["linkedPayments"] = [*target["linkedPayments"], _link(record, "Payment")]
        if invoice:
            updated["balance"] = round(target["balance"] - amount, 2)  # below 0: overpaid
            updated["status"] = "Paid" if updated["balance"] <= 0 else "Open"
            self._write(self.invoices, updated)
        else:
            updated["depositAmount"] = round(target["depositAmount"] + amount, 2)
            self._write(self.sales_orders, updated)
        return record

    # -- hooks -----------------------------------------------------------------------------------
    def _create_hook(self, body: dict) -> dict:
        if body.get("eventType") != HOOK_EVENT:
            raise ApiError(400, f"eventType must be {HOOK_EVENT!r}")
        uri = body.get("postUri")
        if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
            raise ApiError(400, "postUri must be an http(s) URL")
        return self._write(self.hooks, {"id": self.hooks.new_id(), "eventType": HOOK_EVENT, "postUri": uri,
                                        "additionalData": str(body.get("additionalData") or ""),
                                        "enabled": bool(body.get("enabled", True))}, new=True)

    def _delete_hook(self, hook_id: int) -> dict:
        self._get(self.hooks, hook_id)
        return self.hooks.remove(hook_id)

    # -- bulk data -------------------------------------------------------------------------------
    def load(self, *, items: Sequence[dict] = (), kit_components: dict[int, list[tuple[int, float]]] | None = None,
             locations: Sequence[dict] = (), customers: Sequence[dict] = (), sales_orders: Sequence[dict] = (),
             invoices: Sequence[dict] = (), shipments: Sequence[dict] = (), payments: Sequence[dict] = (),
             sales_reps: Sequence[dict] = (), price_tiers: Sequence[dict] = ()) -> None:
        """Add records as they are (ids, syncToken and the private `_modified` stamp included;
        a record without `_modified` counts as modified now); kits' availability is then
        derived from `kit_components` {kit id: [(component id, quantity per kit)]}."""
        with self.lock:
            for store, records in ((self.items, items), (self.locations, locations), (self.customers, customers),
                                   (self.sales_orders, sales_orders), (self.invoices, invoices),
                                   (self.shipments, shipments), (self.payments, payments),
                                   (self.sales_reps, sales_reps), (self.price_tiers, price_tiers)):
                if records:
                    now = self.clock.stamp()
                    store.load({"syncToken": 1, "_modified": now, **record,
                                "_created": record.get("_created") or record.get("_modified") or now}
                               for record in records)
                    self.clock.observe(store.latest_stamp())
            for kit_id, parts in (kit_components or {}).items():
                self._kit_components[kit_id] = [(component, per) for component, per in parts]
                for component, _ in parts:
                    self._kits_using.setdefault(component, set()).add(kit_id)
                self._compute_kit(kit_id)
            for order in sales_orders:  # H-avail: the loaded quantities already hold their commitments
                self._committed[order["id"]] = self._commitment(self.sales_orders[order["id"]])

    def reset(self) -> None:
        """Remove all business records; hook subscriptions and tokens (the integration's own
        setup) stay."""
        with self.lock:
            for store, _ in self._resources.values():
                if store is not self.hooks:
                    store.clear()
            self._kit_components.clear()
            self._kits_using.clear()
            self._committed.clear()
            self._shipped.clear()

    def state(self) -> dict:
        with self.lock:
            counts = {name: len(store) for name, (store, _) in self._resources.items()}
        return {"counts": counts, "hook_deliveries": len(self.hook_deliverer.log),
                "hooks_pending": self.hook_deliverer.pending(), "switches": self.configure()}


# The fields `query` searches, per endpoint (the contract; the match rule is undocumented: here
# a case-insensitive substring).
QUERY_FIELDS = {
    "item": ("fullname", "description", "notes", "barcode", "sku", "vendorPartNumber", "tags"),
    "customer": ("name", "fullname", "notes"),
    "salesorder": ("number", "comment", "customerPO", "customer.name"),
    "invoice": ("number", "comment", "customerPO", "customer.name"),
    "shipment": ("number", "comment", "customerPO", "customer.name", "trackingNumber", "location.name"),
}


def _refuse_unknown(body: dict, writable: dict, read_only: set[str], what: str) -> None:
    unknown = sorted(set(body) - set(writable) - read_only)
    if unknown:
        raise ApiError(400, f"not {what} fields: {', '.join(unknown)}")


def _text(row: dict, path: str) -> str:
    value: Any = row
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def _display_name(record: dict, name_field: str) -> str | None:
    """What a ref to `record` names it: its name/number; a sales rep by first and last name."""
    if name_field in record:
        return record[name_field]
    return " ".join(part for part in (record.get("firstName"), record.get("lastName")) if part) or None
