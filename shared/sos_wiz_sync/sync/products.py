"""Products SOS → WizCommerce (beyond the hosted integration, which leaves products to a manual
import; off unless the template's EnableProductsPull is "true"): WC products created or
updated from SOS items, linked by their Reference ID (R-REF-1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..clients.wiz import WizClient
from ..models.sos import SosItem
from ..rules.products import ProductIndex, match_product, product_changes, wiz_product_fields
from .engine import Stream
from .quarantine import (
    EndQuarantine,
    HasSosAndState,
    Quarantine,
    count_problem,
    quarantine_write,
    quarantined_rows,
    read_rows,
)
from .report import RunCounts

PRODUCTS = "products"


@dataclass(frozen=True)
class ProductWrite:
    record_id: str           # the SOS item id
    product_id: str | None   # the WC product to change; None: create one
    fields: Mapping[str, str]


def plan_product_writes(items: Iterable[SosItem], index: ProductIndex, counts: RunCounts) -> list[ProductWrite]:
    """Pure: which WC product creates and updates these SOS items need."""
    writes = []
    for item in items:
        counts.seen += 1
        product, reason = match_product(item, index)
        if reason is None and not (item.sku or "").strip():
            reason = "no-sku"  # WizCommerce requires one
        if reason is None and product is None and item.archived:
            reason = "archived"  # nothing to create for an item SOS retired
        if reason:
            counts.skip(reason)
        elif product is None:
            writes.append(ProductWrite(str(item.id), None, wiz_product_fields(item)))
        elif changes := product_changes(item, product):
            writes.append(ProductWrite(str(item.id), product.id, changes))
        else:
            counts.unchanged += 1
    return writes


def product_index(wiz: WizClient, items: list[SosItem]) -> ProductIndex:
    """The WC products a page of items may be, looked up by their ids and skus (a few calls a
    page, however large the catalog)."""
    skus = sorted({item.sku.strip() for item in items if (item.sku or "").strip()})
    return ProductIndex.of([*wiz.products_by_reference_ids([str(item.id) for item in items]),
                            *wiz.products_by_skus(skus)])


def send_product_write(wiz: WizClient, write: ProductWrite) -> None:
    if write.product_id is not None:
        wiz.patch("products", write.product_id, dict(write.fields))
        return
    created = wiz.create("products", dict(write.fields))
    # A product with this Reference ID appeared since the plan (the create met a 409 and came
    # back with it): bring it to SOS's fields too.
    stale = {name: value for name, value in write.fields.items() if created.get(name) != value}
    if stale:
        wiz.patch("products", created["id"], stale)


def product_event(write: ProductWrite) -> dict[str, Any]:
    return {"action": "product-updated" if write.product_id else "product-created",
            "wc_id": write.product_id, "changes": dict(write.fields)}


def products_stream(deps: HasSosAndState, wiz: WizClient) -> Stream[frozenset[str], ProductWrite]:
    """Incremental by `updatedsince` windows: an edit of an item's name or sku is a write SOS
    reports as updated, and each run reads what changed since the last one started (less the
    overlap margin). An item that does not read is quarantined (sync/quarantine.py) and read
    again by id at each run's start until it does."""

    def plan(quarantined: frozenset[str], rows: list[dict[str, Any]], counts: RunCounts) -> list:
        reading = read_rows(SosItem, rows, "item")
        writes: list = []
        for problem in reading.problems:  # the rest of the page goes on
            counts.seen += 1
            count_problem(counts, problem)
            writes += filter(None, [quarantine_write(problem, "product", PRODUCTS)])
        items = [item for _, item in reading.records]
        writes += [EndQuarantine(item_id, "product", PRODUCTS, "read again")
                   for item_id in [*(str(item.id) for item in items), *reading.gone] if item_id in quarantined]
        return writes + (plan_product_writes(items, product_index(wiz, items), counts) if items else [])

    def send(_: frozenset[str], write: Any) -> None:
        if isinstance(write, Quarantine | EndQuarantine):
            write.apply(deps)
        else:
            send_product_write(wiz, write)

    return Stream(name=PRODUCTS, resource="item", incremental=True,
                  prepare=lambda: frozenset(deps.state.quarantined("product", PRODUCTS)), plan=plan, send=send,
                  entity="product", event_details=lambda write: (
                      write.event() if isinstance(write, Quarantine | EndQuarantine) else product_event(write)),
                  is_change=lambda write: isinstance(write, ProductWrite),
                  pending=lambda: quarantined_rows(deps, "product", PRODUCTS, "item"))
