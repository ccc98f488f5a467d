"""Per-record quarantine in the pulls: one SOS record that cannot be read (it is not in the
contract's shape) or mirrored (e.g. an order without a customer, SOS-A23) never stops its page.
It is counted failed in the run report (`unreadable-sos-record` / `unmirrorable-sos-record`, the
record and field in the failure sample), kept as an open failure (`sos-wiz-ops failures`,
`trace`), and read again from SOS by id at each run's start until a run writes it: the cursor
moves on past its page, the record is not left behind. The rest of the page goes on."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from ..clients.http import ApiError
from ..clients.sos import SosClient
from ..models.sos import SosRecordError, read_record
from ..store.state import SyncState
from .report import RunCounts

log = logging.getLogger(__name__)

R = TypeVar("R", bound=BaseModel)
GONE_FROM_SOS = "_gone_from_sos"  # marks the row of a quarantined record SOS no longer has


class HasState(Protocol):
    state: SyncState


class HasSosAndState(HasState, Protocol):
    sos: SosClient


@dataclass(frozen=True)
class Reading(Generic[R]):
    """A page's rows read one by one: the records, the problems, the ids gone from SOS."""

    records: list[tuple[dict[str, Any], R]] = field(default_factory=list)
    problems: list[SosRecordError] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)


def read_rows(model: type[R], rows: Iterable[dict[str, Any]], resource: str) -> Reading[R]:
    reading: Reading[R] = Reading()
    for row in rows:
        if row.get(GONE_FROM_SOS):
            reading.gone.append(str(row["id"]))
            continue
        try:
            reading.records.append((row, read_record(model, row, resource)))
        except SosRecordError as problem:
            reading.problems.append(problem)
    return reading


def count_problem(counts: RunCounts, problem: SosRecordError) -> None:
    counts.fail(str(problem.record_id), problem.count_key, **problem.details())


@dataclass(frozen=True)
class Quarantine:
    """Keep one SOS record as an open failure that `stream` reads again at its next run."""

    record_id: str
    entity: str
    stream: str
    problem: SosRecordError
    ends_pending: bool = False  # a row stored earlier is older than what SOS holds now: not to be written
    changes_wc = False

    def apply(self, deps: HasState) -> None:
        deps.state.quarantine(self.entity, self.record_id, stream=self.stream, reason=self.problem.reason,
                              details=self.problem.details())
        if self.ends_pending:
            deps.state.resolve_pending(self.entity, self.record_id)

    def event(self) -> dict[str, Any]:
        return {"entity": self.entity, "action": "quarantined", "reason": self.problem.reason}


@dataclass(frozen=True)
class EndQuarantine:
    """A quarantined record `stream` can read (and handled) now, or one SOS no longer has."""

    record_id: str
    entity: str
    stream: str
    reason: str
    changes_wc = False

    def apply(self, deps: HasState) -> None:
        deps.state.release_quarantine(self.entity, self.record_id, stream=self.stream)

    def event(self) -> dict[str, Any]:
        return {"entity": self.entity, "action": "quarantine-ended", "reason": self.reason}


def quarantine_write(problem: SosRecordError, entity: str, stream: str, *,
                     pending: frozenset[str] = frozenset()) -> Quarantine | None:
    """The write keeping `problem`'s record; None when the row has no id to read it again by."""
    if problem.record_id is None:
        return None
    record_id = str(problem.record_id)
    return Quarantine(record_id, entity, stream, problem, ends_pending=record_id in pending)


def quarantined_rows(deps: HasSosAndState, entity: str, stream: str, resource: str,
                     already: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The current SOS rows of the records `stream` holds quarantined (but those in `already`),
    read by id: what SOS says now, not what it said when they were quarantined. A record SOS no
    longer has comes back as a row marked GONE_FROM_SOS (its quarantine then ends); one that
    cannot be read now stays quarantined for the next run."""
    skip = set(already)
    rows = []
    for record_id in deps.state.quarantined(entity, stream):
        if record_id in skip:
            continue
        try:
            rows.append(deps.sos.get(resource, record_id))
        except ApiError as exc:
            if exc.status == 404:
                rows.append({"id": record_id, GONE_FROM_SOS: True})
            else:
                log.warning("quarantined SOS %s %s not read again: %s", resource, record_id, exc)
    return rows
