"""`sos-wiz-ops doctor` checks that need no network: secrets, what the state table says (first
sync, holds, heartbeats, run reports), schedules and dead-letter queues, each red line with its
fix; and the exit code. The API checks run against the emulators in tests/e2e/test_doctor_checklist.py."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from sos_wiz_sync.clients.sos_auth import SosAuthError, SosTokenManager
from sos_wiz_sync.ops import cli
from sos_wiz_sync.ops.doctor import (
    DoctorContext,
    ScheduleState,
    ScheduleView,
    aws_schedule_view,
    check_changes_arrive,
    check_dead_letters,
    check_first_sync,
    check_last_runs,
    check_ledger,
    check_schedules,
    check_secrets,
    check_sos,
    check_sos_budget,
    wanted_by_parameters,
    doctor,
)
from sos_wiz_sync.ops.render import render_doctor
from sos_wiz_sync.store.budget import BudgetState
from sos_wiz_sync.ops.targets import DeadLetterQueue

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
GOOD_SOS = {"access_token": "a", "refresh_token": "r", "client_id": "c", "client_secret": "s"}
GOOD_WIZ = {"api_key": "k", "webhook_secrets": ["w"]}
VALUES = {"SOS_SECRET_ID": "arn:aws:secretsmanager:us-east-1:1:secret:SosSecret-x", "WIZ_SECRET_ID": "arn:wiz",
          "STATE_TABLE": "state", "PULL_QUEUE_URL": "https://sqs/pull"}


class FakeSecretsManager:
    def __init__(self, secrets: dict[str, str], writable: bool = True):
        self.secrets, self.writable, self.written = secrets, writable, []

    def get_secret_value(self, SecretId: str) -> dict:
        if SecretId not in self.secrets:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "GetSecretValue")
        return {"SecretString": self.secrets[SecretId]}

    def put_secret_value(self, **request) -> None:
        if not self.writable:
            raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "PutSecretValue")
        self.written.append(request)


class FakeState:
    def __init__(self, *, first_sync=None, holds=(), heartbeats=None, reports=(), budget=None, ledger=None):
        self._first_sync, self._holds = first_sync or {}, list(holds)
        self._heartbeats, self._reports = heartbeats or {}, list(reports)
        self._budget, self._ledger = budget, ledger

    def sos_budget(self):
        return self._budget

    def last_ledger(self):
        return self._ledger

    def first_sync_status(self):
        return self._first_sync

    def holds(self):
        return self._holds

    def heartbeats(self):
        return self._heartbeats

    def recent_reports(self, stream=None, limit=10):
        return [r for r in self._reports if stream in (None, r["stream"])][:limit]


class FakeSqs:
    def __init__(self, counts: dict[str, int]):
        self.counts = counts

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict:
        return {"Attributes": {"ApproximateNumberOfMessages": str(self.counts[QueueUrl]),
                               "ApproximateNumberOfMessagesNotVisible": "0"}}


def context(*, secrets=None, state=None, sqs=None, dlqs=(), schedules=None, values=VALUES, stack=None):
    return DoctorContext(values=values, secretsmanager=secrets or FakeSecretsManager({}), sqs=sqs,
                         state=state or FakeState(), dead_letter_queues=list(dlqs), schedules=schedules,
                         stack=stack, now=NOW)


def report(stream: str, status: str = "ok", age: timedelta = timedelta(minutes=20), **fields) -> dict:
    return {"stream": stream, "status": status, "started_at": (NOW - age).isoformat(), "seen": 3, "changed": 1,
            "failed": {}, **fields}


def test_secrets_are_green_when_well_formed_and_red_with_the_put_command_when_not():
    secrets = FakeSecretsManager({VALUES["SOS_SECRET_ID"]: json.dumps(GOOD_SOS),
                                  "arn:wiz": json.dumps({"api_key": "", "webhook_secrets": []})})
    ctx = context(secrets=secrets)
    sos, wiz = check_secrets(ctx)
    assert sos.ok and "SosSecret-x" in sos.detail
    assert not wiz.ok and "api_key" in wiz.detail and "webhook_secrets" in wiz.detail
    assert wiz.fix.startswith("aws secretsmanager put-secret-value --secret-id arn:wiz --secret-string '{")
    assert ctx.problems == {"WIZ_SECRET_ID": "the WizCommerce secret is not usable"}


def test_the_placeholder_secrets_of_a_fresh_deploy_are_red_and_the_api_checks_wait_for_them():
    placeholder = json.dumps(dict.fromkeys(GOOD_SOS, ""))
    secrets = FakeSecretsManager({VALUES["SOS_SECRET_ID"]: placeholder, "arn:wiz": "not json"})
    result = doctor(context(secrets=secrets, schedules=lambda: ScheduleView("test", [])))
    checks = {c["name"]: c for c in result["checks"]}
    assert not result["ok"]
    assert "access_token, refresh_token, client_id, client_secret" in checks["SOS secret"]["detail"]
    assert checks["WizCommerce secret"]["detail"] == "not a JSON object"
    for name in ("SOS answers", "WizCommerce answers"):
        assert not checks[name]["ok"] and checks[name]["detail"].startswith("not checked: the ")
        assert checks[name]["fix"].startswith("fix the red line above")


def test_sos_is_not_refreshed_when_doctor_could_not_store_the_new_token_pair():
    secrets = FakeSecretsManager({VALUES["SOS_SECRET_ID"]: json.dumps(GOOD_SOS)}, writable=False)
    [check] = check_sos(context(secrets=secrets, values={**VALUES, "SOS_TOKEN_URL": "http://127.0.0.1:9/never"}))
    assert not check.ok and "lock the account out" in check.detail
    assert "secretsmanager:PutSecretValue" in check.fix


def test_sos_refresh_comes_after_the_write_probe_and_a_refused_refresh_says_re_authorize(monkeypatch):
    secrets = FakeSecretsManager({VALUES["SOS_SECRET_ID"]: json.dumps(GOOD_SOS)})

    def refused(tokens, rejected: str) -> str:
        assert rejected == "a" and secrets.written, "the probe is written before the refresh token is spent"
        raise SosAuthError("SOS token refresh answered 400")

    monkeypatch.setattr(SosTokenManager, "refresh", refused)
    [check] = check_sos(context(secrets=secrets))
    assert secrets.written == [{"SecretId": VALUES["SOS_SECRET_ID"], "SecretString": "{}",
                                "VersionStages": ["sos-wiz-doctor-probe"]}]  # never AWSCURRENT
    assert not check.ok and "answered 400" in check.detail
    assert check.fix.startswith("authorize the app again in SOS")


@pytest.mark.parametrize("heartbeats, ok", [
    ({}, False),
    ({"webhook": (NOW - timedelta(hours=2)).isoformat()}, True),
    ({"webhook": (NOW - timedelta(days=3)).isoformat()}, False),
    ({"webhook": (NOW - timedelta(days=3)).isoformat(), "wc-change-poll": (NOW - timedelta(minutes=1)).isoformat()},
     True),
    ({"wc-change-poll": (NOW - timedelta(hours=1)).isoformat()}, False),
])
def test_wizcommerce_changes_arrive_by_a_recent_webhook_or_change_poll(heartbeats, ok):
    [check] = check_changes_arrive(context(state=FakeState(heartbeats=heartbeats),
                                           values={**VALUES, "HTTP_API_URL": "https://api.example"}))
    assert check.ok is ok
    if not ok:
        assert "https://api.example/webhooks/wizcommerce" in check.fix


def test_first_sync_missing_running_failed_held_and_done():
    def first_sync(**state) -> tuple[bool, str, str | None]:
        [check] = check_first_sync(context(state=FakeState(**state)))
        return check.ok, check.detail, check.fix

    ok, detail, fix = first_sync()
    assert not ok and detail.startswith("not run yet") and "runs by itself" in fix
    assert """--queue-url https://sqs/pull --message-body '{"stream": "first-sync"}'""" in fix
    assert first_sync(first_sync={"status": "running", "started_at": NOW.isoformat(), "invocations": 2})[2] == \
        "wait a few minutes and run doctor again"
    assert "reports --stream first-sync" in first_sync(first_sync={"status": "failed"})[2]
    ok, detail, fix = first_sync(first_sync={"status": "done", "finished_at": NOW.isoformat()}, holds=[
        {"entity": "customer", "side": "sos", "record_id": "12"}, {"entity": "customer", "side": "wc", "record_id": "c9"}])
    assert not ok and "2 record(s) wait for a person" in detail and "customer sos 12, customer wc c9" in detail
    assert "Reference ID" in fix and "first_sync release" in fix
    assert first_sync(first_sync={"status": "done", "finished_at": NOW.isoformat()})[:2] == (
        True, "done 2026-11-30T12:00:00, nothing held")


def test_schedules_disabled_against_the_parameters_are_red_those_off_by_parameter_green():
    view = ScheduleView("test", [ScheduleState("s-inventory", "inventory", True, True),
                                 ScheduleState("s-products", "products", False, False)])
    ctx = context(schedules=lambda: view)
    [check] = check_schedules(ctx)
    assert check.ok and check.detail == "1 of 2 enabled (test); off by parameter: products"
    assert ctx.scheduled_streams == ["inventory"]

    view.schedules.append(ScheduleState("s-orders", "orders", False, True))
    [check] = check_schedules(context(schedules=lambda: view))
    assert not check.ok and "s-orders" in check.detail and "Enable" in check.fix

    [check] = check_schedules(context(schedules=None))
    assert not check.ok and check.fix == "sos-wiz-ops doctor --stack <stack name>"


def test_aws_schedule_view_reads_the_stacks_schedules_and_parameters():
    cloudformation = SimpleNamespace(
        describe_stacks=lambda StackName: {"Stacks": [{"Parameters": [
            {"ParameterKey": "EnableProductsPull", "ParameterValue": "false"},
            {"ParameterKey": "EnableOrdersPull", "ParameterValue": "true"}]}]},
        describe_stack_resources=lambda StackName: {"StackResources": [
            {"ResourceType": "AWS::Scheduler::Schedule", "PhysicalResourceId": "st-Orders-1"},
            {"ResourceType": "AWS::Scheduler::Schedule", "PhysicalResourceId": "st-Products-1"},
            {"ResourceType": "AWS::SQS::Queue", "PhysicalResourceId": "https://sqs/q"}]})
    found = {"st-Orders-1": {"State": "DISABLED", "Target": {"Input": '{"stream": "orders"}'}},
             "st-Products-1": {"State": "DISABLED", "Target": {"Input": '{"stream": "products"}'}}}
    scheduler = SimpleNamespace(get_schedule=lambda Name: found[Name])
    view = aws_schedule_view(cloudformation, scheduler, "st")
    assert view.schedules == [ScheduleState("st-Orders-1", "orders", False, True),
                              ScheduleState("st-Products-1", "products", False, False)]


def test_dead_letter_queues_count_and_name_the_retry_command():
    dlqs = [DeadLetterQueue("push", "dlq-push", "q-push"), DeadLetterQueue("pull", "dlq-pull", "q-pull")]
    [check] = check_dead_letters(context(sqs=FakeSqs({"dlq-push": 0, "dlq-pull": 0}), dlqs=dlqs))
    assert check.ok and check.detail == "empty (push 0, pull 0)"
    [check] = check_dead_letters(context(sqs=FakeSqs({"dlq-push": 2, "dlq-pull": 0}), dlqs=dlqs, stack="prod"))
    assert not check.ok and check.fix == ("sos-wiz-ops failures --queue push --stack prod says why; after the fix: "
                                          "sos-wiz-ops retry --all --queue push --stack prod")


def test_the_last_run_of_every_scheduled_stream_with_its_age():
    state = FakeState(reports=[report("inventory"), report("customers", "blocked", reason="first sync"),
                               report("orders", "failed-records"), report("invoices", age=timedelta(hours=5))])
    ctx = context(state=state)
    ctx.scheduled_streams = ["inventory", "customers", "orders", "invoices", "payments"]
    checks = {c.name: c for c in check_last_runs(ctx)}
    assert checks["last run: inventory"].ok and checks["last run: inventory"].detail.startswith("ok 20 min ago")
    assert "blocked: first sync" in checks["last run: customers"].detail
    assert "reports --stream orders" in checks["last run: orders"].fix
    assert "older than 3 h" in checks["last run: invoices"].detail
    assert checks["last run: payments"].detail == "never ran"
    assert """'{"stream": "payments"}'""" in checks["last run: payments"].fix


def test_the_ledger_schedule_is_no_stream_to_find_a_run_report_of_and_follows_enable_ledger():
    ctx = context(schedules=lambda: ScheduleView("test", [
        ScheduleState("s-inventory", "inventory", True, True), ScheduleState("s-ledger", "ledger", True, True)]))
    list(check_schedules(ctx))
    ctx.state = FakeState(reports=[report("inventory")])
    assert [c.name for c in check_last_runs(ctx)] == ["last run: inventory"]
    assert not wanted_by_parameters("ledger", {"EnableLedger": "false"})
    assert wanted_by_parameters("ledger", {"EnableLedgerPull": "false"})


def ledger(unaccounted: int, age: timedelta = timedelta(hours=2)) -> dict:
    return {"ran_at": (NOW - age).isoformat(), "unaccounted_count": unaccounted,
            "window": {"since": "2025-02-28T10:00:00+00:00", "until": "2025-03-01T11:00:00+00:00"},
            "counts": {"wc_to_sos.order": {"synced": 40, "unaccounted": unaccounted}}}


def test_doctor_shows_the_last_ledger_in_one_line_red_when_anything_was_unaccounted():
    [check] = check_ledger(context(state=FakeState(ledger=ledger(0))))
    assert check.ok and check.detail.startswith("0 unaccounted of 40 records, 2 h ago")
    [check] = check_ledger(context(state=FakeState(ledger=ledger(3)), stack="prod"))
    assert not check.ok and check.detail.startswith("3 unaccounted of 43 records")
    assert check.fix.startswith("sos-wiz-ops ledger --since 24h --stack prod")
    [check] = check_ledger(context(state=FakeState(ledger=ledger(0, timedelta(hours=30)))))
    assert not check.ok and "older than 26 h" in check.detail
    [check] = check_ledger(context(state=FakeState()))
    assert check.ok and check.detail.startswith("none yet")


def test_without_schedules_the_streams_that_ran_are_looked_at():
    ctx = context(state=FakeState(reports=[report("inventory"), report("first-sync")]))
    assert [c.name for c in check_last_runs(ctx)] == ["last run: inventory"]


def test_a_check_that_raises_is_one_red_line_and_the_others_still_run():
    class Broken(FakeState):
        def heartbeats(self):
            raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "GetItem")

    result = doctor(context(state=Broken(), schedules=lambda: ScheduleView("test", [])))
    checks = {c["name"]: c for c in result["checks"]}
    assert "AccessDeniedException" in checks["WizCommerce changes arrive"]["detail"]
    assert "first sync" in checks and "dead-letter queues" in checks


def test_render_says_all_green_or_lists_each_fix_under_its_red_line():
    green = {"ok": True, "checks": [{"name": "a", "ok": True, "detail": "fine", "fix": None}]}
    assert render_doctor(green).splitlines() == ["ok    a  fine", "", "all green"]
    red = {"ok": False, "checks": [{"name": "a", "ok": False, "detail": "broken", "fix": "do x"}]}
    assert render_doctor(red).splitlines()[:2] == ["FAIL  a  broken", "         fix: do x"]
    assert "\033[31m" in render_doctor(red, color=True)


def test_doctor_exits_0_only_when_all_is_green(monkeypatch, capsys):
    outcome = {"ok": False, "checks": [{"name": "a", "ok": False, "detail": "d", "fix": "f"}]}
    monkeypatch.setattr("sos_wiz_sync.ops.doctor.doctor", lambda ctx: outcome)
    monkeypatch.setattr(cli, "SyncState", lambda table: FakeState())  # no DynamoDB client made here
    environ = {"STATE_TABLE": "state"}
    assert cli.main(["doctor", "--json"], environ=environ) == 1
    assert json.loads(capsys.readouterr().out) == outcome
    outcome.update(ok=True, checks=[{"name": "a", "ok": True, "detail": "d", "fix": None}])
    assert cli.main(["doctor"], environ=environ) == 0
    assert "all green" in capsys.readouterr().out


def test_the_sos_budget_line_shows_the_rate_in_force_and_the_throttles_that_lowered_it():
    """R-CFG-4: the deployment's SOS rate in force, as every function computes it from the shared
    budget item: lowered to 1.4 by a throttle at 2.0 three minutes ago, raised by quiet periods
    since towards 0.9 × 2.0 (clients/budget.py in_force)."""
    lowered_at = (NOW - timedelta(minutes=3)).timestamp()
    budget = BudgetState(tail=0, rate=1.4, configured=2.0, lowered_at=lowered_at, throttles=3, ceiling=2.0)
    [line] = check_sos_budget(context(state=FakeState(budget=budget)))
    assert line.ok and line.detail.startswith("rate in force 1.79/s of 2/s") and "3 throttle(s), last 3 min ago" in line.detail
    [unused] = check_sos_budget(context(state=FakeState()))
    assert unused.ok and "not used yet" in unused.detail
