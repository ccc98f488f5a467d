"""SOS Inventory records (../shared/api/sos.md). Unknown fields are ignored on read."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SosModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Ref(SosModel):
    id: int
    name: str | None = None


class Address(SosModel):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    stateProvince: str | None = None
    postalCode: str | None = None
    country: str | None = None


ItemType = Literal["Inventory Item", "Non-inventory Item", "Service", "Assembly", "Kit"]


class SosItem(SosModel):
    id: int
    name: str = ""
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
    lastModified: datetime | None = None


class SosLocation(SosModel):
    id: int
    name: str
    nettable: bool = True


class SosCustomer(SosModel):
    id: int | None = None
    name: str
    companyName: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    email: str | None = None
    phone: str | None = None
    billing: Address | None = None
    shipping: Address | None = None
    notes: str | None = None
    salesRep: Ref | None = None
    priceTier: Ref | None = None
    archived: bool = False
    lastModified: datetime | None = None


class SosOrderLine(SosModel):
    lineNumber: int | None = None
    item: Ref
    description: str | None = None
    quantity: float
    unitprice: float
    amount: float | None = None


class SosSalesOrder(SosModel):
    id: int | None = None
    number: str = Field(max_length=21)
    date: datetime | None = None
    customer: Ref
    location: Ref | None = None
    billing: Address | None = None
    shipping: Address | None = None
    lines: list[SosOrderLine] = []
    discountAmount: float | None = None
    total: float | None = None
    memo: str | None = None
    customerNotes: str | None = None
    salesRep: Ref | None = None
    priceTier: Ref | None = None
    closed: bool = False
    lastModified: datetime | None = None


class DocOrderRef(SosModel):
    id: int
    number: str | None = None


class SosInvoice(SosModel):
    id: int
    number: str | None = None
    date: datetime | None = None
    customer: Ref | None = None
    salesOrder: DocOrderRef | None = None
    lines: list[dict] = []
    total: float = 0
    amountDue: float = 0
    lastModified: datetime | None = None


class SosShipmentLine(SosModel):
    item: Ref
    quantity: float


class SosShipment(SosModel):
    id: int
    number: str | None = None
    date: datetime | None = None
    customer: Ref | None = None
    salesOrder: DocOrderRef | None = None
    lines: list[SosShipmentLine] = []
    trackingNumber: str | None = None
    carrier: str | None = None
    lastModified: datetime | None = None


class SosPayment(SosModel):
    id: int | None = None
    number: str | None = None
    date: datetime | None = None
    customer: Ref
    amount: float
    method: str | None = None
    invoice: Ref | None = None
    salesOrder: Ref | None = None
    memo: str | None = None
    lastModified: datetime | None = None


class SosHook(SosModel):
    id: int | None = None
    eventType: str = "item.quantity_updated"
    postUri: str
    additionalData: str = ""
    enabled: bool = True


class SosQuantityHookPayload(SosModel):
    """What SOS posts on item.quantity_updated: a hint only (no onPO), never trusted for values."""

    id: int
