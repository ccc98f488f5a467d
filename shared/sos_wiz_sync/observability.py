"""Logger, metrics and tracer: created once, imported everywhere.

The tracer is built on first use (`from sos_wiz_sync.observability import tracer`): building it
imports and patches the X-Ray SDK, about a fifth of a second of a cold start. That pays where the
time goes to SOS and WizCommerce calls (push, pull, inventory hook); the webhook ingresses answer
after one SQS send and do without it (Lambda's active tracing still records their invocations).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import MetricUnit, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.tracing import Tracer

    tracer: Tracer

logger = Logger()
metrics = Metrics()
_metrics_lock = threading.Lock()


def add_metric(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    """`metrics.add_metric`, safe from threads (the push's message groups run side by side, and
    its SOS budget reports the rate in force from any of them): it is a read-modify-write of the
    metric set."""
    with _metrics_lock:
        metrics.add_metric(name=name, unit=unit, value=value)


def __getattr__(name: str) -> object:
    if name != "tracer":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from aws_lambda_powertools.tracing import Tracer

    globals()["tracer"] = built = Tracer()
    return built
