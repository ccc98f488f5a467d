"""Products SOS → WizCommerce (beyond the hosted integration, which leaves products to a manual
import; off unless the template's EnableProductsPull is "true"): WC products created from SOS
items, linked by their Reference ID (R-REF-1), and deactivated when SOS archives the item.

The API's product writes are a create (`{group_code, variants: [...]}`) and a PATCH that only
sets `status` to `inactive`. A difference it cannot take (a renamed sku or name, a product found
by sku without a Reference ID) is not sent: it is counted as a failure naming the product and
what a person must change in WizCommerce, kept as an open failure (`sos-wiz-ops failures`) and
pending, compared again at each run's start, and resolved once WizCommerce shows SOS's values."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..clients.wiz import WizClient
from ..models.sos import SosItem
from ..rules.products import (
    HandFix,
    ProductIndex,
    match_product,
    product_changes,
    product_group_code,
    wiz_product_variant,
)
from ..store.state import SyncState
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
ENTITY = "product"
WriteKind = Literal["create", "deactivate", "hand-fix", "resolved"]


@dataclass(frozen=True)
class ProductWrite:
    record_id: str                 # the SOS item id
    kind: WriteKind
    product_id: str | None = None  # the WC product (None: create one)
    fields: dict[str, Any] = field(default_factory=dict)  # create: group_code and variant; deactivate: status
    fixes: tuple[HandFix, ...] = ()
    row: dict[str, Any] | None = None  # the SOS item as read, kept pending while a fix waits

    @property
    def changes_wc(self) -> bool:
        return self.kind in ("create", "deactivate")


def plan_product_writes(items: Iterable[tuple[SosItem, dict[str, Any]]], index: ProductIndex, counts: RunCounts,
                        waiting: frozenset[str] = frozenset()) -> list[ProductWrite]:
    """Pure: which WC product writes these SOS items (with their rows) need. `waiting`: the
    items that have hand fixes open from earlier runs (resolved when none is left)."""
    writes = []
    for item, row in items:
        counts.seen += 1
        record_id = str(item.id)
        product, reason = match_product(item, index)
        if reason is None and not (item.sku or "").strip():
            reason = "no-sku"  # WizCommerce requires one
        if reason is None and product is None and item.archived:
            reason = "archived"  # nothing to create for an item SOS retired
        fixes: list[HandFix] = []
        if reason:
            counts.skip(reason)
        elif product is None:
            writes.append(ProductWrite(record_id, "create", fields={
                "group_code": product_group_code(item), "variant": wiz_product_variant(item)}))
        else:
            change, fixes = product_changes(item, product)
            if change:
                writes.append(ProductWrite(record_id, "deactivate", product.id, change))
            for fix in fixes:
                counts.fail(record_id, fix.reason, wc_id=product.id, action=fix.action)
            if fixes:
                writes.append(ProductWrite(record_id, "hand-fix", product.id, fixes=tuple(fixes), row=row))
            elif not change:
                counts.unchanged += 1
        if not fixes and record_id in waiting:
            writes.append(ProductWrite(record_id, "resolved", product.id if product else None))
    return writes


def product_index(wiz: WizClient, items: list[SosItem]) -> ProductIndex:
    """The WC products a page of items may be, looked up by their ids and skus (a few calls a
    page, however large the catalog)."""
    skus = sorted({item.sku.strip() for item in items if (item.sku or "").strip()})
    return ProductIndex.of([*wiz.products_by_reference_ids([str(item.id) for item in items]),
                            *wiz.products_by_skus(skus)])


def send_product_write(wiz: WizClient, state: SyncState, write: ProductWrite) -> None:
    if write.kind == "create":
        wiz.create_product(write.fields["group_code"], write.fields["variant"])
    elif write.kind == "deactivate":
        wiz.patch("products", write.product_id, dict(write.fields))
    elif write.kind == "hand-fix":
        reason = "; ".join(fix.reason for fix in write.fixes)
        state.save_pending(ENTITY, write.record_id, reason=reason, row=write.row)
        state.record_failure(ENTITY, write.record_id, reason=reason, source="pull", details={
            "disposition": "fix-in-wizcommerce", "wc_id": write.product_id,
            "actions": [fix.action for fix in write.fixes]})
    else:
        state.resolve_pending(ENTITY, write.record_id)
        state.resolve_failure(ENTITY, write.record_id)


def product_event(write: ProductWrite) -> dict[str, Any]:
    action = {"create": "product-created", "deactivate": "product-updated", "hand-fix": "product-needs-hand-fix",
              "resolved": "product-fix-seen"}[write.kind]
    return {"action": action, "wc_id": write.product_id, "changes": dict(write.fields),
            **({"actions": [fix.action for fix in write.fixes]} if write.fixes else {})}


def products_stream(deps: HasSosAndState, wiz: WizClient) -> Stream[tuple[frozenset[str], frozenset[str]], Any]:
    """Incremental by `updatedsince` windows: an edit of an item's name or sku is a write SOS
    reports as updated, and each run reads what changed since the last one started (less the
    overlap margin). Items waiting for a hand fix are compared again at each run's start; an
    item that does not read is quarantined (sync/quarantine.py) and read again by id at each
    run's start until it does."""

    def prepare() -> tuple[frozenset[str], frozenset[str]]:
        """(quarantined item ids, item ids with hand fixes open)"""
        return (frozenset(deps.state.quarantined(ENTITY, PRODUCTS)),
                frozenset(str(entry["sos_id"]) for entry in deps.state.pending(ENTITY)))

    def plan(prepared: tuple[frozenset[str], frozenset[str]], rows: list[dict[str, Any]], counts: RunCounts) -> list:
        quarantined, waiting = prepared
        reading = read_rows(SosItem, rows, "item")
        writes: list = []
        for problem in reading.problems:  # the rest of the page goes on
            counts.seen += 1
            count_problem(counts, problem)
            writes += filter(None, [quarantine_write(problem, ENTITY, PRODUCTS)])
        read = [(item, row) for row, item in reading.records]
        writes += [EndQuarantine(item_id, ENTITY, PRODUCTS, "read again")
                   for item_id in [*(str(item.id) for item, _ in read), *reading.gone] if item_id in quarantined]
        if not read:
            return writes
        return writes + plan_product_writes(read, product_index(wiz, [item for item, _ in read]), counts, waiting)

    def send(_: Any, write: Any) -> None:
        if isinstance(write, Quarantine | EndQuarantine):
            write.apply(deps)
        else:
            send_product_write(wiz, deps.state, write)

    def pending() -> list[dict[str, Any]]:
        return [*quarantined_rows(deps, ENTITY, PRODUCTS, "item"), *(entry["row"] for entry in deps.state.pending(ENTITY))]

    return Stream(name=PRODUCTS, resource="item", incremental=True, prepare=prepare, plan=plan, send=send,
                  entity=ENTITY, event_details=lambda write: (
                      write.event() if isinstance(write, Quarantine | EndQuarantine) else product_event(write)),
                  is_change=lambda write: isinstance(write, ProductWrite) and write.changes_wc,
                  pending=pending)
