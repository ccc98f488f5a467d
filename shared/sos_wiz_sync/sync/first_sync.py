"""First sync (R-TIME-2): the one-time setup run that matches what already exists in both
systems and stores the mappings before any stream may create anything, so the first regular
run creates no duplicate.

Per entity (customers, orders, invoices, shipments): every SOS record and every WC record is
read once; records are matched by Reference ID, then by email (customers) or number (orders,
invoices) where exactly one record on each side has it (`rules/matching.py`). A matched WC
record without the SOS id gets it as its Reference ID (our write's echo is recorded, so the
push drops it). Ambiguous candidates are reported and held on both sides — the pull does not
create the SOS ones in WizCommerce, reconciliation does not push the WC ones — until an
operator links them (sets the Reference ID in WizCommerce) or releases the hold. The held SOS
records are also kept pending, so each run looks at them again.

The entity streams refuse to run until this has completed (`first_sync_missing`). Progress is
kept per entity, so a run that meets the Lambda time limit continues where it stopped; running
it again links nothing twice.

    python -m sos_wiz_sync.sync.first_sync run          # the environment of the pull function
    python -m sos_wiz_sync.sync.first_sync holds        # what waits for an operator
    python -m sos_wiz_sync.sync.first_sync release customer sos 12
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..clients.http import map_bounded
from ..clients.reasons import failure_reason
from ..rules.matching import (
    How,
    SosSide,
    WcSide,
    email_key,
    first_sync_order_origin,
    match_records,
    number_key,
    wc_order_keys,
)
from ..store.leases import Leases
from ..store.mappings import Entity, Origin
from ..wiring import ContractFollower
from .contract_probe import probe_before_first_sync
from .deps import PullDeps, PullEnvironment, pull_environment
from .engine import LambdaContext, utc_now
from .mirror import ECHO_VERSIONS, WcWrite
from .report import RunCounts

FIRST_SYNC = "first-sync"
AMBIGUITY_SAMPLE_SIZE = 50
NO_KEYS: Callable[[dict], frozenset[str]] = lambda record: frozenset()


@dataclass(frozen=True)
class Matchable:
    """One entity as the first sync matches it."""

    entity: Entity
    sos_resource: str
    wc_resource: str
    sos_keys: Callable[[dict], frozenset[str]]
    wc_keys: Callable[[dict], frozenset[str]]
    origin: Callable[[dict, dict, How], Origin]
    number: Callable[[dict], str | None] = lambda sos: None


def matchables(deps: PullDeps) -> list[Matchable]:
    prefix, suffix = deps.order_number_prefix, deps.order_number_suffix
    return [
        # A customer WC already links by Reference ID came from SOS; one found by email, from WC.
        Matchable("customer", "customer", "customers", lambda sos: email_key(sos.get("email")),
                  lambda wc: email_key(wc.get("email")), lambda sos, wc, how: "sos" if how == "reference" else "wc"),
        Matchable("order", "salesorder", "orders", lambda sos: number_key(sos.get("number")),
                  lambda wc: wc_order_keys(wc.get("display_id"), prefix, suffix),
                  lambda sos, wc, how: first_sync_order_origin(sos["number"], wc.get("display_id"), wc.get("source"),
                                                               prefix, suffix),
                  number=lambda sos: sos.get("number")),
        Matchable("invoice", "invoice", "invoices", lambda sos: number_key(sos.get("number")),
                  lambda wc: number_key(wc.get("invoice_number")), lambda sos, wc, how: "sos",
                  number=lambda sos: sos.get("number")),
        Matchable("shipment", "shipment", "shipments", NO_KEYS, NO_KEYS, lambda sos, wc, how: "sos",
                  number=lambda sos: sos.get("number")),
    ]


def applied_wc_version(resource: str, wc: dict[str, Any]) -> int | None:
    """The WC version both systems already agree on at the first sync: the push's stale-edit
    guard then pushes only later edits (orders carry `version`, customers `updated_at`)."""
    return ECHO_VERSIONS[resource](wc) if resource in ECHO_VERSIONS else None


class FirstSync:
    def __init__(self, deps: PullDeps, *, leases: Leases, time_reserve_ms: int, continue_run: Callable[[], None],
                 contract: ContractFollower):
        self._deps = deps
        self._contract = contract  # the stored readings the probe settles, handed to the clients
        self._leases = leases
        self._reserve_ms = time_reserve_ms
        self._continue = continue_run  # sends {"stream": "first-sync"} to the pull queue

    def run(self, context: LambdaContext) -> dict[str, Any]:
        deps = self._deps
        owner = uuid.uuid4().hex
        if not self._leases.acquire(f"stream#{FIRST_SYNC}", owner, context.get_remaining_time_in_millis() // 1000 + 30):
            return {"stream": FIRST_SYNC, "status": "busy"}
        try:
            status = deps.state.first_sync_status()
            if status.get("status") != "running":  # a new run (a finished one may be run again: it is idempotent)
                status = {"status": "running", "run_id": uuid.uuid4().hex, "started_at": utc_now(),
                          "entities_done": [], "counts": RunCounts().to_dict(), "ambiguous": [],
                          "api_calls": {"sos": 0, "wiz": 0}, "invocations": 0}
            status["invocations"] += 1
            counts = RunCounts.from_dict(status["counts"])
            calls = (deps.sos.calls.count, deps.wiz.calls.count)
            if "contract" not in status:  # R-OPS-5: the probe, before anything is written
                status["contract"] = probe_before_first_sync(deps.sos, deps.wiz, self._contract.store,
                                                             payment_route=deps.payment_route)
                self._contract.follow()  # this run and the streams after it honour what it settled
            for matchable in matchables(deps):
                if matchable.entity in status["entities_done"]:
                    continue
                if context.get_remaining_time_in_millis() < self._reserve_ms:
                    self._save_progress(status, counts, calls)
                    self._continue()
                    return {"stream": FIRST_SYNC, "run_id": status["run_id"], "status": "continued"}
                status["ambiguous"] += self._match(matchable, counts)
                status["ambiguous"] = status["ambiguous"][:AMBIGUITY_SAMPLE_SIZE]
                status["entities_done"].append(matchable.entity)
                self._save_progress(status, counts, calls)
                calls = (deps.sos.calls.count, deps.wiz.calls.count)
            return self._finish(status, counts)
        finally:
            self._leases.release(f"stream#{FIRST_SYNC}", owner)

    def _match(self, matchable: Matchable, counts: RunCounts) -> list[dict[str, Any]]:
        deps, entity = self._deps, matchable.entity
        sos_rows = {str(row["id"]): row for row in deps.sos.list_all(matchable.sos_resource)}
        wc_rows = {row["id"]: row for page in deps.wiz.iter_pages_parallel(matchable.wc_resource, deps.wiz_concurrency)
                   for row in page}
        linked_sos = {sos_id: link.wc_id for sos_id, link in deps.mappings.by_sos_many(entity, sos_rows).items()}
        linked_wc = {wc_id: link.sos_id for wc_id, link in deps.mappings.by_wc_many(entity, wc_rows).items()}
        result = match_records(
            [SosSide(sos_id, matchable.sos_keys(row)) for sos_id, row in sos_rows.items()],
            [WcSide(wc_id, row.get("reference_id"), matchable.wc_keys(row)) for wc_id, row in wc_rows.items()],
            linked_sos=linked_sos, linked_wc=linked_wc)

        writes = [self._link_write(matchable, sos_rows[m.sos_id], wc_rows[m.wc_id], m.how) for m in result.matches]
        for write, _, error in map_bounded(lambda w: w.apply(deps), writes, deps.wiz_concurrency):
            if error is None:
                counts.changed += 1
            else:
                counts.fail(write.record_id, failure_reason(error), entity=entity, wc_id=write.wc_id)
        counts.seen += len(sos_rows)
        counts.unchanged += result.already_linked
        for how in ("reference", "key"):
            counts.note(f"{entity}_linked_by_{how}", sum(1 for m in result.matches if m.how == how))
        matched_sos = set(linked_sos) | {m.sos_id for m in result.matches}
        matched_wc = set(linked_wc) | {m.wc_id for m in result.matches}
        counts.note(f"{entity}_only_in_sos", len(set(sos_rows) - matched_sos))
        counts.note(f"{entity}_only_in_wc", len(set(wc_rows) - matched_wc))

        reported = []
        for kind, found in (("ambiguous", result.ambiguous), ("conflict", result.conflicts)):
            counts.skip(f"{entity}-{kind}", len(found))
            for ambiguity in found:
                reason = (f"first sync: {kind} match, {ambiguity.reason} (SOS {', '.join(ambiguity.sos_ids)}; "
                          f"WC {', '.join(ambiguity.wc_ids)}): link by setting the Reference ID in WizCommerce")
                for side, ids in (("sos", ambiguity.sos_ids), ("wc", ambiguity.wc_ids)):
                    for record_id in ids:
                        deps.state.hold(entity, side, record_id, reason=reason)
                for sos_id in ambiguity.sos_ids:  # retried each run: the operator's fix is made in WC
                    deps.state.save_pending(entity, sos_id, reason=reason, row=sos_rows[sos_id])
                reported.append({"entity": entity, "kind": kind, "sos_ids": list(ambiguity.sos_ids),
                                 "wc_ids": list(ambiguity.wc_ids), "reason": ambiguity.reason})
        return reported

    def _link_write(self, matchable: Matchable, sos: dict[str, Any], wc: dict[str, Any], how: How) -> WcWrite:
        """Store the mapping; give the WC record the SOS id as Reference ID if it lacks it.
        `sos_sync_token` stays unset: the first regular run compares and writes what differs."""
        sos_id = str(sos["id"])
        return WcWrite(record_id=sos_id, entity=matchable.entity, resource=matchable.wc_resource, row=None,
                       body={} if wc.get("reference_id") == sos_id else {"reference_id": sos_id},
                       wc_id=wc["id"], link=True, origin=matchable.origin(sos, wc, how),
                       wc_version=applied_wc_version(matchable.wc_resource, wc), number=matchable.number(sos))

    def _save_progress(self, status: dict[str, Any], counts: RunCounts, calls_at_start: tuple[int, int]) -> None:
        deps = self._deps
        status["counts"] = counts.to_dict()
        status["api_calls"] = {"sos": status["api_calls"]["sos"] + deps.sos.calls.count - calls_at_start[0],
                               "wiz": status["api_calls"]["wiz"] + deps.wiz.calls.count - calls_at_start[1]}
        deps.state.save_first_sync_status(status)

    def _finish(self, status: dict[str, Any], counts: RunCounts) -> dict[str, Any]:
        """Done only without failures: a record left unlinked by a failed write could be created
        twice by the first regular run, so the streams stay blocked until a re-run links it."""
        finished_at = utc_now()
        report = {"stream": FIRST_SYNC, "run_id": status["run_id"], "started_at": status["started_at"],
                  "finished_at": finished_at,
                  "duration_seconds": round((datetime.fromisoformat(finished_at)
                                             - datetime.fromisoformat(status["started_at"])).total_seconds(), 3),
                  "status": "failed-records" if counts.failed_total else "ok", "invocations": status["invocations"],
                  "api_calls": status["api_calls"], "ambiguous": status["ambiguous"],
                  "contract": status.get("contract"), **counts.to_dict()}
        self._deps.state.save_report(report)
        self._deps.state.save_first_sync_status({
            "status": "failed" if counts.failed_total else "done", "run_id": status["run_id"],
            "finished_at": finished_at})
        return report


def first_sync_of(environment: PullEnvironment) -> FirstSync:
    """The first sync of the pull function's environment; it continues itself on the pull queue."""
    return FirstSync(environment.deps, leases=environment.leases,
                     time_reserve_ms=environment.settings.pull_time_reserve_ms,
                     continue_run=lambda: environment.send_to_pull_queue(json.dumps({"stream": FIRST_SYNC})),
                     contract=environment.contract)


def main(argv: list[str] | None = None) -> int:

    parser = argparse.ArgumentParser(prog="python -m sos_wiz_sync.sync.first_sync", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="match existing records in both systems and store the mappings")
    commands.add_parser("holds", help="records the first sync held back (ambiguous matches)")
    release = commands.add_parser("release", help="end a hold: the record then syncs as one of its own")
    release.add_argument("entity", choices=["customer", "order", "invoice", "shipment"])
    release.add_argument("side", choices=["sos", "wc"])
    release.add_argument("record_id")
    args = parser.parse_args(argv)

    environment = pull_environment()  # the clients and tables of the pull function's environment
    state = environment.deps.state
    if args.command == "run":
        print(json.dumps(first_sync_of(environment).run(_NoTimeLimit()), indent=2, default=str))
    elif args.command == "holds":
        print(json.dumps(state.holds(), indent=2, default=str))
    elif not state.release_hold(args.entity, args.side, args.record_id):
        print(f"no hold on {args.entity} {args.side} {args.record_id}", file=sys.stderr)
        return 1
    return 0


class _NoTimeLimit:
    def get_remaining_time_in_millis(self) -> int:
        return 24 * 3600 * 1000


if __name__ == "__main__":
    sys.exit(main())
