"""The pull streams, each declared on the one engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..clients.sos import SosClient
from ..clients.wiz import WizClient
from ..models.sos import SosItem
from ..models.wiz import WizProduct
from ..store.state import SyncState
from .engine import Stream
from .inventory import (
    InventoryWrite,
    commit_inventory_writes,
    plan_inventory_writes,
    product_skus_by_reference,
    send_inventory_write,
)
from .report import RunCounts


@dataclass(frozen=True)
class PullDeps:
    sos: SosClient
    wiz: WizClient
    state: SyncState
    wiz_concurrency: int


def inventory_stream(deps: PullDeps) -> Stream[dict[str, str], InventoryWrite]:
    """R-INV-1..5: every SOS item each run (quantity changes do not move lastModified), one
    pass over the WC products for the Reference ID → sku index, writes only for changes."""
    index_counts = RunCounts()

    def prepare() -> dict[str, str]:
        pages = deps.wiz.iter_pages_parallel("products", deps.wiz_concurrency)
        return product_skus_by_reference((WizProduct.model_validate(row) for page in pages for row in page), index_counts)

    def plan(index: dict[str, str], rows: list[dict[str, Any]], counts: RunCounts) -> list[InventoryWrite]:
        counts.gauges.update(index_counts.notes)  # what the product index found, as of this invocation
        items = [SosItem.model_validate(row) for row in rows]
        last_pushed = deps.state.inventory_values(str(item.id) for item in items)
        return plan_inventory_writes(items, index, last_pushed, counts)

    return Stream(
        name="inventory", resource="item", incremental=False, prepare=prepare, plan=plan,
        send=lambda index, write: send_inventory_write(deps.wiz, write),
        commit=lambda index, writes: commit_inventory_writes(deps.state, writes, "pull"),
    )


def build_streams(deps: PullDeps) -> dict[str, Stream]:
    return {stream.name: stream for stream in (inventory_stream(deps),)}
