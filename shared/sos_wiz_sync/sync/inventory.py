"""Inventory SOS → WizCommerce (R-INV-1..6): the plan, send and commit steps shared by the
2-hourly pull stream and the quantity hook worker, so both read and write one last-pushed
state and never fight. Every write carries when its SOS values were read; whichever path
writes last, WizCommerce ends on the newest read (docs/architecture.md, "Pull and hook: the
newest read wins")."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Set
from dataclasses import dataclass, replace

from ..clients.http import map_bounded
from ..clients.reasons import failure_reason
from ..clients.sos import read_clock
from ..clients.wiz import WizClient
from ..models.hook import InventoryHookMessage
from ..models.sos import KIT_TYPES, SosItem
from ..models.wiz import WizProduct
from ..rules.inventory import (
    InventoryLevels,
    inventory_levels_from_sos,
    kit_type_problem,
    needs_push,
    shown_inventory_digest,
    skip_reason,
    wiz_inventory,
)
from ..store.state import SyncState
from .report import RunCounts


SOURCE_PULL, SOURCE_HOOK = "pull", "hook"  # recorded with the last-pushed values

# How far apart two Lambdas' clocks may be (NTP keeps them within milliseconds): a hook read
# this much before a pull's read may still be the newer one. A false alarm costs one re-read.
READ_CLOCK_SKEW_US = 5_000_000


@dataclass(frozen=True)
class InventoryWrite:
    record_id: str  # the SOS item id
    sku: str
    levels: InventoryLevels
    read_at: int    # when SOS was read for these values (µs, clients.sos.read_clock)
    # SOS's values are the ones last pushed, WizCommerce shows others (edited by hand, or gone):
    # the write repairs that drift and is counted as `drift-corrected`, not as a change.
    corrects_drift: bool = False

    def last_pushed(self, source: str) -> dict:
        """The state record (R-INV-5) once this write reached WizCommerce."""
        return {"item_id": self.record_id, "sku": self.sku, "values": self.levels.as_dict(), "source": source,
                "read_at": self.read_at}


def inventory_targets(items: Iterable[SosItem], sku_by_reference: Mapping[str, str], read_at: Mapping[str, int],
                      counts: RunCounts, kit_types: frozenset[str] = KIT_TYPES) -> list[InventoryWrite]:
    """Pure: what WizCommerce should show for each item that is sent at all (R-INV-1..4);
    the others are counted as skipped by reason (R-INV-5, R-REF-1), or as failed when their
    kit type is not this account's (`kit_types`, SOS-A17)."""
    targets = []
    for item in items:
        counts.seen += 1
        item_id = str(item.id)
        problem = kit_type_problem(item, kit_types)
        if problem:
            counts.fail(item_id, "SOS-A17 kit type", detail=problem)
            continue
        reason = skip_reason(item)
        sku = sku_by_reference.get(item_id)
        if reason is None and sku is None:
            reason = "unmapped"  # R-INV-5: no WC product carries this item's Reference ID
        if reason:
            counts.skip(reason)
        else:
            targets.append(InventoryWrite(item_id, sku, inventory_levels_from_sos(item.available, item.onPO),
                                          read_at[item_id]))
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


def overtaken_pull_writes(writes: Iterable[InventoryWrite], hook_activity: Mapping[str, dict]) -> list[InventoryWrite]:
    """Pure: the pull's writes that may have put an older value over a newer one, because the
    hook worker read or wrote their item since the pull read it (less the clock skew)."""
    overtaken = []
    for write in writes:
        activity = hook_activity.get(write.record_id, {})
        if max(activity.get("read_at", 0), activity.get("wrote_at", 0)) >= write.read_at - READ_CLOCK_SKEW_US:
            overtaken.append(write)
    return overtaken


def recheck_message(write: InventoryWrite) -> dict[str, str]:
    """SendMessage arguments for the hook queue: re-read the item and write it even if unchanged.
    Its own deduplication id, so a coalescing window's message cannot absorb it; the item's
    message group, so it never runs beside another read of the item."""
    return {"MessageGroupId": write.record_id, "MessageDeduplicationId": f"{write.record_id}:recheck:{write.read_at}",
            "MessageBody": InventoryHookMessage(item_id=int(write.record_id), force_write=True).model_dump_json()}


def commit_pull_writes(state: SyncState, writes: list[InventoryWrite],
                       enqueue_recheck: Callable[[dict[str, str]], None] | None, counts: RunCounts) -> None:
    """Save what a pull page sent as last pushed, then find the writes a hook's newer read may
    have landed before, and have the hook worker re-read and write those items (the newest read
    wins within the coalescing window). Only the page's writes are looked at: one batch read."""
    state.save_inventory_values(write.last_pushed(SOURCE_PULL) for write in writes)
    if not writes:
        return
    for write in overtaken_pull_writes(writes, state.hook_activity(w.record_id for w in writes)):
        if enqueue_recheck is None:  # hook activity while the pull has no hook queue: a broken deployment
            counts.fail(write.record_id, "hook-recheck-unavailable", sku=write.sku)
            continue
        enqueue_recheck(recheck_message(write))
        counts.note("hook_rechecks_queued")


def sync_inventory_items(items: list[SosItem], read_at: Mapping[str, int], sku_by_reference: Mapping[str, str], *,
                         wiz: WizClient, state: SyncState, concurrency: int, counts: RunCounts,
                         force_write: Collection[str] = (), kit_types: frozenset[str] = KIT_TYPES
                         ) -> dict[str, Exception]:
    """The hook worker's path: plan, send and commit one batch of SOS items synchronously.
    `read_at`: when each item was read (after SOS answered), by item id; `force_write`: items to
    write even if unchanged (a pull's rechecks).

    The worker records its reads before writing and its writes before committing, so a pull
    page that wrote these items meanwhile finds them (`commit_pull_writes`). Its commit is
    conditional: when a newer read (the pull's) was committed meanwhile, our older values may
    have landed after it, so its values are sent again.

    Returns the errors of the writes that failed, by SOS item id, so the caller can decide
    which to retry; they are counted in `counts` as well."""
    targets = inventory_targets(items, sku_by_reference, read_at, counts, kit_types)
    state.save_hook_activity({t.record_id: {"read_at": t.read_at} for t in targets})
    forced = [t for t in targets if t.record_id in force_write]
    if forced:
        counts.note("forced_after_pull", len(forced))
    to_compare = [t for t in targets if t.record_id not in force_write]
    writes = forced + changed_targets(to_compare, state.inventory_values(t.record_id for t in to_compare), counts)
    # Written outside the pull: the next pull notes which of these WizCommerce already shows
    # right (`unchanged_after_hook`, see sync/streams.py). Marked before sending, so a worker
    # killed between its upsert and its commit still leaves them marked.
    state.mark_inventory_dirty(w.record_id for w in writes)
    sent, errors = [], {}
    for write, _, error in map_bounded(lambda w: send_inventory_write(wiz, w), writes, concurrency):
        if error is None:
            sent.append(write)
        else:
            counts.fail(write.record_id, failure_reason(error), sku=write.sku)
            errors[write.record_id] = error
    wrote_at = read_clock()  # after every upsert answered
    state.save_hook_activity({w.record_id: {"read_at": w.read_at, "wrote_at": wrote_at} for w in sent})
    for write in sent:
        counts.changed += 1
        if not state.save_inventory_value_if_newer(write.last_pushed(SOURCE_HOOK)):
            try:
                _send_newer_values(wiz, state, write.record_id)
            except Exception as error:  # noqa: BLE001 - retried like a failed write
                counts.fail(write.record_id, failure_reason(error), sku=write.sku)
                errors[write.record_id] = error
            else:
                counts.note("resent_newer_pull_values")
    return errors


def _send_newer_values(wiz: WizClient, state: SyncState, item_id: str) -> None:
    """Send the item's last pushed values again (they come from a newer read than ours)."""
    newer = state.inventory_value(item_id)
    wiz.upsert_inventory(wiz_inventory(newer["sku"], InventoryLevels(**newer["values"])))


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
