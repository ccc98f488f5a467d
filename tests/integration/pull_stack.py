"""The pull path on the local runtime beside the push path: template.yaml's PullFunction fed by
its schedules through PullQueue, the push path taking WizCommerce's webhooks for our own
writes, moto server and the seeded emulators over HTTP. For tests that must reach into a run
(kill it mid-page, edit SOS while it pages), `in_process()` builds the same pull runtime in
this process from the function's environment."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from push_stack import PushStack, started_push_stack
from sos_wiz_sync.sync.pull import PullRuntime

ENTITY_STREAMS = ("customers", "orders", "invoices", "shipments", "payments", "reconciliation")
SCHEDULES = {"customers": "CustomersPullSchedule", "orders": "OrdersPullSchedule", "invoices": "InvoicesPullSchedule",
             "shipments": "ShipmentsPullSchedule", "payments": "PaymentsPullSchedule",
             "reconciliation": "ReconciliationPullSchedule"}


class PullStack:
    def __init__(self, push: PushStack):
        self.push = push

    def __getattr__(self, name: str) -> Any:
        return getattr(self.push, name)  # sos, wiz, runtime, mappings, state, seeded…

    # -- runs through the template ---------------------------------------------------------------
    def run(self, stream: str) -> dict[str, Any]:
        """Fire the stream's schedule, let PullFunction drain PullQueue; the run's report."""
        self.runtime.fire_schedule(SCHEDULES[stream])
        self.runtime.drain("PullQueue")
        return self.state.recent_reports(stream, limit=1)[0]

    def first_sync(self) -> dict[str, Any]:
        self.runtime.sqs.send_message(QueueUrl=self.runtime.ref("PullQueue"), MessageBody='{"stream": "first-sync"}')
        self.runtime.drain("PullQueue")
        return self.state.recent_reports("first-sync", limit=1)[0]

    def run_all(self) -> dict[str, dict[str, Any]]:
        """Every entity stream once, then WizCommerce's webhooks for our own writes through the
        push path (to SOS they must change nothing), and the push queue drained (reconciliation)."""
        reports = {stream: self.run(stream) for stream in ENTITY_STREAMS}
        self.push.sync()
        return reports

    # -- a run in this process ---------------------------------------------------------------------
    def in_process(self, monkeypatch: pytest.MonkeyPatch) -> PullRuntime:
        for name, value in self.runtime.functions["PullFunction"].environment.items():
            monkeypatch.setenv(name, value)
        return PullRuntime()

    # -- what ended where ----------------------------------------------------------------------------
    def wc_references(self, store) -> Counter:
        return Counter(record["reference_id"] for record in store.values() if record.get("reference_id"))

    def sos_lines(self, items: list[int], quantity: float = 2, unit_price: float = 10.0) -> list[dict]:
        return [{"item": {"id": item}, "quantity": quantity, "unitPrice": unit_price} for item in items]


@pytest.fixture
def pull_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[PullStack]:
    # Reconciliation without a lag: records made by a test are at once "missed" webhooks.
    push = started_push_stack(monkeypatch, first_sync_done=False, parameters={"ReconciliationLagSeconds": "0"})
    yield PullStack(push)
    push.stop()


def context(remaining_ms: int = 900_000):
    """A Lambda context for in-process runs."""
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return remaining_ms
    return Context()

