"""Lambda containers for the local runtime: one function's sandbox as an OS process of its own.

The runtime (`local/runner.py`, `LocalRuntime(containers=True)`) starts this file as a script,
`python -u -P container.py <answers fd>`, with exactly the function's environment. The process
puts the function's code and layer folders first on sys.path (and makes every other function's
folders unimportable), imports the handler once — its cold start — and then serves invocations
one at a time, keeping whatever the handler keeps warm, as a Lambda execution environment does.

Protocol: JSON lines. The runtime writes the container's spec and then one request per line to
its stdin; the container writes one answer per line to the answers pipe (id 0 answers the cold
start). The container's stdout and stderr, one stream as in CloudWatch, are its log: before each
answer it writes a sync line there, so the runtime has forwarded every log line of an invocation
before the invocation returns.

This file imports nothing from the project (it runs before any of its folders are on sys.path):
the runtime's side of the protocol (`Container`, `ContainerPool`) is here too, beside the child's.
"""

from __future__ import annotations

import importlib
import importlib.abc
import json
import os
import queue
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

# Lambda gives a cold start 10 s; a loaded two-core machine running three test suites needs more.
INIT_TIMEOUT_SECONDS = 60
_STOP_GRACE_SECONDS = 5
_PARENT_CHECK_SECONDS = 0.5


class InvocationError(RuntimeError):
    """The invocation failed the way Lambda itself reports it (not the handler's own error)."""


class HandlerImportError(InvocationError):
    """Runtime.ImportModuleError / HandlerNotFound: the cold start could not find the handler."""


class FunctionTimeout(InvocationError):
    """The handler ran longer than the function's Timeout."""


def import_module_error(function_id: str, location: str, error: str) -> HandlerImportError:
    return HandlerImportError(f"{function_id}: Runtime.ImportModuleError in {location}: {error}")


def handler_not_found(function_id: str, handler: str, location: str) -> HandlerImportError:
    name = handler.rpartition(".")[2]
    return HandlerImportError(f"{function_id}: Handler {handler!r}: {location} has no function {name!r}")


class HandlerError(Exception):
    """What a handler running in a container raised, as Lambda reports it: its type, message and
    stack trace (the exception object itself stays in the container)."""

    def __init__(self, function_id: str, error_type: str, message: str, stack_trace: list[str]):
        super().__init__(f"{function_id}: {error_type}: {message}")
        self.error_type = error_type
        self.error_message = message
        self.stack_trace = stack_trace


class UnimportableModules(importlib.abc.MetaPathFinder):
    """Makes `import name` fail as in a sandbox that lacks the folder providing it."""

    def __init__(self, names: frozenset[str]):
        self._names = names

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.partition(".")[0] in self._names:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


@dataclass(frozen=True)
class FunctionIdentity:
    """What the context tells a handler of its function."""

    name: str
    arn: str
    megabytes: int  # its MemorySize


class LambdaContext:
    """The `context` argument the Python runtime passes; the clock starts at the invocation."""

    def __init__(self, function: FunctionIdentity, timeout: float):
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        self.memory_limit_in_mb = function.megabytes
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = f"{datetime.now(timezone.utc):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def lambda_json_default(value: Any) -> Any:
    """The Python runtime's own encoder: Decimals become numbers, anything else odd fails."""
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def marshal_result(result: Any) -> Any:
    """The handler's result as the caller gets it; TypeError when Lambda could not send it."""
    return json.loads(json.dumps(result, default=lambda_json_default))


@dataclass(frozen=True)
class ContainerSetup:
    """Code run in every container before its cold start, as a Lambda wrapper script would run:
    `function` of the Python file `path`, called with `arguments` (JSON values). For a test's
    instruments (e.g. a compressed backoff); the file can import only what the function can."""

    path: str
    function: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerSpec:
    """What a container needs to know of its function (sent as the first line of its stdin)."""

    function_id: str
    identity: FunctionIdentity
    handler: str
    location: str  # the handler's file, for error messages
    import_roots: list[str]
    foreign_modules: list[str]
    setup: list[ContainerSetup]


# -- the runtime's side ------------------------------------------------------------------------

class Container:
    """One running execution environment of a function. `start()` is its cold start; then
    `invoke()` serves one invocation at a time; a timeout or a crash kills it for good."""

    def __init__(self, spec: ContainerSpec, environment: dict[str, str], forward_output: Callable[[str], None]):
        self.spec = spec
        self._environment = environment
        self._forward_output = forward_output
        self._process: subprocess.Popen | None = None
        self._answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._log_synced = threading.Condition()
        self._synced_id = -1
        self._log_ended = False
        self._marker = f"\x1econtainer-sync {uuid.uuid4().hex} "
        self._next_id = 0

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the process and wait for its cold start; HandlerImportError if it failed."""
        answers_read, answers_write = os.pipe()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-u", "-P", __file__, str(answers_write)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self._environment,
                pass_fds=(answers_write,), text=True, encoding="utf-8", errors="replace")
        finally:
            os.close(answers_write)
        answers = os.fdopen(answers_read, encoding="utf-8")
        name = f"container-{self.spec.function_id}-{self._process.pid}"
        threading.Thread(target=self._read_answers, args=(answers,), name=f"{name}-answers", daemon=True).start()
        threading.Thread(target=self._read_log, name=f"{name}-log", daemon=True).start()
        spec = {**asdict(self.spec), "marker": self._marker, "parent_pid": os.getpid()}
        answer = self._exchange(spec, INIT_TIMEOUT_SECONDS)
        if "import_error" in answer:
            self.stop()
            raise import_module_error(self.spec.function_id, self.spec.location, answer["import_error"])
        if "handler_not_found" in answer:
            self.stop()
            raise handler_not_found(self.spec.function_id, self.spec.handler, self.spec.location)

    def invoke(self, event_json: str, timeout: float) -> Any:
        """The handler's JSON result. HandlerError: it raised; FunctionTimeout: it ran past
        `timeout` and the container was killed; InvocationError: the container died or the
        result could not be marshalled."""
        answer = self._exchange({"event": event_json, "timeout": timeout}, timeout)
        if "error" in answer:
            error = answer["error"]
            raise HandlerError(self.spec.function_id, error["type"], error["message"], error["stack_trace"])
        if "marshal_error" in answer:
            raise InvocationError(f"{self.spec.function_id}: Runtime.MarshalError: {answer['marshal_error']}")
        return answer["result"]

    def stop(self) -> None:
        """Close its stdin (it exits when idle), then kill it if it does not."""
        if self._process is None:
            return
        try:
            self._process.stdin.close()
        except OSError:
            pass
        try:
            self._process.wait(_STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def _exchange(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        request_id = self._next_id
        self._next_id += 1
        try:
            self._process.stdin.write(json.dumps({"id": request_id, **request}) + "\n")
            self._process.stdin.flush()
        except OSError:
            pass  # it died: the answer below says how
        try:
            answer = self._answers.get(timeout=timeout)
        except queue.Empty:
            self.kill()  # as Lambda stops a sandbox whose invocation times out
            self._wait_for_log(request_id)
            raise FunctionTimeout(f"{self.spec.function_id}: Task timed out after {timeout:g} seconds") from None
        self._wait_for_log(request_id)
        if answer is None:
            code = self._process.wait()
            raise InvocationError(f"{self.spec.function_id}: Runtime.ExitError: the container exited "
                                  f"(code {code}) during {'its cold start' if request_id == 0 else 'an invocation'}")
        return answer

    def _read_answers(self, answers: Any) -> None:
        with answers:
            for line in answers:
                self._answers.put(json.loads(line))
        self._answers.put(None)

    def _read_log(self) -> None:
        for line in self._process.stdout:
            if line.startswith(self._marker):
                with self._log_synced:
                    self._synced_id = int(line[len(self._marker):])
                    self._log_synced.notify_all()
            else:
                self._forward_output(line)
        with self._log_synced:
            self._log_ended = True
            self._log_synced.notify_all()

    def _wait_for_log(self, request_id: int) -> None:
        """Until every log line the container wrote before answering `request_id` is forwarded."""
        with self._log_synced:
            self._log_synced.wait_for(lambda: self._synced_id >= request_id or self._log_ended)


class ContainerPool:
    """The containers of one function: at most `size` at once, each serving one invocation at a
    time. An idle container is reused (warm); when none is idle and fewer than `size` exist, a new
    one is started (a cold start); otherwise the invocation waits for one to be free."""

    def __init__(self, size: int, start: Callable[[], Container]):
        self.size = size
        self._start = start
        self._idle: list[Container] = []
        self._all: set[Container] = set()
        self._starting = 0
        self._generation = 0
        self._changed = threading.Condition()
        self._closed = False

    @contextmanager
    def container(self) -> Iterator[Container]:
        with self._changed:
            self._changed.wait_for(lambda: self._closed or self._idle or len(self._all) + self._starting < self.size)
            if self._closed:
                raise InvocationError("the local runtime is stopped")
            container = self._idle.pop() if self._idle else None  # the most recently used: warm
            generation = self._generation
            if container is None:
                self._starting += 1
        if container is None:
            container = self._cold_start()
        try:
            yield container
        finally:
            with self._changed:
                keep = container.alive and generation == self._generation and not self._closed
                if keep:
                    self._idle.append(container)
                else:
                    self._all.discard(container)
                self._changed.notify()
            if not keep:
                container.stop()

    def recycle(self) -> None:
        """Stop the idle containers, and the busy ones when their invocation ends."""
        with self._changed:
            self._generation += 1
            idle, self._idle = self._idle, []
            self._all.difference_update(idle)
            self._changed.notify_all()
        for container in idle:
            container.stop()

    def close(self) -> None:
        """Kill every container, busy or not."""
        with self._changed:
            self._closed = True
            containers, self._idle = list(self._all), []
            self._all.clear()
            self._changed.notify_all()
        for container in containers:
            container.kill()

    def _cold_start(self) -> Container:
        container = None
        try:
            container = self._start()
        finally:
            with self._changed:
                self._starting -= 1
                if container is not None:
                    self._all.add(container)
                self._changed.notify()
        return container


# -- the container's side ----------------------------------------------------------------------

def _serve(answers_fd: int) -> None:
    answers = os.fdopen(answers_fd, "w", encoding="utf-8")
    spec = json.loads(sys.stdin.readline())
    threading.Thread(target=_exit_with_parent, args=(spec["parent_pid"],), daemon=True).start()

    def answer(request_id: int, **content: Any) -> None:
        # Log lines first, then the sync line, then the answer: the runtime forwards in order.
        sys.stdout.flush()
        sys.stderr.flush()
        os.write(1, f"{spec['marker']}{request_id}\n".encode())
        answers.write(json.dumps({"id": request_id, **content}) + "\n")
        answers.flush()

    sys.path[:0] = spec["import_roots"]
    sys.meta_path.insert(0, UnimportableModules(frozenset(spec["foreign_modules"])))
    for setup in spec["setup"]:
        _run_setup(setup)
    module_name, _, function_name = spec["handler"].rpartition(".")
    try:  # the cold start, as Lambda's Python runtime does it: "app.handler" → `import app`
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - Runtime.ImportModuleError, whatever the module raised
        answer(spec["id"], import_error=f"{type(error).__name__}: {error}")
        return
    handler = getattr(module, function_name, None)
    if not callable(handler):
        answer(spec["id"], handler_not_found=True)
        return
    answer(spec["id"], ready=True)
    identity = FunctionIdentity(**spec["identity"])
    for line in sys.stdin:
        request = json.loads(line)
        context = LambdaContext(identity, request["timeout"])
        try:
            result = handler(json.loads(request["event"]), context)
        except Exception as error:  # noqa: BLE001 - reported as Lambda reports an unhandled error
            stack = traceback.format_exception(error)
            print(f"[ERROR] {type(error).__name__}: {error}\n{''.join(stack)}", file=sys.stderr)
            answer(request["id"], error={"type": type(error).__name__, "message": str(error), "stack_trace": stack})
            continue
        try:
            answer(request["id"], result=marshal_result(result))
        except TypeError as error:
            answer(request["id"], marshal_error=str(error))


def _run_setup(setup: dict[str, Any]) -> None:
    namespace: dict[str, Any] = {"__name__": "_container_setup", "__file__": setup["path"]}
    exec(compile(Path(setup["path"]).read_text(), setup["path"], "exec"), namespace)  # noqa: S102 - the runtime's own setup
    namespace[setup["function"]](**setup["arguments"])


def _exit_with_parent(parent_pid: int) -> None:
    """A container never outlives its runtime (killed with SIGKILL, the runtime closes nothing)."""
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(1)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
