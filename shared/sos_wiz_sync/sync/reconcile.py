"""Reconciliation (R-CUS-2, and any missed webhook): each scheduled run finds the WC customers
and confirmed WC orders changed since the last run that have no mapping, and puts "WC record X
changed" for each on the push queue (push/events.py).

Why enqueue rather than call the push logic from here: the change then takes exactly the path a
webhook or the WC change poll takes — the push function reads the record's current state and
pushes only what SOS does not have yet (a record found twice is pushed once), its retries with backoff, its DLQ with
the reason for a permanent failure (R-OPS-1: redrive after the fix), its FIFO group per record
(a late real webhook and the synthetic event never run at once for one record), and its
concurrency limit towards SOS. The pull function itself never writes to SOS.

The run pages WizCommerce, not SOS: a window `(last window's end − overlap, now − lag)` by
`updated_at`, with a keyset cursor (updated_at, id) per page like the SOS one, so a record
modified during the run (it leaves the window) is neither skipped nor read twice; it falls in
the next window. The lag gives a real webhook time to arrive before its record counts as missed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ..clients.wiz import PAGE_SIZE, list_rows, wc_time
from ..push.events import QueuedMessage, RecordChanged, queued
from ..rules.sos_to_wc import PULLED_ORDER_SOURCE
from ..store.mappings import Entity
from .engine import Stream
from .entity_streams import first_sync_missing
from .report import RunCounts

if TYPE_CHECKING:
    from .deps import PullDeps

OVERLAP = timedelta(minutes=1)         # windows overlap, so a record on a boundary is in one of them
TIE_STEP = timedelta(milliseconds=1)   # `updated_after` is strict: step back (then floor, WC-A12) to keep same-time rows
# (WC resource, mapping entity, list filters)
PARTS: tuple[tuple[str, Entity, dict[str, str]], ...] = (
    ("customers", "customer", {}),
    ("orders", "order", {"order_status": "confirmed"}),  # the API's default is draft
)


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@dataclass(frozen=True)
class WindowCursor:
    """Where a reconciliation run is: the window, the part (customers, then orders) and the last
    row handled (updated_at, id); `skip` pages of rows at that same time were read already."""

    upper: str
    lower: str | None = None
    part: int = 0
    after_at: str | None = None
    after_id: str = ""
    skip: int = 0
    done: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def is_after(self, row: dict[str, Any]) -> bool:
        if self.after_at is None:
            return True
        return (_time(row["updated_at"]), row["id"]) > (_time(self.after_at), self.after_id)


@dataclass(frozen=True)
class WcPage:
    rows: list[dict[str, Any]]  # {"part": index into PARTS, "record": the WC record}
    cursor: WindowCursor
    last: bool
    total: int | None = None


def window_pages(deps: PullDeps, checkpoint: dict | None, now: datetime) -> Iterator[WcPage]:
    cursor = WindowCursor(**checkpoint) if checkpoint else None
    if cursor is None or cursor.done:  # a new run: the window after the last one
        lag = timedelta(seconds=deps.reconciliation_lag_seconds)  # time for a real webhook to arrive
        # Filters take whole seconds (WC-A12): the end rounded up keeps the changes of its last second.
        end = now - lag + timedelta(seconds=1)
        cursor = WindowCursor(upper=wc_time(end), lower=cursor and wc_time(_time(cursor.upper) - OVERLAP))
    while True:
        part = cursor.part
        resource, _, filters = PARTS[part]
        since = wc_time(_time(cursor.after_at) - TIE_STEP) if cursor.after_at else cursor.lower
        payload = deps.wiz.request("GET", f"/v1/{resource}", params={
            "page": 1 + cursor.skip, "page_size": PAGE_SIZE, "sort_by": "updated_at", "sort": "asc",
            "updated_before": cursor.upper, **({"updated_after": since} if since else {}), **filters})
        data = list_rows(payload, resource)
        rows = [row for row in data if cursor.is_after(row)]
        if rows:
            cursor = replace(cursor, after_at=rows[-1]["updated_at"], after_id=rows[-1]["id"], skip=0)
        elif data:  # a whole page of rows seen already (same updated_at): step over it
            cursor = replace(cursor, skip=cursor.skip + 1)
        part_done = len(data) < PAGE_SIZE
        last = part_done and part == len(PARTS) - 1
        if part_done:
            cursor = (replace(cursor, done=True) if last else
                      WindowCursor(upper=cursor.upper, lower=cursor.lower, part=part + 1))
        yield WcPage([{"part": part, "record": row} for row in rows], cursor, last,
                     (payload.get("pagination") or {}).get("total_records"))
        if last:
            return


@dataclass(frozen=True)
class PushEnqueue:
    """"WC record X changed" for a WC record the push never linked."""

    record_id: str  # the WC id
    entity: Entity
    message: QueuedMessage

    def apply(self, deps: PullDeps) -> None:
        deps.enqueue_push(self.message.body, self.message.group, self.message.dedup)

    def event(self) -> dict[str, Any]:
        return {"entity": self.entity, "action": "reconcile-enqueued", "source": "reconciliation"}


def synthetic_event(part: int, record: dict[str, Any]) -> PushEnqueue:
    """The change message for a record. Its id is the record's id and `updated_at`: found again
    unchanged, it is the same message (pushed once)."""
    _, entity, _ = PARTS[part]
    return PushEnqueue(record["id"], entity, queued(RecordChanged.seen("reconcile", entity, record)))


def plan_reconciliation(deps: PullDeps, held: dict[str, set[str]], rows: list[dict[str, Any]],
                        counts: RunCounts) -> list[PushEnqueue]:
    writes = []
    for part, (_, entity, _) in enumerate(PARTS):
        records = [row["record"] for row in rows if row["part"] == part]
        links = deps.mappings.by_wc_many(entity, [record["id"] for record in records])
        for record in records:
            counts.seen += 1
            reason = _skip_reason(deps, entity, record, held, linked=record["id"] in links)
            if reason == "linked":
                counts.unchanged += 1
                continue
            if reason:
                counts.skip(reason)
            else:
                writes.append(synthetic_event(part, record))
    return writes


def _skip_reason(deps: PullDeps, entity: Entity, record: dict[str, Any], held: dict[str, set[str]],
                 linked: bool) -> str | None:
    if linked:
        return "linked"
    if record["id"] in held.get(entity, set()):
        return "held-ambiguous-first-sync-match"
    if entity == "order" and record.get("source") == PULLED_ORDER_SOURCE:
        return "sos-origin-awaiting-pull-link"  # the orders pull adopts it; it is not WC's to push
    failure = deps.state.get_failure(entity, record["id"])
    if failure and failure.get("status") == "open":
        return "open-push-failure"  # parked with its reason for an operator: not re-sent every run
    return None


def reconciliation_stream(deps: PullDeps) -> Stream:
    def prepare() -> dict[str, set[str]]:
        held: dict[str, set[str]] = {}
        for hold in deps.state.holds():
            if hold["side"] == "wc":
                held.setdefault(hold["entity"], set()).add(hold["record_id"])
        return held

    def blocked() -> str | None:
        if deps.enqueue_push is None:
            return "no push queue configured (PUSH_QUEUE_URL)"
        return first_sync_missing(deps)

    return Stream(name="reconciliation", resource="customers", incremental=True, prepare=prepare,
                  plan=lambda held, rows, counts: plan_reconciliation(deps, held, rows, counts),
                  send=lambda held, write: write.apply(deps), entity="customer",
                  event_details=lambda write: write.event(), blocked=blocked,
                  pages=lambda checkpoint: window_pages(deps, checkpoint, datetime.now(timezone.utc)))
