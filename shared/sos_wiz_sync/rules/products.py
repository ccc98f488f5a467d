"""Products SOS → WizCommerce (SPEC, entity table: beyond the hosted integration, behind a
switch): which WC product an SOS item is, and what of it must change."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..models.sos import SosItem
from ..models.wiz import WizProduct

INACTIVE = "inactive"


@dataclass
class ProductIndex:
    """The WC products a batch of SOS items may be: by Reference ID and by SKU."""

    by_reference: dict[str, WizProduct] = field(default_factory=dict)
    by_sku: dict[str, WizProduct] = field(default_factory=dict)
    ambiguous_references: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, products: Iterable[WizProduct]) -> "ProductIndex":
        index = cls()
        for product in products:
            reference = (product.reference_id or "").strip()
            if reference:
                if reference in index.by_reference and index.by_reference[reference].id != product.id:
                    index.ambiguous_references.add(reference)
                index.by_reference[reference] = product
            index.by_sku[product.sku] = product
        return index


def product_group_code(item: SosItem) -> str:
    """The `group_code` of a product made from an SOS item: from its id, which never changes and
    no other item has (its sku may be renamed, or reused after a rename), and which says where the
    product came from."""
    return f"sos-item-{item.id}"


def wiz_product_variant(item: SosItem) -> dict[str, str]:
    """The one variant of a WC product made from an SOS item (the documented create: the sku is
    written as `sku_id`): the Reference ID that links them (R-REF-1), SOS's sku and name."""
    return {"sku_id": (item.sku or "").strip(), "reference_id": str(item.id), "name": item.name}


@dataclass(frozen=True)
class HandFix:
    """A difference the API cannot write (PATCH only deactivates): what a person must change
    in WizCommerce, and the stable reason the run report counts it under."""

    reason: str
    action: str


def match_product(item: SosItem, index: ProductIndex) -> tuple[WizProduct | None, str | None]:
    """The WC product of an SOS item: by Reference ID first, then by SKU (a product imported by
    hand, not linked yet). Returns (product or None to create one, skip reason or None)."""
    reference = str(item.id)
    if reference in index.ambiguous_references:
        return None, "ambiguous-reference-id"  # two products claim the item: a person must choose
    if reference in index.by_reference:
        return index.by_reference[reference], None
    product = index.by_sku.get((item.sku or "").strip())
    if product is not None and (product.reference_id or "").strip():
        return None, "sku-linked-to-another-item"  # its Reference ID names a different SOS item
    return product, None


def product_changes(item: SosItem, product: WizProduct) -> tuple[dict[str, str], list[HandFix]]:
    """What `product` needs to be SOS's item: the one write the API takes (`status: inactive`
    when SOS archived the item; a product someone deactivated in WizCommerce is not switched back
    on: that is a sales decision, not an SOS fact), and the differences it does not take (a
    sku, name or missing Reference ID), each to be made by hand in WizCommerce. An archived
    item's product is only deactivated: its other differences no longer matter."""
    if item.archived:
        return ({"status": INACTIVE} if product.status != INACTIVE else {}), []
    fixes = []
    where = f"WizCommerce product {product.id} (sku {product.sku!r})"
    if not (product.reference_id or "").strip():
        fixes.append(HandFix("product-reference-id-not-settable",
                             f"in {where}, set the Reference ID to {item.id} (SOS item {item.id}) by hand"))
    sku = (item.sku or "").strip()
    if product.sku != sku:
        fixes.append(HandFix("product-sku-not-settable", f"in {where}, change the SKU to {sku!r} by hand"))
    if (product.name or "") != item.name:
        fixes.append(HandFix("product-name-not-settable", f"in {where}, change the name to {item.name!r} by hand"))
    return {}, fixes
