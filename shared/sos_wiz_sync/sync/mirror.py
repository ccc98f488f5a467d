"""SOS records mirrored into WizCommerce records (customers, orders, invoices, shipments): one
plan and one set of writes, declared per entity in `entity_streams.py`.

`plan` only reads (SOS, WizCommerce, our tables), so a preview has no side effects; every
change — to WizCommerce, the mappings, the pending records — is a write, done in `send`. A
write is self-contained: it carries what it needs (e.g. the customer to create before its
order), so the engine can run a page's writes in parallel and replay a page after a kill.

Per record (R-REF-3): linked and unchanged since the last pull (same `syncToken`) → nothing,
not even a read — unless WizCommerce shows the record edited since the previous run (drift
repair: `drifted_rows`), when it is compared like a changed one. Otherwise WizCommerce's
current record (one list call per 100, by Reference ID) is compared with what SOS says, and
only the fields that differ are written. A WC record that already carries the SOS id but has no
mapping (a create whose answer or link was lost) is adopted, never created twice; WizCommerce's
409 on a duplicate Reference ID backs that up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from ..clients.http import ApiError
from ..clients.reasons import failure_reason
from ..models.sos import SosRecordError
from ..rules.sos_to_wc import CREATE_ONLY_FIELDS, Waiting, changed_fields
from ..rules.versions import is_our_write, timestamp_version
from ..store.mappings import Entity, Mapping as Link, Origin
from .quarantine import count_problem, quarantine_write, read_rows
from .report import RunCounts

if TYPE_CHECKING:
    from .deps import PullDeps

R = TypeVar("R", bound=BaseModel)

def wc_updated_at(record: Mapping[str, Any]) -> datetime | None:
    return datetime.fromisoformat(record["updated_at"].replace("Z", "+00:00")) if record.get("updated_at") else None


# WC records have no version: the `updated_at` our write gave the record stands for it. It is
# the echo the push drops (orders, customers), and what the drift check passes over without an
# SOS read (every mirrored resource): our own write shows SOS's content.
ECHO_VERSIONS: dict[str, Callable[[dict], int | None]] = {
    resource: lambda record: timestamp_version(wc_updated_at(record)) if record.get("updated_at") else None
    for resource in ("orders", "customers", "invoices", "shipments")
}


class Write(Protocol):
    record_id: str  # the SOS id (the engine reports failures by it)

    @property
    def changes_wc(self) -> bool: ...

    def apply(self, deps: PullDeps) -> str | None: ...

    def event(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class WcWrite:
    """Create, update or adopt one WizCommerce record and store what the mapping needs."""

    record_id: str
    entity: Entity
    resource: str
    row: dict[str, Any] | None            # the SOS record, kept pending if the write fails (None: not kept)
    body: dict[str, Any]                  # create: the whole record; update: the changed fields
    wc_id: str | None = None              # None: create
    link: bool = False                    # no mapping yet: store one after the write
    origin: Origin = "sos"
    wc_version: int | None = None         # for a new link: the WC version SOS already matches (push guard)
    number: str | None = None             # SOS document number, kept on the mapping
    sos_sync_token: int | None = None     # the SOS record's version this write brings (applied once)
    parent: WcWrite | None = None         # a record to write first; its WC id goes into `parent_field`
    parent_field: str | None = None
    was_pending: bool = False
    held: bool = False                    # the first sync held it back; adopting it ends the hold
    corrects_drift: bool = False          # SOS unchanged since last applied: puts back what WC was edited to
    stream: str | None = None             # the pull writing it: a failed write is quarantined there
    quarantined: bool = False             # `stream` holds it quarantined: written, that ends

    @property
    def changes_wc(self) -> bool:
        return self.wc_id is None or bool(self.body)

    def apply(self, deps: PullDeps) -> str:
        try:
            return self._apply(deps)
        except Exception as exc:
            if self.row is not None:  # the cursor moves on past a failed write: the next run retries it
                reason = f"write failed: {failure_reason(exc)}"
                deps.state.save_pending(self.entity, self.record_id, reason=reason, row=self.row)
                if self.stream:  # an open failure for operators (`failures`, `trace`) until written
                    deps.state.quarantine(self.entity, self.record_id, stream=self.stream, reason=reason,
                                          details={"resource": self.resource, "error": str(exc)[:300]})
            raise

    def _apply(self, deps: PullDeps) -> str:
        body = dict(self.body)
        if self.parent is not None:
            body[self.parent_field] = self.parent.apply(deps)
        if self.wc_id is None:
            record = deps.wiz.create(self.resource, body)  # a 409 answers with the record that exists
            leftover = changed_fields(record, body)        # that record may be older than this one
            record = self._update(deps, record["id"], leftover) if leftover else record
        elif body:
            record = self._update(deps, self.wc_id, body)
        else:
            record = {"id": self.wc_id}
        # The version our write made is our echo, and SOS has its content already (it came from
        # SOS): as the applied version it also makes the echoes of our earlier writes stale.
        echo = ECHO_VERSIONS[self.resource](record) if self.changes_wc and self.resource in ECHO_VERSIONS else None
        if self.link:
            deps.mappings.link(Link(entity=self.entity, wc_id=record["id"], sos_id=self.record_id, origin=self.origin,
                                    number=self.number, sos_sync_token=self.sos_sync_token,
                                    wc_version=self.wc_version if echo is None else echo, wc_echo_version=echo))
        else:
            fields = {"sos_sync_token": self.sos_sync_token, "wc_version": echo, "wc_echo_version": echo}
            deps.mappings.update(self.entity, record["id"], **{k: v for k, v in fields.items() if v is not None})
        if self.held:
            deps.state.release_hold(self.entity, "sos", self.record_id)  # linked now: nothing left to decide
        if self.was_pending:
            deps.state.resolve_pending(self.entity, self.record_id)
        if self.quarantined:
            deps.state.release_quarantine(self.entity, self.record_id, stream=self.stream)
        return record["id"]

    def _update(self, deps: PullDeps, wc_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        return update_wc(deps, self.resource, wc_id, fields)

    def event(self) -> dict[str, Any]:
        action = ("created" if self.wc_id is None else "drift-corrected" if self.corrects_drift
                  else "updated" if self.body else "adopted")
        return {"entity": self.entity, "action": f"pulled-{action}", "wc_id": self.wc_id,
                "fields": sorted(self.body)[:20] if self.wc_id else None}


def update_wc(deps: PullDeps, resource: str, wc_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Change `fields` of a WC record. An order PUT replaces the whole order, so the client
    reads it and sends it back whole with the fields changed; the other records take PATCH."""
    if resource == "orders":
        return deps.wiz.merge_order(wc_id, fields)
    return deps.wiz.patch(resource, wc_id, fields)


@dataclass(frozen=True)
class KeepPending:
    """An SOS record that has to wait (its order is not in WizCommerce yet…), kept with the
    reason operators see and the record itself, planned again at the next run (R-DOC-1)."""

    record_id: str
    entity: Entity
    reason: str
    row: dict[str, Any]
    quarantined_in: str | None = None  # the stream that held it quarantined: it reads now, and waits
    changes_wc = False

    def apply(self, deps: PullDeps) -> None:
        deps.state.save_pending(self.entity, self.record_id, reason=self.reason, row=self.row)
        if self.quarantined_in:
            deps.state.release_quarantine(self.entity, self.record_id, stream=self.quarantined_in)

    def event(self) -> dict[str, Any]:
        return {"entity": self.entity, "action": "kept-pending", "reason": self.reason}


@dataclass(frozen=True)
class EndPending:
    """A pending or quarantined record that needs no write any more (e.g. it turned out to be
    one we pushed, or is in WizCommerce as SOS has it)."""

    record_id: str
    entity: Entity
    reason: str
    pending: bool = True
    quarantined_in: str | None = None  # the stream that holds it quarantined

    changes_wc = False

    def apply(self, deps: PullDeps) -> None:
        if self.pending:
            deps.state.resolve_pending(self.entity, self.record_id)
        if self.quarantined_in:
            deps.state.release_quarantine(self.entity, self.record_id, stream=self.quarantined_in)

    def event(self) -> dict[str, Any]:
        return {"entity": self.entity, "action": "pending-ended", "reason": self.reason}


@dataclass(frozen=True)
class Decision:
    """What one SOS record needs: a write, or nothing because it is unchanged or skipped."""

    sos_id: str
    write: Write | None = None
    skipped: str | None = None
    unchanged: bool = False
    failed: SosRecordError | None = None  # unreadable or unmirrorable: quarantined

    def count(self, counts: RunCounts) -> None:
        if self.failed:
            count_problem(counts, self.failed)
        elif self.skipped:
            counts.skip(self.skipped)
        elif self.unchanged:
            counts.unchanged += 1


@dataclass(frozen=True)
class Prepared:
    """Read once per invocation: which records wait in PENDING items, which the first sync holds."""

    pending: frozenset[str] = frozenset()
    held: Mapping[str, frozenset[str]] = field(default_factory=dict)  # entity → held SOS ids
    quarantined: frozenset[str] = frozenset()  # SOS ids this stream holds quarantined

    def is_held(self, entity: str, sos_id: str) -> bool:
        return sos_id in self.held.get(entity, frozenset())

    def for_parents(self) -> Prepared:
        """The same holds, none of this stream's pending or quarantined ids (another entity's)."""
        return replace(self, pending=frozenset(), quarantined=frozenset())


@dataclass(frozen=True)
class MirrorSpec(Generic[R]):
    """How one SOS resource is mirrored into WizCommerce."""

    stream: str
    entity: Entity
    sos_resource: str
    wc_resource: str
    model: type[R]
    # The WC record an SOS record is (or why it waits), given the page's lookups and the WC
    # record as it is now (None: not in WizCommerce) and the mapping (None: not linked).
    desired: Callable[[R, Any, dict | None, Link | None], dict[str, Any] | Waiting]
    # Reads a page needs besides the records (their parents' links, products), done once per page.
    lookups: Callable[[list[R], Prepared, RunCounts], Any] = lambda records, prepared, counts: None
    # Why a record is not mirrored at all (a string), has to wait (Waiting), or cannot be
    # mirrored as SOS has it (a SosRecordError: quarantined until SOS changes it).
    skip: Callable[[R, Link | None], str | Waiting | SosRecordError | None] = lambda record, link: None
    number: Callable[[R], str | None] = lambda record: None
    # A record to write first whose WC id the body needs in `parent_field` (an order's new customer).
    parent: Callable[[R, Any], WcWrite | None] = lambda record, lookups: None
    parent_field: str | None = None
    # WC fields set at create and left to WizCommerce afterwards.
    create_only: frozenset[str] = CREATE_ONLY_FIELDS
    # Whether a WizCommerce edit of what this stream writes (on an SOS-origin record) is drift to
    # put back: false where the push takes such edits to SOS.
    repairs_drift: bool = False
    # The SOS contract rows its records need (R-OPS-5): one stored as fitting neither reading stops
    # the run with that reason (e.g. SOS-A9 for records carrying linked* lists).
    contract_rows: tuple[str, ...] = ()


def prepare(deps: PullDeps, entity: Entity, stream: str) -> Prepared:
    held: dict[str, set[str]] = {}
    for hold in deps.state.holds():
        if hold["side"] == "sos":
            held.setdefault(hold["entity"], set()).add(hold["record_id"])
    return Prepared(pending=frozenset(item["sos_id"] for item in deps.state.pending(entity)),
                    held={entity: frozenset(ids) for entity, ids in held.items()},
                    quarantined=frozenset(deps.state.quarantined(entity, stream)))


def decide(deps: PullDeps, spec: MirrorSpec[R], rows: list[dict[str, Any]], prepared: Prepared,
           counts: RunCounts, *, recheck: bool = False) -> list[Decision]:
    """What each SOS row needs. Reads only. `recheck`: rows of records WizCommerce shows edited,
    compared with WizCommerce even when their SOS version is the one last applied. A row that
    cannot be read, or mirrored, is quarantined; the others go on."""
    reading = read_rows(spec.model, rows, spec.sos_resource)
    decisions: dict[str, Decision] = {}
    for problem in reading.problems:
        decisions[str(problem.record_id)] = _quarantine(spec, problem, prepared)
    for sos_id in reading.gone:
        decisions[sos_id] = _skip(spec, sos_id, "gone-from-sos", prepared)
    records = [record for _, record in reading.records]
    links = deps.mappings.by_sos_many(spec.entity, [str(record.id) for record in records])
    todo: list[tuple[dict[str, Any], R, Link | None]] = []
    for row, record in reading.records:
        sos_id, link = str(record.id), links.get(str(record.id))
        reason = spec.skip(record, link)
        if isinstance(reason, SosRecordError):
            decisions[sos_id] = _quarantine(spec, reason, prepared)
        elif isinstance(reason, Waiting):
            decisions[sos_id] = _wait(spec, sos_id, reason, row, prepared)
        elif reason:
            decisions[sos_id] = _skip(spec, sos_id, reason, prepared)
        elif not recheck and applied_already(link, row):
            # this version is in WizCommerce already
            decisions[sos_id] = Decision(sos_id, _ending(spec, sos_id, prepared, "up to date", pending=False),
                                         unchanged=True)
        else:
            todo.append((row, record, link))
    if todo:
        current = wc_by_reference(deps, spec.wc_resource, [str(record.id) for _, record, _ in todo], counts)
        lookups = spec.lookups([record for _, record, _ in todo], prepared, counts)
        for row, record, link in todo:
            decisions[str(record.id)] = _decide_one(deps, spec, row, record, link, current, lookups, prepared)
    return [decisions[sos_id] for sos_id in dict.fromkeys(str(row.get("id")) for row in rows)]


def applied_already(link: Link | None, row: Mapping[str, Any]) -> bool:
    """Whether this SOS version of a linked record is the one last applied to WizCommerce."""
    return link is not None and link.sos_sync_token is not None and link.sos_sync_token == row.get("syncToken")


def _decide_one(deps: PullDeps, spec: MirrorSpec[R], row: dict[str, Any], record: R, link: Link | None,
                current: Mapping[str, dict], lookups: Any, prepared: Prepared) -> Decision:
    sos_id = str(record.id)
    wc = current.get(sos_id)
    if link is not None and (wc is None or wc["id"] != link.wc_id):
        wc = _wc_record(deps, spec.wc_resource, link.wc_id)  # linked, but WC lost or changed its Reference ID
        if wc is None:
            return _skip(spec, sos_id, f"linked {spec.entity} is gone from WizCommerce", prepared)
    if link is None and wc is None and prepared.is_held(spec.entity, sos_id):
        return Decision(sos_id, _ending(spec, sos_id, prepared, "held", pending=False),
                        skipped="held-ambiguous-first-sync-match")
    desired = spec.desired(record, lookups, wc, link)
    if isinstance(desired, Waiting):
        return _wait(spec, sos_id, desired, row, prepared)
    pending = sos_id in prepared.pending
    common = {"record_id": sos_id, "entity": spec.entity, "resource": spec.wc_resource, "row": row,
              "link": link is None, "number": spec.number(record), "sos_sync_token": row.get("syncToken"),
              "was_pending": pending, "held": prepared.is_held(spec.entity, sos_id),
              "parent": spec.parent(record, lookups), "parent_field": spec.parent_field,
              "stream": spec.stream, "quarantined": sos_id in prepared.quarantined}
    if wc is None:
        return Decision(sos_id, WcWrite(body=desired, **common))
    changes = changed_fields(wc, desired, spec.create_only)
    if changes or link is None:  # an update, or an adoption (WC has it, the mapping does not)
        # SOS did not change since it was applied, yet WizCommerce differs: WizCommerce was edited.
        return Decision(sos_id, WcWrite(body=changes, wc_id=wc["id"], corrects_drift=applied_already(link, row),
                                        **common), unchanged=not changes)
    return Decision(sos_id, _ending(spec, sos_id, prepared, "up to date"), unchanged=True)


def _wait(spec: MirrorSpec, sos_id: str, waiting: Waiting, row: dict[str, Any], prepared: Prepared) -> Decision:
    quarantined_in = spec.stream if sos_id in prepared.quarantined else None
    return Decision(sos_id, KeepPending(sos_id, spec.entity, waiting.reason, row, quarantined_in), skipped="pending")


def _skip(spec: MirrorSpec, sos_id: str, reason: str, prepared: Prepared) -> Decision:
    return Decision(sos_id, _ending(spec, sos_id, prepared, reason), skipped=reason)


def _ending(spec: MirrorSpec, sos_id: str, prepared: Prepared, reason: str, *,
            pending: bool = True) -> EndPending | None:
    """What ends the record's pending row (unless `pending` is False) and its quarantine, if any."""
    pending = pending and sos_id in prepared.pending
    quarantined_in = spec.stream if sos_id in prepared.quarantined else None
    return EndPending(sos_id, spec.entity, reason, pending, quarantined_in) if pending or quarantined_in else None


def _quarantine(spec: MirrorSpec, problem: SosRecordError, prepared: Prepared) -> Decision:
    sos_id = str(problem.record_id)
    return Decision(sos_id, quarantine_write(problem, spec.entity, spec.stream, pending=prepared.pending),
                    failed=problem)


def wc_by_reference(deps: PullDeps, resource: str, sos_ids: Iterable[str],
                    counts: RunCounts | None = None) -> dict[str, dict[str, Any]]:
    """WizCommerce records carrying these SOS ids as Reference ID, one list call per 100; where
    the account ignores `reference_ids` (WC-A9) a full map, its cost noted in `counts`."""
    return deps.wiz.by_reference_ids(resource, list(sos_ids), full_map=full_map_cost(counts))


def full_map_cost(counts: RunCounts | None):
    """WC-A9 ignored: what a full map of a WizCommerce list cost, for the run report."""
    if counts is None:
        return None

    def note(calls: int, rows: int) -> None:
        counts.note("wc_full_map_calls", calls)
        counts.note("wc_full_map_rows", rows)
    return note


# How far before the previous run's start the drift check lists WizCommerce's changes: our
# clock and WizCommerce's differ, and an edit may land while that run was starting.
WC_EDIT_OVERLAP = timedelta(minutes=5)


def may_be_hand_edit(link: Link | None, updated_at: datetime | None) -> bool:
    """Whether a WizCommerce record's change may be an edit of fields the pull owns, worth an SOS
    read: it is linked to a record that came from SOS (a WC-origin record's edits are the push's
    to take to SOS), and it is not as our own last write left it (that shows SOS's content)."""
    return link is not None and link.origin == "sos" and not is_our_write(updated_at, link.wc_echo_version)


def drifted_rows(deps: PullDeps, spec: MirrorSpec, previous_start_utc: str) -> list[dict[str, Any]]:
    """The SOS rows of the records WizCommerce shows changed since the previous run started
    (less `WC_EDIT_OVERLAP`) that may have been edited there: one list page per 100 changed WC
    records, one mappings read per 100, one SOS read by id per such record (paced like every
    SOS call). A record gone from SOS is left to the window that brings its deletion."""
    after = datetime.fromisoformat(previous_start_utc).astimezone(timezone.utc) - WC_EDIT_OVERLAP
    changed = {row["id"]: row for page in deps.wiz.changed_since(spec.wc_resource, after) for row in page}
    links = deps.mappings.by_wc_many(spec.entity, list(changed))
    sos_ids = [link.sos_id for wc_id, row in changed.items()
               if may_be_hand_edit(link := links.get(wc_id), wc_updated_at(row))]
    rows = []
    for sos_id in dict.fromkeys(sos_ids):
        try:
            rows.append(deps.sos.get(spec.sos_resource, sos_id))
        except ApiError as exc:
            if exc.status != 404:
                raise
    return rows


def _wc_record(deps: PullDeps, resource: str, wc_id: str) -> dict[str, Any] | None:
    try:
        return deps.wiz.get(resource, wc_id)
    except ApiError as exc:
        if exc.status != 404:
            raise
        return None


def writes_of(decisions: Iterable[Decision], counts: RunCounts) -> list[Write]:
    """Count the decisions of a page and return its writes."""
    writes = []
    for decision in decisions:
        counts.seen += 1
        decision.count(counts)
        if decision.write is not None:
            writes.append(decision.write)
    return writes
