"""WizCommerce records and webhook envelopes (../shared/api/wizcommerce.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class WizModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class WizProduct(WizModel):
    id: str
    reference_id: str | None = None
    sku: str
    name: str | None = None
    status: str | None = None
    updated_at: datetime | None = None


class OnOrderDetail(WizModel):
    quantity: float
    date: str | None = None
    identifier: str


InventoryStatus = Literal["IN_STOCK", "OUT_OF_STOCK", "BACK_ORDER"]


class WizInventoryFields(WizModel):
    """What an inventory upsert sends and WizCommerce's inventory read shows back (the SDK's
    InventoryCreateRequest and InventoryResponse): required on both sides, so a read row
    without one fails loudly by name."""

    sku: str
    available_quantity: float
    reserved_quantity: float
    in_stock_quantity: float
    back_order_quantity: float
    back_order_allowed: bool
    inventory_status: str
    track_inventory: bool
    on_order_details: list[OnOrderDetail]
    in_transit_details: list[OnOrderDetail]


class WizInventory(WizInventoryFields):
    """The inventory upsert body; `sku` identifies the record (one SKU per call). Every field
    the SDK marks required is here and always sent ([assumed] full body)."""

    inventory_status: InventoryStatus
    out_of_stock_threshold: float  # sent, not read back (not in the SDK's InventoryResponse)


class WizInventoryRecord(WizInventoryFields):
    """One row of WizCommerce's inventory list."""

    status: str | None = None
    updated_at: datetime | None = None


class WizAddress(WizModel):
    id: str | None = None
    reference_id: str | None = None
    type: Literal["billing", "shipping"] | None = None
    is_default: bool | None = None
    first_name: str | None = None
    last_name: str | None = None
    address_line_1: str | None = None
    address_line_2: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    zip_code: str | None = None
    phone: str | None = None
    email: str | None = None


class WizSalesRep(WizModel):
    id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class WizNamedRef(WizModel):
    id: str
    name: str | None = None


class WizCustomer(WizModel):
    id: str
    reference_id: str | None = None
    display_id: str | None = None
    name: str | None = None  # the company; written as `company_name`
    display_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    status: str | None = None
    assigned_sales_reps: list[WizSalesRep] = []
    assigned_price_list: WizNamedRef | None = None
    addresses: list[WizAddress] = []
    created_at: datetime | None = None
    updated_at: datetime | None = None


PERCENT_DISCOUNT_TYPES = frozenset({"percent", "percentage", "%"})


def exact(value: float | int | None) -> Decimal:
    """A JSON number as the decimal it was written as (no binary float noise)."""
    return Decimal(str(value or 0))


class WizLineItem(WizModel):
    """A line as read: lines have no id of their own."""

    product_id: str | None = None
    sku: str | None = None
    quantity: float
    unit_price: float
    cancelled_quantity: float | None = None  # WC-A19: the part of the line cancelled (R-ORD-8)
    discount: float | None = None
    discount_type: str | None = None
    note: str | None = None

    def charged_total(self) -> Decimal:
        """What WC charges for the line, exactly: quantity × unit price less the line's discount.
        A percentage discount (`discount_type` percent/percentage/%) takes that share off; any
        other discount is an amount off the whole line."""
        gross = exact(self.quantity) * exact(self.unit_price)
        if (self.discount_type or "").strip().lower() in PERCENT_DISCOUNT_TYPES:
            return gross * (1 - exact(self.discount) / 100)
        return gross - exact(self.discount)


class WizOrder(WizModel):
    id: str
    reference_id: str | None = None
    display_id: str
    customer_id: str
    status: str
    line_items: list[WizLineItem] = []
    amount: float | None = None
    amount_paid: float | None = None
    payment_status: str | None = None
    # No `discount_value`, `tax_value`, `shipping_charge`: written, not documented on read (WC-A13).
    customer_note: str | None = None
    internal_note: str | None = None
    price_list_id: str | None = None
    po_number: str | None = None
    billing_address: WizAddress | None = None
    shipping_address: WizAddress | None = None
    source: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def implied_discount(self) -> Decimal | None:
        """WC-A13: the order-level discount as the documented read shows it: the lines' charged
        totals less `amount`, to the cent (0 when the amount is higher: tax, charges); None when
        the read has no `amount` to tell."""
        if self.amount is None:
            return None
        lines_total = sum((line.charged_total() for line in self.line_items), Decimal(0))
        return max(Decimal(0), (lines_total - exact(self.amount)).quantize(Decimal("0.01"), "ROUND_HALF_UP"))


class WizInvoice(WizModel):
    id: str
    reference_id: str | None = None
    order_id: str | None = None
    invoice_number: str | None = None
    total_amount: float | None = None
    paid_amount: float | None = None
    status: str | None = None


class WizShipment(WizModel):
    id: str
    reference_id: str | None = None
    order_id: str | None = None
    shipment_status: str | None = None


class WebhookData(WizModel):
    id: str = Field(min_length=1, max_length=128)


class WebhookEnvelope(WizModel):
    """The webhook body, exactly as W/events shows it: thin, only the record's id."""

    id: str = Field(min_length=1, max_length=128)
    event: str = Field(min_length=1, max_length=64)
    timestamp: datetime
    data: WebhookData


# The documented customer events whose record we re-read and push.
CUSTOMER_PUSH_EVENTS = frozenset({"customer.created", "customer.updated"})
# The address events' names, [assumed] from a truncated section of W/events (WC-A7).
ADDRESS_EVENT_PREFIX = "customer.address."
