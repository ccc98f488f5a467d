"""The ledger (R-OPS-4): did everything get through? For a time window, every record each
direction should have carried — read from the source systems' own lists, not from our state —
is classified by ops/ledger_rules.py as synced, parked, blocked, in flight, skipped or
unaccounted. Reads only; an unaccounted record comes with the command that would repair it.

Reads, in proportion to the records of the window:
- WizCommerce: the orders (confirmed, cancelled) and customers (every status) changed in the
  window (`changed_since`, 100 a page); WC records of the SOS ones by Reference ID, 100 a call.
- SOS (paced like every SOS call): customers, sales orders, invoices and shipments changed since
  the window's start (`updatedsince` in the account's zone), and again since where each pull's
  next run starts (what that run still reads is in flight); one read by id only for a linked
  SOS record the window's list did not show (to tell "gone" from "not changed").
- DynamoDB: mappings by BatchGetItem (100 keys a call), the open failures, the pending records,
  the cursors.
The SOS → WizCommerce side is judged by the pull's own plan (sync/mirror.py `decide`, which only
reads): a record the pull would not write is as SOS has it; one it would write is not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import ValidationError

from ..clients.http import ApiError
from ..clients.sos import OffsetCursor
from ..config import WizPollSettings
from ..models.wiz import WizCustomer, WizOrder
from ..push.customers import HELD
from ..rules.orders import pushed_content_digest
from ..rules.payments import paid_rise
from ..rules.versions import is_our_write, timestamp_version
from ..store.mappings import Mapping as Link
from ..sync.deps import PullDeps
from ..sync.entity_streams import customers_spec, invoices_spec, orders_spec, shipments_spec
from ..sync.mirror import KeepPending, MirrorSpec, WcWrite, decide, prepare, wc_by_reference
from ..sync.report import RunCounts
from . import ledger_rules as rules
from .ledger_rules import Entry, Facts

LEDGER = "ledger"  # the pull function's job {"stream": "ledger"} (template.yaml LedgerSchedule)
SCHEDULED_WINDOW = timedelta(hours=25)  # daily, each window overlapping the previous one by an hour
POLL_INTERVAL = timedelta(minutes=1)    # WcPollScheduleExpression's default
POLL_OVERLAP = timedelta(seconds=WizPollSettings.model_fields["wc_poll_overlap_seconds"].default)
HELD_ON_FIRST_SYNC = "held-ambiguous-first-sync-match"


@dataclass
class LedgerDeps:
    pull: PullDeps                       # the clients and tables, as the pull function has them
    names: Mapping[str, str] = field(default_factory=dict)  # PUSH_QUEUE_URL, PULL_QUEUE_URL for fix commands
    stack_flag: str = ""
    poll_interval: timedelta = POLL_INTERVAL
    poll_overlap: timedelta = POLL_OVERLAP


def _time(stamp: Any) -> datetime | None:
    if not stamp:
        return None
    parsed = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def run_ledger(deps: LedgerDeps, since: datetime, until: datetime, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(timezone.utc)
    pull = deps.pull
    calls = (pull.sos.calls.count, pull.wiz.calls.count)
    failures = {(f["entity"], str(f["record_id"])): f for f in pull.state.all_open_failures()}
    pending = {(p["entity"], str(p["sos_id"])): p.get("reason") or "pending" for p in pull.state.pending()}
    sos_rows = {resource: _sos_rows(pull, resource, since) for resource in SOS_RESOURCES}
    entries = [*_wc_orders_and_payments(deps, since, until, now, failures, sos_rows["salesorder"]),
               *_wc_customers(deps, since, until, now, failures, sos_rows["customer"])]
    for spec in (customers_spec(), orders_spec(pull), invoices_spec(pull), shipments_spec(pull)):
        entries += _sos_records(deps, spec, sos_rows[spec.sos_resource], failures, pending)
    result = rules.summary(entries, since=since, until=until, names=deps.names, stack_flag=deps.stack_flag)
    result["calls"] = {"sos": pull.sos.calls.count - calls[0], "wiz": pull.wiz.calls.count - calls[1]}
    result["ran_at"] = now.isoformat()
    return result


SOS_RESOURCES = ("customer", "salesorder", "invoice", "shipment")


def _sos_rows(pull: PullDeps, resource: str, since: datetime | str | None) -> dict[str, dict[str, Any]]:
    """SOS's rows of `resource` changed since `since` (a UTC time, or `updatedsince` as SOS reads it)."""
    window = pull.sos.window.since(since.isoformat()) if isinstance(since, datetime) else since
    return {str(row["id"]): row for page in pull.sos.iter_pages(resource, OffsetCursor(since=window))
            for row in page.rows if row.get("id") is not None}


def _sos_records_by_id(pull: PullDeps, resource: str, listed: Mapping[str, dict], ids: Iterable[str]
                       ) -> tuple[dict[str, dict], set[str]]:
    """The SOS records `ids`: from the window's list, else read by id; and which are gone (404)."""
    found, gone = {}, set()
    for sos_id in dict.fromkeys(ids):
        if sos_id in listed:
            found[sos_id] = listed[sos_id]
            continue
        try:
            found[sos_id] = pull.sos.get(resource, sos_id)
        except ApiError as exc:
            if exc.status != 404:
                raise
            gone.add(sos_id)
    return found, gone


def _wc_rows(pull: PullDeps, resource: str, since: datetime, until: datetime, **filters: Any) -> list[dict]:
    return [row for page in pull.wiz.changed_since(resource, since, **filters) for row in page
            if (_time(row.get("updated_at")) or until) <= until]


def _poll_cursor(pull: PullDeps, entity: str) -> datetime | None:
    return _time(((pull.state.load_stream(f"wc-poll-{entity}").get("cursor")) or {}).get("updated_at"))


def _held(entity: str, record_id: str, held: set[str]) -> dict[str, Any] | None:
    return {"reason": HELD, "details": {"disposition": "held"}} if record_id in held else None


# -- WizCommerce → SOS ----------------------------------------------------------------------

def _wc_orders_and_payments(deps: LedgerDeps, since: datetime, until: datetime, now: datetime,
                            failures: Mapping, listed: Mapping[str, dict]) -> list[Entry]:
    pull = deps.pull
    rows = [*_wc_rows(pull, "orders", since, until, order_status="confirmed"),
            *_wc_rows(pull, "orders", since, until, order_status="cancelled")]
    links = pull.mappings.by_wc_many("order", [str(row["id"]) for row in rows])
    pushed = [link.sos_id for link in links.values() if link.origin == "wc"]
    sos_orders, gone = _sos_records_by_id(pull, "salesorder", listed, pushed)
    cursor, held = _poll_cursor(pull, "order"), pull.state.held("order", "wc")
    entries = []
    for row in rows:
        wc_id = str(row["id"])
        link, failure = links.get(wc_id), failures.get(("order", wc_id)) or _held("order", wc_id, held)
        in_flight = rules.wc_change_in_flight(_time(row.get("updated_at")), now=now, poll_cursor=cursor,
                                              poll_overlap=deps.poll_overlap, poll_interval=deps.poll_interval)
        try:
            order = WizOrder.model_validate(row)
        except ValidationError as exc:
            entries.append(rules.classify(Facts(rules.WC_ORDER, wc_id, link.sos_id if link else None, failure=failure,
                                                mismatch=f"WC order unreadable: {str(exc)[:200]}")))
            continue
        if order.status == "cancelled":
            facts = rules.cancelled_order_facts(
                rules.WC_ORDER, wc_id, pushed_sos_id=link.sos_id if link and link.origin == "wc" else None,
                sos_order=sos_orders.get(link.sos_id) if link else None, sos_gone=bool(link) and link.sos_id in gone)
            if link is not None and link.origin == "sos":
                facts = Facts(rules.WC_ORDER, wc_id, link.sos_id, skip="SOS-origin order: cancelled in SOS (R-ORD-7)")
            entries.append(rules.classify(replace(facts, failure=failure, in_flight=in_flight)))
            continue
        entries.append(rules.classify(_order_facts(order, link, gone, failure, in_flight)))
        if order.amount_paid:
            entries.append(rules.classify(_payment_facts(order, link, gone, failure, in_flight)))
    return entries


def _order_facts(order: WizOrder, link: Link | None, gone: set[str], failure: Any, in_flight: bool) -> Facts:
    common = {"entity": rules.WC_ORDER, "wc_id": order.id, "failure": failure, "in_flight": in_flight}
    if link is None:
        return Facts(sos_id=None, mismatch="not in SOS: no mapping (never pushed)", **common)
    if link.origin == "sos":
        return Facts(sos_id=link.sos_id, skip="SOS-origin order (R-ORD-7): counted under sos_to_wc.order", **common)
    if link.sos_id in gone:  # the push finds the mapping and writes nothing: never repaired by itself
        return Facts(sos_id=link.sos_id, mismatch=f"its SOS order {link.sos_id} is gone from SOS",
                     **{**common, "in_flight": False})
    if pushed_content_digest(order) == link.pushed_digest:
        return Facts(sos_id=link.sos_id, synced=True, **common)
    blocked = f"edit-blocked (R-ORD-2): {link.edit_blocked_reason}" if link.edit_blocked else None
    return Facts(sos_id=link.sos_id, blocked=blocked, mismatch=f"edited in WC at {order.updated_at}: SOS does not "
                 "have the edit (what was pushed last differs)", **common)


def _payment_facts(order: WizOrder, link: Link | None, gone: set[str], failure: Any, in_flight: bool) -> Facts:
    """R-PAY-1: an online payment (amount_paid above 0) reaches the order's SOS order."""
    common = {"entity": rules.WC_PAYMENT, "wc_id": order.id, "failure": failure, "in_flight": in_flight}
    if link is None:
        return Facts(sos_id=None, mismatch="its order is not in SOS (no mapping): the payment goes with it", **common)
    if link.origin == "sos":
        return Facts(sos_id=link.sos_id, skip="SOS-origin order: its payments are SOS's (R-PAY-2)", **common)
    if link.sos_id in gone:
        return Facts(sos_id=link.sos_id, mismatch=f"its SOS order {link.sos_id} is gone from SOS",
                     **{**common, "in_flight": False})
    rise = paid_rise(order.amount_paid, link.pushed_amount_paid)
    if rise is None:
        return Facts(sos_id=link.sos_id, synced=True, **common)
    return Facts(sos_id=link.sos_id, mismatch=f"amount_paid {order.amount_paid} is {rise} more than SOS was told "
                 f"({link.pushed_amount_paid or 0})", **common)


def _wc_customers(deps: LedgerDeps, since: datetime, until: datetime, now: datetime, failures: Mapping,
                  listed: Mapping[str, dict]) -> list[Entry]:
    pull = deps.pull
    rows = _wc_rows(pull, "customers", since, until)
    links = pull.mappings.by_wc_many("customer", [str(row["id"]) for row in rows])
    _, gone = _sos_records_by_id(pull, "customer", listed, [link.sos_id for link in links.values()])
    cursor, held = _poll_cursor(pull, "customer"), pull.state.held("customer", "wc")
    entries = []
    for row in rows:
        wc_id, updated_at = str(row["id"]), _time(row.get("updated_at"))
        link = links.get(wc_id)
        common = {"entity": rules.WC_CUSTOMER, "wc_id": wc_id, "sos_id": link.sos_id if link else None,
                  "failure": failures.get(("customer", wc_id)) or _held("customer", wc_id, held),
                  "in_flight": rules.wc_change_in_flight(updated_at, now=now, poll_cursor=cursor,
                                                         poll_overlap=deps.poll_overlap,
                                                         poll_interval=deps.poll_interval)}
        if link is None:
            facts = Facts(mismatch="not in SOS: no mapping (never pushed)", **common)
        elif link.sos_id in gone:  # never repaired by itself: the push finds the mapping
            facts = Facts(mismatch=f"its mapping points at SOS customer {link.sos_id}, which is not in SOS",
                          **{**common, "in_flight": False})
        elif _customer_applied(WizCustomer.model_validate(row), link):
            facts = Facts(synced=True, **common)
        else:
            facts = Facts(mismatch=f"edited in WC at {row.get('updated_at')}, after its last push "
                          f"({link.updated_at})", **common)
        entries.append(rules.classify(facts))
    return entries


def _customer_applied(customer: WizCustomer, link: Link) -> bool:
    """The WC customer's current version reached SOS: the push examined it (a mapping written at
    or after it: push/customers.py touches the mapping even when nothing SOS receives changed),
    or it is our own pull's write (its content came from SOS)."""
    if is_our_write(customer.updated_at, link.wc_echo_version):
        return True
    examined = _time(link.updated_at)
    return customer.updated_at is None or (examined is not None and examined >= customer.updated_at) or (
        link.wc_version is not None and link.wc_version >= timestamp_version(customer.updated_at))


# -- SOS → WizCommerce ----------------------------------------------------------------------

def _next_window_ids(pull: PullDeps, spec: MirrorSpec) -> set[str] | None:
    """The SOS ids the pull's next run (or the run under way) still reads; None: the stream has
    not finished a run yet, so its first run reads everything."""
    saved = pull.state.load_stream(spec.stream)
    run = saved.get("run") or {}
    since = (run.get("checkpoint") or {}).get("since") if run else None
    if not since:
        since_utc = (saved.get("cursor") or {}).get("since_utc")
        if not since_utc:
            return None
        since = pull.sos.window.since(since_utc)
    return set(_sos_rows(pull, spec.sos_resource, since))


def _sos_records(deps: LedgerDeps, spec: MirrorSpec, listed: Mapping[str, dict], failures: Mapping,
                 pending: Mapping) -> list[Entry]:
    pull, entity = deps.pull, f"sos_to_wc.{spec.entity}"
    if not listed:
        return []
    decisions = decide(pull, spec, list(listed.values()), prepare(pull, spec.entity, spec.stream), RunCounts())
    links = pull.mappings.by_sos_many(spec.entity, [d.sos_id for d in decisions])
    # Where the plan writes nothing, WizCommerce's record carrying the SOS id must be the linked one
    unwritten = [d.sos_id for d in decisions if d.sos_id in links and d.failed is None and
                 (not d.skipped or "gone from WizCommerce" in d.skipped) and
                 not (isinstance(d.write, WcWrite) and d.write.changes_wc)]
    in_wc = wc_by_reference(pull, spec.wc_resource, unwritten)
    next_window = _next_window_ids(pull, spec)
    entries = []
    for decision in decisions:
        sos_id = decision.sos_id
        link = links.get(sos_id)
        failure = failures.get((spec.entity, sos_id))
        if failure is None and decision.failed is not None:
            failure = {"reason": decision.failed.reason, "details": {"disposition": "quarantined"}}
        common = {"entity": entity, "wc_id": link.wc_id if link else None, "sos_id": sos_id, "failure": failure,
                  "in_flight": next_window is None or sos_id in next_window,
                  "waiting": pending.get((spec.entity, sos_id))}
        entries.append(rules.classify(_sos_facts(spec, decision, link, in_wc.get(sos_id), common)))
    return entries


def _sos_facts(spec: MirrorSpec, decision: Any, link: Link | None, wc: dict | None, common: dict) -> Facts:
    """What the pull's plan says of an SOS record. A fault the next run would not repair (its
    plan writes nothing: a link pointing at nothing) is never in flight."""
    write, never_repaired = decision.write, {**common, "in_flight": False}
    if decision.skipped == "pushed-from-wc":
        return Facts(skip="pushed from WC (R-ORD-7): counted under wc_to_sos.order", **common)
    if decision.skipped == HELD_ON_FIRST_SYNC:
        return Facts(**{**common, "failure": common["failure"] or {"reason": HELD, "details": {"disposition": "held"}}})
    if isinstance(write, KeepPending):  # in flight only while the pull keeps it pending, or reads it next
        return Facts(mismatch=f"waits ({write.reason}) but the pull does not keep it pending", **common)
    if decision.failed is not None:
        return Facts(mismatch=decision.failed.reason, **common)
    if decision.skipped and decision.skipped.startswith("linked ") and "gone from WizCommerce" in decision.skipped:
        return Facts(mismatch=f"its mapping points at WC {spec.entity} {link.wc_id if link else '?'}, which "
                     "is not there", **never_repaired)
    if decision.skipped:
        return Facts(skip=f"{decision.skipped} ({spec.stream} pull rule)", **common)
    if isinstance(write, WcWrite) and write.changes_wc:
        why = (f"not in WizCommerce: the {spec.stream} pull would create it" if write.wc_id is None
               else f"WizCommerce differs from SOS in {', '.join(sorted(write.body)[:6])}")
        return Facts(mismatch=why, **common)
    if link is None:
        return Facts(mismatch="in WizCommerce but not linked (no mapping)", **common)
    if wc is None or str(wc.get("id")) != link.wc_id:
        where = "no WC record carries its SOS id" if wc is None else f"WC {wc.get('id')} carries its SOS id"
        return Facts(mismatch=f"its mapping points at WC {spec.entity} {link.wc_id}, which is not there ({where})",
                     **never_repaired)
    return Facts(synced=True, **common)


# -- the scheduled run ------------------------------------------------------------------------

def ledger_job(pull: PullDeps, names: Mapping[str, str], emit: Callable[[int], None]) -> dict[str, Any]:
    """The pull function's {"stream": "ledger"}: `names` for the fix commands (its environment),
    `emit(n)` publishes the unaccounted count (the `Unaccounted` metric)."""
    return scheduled_ledger(LedgerDeps(pull=pull, names=names), emit)


def scheduled_ledger(deps: LedgerDeps, emit: Callable[[int], None], now: datetime | None = None) -> dict[str, Any]:
    """The daily ledger (LedgerSchedule → PullQueue {"stream": "ledger"}): the last
    SCHEDULED_WINDOW, kept in the state table for `doctor`, its unaccounted count emitted."""
    now = now or datetime.now(timezone.utc)
    result = run_ledger(deps, now - SCHEDULED_WINDOW, now, now)
    deps.pull.state.save_ledger({**result, "unaccounted_count": len(result["unaccounted"]),
                                 "unaccounted": result["unaccounted"][:50]})
    emit(len(result["unaccounted"]))
    return {"stream": LEDGER, "window": result["window"], "unaccounted": len(result["unaccounted"]),
            "calls": result["calls"]}


# -- the operator's command ---------------------------------------------------------------------

def cli_ledger(values: Mapping[str, str], since: str, until: str | None, *, stack: str | None = None,
               settle: timedelta = 2 * POLL_INTERVAL, now: datetime | None = None) -> dict[str, Any]:
    """`sos-wiz-ops ledger`: built from the pull function's environment (targets.py), as `diff`."""
    from ..sync.deps import pull_environment
    from .diff import _environment

    now = now or datetime.now(timezone.utc)
    with _environment(values):
        pull = pull_environment().deps
    names = {name: values[name] for name in ("PUSH_QUEUE_URL", "PULL_QUEUE_URL") if values.get(name)}
    deps = LedgerDeps(pull=pull, names=names, stack_flag=f" --stack {stack}" if stack else "",
                      poll_interval=settle / 2)
    return run_ledger(deps, rules.window_start(since, now), rules.window_start(until, now) if until else now, now)
