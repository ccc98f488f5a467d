"""The pull streams, each declared on the one engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..clients.sos import SosClient
from ..clients.wiz import WizClient
from ..models.sos import SosItem
from ..models.wiz import WizProduct
from ..store.mappings import Mappings
from ..store.state import SyncState
from .engine import Stream
from .entity_streams import entity_streams
from .reconcile import reconciliation_stream
from .inventory import (
    InventoryWrite,
    commit_inventory_writes,
    plan_inventory_writes,
    product_skus_by_reference,
    send_inventory_write,
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
    reconciliation_lag_seconds: int = 900


@dataclass(frozen=True)
class ProductIndex:
    """WC products by Reference ID, read once per invocation, and what reading them found."""

    sku_by_reference: dict[str, str]
    findings: dict[str, int]


def inventory_stream(deps: PullDeps) -> Stream[ProductIndex, InventoryWrite]:
    """R-INV-1..5: every SOS item each run (quantity changes do not move lastModified), one
    pass over the WC products for the Reference ID → sku index, writes only for changes."""

    def prepare() -> ProductIndex:
        findings = RunCounts()
        pages = deps.wiz.iter_pages_parallel("products", deps.wiz_concurrency)
        index = product_skus_by_reference((WizProduct.model_validate(row) for page in pages for row in page),
                                          findings)
        return ProductIndex(index, findings.notes)

    def plan(products: ProductIndex, rows: list[dict[str, Any]], counts: RunCounts) -> list[InventoryWrite]:
        counts.gauges.update(products.findings)
        items = [SosItem.model_validate(row) for row in rows]
        last_pushed = deps.state.inventory_values(str(item.id) for item in items)
        return plan_inventory_writes(items, products.sku_by_reference, last_pushed, counts)

    return Stream(
        name="inventory", resource="item", incremental=False, prepare=prepare, plan=plan,
        send=lambda index, write: send_inventory_write(deps.wiz, write),
        commit=lambda index, writes: commit_inventory_writes(deps.state, writes, "pull"),
    )


def build_streams(deps: PullDeps) -> dict[str, Stream]:
    streams = [inventory_stream(deps), products_stream(deps.wiz)]
    if deps.mappings is not None:  # the entity streams link records: they need the mappings table
        streams += [*entity_streams(deps), reconciliation_stream(deps)]
    return {stream.name: stream for stream in streams}
