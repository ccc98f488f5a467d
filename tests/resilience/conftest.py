"""The resilience suite (issue 9): the failure model of DESIGN.md proven on the local stack —
redelivery, outages, kills, fuzzed webhooks, and no secret or personal data in any log line.

The functions run in containers, as many at once as on Lambda (issue 13): four push containers
(PushMaxConcurrency), two for each other SQS consumer, so the races between parallel
invocations happen here as they would on AWS.

Sizes: `default` keeps the whole suite within a few minutes on two cores (it runs in `make
test`); `full` (`--resilience-scale=full` or RESILIENCE_SCALE=full) is what
`benchmarks/resilience.py` runs for docs/reliability.md. With RESILIENCE_FIGURES=<path> the
measured figures are written there as JSON at the end of the session.

Every test that starts a stack through `make_stack` has its log lines scanned when it ends: a
secret or a piece of personal data in any of them fails the test (at teardown).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The push and pull stacks of the push/pull path tests (issues 5 and 6) are reused, not copied.
sys.path.insert(0, str(ROOT / "tests" / "integration"))

import push_stack as push_stack_module  # noqa: E402
from push_stack import PushStack, started_push_stack  # noqa: E402
from resilience_logs import LogJournal, find_leaks  # noqa: E402
from resilience_stack import RequestJournal, needles  # noqa: E402


@dataclass(frozen=True)
class Scale:
    name: str
    redelivery_events: int      # distinct WC events, each delivered DELIVERIES times
    outage_events: int
    kill_rounds: int            # kills per pull stream, each at a seeded point
    pull_records: int           # new SOS records per kill round (customers, orders)
    fuzz_examples: int


SCALES = {
    "default": Scale("default", redelivery_events=200, outage_events=60, kill_rounds=3, pull_records=40,
                     fuzz_examples=1_000),
    "full": Scale("full", redelivery_events=1_000, outage_events=300, kill_rounds=10, pull_records=120,
                  fuzz_examples=10_000),
}


@pytest.fixture(scope="session")
def scale(request: pytest.FixtureRequest) -> Scale:
    name = request.config.getoption("--resilience-scale") or os.environ.get("RESILIENCE_SCALE") or "default"
    if name not in SCALES:
        raise pytest.UsageError(f"RESILIENCE_SCALE={name!r}: expected one of {', '.join(SCALES)}")
    return SCALES[name]


class Figures:
    """What the scenarios measured, by scenario, for docs/reliability.md."""

    def __init__(self, scale: Scale):
        self.scale = scale
        self.scenarios: dict[str, dict[str, Any]] = {}

    def record(self, scenario: str, **numbers: Any) -> None:
        self.scenarios.setdefault(scenario, {}).update(numbers)

    def add(self, scenario: str, **numbers: float) -> None:
        entry = self.scenarios.setdefault(scenario, {})
        for name, value in numbers.items():
            entry[name] = entry.get(name, 0) + value

    def maximum(self, scenario: str, **numbers: float) -> None:
        entry = self.scenarios.setdefault(scenario, {})
        for name, value in numbers.items():
            entry[name] = max(entry.get(name, value), value)


@pytest.fixture(scope="session")
def figures(scale: Scale) -> Iterator[Figures]:
    found = Figures(scale)
    yield found
    target = os.environ.get("RESILIENCE_FIGURES")
    if target:
        Path(target).write_text(json.dumps({"scale": asdict(scale), "scenarios": found.scenarios}, indent=2,
                                           sort_keys=True))


# The figure: four push containers at once (the template's default is two).
PUSH_CONTAINERS = "4"


@pytest.fixture(autouse=True)
def log_journal() -> Iterator[LogJournal]:
    """Every log line written during the test (this process's; the containers and child
    processes add theirs)."""
    journal = LogJournal()
    with journal.installed():
        yield journal


@dataclass
class WatchedStack:
    """A started push stack with journals of what each emulator was asked."""

    stack: PushStack
    sos_requests: RequestJournal
    wiz_requests: RequestJournal


@pytest.fixture
def make_stack(monkeypatch: pytest.MonkeyPatch, log_journal: LogJournal,
               figures: Figures) -> Iterator[Callable[..., WatchedStack]]:
    """Start push stacks (seeded emulators, template.yaml on moto) for this test; when it ends,
    scan every log line it wrote for the stacks' secrets and personal data."""
    started: list[PushStack] = []

    def start(*, items: int | None = None, customers: int | None = None, parameters: dict[str, str] | None = None,
              **options: Any) -> WatchedStack:
        if items is not None:
            monkeypatch.setattr(push_stack_module, "SEED_ITEMS", items)
        if customers is not None:
            monkeypatch.setattr(push_stack_module, "SEED_CUSTOMERS", customers)
        stack = started_push_stack(monkeypatch, containers=True,
                                   parameters={"PushMaxConcurrency": PUSH_CONTAINERS, **(parameters or {})}, **options)
        stack.runtime.output_listeners.append(log_journal.add_output)
        started.append(stack)
        return WatchedStack(stack, RequestJournal(stack.sos), RequestJournal(stack.wiz))

    yield start
    try:
        if started:
            watched = needles(*started)
            leaks = find_leaks(log_journal.lines, watched)
            figures.add("security", log_lines_scanned=len(log_journal.lines), values_watched=len(watched),
                        leaks=len(leaks))
            assert not leaks, "\n".join(str(leak) for leak in leaks[:10])
    finally:
        for stack in started:
            stack.stop()
