"""`sos-wiz-ops` against the local runtime: the names come from the runtime (as `--stack` takes
them from a deployed stack), and `retry --all` uses the runtime's redrive, because moto has no
StartMessageMoveTask."""

from __future__ import annotations

from typing import Any

from sos_wiz_sync.ops.cli import main
from sos_wiz_sync.ops.targets import DeadLetterQueue

from .runner import LocalRuntime

# logical id → the variable sos-wiz-ops knows it by (the stack outputs' names, docs/architecture.md)
RESOURCE_VARIABLES = {
    "MappingsTable": "MAPPINGS_TABLE",
    "StateTable": "STATE_TABLE",
    "PushQueue": "PUSH_QUEUE_URL",
    "PushDLQ": "PUSH_DLQ_URL",
    "PullQueue": "PULL_QUEUE_URL",
    "PullDLQ": "PULL_DLQ_URL",
    "InventoryHookQueue": "INVENTORY_HOOK_QUEUE_URL",
    "InventoryHookDLQ": "INVENTORY_HOOK_DLQ_URL",
}


def runtime_values(runtime: LocalRuntime) -> dict[str, str]:
    """What `--stack` gives on AWS: the PullFunction's environment and the tables and queues."""
    outputs = runtime.outputs()
    return {**runtime.functions["PullFunction"].environment,
            **{variable: outputs[logical_id] for logical_id, variable in RESOURCE_VARIABLES.items()
               if logical_id in outputs}}


def run(runtime: LocalRuntime, argv: list[str]) -> int:
    """sos-wiz-ops `argv` on the local runtime (boto3 in this process must point at its moto)."""
    by_url = {queue.url: logical_id for logical_id, queue in runtime.queues.items()}

    def redrive(_sqs: Any, dlq: DeadLetterQueue) -> dict[str, Any]:
        return {"queue": dlq.name, "moved": runtime.redrive(by_url[dlq.url])}

    return main(argv, environ=runtime_values(runtime), redrive=redrive)
