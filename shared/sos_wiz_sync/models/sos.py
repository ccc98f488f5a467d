"""SOS Inventory records (../shared/api/sos.md). Unknown fields are ignored on read; names
whose casing SOS varies (`unitPrice`/`unitprice`, `lineNumber`/`linenumber`) are read either
way; refs wrapped in a one-element list are unwrapped; numbers sent as strings are parsed.
A ref may be null (SOS-A23). A record that does not read as its model is a `SosRecordError`
naming the record, the field and the assumption it breaks (`read_record`), never a silent drop."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

M = TypeVar("M", bound=BaseModel)
ASSUMPTION_ID = re.compile(r"\s*\((SOS-A\d+)\)")


class SosRecordError(ValueError):
    """An SOS record we cannot use as it stands: `unreadable` (it does not read as the contract's
    shape) or `unmirrorable` (it reads, but cannot be mirrored, e.g. an order without a customer).
    Its `reason` names the record, the field and the assumption id; `count_key` is what run
    reports count it under (short and stable: the details go into the failure sample)."""

    def __init__(self, resource: str, record_id: Any, field: str, problem: str, assumption: str | None = None,
                 *, kind: str = "unreadable"):
        self.resource, self.record_id, self.field = resource, record_id, field
        self.problem, self.assumption, self.kind = problem, assumption, kind
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        cited = f" ({self.assumption})" if self.assumption else ""
        return f"{self.kind}: {self.resource} {self.record_id} {self.field}: {self.problem}{cited}"

    @property
    def count_key(self) -> str:
        return f"{self.kind}-sos-record"

    def details(self) -> dict[str, Any]:
        return {"resource": self.resource, "field": self.field, "problem": self.problem,
                "assumption": self.assumption, "detail": self.reason}


def record_error(error: ValidationError, resource: str, record_id: Any) -> SosRecordError:
    """The first problem pydantic found, as a SosRecordError: its field path, what was there,
    and the assumption id a validator cited (a null where a ref must be: SOS-A23)."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "(record)"
    message = first["msg"].removeprefix("Value error, ")
    cited = ASSUMPTION_ID.search(message)
    given = first.get("input")
    if cited:
        return SosRecordError(resource, record_id, field, ASSUMPTION_ID.sub("", message), cited.group(1))
    if given is None and first["type"] in ("model_type", "dict_type"):
        return SosRecordError(resource, record_id, field, "null", "SOS-A23")  # a null ref where one must be
    if first["type"] == "missing":
        return SosRecordError(resource, record_id, field, "missing")
    return SosRecordError(resource, record_id, field, f"{message}: {_shown(given)}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_record(model: type[M], row: Any, resource: str) -> M:
    """`row` as `model`, or a SosRecordError naming the record (its id, if it has one) and field."""
    try:
        return model.model_validate(row)
    except ValidationError as exc:
        raise record_error(exc, resource, row.get("id") if isinstance(row, dict) else None) from exc


def _unwrap(value: Any) -> Any:
    """A ref is sometimes a one-element array (the contract): take the element."""
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


class SosModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Ref(SosModel):
    id: int
    name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _one(cls, value: Any) -> Any:
        return _unwrap(value)


class Address(SosModel):
    line1: str | None = None
    line2: str | None = None
    line3: str | None = None
    line4: str | None = None
    line5: str | None = None
    city: str | None = None
    stateProvince: str | None = None
    postalCode: str | None = None
    country: str | None = None


class TransactionAddress(SosModel):
    """Billing/shipping on a sales order, invoice or shipment: the address nests inside."""

    company: str | None = None
    phone: str | None = None
    email: str | None = None
    addressName: str | None = None
    addressType: str | None = None
    address: Address | None = None


class Contact(SosModel):
    title: str | None = None
    firstName: str | None = None
    middleName: str | None = None
    lastName: str | None = None
    suffix: str | None = None


LINK_SHAPE = "{id, transactionType, refNumber, lineNumber}"


class LinkedTransaction(SosModel):
    """{id, transactionType, refNumber, linenumber}, the contract's shape, also the one assumed
    for the linked* list elements (SOS-A9): any other shape is an error naming SOS-A9, never
    read as "no link" (the push's edit block relies on seeing every link)."""

    id: int
    transactionType: str | None = None
    refNumber: str | None = None
    lineNumber: int | None = Field(default=None, validation_alias=AliasChoices("lineNumber", "linenumber"))

    @model_validator(mode="before")
    @classmethod
    def _one(cls, value: Any) -> Any:
        value = _unwrap(value)
        if not isinstance(value, dict) or isinstance(value.get("id"), bool) or not (
                isinstance(value.get("id"), int) or str(value.get("id") or "").strip().isdigit()):
            raise ValueError(f"not a linked transaction {LINK_SHAPE} (SOS-A9): {_shown(value)}")
        return value


def _link_list(value: Any) -> Any:
    """A linked* list: null reads as none; anything but a list is not the shape (SOS-A9)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"not a list of linked transactions {LINK_SHAPE} (SOS-A9): {_shown(value)}")
    return value


_LINKS = TypeAdapter(list[LinkedTransaction])


def linked_transactions(record: dict[str, Any], field: str, resource: str) -> list[LinkedTransaction]:
    """One linked* list of a raw record, read strictly (SOS-A9): a SosRecordError otherwise."""
    try:
        return _LINKS.validate_python(_link_list(record.get(field)))
    except (ValidationError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            error = record_error(exc, resource, record.get("id"))
            raise SosRecordError(resource, record.get("id"), f"{field}.{error.field}", error.problem,
                                 error.assumption) from exc
        problem = ASSUMPTION_ID.sub("", str(exc))
        raise SosRecordError(resource, record.get("id"), field, problem, "SOS-A9") from exc


# The documented item types; kits may read "Item Group" (the contract).
ITEM_TYPES = ("Inventory Item", "Non-inventory", "Category", "Expense", "Assembly", "Kit", "Item Group", "Service",
              "Labor", "Overhead", "Other")
KIT_TYPES = frozenset({"Kit", "Item Group"})


class SosItem(SosModel):
    id: int
    syncToken: int | None = None
    name: str = ""
    fullname: str | None = None
    sku: str | None = None
    description: str | None = None
    type: str = "Inventory Item"
    onhand: float = 0
    available: float = 0
    onSO: float = 0
    onPO: float = 0
    onWO: float = 0
    salesPrice: float | None = None
    archived: bool = False

    @field_validator("onhand", "available", "onSO", "onPO", "onWO", mode="before")
    @classmethod
    def _quantity(cls, value: Any) -> Any:
        return 0 if value is None else value


class SosLocation(SosModel):
    id: int
    name: str
    nonNettable: bool = False


ADDRESS_FIELDS = frozenset(Address.model_fields)


class SosCustomer(SosModel):
    """Its `billing`/`shipping` are read flat (`{line1.., city, ...}`, the contract) or nested
    like a transaction's (`{company, phone, email, ..., address: {...}}`) (SOS-A21): both are
    held as a TransactionAddress, a flat one as its `address`."""

    id: int | None = None
    syncToken: int | None = None
    name: str
    companyName: str | None = None
    contact: Contact | None = None
    email: str | None = None
    phone: str | None = None
    billing: TransactionAddress | None = None
    shipping: TransactionAddress | None = None
    notes: str | None = None
    salesRep: Ref | None = None
    priceTier: Ref | None = None
    archived: bool = False

    @field_validator("billing", "shipping", mode="before")
    @classmethod
    def _address(cls, value: Any) -> Any:
        if isinstance(value, dict) and "address" not in value and set(value) & ADDRESS_FIELDS:
            return {"address": value}  # the flat shape
        return value


class SosOrderLine(SosModel):
    lineNumber: int | None = Field(default=None, validation_alias=AliasChoices("lineNumber", "linenumber"))
    item: Ref | None = None  # null on read (SOS-A23): the line is skipped with a note, the order kept
    description: str | None = None
    quantity: float
    unitPrice: float = Field(validation_alias=AliasChoices("unitPrice", "unitprice", "UnitPrice"))
    amount: float | None = None
    linkedTransaction: LinkedTransaction | None = None


class SosSalesOrder(SosModel):
    id: int | None = None
    syncToken: int | None = None
    number: str  # no length checked on read: 21 characters is a limit for numbers we create (SOS-A15)
    date: datetime | None = None
    customer: Ref | None = None  # null on read (SOS-A23): such an order cannot be mirrored
    location: Ref | None = None
    salesRep: Ref | None = None
    billing: TransactionAddress | None = None
    shipping: TransactionAddress | None = None
    lines: list[SosOrderLine] = []
    comment: str | None = None
    customerMessage: str | None = None
    customerNotes: str | None = None
    customerPO: str | None = None
    discountAmount: float | None = None
    depositAmount: float | None = None
    total: float | None = None
    closed: bool = False
    archived: bool = False
    linkedTransaction: LinkedTransaction | None = None
    linkedInvoices: list[LinkedTransaction] = []
    linkedShipments: list[LinkedTransaction] = []
    linkedPayments: list[LinkedTransaction] = []

    @field_validator("linkedInvoices", "linkedShipments", "linkedPayments", mode="before")
    @classmethod
    def _links(cls, value: Any) -> Any:
        return _link_list(value)

    @property
    def item_lines(self) -> list[SosOrderLine]:
        """The lines that name an item (SOS-A23: a line's item may be null)."""
        return [line for line in self.lines if line.item is not None]


class SosInvoice(SosModel):
    id: int
    syncToken: int | None = None
    number: str | None = None
    date: datetime | None = None
    customer: Ref | None = None
    lines: list[dict] = []
    total: float = 0
    balance: float = 0
    status: str | None = None
    voided: bool = False
    archived: bool = False
    linkedTransaction: LinkedTransaction | None = None
    linkedPayments: list[LinkedTransaction] = []
    _line_links: list[LinkedTransaction] = PrivateAttr(default_factory=list)

    @field_validator("linkedPayments", mode="before")
    @classmethod
    def _links(cls, value: Any) -> Any:
        return _link_list(value)

    @field_validator("lines", mode="after")
    @classmethod
    def _line_shapes(cls, lines: list[dict]) -> list[dict]:
        for number, line in enumerate(lines):
            if line.get("linkedTransaction") is not None:
                try:
                    LinkedTransaction.model_validate(line["linkedTransaction"])
                except ValidationError as exc:
                    problem = exc.errors()[0]["msg"].removeprefix("Value error, ")
                    raise ValueError(f"line {number} linkedTransaction: {problem}") from exc
        return lines

    def model_post_init(self, context: Any) -> None:
        self._line_links = [LinkedTransaction.model_validate(line["linkedTransaction"]) for line in self.lines
                            if line.get("linkedTransaction") is not None]

    @property
    def sales_order(self) -> LinkedTransaction | None:
        """The sales order it came from: its `linkedTransaction`, else a line's (the header may
        name a fulfilment instead)."""
        links = [self.linkedTransaction, *self._line_links]
        return next((link for link in links if link is not None and is_sales_order(link)), None)


def is_sales_order(link: LinkedTransaction) -> bool:
    return (link.transactionType or "SalesOrder").replace(" ", "").lower() == "salesorder"


class SosShipmentLine(SosModel):
    item: Ref | None = None  # null on read (SOS-A23): the line is not listed in WizCommerce
    quantity: float
    linkedTransaction: LinkedTransaction | None = None


class SosShipment(SosModel):
    id: int
    syncToken: int | None = None
    number: str | None = None
    date: datetime | None = None
    customer: Ref | None = None
    shippingMethod: Ref | None = None
    lines: list[SosShipmentLine] = []
    trackingNumber: str | None = None
    archived: bool = False
    linkedTransaction: LinkedTransaction | None = None  # documented "Unused"; some accounts name the order here

    @property
    def sales_order(self) -> LinkedTransaction | None:
        """The sales order it ships. SOS-A10: the header's linkedTransaction (documented "Unused")
        where it names one, then a line's, so either reading the probe may find is read."""
        links = [self.linkedTransaction, *(line.linkedTransaction for line in self.lines)]
        return next((link for link in links if link is not None and is_sales_order(link)), None)


class SosPayment(SosModel):
    """A record of the undocumented `/payment` endpoint, on accounts that answer it ([assumed])."""

    id: int | None = None
    syncToken: int | None = None
    number: str | None = None
    date: datetime | None = None
    customer: Ref | None = None  # null on read (SOS-A23)
    amount: float
    linkedTransaction: LinkedTransaction | None = None
    comment: str | None = None


class SosHook(SosModel):
    id: int | None = None
    eventType: str = "item.quantity_updated"
    postUri: str
    additionalData: str = ""
    enabled: bool = True


class SosQuantityHookPayload(SosModel):
    """What SOS posts on item.quantity_updated: a hint only (no onPO), never trusted for values."""

    id: int
