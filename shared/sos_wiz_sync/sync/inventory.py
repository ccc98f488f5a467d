"""Inventory SOS → WizCommerce (R-INV-1..6): the plan, send and commit steps shared by the
2-hourly pull stream and the quantity hook worker, so both read and write one last-pushed
state and never fight."""

from __future__ import annotations

import hashlib
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
    sent, the page is sealed with what WizCommerce now shows for each of its items."""

    record_id: str                   # the page key
    ids: str                         # the page's SOS item ids, in order
    digests: str                     # "item:digest,…" of the items sent to WizCommerce
    writes: int                      # real writes planned on the page
    dirty_item_ids: tuple[str, ...]  # hook-written items on the page, compared one by one here


def page_key(rows: list[dict]) -> str:
    """A page of the inventory pass, named by its first row's id: while SOS's row order holds,
    the same data gives the same pages; when rows move (an item edit may move it), later pages
    start elsewhere and their seals miss, so their items are compared one by one (slower, never
    wrong: a seal is only trusted for the exact ids it was made for)."""
    return f"first#{rows[0]['id']}"


def page_ids(rows: list[dict]) -> str:
    return ",".join(str(row["id"]) for row in rows)


def target_digest(target: InventoryWrite) -> str:
    """What WizCommerce shows for the item once `target` is sent, in 12 hex characters."""
    levels = target.levels
    text = f"{target.sku}|{levels.available}|{levels.back_order}|{levels.on_order}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def encode_digests(digests: Mapping[str, str]) -> str:
    return ",".join(f"{item_id}:{digest}" for item_id, digest in digests.items())


def decode_digests(text: str) -> dict[str, str]:
    return dict(entry.split(":", 1) for entry in text.split(",") if entry)


def split_by_seal(targets: list[InventoryWrite], seal: Mapping[str, str] | None, ids: str,
                  dirty: set[str], counts: RunCounts) -> tuple[list[InventoryWrite], list[InventoryWrite]]:
    """Pure: (targets known to differ from what WizCommerce shows, targets to compare with their
    last pushed values). A sealed page with the same items tells, for each item the hook has not
    written since, what WizCommerce shows: equal digest → unchanged, other digest → changed."""
    if seal is None or seal["ids"] != ids:
        return [], targets
    sealed = decode_digests(seal["digests"])
    changed, unknown = [], []
    for target in targets:
        if target.record_id in dirty or target.record_id not in sealed:
            unknown.append(target)
        elif sealed[target.record_id] != target_digest(target):
            changed.append(target)
        else:
            counts.unchanged += 1
    return changed, unknown


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
    # instead of trusting its page seal (see sync/streams.py).
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
