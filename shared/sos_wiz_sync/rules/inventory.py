"""Inventory mapping SOS → WizCommerce (R-INV-1..5)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from ..models.sos import KIT_TYPES, SosItem
from ..models.wiz import OnOrderDetail, WizInventory, WizInventoryFields

# The one on-order entry we own in WizCommerce's on_order_details (R-INV-3).
SOS_ON_ORDER_IDENTIFIER = "SOS Inventory"
# Item types whose quantities SOS does not track (the documented types other than stock items,
# assemblies and kits/item groups): their zeros would mark products out of stock.
UNTRACKED_ITEM_TYPES = frozenset({"Non-inventory", "Service", "Labor", "Overhead", "Other", "Expense", "Category"})
QUANTITY_DECIMALS = 4  # SOS quantities may be fractional; round away float noise before comparing


@dataclass(frozen=True)
class InventoryLevels:
    available: float
    back_order: float
    on_order: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _q(value: float) -> float:
    rounded = round(float(value), QUANTITY_DECIMALS)
    return rounded + 0.0  # -0.0 → 0.0, so equal values compare and serialise equal


def inventory_levels_from_sos(available: float, on_po: float) -> InventoryLevels:
    """R-INV-1 Available = max(0, available − onPO); R-INV-2 Back Order Limit =
    max(0, min(available, onPO)); R-INV-3 On Order = max(0, onPO).

    `available` is SOS's figure across nettable locations, kits included (R-INV-4).
    """
    return InventoryLevels(
        available=_q(max(0.0, available - on_po)),
        back_order=_q(max(0.0, min(available, on_po))),
        on_order=_q(max(0.0, on_po)),
    )


def kit_type_problem(item: SosItem, kit_types: frozenset[str] = KIT_TYPES) -> str | None:
    """SOS-A17: kits read `Kit` or `Item Group`; once the probe settled which one this account
    uses (`kit_types`), an item reading the other is no type we know: a failure naming the item,
    never sent or dropped silently."""
    if item.type in KIT_TYPES and item.type not in kit_types:
        return (f"item {item.id} reads type {item.type!r}, but this account's kits read "
                f"{' or '.join(sorted(kit_types))} (SOS-A17, sos-wiz-ops doctor --contract)")
    return None


def skip_reason(item: SosItem) -> str | None:
    """Why an SOS item's quantities are not sent at all, or None when they are."""
    if item.archived:
        return "archived"
    if item.type in UNTRACKED_ITEM_TYPES:
        return "untracked-type"
    return None


def inventory_status(levels: InventoryLevels) -> str:
    """IN_STOCK while something is sellable now, BACK_ORDER while only the back-order limit is
    left, else OUT_OF_STOCK."""
    if levels.available > 0:
        return "IN_STOCK"
    return "BACK_ORDER" if levels.back_order > 0 else "OUT_OF_STOCK"


def wiz_inventory(sku: str, levels: InventoryLevels) -> WizInventory:
    """The WizCommerce upsert body for one SKU, every required field filled (docs/architecture.md,
    "Inventory fields", says which SOS value feeds which):
    - available/back order/on order: R-INV-1..3;
    - in stock: SOS available clamped at 0 (= available + back order limit);
    - reserved 0: SOS available already nets out what sales orders hold (onSO), so reserving it
      again in WizCommerce would count it twice;
    - threshold 0, tracked, nothing in transit (SOS reports no in-transit figure).
    """
    return WizInventory(
        sku=sku,
        available_quantity=levels.available,
        reserved_quantity=0,
        in_stock_quantity=_q(levels.available + levels.back_order),
        back_order_quantity=levels.back_order,
        back_order_allowed=levels.back_order > 0,
        out_of_stock_threshold=0,
        inventory_status=inventory_status(levels),
        track_inventory=True,
        on_order_details=[OnOrderDetail(quantity=levels.on_order, identifier=SOS_ON_ORDER_IDENTIFIER)],
        in_transit_details=[],
    )


def needs_push(levels: InventoryLevels, sku: str, last_pushed: dict | None) -> bool:
    """R-INV-5: send only what changed since the last successful push (or a SKU change)."""
    if not last_pushed:
        return True
    return last_pushed.get("values") != levels.as_dict() or last_pushed.get("sku") != sku


def shown_inventory_digest(inventory: WizInventoryFields) -> str:
    """What WizCommerce shows of the fields we send, in 16 hex characters: equal for the body we
    would send and the record WizCommerce reads back exactly when WizCommerce already shows that
    body (drift repair compares them). Quantities are rounded as ours are, detail entries taken in
    any order; `out_of_stock_threshold` is left out because the inventory read does not show it."""
    def details(entries: list[OnOrderDetail]) -> list[tuple]:
        return sorted((entry.identifier, entry.date or "", _q(entry.quantity)) for entry in entries)

    shown = (inventory.sku, _q(inventory.available_quantity), _q(inventory.reserved_quantity),
             _q(inventory.in_stock_quantity), _q(inventory.back_order_quantity), inventory.back_order_allowed,
             inventory.inventory_status, inventory.track_inventory, details(inventory.on_order_details),
             details(inventory.in_transit_details))
    return hashlib.sha256(repr(shown).encode()).hexdigest()[:16]
