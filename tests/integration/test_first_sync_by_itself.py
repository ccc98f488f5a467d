"""The first sync runs by itself (R-TIME-2, issue 15): the first scheduled entity run that finds
it not done runs it first, one at a time under its lease; holds still wait for a person. On the
local runtime (template.yaml's PullFunction fed by its schedules), emulators over HTTP."""

from __future__ import annotations

import json

from pull_stack import PullStack, pull_stack  # noqa: F401 - fixture

from sos_wiz_sync.store.leases import Leases
from sos_wiz_sync.sync.report import render_report

SHARED_EMAIL = "twins@shared.example"


def test_the_first_entity_run_runs_the_first_sync_then_itself_and_holds_wait(pull_stack):
    stack: PullStack = pull_stack
    twins = [stack.sos.create_customer(name=f"Twin {n}", email=SHARED_EMAIL) for n in (1, 2)]
    wc_twin = stack.wiz.create_customer(name="Twin", email=SHARED_EMAIL)
    stack.push.new_events()  # made before the integration: its webhook never reached us
    assert stack.state.first_sync_status() == {}

    # When the orders schedule fires on a stack whose first sync never ran
    orders = stack.run("orders")

    # Then the first sync ran first, in that run, and the stream ran after it
    first = stack.state.recent_reports("first-sync", limit=1)[0]
    assert first["status"] == "ok" and stack.state.first_sync_status()["status"] == "done"
    assert orders["status"] == "ok" and orders["started_at"] > first["finished_at"]
    # ... holding what it could not decide, listed in its run report
    assert [(a["sos_ids"], a["wc_ids"]) for a in first["ambiguous"]] == [
        ([str(twins[0]["id"]), str(twins[1]["id"])], [wc_twin["id"]])]
    assert f"WC {wc_twin['id']}" in render_report(first) and "held (ambiguous)" in render_report(first)
    assert len(stack.state.holds()) == 3

    # When the next entity runs come, the first sync is not run again; the holds still wait
    customers = stack.run("customers")
    assert customers["skipped"] == {"held-ambiguous-first-sync-match": 4}  # each twin: kept pending, and paged
    assert [r["run_id"] for r in stack.state.recent_reports("first-sync", limit=5)] == [first["run_id"]]
    assert all(c.get("reference_id") not in (str(twins[0]["id"]), str(twins[1]["id"]))
               for c in stack.wiz.customers.values())


def test_one_at_a_time_a_run_that_finds_the_first_sync_running_elsewhere_waits(pull_stack):
    stack: PullStack = pull_stack
    leases = Leases(stack.runtime.ref("StateTable"))
    assert leases.acquire("stream#first-sync", "another-invocation", 600)  # the first sync runs elsewhere

    customers = stack.run("customers")

    assert customers["status"] == "blocked" and "first sync" in customers["reason"]
    assert stack.state.recent_reports("first-sync", limit=1) == []  # not run twice at once
    assert stack.wiz.customers and not any(c.get("reference_id") == "8" for c in stack.wiz.customers.values())

    # Once the lease is free, the next scheduled run runs it
    leases.release("stream#first-sync", "another-invocation")
    assert stack.run("customers")["status"] == "ok"
    assert stack.state.first_sync_status()["status"] == "done"
