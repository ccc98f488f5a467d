"""The local stack the resilience scenarios run on: the push stack of the push path tests
(tests/integration/push_stack.py: template.yaml's functions on moto, SOS and WizCommerce
emulators over HTTP), plus what a resilience test needs to watch and to bend it:

- `RequestJournal`: every request an emulator served, in order, with its JSON body, status and
  time — the independent record of what SOS was actually told (no stale overwrite, no second
  create) and of how clients waited after a 429;
- `forget_fifo_deduplication`: SQS FIFO drops a resend with the same deduplication id for five
  minutes; replays "hours later" are new messages. This makes every delivery one of those;
- `compress_backoff`: urllib3's exponential backoff between retries runs `factor` times as long
  in the functions' containers (Retry-After waits stay real);
- `needles`: the secrets and personal data no log line may contain.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from moto.sqs import models as moto_sqs_models

import local.aws
from local.runner import ContainerSetup, LocalRuntime
from push_stack import PushStack
from resilience_logs import Needles

BACKOFF_IN_CONTAINERS = Path(__file__).with_name("resilience_backoff.py")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Served:
    at: float                 # time.monotonic() when the request came in
    method: str
    path: str
    status: int
    body: Any                 # the request's JSON body (None if none or not JSON)
    headers: dict[str, str] = field(default_factory=dict)  # the answer's headers
    answer: bytes = b""       # the answer's body, for error answers only
    query: str = ""           # the request's query string
    answered_at: float = 0.0  # time.monotonic() when the answer was handed back

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def applied(self) -> bool:
        """Whether the emulator applied it: a success, or a write answered with an injected 5xx
        after it was applied (the emulators' `inject_write_then_5xx`)."""
        return self.ok or b"after the write" in self.answer


class RequestJournal:
    """WSGI middleware around an emulator's Flask app: the emulator is left as it is.

    A write the emulator applied and then answered with an injected 5xx is journaled with that
    5xx: the journal records what the client saw; the emulator's state says what was applied."""

    def __init__(self, emulator: Any):
        self.entries: list[Served] = []
        self._app = emulator.app.wsgi_app
        self._lock = threading.Lock()
        emulator.app.wsgi_app = self

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        at = time.monotonic()
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        answer: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = self._app(environ, capture)
        status = answer.get("status", 0)
        error_answer = b""
        if not 200 <= status < 300:  # small JSON errors: read them, as the client does
            try:
                error_answer = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
            result = [error_answer]
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self._lock:
            self.entries.append(Served(at, environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), status, body,
                                       answer.get("headers", {}), error_answer, environ.get("QUERY_STRING", ""),
                                       time.monotonic()))
        return result

    def served(self, method: str | None = None, path_prefix: str = "", *, applied: bool | None = None
               ) -> list[Served]:
        with self._lock:
            entries = list(self.entries)
        return [entry for entry in entries
                if (method is None or entry.method == method) and entry.path.startswith(path_prefix)
                and (applied is None or entry.applied == applied)]


def forget_fifo_deduplication(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every resend of a deduplication id reaches the FIFO queue, as it would after SQS's
    five-minute window (local/aws.py keeps moto faithful to that window; this closes it)."""
    monkeypatch.setattr(local.aws, "_DEDUP_WINDOW_MS", 0)
    monkeypatch.setattr(moto_sqs_models, "DEDUPLICATION_TIME_IN_SECONDS", 0)


@dataclass(frozen=True)
class Backoff:
    """Where the containers write the backoffs urllib3 would have slept."""

    record: Path

    @property
    def intended(self) -> list[float]:
        """Seconds, before compression."""
        return [float(line) for line in self.record.read_text().split()] if self.record.exists() else []


def compress_backoff(runtime: LocalRuntime, factor: float, folder: Path) -> Backoff:
    """urllib3's exponential backoff (0, 1, 2, 4, 8 s + jitter for the clients' five retries)
    sleeps `factor` of its time in every container of the runtime from now on (resilience_backoff.py),
    so an outage costs the suite seconds, not minutes. The number of retries and every Retry-After
    wait are unchanged."""
    backoff = Backoff(folder / "backoffs.txt")
    runtime.container_setup.append(ContainerSetup(str(BACKOFF_IN_CONTAINERS), "compress_backoff",
                                                  {"factor": factor, "record": str(backoff.record)}))
    runtime.recycle()  # a container started before would keep the real backoff
    return backoff


def issued_sos_tokens(sos: Any) -> list[str]:
    """Every access and refresh token the SOS emulator ever issued (refreshes rotate them)."""
    with sos.lock:
        return [*sos._access_tokens, *sos._refresh_tokens]  # noqa: SLF001 - the emulator's own record


def needles(*stacks: PushStack) -> Needles:
    """What no log line of these stacks may contain: every secret value (as Secrets Manager holds
    it now, the emulators' credentials, every SOS token ever issued) and the personal data both
    emulators hold."""
    found = Needles()
    for stack in stacks:
        runtime = stack.runtime
        current = {}
        for secret in runtime.template.resources("AWS::SecretsManager::Secret"):
            value = runtime.secretsmanager.get_secret_value(SecretId=runtime.ref(secret)).get("SecretString")
            if value:
                current[secret] = value
        found.secrets_of(current)
        found.secrets_of({"SosEmulator": {"client_secret": stack.sos.client_secret},
                          "WizEmulator": {"api_key": stack.wiz.api_key}})
        found.add("secret", "SOS OAuth token", issued_sos_tokens(stack.sos))
        found.personal_data_of(stack.sos, stack.wiz)
    return found


def drain_until_settled(stack: PushStack, *, wait_seconds: float) -> int:
    """Drain the push queue until nothing is left in it, in flight or delayed (a failed message
    comes back after the runtime's retry visibility); returns how many messages were handled."""
    handled = 0
    while True:
        handled += stack.runtime.drain("PushQueue", wait_seconds=wait_seconds).received
        if stack.runtime.queue_counts("PushQueue").total == 0:
            return handled
