"""`sos-wiz-ops doctor` on the local stack, walking README's Deploy checklist: a stack as
`sam deploy` leaves it (placeholder secrets, nothing subscribed, nothing run) is red line by
line; each line turns green when its fix is done — the hook with the very command doctor
prints — until doctor is all green and exits 0. template.yaml's functions run on moto, behind
the local HTTP API front, against the SOS and WizCommerce emulators over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from local import ops
from local.aws import use_local_aws
from local.runner import LocalRuntime
from local.stack import LOCAL_WEBHOOK_SECRET, EmbeddedStack
from sos_wiz_sync.store.dynamo import dynamodb_client, dynamodb_resource

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def deployed() -> Iterator[tuple[LocalRuntime, EmbeddedStack]]:
    """The stack right after `sam deploy`: the template's placeholder secrets, nothing else done."""
    with EmbeddedStack(items=120, customers=6) as embedded:
        use_local_aws(embedded.endpoints.aws)
        embedded.wiz.set_webhook_target(None, secret=LOCAL_WEBHOOK_SECRET)  # events wait in the outbox
        runtime = LocalRuntime(ROOT / "template.yaml", stack_name=f"doctor-e2e-{uuid.uuid4().hex[:6]}",
                               parameters=embedded.parameter_overrides(), endpoint_url=embedded.endpoints.aws,
                               containers=True)
        runtime.start()
        runtime.start_http()
        try:
            yield runtime, embedded
        finally:
            runtime.stop()
            # This process's shared DynamoDB clients point at this moto: the next module's must not.
            dynamodb_resource.cache_clear()
            dynamodb_client.cache_clear()


def doctor(runtime: LocalRuntime, capsys) -> tuple[int, dict[str, dict]]:
    capsys.readouterr()
    code = ops.run(runtime, ["doctor", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is (code == 0)
    return code, {check["name"]: check for check in result["checks"]}


def red(checks: dict[str, dict]) -> set[str]:
    return {name for name, check in checks.items() if not check["ok"]}


def test_doctor_walks_the_deploy_checklist_from_red_to_all_green(deployed, capsys):
    runtime, embedded = deployed
    sos_secret, wiz_secret = runtime.ref("SosSecret"), runtime.ref("WizSecret")

    # A fresh deploy: placeholder secrets, so the APIs are not even tried
    code, checks = doctor(runtime, capsys)
    assert code == 1
    assert {"SOS secret", "WizCommerce secret", "SOS answers", "WizCommerce answers", "contract", "SOS quantity hook",
            "WizCommerce changes arrive", "first sync"} <= red(checks)
    assert checks["SOS secret"]["fix"].startswith(f"aws secretsmanager put-secret-value --secret-id {sos_secret}")
    assert checks["SOS answers"]["detail"] == "not checked: the SOS secret is not usable"
    assert checks["schedules"]["ok"] and "off by parameter: products" in checks["schedules"]["detail"]
    assert checks["dead-letter queues"]["ok"]
    assert checks["last run: inventory"]["detail"] == "never ran"

    # 1. the credentials go into the secrets
    values = embedded.secret_values()
    runtime.secretsmanager.put_secret_value(SecretId=sos_secret, SecretString=json.dumps(values["SosSecret"]))
    runtime.secretsmanager.put_secret_value(SecretId=wiz_secret, SecretString=json.dumps(values["WizSecret"]))
    refresh_token = values["SosSecret"]["refresh_token"]
    code, checks = doctor(runtime, capsys)
    assert checks["SOS secret"]["ok"] and checks["WizCommerce secret"]["ok"]
    assert checks["SOS answers"]["ok"] and checks["WizCommerce answers"]["ok"], checks
    stored = json.loads(runtime.secretsmanager.get_secret_value(SecretId=sos_secret)["SecretString"])
    assert stored["refresh_token"] != refresh_token  # refreshed, and the new pair stored
    assert json.loads(runtime.secretsmanager.get_secret_value(
        SecretId=sos_secret, VersionStage="sos-wiz-doctor-probe")["SecretString"]) == {}

    # 2. a wrong WizCommerce key is named as such
    runtime.secretsmanager.put_secret_value(SecretId=wiz_secret, SecretString=json.dumps(
        {**values["WizSecret"], "api_key": "wrong"}))
    _, checks = doctor(runtime, capsys)
    assert not checks["WizCommerce answers"]["ok"] and "401" in checks["WizCommerce answers"]["detail"]
    runtime.secretsmanager.put_secret_value(SecretId=wiz_secret, SecretString=json.dumps(values["WizSecret"]))

    # 3. SOS's quantity hook, subscribed by the command doctor prints
    fix = checks["SOS quantity hook"]["fix"]
    assert not checks["SOS quantity hook"]["ok"] and "hook.subscriptions subscribe --api-url" in fix
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT / "shared"), **runtime.aws_environment(),
           "SOS_API_BASE_URL": embedded.endpoints.sos_api, "SOS_TOKEN_URL": embedded.endpoints.sos_token}
    done = subprocess.run(fix.replace("python ", f"{sys.executable} ", 1), shell=True, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr

    # 4. a WizCommerce webhook reaches the push path
    embedded.wiz.create_customer(name="Doctor Test Co", email="doctor@example.com")
    for event in embedded.wiz.outbox:
        assert runtime.invoke_http("POST", "/webhooks/wizcommerce", event["body"],
                                   headers=event["headers"]).status == 202
    runtime.drain("PushQueue")

    # 5. the schedules fire (the local runner fires them on demand); the first entity run runs
    # the first sync by itself
    for logical_id, schedule in runtime.schedules.items():
        if schedule.enabled:
            runtime.fire_schedule(logical_id)
            runtime.drain("PullQueue")
    runtime.drain("PushQueue")  # what reconciliation handed to the push path

    code, checks = doctor(runtime, capsys)
    assert red(checks) == set(), {name: checks[name] for name in red(checks)}
    assert code == 0
    assert checks["first sync"]["detail"].endswith("nothing held")
    assert checks["SOS quantity hook"]["detail"].startswith("subscribed to this stack")
    assert checks["WizCommerce changes arrive"]["detail"].startswith("last webhook ")
    streams = {name.removeprefix("last run: ") for name in checks if name.startswith("last run: ")}
    assert streams == {"inventory", "customers", "orders", "invoices", "shipments", "payments", "reconciliation"}

    # The table an operator reads says the same
    capsys.readouterr()
    assert ops.run(runtime, ["doctor"]) == 0
    shown = capsys.readouterr().out
    assert shown.rstrip().endswith("all green"), shown
