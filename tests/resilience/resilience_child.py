"""One Lambda invocation in a process of its own, which may SIGKILL itself at a chosen call.

Run by resilience_process.py as `python resilience_child.py` with a JSON spec on stdin:
  module_file, import_roots   the handler's app.py and its sandbox's folders (code, layers)
  event, remaining_ms         what the handler gets; the context counts down from remaining_ms
  function                    {"name", "arn", "memory_mb"} for the context
  kill                        null, or {"call", "contains", "nth", "phase"}: die on the nth call
                              whose "METHOD /path" (HTTP, requests) or "service:Operation" (AWS,
                              botocore) starts with `call` and whose parameters contain
                              `contains`; "before" it is sent or "after" its answer came back
  sos_page_size               null, or rows per SOS list page (more pages from small data)
  result_file                 where the handler's return value is written as JSON
  started_file                where the wall-clock time the invocation started is written

A SIGKILL is what a Lambda timeout or a crashed sandbox does: no `finally`, no `except`, no
flush of anything in flight. Log lines already written are kept (they reached CloudWatch).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit


class KillSwitch:
    def __init__(self, spec: dict[str, Any] | None):
        self.spec = spec
        self.seen = 0
        self._lock = threading.Lock()

    def matches(self, call: str, parameters: Any) -> bool:
        """Whether this call is the one to die at (counted once per matching call)."""
        spec = self.spec
        if spec is None or not call.startswith(spec["call"]):
            return False
        if spec.get("contains") and spec["contains"] not in json.dumps(parameters, default=str):
            return False
        with self._lock:
            self.seen += 1
            return self.seen == spec["nth"]

    def die(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def install(switch: KillSwitch) -> None:
    import botocore.client
    import requests

    send_request = requests.Session.request
    make_api_call = botocore.client.BaseClient._make_api_call

    def request(self: requests.Session, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        hit = switch.matches(f"{method.upper()} {urlsplit(url).path}", kwargs.get("json"))
        if hit and switch.spec["phase"] == "before":
            switch.die()
        response = send_request(self, method, url, *args, **kwargs)
        if hit:
            switch.die()
        return response

    def api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        hit = switch.matches(f"{self.meta.service_model.service_name}:{operation_name}", api_params)
        if hit and switch.spec["phase"] == "before":
            switch.die()
        answer = make_api_call(self, operation_name, api_params)
        if hit:
            switch.die()
        return answer

    requests.Session.request = request
    botocore.client.BaseClient._make_api_call = api_call


class Context:
    def __init__(self, function: dict[str, Any], remaining_ms: int):
        self.function_name = function["name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = function["arn"]
        self.memory_limit_in_mb = function["memory_mb"]
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function['name']}"
        self.log_stream_name = uuid.uuid4().hex
        self._deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> None:
    spec = json.load(sys.stdin)
    sys.path[:0] = spec["import_roots"]
    install(KillSwitch(spec["kill"]))
    if spec.get("sos_page_size"):
        import sos_wiz_sync.clients.sos as sos_client
        sos_client.PAGE_SIZE = spec["sos_page_size"]
    module_spec = importlib.util.spec_from_file_location("app", spec["module_file"])
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    context = Context(spec["function"], spec["remaining_ms"])
    with open(spec["started_file"], "w") as out:
        json.dump({"started_at": time.time()}, out)  # the invocation's clock starts now
    result = module.handler(spec["event"], context)
    with open(spec["result_file"], "w") as out:
        json.dump(result, out, default=str)


if __name__ == "__main__":
    main()
