"""Incremental paging of an entity pull under failure and change: a run killed mid-page resumes
from its checkpoint with nothing skipped and nothing created twice; records modified while the
run pages (they move to the end of SOS's ordering) are picked up, each version applied once.
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


def sos_customers_in_wc_once(stack: PullStack) -> None:
    references = stack.wc_references(stack.wiz.customers)
    assert set(references) == {str(customer_id) for customer_id in stack.sos.customers}
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


def test_records_modified_while_the_run_pages_are_picked_up_and_applied_once(many_customers, monkeypatch):
    stack = many_customers
    runtime = stack.in_process(monkeypatch)
    stream = runtime.streams["customers"]
    ordered = sorted(stack.sos.customers.values(), key=lambda c: (c["lastModified"], c["id"]))
    seen_already, not_seen_yet = ordered[3]["id"], ordered[-5]["id"]
    sos, read_page = runtime.deps.sos, runtime.deps.sos.page_after
    pages = 0

    def page_after(resource, cursor, **filters):
        nonlocal pages
        pages += 1
        if pages == 2:  # page 1 is read: one of its customers and a later one change in SOS
            stack.sos.update_customer(seen_already, phone="+1-555-111-1111")
            stack.sos.update_customer(not_seen_yet, phone="+1-555-222-2222")
        return read_page(resource, cursor, **filters)

    monkeypatch.setattr(sos, "page_after", page_after)
    report = runtime.engine.run(stream, context())

    sos_customers_in_wc_once(stack)
    phones = {c["reference_id"]: c["phone"] for c in stack.wiz.customers.values()}
    assert phones[str(seen_already)] == "+1-555-111-1111" and phones[str(not_seen_yet)] == "+1-555-222-2222"
    # The one seen before its edit is seen again (its new version), the other once, at the end
    assert report["seen"] == len(stack.sos.customers) + 1
    # Created once each; the edited one seen already was updated once more, nothing else
    assert stack.wiz.counters()[CREATE] == report["changed"] - 1
    assert stack.wiz.counters()[UPDATE] == 1
    # The next run starts after both: nothing to do
    assert runtime.engine.run(stream, context())["changed"] == 0


def forget_mapping(stack: PullStack, mapping) -> None:
    table = stack.runtime.ref("MappingsTable")
    for key in (f"WC#customer#{mapping.wc_id}", f"SOS#customer#{mapping.sos_id}"):
        boto3.client("dynamodb").delete_item(TableName=table, Key={"pk": {"S": key}, "sk": {"S": "MAP"}})
