"""Incremental paging of an entity pull under failure and change: a run killed mid-page resumes
from its checkpoint with nothing skipped and nothing created twice; records modified while the
run pages (rows shift under the offset pager) are picked up by the run or by the next run's
overlapping window, each version applied once (its syncToken).
In this process (the runtime the pull function builds), with 20-row SOS pages to keep it small."""

from __future__ import annotations

from dataclasses import replace

import threading

import boto3
import pytest

from pull_stack import PullStack, context, pull_stack  # noqa: F401 - fixture
from sos_wiz_sync.clients import sos as sos_client
from sos_wiz_sync.store.leases import Leases
from sos_wiz_sync.sync.engine import SyncEngine

PAGE = 20
BULK = 50
CREATE = "POST /v1/customers"
UPDATE = "PATCH /v1/customers/{id}"


class Killed(BaseException):
    """Stands for the Lambda being killed: not an Exception, nothing may handle it."""


@pytest.fixture
def many_customers(pull_stack: PullStack, monkeypatch: pytest.MonkeyPatch) -> PullStack:
    monkeypatch.setattr(sos_client, "PAGE_SIZE", PAGE)
    for n in range(BULK):
        pull_stack.sos.create_customer(name=f"Bulk Buyer {n}", email=f"bulk{n}@example.com")
    pull_stack.first_sync()
    pull_stack.wiz.reset_counters()
    return pull_stack


def sos_customers_in_wc_once(stack: PullStack, archived: frozenset[int] = frozenset()) -> None:
    """Every SOS customer is in WC once, except those archived before they ever got there."""
    references = stack.wc_references(stack.wiz.customers)
    assert set(references) == {str(customer_id) for customer_id in stack.sos.customers if customer_id not in archived}
    assert set(references.values()) == {1}


def test_a_run_killed_mid_page_resumes_with_nothing_skipped_or_created_twice(many_customers, monkeypatch):
    stack = many_customers
    not_in_wc = len(stack.sos.customers) - len(stack.wc_references(stack.wiz.customers))
    runtime = stack.in_process(monkeypatch)
    stream = runtime.streams["customers"]
    # One page in flight: page 1 is settled and checkpointed before page 3 is planned.
    engine = SyncEngine(sos=runtime.deps.sos, wiz=runtime.deps.wiz, state=runtime.deps.state,
                        leases=Leases(stack.runtime.ref("StateTable")), continue_run=lambda *_: None,
                        concurrency=8, time_reserve_ms=0, pages_in_flight=1)
    pages, page_2, died = 0, [], threading.Event()

    def plan(prepared, rows, counts):
        nonlocal pages
        pages += 1
        if pages == 3:  # the process dies while page 2's writes are in flight
            died.set()
            raise Killed()
        writes = stream.plan(prepared, rows, counts)
        if pages == 2:
            page_2.extend(write.record_id for write in writes)
        return writes

    def send(prepared, write):
        if write.record_id in page_2[5:]:  # page 2: five writes get through, the others never do
            died.wait(10)
            raise Killed()
        return stream.send(prepared, write)

    with pytest.raises(Killed):
        engine.run(replace(stream, plan=plan, send=send), context())
    killed = stack.state.load_stream("customers")["run"]
    assert killed["counts"]["seen"] == PAGE  # page 1 checkpointed, page 2 half written
    # ... and one of page 2's customers created in WC, but its mapping lost with the process
    lost = stack.mappings.by_sos("customer", page_2[0])
    forget_mapping(stack, lost)

    report = engine.run(stream, context())

    assert report["run_id"] == killed["run_id"] and report["invocations"] == 2
    sos_customers_in_wc_once(stack)
    assert stack.wiz.counters()[CREATE] == not_in_wc  # each missing customer created exactly once
    assert stack.mappings.by_sos("customer", lost.sos_id).wc_id == lost.wc_id  # adopted, not re-created


def test_records_created_edited_and_archived_while_the_run_pages_are_applied_once(many_customers, monkeypatch):
    stack = many_customers
    runtime = stack.in_process(monkeypatch)
    stream = runtime.streams["customers"]
    ordered = sorted(stack.sos.customers.values(), key=lambda c: (c["_modified"], c["id"]))  # SOS's row order
    seen_already, not_seen_yet, archived = ordered[3]["id"], ordered[-5]["id"], ordered[-8]["id"]
    sos, read_page = runtime.deps.sos, runtime.deps.sos.page
    pages, created = 0, []

    def page(resource, cursor, **filters):
        nonlocal pages
        pages += 1
        if pages == 2:  # page 1 is read: customers change in SOS while the run pages
            stack.sos.update_customer(seen_already, phone="+1-555-111-1111")  # rows shift left
            stack.sos.update_customer(not_seen_yet, phone="+1-555-222-2222")
            stack.sos.archive_record("customer", archived)
            created.append(stack.sos.create_customer(name="Arrived Mid-Run", email="mid@example.com")["id"])
        return read_page(resource, cursor, **filters)

    monkeypatch.setattr(sos, "page", page)
    stack.sos.advance_clock(2)  # the run starts a clear second after the first sync
    report = runtime.engine.run(stream, context())

    # Nothing skipped: every customer is in WC once, the late ones with their new values; the
    # one archived before it reached WC is not created (R-CUS-3 skips archived SOS customers).
    sos_customers_in_wc_once(stack, archived=frozenset({archived}))
    phones = {c["reference_id"]: c["phone"] for c in stack.wiz.customers.values()}
    assert phones[str(not_seen_yet)] == "+1-555-222-2222" and str(created[0]) in phones
    # Each row handed on once within the run; the one read before its edit waits for the window.
    assert report["seen"] == len(stack.sos.customers)
    assert phones[str(seen_already)] != "+1-555-111-1111"

    # The next run's window reaches back before this run's start: it reads what changed while
    # this one paged, and applies only what is new (the syncToken on each mapping).
    stack.wiz.reset_counters()
    again = runtime.engine.run(stream, context())
    phones = {c["reference_id"]: c["phone"] for c in stack.wiz.customers.values()}
    assert phones[str(seen_already)] == "+1-555-111-1111"
    assert again["seen"] >= 4 and again["changed"] == 1
    assert stack.wiz.counters().get(UPDATE, 0) == 1 and stack.wiz.counters().get(CREATE, 0) == 0
    # ... and a third run, still overlapping those edits, applies nothing twice.
    assert runtime.engine.run(stream, context())["changed"] == 0


def forget_mapping(stack: PullStack, mapping) -> None:
    table = stack.runtime.ref("MappingsTable")
    for key in (f"WC#customer#{mapping.wc_id}", f"SOS#customer#{mapping.sos_id}"):
        boto3.client("dynamodb").delete_item(TableName=table, Key={"pk": {"S": key}, "sk": {"S": "MAP"}})
