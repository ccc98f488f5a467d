"""`sos-wiz-ops` against the local runtime: the names come from the runtime (as `--stack` takes
them from a deployed stack), `retry --all` uses the runtime's redrive, because moto has no
StartMessageMoveTask, and `doctor` sees the schedules the runner fires (moto's EventBridge
Scheduler is not used by the runner: schedules fire on demand, not by the clock)."""

from __future__ import annotations

from typing import Any

from sos_wiz_sync.ops.cli import main
from sos_wiz_sync.ops.doctor import ScheduleState, ScheduleView, schedule_stream, wanted_by_parameters
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
    "SosHookSecret": "SOS_HOOK_SECRET_ID",
    "HttpApiUrl": "HTTP_API_URL",
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

    return main(argv, environ=runtime_values(runtime), redrive=redrive, schedules=lambda: schedule_view(runtime))


def schedule_view(runtime: LocalRuntime) -> ScheduleView:
    """The template's schedules as the local runner holds them."""
    schedules = []
    for schedule in runtime.schedules.values():
        stream = schedule_stream(schedule.input)
        schedules.append(ScheduleState(name=schedule.name, stream=stream, enabled=schedule.enabled,
                                       wanted=wanted_by_parameters(stream, runtime.template.parameters)))
    return ScheduleView("local runner: fired on demand, not by the clock", schedules)
