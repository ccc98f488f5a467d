"""Inventory SOS → WizCommerce (R-INV-1..6): the plan, send and commit steps shared by the
2-hourly pull stream and the quantity hook worker, so both read and write one last-pushed
state and never fight."""

from __future__ import annotations

import hashlib
import json
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


def inventory_targets(items: Iterable[SosItem], sku_by_reference: Mapping[str, str],
                      counts: RunCounts) -> list[InventoryWrite]:
    """Pure: what WizCommerce should show for each item that is sent at all (R-INV-1..4);
    the others are counted as skipped by reason (R-INV-5, R-REF-1)."""
    targets = []
    for item in items:
        counts.seen += 1
        item_id = str(item.id)
        reason = skip_reason(item)
        sku = sku_by_reference.get(item_id)
        if reason is None and sku is None:
            reason = "unmapped"  # R-INV-5: no WC product carries this item's Reference ID
        if reason:
            counts.skip(reason)
        else:
            targets.append(InventoryWrite(item_id, sku, inventory_levels_from_sos(item.available, item.onPO)))
    return targets


def changed_targets(targets: Iterable[InventoryWrite], last_pushed: Mapping[str, dict],
                    counts: RunCounts) -> list[InventoryWrite]:
    """Pure: the targets whose values differ from the last successful push (R-INV-5)."""
    writes = []
    for target in targets:
        previous = last_pushed.get(target.record_id)
        if needs_push(target.levels, target.sku, previous):
            writes.append(target)
        else:
            counts.unchanged += 1
            if previous and previous.get("source") == "hook":
                counts.note("unchanged_after_hook")  # R-INV-6: the hook had it right already
    return writes


def plan_inventory_writes(items: Iterable[SosItem], sku_by_reference: Mapping[str, str],
                          last_pushed: Mapping[str, dict], counts: RunCounts) -> list[InventoryWrite]:
    """Pure: which WizCommerce inventory writes these SOS items need (R-INV-1..5)."""
    return changed_targets(inventory_targets(items, sku_by_reference, counts), last_pushed, counts)


@dataclass(frozen=True)
class PageSeal:
    """Not a WizCommerce write: rides along with a page's writes so that, once all of them were
    sent, the page's fingerprint is stored and the next run can trust it (see page_fingerprint)."""

    record_id: str           # the page key
    fingerprint: str
    writes: int              # real writes planned on the page
    dirty_item_ids: tuple[str, ...]  # hook-written items on the page, compared one by one here


def page_key(rows: list[dict]) -> str:
    """A page of the inventory pass, named by its first row: with keyset paging, the same data
    gives the same pages, and an item edit (it moves to the end) renames every later page."""
    return f"{rows[0]['lastModified']}#{rows[0]['id']}"


def page_fingerprint(rows: list[dict], targets: list[InventoryWrite]) -> str:
    """What the page asks of WizCommerce: its items, and the sku and levels of those sent.
    Equal to the fingerprint stored when the page was last fully pushed → nothing to send."""
    content = {"ids": [row["id"] for row in rows],
               "targets": [(t.record_id, t.sku, t.levels.available, t.levels.back_order, t.levels.on_order)
                           for t in targets]}
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()


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
    # Written outside the pull's pages: the next pull must compare these items one by one
    # instead of trusting its page fingerprint (see sync/streams.py).
    state.mark_inventory_dirty(w.record_id for w in sent)
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
