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


def wiz_product_fields(item: SosItem) -> dict[str, str]:
    """What a WC product made from an SOS item carries: the Reference ID that links them
    (R-REF-1), SOS's sku and name, and `active` unless SOS archived the item."""
    return {"reference_id": str(item.id), "sku": (item.sku or "").strip(), "name": item.name,
            "status": INACTIVE if item.archived else "active"}


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


def product_changes(item: SosItem, product: WizProduct) -> dict[str, str]:
    """The fields of `product` that differ from SOS. Status follows SOS one way only: an
    archived item deactivates its product, but a product someone deactivated in WizCommerce
    is not switched back on (that is a sales decision, not an SOS fact)."""
    wanted = wiz_product_fields(item)
    if not item.archived:
        del wanted["status"]
    return {name: value for name, value in wanted.items() if (getattr(product, name) or "") != value}
