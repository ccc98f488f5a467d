"""The sync engine. A stream is declared as data (SOS source, plan, WizCommerce send, commit);
the engine owns paging, per-page checkpoints, bounded concurrency, the time budget, the run
lease and the run report (R-OPS-2), and each written record's history (R-OPS-3). `preview` plans
a run without writing (the operator's dry-run diff)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Generic, Protocol, TypeVar

from aws_lambda_powertools.metrics import MetricUnit

from ..clients.reasons import SOS_THROTTLED, failure_reason
from ..clients.sos import OffsetCursor, SosClient, SosError, SosPage
from ..clients.wiz import WizClient
from ..models.contract import ContractStop
from ..observability import logger, metrics
from ..store.leases import Leases
from ..store.state import SyncState
from .report import RunCounts

# When the rows being planned were read from SOS (`SosPage.read_at`), or None (pending rows):
# set by the engine around each `plan` call, for streams whose writes carry their read time.
_page_read_at: ContextVar[int | None] = ContextVar("page_read_at", default=None)


def page_read_at() -> int | None:
    """Inside a stream's `plan`: when SOS was asked for the rows being planned."""
    return _page_read_at.get()


@contextmanager
def _planning(read_at: int | None) -> Iterator[None]:
    token = _page_read_at.set(read_at)
    try:
        yield
    finally:
        _page_read_at.reset(token)


P = TypeVar("P")  # what a stream prepares once per invocation (e.g. the product index)
W = TypeVar("W")  # one write a stream wants done in WizCommerce


@dataclass(frozen=True)
class Stream(Generic[P, W]):
    """A pull from one SOS list into WizCommerce, in a few declarations."""

    name: str
    resource: str                                        # SOS list endpoint, e.g. "item"
    incremental: bool                                    # resume from last run's cursor; False = full pass
    prepare: Callable[[], P]                             # once per invocation, overlapped with SOS paging
    plan: Callable[[P, list[dict[str, Any]], RunCounts], list[W]]  # rows → writes (may read state)
    send: Callable[[P, W], None]                         # one write, run on the engine's bounded pool
    # after a page's writes: what was sent, and the page's counts (for what the commit finds)
    commit: Callable[[P, list[W], RunCounts], None] = lambda prepared, writes, counts: None
    filters: Mapping[str, Any] = field(default_factory=dict)
    # Per-record history (R-OPS-3): the entity a write's `record_id` (the SOS id) belongs to, and
    # what of a write goes into its event (ids, versions, an `action`; never personal data).
    # None: no history (the inventory stream keeps each item's last pushed values instead).
    entity: str | None = None
    event_details: Callable[[W], dict[str, Any]] = lambda write: {}
    # Whether a sent write counts as a change in WizCommerce (some only keep a record pending).
    is_change: Callable[[W], bool] = lambda write: True
    # Whether a change puts back what WizCommerce showed otherwise though the SOS side did not
    # change: counted as `drift-corrected` instead of `changed`.
    corrects_drift: Callable[[W], bool] = lambda write: False
    # Rows earlier runs kept pending (e.g. an invoice whose order was not in WizCommerce yet):
    # planned again at the start of each run, before the first page.
    pending: Callable[[], list[dict[str, Any]]] | None = None
    # Records WizCommerce shows edited since the previous run started, which SOS's window does
    # not bring when SOS did not change them: compared again once per run, after the pending ones.
    drift_check: DriftCheck | None = None
    # Why the stream may not run now (e.g. the first sync has not run), or None.
    blocked: Callable[[], str | None] | None = None
    # Pages from a checkpoint when they do not come from SOS's offset paging of `resource`;
    # a page has `rows`, `cursor` (with `to_dict()`), `last` and `total` like an SosPage.
    pages: Callable[[dict | None], Iterator[Any]] | None = None


@dataclass(frozen=True)
class DriftCheck(Generic[P, W]):
    """A hand edit in WizCommerce of a field the pull owns leaves SOS unchanged, so no window
    brings the record back: `rows(previous_start_utc)` reads the SOS rows of the records
    WizCommerce shows edited since, and `plan` compares them whatever their SOS version."""

    rows: Callable[[str], list[dict[str, Any]]]
    plan: Callable[[P, list[dict[str, Any]], RunCounts], list[W]]


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class _Unmoved:
    """The cursor of a page that does not come from paging (retried pending rows): the
    checkpoint stays where it was."""

    checkpoint: dict | None

    def to_dict(self) -> dict | None:
        return self.checkpoint


@dataclass
class _PendingPage:
    cursor: OffsetCursor
    counts: RunCounts  # what planning this page found; joins the run's counts once settled
    writes: list
    futures: list[Future]


class _PagePrefetcher:
    """Reads the next SOS pages while the current one is planned and written: `depth` pages
    ahead, and up to `depth_while_preparing` while `preparation` runs. Planning waits for the
    stream's preparation (e.g. the inventory pull's two WizCommerce lists); reading on meanwhile
    hides it behind SOS's paced reads, bounded so the pages held stay small beside the
    function's memory. Each page keeps its own `read_at`."""

    _END = object()

    def __init__(self, pages: Iterator[SosPage], depth: int, preparation: Future, depth_while_preparing: int):
        self._buffer: deque = deque()
        self._changed = threading.Condition()
        self._stopped = False
        self._depth = depth
        self._depth_while_preparing = max(depth, depth_while_preparing)
        self._preparation = preparation
        self._thread = threading.Thread(target=self._fill, args=(pages,), daemon=True)
        self._thread.start()

    def _room(self) -> int:
        return self._depth if self._preparation.done() else self._depth_while_preparing

    def _fill(self, pages: Iterator[SosPage]) -> None:
        try:
            for page in pages:
                with self._changed:  # the next read waits until this page has room
                    self._changed.wait_for(lambda: self._stopped or len(self._buffer) < self._room())
                    if self._stopped:
                        return
                    self._buffer.append(page)
                    self._changed.notify_all()
            self._deliver(self._END)
        except Exception as exc:  # noqa: BLE001 - re-raised in the consumer
            self._deliver(exc)

    def _deliver(self, item: object) -> None:
        """The end or an error: not a page, so it takes no room and never waits."""
        with self._changed:
            self._buffer.append(item)
            self._changed.notify_all()

    def __iter__(self) -> Iterator[SosPage]:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._buffer)
                item = self._buffer.popleft()
                self._changed.notify_all()
            if item is self._END:
                return
            if isinstance(item, Exception):
                raise item
            yield item

    def close(self) -> None:
        """Stop reading ahead; waits for a read in flight so no call outlives the run."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        self._thread.join()


# SOS pages read ahead while a stream prepares: 64 × 200 rows = 32 s of SOS's pace (2 a second),
# enough to hide the inventory pull's two WizCommerce lists at 100,000 items (docs/performance.md).
PAGES_READ_WHILE_PREPARING = 64

DRIFT_CORRECTED = "drift-corrected"  # the run report's note for writes that repaired drift


def count_changes(stream: Stream, writes: list, counts: RunCounts) -> list:
    """Count `writes` (sent, or planned in a preview) in `counts`: each change is either
    `changed` (SOS changed) or the note `drift-corrected`; returns the changes."""
    changes = [write for write in writes if stream.is_change(write)]
    drift_corrected = sum(1 for write in changes if stream.corrects_drift(write))
    counts.changed += len(changes) - drift_corrected
    if drift_corrected:
        counts.note(DRIFT_CORRECTED, drift_corrected)
    return changes


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat()


class SyncEngine:
    def __init__(self, *, sos: SosClient, wiz: WizClient, state: SyncState, leases: Leases,
                 continue_run: Callable[[str, str], None], concurrency: int, time_reserve_ms: int,
                 prefetch_pages: int = 2, prefetch_pages_while_preparing: int = PAGES_READ_WHILE_PREPARING,
                 pages_in_flight: int = 4):
        self._sos = sos
        self._wiz = wiz
        self._state = state
        self._leases = leases
        self._continue_run = continue_run  # sends {"stream", "run_id"} to the pull queue
        self._concurrency = concurrency
        self._reserve_ms = time_reserve_ms
        self._prefetch = prefetch_pages
        self._prefetch_while_preparing = prefetch_pages_while_preparing
        self._in_flight = pages_in_flight

    def run(self, stream: Stream, context: LambdaContext, run_id: str | None = None) -> dict[str, Any]:
        """Run (or resume) `stream` until it finishes or the time budget runs out."""
        reason = stream.blocked() if stream.blocked else None
        if reason:
            return self._blocked(stream, reason)
        owner = uuid.uuid4().hex
        lease_seconds = context.get_remaining_time_in_millis() // 1000 + 30
        if not self._leases.acquire(f"stream#{stream.name}", owner, lease_seconds):
            logger.info("stream already running elsewhere", extra={"stream": stream.name})
            return {"stream": stream.name, "status": "busy"}
        try:
            saved = self._state.load_stream(stream.name)
            run = saved.get("run")
            if run is None and run_id is not None:
                return {"stream": stream.name, "run_id": run_id, "status": "already-finished"}
            if run is None:
                run = self._new_run(stream, saved.get("cursor"))
                self._state.save_stream(stream.name, cursor=saved.get("cursor"), run=run)
            elif run_id is None:
                logger.info("resuming unfinished run", extra={"stream": stream.name, "run_id": run["run_id"]})
            try:
                finished = self._run_pages(stream, run, saved.get("cursor"), context)
            except ContractStop as stop:  # R-OPS-5: a row it needs fits neither reading; the others run
                self._state.save_stream(stream.name, cursor=saved.get("cursor"), run=None)
                return self._blocked(stream, stop.reason, status="stopped")
            if finished:
                return self._finish(stream, run)
        finally:
            self._leases.release(f"stream#{stream.name}", owner)
        self._continue_run(stream.name, run["run_id"])
        return {"stream": stream.name, "run_id": run["run_id"], "status": "continued"}

    def _new_run(self, stream: Stream, committed_cursor: dict | None) -> dict[str, Any]:
        """An incremental run reads what SOS says changed since the previous run started, less
        the overlap margin (`updatedsince` in the account's zone); the first run, and every run
        of a full-pass stream, reads everything."""
        if stream.pages is not None:  # its own paging: resumes from its own committed cursor
            checkpoint = committed_cursor if stream.incremental else None
        else:
            since = (committed_cursor or {}).get("since_utc") if stream.incremental else None
            checkpoint = OffsetCursor(since=self._sos.window.since(since) if since else None).to_dict()
        return {"run_id": uuid.uuid4().hex, "started_at": utc_now(), "invocations": 0, "checkpoint": checkpoint, "counts": RunCounts().to_dict(), "api_calls": {"sos": 0, "wiz": 0}}

    def _run_pages(self, stream: Stream, run: dict, committed_cursor: dict | None, context: LambdaContext) -> bool:
        counts = RunCounts.from_dict(run["counts"])
        calls_before = dict(run["api_calls"])
        calls_at_start = (self._sos.calls.count, self._wiz.calls.count)
        run["invocations"] += 1
        pending: deque[_PendingPage] = deque()
        finished = False

        def settle(drain: bool = False) -> None:
            """Account for pages whose writes are done, oldest first, and checkpoint each.
            Waits only while more than `pages_in_flight` pages are open (or when draining)."""
            while pending and (drain or len(pending) > self._in_flight
                               or all(f.done() for f in pending[0].futures)):
                page = pending.popleft()
                sent, failed = [], []
                for write, future in zip(page.writes, page.futures):
                    error = future.exception()
                    if error is None:
                        sent.append(write)
                    else:
                        failed.append((write, failure_reason(error)))
                        page.counts.fail(write.record_id, failure_reason(error))
                        logger.warning("write failed", extra={"stream": stream.name, "record_id": write.record_id,
                                                              "reason": failure_reason(error)})
                stream.commit(prepared, sent, page.counts)
                self._record_history(stream, run["run_id"], sent, failed)
                count_changes(stream, sent, page.counts)
                counts.merge(page.counts)
                run["checkpoint"] = page.cursor.to_dict()
                run["counts"] = counts.to_dict()
                run["api_calls"] = {"sos": calls_before["sos"] + self._sos.calls.count - calls_at_start[0],
                                    "wiz": calls_before["wiz"] + self._wiz.calls.count - calls_at_start[1]}
                self._state.save_stream(stream.name, cursor=committed_cursor, run=run)

        def plan(rows: list[dict[str, Any]], cursor: Any, page_counts: RunCounts | None = None,
                 read_at: int | None = None, planner: Callable | None = None) -> None:
            nonlocal prepared
            prepared = preparation.result()
            page_counts = page_counts or RunCounts()
            with _planning(read_at):
                writes = (planner or stream.plan)(prepared, rows, page_counts)
            pending.append(_PendingPage(cursor, page_counts, writes,
                                        [senders.submit(stream.send, prepared, w) for w in writes]))
            settle()

        prepared = None
        # SOS-A3: a throttle is the account's limit, not an outage: waited out until the time
        # budget's reserve, then the run checkpoints and continues in a fresh invocation
        patience = time.time() + (context.get_remaining_time_in_millis() - self._reserve_ms) / 1000
        throttled_out = False
        with self._sos.waiting_out_throttles(patience), \
                ThreadPoolExecutor(max_workers=self._concurrency) as senders, \
                self._source(stream, run.get("checkpoint")) as (preparation, pages):
            if stream.pending and not run.get("pending_retried"):
                run["pending_retried"] = True  # once per run, saved with the next checkpoint
                retry = stream.pending()
                if retry:
                    retried = RunCounts()
                    retried.note("pending_retried", len(retry))  # `seen` counts them (again, if also paged)
                    plan(retry, _Unmoved(run.get("checkpoint")), retried)
            since = (committed_cursor or {}).get("since_utc")
            if stream.drift_check and since and not run.get("drift_checked"):
                run["drift_checked"] = True  # once per run, saved with the next checkpoint
                edited = stream.drift_check.rows(since)
                if edited:
                    checked = RunCounts()
                    checked.note("drift_checked", len(edited))  # `seen` counts them (again, if also paged)
                    plan(edited, _Unmoved(run.get("checkpoint")), checked, planner=stream.drift_check.plan)
            try:
                for page in pages:
                    plan(page.rows, page.cursor, read_at=getattr(page, "read_at", None))
                    if page.last:
                        finished = True
                        break
                    if context.get_remaining_time_in_millis() < self._reserve_ms:
                        logger.info("time budget low: checkpointing to continue in a fresh invocation",
                                    extra={"stream": stream.name, "run_id": run["run_id"]})
                        break
            except SosError as exc:
                if not exc.throttled:
                    raise
                throttled_out = True
                logger.warning("SOS throttled until the time budget's reserve (the account's rate limit): "
                               "checkpointing to continue in a fresh invocation",
                               extra={"stream": stream.name, "run_id": run["run_id"], "reason": failure_reason(exc)})
            settle(drain=True)
        if throttled_out:  # the run report names the account's rate limit, never an outage
            counts = RunCounts.from_dict(run["counts"])
            counts.note(SOS_THROTTLED)  # continued, not failed: the account's rate limit
            run["counts"] = counts.to_dict()
            self._state.save_stream(stream.name, cursor=committed_cursor, run=run)
        return finished

    @contextmanager
    def _source(self, stream: Stream, checkpoint: dict | None) -> Iterator[tuple[Future, _PagePrefetcher]]:
        """The stream's preparation, started in the background, and its SOS pages from
        `checkpoint` on, read ahead while the current one is planned (further while the
        preparation runs)."""
        with ThreadPoolExecutor(max_workers=1) as preparer:
            preparation = preparer.submit(stream.prepare)
            source = (stream.pages(checkpoint) if stream.pages else
                      self._sos.iter_pages(stream.resource, OffsetCursor.from_dict(checkpoint), **stream.filters))
            pages = _PagePrefetcher(source, self._prefetch, preparation, self._prefetch_while_preparing)
            try:
                yield preparation, pages
            finally:
                pages.close()

    def _record_history(self, stream: Stream, run_id: str, sent: list, failed: list[tuple[Any, str]]) -> None:
        if stream.entity is None or not (sent or failed):
            return
        about = {"entity": stream.entity, "source": "pull", "stream": stream.name, "run_id": run_id}
        self._state.record_events(
            [{**about, "record_id": w.record_id, "action": "pulled", **stream.event_details(w)} for w in sent]
            + [{**about, "record_id": w.record_id, "action": "pull-failed", "reason": reason, **stream.event_details(w)}
               for w, reason in failed])

    def preview(self, stream: Stream, on_page: Callable[[int, int | None], None] = lambda done, total: None
                ) -> dict[str, Any]:
        """What the next run of `stream` would write, without writing anything: prepare and plan
        every page from where that run would start (an unfinished run's checkpoint, else the
        committed cursor); no send, commit, checkpoint or lease, so a run in progress is not
        disturbed. `plan` must only read, which every stream's does. `on_page(rows_done,
        rows_total)` reports progress; the total is SOS's count when the first page came.
        Like the run: nothing when the stream is blocked, and pending rows first."""
        saved = self._state.load_stream(stream.name)
        run = saved.get("run")
        start = run.get("checkpoint") if run else self._new_run(stream, saved.get("cursor"))["checkpoint"]
        counts, writes, done, total = RunCounts(), [], 0, None
        blocked = stream.blocked() if stream.blocked else None
        if blocked:
            return {"stream": stream.name, "blocked": blocked, "resumes_run": None, "from": start,
                    **counts.to_dict(), "writes": writes}
        with self._source(stream, start) as (preparation, pages):
            if stream.pending and not (run or {}).get("pending_retried"):
                writes.extend(stream.plan(preparation.result(), stream.pending(), counts))
            since = (saved.get("cursor") or {}).get("since_utc")
            if stream.drift_check and since and not (run or {}).get("drift_checked"):
                writes.extend(stream.drift_check.plan(preparation.result(), stream.drift_check.rows(since), counts))
            for page in pages:
                with _planning(getattr(page, "read_at", None)):
                    writes.extend(stream.plan(preparation.result(), page.rows, counts))
                done += len(page.rows)
                total = page.total if total is None else total
                on_page(done, total)
        # What would change in WizCommerce, if every write succeeds; bookkeeping-only writes
        # (a ledger entry, clearing the hook's marks on an inventory page) change nothing there.
        changes = count_changes(stream, writes, counts)
        return {"stream": stream.name, "blocked": None, "resumes_run": run["run_id"] if run else None,
                "from": start, **counts.to_dict(), "writes": changes}

    def _blocked(self, stream: Stream, reason: str, status: str = "blocked") -> dict[str, Any]:
        """A run that may not start, or was stopped (R-OPS-5), still leaves its report (R-OPS-2),
        saying why; a stopped run's next one starts again from the committed cursor."""
        now = utc_now()
        report = {"stream": stream.name, "run_id": uuid.uuid4().hex, "started_at": now, "finished_at": now,
                  "duration_seconds": 0, "status": status, "reason": reason, "invocations": 1,
                  "api_calls": {"sos": 0, "wiz": 0}, **RunCounts().to_dict()}
        self._state.save_report(report)
        logger.warning(f"stream {status}", extra={"stream": stream.name, "reason": reason})
        return report

    def _finish(self, stream: Stream, run: dict) -> dict[str, Any]:
        counts = RunCounts.from_dict(run["counts"])
        finished_at = utc_now()
        started = datetime.fromisoformat(run["started_at"])
        report = {
            "stream": stream.name, "run_id": run["run_id"], "started_at": run["started_at"],
            "finished_at": finished_at,
            "duration_seconds": round((datetime.fromisoformat(finished_at) - started).total_seconds(), 3),
            "status": "failed-records" if counts.failed_total else "ok",
            "invocations": run["invocations"], "api_calls": run["api_calls"], **counts.to_dict(),
        }
        self._state.save_report(report)
        # The next window starts where this run started (less the margin): what changed while
        # it paged is read again, and its syncToken makes it apply once.
        next_cursor = None if not stream.incremental else (
            run.get("checkpoint") if stream.pages is not None else {"since_utc": run["started_at"]})
        self._state.save_stream(stream.name, cursor=next_cursor, run=None)
        _emit_metrics(stream.name, counts)
        logger.info("run finished", extra={"stream": stream.name, "run_id": run["run_id"],
                                           "seen": counts.seen, "changed": counts.changed,
                                           "failed": counts.failed_total})
        return report


def _emit_metrics(stream: str, counts: RunCounts) -> None:
    metrics.add_dimension(name="stream", value=stream)
    metrics.add_metric(name="Seen", unit=MetricUnit.Count, value=counts.seen)
    metrics.add_metric(name="Changed", unit=MetricUnit.Count, value=counts.changed)
    metrics.add_metric(name="DriftCorrected", unit=MetricUnit.Count, value=counts.notes.get(DRIFT_CORRECTED, 0))
    metrics.add_metric(name="Skipped", unit=MetricUnit.Count, value=sum(counts.skipped.values()))
    metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=counts.failed_total)


def continuation_message(stream: str, run_id: str) -> str:
    return json.dumps({"stream": stream, "run_id": run_id})
