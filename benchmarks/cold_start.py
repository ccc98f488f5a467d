"""Cold start of every function: import time and first-invocation time, each in a fresh
interpreter, against a bare `import boto3` in a fresh interpreter of the same run.

    make coldstart ARGS="--runs 7"   # children on Lambda's Python (3.13) with exactly the lock
    python -m benchmarks.cold_start [--runs 7] [--python PATH] [--json benchmarks/results/cold_start.json]

Each run starts a new local stack (moto server and the SOS and WizCommerce emulators, with
template.yaml's resources provisioned by the local runtime), so every first invocation does the
same work. Then, per function, a child interpreter gets the function's environment as Lambda would
set it (template variables, LAMBDA_TASK_ROOT, an X-Ray trace header, no AWS_SAM_LOCAL: the tracer is
on where the function builds one), imports the handler module from the function's folder with the
layer's folder on its path (the timed cold start: Lambda's init phase), then invokes the handler
with its sample from events/ (the timed first invocation), which calls moto and the emulators over
loopback HTTP. Right before each function's child, a bare `import boto3` child runs; the ratios
are per pair, then the median over the runs. A failed invocation stops the benchmark. Results: docs/performance.md, "Cold starts".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from local.runner import LocalRuntime
from local.stack import EmbeddedStack

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
# The sample each function's first invocation gets, and what its answer must look like.
FIRST_EVENTS = {
    "WebhookIngressFunction": "webhook_customer_updated.json",
    "SosHookIngressFunction": "sos_hook_quantity_updated.json",
    "PushFunction": "sqs_push_order_changes.json",
    "PullFunction": "sqs_pull_inventory.json",
    "InventoryHookFunction": "sqs_inventory_hook_items.json",
}
SOS_HOOK_TOKEN = json.loads((EVENTS / "sos_hook_quantity_updated.json").read_text())["pathParameters"]["token"]
HOST_VARIABLES = ("PATH", "HOME", "LANG", "TMPDIR", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")

# Wall time (perf_counter) and CPU time (process_time): on a shared machine the CPU time is the
# steadier of the two; the ratios of both are reported.
BARE_BOTO3 = """
import json, time
started, started_cpu = time.perf_counter(), time.process_time()
import boto3
print(json.dumps({"import_s": time.perf_counter() - started, "import_cpu_s": time.process_time() - started_cpu}))
"""

# argv: handler ("app.handler"), event file, result file. Logs go to stdout, the timings to the file.
CHILD = """
import importlib, json, os, sys, time, uuid
started, started_cpu = time.perf_counter(), time.process_time()
module_name, _, handler_name = sys.argv[1].rpartition(".")
handler = getattr(importlib.import_module(module_name), handler_name)
imported, imported_cpu = time.perf_counter(), time.process_time()

class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = "$LATEST"
    memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
    invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
    aws_request_id = str(uuid.uuid4())
    log_group_name = f"/aws/lambda/{function_name}"
    log_stream_name = "cold-start"
    _deadline = time.monotonic() + 900
    def get_remaining_time_in_millis(self):
        return int((self._deadline - time.monotonic()) * 1000)

with open(sys.argv[2]) as file:
    event = json.load(file)
before = time.perf_counter()
result = handler(event, Context())
invoked = time.perf_counter()
with open(sys.argv[3], "w") as file:
    json.dump({"import_s": imported - started, "import_cpu_s": imported_cpu - started_cpu,
               "invoke_s": invoked - before, "result": result}, file, default=str)
"""


def check_answer(function_id: str, result: Any) -> None:
    """The first invocation must have done its work, or its time means nothing."""
    if isinstance(result, dict) and "statusCode" in result:
        ok = result["statusCode"] == 202
    elif isinstance(result, dict) and "batchItemFailures" in result:
        ok = result["batchItemFailures"] == []
    else:
        ok = isinstance(result, dict) and all(run.get("status") == "ok" for run in result.get("runs") or [{}])
    if not ok:
        raise SystemExit(f"{function_id}: the first invocation failed: {json.dumps(result)[:500]}")


def function_environment(runtime: LocalRuntime, function_id: str) -> dict[str, str]:
    function = runtime.functions[function_id]
    return {
        **{name: os.environ[name] for name in HOST_VARIABLES if name in os.environ},
        **runtime.aws_environment(),
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "LAMBDA_TASK_ROOT": str(function.code_dir),
        "_HANDLER": function.handler,
        "_X_AMZN_TRACE_ID": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",  # segments go to loopback, where no daemon listens
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        # Lambda's path: the function's folder (/var/task), then the layer's (/opt/python).
        "PYTHONPATH": os.pathsep.join(str(folder) for folder in function.import_roots),
        **function.environment,
    }


def cold_start(python: str, runtime: LocalRuntime, function_id: str) -> dict[str, float]:
    function = runtime.functions[function_id]
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "result.json"
        subprocess.run([python, "-c", CHILD, function.handler, str(EVENTS / FIRST_EVENTS[function_id]), str(out)],
                       env=function_environment(runtime, function_id), cwd=function.code_dir, check=True,
                       stdout=subprocess.DEVNULL, timeout=function.timeout + 60)
        measured = json.loads(out.read_text())
    check_answer(function_id, measured["result"])
    return {key: measured[key] for key in ("import_s", "import_cpu_s", "invoke_s")}


def bare_boto3(python: str) -> dict[str, float]:
    done = subprocess.run([python, "-c", BARE_BOTO3], check=True, capture_output=True, text=True,
                          env={name: os.environ[name] for name in HOST_VARIABLES if name in os.environ})
    return json.loads(done.stdout)


def one_run(python: str) -> dict[str, Any]:
    with EmbeddedStack(items=60, customers=12) as embedded:
        runtime = LocalRuntime(ROOT / "template.yaml", stack_name=f"cold-{uuid.uuid4().hex[:6]}",
                               endpoint_url=embedded.endpoints.aws, parameters=embedded.parameter_overrides(),
                               secret_values={**embedded.secret_values(), "SosHookSecret": {"token": SOS_HOOK_TOKEN}})
        with runtime:
            # WizCommerce holds the order the push sample announces, as when the poll saw it.
            embedded.hold_announced_records(json.loads((EVENTS / FIRST_EVENTS["PushFunction"]).read_text()))
            # The bare boto3 import right before each function's: both see the same machine load.
            return {function_id: {**cold_start(python, runtime, function_id),
                                   **{f"boto3_{key}": value for key, value in bare_boto3(python).items()}}
                    for function_id in FIRST_EVENTS}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def median(function_id: str, value: Any) -> float:
        return round(statistics.median(value(run[function_id]) for run in runs), 3)

    return {function_id: {
        "import_s": median(function_id, lambda m: m["import_s"]),
        "boto3_import_s": median(function_id, lambda m: m["boto3_import_s"]),
        "import_vs_boto3": median(function_id, lambda m: m["import_s"] / m["boto3_import_s"]),
        "import_cpu_s": median(function_id, lambda m: m["import_cpu_s"]),
        "boto3_import_cpu_s": median(function_id, lambda m: m["boto3_import_cpu_s"]),
        "import_cpu_vs_boto3": median(function_id, lambda m: m["import_cpu_s"] / m["boto3_import_cpu_s"]),
        "first_invoke_s": median(function_id, lambda m: m["invoke_s"]),
    } for function_id in FIRST_EVENTS}


def markdown(table: dict[str, Any]) -> str:
    lines = ["| function | import, wall (s) | ÷ bare `import boto3` | import, CPU (s) | ÷ bare `import boto3` "
             "| first invocation (s) |", "|---|---:|---:|---:|---:|---:|"]
    for function_id, row in table.items():
        lines.append(f"| {function_id} | {row['import_s']:.3f} | {row['import_vs_boto3']:.2f} | "
                     f"{row['import_cpu_s']:.3f} | {row['import_cpu_vs_boto3']:.2f} | {row['first_invoke_s']:.3f} |")
    boto3_wall = statistics.median(row["boto3_import_s"] for row in table.values())
    boto3_cpu = statistics.median(row["boto3_import_cpu_s"] for row in table.values())
    lines.append(f"| bare `import boto3` | {boto3_wall:.3f} | 1 | {boto3_cpu:.3f} | 1 | – |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter of the children (needs the project's dependencies)")
    parser.add_argument("--json", type=Path, help="write the runs and the medians here")
    args = parser.parse_args(argv)
    args.python = os.path.abspath(args.python)  # the children run in the functions' folders; a venv's link stays
    python_version = subprocess.run([args.python, "-c", "import platform; print(platform.python_version())"],
                                    check=True, capture_output=True, text=True).stdout.strip()
    runs = []
    for number in range(1, args.runs + 1):
        runs.append(one_run(args.python))
        print(f"run {number}/{args.runs} done", file=sys.stderr)
    table = summarise(runs)
    print(f"Python {python_version} on {platform.machine()}, {os.cpu_count()} cores, median of {args.runs} runs")
    print(markdown(table))
    if args.json:
        args.json.write_text(json.dumps({"python": python_version, "machine": platform.machine(),
                                         "runs": runs, "median": table}, indent=2) + "\n")


if __name__ == "__main__":
    main()
