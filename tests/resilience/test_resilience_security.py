"""Scenario 5 — security (DESIGN: secrets and personal data never in logs; secrets live in Secrets
Manager; least-privilege IAM).

- Logs: every test of this suite that starts a stack has all its log lines scanned when it ends
  (conftest.make_stack); here the scan is shown to catch what it looks for, and a busy day at
  LogLevel DEBUG — every function, successes and failures, a token refresh, the SOS hook with
  a right and a wrong token, the entity pulls — leaves no secret or personal data in any line.
- IAM: in the template as deployed (after the SAM transform), no statement allows a wildcard
  action, and none allows every resource except for actions that have no resource-level
  permissions.
- Secrets: no function gets a credential through its environment, and the package reads none
  from the environment nor holds one in its code.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from cfnlint.decode import cfn_yaml

from pull_stack import PullStack
from resilience_logs import find_leaks
from resilience_stack import issued_sos_tokens, needles

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
PACKAGE_SOURCES = [*sorted((ROOT / "shared" / "sos_wiz_sync").rglob("*.py")),
                   *sorted((ROOT / "functions").rglob("*.py"))]
# AWS actions without resource-level permissions: a policy can only grant them on "*".
NO_RESOURCE_LEVEL_ACTIONS = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})
CREDENTIAL_NAME = re.compile(r"token|secret|password|passwd|api_?key|credential|private", re.I)
CREDENTIAL_LITERALS = [
    re.compile(r"AKIA[0-9A-Z]{16}"),                                   # AWS access key id
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\bwiz_[A-Za-z0-9_-]{20,}"),                            # a WizCommerce API key's shape
    re.compile(r"Bearer [A-Za-z0-9._~+/-]{16,}"),
    re.compile(r"(?i)\b(api_key|access_token|refresh_token|client_secret|password)\b\s*[:=]\s*['\"][^'\"{}]{6,}['\"]"),
]


# -- logs ----------------------------------------------------------------------------------------

def test_the_log_scan_finds_a_secret_or_personal_data_in_any_kind_of_log_line(make_stack, log_journal):
    stack = make_stack().stack
    customer = stack.sos.customers[1]
    token = issued_sos_tokens(stack.sos)[0]
    # Given one line of each kind a function writes, each carrying something it must not:
    planted = len(log_journal.lines)
    logging.getLogger("sos-wiz-sync").warning("lookup", extra={"who": f'"{customer["name"]}" <{customer["email"]}>'})
    print(json.dumps({"_aws": {}, "note": f"token {token}"}))                      # an EMF metric line
    log_journal.add_output(f"[ERROR] Runtime.Error: calling {customer['billing']['line1']}")  # a child's stderr
    logging.getLogger("local.runner").error("batch failed: %s", stack.wiz.api_key.upper())   # cased otherwise
    # When the journal is scanned
    leaks = find_leaks(log_journal.lines[planted:], needles(stack))
    # Then each line is found, once, for what it holds (JSON-escaped or upper-cased as it may be)
    found = {leak.line: leak.kind for leak in leaks}
    del log_journal.lines[planted:]  # planted here: the teardown scan is for what the functions wrote
    assert len(leaks) == len(found) == 4
    assert sorted(found.values()) == ["personal data", "personal data", "secret", "secret"]


def test_a_busy_day_at_debug_level_logs_no_secret_token_or_personal_data(make_stack, log_journal, figures):
    watched = make_stack(parameters={"LogLevel": "DEBUG", "CoalesceWindowSeconds": "1",
                                     "ReconciliationLagSeconds": "0"})
    stack, runtime = watched.stack, watched.stack.runtime
    pull = PullStack(stack)
    items = stack.mapped_items()
    # Given a day of everything: customers with contact data and addresses, orders with
    # addresses, payments, an order that cannot push (R-REF-2), a draft, an expired SOS token,
    customer = stack.wiz.create_customer(
        name="Privacy Test Co", email="dpo@privacy-test.example", phone="+1-555-867-5309",
        addresses=[{"type": "billing", "is_default": True, "address_line_1": "77 Confidential Ave",
                    "city": "Austin", "state": "TX", "zip_code": "78701", "country": "US",
                    "phone": "+1-555-867-5310"}])
    address = {"type": "shipping", "first_name": "Pat", "last_name": "Private", "address_line_1": "9 Hidden Rd",
               "city": "Denver", "zip_code": "80202", "phone": "+1-555-111-2222", "email": "pat@hidden.example"}
    order = stack.place_order(items[:2], customer=customer["id"], shipping_address=address)
    stack.place_order(items[2:3], status="draft", billing_address=address)
    [no_reference] = stack.seeded["products_without_reference_item_ids"][:1]
    unpushable = stack.wiz.create_order("cust_3", [{"product_id": next(
        p["id"] for p in stack.wiz.products.values() if p["sku"] == stack.sos.items[no_reference]["sku"]),
        "quantity": 1, "unit_price": 3.0}], billing_address=address)
    stack.sos.expire_tokens()
    stack.sync()
    stack.wiz.record_payment(order["id"], 12.0)
    stack.wiz.update_customer(customer["id"], phone="+1-555-867-5311")
    stack.sync()
    # ... the SOS quantity hook with the right token and a wrong one,
    token = json.loads(runtime.secretsmanager.get_secret_value(SecretId=runtime.ref("SosHookSecret"))["SecretString"])
    assert runtime.invoke_http("POST", f"/webhooks/sos/{token['token']}", {"id": items[0]}).status == 202
    assert runtime.invoke_http("POST", f"/webhooks/sos/{token['token'][::-1]}", {"id": items[0]}).status == 404
    assert runtime.drain("InventoryHookQueue", wait_seconds=2.5).received == 1  # the worker re-read the item
    # ... and the pulls: SOS-origin customers and orders with their contact data
    sos_customer = stack.sos.create_customer(name="Pulled Privately", email="owner@pulled.example",
                                             phone="+1-555-333-4444",
                                             billing={"line1": "5 Quiet Lane", "city": "Raleigh"})
    stack.sos.create_sales_order(customer={"id": sos_customer["id"]}, lines=pull.sos_lines(items[3:5]))
    assert pull.first_sync()["status"] == "ok"
    runtime.fire_schedule("InventoryPullSchedule")
    runtime.drain("PullQueue")
    reports = {stream: pull.run(stream)["status"] for stream in ("customers", "orders")}
    # When every log line of the day is scanned for every secret and every piece of personal data
    leaks = find_leaks(log_journal.lines, needles(stack))
    # Then there is none, though the day was logged (at DEBUG) and did what it should
    assert leaks == [], "\n".join(map(str, leaks[:10]))
    assert runtime.functions["PushFunction"].environment["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
    assert reports == {"customers": "ok", "orders": "ok"} and stack.state.recent_reports("inventory", 1)
    assert stack.sos.counters().get("POST /oauth2/token", 0) == 1
    assert stack.state.get_failure("order", unpushable["id"])["status"] == "open"  # R-REF-2, with its reason
    levels = {json.loads(line).get("level") for line in log_journal.lines if line.startswith('{"level"')}
    assert {"INFO", "WARNING"} <= levels
    figures.record("security_busy_day", log_lines=len(log_journal.lines), values_watched=len(needles(stack)),
                   leaks=len(leaks), log_levels=sorted(level for level in levels if level))


# -- IAM -----------------------------------------------------------------------------------------

def deployed_template() -> dict[str, Any]:
    """template.yaml after the SAM transform: what CloudFormation deploys, generated roles and
    permissions included."""
    transform = pytest.importorskip("samtranslator.translator.transform")
    given = json.loads(json.dumps(cfn_yaml.loads(TEMPLATE.read_text(), str(TEMPLATE))))
    for resource in given["Resources"].values():
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = "s3://bucket/key"

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return transform.transform(given, {}, NoManagedPolicies())


def policy_statements(value: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every statement of every policy document anywhere under `value`."""
    if isinstance(value, dict):
        if "Statement" in value and isinstance(value["Statement"], (list, dict)):
            statements = value["Statement"] if isinstance(value["Statement"], list) else [value["Statement"]]
            for statement in statements:
                yield where, statement
        for key, inner in value.items():
            yield from policy_statements(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from policy_statements(inner, f"{where}[{index}]")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def scoped(resource: Any) -> bool:
    """A resource given by reference to a template resource (Ref, GetAtt, or a Sub over one),
    not a literal ARN with wildcards."""
    if isinstance(resource, dict):
        if "Ref" in resource or "Fn::GetAtt" in resource:
            return True
        sub = resource.get("Fn::Sub")
        text = sub if isinstance(sub, str) else (sub or [""])[0]
        return bool(re.match(r"\$\{[A-Za-z0-9]+(\.[A-Za-z]+)?\}", text or ""))
    return isinstance(resource, str) and "*" not in resource


def test_no_deployed_policy_allows_every_action_or_every_resource_where_one_is_known(figures):
    template = deployed_template()
    checked = 0
    for name, resource in template["Resources"].items():
        for where, statement in policy_statements(resource.get("Properties", {}), name):
            checked += 1
            assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement), where
            if statement.get("Effect") != "Allow":
                continue
            actions = as_list(statement.get("Action", []))
            assert actions and all("*" not in action for action in actions), f"{where}: {actions}"
            if "Principal" in statement:  # a trust policy: a named service, never everyone
                assert statement["Principal"] != "*" and "*" not in json.dumps(statement["Principal"]), where
                continue
            resources = as_list(statement.get("Resource", []))
            if "*" in resources:
                assert set(actions) <= NO_RESOURCE_LEVEL_ACTIONS, f"{where}: {actions} on every resource"
            else:
                assert all(scoped(r) for r in resources), f"{where}: {resources}"
    for name, resource in template["Resources"].items():  # who may invoke a function: one API, scoped
        if resource["Type"] == "AWS::Lambda::Permission":
            assert resource["Properties"]["Principal"] != "*" and resource["Properties"].get("SourceArn"), name
    figures.record("security_iam", policy_statements_checked=checked, wildcard_actions=0,
                   unscoped_resources=0)
    assert checked > 20


# -- secrets -------------------------------------------------------------------------------------

def test_no_function_gets_a_credential_through_its_environment(make_stack):
    # Given the stack as template.yaml makes it, its secrets holding the emulators' credentials
    stack = make_stack().stack
    secrets = [value for value, (kind, _) in needles(stack).values.items() if kind == "secret"]
    assert secrets
    # When each function's environment is read
    for function in stack.runtime.functions.values():
        for name, value in function.environment.items():
            # Then a variable named like a credential only names the secret that holds it
            if CREDENTIAL_NAME.search(name) and not name.endswith("_URL"):
                assert name.endswith("_SECRET_ID") and value.startswith("arn:aws:secretsmanager:"), (function.name,
                                                                                                     name)
            # And no variable holds a secret's value
            assert not [secret for secret in secrets if secret in value], (function.name, name)


def test_the_package_reads_no_credential_from_the_environment_nor_holds_one_in_its_code(figures):
    read_from_environment, literals = [], []
    for path in PACKAGE_SOURCES:
        source = path.read_text()
        literals += [f"{path.relative_to(ROOT)}: {m.group(0)[:40]}" for pattern in CREDENTIAL_LITERALS
                     for m in pattern.finditer(source)]
        for node in ast.walk(ast.parse(source)):
            # os.environ["X"], os.environ.get("X"), os.getenv("X") with a credential-like X
            key = _environment_key(node)
            if key and CREDENTIAL_NAME.search(key) and not key.endswith(("_SECRET_ID", "_URL")):
                read_from_environment.append(f"{path.relative_to(ROOT)}: {key}")
            # settings fields (pydantic-settings read them from the environment) named like a credential
            settings = isinstance(node, ast.ClassDef) and any(
                ast.unparse(base).endswith(("Settings", "_Env")) for base in node.bases)
            if settings:
                for item in node.body:
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        field = item.target.id
                        if CREDENTIAL_NAME.search(field) and not field.endswith(("_secret_id", "_url")):
                            read_from_environment.append(f"{path.relative_to(ROOT)}: {node.name}.{field}")
    figures.record("security_secrets", files_checked=len(PACKAGE_SOURCES), credential_env_reads=0,
                   credential_literals=0)
    assert read_from_environment == []
    assert literals == []
    assert len(PACKAGE_SOURCES) > 20


def _environment_key(node: ast.AST) -> str | None:
    if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
        target = node.slice
    elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("os.environ.get", "os.getenv",
                                                                     "os.environ.setdefault"):
        target = node.args[0] if node.args else None
    else:
        return None
    return target.value if isinstance(target, ast.Constant) and isinstance(target.value, str) else None
