"""Customer push rules, WizCommerce → SOS (R-CUS-1). Pure: no I/O."""

from __future__ import annotations

from typing import Any, Literal

from ..models.wiz import WizAddress, WizCustomer
from .push_config import PushConfig, sos_ref


def sos_address(address: WizAddress | None) -> dict[str, str | None] | None:
    """An SOS address (customer billing/shipping): `{line1..line5, city, stateProvince, ...}`."""
    if address is None:
        return None
    return {"line1": address.address_line_1, "line2": address.address_line_2, "city": address.city,
            "stateProvince": address.state, "postalCode": address.zip_code, "country": address.country}


def sos_transaction_address(address: WizAddress | None, kind: Literal["billing", "shipping"],
                            company: str | None) -> dict[str, Any] | None:
    """An SOS sales order's billing/shipping: the address nested in `{company, phone, email,
    addressName, addressType, address}` (../shared/api/sos.md, "Shapes")."""
    if address is None:
        return None
    name = " ".join(part for part in (address.first_name, address.last_name) if part) or None
    return {"company": company, "phone": address.phone, "email": address.email, "addressName": name,
            "addressType": kind, "address": sos_address(address)}


def default_address(addresses: list[WizAddress], kind: Literal["billing", "shipping"]) -> WizAddress | None:
    """The customer's default address of a kind, else its first one of that kind."""
    of_kind = [address for address in addresses if address.type == kind]
    return next((address for address in of_kind if address.is_default), of_kind[0] if of_kind else None)


def sos_customer_name(customer: WizCustomer) -> str:
    """SOS requires a name: the first of WC's names that is filled in, else one naming the WC id."""
    full_name = " ".join(part for part in (customer.first_name, customer.last_name) if part)
    for candidate in (customer.display_name, customer.name, full_name, customer.email):
        if candidate and candidate.strip():
            return candidate.strip()
    return f"WizCommerce customer {customer.id}"


def sos_customer(customer: WizCustomer, config: PushConfig) -> dict[str, Any]:
    """The SOS customer fields (POST, and merged into the record for a PUT): names (the person's
    in `contact`), default addresses, and the sales rep and price tier through the configured
    mappings (R-ORD-5, R-ORD-6). SOS-only fields (notes, archived) are left out, so an update
    keeps what SOS users wrote there."""
    first_rep = customer.assigned_sales_reps[0].id if customer.assigned_sales_reps else None
    price_list = customer.assigned_price_list.id if customer.assigned_price_list else None
    return {
        "name": sos_customer_name(customer),
        "companyName": customer.name,
        "contact": {"firstName": customer.first_name, "lastName": customer.last_name},
        "email": customer.email,
        "phone": customer.phone,
        "billing": sos_address(default_address(customer.addresses, "billing")),
        "shipping": sos_address(default_address(customer.addresses, "shipping")),
        "salesRep": sos_ref(config.sales_rep_for(first_rep)),
        "priceTier": sos_ref(config.price_tier_for(price_list)),
    }
