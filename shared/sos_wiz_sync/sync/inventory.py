"""Inventory SOS → WizCommerce for a batch of items: used by the 2-hourly pull and by the
quantity hook worker (R-INV-1..6), so both read and write the same last-pushed state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..clients.http import ApiError, map_bounded
from ..clients.wiz import WizClient
from ..models.sos import SosItem
from ..rules.inventory import InventoryLevels, inventory_levels_from_sos, needs_push, skip_reason, wiz_inventory
from ..store.state import SyncState


@dataclass(frozen=True)
class InventoryWrite:
    item_id: str
    sku: str
    levels: InventoryLevels


@dataclass
class InventoryResult:
    """Counts for the run report; failures keep their reason per SKU."""

    seen: int = 0
    changed: int = 0
    unchanged: int = 0
    unchanged_after_hook: int = 0  # the quantity hook had already sent these values (R-INV-6)
    skipped: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    failures: list[dict] = field(default_factory=list)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def fail(self, write: InventoryWrite, reason: str) -> None:
        self.failed[reason] = self.failed.get(reason, 0) + 1
        self.failures.append({"item_id": write.item_id, "sku": write.sku, "reason": reason})


def plan_inventory_writes(items: Iterable[SosItem], sku_by_reference: Mapping[str, str],
                          last_pushed: Mapping[str, dict], result: InventoryResult) -> list[InventoryWrite]:
    """Pure: which WizCommerce inventory writes these SOS items need (R-INV-1..5)."""
    writes = []
    for item in items:
        result.seen += 1
        item_id = str(item.id)
        reason = skip_reason(item)
        sku = sku_by_reference.get(item_id)
        if reason is None and sku is None:
            reason = "unmapped"  # R-INV-5: no WC product carries this item's Reference ID
        if reason:
            result.skip(reason)
            continue
        levels = inventory_levels_from_sos(item.available, item.onPO)
        previous = last_pushed.get(item_id)
        if needs_push(levels, sku, previous):
            writes.append(InventoryWrite(item_id, sku, levels))
        else:
            result.unchanged += 1
            if previous and previous.get("source") == "hook":
                result.unchanged_after_hook += 1
    return writes


def failure_reason(error: Exception) -> str:
    if isinstance(error, ApiError):
        return f"wc-{error.status}"
    return type(error).__name__


def push_inventory_writes(wiz: WizClient, state: SyncState, writes: list[InventoryWrite], *, source: str,
                          concurrency: int, result: InventoryResult) -> None:
    """Send each write (one SKU per call, bounded concurrency); remember what succeeded."""
    pushed = []
    for write, _, error in map_bounded(lambda w: wiz.upsert_inventory(wiz_inventory(w.sku, w.levels)),
                                       writes, concurrency):
        if error is None:
            result.changed += 1
            pushed.append({"item_id": write.item_id, "sku": write.sku, "values": write.levels.as_dict(),
                           "source": source})
        else:
            result.fail(write, failure_reason(error))
    state.save_inventory_values(pushed)


def sync_inventory_items(items: list[SosItem], sku_by_reference: Mapping[str, str], *, wiz: WizClient,
                         state: SyncState, source: str, concurrency: int, result: InventoryResult) -> None:
    """Plan and push one batch of SOS items against the last pushed values in `state`."""
    last_pushed = state.inventory_values(str(item.id) for item in items)
    writes = plan_inventory_writes(items, sku_by_reference, last_pushed, result)
    push_inventory_writes(wiz, state, writes, source=source, concurrency=concurrency, result=result)
