"""`sos-wiz-ops doctor`: is this deployment set up and healthy? One line per check, in the order
an operator sets the stack up, each red one with the exact command or console step that fixes it.

    secrets present and well formed → SOS answers (token refreshed) → WizCommerce answers → the
    contract probe (R-OPS-5: which reading of each assumption this account follows) → SOS
    quantity hook subscribed → WizCommerce changes arrive → first sync done, nothing held →
    schedules enabled → dead-letter queues empty → the last run of every scheduled stream →
    the last ledger (R-OPS-4: did everything get through?)

Every check runs even when an earlier one failed (an unusable secret makes the API checks red
with "fix the secret first"), so one run lists everything that is missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.exceptions import BotoCoreError, ClientError

from ..clients.budget import BudgetPolicy, in_force
from ..clients.http import ApiError, Pacer, build_session
from ..clients.sos import SosClient
from ..clients.sos_auth import SosAuthError, SosCredentials, SosTokenManager
from ..clients.wiz import WizClient
from ..config import SosApiSettings, WizApiSettings
from ..hook.subscriptions import hook_url, list_subscriptions
from ..secrets import SecretStore
from ..store.contract import ContractReadings
from ..store.mappings import Mappings
from ..store.leases import Leases
from ..store.state import WC_CHANGE_POLL_HEARTBEAT, WEBHOOK_HEARTBEAT, SyncState
from ..sync.contract_probe import run_probe
from ..wiring import build_wiz_client, sos_pacer
from .targets import DeadLetterQueue

# A version of SosSecret staged only with this label (never AWSCURRENT), holding "{}": writing it
# proves doctor may write the secret back before it spends SOS's single-use refresh token.
WRITE_PROBE_STAGE = "sos-wiz-doctor-probe"
# The WC change poll runs every minute; webhooks come only when something changes in WizCommerce.
POLL_FRESH = timedelta(minutes=10)
WEBHOOK_FRESH = timedelta(hours=24)
# The pull schedules fire every 2 hours (PullScheduleExpression); a run older than this was missed.
RUN_FRESH = timedelta(hours=3)
FIRST_SYNC_STREAM = "first-sync"
LEDGER_JOB = "ledger"  # scheduled like a stream ({"stream": "ledger"}); its result is the ledger line
LEDGER_FRESH = timedelta(hours=26)  # daily (LedgerScheduleExpression), with room for a late run
SOS_SECRET_TEMPLATE = '{"access_token":"…","refresh_token":"…","client_id":"…","client_secret":"…"}'
WIZ_SECRET_TEMPLATE = '{"api_key":"…","webhook_secrets":["…"]}'


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None  # what turns a red line green: a command to run or a console step


@dataclass(frozen=True)
class ScheduleState:
    name: str
    stream: str | None  # the {"stream"} its target sends, None for another kind of target
    enabled: bool
    wanted: bool        # what the stack's parameters ask for (Enable<Stream>Pull)


@dataclass(frozen=True)
class ScheduleView:
    source: str  # who was asked: EventBridge Scheduler, or the local runner
    schedules: list[ScheduleState]


@dataclass
class DoctorContext:
    """What the checks read. `values`: the stack's names and the pull function's environment
    (targets.py); `schedules`: how to ask for the schedules, None when no stack was named."""

    values: Mapping[str, str]
    secretsmanager: Any
    sqs: Any
    state: SyncState
    dead_letter_queues: list[DeadLetterQueue]
    schedules: Callable[[], ScheduleView] | None
    stack: str | None = None
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # filled by the checks for the ones after them
    sos: SosClient | None = None
    wiz: WizClient | None = None
    problems: dict[str, str] = field(default_factory=dict)  # check name → why later ones cannot run
    scheduled_streams: list[str] | None = None

    def name(self, variable: str) -> str:
        """A resource name for a fix command: the real one when known, else a placeholder."""
        return self.values.get(variable) or f"<{variable}>"

    @property
    def stack_flag(self) -> str:
        return f" --stack {self.stack}" if self.stack else ""


class Unusable(Exception):
    """A check cannot run because an earlier one failed; the message says which."""


def doctor(ctx: DoctorContext) -> dict[str, Any]:
    checks: list[Check] = []
    for run in CHECKS:
        checks.extend(_guarded(run, ctx))
    return {"ok": all(check.ok for check in checks), "checks": [asdict(check) for check in checks]}


def _guarded(run: Callable[[DoctorContext], Iterator[Check]], ctx: DoctorContext) -> list[Check]:
    """A check that raises is a red line saying why, never a crash that hides the others."""
    name = CHECK_NAMES[run]
    try:
        return list(run(ctx))
    except Unusable as reason:
        return [Check(name, False, f"not checked: {reason}", f"fix the red line above ({reason.args[0]}) first")]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        return [Check(name, False, f"AWS refused: {code}: {exc}",
                      "run doctor with credentials that may read the stack (README, 'Operating it': permissions)")]
    except (BotoCoreError, requests.RequestException, ApiError, ValueError) as exc:
        return [Check(name, False, f"could not check: {type(exc).__name__}: {exc}",
                      "see the error; run `sos-wiz-ops doctor` again once it is fixed")]


# -- 1. secrets ---------------------------------------------------------------------------------
def _secret(ctx: DoctorContext, variable: str) -> tuple[str, dict[str, Any]]:
    secret_id = ctx.values.get(variable)
    if not secret_id:
        raise ValueError(f"{variable} is not known: pass --stack or export {variable}")
    text = ctx.secretsmanager.get_secret_value(SecretId=secret_id).get("SecretString") or ""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    return secret_id, value if isinstance(value, dict) else {}


def sos_secret_problems(value: Mapping[str, Any]) -> list[str]:
    missing = [key for key in SosCredentials.model_fields if not str(value.get(key) or "").strip()]
    return [f"empty or missing: {', '.join(missing)}"] if missing else []


def wiz_secret_problems(value: Mapping[str, Any]) -> list[str]:
    problems = [] if str(value.get("api_key") or "").strip() else ["api_key is empty or missing"]
    secrets = value.get("webhook_secrets")
    if not isinstance(secrets, list) or not any(isinstance(s, str) and s.strip() for s in secrets):
        problems.append("webhook_secrets holds no secret (WizCommerce's webhooks would all be refused)")
    return problems


def check_secrets(ctx: DoctorContext) -> Iterator[Check]:
    for name, variable, problems_of, template in (
            ("SOS secret", "SOS_SECRET_ID", sos_secret_problems, SOS_SECRET_TEMPLATE),
            ("WizCommerce secret", "WIZ_SECRET_ID", wiz_secret_problems, WIZ_SECRET_TEMPLATE)):
        fix = (f"aws secretsmanager put-secret-value --secret-id {ctx.name(variable)} "
               f"--secret-string '{template}'")
        try:
            secret_id, value = _secret(ctx, variable)
        except ClientError as exc:
            ctx.problems[variable] = f"the {name} cannot be read"
            yield Check(name, False, f"cannot be read: {exc.response.get('Error', {}).get('Code')}", fix)
            continue
        problems = problems_of(value) if value else ["not a JSON object"]
        if problems:
            ctx.problems[variable] = f"the {name} is not usable"
            yield Check(name, False, "; ".join(problems), fix)
        else:
            yield Check(name, True, f"well formed ({secret_id.rsplit(':', 1)[-1]})")


# -- 2. SOS --------------------------------------------------------------------------------------
def _settings(ctx: DoctorContext, model: type) -> Any:
    """The pull function's settings from `values` (field names are the variables, lower-cased)."""
    return model(**{name: ctx.values[name.upper()] for name in model.model_fields if ctx.values.get(name.upper())})


def _secret_store(ctx: DoctorContext) -> SecretStore:
    return SecretStore(SecretsProvider(boto3_client=ctx.secretsmanager))


def check_sos(ctx: DoctorContext) -> Iterator[Check]:
    if "SOS_SECRET_ID" in ctx.problems:
        raise Unusable(ctx.problems["SOS_SECRET_ID"])
    api = _settings(ctx, SosApiSettings)
    secrets = _secret_store(ctx)
    fix_secret = (f"authorize the app again in SOS and put the new pair: aws secretsmanager put-secret-value "
                  f"--secret-id {ctx.name('SOS_SECRET_ID')} --secret-string '{SOS_SECRET_TEMPLATE}'")
    try:  # SOS refresh tokens work once: never spend one without being able to store the next
        ctx.secretsmanager.put_secret_value(SecretId=api.sos_secret_id, SecretString="{}",
                                            VersionStages=[WRITE_PROBE_STAGE])
    except ClientError as exc:
        ctx.problems["SOS"] = "doctor may not write the SOS secret"
        yield Check("SOS answers", False,
                    f"not tried: doctor may not write SosSecret ({exc.response.get('Error', {}).get('Code')}), and "
                    "a refresh it could not store would lock the account out",
                    f"run doctor with credentials allowed secretsmanager:PutSecretValue on {api.sos_secret_id}")
        return
    tokens = SosTokenManager(secret_id=api.sos_secret_id, token_url=api.sos_token_url, secrets=secrets,
                             leases=Leases(ctx.values["STATE_TABLE"]), session=build_session(retries=3),
                             timeout=api.http_timeout_seconds,
                             first_use=ContractReadings(ctx.values["STATE_TABLE"]).record_first_use)  # SOS-A1
    try:
        tokens.refresh(tokens.access_token())
    except (SosAuthError, requests.RequestException, KeyError, ValueError) as exc:
        ctx.problems["SOS"] = "the SOS token does not refresh"
        yield Check("SOS answers", False, f"the token refresh at {api.sos_token_url} failed: {exc}", fix_secret)
        return
    pacer = doctor_sos_pacer(ctx, api)
    sos = SosClient(base_url=api.sos_api_base_url, tokens=tokens, session=build_session(retries=3, pacer=pacer),
                    pacer=pacer, timeout=api.http_timeout_seconds)
    try:
        sos.request("GET", "/location", params={"maxresults": 1})
    except ApiError as exc:
        ctx.problems["SOS"] = "SOS does not answer"
        yield Check("SOS answers", False, f"token refreshed, but GET /location answered {exc.status}: {exc.message}",
                    fix_secret if exc.status in (401, 403) else f"check SOS_API_BASE_URL ({api.sos_api_base_url})")
        return
    except requests.RequestException as exc:
        ctx.problems["SOS"] = "SOS does not answer"
        yield Check("SOS answers", False, f"{api.sos_api_base_url} unreachable: {type(exc).__name__}",
                    f"check SOS_API_BASE_URL ({api.sos_api_base_url}) and the network")
        return
    ctx.sos = sos
    yield Check("SOS answers", True, "token refreshed (the new pair is stored), GET /location answered")


def doctor_sos_pacer(ctx: DoctorContext, api: SosApiSettings) -> Pacer:
    """Doctor's SOS calls (the contract probe's among them) take their slots in the deployment's
    SOS budget (R-CFG-4) at a pull's priority: pushes go first. At the deployment's SosMaxRps as
    the budget item holds it, so an operator's environment without it leaves the shared rate alone."""
    budget = ctx.state.sos_budget()
    rate = budget.configured if budget else api.sos_max_rps
    return sos_pacer(api.model_copy(update={"sos_priority": "pull", "sos_max_rps": rate}), ctx.values["STATE_TABLE"])


def check_sos_budget(ctx: DoctorContext) -> Iterator[Check]:
    """The deployment's SOS rate in force (R-CFG-4): throttled answers lower it, quiet raises it
    (by the clock: computed from the item as every function computes it)."""
    budget = ctx.state.sos_budget()
    if budget is None:
        yield Check("SOS request budget", True, "not used yet: no function has called SOS")
        return
    lowered = (f", last {_ago(ctx.now, datetime.fromtimestamp(budget.lowered_at, timezone.utc))}"
               if budget.lowered_at else "")
    yield Check("SOS request budget", True,
                f"rate in force {in_force(BudgetPolicy(budget.configured), budget, ctx.now.timestamp()):.2f}/s of {budget.configured:g}/s (SosMaxRps, shared by every "
                f"function); lowered by {budget.throttles} throttle(s){lowered}")


# -- 3. WizCommerce ------------------------------------------------------------------------------
def check_wiz(ctx: DoctorContext) -> Iterator[Check]:
    if "WIZ_SECRET_ID" in ctx.problems:
        raise Unusable(ctx.problems["WIZ_SECRET_ID"])
    api = _settings(ctx, WizApiSettings)
    wiz: WizClient = build_wiz_client(api, secrets=_secret_store(ctx))
    try:
        wiz.request("GET", "/v1/products", params={"page": 1, "page_size": 1})
    except ApiError as exc:
        fix = (f"put a valid API key: aws secretsmanager put-secret-value --secret-id {ctx.name('WIZ_SECRET_ID')} "
               f"--secret-string '{WIZ_SECRET_TEMPLATE}'" if exc.status in (401, 403)
               else f"check WIZ_API_BASE_URL ({api.wiz_api_base_url})")
        yield Check("WizCommerce answers", False, f"GET /v1/products answered {exc.status}: {exc.message}", fix)
        return
    except requests.RequestException as exc:
        yield Check("WizCommerce answers", False, f"{api.wiz_api_base_url} unreachable: {type(exc).__name__}",
                    f"check WIZ_API_BASE_URL ({api.wiz_api_base_url}) and the network")
        return
    ctx.wiz = wiz
    yield Check("WizCommerce answers", True, "the API key is accepted (GET /v1/products)")


# -- 3b. the contract: which reading of each assumption this account follows (R-OPS-5) -----------
def check_contract(ctx: DoctorContext) -> Iterator[Check]:
    if ctx.sos is None or ctx.wiz is None:
        raise Unusable(ctx.problems.get("SOS") if ctx.sos is None else "WizCommerce does not answer")
    sos_before, wiz_before = ctx.sos.calls.count, ctx.wiz.calls.count
    mappings = Mappings(ctx.values["MAPPINGS_TABLE"]) if ctx.values.get("MAPPINGS_TABLE") else None  # WC-A15
    readings = run_probe(ctx.sos, ctx.wiz, ContractReadings(ctx.values["STATE_TABLE"]),
                         payment_route=ctx.values.get("PAYMENT_ROUTE") or "deposit", now=ctx.now, mappings=mappings)
    cost = f"{ctx.sos.calls.count - sos_before} SOS + {ctx.wiz.calls.count - wiz_before} WizCommerce calls"
    neither = [r for r in readings if r.neither]
    open_rows = [r.id for r in readings if r.reading is None]
    if neither:
        yield Check("contract", False, "; ".join(f"{r.id} fits neither reading: {r.evidence}" for r in neither),
                    f"the streams that need {', '.join(r.id for r in neither)} stop until it is understood: compare "
                    f"with ../shared/api (Assumptions index); sos-wiz-ops doctor --contract{ctx.stack_flag} lists all")
        return
    settled = len(readings) - len(open_rows)
    yield Check("contract", True, f"{settled} of {len(readings)} probe rows settled ({cost})"
                + (f"; not settled yet (safe default): {', '.join(open_rows)}" if open_rows else "")
                + f"; sos-wiz-ops doctor --contract{ctx.stack_flag} shows each")


# -- 4. SOS quantity hook ----------------------------------------------------------------------
def check_hook(ctx: DoctorContext) -> Iterator[Check]:
    hook_secret = ctx.values.get("SOS_HOOK_SECRET_ID")
    if not hook_secret:
        yield Check("SOS quantity hook", True, "off (EnableInventoryHook=false): the pull alone keeps inventory")
        return
    if ctx.sos is None:
        raise Unusable(ctx.problems.get("SOS", "SOS does not answer"))
    api_url = ctx.values.get("HTTP_API_URL")
    if not api_url:
        raise ValueError("HTTP_API_URL is not known: pass --stack (its HttpApiUrl output)")
    _, token = _secret(ctx, "SOS_HOOK_SECRET_ID")
    url = hook_url(api_url, str(token.get("token") or ""))
    ours = list_subscriptions(ctx.sos, url)
    current = [hook for hook in ours if hook.postUri == url and hook.enabled]
    if current:
        stale = len(ours) - len(current)
        yield Check("SOS quantity hook", True, f"subscribed to this stack (hook {current[0].id})"
                    + (f"; {stale} stale subscription(s) left" if stale else ""))
        return
    why = f"{len(ours)} subscription(s) on our route, none with the current token and enabled" if ours \
        else f"SOS sends item.quantity_updated nowhere on {api_url}"
    yield Check("SOS quantity hook", False, why,
                f"SOS_SECRET_ID={ctx.name('SOS_SECRET_ID')} SOS_HOOK_SECRET_ID={hook_secret} "
                f"STATE_TABLE={ctx.name('STATE_TABLE')} python -m sos_wiz_sync.hook.subscriptions subscribe "
                f"--api-url {api_url}")


# -- 5. WizCommerce changes arrive ----------------------------------------------------------------
def check_changes_arrive(ctx: DoctorContext) -> Iterator[Check]:
    heard = {source: datetime.fromisoformat(at) for source, at in ctx.state.heartbeats().items()}
    poll, webhook = heard.get(WC_CHANGE_POLL_HEARTBEAT), heard.get(WEBHOOK_HEARTBEAT)
    said = [f"last webhook {_ago(ctx.now, webhook)}", f"WC change poll {_ago(ctx.now, poll)}"]
    if (poll and ctx.now - poll <= POLL_FRESH) or (webhook and ctx.now - webhook <= WEBHOOK_FRESH):
        yield Check("WizCommerce changes arrive", True, ", ".join(said))
        return
    webhook_url = ctx.values.get("WEBHOOK_URL") or (
        f"{ctx.values['HTTP_API_URL'].rstrip('/')}/webhooks/wizcommerce" if ctx.values.get("HTTP_API_URL")
        else "<WebhookUrl output>")
    yield Check("WizCommerce changes arrive", False,
                f"no webhook within {_span(WEBHOOK_FRESH)} and no WC change poll within {_span(POLL_FRESH)} "
                f"({', '.join(said)})",
                f"in WizCommerce's webhook settings (production, not sandbox) point the webhook at {webhook_url} "
                "with a secret from WizSecret's webhook_secrets, then save any customer there; if the WC change "
                "poll is deployed, check its schedule (line 'schedules')")


# -- 6. first sync -------------------------------------------------------------------------------
def check_first_sync(ctx: DoctorContext) -> Iterator[Check]:
    status = ctx.state.first_sync_status()
    run_now = (f"it runs by itself with the next scheduled entity run; to run it now: aws sqs send-message "
               f"--queue-url {ctx.name('PULL_QUEUE_URL')} --message-body '{{\"stream\": \"{FIRST_SYNC_STREAM}\"}}'")
    state = status.get("status")
    if state != "done":
        detail = {None: "not run yet: the entity streams wait for it",
                  "running": f"running since {status.get('started_at', '?')[:19]} "
                             f"({status.get('invocations', 0)} invocation(s)); it continues itself",
                  "failed": "finished with records it could not link: the entity streams wait until a run links them"
                  }.get(state, f"status {state!r}")
        fix = ("wait a few minutes and run doctor again" if state == "running" else
               f"sos-wiz-ops reports --stream {FIRST_SYNC_STREAM}{ctx.stack_flag} says why; then {run_now}"
               if state == "failed" else run_now)
        yield Check("first sync", False, detail, fix)
        return
    holds = ctx.state.holds()
    if not holds:
        yield Check("first sync", True, f"done {status.get('finished_at', '')[:19]}, nothing held")
        return
    listed = ", ".join(f"{h['entity']} {h['side']} {h['record_id']}" for h in holds[:10])
    more = f" and {len(holds) - 10} more" if len(holds) > 10 else ""
    yield Check("first sync", False,
                f"done, but {len(holds)} record(s) wait for a person (ambiguous matches): {listed}{more}",
                "link each pair by setting the SOS id as the record's Reference ID in WizCommerce, or release a "
                "record that is one of its own: python -m sos_wiz_sync.sync.first_sync release <entity> <side> <id> "
                "(python -m sos_wiz_sync.sync.first_sync holds lists them with their reasons)")


# -- 7. schedules --------------------------------------------------------------------------------
def check_schedules(ctx: DoctorContext) -> Iterator[Check]:
    if ctx.schedules is None:
        yield Check("schedules", False, "not checked: no stack named, so doctor cannot find its schedules",
                    "sos-wiz-ops doctor --stack <stack name>")
        return
    view = ctx.schedules()
    ctx.scheduled_streams = [s.stream for s in view.schedules if s.stream and s.wanted]
    off = [s for s in view.schedules if s.wanted and not s.enabled]
    enabled = sum(1 for s in view.schedules if s.enabled)
    by_parameter = sorted(s.stream or s.name for s in view.schedules if not s.wanted and not s.enabled)
    detail = (f"{enabled} of {len(view.schedules)} enabled ({view.source})"
              + (f"; off by parameter: {', '.join(by_parameter)}" if by_parameter else ""))
    if not view.schedules:
        yield Check("schedules", False, f"none found ({view.source})", "sam deploy (the template creates them)")
    elif off:
        names = ", ".join(s.name for s in off)
        yield Check("schedules", False, f"{detail}; DISABLED although the stack's parameters want them: {names}",
                    f"EventBridge console → Scheduler → Schedules → {names} → Enable; or `sam deploy` again")
    else:
        yield Check("schedules", True, detail)


def aws_schedule_view(cloudformation: Any, scheduler: Any, stack_name: str) -> ScheduleView:
    """The stack's AWS::Scheduler::Schedule resources as EventBridge Scheduler has them now."""
    parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in
                  cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0].get("Parameters", [])}
    resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    schedules = []
    for resource in resources:
        if resource["ResourceType"] != "AWS::Scheduler::Schedule":
            continue
        name = resource["PhysicalResourceId"].rsplit("/", 1)[-1]
        found = scheduler.get_schedule(Name=name)
        stream = schedule_stream(found.get("Target", {}).get("Input"))
        schedules.append(ScheduleState(name=name, stream=stream, enabled=found.get("State") == "ENABLED",
                                       wanted=wanted_by_parameters(stream, parameters)))
    return ScheduleView("EventBridge Scheduler", schedules)


def schedule_stream(target_input: str | None) -> str | None:
    try:
        body = json.loads(target_input or "")
    except ValueError:
        return None
    return body.get("stream") if isinstance(body, dict) else None


def wanted_by_parameters(stream: str | None, parameters: Mapping[str, str | None]) -> bool:
    """A pull schedule is wanted unless its Enable<Stream>Pull parameter (the ledger's:
    EnableLedger) says "false"."""
    parameter = "EnableLedger" if stream == LEDGER_JOB else f"Enable{(stream or '').capitalize()}Pull"
    return stream is None or parameters.get(parameter) != "false"


# -- 8. dead-letter queues -------------------------------------------------------------------------
def check_dead_letters(ctx: DoctorContext) -> Iterator[Check]:
    counts = {}
    for dlq in ctx.dead_letter_queues:
        attributes = ctx.sqs.get_queue_attributes(
            QueueUrl=dlq.url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        counts[dlq.name] = sum(int(attributes.get(key, 0)) for key in
                               ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"))
    detail = ", ".join(f"{name} {n}" for name, n in counts.items())
    parked = [name for name, n in counts.items() if n]
    if not parked:
        yield Check("dead-letter queues", True, f"empty ({detail})")
        return
    yield Check("dead-letter queues", False, f"messages parked: {detail}",
                "; ".join(f"sos-wiz-ops failures --queue {name}{ctx.stack_flag} says why; after the fix: "
                          f"sos-wiz-ops retry --all --queue {name}{ctx.stack_flag}" for name in parked))


# -- 9. last runs ----------------------------------------------------------------------------------
def check_last_runs(ctx: DoctorContext) -> Iterator[Check]:
    if ctx.scheduled_streams is not None:
        streams = [stream for stream in ctx.scheduled_streams if stream != LEDGER_JOB]
    else:  # schedules unknown: the streams that have run at all
        streams = sorted({r["stream"] for r in ctx.state.recent_reports(limit=100)} - {FIRST_SYNC_STREAM})
    if not streams:
        yield Check("last runs", False, "no stream has run yet", "wait for the schedules, or send one run: "
                    + _send_run(ctx, "inventory"))
        return
    for stream in streams:
        yield _last_run(ctx, stream)


def _last_run(ctx: DoctorContext, stream: str) -> Check:
    name = f"last run: {stream}"
    reports = ctx.state.recent_reports(stream, 1)
    if not reports:
        return Check(name, False, "never ran", f"wait for its schedule, or run it now: {_send_run(ctx, stream)}")
    report = reports[0]
    started = datetime.fromisoformat(report["started_at"])
    detail = (f"{report['status']} {_ago(ctx.now, started)}: seen {report.get('seen', 0)}, changed "
              f"{report.get('changed', 0)}, failed {sum((report.get('failed') or {}).values())}")
    if report["status"] == "blocked":
        return Check(name, False, f"{detail}; blocked: {report.get('reason')}",
                     "fix what the reason names (see the lines above), then: " + _send_run(ctx, stream))
    if report["status"] != "ok":
        return Check(name, False, detail, f"sos-wiz-ops reports --stream {stream}{ctx.stack_flag} lists the "
                     f"failures by reason; sos-wiz-ops trace <record id>{ctx.stack_flag} tells one record's story")
    if ctx.now - started > RUN_FRESH:
        return Check(name, False, f"{detail}; older than {_span(RUN_FRESH)}: its schedule did not fire or the run "
                     "failed", f"sos-wiz-ops failures --queue pull{ctx.stack_flag}, and PullFunction's log group")
    return Check(name, True, detail)


# -- 10. the last ledger ----------------------------------------------------------------------------
def check_ledger(ctx: DoctorContext) -> Iterator[Check]:
    """One line: the last ledger's unaccounted count. None yet is not a fault (it runs daily)."""
    last = ctx.state.last_ledger()
    run_now = f"sos-wiz-ops ledger --since 24h{ctx.stack_flag}"
    if last is None:
        yield Check("last ledger", True, f"none yet: it runs daily (LedgerScheduleExpression); now: {run_now}")
        return
    ran = datetime.fromisoformat(last["ran_at"])
    unaccounted = int(last.get("unaccounted_count", len(last.get("unaccounted") or [])))
    counted = sum(sum(counts.values()) for counts in (last.get("counts") or {}).values())
    detail = (f"{unaccounted} unaccounted of {counted} records, {_ago(ctx.now, ran)} "
              f"(window {last['window']['since'][:16]} → {last['window']['until'][:16]})")
    if unaccounted:
        yield Check("last ledger", False, detail, f"{run_now} names each record with the command that repairs it")
    elif ctx.now - ran > LEDGER_FRESH:
        yield Check("last ledger", False, f"{detail}; older than {_span(LEDGER_FRESH)}",
                    f"its schedule did not fire or the run failed: PullFunction's log group; now: {run_now}")
    else:
        yield Check("last ledger", True, detail)


def _send_run(ctx: DoctorContext, stream: str) -> str:
    return (f"aws sqs send-message --queue-url {ctx.name('PULL_QUEUE_URL')} "
            f"--message-body '{{\"stream\": \"{stream}\"}}'")


def _ago(now: datetime, then: datetime | None) -> str:
    return "never" if then is None else f"{_span(now - then)} ago"


def _span(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h" if seconds < 172_800 else f"{seconds // 86_400} d"


CHECKS: list[Callable[[DoctorContext], Iterator[Check]]] = [
    check_secrets, check_sos, check_sos_budget, check_wiz, check_contract, check_hook, check_changes_arrive,
    check_first_sync, check_schedules, check_dead_letters, check_last_runs, check_ledger]
CHECK_NAMES = {check_secrets: "secrets", check_sos: "SOS answers", check_sos_budget: "SOS request budget",
               check_wiz: "WizCommerce answers", check_contract: "contract",
               check_hook: "SOS quantity hook", check_changes_arrive: "WizCommerce changes arrive",
               check_first_sync: "first sync", check_schedules: "schedules", check_dead_letters: "dead-letter queues",
               check_last_runs: "last runs", check_ledger: "last ledger"}
