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
from .engine import Stream, page_read_at
from .entity_streams import entity_streams
from .reconcile import reconciliation_stream
from .inventory import (
    InventoryWrite,
    PageSeal,
    changed_targets,
    commit_pull_writes,
    inventory_targets,
    encode_digests,
    page_ids,
    page_key,
    product_skus_by_reference,
    send_inventory_write,
    split_by_seal,
    target_digest,
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
class ProductIndex:
    """What one invocation of the inventory pull reads before its first page: WC products by
    Reference ID (and what reading them found), and the items the hook wrote since."""

    sku_by_reference: dict[str, str]
    findings: dict[str, int]
    dirty_item_ids: frozenset[str]


def inventory_stream(deps: PullDeps) -> Stream[ProductIndex, InventoryWrite | PageSeal]:
    """R-INV-1..5: every SOS item each run (a quantity change need not match `updatedsince`), one
    pass over the WC products for the Reference ID → sku index, writes only for changes.

    A page fully pushed is sealed with a digest of what WizCommerce shows for each of its items.
    When a later run meets the same page (same first row, same items), each item the hook has
    not written since is judged by its digest alone; only the others have their last pushed
    values read. See docs/architecture.md, "Page seals"."""

    def prepare() -> ProductIndex:
        findings = RunCounts()
        pages = deps.wiz.iter_pages_parallel("products", deps.wiz_concurrency)
        index = product_skus_by_reference((WizProduct.model_validate(row) for page in pages for row in page),
                                          findings)
        return ProductIndex(index, findings.notes, frozenset(deps.state.inventory_dirty_items()))

    def plan(products: ProductIndex, rows: list[dict[str, Any]], counts: RunCounts) -> list[InventoryWrite | PageSeal]:
        counts.gauges.update(products.findings)
        if not rows:
            return []
        items = [SosItem.model_validate(row) for row in rows]
        read_at = page_read_at()
        if read_at is None:
            raise ValueError("inventory rows without the time SOS was asked for them")
        targets = inventory_targets(items, products.sku_by_reference, dict.fromkeys(map(str, (i.id for i in items)),
                                                                                  read_at), counts)
        key, ids = page_key(rows), page_ids(rows)
        dirty = {str(item.id) for item in items} & products.dirty_item_ids
        changed, to_compare = split_by_seal(targets, deps.state.inventory_page_seal(key), ids, dirty, counts)
        if to_compare:
            changed += changed_targets(to_compare, deps.state.inventory_values(t.record_id for t in to_compare),
                                       counts)
        elif not changed:
            return []  # sealed and unchanged: nothing to send, nothing to seal again
        digests = encode_digests({t.record_id: target_digest(t) for t in targets})
        return [*changed, PageSeal(key, ids, digests, len(changed), tuple(sorted(dirty)))]

    def send(products: ProductIndex, write: InventoryWrite | PageSeal) -> None:
        if isinstance(write, InventoryWrite):
            send_inventory_write(deps.wiz, write)

    def commit(products: ProductIndex, sent: list[InventoryWrite | PageSeal], counts: RunCounts) -> None:
        writes = [w for w in sent if isinstance(w, InventoryWrite)]
        commit_pull_writes(deps.state, writes, deps.enqueue_inventory_recheck, counts)
        for seal in (w for w in sent if isinstance(w, PageSeal)):
            if seal.writes == len(writes):  # a failed write leaves the page unsealed: next run retries it
                deps.state.save_inventory_page_seal(seal.record_id, ids=seal.ids, digests=seal.digests)
                deps.state.clear_inventory_dirty(seal.dirty_item_ids)

    return Stream(
        name="inventory", resource="item", incremental=False, prepare=prepare, plan=plan, send=send,
        commit=commit, is_change=lambda write: isinstance(write, InventoryWrite),
    )


def build_streams(deps: PullDeps) -> dict[str, Stream]:
    streams = [inventory_stream(deps), products_stream(deps.wiz)]
    if deps.mappings is not None:  # the entity streams link records: they need the mappings table
        streams += [*entity_streams(deps), reconciliation_stream(deps)]
    return {stream.name: stream for stream in streams}
