"""template.yaml against the contract: docs/architecture.md (functions, folders, environment),
DESIGN.md (fixed variables), SPEC.md (R-TIME-1 schedule, R-OPS-1 DLQ, R-CFG-3 parameters) and
least-privilege IAM. These tests read files only; they need neither AWS nor the function code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

SOS_CALLERS = ("PushFunction", "PullFunction", "InventoryHookFunction")
PULL_STREAMS = ("inventory", "customers", "orders", "invoices", "shipments", "payments", "reconciliation",
                "products")
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
HOOK_RESOURCES = ("SosHookIngressFunction", "InventoryHookFunction", "InventoryHookQueue", "InventoryHookDLQ",
                  "SosHookSecret")

# Who column of the architecture.md environment table → template logical ids.
WHO = {
    "webhook ingress": ("WebhookIngressFunction",),
    "push": ("PushFunction",),
    "pull": ("PullFunction",),
    "hook worker": ("InventoryHookFunction",),
    "wc poll": ("WcPollFunction",),
    "hook ingress": ("SosHookIngressFunction",),
    "sos hook ingress": ("SosHookIngressFunction",),
    "all sos callers": SOS_CALLERS,
    "all": ("WebhookIngressFunction", "PushFunction", "PullFunction", "SosHookIngressFunction",
            "InventoryHookFunction", "WcPollFunction"),
}
# DESIGN.md's fixed variables have no "who" column: SOS callers need all five, the WizCommerce
# webhook ingress needs the WC secret (webhook signature secrets).
DESIGN_VARS = {
    **{fn: {"SOS_API_BASE_URL", "SOS_TOKEN_URL", "WIZ_API_BASE_URL", "SOS_SECRET_ID", "WIZ_SECRET_ID"}
       for fn in SOS_CALLERS},
    "WebhookIngressFunction": {"WIZ_SECRET_ID"},
    "WcPollFunction": {"WIZ_API_BASE_URL", "WIZ_SECRET_ID"},
}
# Where an environment variable is set, this is the resource it must name.
ENV_REFS = {
    "MAPPINGS_TABLE": "MappingsTable",
    "STATE_TABLE": "StateTable",
    "IDEMPOTENCY_TABLE": "IdempotencyTable",
    "PUSH_QUEUE_URL": "PushQueue",
    "PUSH_DLQ_URL": "PushDLQ",
    "PULL_QUEUE_URL": "PullQueue",
    "INVENTORY_HOOK_QUEUE_URL": "InventoryHookQueue",
    "SOS_SECRET_ID": "SosSecret",
    "WIZ_SECRET_ID": "WizSecret",
    "SOS_HOOK_SECRET_ID": "SosHookSecret",
    "SOS_API_BASE_URL": "SosApiBaseUrl",
    "SOS_TOKEN_URL": "SosTokenUrl",
    "WIZ_API_BASE_URL": "WizApiBaseUrl",
    "COALESCE_WINDOW_SECONDS": "CoalesceWindowSeconds",
    "IDEMPOTENCY_TTL_SECONDS": "IdempotencyTtlSeconds",
    "SOS_MAX_RPS": "SosMaxRps",
    "SOS_MAX_CONCURRENCY": "SosMaxConcurrency",
    "WIZ_MAX_CONCURRENCY": "WizMaxConcurrency",
    "ORDER_NUMBER_PREFIX": "OrderNumberPrefix",
    "ORDER_NUMBER_SUFFIX": "OrderNumberSuffix",
    "LINE_NOTES_TO_COMMENT": "LineNotesToComment",
    "PAYMENT_ROUTE": "PaymentRoute",
    "WC_POLL_OVERLAP_SECONDS": "WcPollOverlapSeconds",
    "SALES_REP_MAP": "SalesRepMap",
    "DEFAULT_SALES_REP_ID": "DefaultSalesRepId",
    "PRICE_TIER_MAP": "PriceTierMap",
    "POWERTOOLS_LOG_LEVEL": "LogLevel",
}


# ----------------------------------------------------------------------------------- helpers
@cache
def template() -> dict[str, Any]:
    """The template as plain dicts; short tags become their long form (!Ref X → {"Ref": "X"})."""
    return json.loads(json.dumps(cfn_yaml.loads(TEMPLATE.read_text(), str(TEMPLATE))))


def resources(type_: str | None = None) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template()["Resources"].items() if type_ is None or res["Type"] == type_}


def props(name: str) -> dict[str, Any]:
    return template()["Resources"][name].get("Properties", {})


def functions() -> dict[str, dict[str, Any]]:
    return resources("AWS::Serverless::Function")


def function_setting(name: str, key: str) -> Any:
    """A function property as deployed: its own value, else the Globals one."""
    own = props(name)
    return own[key] if key in own else template().get("Globals", {}).get("Function", {}).get(key)


def function_env(name: str) -> dict[str, Any]:
    global_env = template().get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    return {**global_env, **props(name).get("Environment", {}).get("Variables", {})}


def parameter_default(name: str) -> Any:
    return template()["Parameters"][name].get("Default")


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def arn_of(name: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [name, "Arn"]}


def events(function: str, type_: str) -> list[dict[str, Any]]:
    return [event["Properties"] for event in props(function).get("Events", {}).values() if event["Type"] == type_]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def doc_section(title: str) -> str:
    text = ARCHITECTURE.read_text()
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/architecture.md has no section '## {title}'"
    return match.group(1)


def table_rows(section: str) -> list[list[str]]:
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in section.splitlines() if line.strip().startswith("|")]
    return [row for row in rows[2:]]  # header and separator first


@cache
def documented_functions() -> dict[str, str]:
    """logical id → CodeUri folder, from the architecture's function table."""
    rows = table_rows(doc_section("Functions (template logical id → folder → handler)"))
    found = {re.findall(r"`([^`]+)`", row[0])[0]: re.findall(r"`([^`]+)`", row[1])[0] for row in rows}
    assert found, "no functions found in docs/architecture.md"
    return found


@cache
def documented_env() -> dict[str, set[str]]:
    """function logical id → environment variables the architecture's table lists for it."""
    wanted: dict[str, set[str]] = {fn: set() for fn in documented_functions()}
    for row in table_rows(doc_section("Environment variables (contract)")):
        names = re.findall(r"`([A-Z][A-Z0-9_]+)`", row[0])
        assert names, f"no variable in row {row}"
        for who in re.sub(r"\([^)]*\)", "", row[1]).split(","):
            key = who.strip().lower()
            assert key in WHO, f"docs/architecture.md names an unknown function group {who!r}; extend WHO"
            for fn in WHO[key]:
                wanted[fn].update(names)
    for fn, names in DESIGN_VARS.items():
        wanted[fn].update(names)
    return wanted


def role_of(function: str) -> str:
    role = props(function).get("Role")
    assert isinstance(role, dict) and role.get("Fn::GetAtt", [None, None])[1] == "Arn", (
        f"{function} must use its own AWS::IAM::Role (SAM's generated role attaches managed policies on '*')")
    return role["Fn::GetAtt"][0]


def role_statements(role: str) -> list[dict[str, Any]]:
    return [statement for policy in props(role).get("Policies", [])
            for statement in as_list(policy["PolicyDocument"]["Statement"])]


def all_policy_statements() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, res in resources().items():
        p = res.get("Properties", {})
        documents = []
        if res["Type"] == "AWS::IAM::Role":
            documents = [policy["PolicyDocument"] for policy in p.get("Policies", [])]
        elif res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [p["PolicyDocument"]]
        elif res["Type"] == "AWS::Serverless::Function":
            documents = [policy for policy in as_list(p.get("Policies", [])) if isinstance(policy, dict)
                         and "Statement" in policy]
        found += [(name, statement) for doc in documents for statement in as_list(doc["Statement"])]
    return found


def mentions(value: Any, resource: str) -> bool:
    """Whether an intrinsic-function tree refers to a resource (Ref, GetAtt or Sub)."""
    if isinstance(value, dict):
        if value.get("Ref") == resource or as_list(value.get("Fn::GetAtt", [None]))[0] == resource:
            return True
        if isinstance(value.get("Fn::Sub"), str) and re.search(rf"\$\{{{resource}[.}}]", value["Fn::Sub"]):
            return True
        return any(mentions(v, resource) for v in value.values())
    if isinstance(value, list):
        return any(mentions(v, resource) for v in value)
    return False


# ------------------------------------------------------------------------------ lint / SAM
def _tool(name: str) -> str | None:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


def test_cfn_lint_reports_no_errors_and_no_warnings():
    cfn_lint = _tool("cfn-lint")
    assert cfn_lint, "cfn-lint is not installed (pip install -e '.[dev]')"
    run = subprocess.run([cfn_lint, str(TEMPLATE)], capture_output=True, text=True, cwd=ROOT, timeout=240)
    assert run.returncode == 0, f"cfn-lint exit {run.returncode}:\n{run.stdout}{run.stderr}"


def test_sam_validate_lint_passes_offline():
    # aws-sam-cli lives in a venv of its own (Makefile): it pins a boto3 other than the lock's.
    sam = ROOT / ".venv" / "tools" / "sam" / "bin" / "sam"
    assert sam.exists(), "aws-sam-cli is not installed: make .venv/tools/sam/bin/sam"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    run = subprocess.run([sam, "validate", "--lint", "--template-file", str(TEMPLATE)], capture_output=True,
                         text=True, cwd=ROOT, env=env, timeout=240)
    assert run.returncode == 0, f"sam validate --lint:\n{run.stdout}{run.stderr}"


def test_after_sam_transform_only_our_roles_exist_and_none_has_managed_policies():
    """SAM attaches AWSLambdaBasicExecutionRole / AWSLambdaSQSQueueExecutionRole ("*" resources) to
    the roles it generates; with our own roles, the transformed template has none of those."""
    translator = pytest.importorskip("samtranslator.translator.transform")
    given = json.loads(json.dumps(template()))
    for res in given["Resources"].values():
        for key in ("CodeUri", "ContentUri"):
            if key in res.get("Properties", {}):
                res["Properties"][key] = "s3://bucket/key"

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    out = translator.transform(given, {}, NoManagedPolicies())
    roles = {name: res for name, res in out["Resources"].items() if res["Type"] == "AWS::IAM::Role"}
    assert set(roles) == set(resources("AWS::IAM::Role"))
    assert all(not res["Properties"].get("ManagedPolicyArns") for res in roles.values())


# ----------------------------------------------------------------------------- functions
def test_functions_are_exactly_those_of_the_architecture():
    assert set(functions()) == set(documented_functions())


@pytest.mark.parametrize("function", sorted(documented_functions()))
def test_function_folder_and_handler_match_the_architecture(function):
    assert props(function)["CodeUri"].rstrip("/") == documented_functions()[function].rstrip("/")
    assert function_setting(function, "Handler") == "app.handler"


@pytest.mark.parametrize("function", sorted(documented_functions()))
def test_function_runtime_architecture_tracing_and_shared_layer(function):
    assert function_setting(function, "Runtime") == "python3.13"
    assert function_setting(function, "Architectures") == ["arm64"]
    assert function_setting(function, "Tracing") == "Active"
    assert ref("SharedLayer") in function_setting(function, "Layers")


def test_shared_layer_is_built_from_shared_for_python_3_13():
    layer = resources()["SharedLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"].rstrip("/") == "shared"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Metadata"]["BuildMethod"] == "python3.13"


@pytest.mark.parametrize("function", sorted(documented_functions()))
def test_every_documented_environment_variable_is_set(function):
    missing = documented_env()[function] - set(function_env(function))
    assert not missing, f"{function} lacks {sorted(missing)} (docs/architecture.md / DESIGN.md)"


@pytest.mark.parametrize("function", sorted(documented_functions()))
def test_no_function_gets_variables_it_is_not_documented_to_need(function):
    extra = {name for name in set(function_env(function)) - documented_env()[function]
             if not name.startswith("POWERTOOLS_")}
    assert not extra, f"{function} gets {sorted(extra)}, which docs/architecture.md does not list for it"


@pytest.mark.parametrize("function", sorted(documented_functions()))
def test_environment_variables_name_the_right_resource_or_parameter(function):
    for name, value in function_env(function).items():
        if name in ENV_REFS:
            # a resource that exists only under a condition is named under that condition
            expected = ref(ENV_REFS[name])
            condition = resources().get(ENV_REFS[name], {}).get("Condition")
            if condition and resources()[function].get("Condition") != condition:
                expected = {"Fn::If": [condition, expected, ""]}
            assert value == expected, f"{function}.{name} = {value}"


# ---------------------------------------------------------------------------------- events
def http_routes() -> dict[tuple[str, str], str]:
    routes = {}
    for function in functions():
        for event in events(function, "HttpApi"):
            assert event.get("ApiId") == ref("HttpApi"), f"{function}: route not on the HttpApi resource"
            routes[(event["Method"].upper(), event["Path"])] = function
    return routes


def test_wizcommerce_webhook_route_goes_to_the_webhook_ingress():
    assert http_routes()[("POST", "/webhooks/wizcommerce")] == "WebhookIngressFunction"


def test_sos_hook_route_goes_to_the_sos_hook_ingress():
    assert http_routes()[("POST", "/webhooks/sos/{token}")] == "SosHookIngressFunction"


def test_there_are_no_other_routes():
    assert set(http_routes()) == {("POST", "/webhooks/wizcommerce"), ("POST", "/webhooks/sos/{token}")}


@pytest.mark.parametrize(("function", "queue", "batch_size"), [
    ("PushFunction", "PushQueue", 10),
    ("InventoryHookFunction", "InventoryHookQueue", 10),
])
def test_batch_consumers_report_partial_batch_failures(function, queue, batch_size):
    [event] = events(function, "SQS")
    assert event["Queue"] == arn_of(queue)
    assert event["BatchSize"] == batch_size
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_a_push_batch_fits_the_groups_the_push_runs_side_by_side():
    """A push invocation pushes every message group of its batch at once (issue 20): its thread
    pool holds the whole batch."""
    from sos_wiz_sync.push.router import GROUPS_AT_ONCE

    [event] = events("PushFunction", "SQS")
    assert event["BatchSize"] <= GROUPS_AT_ONCE


def test_pull_function_takes_one_run_at_a_time_from_the_pull_queue():
    [event] = events("PullFunction", "SQS")
    assert event["Queue"] == arn_of("PullQueue")
    assert event["BatchSize"] == 1


@pytest.mark.parametrize("function", SOS_CALLERS)
def test_concurrency_towards_sos_is_bounded(function):
    [event] = events(function, "SQS")
    maximum = event.get("ScalingConfig", {}).get("MaximumConcurrency") or props(function).get(
        "ReservedConcurrentExecutions")
    if isinstance(maximum, dict):  # a parameter (PushMaxConcurrency): a deployment gets its default
        maximum = parameter_default(maximum["Ref"])
    assert maximum and int(maximum) <= 5


@pytest.mark.parametrize("function", ["PushFunction", "PullFunction", "InventoryHookFunction"])
def test_queue_visibility_timeout_is_at_least_six_function_timeouts(function):
    [event] = events(function, "SQS")
    queue = event["Queue"]["Fn::GetAtt"][0]
    assert int(props(queue)["VisibilityTimeout"]) >= 6 * int(function_setting(function, "Timeout"))


# ---------------------------------------------------------------------------------- queues
def test_push_queue_is_fifo_with_explicit_deduplication():
    assert props("PushQueue")["FifoQueue"] is True
    assert props("PushQueue")["ContentBasedDeduplication"] is False


def test_push_queue_dead_letters_into_push_dlq_after_the_parameter_count():
    policy = props("PushQueue")["RedrivePolicy"]
    assert policy["deadLetterTargetArn"] == arn_of("PushDLQ")
    assert policy["maxReceiveCount"] == ref("PushMaxReceiveCount")
    assert int(parameter_default("PushMaxReceiveCount")) == 5


@pytest.mark.parametrize(("queue", "dlq", "fifo"), [
    ("PushQueue", "PushDLQ", True),
    ("PullQueue", "PullDLQ", False),
    ("InventoryHookQueue", "InventoryHookDLQ", True),
])
def test_every_queue_has_a_dlq_that_keeps_messages_14_days_and_allows_redrive(queue, dlq, fifo):
    assert props(queue)["RedrivePolicy"]["deadLetterTargetArn"] == arn_of(dlq)
    assert bool(props(queue).get("FifoQueue")) is fifo
    assert bool(props(dlq).get("FifoQueue")) is fifo  # a FIFO queue's DLQ must be FIFO too
    assert props(dlq)["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert props(dlq)["RedriveAllowPolicy"]["redrivePermission"] in ("allowAll", "byQueue")


def test_idempotency_outlives_the_dlq_so_a_redriven_push_applies_once():
    assert int(parameter_default("IdempotencyTtlSeconds")) >= props("PushDLQ")["MessageRetentionPeriod"]


def test_hook_queue_delays_by_the_coalescing_window_the_ingress_uses():
    assert props("InventoryHookQueue")["FifoQueue"] is True
    assert props("InventoryHookQueue")["DelaySeconds"] == ref("CoalesceWindowSeconds")
    assert function_env("SosHookIngressFunction")["COALESCE_WINDOW_SECONDS"] == ref("CoalesceWindowSeconds")
    window = template()["Parameters"]["CoalesceWindowSeconds"]
    assert int(window["Default"]) == 5
    assert 1 <= int(window["MinValue"]) and int(window["MaxValue"]) <= 300  # FIFO dedup interval


def test_hook_resources_follow_the_enable_inventory_hook_switch():
    conditions = template()["Conditions"]
    assert parameter_default("EnableInventoryHook") == "true"
    for name in HOOK_RESOURCES:
        condition = resources()[name].get("Condition")
        assert condition and conditions[condition] == {"Fn::Equals": [ref("EnableInventoryHook"), "true"]}, name


# ---------------------------------------------------------------------------------- tables
def key_schema(table: str) -> dict[str, str]:
    return {key["AttributeName"]: key["KeyType"] for key in props(table)["KeySchema"]}


def attribute_types(table: str) -> dict[str, str]:
    return {a["AttributeName"]: a["AttributeType"] for a in props(table)["AttributeDefinitions"]}


@pytest.mark.parametrize("table", ["MappingsTable", "StateTable", "IdempotencyTable"])
def test_tables_are_on_demand_encrypted_and_recoverable(table):
    assert props(table)["BillingMode"] == "PAY_PER_REQUEST"
    assert props(table)["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props(table)["SSESpecification"]["SSEEnabled"] is True


def test_table_keys_match_the_architecture():
    assert key_schema("MappingsTable") == {"pk": "HASH", "sk": "RANGE"}
    assert key_schema("StateTable") == {"pk": "HASH", "sk": "RANGE"}
    assert key_schema("IdempotencyTable") == {"id": "HASH"}
    assert attribute_types("MappingsTable") == {"pk": "S", "sk": "S"}
    assert attribute_types("StateTable") == {"pk": "S", "sk": "S", "gsi1pk": "S", "gsi1sk": "S"}
    assert attribute_types("IdempotencyTable") == {"id": "S"}


def test_state_table_has_gsi1_and_ttl():
    [gsi] = props("StateTable")["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "gsi1"
    assert {k["AttributeName"]: k["KeyType"] for k in gsi["KeySchema"]} == {"gsi1pk": "HASH", "gsi1sk": "RANGE"}
    assert gsi["Projection"]["ProjectionType"] == "ALL"
    assert props("StateTable")["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_idempotency_table_expires_records_by_powertools_attribute():
    assert props("IdempotencyTable")["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


# --------------------------------------------------------------------------------- secrets
def test_credential_secrets_start_as_placeholders_with_the_documented_keys():
    assert set(json.loads(props("SosSecret")["SecretString"])) == {
        "access_token", "refresh_token", "client_id", "client_secret"}
    assert {"api_key", "webhook_secrets"} <= set(json.loads(props("WizSecret")["SecretString"]))


def test_hook_secret_is_a_generated_40_character_token():
    generated = props("SosHookSecret")["GenerateSecretString"]
    assert json.loads(generated["SecretStringTemplate"]) == {}
    assert generated["GenerateStringKey"] == "token"
    assert generated["PasswordLength"] == 40
    assert generated["ExcludePunctuation"] is True


# ------------------------------------------------------------------------------------- IAM
def test_no_policy_statement_allows_a_wildcard_action():
    for owner, statement in all_policy_statements():
        assert "NotAction" not in statement, owner
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{owner}: {action}"


def test_only_x_ray_is_granted_on_every_resource():
    for owner, statement in all_policy_statements():
        assert "NotResource" not in statement, owner
        if "*" in as_list(statement["Resource"]):
            assert set(as_list(statement["Action"])) <= XRAY_ACTIONS, f"{owner}: {statement}"


def test_roles_carry_no_managed_policies():
    for name in resources("AWS::IAM::Role"):
        assert not props(name).get("ManagedPolicyArns"), name


@pytest.mark.parametrize("function", sorted(documented_functions()))
def test_each_function_has_a_role_of_its_own(function):
    assert [f for f in functions() if role_of(f) == role_of(function)] == [function]


@pytest.mark.parametrize("function", ["WebhookIngressFunction", "SosHookIngressFunction"])
def test_ingress_functions_touch_no_table_and_no_sos_credentials(function):
    for statement in role_statements(role_of(function)):
        assert not any(action.startswith("dynamodb:") for action in as_list(statement["Action"])), statement
        assert not mentions(statement["Resource"], "SosSecret"), statement


def test_only_sos_callers_may_write_the_sos_secret_and_nothing_else():
    writers = {}
    for function in functions():
        for statement in role_statements(role_of(function)):
            if "secretsmanager:PutSecretValue" in as_list(statement["Action"]):
                assert as_list(statement["Resource"]) == [ref("SosSecret")], statement
                writers[function] = True
    assert set(writers) == set(SOS_CALLERS)


def test_secret_reads_are_scoped_to_the_secrets_each_function_names():
    for function in functions():
        named = {ENV_REFS[var] for var in ("SOS_SECRET_ID", "WIZ_SECRET_ID", "SOS_HOOK_SECRET_ID")
                 if var in function_env(function)}
        readable = {r["Ref"] for s in role_statements(role_of(function))
                    if "secretsmanager:GetSecretValue" in as_list(s["Action"]) for r in as_list(s["Resource"])}
        assert readable == named, function


def test_consumers_may_read_only_their_own_queue():
    for function in functions():
        queues = [event["Queue"]["Fn::GetAtt"][0] for event in events(function, "SQS")]
        receivable = [r["Fn::GetAtt"][0] for s in role_statements(role_of(function))
                      if "sqs:ReceiveMessage" in as_list(s["Action"]) for r in as_list(s["Resource"])]
        assert receivable == queues, function


def test_scheduler_role_may_only_send_to_the_pull_queue():
    statements = role_statements("SchedulerRole")
    assert [(as_list(s["Action"]), as_list(s["Resource"])) for s in statements] == [
        (["sqs:SendMessage"], [arn_of("PullQueue")])]


# ---------------------------------------------------------------------- schedule (R-TIME-1)
def cron_values(field: str, low: int, high: int) -> list[int]:
    """Values of one AWS cron minute/hour field: *, n, a-b, a/step, a-b/step and lists."""
    values: set[int] = set()
    for part in field.split(","):
        base, _, step = part.partition("/")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            start, end = (int(v) for v in base.split("-"))
        else:
            start = int(base)
            end = high if step else start
        values.update(range(start, end + 1, int(step or 1)))
    assert values and min(values) >= low and max(values) <= high, f"bad cron field {field!r}"
    return sorted(values)


def daily_fire_times(expression: str, tz: ZoneInfo, day: date) -> list[datetime]:
    """Local fire times of a daily AWS cron expression (every day of every month and year)."""
    match = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)", expression)
    assert match, f"not an AWS cron expression: {expression}"
    minutes, hours, day_of_month, month, day_of_week, year = match.groups()
    assert {day_of_month, day_of_week} == {"*", "?"} and month == "*" and year == "*", (
        "the evaluator handles daily schedules only")
    return [datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
            for hour in cron_values(hours, 0, 23) for minute in cron_values(minutes, 0, 59)]


def days_of(year: int, month: int) -> list[date]:
    first = date(year, month, 1)
    return [first + timedelta(days=n) for n in range(31) if (first + timedelta(days=n)).month == month]


def test_schedule_timezone_defaults_to_los_angeles():
    assert parameter_default("PullScheduleTimezone") == "America/Los_Angeles"


@pytest.mark.parametrize("month", [1, 7], ids=["january-PST", "july-PDT"])
def test_default_schedule_fires_12_times_a_day_two_hours_apart_including_noon(month):
    expression = parameter_default("PullScheduleExpression")
    tz = ZoneInfo(parameter_default("PullScheduleTimezone"))
    for day in days_of(2025, month):
        fires = daily_fire_times(expression, tz, day)
        assert len(fires) == 12, day
        assert datetime(day.year, day.month, day.day, 12, 0, tzinfo=tz) in fires, day
        next_day_first = daily_fire_times(expression, tz, day + timedelta(days=1))[0]
        utc = [fire.astimezone(timezone.utc) for fire in [*fires, next_day_first]]
        assert {later - earlier for earlier, later in zip(utc, utc[1:])} == {timedelta(hours=2)}, day


def test_the_evaluator_rejects_a_noon_anchored_expression_that_skips_the_night():
    # cron(0 12/2 * * ? *) starts at 12 and stops at 22: 6 runs, 00:00-10:00 skipped.
    fires = daily_fire_times("cron(0 12/2 * * ? *)", ZoneInfo("America/Los_Angeles"), date(2025, 1, 15))
    assert [fire.hour for fire in fires] == [12, 14, 16, 18, 20, 22]


def schedules() -> dict[str, dict[str, Any]]:
    """The pull schedules by stream (the WC change poll's schedule invokes its function; the
    ledger's is a job of the pull function, tested on its own)."""
    return {json.loads(res["Properties"]["Target"]["Input"])["stream"]: res["Properties"]
            for name, res in resources("AWS::Scheduler::Schedule").items()
            if name not in ("WcPollSchedule", "LedgerSchedule")}


def test_one_schedule_per_pull_stream():
    assert sorted(schedules()) == sorted(PULL_STREAMS)
    # and the WC change poll and the ledger
    assert len(resources("AWS::Scheduler::Schedule")) == len(PULL_STREAMS) + 2


def test_the_ledger_runs_daily_as_a_pull_function_job_switched_by_its_parameter():
    """R-OPS-4: {"stream": "ledger"} on the pull queue, at LedgerScheduleExpression (daily by
    default) in the pulls' time zone, ENABLED unless EnableLedger is "false"."""
    schedule = props("LedgerSchedule")
    assert json.loads(schedule["Target"]["Input"]) == {"stream": "ledger"}
    assert schedule["Target"]["Arn"] == arn_of("PullQueue")
    assert schedule["Target"]["RoleArn"] == arn_of("SchedulerRole")
    assert schedule["ScheduleExpression"] == ref("LedgerScheduleExpression")
    assert schedule["ScheduleExpressionTimezone"] == ref("PullScheduleTimezone")
    fires = daily_fire_times(parameter_default("LedgerScheduleExpression"),
                             ZoneInfo(parameter_default("PullScheduleTimezone")), date(2025, 1, 15))
    assert len(fires) == 1
    condition, *states = schedule["State"]["Fn::If"]
    assert states == ["ENABLED", "DISABLED"]
    assert template()["Conditions"][condition] == {"Fn::Equals": [ref("EnableLedger"), "true"]}
    assert parameter_default("EnableLedger") == "true"


@pytest.mark.parametrize("stream", PULL_STREAMS)
def test_schedule_sends_its_stream_to_the_pull_queue_at_the_parameter_times(stream):
    schedule = schedules()[stream]
    assert schedule["ScheduleExpression"] == ref("PullScheduleExpression")
    assert schedule["ScheduleExpressionTimezone"] == ref("PullScheduleTimezone")
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["Target"]["Arn"] == arn_of("PullQueue")
    assert schedule["Target"]["RoleArn"] == arn_of("SchedulerRole")
    assert json.loads(schedule["Target"]["Input"]) == {"stream": stream}


@pytest.mark.parametrize("stream", PULL_STREAMS)
def test_schedule_state_follows_its_enable_parameter(stream):
    parameter = f"Enable{stream.capitalize()}Pull"
    state = schedules()[stream]["State"]["Fn::If"]
    assert state[1:] == ["ENABLED", "DISABLED"]
    assert template()["Conditions"][state[0]] == {"Fn::Equals": [ref(parameter), "true"]}
    assert template()["Parameters"][parameter]["AllowedValues"] == ["true", "false"]
    assert parameter_default(parameter) == ("false" if stream == "products" else "true")


# ------------------------------------------------------------------- parameters and outputs
@pytest.mark.parametrize(("parameter", "default"), [
    ("SosApiBaseUrl", "https://api.sosinventory.com/api/v2"),
    ("SosTokenUrl", "https://api.sosinventory.com/oauth2/token"),
    ("WizApiBaseUrl", "https://api.wizcommerce.com"),
    ("OrderNumberPrefix", ""),
    ("OrderNumberSuffix", ""),
    ("LineNotesToComment", "true"),
    ("PaymentRoute", "deposit"),
    ("WcPollScheduleExpression", "rate(1 minute)"),
    ("WcPollOverlapSeconds", "120"),
    ("SalesRepMap", "{}"),
    ("DefaultSalesRepId", ""),
    ("PriceTierMap", "{}"),
    ("SosMaxRps", "2"),
    ("WizMaxConcurrency", "8"),
    ("IdempotencyTtlSeconds", "1209600"),
    ("LogLevel", "INFO"),
])
def test_configuration_parameter_defaults(parameter, default):
    assert str(parameter_default(parameter)) == default


def test_every_parameter_is_used():
    body = json.dumps({key: template()[key] for key in ("Globals", "Resources", "Conditions", "Outputs")})
    unused = [name for name in template()["Parameters"] if f'{{"Ref": "{name}"}}' not in body]
    assert not unused


def test_webhook_url_output():
    assert template()["Outputs"]["WebhookUrl"]["Value"] == {
        "Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/webhooks/wizcommerce"}


def test_outputs_give_operators_what_they_need():
    assert {"WebhookUrl", "SosHookUrl", "HttpApiUrl", "PushQueueUrl", "PushDLQUrl", "PullQueueUrl", "PullDLQUrl",
            "InventoryHookQueueUrl", "InventoryHookDLQUrl", "MappingsTableName", "StateTableName",
            "IdempotencyTableName", "SosSecretArn", "WizSecretArn", "SosHookSecretArn"} <= set(template()["Outputs"])


def test_no_output_reveals_a_secret_value():
    assert "resolve:secretsmanager" not in json.dumps(template()["Outputs"])


def test_the_wc_change_poll_runs_every_minute_and_may_only_read_and_enqueue():
    schedule = props("WcPollSchedule")
    assert schedule["ScheduleExpression"] == ref("WcPollScheduleExpression")
    assert schedule["Target"]["Arn"] == {"Fn::GetAtt": ["WcPollFunction", "Arn"]}
    invoke = props("WcPollSchedulerRole")["Policies"][0]["PolicyDocument"]["Statement"]
    assert invoke == [{"Effect": "Allow", "Action": "lambda:InvokeFunction",
                       "Resource": {"Fn::GetAtt": ["WcPollFunction", "Arn"]}}]
    statements = props("WcPollRole")["Policies"][0]["PolicyDocument"]["Statement"]
    actions = {statement["Sid"]: statement["Action"] for statement in statements}
    assert actions["EnqueueChanges"] == "sqs:SendMessage" and actions["Cursors"] == ["dynamodb:GetItem",
                                                                                      "dynamodb:PutItem"]
    assert {s["Sid"]: s["Resource"] for s in statements}["EnqueueChanges"] == {"Fn::GetAtt": ["PushQueue", "Arn"]}
