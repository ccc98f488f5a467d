"""Invoking a template function in a child process that can be killed mid-work (see
resilience_child.py): the same handler file, the environment template.yaml gives it, the
runtime's moto and emulators — only the process is its own, so a SIGKILL stops it dead."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.runner import LocalRuntime
from resilience_logs import LogJournal

CHILD = Path(__file__).with_name("resilience_child.py")
CHILD_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Kill:
    """Die at the `nth` call starting with `call` ("POST /v1/customers", "dynamodb:PutItem")
    whose parameters contain `contains`, `phase` "before" it is sent or "after" its answer."""

    call: str
    nth: int
    phase: str
    contains: str | None = None

    def __str__(self) -> str:
        where = f" with {self.contains!r}" if self.contains else ""
        return f"{self.phase} call #{self.nth} of {self.call}{where}"


@dataclass(frozen=True)
class ChildRun:
    returncode: int
    result: Any
    started_at: float  # wall clock (time.time()) when the handler was called

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL


def invoke_in_child(runtime: LocalRuntime, function_id: str, event: Any, journal: LogJournal, *,
                    kill: Kill | None = None, remaining_ms: int | None = None,
                    sos_page_size: int | None = None) -> ChildRun:
    """Run the function's handler once in a child process; its output joins the log journal."""
    function = runtime.functions[function_id]
    with tempfile.TemporaryDirectory() as folder:
        result_file, started_file = Path(folder) / "result.json", Path(folder) / "started.json"
        spec = {"module_file": str(function.module_file), "import_roots": [str(p) for p in function.import_roots],
                "event": event, "remaining_ms": remaining_ms or int(function.timeout * 1000),
                "function": {"name": function.name, "arn": function.arn, "memory_mb": function.memory_mb},
                "kill": None if kill is None else {"call": kill.call, "contains": kill.contains, "nth": kill.nth,
                                                   "phase": kill.phase},
                "sos_page_size": sos_page_size, "result_file": str(result_file), "started_file": str(started_file)}
        environment = runtime._environment(function, dict(os.environ))  # noqa: SLF001 - what invoke() gives it
        done = subprocess.run([sys.executable, str(CHILD)], input=json.dumps(spec), capture_output=True, text=True,
                              env=environment, timeout=CHILD_TIMEOUT_SECONDS, check=False)
        journal.add_output(done.stdout)
        journal.add_output(done.stderr)
        if done.returncode not in (0, -signal.SIGKILL):
            raise AssertionError(f"{function_id} failed in its child process ({done.returncode}):\n"
                                 f"{done.stderr[-3000:]}")
        result = json.loads(result_file.read_text()) if result_file.exists() else None
        started_at = json.loads(started_file.read_text())["started_at"]
    return ChildRun(done.returncode, result, started_at)
