"""What the ops commands work on: the tables, the dead-letter queues with the queue each one
feeds back, and the pull function's environment (which `diff` plans with).

Everything is named by the environment variables of docs/architecture.md (plus `PULL_DLQ_URL`
and `INVENTORY_HOOK_DLQ_URL`), whatever it came from: the operator's environment, a deployed
stack's outputs and its PullFunction's configuration, or the local runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Stack output → variable. The rest of what `diff` needs (SOS/WC URLs and secrets) comes from
# the deployed PullFunction's own environment, so it plans with exactly what the function runs with.
STACK_OUTPUTS = {
    "MappingsTableName": "MAPPINGS_TABLE",
    "StateTableName": "STATE_TABLE",
    "PushQueueUrl": "PUSH_QUEUE_URL",
    "PushDLQUrl": "PUSH_DLQ_URL",
    "PullQueueUrl": "PULL_QUEUE_URL",
    "PullDLQUrl": "PULL_DLQ_URL",
    "InventoryHookQueueUrl": "INVENTORY_HOOK_QUEUE_URL",
    "InventoryHookDLQUrl": "INVENTORY_HOOK_DLQ_URL",
    # what `doctor` checks besides: the hook's token secret and the URLs WizCommerce and SOS call
    "SosHookSecretArn": "SOS_HOOK_SECRET_ID",
    "HttpApiUrl": "HTTP_API_URL",
    "WebhookUrl": "WEBHOOK_URL",
}
PULL_FUNCTION = "PullFunction"

# name shown to the operator → (DLQ variable, variable of the queue a retry sends back to)
DEAD_LETTER_QUEUES = {
    "push": ("PUSH_DLQ_URL", "PUSH_QUEUE_URL"),
    "pull": ("PULL_DLQ_URL", "PULL_QUEUE_URL"),
    "inventory-hook": ("INVENTORY_HOOK_DLQ_URL", "INVENTORY_HOOK_QUEUE_URL"),
}


class TargetsError(ValueError):
    """A table or queue the command needs was not named anywhere."""


@dataclass(frozen=True)
class DeadLetterQueue:
    name: str
    url: str
    source_url: str  # where a retry puts its messages back


@dataclass(frozen=True)
class OpsTargets:
    values: Mapping[str, str]

    def require(self, name: str) -> str:
        value = self.values.get(name)
        if not value:
            raise TargetsError(f"{name} is not set: pass --stack, the matching flag, or export {name}")
        return value

    @property
    def mappings_table(self) -> str:
        return self.require("MAPPINGS_TABLE")

    @property
    def state_table(self) -> str:
        return self.require("STATE_TABLE")

    def dead_letter_queues(self, only: str | None = None) -> list[DeadLetterQueue]:
        """The DLQs that are configured (the hook's exists only when the hook is deployed)."""
        names = [only] if only else list(DEAD_LETTER_QUEUES)
        queues = []
        for name in names:
            dlq_variable, source_variable = DEAD_LETTER_QUEUES[name]
            if self.values.get(dlq_variable) or only:
                queues.append(DeadLetterQueue(name, self.require(dlq_variable), self.require(source_variable)))
        return queues


def stack_values(cloudformation: Any, lambda_client: Any, stack_name: str) -> dict[str, str]:
    """A deployed stack's tables and queues (its outputs) and its PullFunction's environment."""
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    function = cloudformation.describe_stack_resource(StackName=stack_name, LogicalResourceId=PULL_FUNCTION)
    configuration = lambda_client.get_function_configuration(
        FunctionName=function["StackResourceDetail"]["PhysicalResourceId"])
    outputs = {STACK_OUTPUTS[o["OutputKey"]]: o["OutputValue"] for o in stack.get("Outputs", [])
               if o["OutputKey"] in STACK_OUTPUTS}
    return {**configuration.get("Environment", {}).get("Variables", {}), **outputs}
