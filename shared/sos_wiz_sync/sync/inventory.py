"""Inventory SOS → WizCommerce (R-INV-1..6): the plan, send and commit steps shared by the
2-hourly pull stream and the quantity hook worker, so both read and write one last-pushed
state and never fight."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, replace

from ..clients.http import map_bounded
from ..clients.wiz import WizClient
from ..models.sos import SosItem
from ..models.wiz import WizProduct
from ..rules.inventory import (
    InventoryLevels,
    inventory_levels_from_sos,
    needs_push,
    shown_inventory_digest,
    skip_reason,
    wiz_inventory,
)
from ..store.state import SyncState
from .report import RunCounts, failure_reason


@dataclass(frozen=True)
class InventoryWrite:
    record_id: str  # the SOS item id
    sku: str
    levels: InventoryLevels
    # SOS's values are the ones last pushed, WizCommerce shows others (edited by hand, or gone):
    # the write repairs that drift and is counted as `drift-corrected`, not as a change.
    corrects_drift: bool = False


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


def targets_wizcommerce_does_not_show(targets: Iterable[InventoryWrite], shown_by_sku: Mapping[str, str],
                                      hook_written: Set[str], counts: RunCounts) -> list[InventoryWrite]:
    """Pure: the targets WizCommerce does not show as they are (other values, or no record of the
    sku); the others are unchanged, whatever was pushed before. `shown_by_sku` holds the digest
    of what WizCommerce's inventory list showed for each sku. An unchanged item the hook wrote
    since the last pull is noted: the hook had it right already (R-INV-6)."""
    differing = []
    for target in targets:
        if shown_by_sku.get(target.sku) == shown_inventory_digest(wiz_inventory(target.sku, target.levels)):
            counts.unchanged += 1
            if target.record_id in hook_written:
                counts.note("unchanged_after_hook")
        else:
            differing.append(target)
    return differing


def writes_for_differences(differing: Iterable[InventoryWrite], last_pushed: Mapping[str, dict],
                           wizcommerce_read_at: str, counts: RunCounts) -> list[InventoryWrite]:
    """Pure: what to write for targets WizCommerce does not show. A change when SOS's values
    differ from the last push (or none was made, or the sku moved; R-INV-5); otherwise
    WizCommerce changed since we pushed (a hand edit, a deleted record) and the write corrects
    that drift. Except when the last push is newer than WizCommerce's list was read
    (`wizcommerce_read_at`): the list predates it (the hook wrote meanwhile), so it is unchanged."""
    writes = []
    for target in differing:
        previous = last_pushed.get(target.record_id)
        if needs_push(target.levels, target.sku, previous):
            writes.append(target)
        elif previous.get("pushed_at", "") >= wizcommerce_read_at:
            counts.unchanged += 1
            counts.note("pushed_after_wizcommerce_read")
        else:
            writes.append(replace(target, corrects_drift=True))
    return writes


@dataclass(frozen=True)
class ClearHookMarks:
    """Not a WizCommerce write: rides along with a page's writes so that, once they settled, the
    marks the hook worker left on the page's items (`INVDIRTY`) are cleared: the pull has
    compared those items with WizCommerce."""

    record_id: str                # the page's first SOS item id
    item_ids: tuple[str, ...]


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
    # Written outside the pull: the next pull notes which of these WizCommerce already shows
    # right (`unchanged_after_hook`, see sync/streams.py).
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
