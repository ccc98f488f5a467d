"""R-OPS-5 across the deployment: the first sync runs the contract probe on its own before it writes
anything, stores what it settles, and names the result in its run report; an answer fitting neither
reading stops only what needs that row; a throttled probe fails nothing; the probe's SOS calls take
their slots in the deployment's SOS budget at a pull's priority (the first sync's and doctor's); and
warm containers follow a reading stored after they started. On the local stack (template.yaml's
functions on moto, emulators over HTTP) unless a test says otherwise."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import boto3
import pytest
from pull_stack import PullStack, context, pull_stack  # noqa: F401 - fixture
from emulator_clients import emulator_clients
from push_stack import started_push_stack

from local.emulators import SosEmulator, WizEmulator, seed
from sos_wiz_sync.clients.budget import SharedBudget
from sos_wiz_sync.clients.http import build_session
from sos_wiz_sync.clients.sos import SosClient
from sos_wiz_sync.clients.wiz import WizClient
from sos_wiz_sync.ops.doctor import DoctorContext, check_contract, check_sos, check_wiz
from sos_wiz_sync.rules.contract import NEITHER
from sos_wiz_sync.store.budget import BudgetTable
from sos_wiz_sync.store.contract import ContractReadings
from sos_wiz_sync.store.state import SyncState
from sos_wiz_sync.sync import first_sync as first_sync_module
from sos_wiz_sync.sync.report import render_report
from sos_wiz_sync.sync.contract_probe import SOS_CALL_BUDGET, WC_CALL_BUDGET, probe_before_first_sync
from sos_wiz_sync.wiring import ContractFollower, wiz_session


def api_calls(emulator: SosEmulator | WizEmulator) -> dict[str, int]:
    """Requests per endpoint, SOS's token endpoint left out (the probe's calls are the API's)."""
    return {key: n for key, n in emulator.counters().items() if "/oauth2/" not in key}


def calls_between(before: dict[str, int], after: dict[str, int]) -> int:
    return sum(after.values()) - sum(before.values())


class BudgetWaits:
    """Counts the slots SOS requests take in the deployment's budget, per priority (a spy on
    SharedBudget.wait that still takes each slot)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.by_priority: dict[str, int] = {}
        original = SharedBudget.wait

        def wait(budget: SharedBudget) -> None:
            self.by_priority[budget.priority] = self.by_priority.get(budget.priority, 0) + 1
            original(budget)

        monkeypatch.setattr(SharedBudget, "wait", wait)


def test_the_first_sync_probes_the_contract_before_it_writes_within_its_call_budget(pull_stack, monkeypatch,
                                                                                     capsys):
    """Issue 22: the first sync runs the probe on its own (no doctor before it), before any
    write, at most 20 SOS + 20 WizCommerce calls, its SOS calls in the shared budget (pull)."""
    stack: PullStack = pull_stack
    readings = ContractReadings(stack.runtime.ref("StateTable"))
    assert readings.all() == {}
    runtime = stack.in_process(monkeypatch)
    waits = BudgetWaits(monkeypatch)
    seen: dict[str, Any] = {}
    probe = first_sync_module.probe_before_first_sync

    def watched(*args: Any, **kwargs: Any) -> dict[str, Any]:
        sos_before, wiz_before, waits_before = api_calls(stack.sos), api_calls(stack.wiz), dict(waits.by_priority)
        seen["writes_before"] = [key for key in (*sos_before, *wiz_before) if not key.startswith("GET ")]
        result = probe(*args, **kwargs)
        seen["sos"] = calls_between(sos_before, api_calls(stack.sos))
        seen["wiz"] = calls_between(wiz_before, api_calls(stack.wiz))
        seen["pull_slots"] = waits.by_priority.get("pull", 0) - waits_before.get("pull", 0)
        seen["other_slots"] = sum(waits.by_priority.values()) - sum(waits_before.values()) - seen["pull_slots"]
        return result

    monkeypatch.setattr(first_sync_module, "probe_before_first_sync", watched)

    orders = runtime.handle(json.dumps({"stream": "orders"}), context())

    with capsys.disabled():
        print(f"\nthe first sync's contract probe on the local stack: {seen['sos']} SOS calls, "
              f"{seen['wiz']} WizCommerce calls")
    assert seen["writes_before"] == []  # nothing written in either system before the probe
    assert 0 < seen["sos"] <= SOS_CALL_BUDGET == 20 and 0 < seen["wiz"] <= WC_CALL_BUDGET == 20
    # R-CFG-4: every SOS call of the probe took a slot of the deployment's budget, at a pull's priority
    assert seen["pull_slots"] == seen["sos"] and seen["other_slots"] == 0
    first = stack.state.recent_reports("first-sync", limit=1)[0]
    assert first["status"] == "ok" and orders["status"] == "ok"
    probe_result = first["contract"]
    assert (probe_result["sos_calls"], probe_result["wc_calls"]) == (seen["sos"], seen["wiz"])
    assert probe_result["status"] == "ok" and probe_result["neither"] == {}
    assert {"SOS-A4", "WC-A1", "WC-A10"} <= set(probe_result["settled"])
    stored = readings.all()
    assert stored["SOS-A4"]["reading"] == "404" and stored["SOS-A4"]["how"].startswith("GET /item/")
    assert set(probe_result["settled"]) <= set(stored)
    assert f"contract probe: {len(probe_result['settled'])} rows settled" in render_report(first)


def test_an_answer_fitting_neither_reading_stops_only_the_stream_that_needs_it(monkeypatch):
    """SOS-A11 on the payment route: /payment answering 403 is neither a list nor a 404. The first
    sync still completes and names SOS-A11; the payments stream stops with the reason; the others run."""
    push = started_push_stack(monkeypatch, first_sync_done=False,
                              parameters={"ReconciliationLagSeconds": "0", "PaymentRoute": "payment"})
    try:
        stack = PullStack(push)
        stack.sos.inject_5xx(count=None, seconds=600, status=403, method="GET", path="/api/v2/payment")

        customers = stack.run("customers")

        first = stack.state.recent_reports("first-sync", limit=1)[0]
        assert first["status"] == "ok" and stack.state.first_sync_status()["status"] == "done"
        assert list(first["contract"]["neither"]) == ["SOS-A11"] and "403" in first["contract"]["neither"]["SOS-A11"]
        assert ContractReadings(stack.runtime.ref("StateTable")).reading("SOS-A11")["reading"] == NEITHER
        assert customers["status"] == "ok"
        payments = stack.run("payments")
        assert payments["status"] == "stopped" and payments["reason"].startswith("SOS-A11: "), payments
        assert "403" in payments["reason"] and stack.run("orders")["status"] == "ok"
    finally:
        push.stop()


# -- a throttled probe fails nothing -------------------------------------------------------------------
@pytest.fixture
def emulators():
    sos, wiz = SosEmulator(), WizEmulator()
    seed(sos, wiz, items=20, customers=3)
    sos.start()
    wiz.start()
    yield sos, wiz
    sos.stop()
    wiz.stop()


@pytest.mark.parametrize("fault", ["429", "503"])
def test_a_throttle_or_5xx_during_the_probe_leaves_the_rows_as_stored(emulators, make_secret, state_table, fault):
    """SOS-A3/A18: a throttle says nothing about the contract: the probe is reported not finished,
    the rows keep what was stored (safe defaults), nothing is raised into the first sync."""
    sos, wiz = emulators
    store = ContractReadings(state_table)
    store.save("SOS-A4", reading="404", how="earlier", evidence="stored before")
    if fault == "429":
        sos.faults.add("429", method="GET", path="/api/v2/salesorder", count=5)
    else:
        sos.inject_5xx(count=5, method="GET", path="/api/v2/salesorder")

    result = probe_before_first_sync(*emulator_clients(sos, wiz, make_secret, state_table), store,
                                     payment_route="deposit")

    assert result["status"] == "not finished" and fault in result["reason"]
    assert result["sos_calls"] >= 1
    assert store.all() == {"SOS-A4": {**store.reading("SOS-A4"), "how": "earlier"}}


# -- readings reach warm containers --------------------------------------------------------------------
def test_a_warm_pull_container_follows_a_reading_stored_after_it_started(pull_stack, monkeypatch):
    """SOS-A11 stored by doctor after the pull container's cold start: its next run knows /payment
    is there without asking (the emulator has none: the answer can only come from the store)."""
    stack: PullStack = pull_stack
    stack.state.save_first_sync_status({"status": "done", "run_id": "before-the-test"})  # no probe of its own
    runtime = stack.in_process(monkeypatch)  # cold start: nothing stored yet
    ContractReadings(stack.runtime.ref("StateTable")).save(
        "SOS-A11", reading="present", how="GET /payment?maxresults=1", evidence="GET /payment answered a list")

    runtime.handle(json.dumps({"stream": "customers"}), context())

    stack.sos.reset_counters()
    assert runtime.deps.sos.payment_endpoint_available() is True
    assert not any("/payment" in key for key in stack.sos.counters())


def test_the_follower_reads_again_at_most_every_reread_period(state_table, monkeypatch):
    """The push's pace: one Query of the CONTRACT# items per period, not per batch."""
    store = ContractReadings(state_table)
    now = [1000.0]
    wiz = WizClient(base_url="http://127.0.0.1:9", api_key="k", session=wiz_session(1))
    sos = SosClient(base_url="http://127.0.0.1:9", tokens=None, session=build_session(retries=0))
    follower = ContractFollower(store, sos, wiz, reread_seconds=300, clock=lambda: now[0])
    queries = []
    query = store.all
    monkeypatch.setattr(store, "all", lambda: queries.append(1) or query())
    assert follower.follow() == {}
    store.save("WC-A10", reading="one per call", how="GET /v1/products?sku_id=a,b", evidence="400")

    now[0] += 299
    assert follower.follow_if_due() is None and len(queries) == 1
    now[0] += 2
    assert follower.follow_if_due()["WC-A10"]["reading"] == "one per call" and len(queries) == 2


def test_a_warm_push_container_writes_the_price_casing_stored_after_it_started(monkeypatch):
    """SOS-A7 settled (say by doctor) while the push container is warm: its next order is written
    with the account's casing. ContractRereadSeconds 0 here: every batch reads the readings."""
    stack = started_push_stack(monkeypatch)
    try:
        push = stack.runtime.functions["PushFunction"]
        stack.runtime.functions["PushFunction"] = replace(push, environment={
            **push.environment, "CONTRACT_REREAD_SECONDS": "0"})
        items = stack.mapped_items()[:1]
        stack.place_order(items)
        stack.sync()  # the container is warm, SOS-A7 not settled: unitPrice (the safe default)

        stack.sos.configure(line_price_field="unitprice")
        ContractReadings(stack.runtime.ref("StateTable")).save(
            "SOS-A7", reading="unitprice", how="GET /salesorder?maxresults=50", evidence="lines carry unitprice")
        order = stack.place_order(items)
        stack.sync()

        assert [line.get("unitprice") for line in stack.the_sos_order(order)["lines"]] == [12.5]
    finally:
        stack.stop()


# -- doctor's probe in the deployment's SOS budget ----------------------------------------------------------
def test_doctors_probe_takes_its_sos_slots_in_the_shared_budget_at_pull_priority(emulators, make_secret,
                                                                                 state_table, monkeypatch):
    """R-CFG-4: doctor's SOS client paces through the deployment's budget, at a pull's priority and
    at the deployment's SosMaxRps as the budget item holds it (the operator's environment has none)."""
    sos, wiz = emulators
    # the deployment's budget item at SosMaxRps 1000, as its first caller leaves it
    BudgetTable(state_table).take(count=1, rate=1000.0, in_force=1000.0, now=0.0, late=0.0, idle=True, limit=None,
                                  broken=1e12)
    values = {"STATE_TABLE": state_table, "SOS_SECRET_ID": make_secret(sos.credentials()),
              "SOS_TOKEN_URL": f"{sos.url}/oauth2/token", "SOS_API_BASE_URL": f"{sos.url}/api/v2",
              "WIZ_SECRET_ID": make_secret({"api_key": wiz.api_key}), "WIZ_API_BASE_URL": wiz.url}
    ctx = DoctorContext(values=values, secretsmanager=boto3.client("secretsmanager"), sqs=None,
                        state=SyncState(state_table), dead_letter_queues=[], schedules=None)
    waits = BudgetWaits(monkeypatch)
    assert [c.ok for c in check_sos(ctx)] == [True] and [c.ok for c in check_wiz(ctx)] == [True]
    before, pull_before = api_calls(sos), waits.by_priority.get("pull", 0)

    [check] = check_contract(ctx)

    probe_calls = calls_between(before, api_calls(sos))
    assert check.ok, check
    assert 0 < probe_calls <= SOS_CALL_BUDGET
    assert waits.by_priority == {"pull": pull_before + probe_calls}
    budget = SyncState(state_table).sos_budget()
    assert budget.configured == 1000.0 and budget.tail > 0  # slots taken; SosMaxRps left as deployed
