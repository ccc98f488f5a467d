"""Logger, metrics and tracer: created once, imported everywhere.

The tracer is built on first use (`from sos_wiz_sync.observability import tracer`): building it
imports and patches the X-Ray SDK, about a fifth of a second of a cold start. That pays where the
time goes to SOS and WizCommerce calls (push, pull, inventory hook); the webhook ingresses answer
after one SQS send and do without it (Lambda's active tracing still records their invocations).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.tracing import Tracer

    tracer: Tracer

logger = Logger()
metrics = Metrics()


def __getattr__(name: str) -> object:
    if name != "tracer":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from aws_lambda_powertools.tracing import Tracer

    globals()["tracer"] = built = Tracer()
    return built
