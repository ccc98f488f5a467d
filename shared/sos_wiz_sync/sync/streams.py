"""The pull streams, each declared on the one engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..models.sos import SosItem
from ..models.wiz import WizProduct
from ..rules.inventory import shown_inventory_digest
from ..store.state import utc_now
from .deps import PullDeps
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
from .quarantine import (
    GONE_FROM_SOS,
    EndQuarantine,
    Quarantine,
    count_problem,
    quarantine_write,
    quarantined_rows,
    read_rows,
)
from .report import RunCounts


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
    quarantined_item_ids: frozenset[str] = frozenset()  # items an earlier run could not read


INVENTORY = "inventory"
InventoryStreamWrite = InventoryWrite | ClearHookMarks | Quarantine | EndQuarantine


def inventory_stream(deps: PullDeps) -> Stream[InventoryIndex, InventoryStreamWrite]:
    """R-INV-1..5: every SOS item each run (a quantity change need not match `updatedsince`),
    compared with what WizCommerce shows now, not with what we last pushed: one pass over the WC
    products for the Reference ID → sku index and one over WC's inventory list, in each
    invocation (a run continued in a fresh one reads them again). Only SKUs WizCommerce does not
    show as SOS says are written: a change when SOS moved since the last push, else a repair of
    drift (a hand edit in WizCommerce), counted `drift-corrected`. See docs/architecture.md,
    "Drift repair". An item that does not read is quarantined (sync/quarantine.py); the pass
    reads it again each run, and once it reads, its quarantine ends."""

    def prepare() -> InventoryIndex:
        findings = RunCounts()
        pages = deps.wiz.iter_pages_parallel("products", deps.wiz_concurrency)
        index = product_skus_by_reference((WizProduct.model_validate(row) for page in pages for row in page),
                                          findings)
        hook_written = frozenset(deps.state.inventory_dirty_items())
        read_at = utc_now()
        shown = {record.sku: shown_inventory_digest(record) for record in deps.wiz.inventories(deps.wiz_concurrency)}
        quarantined = frozenset(deps.state.quarantined("product", INVENTORY))
        return InventoryIndex(index, findings.notes, shown, read_at, hook_written, quarantined)

    def plan(index: InventoryIndex, rows: list[dict[str, Any]], counts: RunCounts) -> list[InventoryStreamWrite]:
        counts.gauges.update(index.findings)
        if not rows:
            return []
        reading = read_rows(SosItem, rows, "item")
        quarantines: list[InventoryStreamWrite] = []
        for problem in reading.problems:  # the rest of the page goes on
            counts.seen += 1
            count_problem(counts, problem)
            quarantines += filter(None, [quarantine_write(problem, "product", INVENTORY)])
        items = [item for _, item in reading.records]
        quarantines += [EndQuarantine(item_id, "product", INVENTORY, "read again")
                        for item_id in [*(str(item.id) for item in items), *reading.gone]
                        if item_id in index.quarantined_item_ids]
        if not items:
            return quarantines
        read_at = page_read_at()
        if read_at is None:
            raise ValueError("inventory rows without the time SOS was asked for them")
        hook_written = {str(item.id) for item in items} & index.hook_written_item_ids
        targets = inventory_targets(items, index.sku_by_reference, dict.fromkeys((str(i.id) for i in items), read_at),
                                    counts, deps.sos.kit_types())
        differing = targets_wizcommerce_does_not_show(targets, index.shown_by_sku, hook_written, counts)
        last_pushed = deps.state.inventory_values(t.record_id for t in differing) if differing else {}
        writes: list[InventoryStreamWrite] = [
            *quarantines, *writes_for_differences(differing, last_pushed, index.wizcommerce_read_at, counts)]
        if hook_written:
            writes.append(ClearHookMarks(str(items[0].id), tuple(sorted(hook_written))))
        return writes

    def send(index: InventoryIndex, write: InventoryStreamWrite) -> None:
        if isinstance(write, InventoryWrite):
            send_inventory_write(deps.wiz, write)
        elif isinstance(write, Quarantine | EndQuarantine):
            write.apply(deps)

    def gone_quarantined() -> list[dict[str, Any]]:
        """The full pass reads every item SOS has; only a quarantined item SOS deleted needs a
        read of its own, to end its quarantine."""
        return [row for row in quarantined_rows(deps, "product", INVENTORY, "item") if row.get(GONE_FROM_SOS)]

    def commit(index: InventoryIndex, sent: list[InventoryStreamWrite], counts: RunCounts) -> None:
        commit_pull_writes(deps.state, [w for w in sent if isinstance(w, InventoryWrite)],
                           deps.enqueue_inventory_recheck, counts)
        for marks in (w for w in sent if isinstance(w, ClearHookMarks)):
            deps.state.clear_inventory_dirty(marks.item_ids)

    return Stream(
        name=INVENTORY, resource="item", incremental=False, prepare=prepare, plan=plan, send=send,
        commit=commit, is_change=lambda write: isinstance(write, InventoryWrite), pending=gone_quarantined,
        corrects_drift=lambda write: isinstance(write, InventoryWrite) and write.corrects_drift,
    )


def build_streams(deps: PullDeps) -> dict[str, Stream]:
    streams = [inventory_stream(deps), products_stream(deps, deps.wiz)]
    if deps.mappings is not None:  # the entity streams link records: they need the mappings table
        streams += [*entity_streams(deps), reconciliation_stream(deps)]
    return {stream.name: stream for stream in streams}
