"""What an SOS record looks like in WizCommerce (R-CUS-3, R-ORD-7, R-DOC-1, R-PAY-2), and what
of it changed. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..models.sos import Address, SosCustomer, SosInvoice, SosSalesOrder, SosShipment, TransactionAddress
from ..models.wiz import WizAddress
from .customers import default_address
from .push_config import PAYMENT_NUMBER_PREFIX

# Marks WC orders the pull created: the push tells them from WC-placed ones by it even when the
# order number has no prefix or suffix (then SOS numbers and pushed numbers look alike).
PULLED_ORDER_SOURCE = "sos_inventory"
# Set when a record is created, never changed by a later pull: WizCommerce users and its own
# workflow own them afterwards (a cancelled order stays cancelled, a delivered shipment delivered).
CREATE_ONLY_FIELDS = frozenset({"reference_id", "status", "source", "shipment_status"})
MONEY_DECIMALS = 2
COMPARE_DECIMALS = 4  # float noise below this is not a change
PAID_TOLERANCE = 0.005


@dataclass(frozen=True)
class Waiting:
    """An SOS record that cannot be written to WizCommerce yet, and why (kept pending, R-DOC-1)."""

    reason: str


# -- comparing -----------------------------------------------------------------------------

def differs(current: Any, desired: Any) -> bool:
    """Whether WizCommerce's `current` value differs from the `desired` one. Only what we
    write is compared: keys of desired objects (WC adds ids, timestamps…), list items pairwise,
    numbers to 4 decimals, and an empty string equals a missing value."""
    if isinstance(desired, Mapping):
        if not isinstance(current, Mapping):
            return any(not _empty(value) for value in desired.values())
        return any(differs(current.get(key), value) for key, value in desired.items())
    if isinstance(desired, list):
        return (not isinstance(current, list) or len(current) != len(desired)
                or any(differs(c, d) for c, d in zip(current, desired)))
    if isinstance(desired, bool) or isinstance(current, bool):
        return type(current) is not type(desired) or current != desired
    if _number(desired) and _number(current):
        return round(float(current) - float(desired), COMPARE_DECIMALS) != 0
    return (None if _empty(current) else current) != (None if _empty(desired) else desired)


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# An invoice's status is SOS's to say (from its balance, R-PAY-2): it follows every change.
INVOICE_CREATE_ONLY_FIELDS = CREATE_ONLY_FIELDS - {"status"}


# WC write names whose value reads back under another name (WC-A17: a customer's `company_name`
# is read as `name`): compared with what reads back, like with like.
READ_NAMES = {"company_name": "name"}
# Order fields written but not documented on read (WC-A13): never compared themselves; the
# discount shows in the documented `amount` (see `changed_fields`).
ORDER_WRITE_ONLY_FIELDS = frozenset({"discount_value", "tax_value", "shipping_charge"})


def changed_fields(current: Mapping[str, Any], desired: Mapping[str, Any],
                   create_only: frozenset[str] = CREATE_ONLY_FIELDS) -> dict[str, Any]:
    """The fields of `desired` to send to bring an existing WC record up to date. A write-only
    order discount is compared through the order `amount` it makes; and since an order PUT
    replaces the whole order, it is sent again with any change (else the PUT would drop it)."""
    changes = {key: value for key, value in desired.items()
               if key not in create_only and key not in ORDER_WRITE_ONLY_FIELDS
               and differs(current.get(READ_NAMES.get(key, key)), value)}
    if "discount_value" in desired and (changes or _amount_differs(current, desired)):
        changes["discount_value"] = desired["discount_value"]
    return changes


def _amount_differs(current: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Whether WC's order `amount` is not what `desired` lines less its discount come to."""
    lines = desired.get("line_items") or []
    expected = sum(line["quantity"] * line["unit_price"] for line in lines) - (desired["discount_value"] or 0.0)
    amount = current.get("amount")
    return not _number(amount) or round(amount - expected, MONEY_DECIMALS) != 0


# -- customers (R-CUS-3) -------------------------------------------------------------------

AddressKind = Literal["billing", "shipping"]


def wc_address(address: Address | None, kind: AddressKind | None) -> dict[str, Any] | None:
    """A WC address from an SOS address; SOS's lines 3-5 (rarely used) join WC's second line.
    `kind`: the customer address `type`; None for an order's address, whose read has no `type`
    (WC-A13: not written where it cannot be compared)."""
    if address is None or not any(address.model_dump().values()):
        return None
    second = ", ".join(line for line in (address.line2, address.line3, address.line4, address.line5) if line)
    return {**({"type": kind} if kind else {}), "address_line_1": address.line1, "address_line_2": second or None,
            "city": address.city, "state": address.stateProvince, "zip_code": address.postalCode,
            "country": address.country}


def wc_transaction_address(address: TransactionAddress | None) -> dict[str, Any] | None:
    """A WC order address from an SOS transaction's billing/shipping (the address nests inside)."""
    return wc_address(address.address if address else None, None)


def merged_addresses(current: Sequence[Mapping[str, Any]], billing: dict | None,
                     shipping: dict | None) -> list[dict[str, Any]]:
    """The customer's WC addresses with SOS's billing and shipping address as the defaults:
    each replaces the current default of its kind in place (keeping its id), else is added;
    other WC addresses stay."""
    addresses = [dict(address) for address in current]
    models = [WizAddress.model_validate(address) for address in addresses]
    for kind, wanted in (("billing", billing), ("shipping", shipping)):
        if wanted is None:
            continue
        existing = default_address(models, kind)
        if existing is None:
            addresses.append({**wanted, "is_default": True})
        else:
            position = models.index(existing)
            addresses[position] = {**addresses[position], **wanted, "is_default": True}
    return addresses


def merged_contacts(current: Sequence[Mapping[str, Any]], contact: dict[str, Any]) -> list[dict[str, Any]]:
    """The customer's WC contacts with SOS's contact person as the default one: it replaces the
    current default (else the first) in place, keeping its id; other WC contacts stay."""
    contacts = [dict(existing) for existing in current]
    position = next((n for n, existing in enumerate(contacts) if existing.get("is_default")), 0 if contacts else None)
    if position is None:
        return [{**contact, "is_default": True}]
    contacts[position] = {**contacts[position], **contact, "is_default": True}
    return contacts


def wc_customer(customer: SosCustomer, current: Mapping[str, Any] | None) -> dict[str, Any]:
    """The WC customer an SOS customer is, in documented write fields only (WC-A17): company,
    display name, the contact person as the default `contacts` entry, default addresses. The SOS
    name is the display name, which the push sends back as the SOS name: the round trip is
    stable. `company_name` reads back as `name` and is compared with it (READ_NAMES)."""
    names = customer.contact
    contact = {"first_name": names.firstName if names else None, "last_name": names.lastName if names else None,
               "email": customer.email, "phone": customer.phone}
    # flat or nested on SOS's side (SOS-A21): the model holds both as a transaction address
    billing, shipping = (wc_address(customer.billing and customer.billing.address, "billing"),
                         wc_address(customer.shipping and customer.shipping.address, "shipping"))
    body = {
        "reference_id": str(customer.id), "display_name": customer.name,
        "company_name": customer.companyName or customer.name,  # WC requires it
        "addresses": merged_addresses((current or {}).get("addresses") or [],
                                      billing and {**billing, **contact}, shipping and {**shipping, **contact}),
    }
    if any(contact.values()):
        body["contacts"] = merged_contacts((current or {}).get("contacts") or [], contact)
    return body


# -- orders (R-ORD-7) ----------------------------------------------------------------------

def is_pushed_order_number(number: str, prefix: str, suffix: str) -> bool:
    """Whether an SOS order number has the shape the push gives WC orders (R-ORD-4). Without a
    prefix or suffix every number has that shape, so the number tells nothing."""
    if not (prefix or suffix):
        return False
    return len(number) > len(prefix) + len(suffix) and number.startswith(prefix) and number.endswith(suffix)


def missing_products(item_ids: Sequence[int], product_ids: Mapping[int, str]) -> list[int]:
    return sorted({item_id for item_id in item_ids if item_id not in product_ids})


def wc_order(order: SosSalesOrder, *, customer_id: str, product_ids: Mapping[int, str]) -> dict[str, Any] | Waiting:
    """The WC order an SOS-origin sales order is, its number as WC's display id. Every line's
    item needs a WC product (by Reference ID), else the order waits (R-REF-1)."""
    missing = missing_products([line.item.id for line in order.lines], product_ids)
    if missing:
        return Waiting(f"SOS items {', '.join(map(str, missing))} have no WizCommerce product (Reference ID)")
    return {
        "reference_id": str(order.id), "display_id": order.number, "customer_id": customer_id,
        "status": "confirmed", "source": PULLED_ORDER_SOURCE,
        "line_items": [{"product_id": product_ids[line.item.id], "quantity": line.quantity,
                        "unit_price": line.unitPrice} for line in order.lines],
        "discount_value": round(order.discountAmount or 0.0, MONEY_DECIMALS),
        "billing_address": wc_transaction_address(order.billing),
        "shipping_address": wc_transaction_address(order.shipping),
        # SOS's customerMessage is what the customer sees; `comment` is internal (the contract).
        "customer_note": order.customerMessage or "", "internal_note": order.comment or "",
    }


# -- invoices and shipments (R-DOC-1) ------------------------------------------------------

def wc_invoice(invoice: SosInvoice, *, order_id: str, skus: Mapping[int, str]) -> dict[str, Any]:
    """The WC invoice of an SOS invoice: amounts, what is paid (R-PAY-2), its lines."""
    items = []
    for line in invoice.lines:
        item = line.get("item") or {}
        items.append({"reference_id": str(item.get("id", "")), "sku": skus.get(item.get("id")),
                      "name": item.get("name") or line.get("description"), "quantity": line.get("quantity"),
                      "rate": _line_price(line), "amount": line.get("amount")})
    paid = invoice_paid(invoice)
    return {"reference_id": str(invoice.id), "order_id": order_id, "invoice_number": invoice.number,
            "total_amount": invoice.total, "paid_amount": max(0.0, paid),
            "status": invoice_status(invoice.total, paid), "items": items}


def _line_price(line: Mapping[str, Any]) -> Any:
    """A line's unit price whatever its casing (SOS writes unitPrice and unitprice)."""
    return next((value for key, value in line.items() if key.lower() == "unitprice"), None)


def invoice_paid(invoice: SosInvoice) -> float:
    """What is paid on an SOS invoice: its total less its `balance` (unpaid after payments and
    credits). A negative balance is an overpayment: paid exceeds the total."""
    return round(invoice.total - invoice.balance, MONEY_DECIMALS)


def invoice_status(total: float, paid: float) -> str:
    """WC's invoice status (PAID|PENDING|PARTIALLY_PAID|OVERPAID) from total and paid (R-PAY-2)."""
    if paid <= PAID_TOLERANCE:
        return "PENDING"
    if paid > total + PAID_TOLERANCE:
        return "OVERPAID"
    if paid + PAID_TOLERANCE >= total:
        return "PAID"
    return "PARTIALLY_PAID"


def wc_shipment(shipment: SosShipment, *, order_id: str, product_ids: Mapping[int, str]) -> dict[str, Any]:
    """The WC shipment of an SOS shipment, with its tracking number and shipping method. Lines whose item
    has no WC product cannot be listed (WC refuses them); the caller counts them."""
    return {"reference_id": str(shipment.id), "order_id": order_id, "shipment_status": "shipped",
            "tracking_info": {"tracking_number": shipment.trackingNumber or None, "tracking_url": None,
                              "delivery_partner": shipment.shippingMethod.name if shipment.shippingMethod else None},
            "shipment_items": [{"product_id": product_ids[line.item.id], "quantity": line.quantity}
                               for line in shipment.lines if line.item.id in product_ids],
            "note": f"SOS shipment {shipment.number or shipment.id}"}


# -- payments (R-PAY-2) --------------------------------------------------------------------

def is_pushed_payment_number(number: str | None) -> bool:
    """Payments the push creates carry a number derived from the WC payment id (R-PAY-1)."""
    return (number or "").startswith(PAYMENT_NUMBER_PREFIX)


PAID = "PAID"  # WC-A18: the one documented order `payment_status` value


def payment_status(amount: float | None, paid: float) -> str | None:
    """WC's payment status for an order of `amount` of which `paid` is paid: "PAID" when paid in
    full, else None (WC-A18: no other value is documented; the amount paid says the rest)."""
    if paid > PAID_TOLERANCE and paid + PAID_TOLERANCE >= (amount or 0.0):
        return PAID
    return None


def order_paid(deposit: float | None, paid_on_invoices: Sequence[float]) -> float:
    """What SOS says is paid on an order: its deposit, or what its invoices' balances say is
    paid, whichever is more. [assumed] SOS may carry a deposit onto the invoice (its balance
    then already counts it), so the two are not added: a payment is never counted twice."""
    return round(max(deposit or 0.0, sum(paid_on_invoices)), MONEY_DECIMALS)


def counted_paid(invoice: SosInvoice) -> float:
    """What an invoice adds to its order's paid amount: nothing once voided."""
    return 0.0 if invoice.voided else max(0.0, invoice_paid(invoice))


def wc_order_payment(amount: float | None, paid: float) -> dict[str, Any]:
    """`amount_paid` always; `payment_status` only when paid in full (WC-A18). An order no longer
    paid in full sends `payment_status: null`, so a PUT does not keep a stale "PAID"."""
    return {"amount_paid": round(paid, MONEY_DECIMALS), "payment_status": payment_status(amount, paid)}
