"""Inventory SOS → WizCommerce (R-INV-1..6): the plan, send and commit steps shared by the
2-hourly pull stream and the quantity hook worker, so both read and write one last-pushed
state and never fight."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..clients.http import map_bounded
from ..clients.wiz import WizClient
from ..models.sos import SosItem
from ..models.wiz import WizProduct
from ..rules.inventory import InventoryLevels, inventory_levels_from_sos, needs_push, skip_reason, wiz_inventory
from ..store.state import SyncState
from .report import RunCounts, failure_reason


@dataclass(frozen=True)
class InventoryWrite:
    record_id: str  # the SOS item id
    sku: str
    levels: InventoryLevels


def plan_inventory_writes(items: Iterable[SosItem], sku_by_reference: Mapping[str, str],
                          last_pushed: Mapping[str, dict], counts: RunCounts) -> list[InventoryWrite]:
    """Pure: which WizCommerce inventory writes these SOS items need (R-INV-1..5)."""
    writes = []
    for item in items:
        counts.seen += 1
        item_id = str(item.id)
        reason = skip_reason(item)
        sku = sku_by_reference.get(item_id)
        if reason is None and sku is None:
            reason = "unmapped"  # R-INV-5: no WC product carries this item's Reference ID
        if reason:
            counts.skip(reason)
            continue
        levels = inventory_levels_from_sos(item.available, item.onPO)
        previous = last_pushed.get(item_id)
        if needs_push(levels, sku, previous):
            writes.append(InventoryWrite(item_id, sku, levels))
        else:
            counts.unchanged += 1
            if previous and previous.get("source") == "hook":
                counts.note("unchanged_after_hook")  # R-INV-6: the hook had it right already
    return writes


def send_inventory_write(wiz: WizClient, write: InventoryWrite) -> None:
    wiz.upsert_inventory(wiz_inventory(write.sku, write.levels))


def commit_inventory_writes(state: SyncState, writes: list[InventoryWrite], source: str) -> None:
    state.save_inventory_values({"item_id": w.record_id, "sku": w.sku, "values": w.levels.as_dict(),
                                 "source": source} for w in writes)


def sync_inventory_items(items: list[SosItem], sku_by_reference: Mapping[str, str], *, wiz: WizClient,
                         state: SyncState, source: str, concurrency: int, counts: RunCounts) -> dict[str, Exception]:
    """Plan, send and commit one batch of SOS items synchronously (the hook worker's path).

    Returns the errors of the writes that failed, by SOS item id, so the caller can decide
    which to retry; they are counted in `counts` as well."""
    last_pushed = state.inventory_values(str(item.id) for item in items)
    writes = plan_inventory_writes(items, sku_by_reference, last_pushed, counts)
    sent, errors = [], {}
    for write, _, error in map_bounded(lambda w: send_inventory_write(wiz, w), writes, concurrency):
        if error is None:
            counts.changed += 1
            sent.append(write)
        else:
            counts.fail(write.record_id, failure_reason(error), sku=write.sku)
            errors[write.record_id] = error
    commit_inventory_writes(state, sent, source)
    return errors


def product_skus_by_reference(products: Iterable[WizProduct], counts: RunCounts) -> dict[str, str]:
    """Reference ID (SOS item id) → WC sku. Products without one are skipped (R-REF-1);
    two products claiming one item are ambiguous and neither gets inventory."""
    index: dict[str, str] = {}
    ambiguous: set[str] = set()
    for product in products:
        reference = (product.reference_id or "").strip()
        if not reference:
            counts.note("products_without_reference_id")
        elif reference in index and index[reference] != product.sku:
            ambiguous.add(reference)
        else:
            index[reference] = product.sku
    for reference in ambiguous:
        del index[reference]
        counts.note("products_with_ambiguous_reference_id")
    return index
