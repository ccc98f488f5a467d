"""The pull streams, each declared on the one engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..clients.sos import SosClient
from ..clients.wiz import WizClient
from ..models.sos import SosItem
from ..models.wiz import WizProduct
from ..rules.inventory import shown_inventory_digest
from ..store.mappings import Mappings
from ..store.state import SyncState, utc_now
from .engine import Stream, page_read_at
from .entity_streams import entity_streams
from .reconcile import reconciliation_stream
from .inventory import (
    ClearHookMarks,
    InventoryWrite,
    commit_pull_writes,
    inventory_targets,
    product_skus_by_reference,
    send_inventory_write,
    targets_wizcommerce_does_not_show,
    writes_for_differences,
)
from .products import products_stream
from .report import RunCounts


@dataclass(frozen=True)
class PullDeps:
    sos: SosClient
    wiz: WizClient
    state: SyncState
    wiz_concurrency: int
    # The entity streams (customers, orders, invoices, shipments, payments, reconciliation):
    mappings: Mappings | None = None
    order_number_prefix: str = ""   # R-ORD-4: what pushed SOS order numbers look like (no echo, R-ORD-7)
    order_number_suffix: str = ""
    enqueue_push: Callable[[str, str, str], None] | None = None  # (body, group id, dedup id) → push queue
    # SendMessage arguments → the inventory hook queue (None: the hook is off in this deployment)
    enqueue_inventory_recheck: Callable[[dict[str, str]], None] | None = None
    reconciliation_lag_seconds: int = 900


@dataclass(frozen=True)
class InventoryIndex:
    """What one invocation of the inventory pull reads before its first page: WC products by
    Reference ID (and what reading them found), what WC's inventory list shows for each sku
    (`shown_inventory_digest`) and when that read began, and the items the hook wrote since the
    last pull."""

    sku_by_reference: dict[str, str]
    findings: dict[str, int]
    shown_by_sku: dict[str, str]
    wizcommerce_read_at: str
    hook_written_item_ids: frozenset[str]


def inventory_stream(deps: PullDeps) -> Stream[InventoryIndex, InventoryWrite | ClearHookMarks]:
    """R-INV-1..5: every SOS item each run (a quantity change need not match `updatedsince`),
    compared with what WizCommerce shows now, not with what we last pushed: one pass over the WC
    products for the Reference ID → sku index and one over WC's inventory list, in each
    invocation (a run continued in a fresh one reads them again). Only SKUs WizCommerce does not
    show as SOS says are written: a change when SOS moved since the last push, else a repair of
    drift (a hand edit in WizCommerce), counted `drift-corrected`. See docs/architecture.md,
    "Drift repair"."""

    def prepare() -> InventoryIndex:
        findings = RunCounts()
        pages = deps.wiz.iter_pages_parallel("products", deps.wiz_concurrency)
        index = product_skus_by_reference((WizProduct.model_validate(row) for page in pages for row in page),
                                          findings)
        hook_written = frozenset(deps.state.inventory_dirty_items())
        read_at = utc_now()
        shown = {record.sku: shown_inventory_digest(record) for record in deps.wiz.inventories(deps.wiz_concurrency)}
        return InventoryIndex(index, findings.notes, shown, read_at, hook_written)

    def plan(index: InventoryIndex, rows: list[dict[str, Any]],
             counts: RunCounts) -> list[InventoryWrite | ClearHookMarks]:
        counts.gauges.update(index.findings)
        if not rows:
            return []
        items = [SosItem.model_validate(row) for row in rows]
        read_at = page_read_at()
        if read_at is None:
            raise ValueError("inventory rows without the time SOS was asked for them")
        hook_written = {str(item.id) for item in items} & index.hook_written_item_ids
        targets = inventory_targets(items, index.sku_by_reference, dict.fromkeys((str(i.id) for i in items), read_at),
                                    counts)
        differing = targets_wizcommerce_does_not_show(targets, index.shown_by_sku, hook_written, counts)
        last_pushed = deps.state.inventory_values(t.record_id for t in differing) if differing else {}
        writes: list[InventoryWrite | ClearHookMarks] = [
            *writes_for_differences(differing, last_pushed, index.wizcommerce_read_at, counts)]
        if hook_written:
            writes.append(ClearHookMarks(str(items[0].id), tuple(sorted(hook_written))))
        return writes

    def send(index: InventoryIndex, write: InventoryWrite | ClearHookMarks) -> None:
        if isinstance(write, InventoryWrite):
            send_inventory_write(deps.wiz, write)

    def commit(index: InventoryIndex, sent: list[InventoryWrite | ClearHookMarks], counts: RunCounts) -> None:
        commit_pull_writes(deps.state, [w for w in sent if isinstance(w, InventoryWrite)],
                           deps.enqueue_inventory_recheck, counts)
        for marks in (w for w in sent if isinstance(w, ClearHookMarks)):
            deps.state.clear_inventory_dirty(marks.item_ids)

    return Stream(
        name="inventory", resource="item", incremental=False, prepare=prepare, plan=plan, send=send,
        commit=commit, is_change=lambda write: isinstance(write, InventoryWrite),
        corrects_drift=lambda write: isinstance(write, InventoryWrite) and write.corrects_drift,
    )


def build_streams(deps: PullDeps) -> dict[str, Stream]:
    streams = [inventory_stream(deps), products_stream(deps.wiz, deps.state)]
    if deps.mappings is not None:  # the entity streams link records: they need the mappings table
        streams += [*entity_streams(deps), reconciliation_stream(deps)]
    return {stream.name: stream for stream in streams}
