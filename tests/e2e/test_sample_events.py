"""Every sample in events/ invoked, as `sam local invoke` would, on the local stack: template.yaml's
function (chosen by events/functions.json) in the local runtime, on moto and the SOS and
WizCommerce emulators. The samples are real inputs: an HTTP sample is answered below 500 (its
documented status where functions.json lists one), an SQS batch has no failed record."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from local.runner import LocalRuntime
from local.stack import EmbeddedStack

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
INDEX = json.loads((EVENTS / "functions.json").read_text())
# The test token of the SOS hook samples' path (a test value, not a credential).
SOS_HOOK_TOKEN = json.loads((EVENTS / "sos_hook_quantity_updated.json").read_text())["pathParameters"]["token"]


SAMPLES = sorted(path for path in EVENTS.glob("*.json") if path.name != "functions.json")


def function_for(sample: Path) -> str:
    matches = [function for prefix, function in INDEX["prefixes"].items() if sample.name.startswith(prefix)]
    assert len(matches) == 1, f"{sample.name}: give it one prefix of events/functions.json ({matches or 'none'})"
    return matches[0]


def template_functions() -> dict[str, dict[str, Any]]:
    """Logical id → {"routes": {"POST /path"}, "sqs": bool, "partial_batch": bool}."""
    found = {}
    for logical_id, resource in cfn_yaml.load(str(ROOT / "template.yaml"))["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        events = [event for event in resource["Properties"].get("Events", {}).values()]
        found[logical_id] = {
            "routes": {f"{e['Properties']['Method']} {e['Properties']['Path']}" for e in events if e["Type"] == "HttpApi"},
            "sqs": any(e["Type"] == "SQS" for e in events),
            "partial_batch": any("ReportBatchItemFailures" in e["Properties"].get("FunctionResponseTypes", [])
                                 for e in events if e["Type"] == "SQS")}
    return found


def test_every_function_and_route_has_a_sample():
    functions = template_functions()
    mapped = {path: function_for(path) for path in SAMPLES}
    assert set(mapped.values()) <= set(functions), "functions.json names a function the template lacks"
    for logical_id, shape in functions.items():
        own = [json.loads(path.read_text()) for path, function in mapped.items() if function == logical_id]
        assert own, f"{logical_id} has no sample in events/"
        for route in shape["routes"]:
            assert any(sample.get("routeKey") == route for sample in own), f"no sample of {route}"


def test_every_listed_answer_names_a_sample():
    assert set(INDEX["answers"]) <= {path.stem for path in SAMPLES}


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[EmbeddedStack, LocalRuntime]]:
    with EmbeddedStack(items=60, customers=12) as embedded:
        runtime = LocalRuntime(ROOT / "template.yaml", stack_name=f"samples-{uuid.uuid4().hex[:6]}",
                               endpoint_url=embedded.endpoints.aws,
                               parameters=embedded.parameter_overrides(),
                               secret_values={**embedded.secret_values(), "SosHookSecret": {"token": SOS_HOOK_TOKEN}},
                               containers=True)
        with runtime:
            yield embedded, runtime


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda path: path.stem)
def test_a_sample_runs_its_function_on_the_local_stack(stack, sample):
    embedded, runtime = stack
    function = function_for(sample)
    shape = template_functions()[function]
    event = json.loads(sample.read_text())
    if function == "PushFunction":
        embedded.hold_announced_records(event)
    result = runtime.invoke(function, event)
    if shape["routes"]:
        assert event["routeKey"] in shape["routes"]
        expected = INDEX["answers"].get(sample.stem)
        if expected is not None:
            assert result["statusCode"] == expected, result
        else:
            assert 200 <= result["statusCode"] < 500, result
    elif shape["partial_batch"]:
        assert result == {"batchItemFailures": []}
    elif shape["sqs"]:
        assert result, result  # the handler answered (a failed run raises)
        assert not [run for run in result.get("runs", []) if run.get("failures")], result
    else:  # invoked by EventBridge Scheduler: the WC change poll answers what it queued, or why not
        assert result and set(result) <= {"order", "customer", "status", "reason"}, result
