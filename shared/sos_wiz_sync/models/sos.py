"""SOS Inventory records (../shared/api/sos.md). Unknown fields are ignored on read; names
whose casing SOS varies (`unitPrice`/`unitprice`, `lineNumber`/`linenumber`) are read either
way; refs wrapped in a one-element list are unwrapped; numbers sent as strings are parsed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator


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


class LinkedTransaction(SosModel):
    """{id, transactionType, refNumber, linenumber} ([assumed] for the linked* list elements)."""

    id: int
    transactionType: str | None = None
    refNumber: str | None = None
    lineNumber: int | None = Field(default=None, validation_alias=AliasChoices("lineNumber", "linenumber"))

    @model_validator(mode="before")
    @classmethod
    def _one(cls, value: Any) -> Any:
        return _unwrap(value)


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


class SosCustomer(SosModel):
    id: int | None = None
    syncToken: int | None = None
    name: str
    companyName: str | None = None
    contact: Contact | None = None
    email: str | None = None
    phone: str | None = None
    billing: Address | None = None
    shipping: Address | None = None
    notes: str | None = None
    salesRep: Ref | None = None
    priceTier: Ref | None = None
    archived: bool = False


class SosOrderLine(SosModel):
    lineNumber: int | None = Field(default=None, validation_alias=AliasChoices("lineNumber", "linenumber"))
    item: Ref
    description: str | None = None
    quantity: float
    unitPrice: float = Field(validation_alias=AliasChoices("unitPrice", "unitprice", "UnitPrice"))
    amount: float | None = None
    linkedTransaction: LinkedTransaction | None = None


class SosSalesOrder(SosModel):
    id: int | None = None
    syncToken: int | None = None
    number: str = Field(max_length=21)
    date: datetime | None = None
    customer: Ref
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
        return [] if value is None else value


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

    @field_validator("linkedPayments", mode="before")
    @classmethod
    def _links(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def sales_order(self) -> LinkedTransaction | None:
        """The sales order it came from: its `linkedTransaction`, else a line's (the header may
        name a fulfilment instead)."""
        links = [self.linkedTransaction, *(LinkedTransaction.model_validate(line["linkedTransaction"])
                                           for line in self.lines if isinstance(line, dict)
                                           and isinstance(line.get("linkedTransaction"), dict | list))]
        return next((link for link in links if link is not None and is_sales_order(link)), None)


def is_sales_order(link: LinkedTransaction) -> bool:
    return (link.transactionType or "SalesOrder").replace(" ", "").lower() == "salesorder"


class SosShipmentLine(SosModel):
    item: Ref
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

    @property
    def sales_order(self) -> LinkedTransaction | None:
        """The sales order it ships ([assumed]: a line's linkedTransaction names it; the header's
        is documented "Unused")."""
        return next((line.linkedTransaction for line in self.lines
                     if line.linkedTransaction and is_sales_order(line.linkedTransaction)), None)


class SosPayment(SosModel):
    """A record of the undocumented `/payment` endpoint, on accounts that answer it ([assumed])."""

    id: int | None = None
    syncToken: int | None = None
    number: str | None = None
    date: datetime | None = None
    customer: Ref
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
