"""The ledger's rules (R-OPS-4): which of six classes a record of the window is in, and what an
operator runs for one that is unaccounted. Pure: the facts are gathered by ops/ledger.py.

Each record is exactly one of, in this order of precedence:
  skipped      a rule says it is not carried (the rule is named)
  synced       the other side has it, linked, as last sent
  blocked      the other side may not take it any more (R-ORD-2 edit block, R-ORD-8 after shipment)
  parked       an open failure holds it (quarantined, parked in the DLQ, held): its reason
  in_flight    it changed where the next poll or pull still reads it, or it waits in a queue
  unaccounted  none of these: the sync has lost it, and `why` says how
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

LedgerClass = Literal["synced", "parked", "blocked", "in_flight", "skipped", "unaccounted"]
CLASSES: tuple[LedgerClass, ...] = ("synced", "parked", "blocked", "in_flight", "skipped", "unaccounted")
# direction.entity, in the order the report shows them
WC_ORDER, WC_CUSTOMER, WC_PAYMENT = "wc_to_sos.order", "wc_to_sos.customer", "wc_to_sos.payment"
SOS_CUSTOMER, SOS_ORDER, SOS_INVOICE, SOS_SHIPMENT = (
    "sos_to_wc.customer", "sos_to_wc.order", "sos_to_wc.invoice", "sos_to_wc.shipment")
LEDGER_ENTITIES = (WC_ORDER, WC_CUSTOMER, WC_PAYMENT, SOS_CUSTOMER, SOS_ORDER, SOS_INVOICE, SOS_SHIPMENT)
# Failure dispositions (store/state.py record_failure details) and what they make a record.
BLOCKING_DISPOSITIONS = frozenset({"edit-blocked", "cancel-blocked"})
RETRYING_DISPOSITION = "retrying"  # the push raised a transient error: SQS delivers it again
# R-ORD-8: how a cancellation shows in SOS once applied (SOS-A8, SOS-A22).
CANCELLED_COMMENT = "Cancelled in WizCommerce"


@dataclass(frozen=True)
class Facts:
    """What the ledger found about one record. `synced` is true only when the other side has it,
    linked, as last sent; otherwise `mismatch` says what is missing or different."""

    entity: str
    wc_id: str | None
    sos_id: str | None
    skip: str | None = None          # the rule that leaves it out
    synced: bool = False
    mismatch: str | None = None      # why it is not synced
    blocked: str | None = None       # R-ORD-2 / R-ORD-8 reason
    failure: Mapping[str, Any] | None = None  # the open failure record ({reason, details.disposition})
    waiting: str | None = None       # queued or kept pending, with its reason
    in_flight: bool = False          # changed where the next poll or pull reads it


@dataclass(frozen=True)
class Entry:
    entity: str
    wc_id: str | None
    sos_id: str | None
    state: LedgerClass
    why: str


def classify(facts: Facts) -> Entry:
    def entry(state: LedgerClass, why: str) -> Entry:
        return Entry(facts.entity, facts.wc_id, facts.sos_id, state, why)

    if facts.skip:
        return entry("skipped", facts.skip)
    if facts.synced:
        return entry("synced", "the other side has it as last sent")
    disposition = ((facts.failure or {}).get("details") or {}).get("disposition")
    if facts.blocked or disposition in BLOCKING_DISPOSITIONS:
        return entry("blocked", facts.blocked or str(facts.failure["reason"]))
    if facts.failure and disposition != RETRYING_DISPOSITION:
        return entry("parked", str(facts.failure.get("reason")))
    if facts.failure:
        return entry("in_flight", f"retrying: {facts.failure.get('reason')}")
    if facts.waiting:
        return entry("in_flight", facts.waiting)
    if facts.in_flight:
        return entry("in_flight", f"changed recently: the next run reads it ({facts.mismatch})")
    return entry("unaccounted", facts.mismatch or "not found on the other side")


def wc_change_in_flight(updated_at: datetime | None, *, now: datetime, poll_cursor: datetime | None,
                        poll_overlap: timedelta, poll_interval: timedelta) -> bool:
    """R-PUSH-1: a WC change is still on its way when the next poll lists it (at or after the
    poll cursor less its overlap; no cursor: the poll has not begun) or it is younger than two
    poll intervals (listed, perhaps not yet pushed)."""
    if updated_at is None:
        return False
    if poll_cursor is None or updated_at >= poll_cursor - poll_overlap:
        return True
    return updated_at >= now - 2 * poll_interval


def cancelled_sos_order(sos_order: Mapping[str, Any] | None) -> bool:
    """R-ORD-8 applied: the SOS order kept, every line's quantity 0, its comment saying so."""
    if not sos_order:
        return False
    lines = sos_order.get("lines") or []
    return (str(sos_order.get("comment") or "").startswith(CANCELLED_COMMENT)
            and all(float(line.get("quantity") or 0) == 0 for line in lines))


def cancelled_order_facts(entity: str, wc_id: str, *, pushed_sos_id: str | None,
                          sos_order: Mapping[str, Any] | None, sos_gone: bool) -> Facts:
    """A WC order cancelled in the window (R-ORD-8, built separately: this is the one place its
    ledger rule lives). Never pushed: nothing to carry. Pushed: synced once SOS shows the
    cancellation (lines at 0, the comment); an after-shipment refusal is a `cancel-blocked`
    failure (blocked, through `classify`); otherwise it is in flight while recent, else lost."""
    if pushed_sos_id is None:
        return Facts(entity, wc_id, None, skip="cancelled before push (R-ORD-1, R-ORD-8: nothing to create)")
    if sos_gone:
        return Facts(entity, wc_id, pushed_sos_id, mismatch=f"its SOS order {pushed_sos_id} is gone from SOS")
    if cancelled_sos_order(sos_order):
        return Facts(entity, wc_id, pushed_sos_id, synced=True)
    return Facts(entity, wc_id, pushed_sos_id,
                 mismatch=f"cancelled in WC after it was pushed; SOS order {pushed_sos_id} does not show the "
                          "cancellation (R-ORD-8)")


def fix_command(entry: Entry, names: Mapping[str, str], stack_flag: str = "") -> str:
    """What an operator runs for an unaccounted record; the ledger itself repairs nothing."""
    kind = entry.entity.split(".", 1)[1]
    if entry.entity.startswith("wc_to_sos."):
        wc_entity = "order" if kind == "payment" else kind
        body = (f'{{"id": "ledger-{wc_entity}-{entry.wc_id}", "source": "reconcile", "entity": "{wc_entity}", '
                f'"wc_id": "{entry.wc_id}"}}')
        return (f"aws sqs send-message --queue-url {names.get('PUSH_QUEUE_URL') or '<PUSH_QUEUE_URL>'} "
                f"--message-group-id {wc_entity}#{entry.wc_id} --message-deduplication-id ledger-{entry.wc_id} "
                f"--message-body '{body}'  (the push reads it again; sos-wiz-ops trace {entry.wc_id}{stack_flag})")
    stream = {"customer": "customers", "order": "orders", "invoice": "invoices", "shipment": "shipments"}[kind]
    return (f"save SOS {kind} {entry.sos_id} once in SOS (its window reads it again), then: aws sqs send-message "
            f"--queue-url {names.get('PULL_QUEUE_URL') or '<PULL_QUEUE_URL>'} --message-body "
            f"'{{\"stream\": \"{stream}\"}}'")


def window_start(text: str, now: datetime) -> datetime:
    """`--since` / `--until`: "24h", "7d", "90m" back from now, or an ISO time (UTC unless it says)."""
    units = {"m": "minutes", "h": "hours", "d": "days"}
    text = text.strip()
    if text[:-1].isdigit() and text[-1:] in units:
        return now - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is neither 24h, 7d, 90m nor an ISO time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def summary(entries: Iterable[Entry], *, since: datetime, until: datetime, names: Mapping[str, str],
            stack_flag: str = "") -> dict[str, Any]:
    """The ledger's JSON: counts per entity and class, and every unaccounted record."""
    counts = {entity: dict.fromkeys(CLASSES, 0) for entity in LEDGER_ENTITIES}
    unaccounted = []
    for entry in entries:
        counts[entry.entity][entry.state] += 1
        if entry.state == "unaccounted":
            unaccounted.append({"entity": entry.entity, "wc_id": entry.wc_id, "sos_id": entry.sos_id,
                                "why": entry.why, "fix": fix_command(entry, names, stack_flag)})
    return {"window": {"since": since.isoformat(), "until": until.isoformat()}, "counts": counts,
            "unaccounted": unaccounted}
