"""The engine keeps reading SOS pages while a stream's preparation runs (planning waits for it),
as far as its bound and no further, then back to its usual read-ahead; every page is planned
once, in order, with its own read time. On moto's DynamoDB (checkpoints, lease)."""

from __future__ import annotations

import threading
from contextlib import nullcontext
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sos_wiz_sync.clients.http import CallCounter
from sos_wiz_sync.store.leases import Leases
from sos_wiz_sync.store.state import SyncState
from sos_wiz_sync.sync.engine import Stream, SyncEngine, page_read_at

PAGES = 40
READ_AHEAD = 2
READ_WHILE_PREPARING = 10
# While preparing, planning holds page 1 and the reader holds the page waiting for room.
READS_WHILE_PREPARING = READ_WHILE_PREPARING + 2


@dataclass(frozen=True)
class Position:
    page: int

    def to_dict(self) -> dict:
        return {"page": self.page}


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    cursor: Position
    last: bool
    total: int
    read_at: int


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def test_pages_are_read_ahead_while_the_stream_prepares_up_to_the_bound(state_table):
    reads = 0
    enough_read, read_past_the_bound = threading.Event(), threading.Event()
    preparing = True

    def pages(checkpoint: dict | None):
        nonlocal reads
        for n in range(1, PAGES + 1):
            if preparing and n > READS_WHILE_PREPARING:
                read_past_the_bound.set()
            reads = n
            if n == READS_WHILE_PREPARING:
                enough_read.set()
            yield Page([{"id": n}], Position(n), n == PAGES, PAGES, read_at=1000 + n)

    def prepare() -> str:
        nonlocal preparing
        # Not a timing check: these waits only end a broken run early. Reading stops at the
        # bound for good while preparing, so a read past it shows within the second wait.
        assert enough_read.wait(30), f"read ahead stopped at {reads} pages while preparing"
        assert not read_past_the_bound.wait(1), "read past the bound while preparing"
        preparing = False
        return "prepared"

    planned: list[tuple[int, int | None]] = []
    read_when_planned: list[int] = []

    def plan(prepared: str, rows: list[dict[str, Any]], counts) -> list:
        assert prepared == "prepared"
        counts.seen += len(rows)
        planned.extend((row["id"], page_read_at()) for row in rows)
        read_when_planned.append(reads)
        return []

    stream = Stream(name="read-ahead", resource="item", incremental=False, prepare=prepare, plan=plan,
                    send=lambda prepared, write: None, pages=pages)
    # the pages come from `pages`, not SOS: no throttle to wait out
    sos = SimpleNamespace(calls=CallCounter(), waiting_out_throttles=lambda until: nullcontext())
    engine = SyncEngine(sos=sos, wiz=SimpleNamespace(calls=CallCounter()),
                        state=SyncState(state_table), leases=Leases(state_table),
                        continue_run=lambda stream, run_id: None, concurrency=2, time_reserve_ms=0,
                        prefetch_pages=READ_AHEAD, prefetch_pages_while_preparing=READ_WHILE_PREPARING)

    report = engine.run(stream, Context())

    assert report["status"] == "ok" and report["seen"] == PAGES
    assert not read_past_the_bound.is_set()
    assert planned == [(n, 1000 + n) for n in range(1, PAGES + 1)]
    # Prepared: back to READ_AHEAD pages queued (and one read waiting for room) past the one planned.
    assert all(read <= n + READ_AHEAD + 1 for n, read in enumerate(read_when_planned, start=1)
               if n > READS_WHILE_PREPARING)
