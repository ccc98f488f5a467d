"""The local stack with SOS's quantity hook wired up (R-INV-6): the embedded stack (moto and both
emulators), template.yaml run by the runner behind its HTTP API front, SQS pollers on, and the
SOS emulator subscribed to the hook URL by the real subscription command — so a quantity change
in the SOS emulator travels hook → ingress → coalescing queue → worker → WizCommerce emulator.
Used by the end-to-end tests and benchmarks/inventory_hook.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from .runner import LocalRuntime
from .stack import EmbeddedStack

ROOT = Path(__file__).resolve().parents[1]
HOOK_QUEUE = "InventoryHookQueue"


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def subscriptions_command(runtime: LocalRuntime, embedded: EmbeddedStack, api_url: str, *args: str) -> dict[str, Any]:
    """The hook subscription command (`subscribe`, `list`, ...) for the stack whose HTTP API is
    at `api_url`, run as an operator runs it after a deploy, with the environment the functions get."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT / "shared"), **runtime.aws_environment(),
           "SOS_SECRET_ID": runtime.ref("SosSecret"), "SOS_HOOK_SECRET_ID": runtime.ref("SosHookSecret"),
           "STATE_TABLE": runtime.ref("StateTable"), "SOS_API_BASE_URL": embedded.endpoints.sos_api,
           "SOS_TOKEN_URL": embedded.endpoints.sos_token}
    done = subprocess.run([sys.executable, "-m", "sos_wiz_sync.hook.subscriptions", *args, "--api-url", api_url],
                          env=env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"subscriptions {' '.join(args)} failed: {done.stderr}")
    return json.loads(done.stdout)


class HookedStack:
    def __init__(self, *, items: int = 200, window_seconds: int = 5, latency_ms: int = 0,
                 poll_interval_seconds: float = 0.05, parameters: Mapping[str, str] | None = None,
                 containers: bool = True):
        """`parameters`: template parameter overrides on top of the emulators' endpoints;
        `containers`: the functions run in containers, in parallel as on Lambda (else in this
        process, one at a time)."""
        self.embedded = EmbeddedStack(items=items, customers=5, latency_ms=latency_ms)
        self.sos, self.wiz = self.embedded.sos, self.embedded.wiz
        self.window_seconds = window_seconds
        self._parameters = dict(parameters or {})
        self._poll_interval = poll_interval_seconds
        self._containers = containers
        self.runtime: LocalRuntime | None = None
        self.api_url = ""

    def start(self) -> "HookedStack":
        endpoints = self.embedded.start()
        self.runtime = LocalRuntime(
            ROOT / "template.yaml", stack_name=f"hooked-{uuid.uuid4().hex[:6]}", endpoint_url=endpoints.aws,
            parameters={**self.embedded.parameter_overrides(), "CoalesceWindowSeconds": str(self.window_seconds),
                        **self._parameters},
            secret_values=self.embedded.secret_values(), containers=self._containers)
        self.runtime.start()
        self.api_url = self.runtime.start_http()
        self.subscriptions_command("subscribe")
        self.runtime.start_pollers(interval_seconds=self._poll_interval)
        return self

    def stop(self) -> None:
        if self.runtime is not None:
            self.runtime.stop()
        self.embedded.stop()

    def __enter__(self) -> "HookedStack":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- operating it ----------------------------------------------------------------------------
    def subscriptions_command(self, *args: str) -> dict[str, Any]:
        """`python -m sos_wiz_sync.hook.subscriptions ... --api-url` as an operator runs it after
        a deploy, with the environment the functions get."""
        return subscriptions_command(self.runtime, self.embedded, self.api_url, *args)

    def token(self) -> str:
        secret = self.runtime.secretsmanager.get_secret_value(SecretId=self.runtime.ref("SosHookSecret"))
        return json.loads(secret["SecretString"])["token"]

    def hook_queue_empty(self) -> bool:
        return self.runtime.queue_counts(HOOK_QUEUE).total == 0

    def start_of_a_window(self) -> None:
        """Sleep into the next coalescing window, so a burst shorter than W falls in one."""
        now = time.time()
        time.sleep(-(-now // self.window_seconds) * self.window_seconds - now + 0.05)

    # -- what the emulators and the state table hold ----------------------------------------------
    def wc_levels(self, item_id: int) -> dict[str, float]:
        """WizCommerce's inventory of the item's SKU, in InventoryLevels' terms."""
        record = self.wiz.inventories[self.sos.items[item_id]["sku"]]
        return {"available": record["available_quantity"], "back_order": record["back_order_quantity"],
                "on_order": sum(entry["quantity"] for entry in record["on_order_details"])}

    def latest_report(self, stream: str) -> dict[str, Any] | None:
        items = self.runtime.dynamodb.query(
            TableName=self.runtime.ref("StateTable"), KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"RUN#{stream}"}}, ScanIndexForward=False, Limit=1)["Items"]
        deserializer = TypeDeserializer()
        return {key: deserializer.deserialize(value) for key, value in items[0].items()} if items else None
