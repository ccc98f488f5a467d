"""PullFunction: Scheduler (via PullQueue) → one pull stream run, SOS → WizCommerce; and the
daily ledger (R-OPS-4), {"stream": "ledger"}, which reads both systems and writes nothing to them."""

import os

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import SQSEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from sos_wiz_sync.observability import logger, metrics, tracer
from sos_wiz_sync.sync.deps import PullDeps
from sos_wiz_sync.sync.pull import PullRuntime

LEDGER = "ledger"  # sos_wiz_sync.ops.ledger.LEDGER, imported only when the ledger runs


def ledger(deps: PullDeps) -> dict:
    from sos_wiz_sync.ops.ledger import ledger_job

    names = {name: os.environ[name] for name in ("PUSH_QUEUE_URL", "PULL_QUEUE_URL") if os.environ.get(name)}
    return ledger_job(deps, names, lambda unaccounted: metrics.add_metric(
        name="Unaccounted", unit=MetricUnit.Count, value=unaccounted))


runtime = PullRuntime(jobs={LEDGER: ledger})


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_source(data_class=SQSEvent)
def handler(event: SQSEvent, context: LambdaContext) -> dict:
    # Batch size is 1 (template): a failed run raises, SQS retries it, PullDLQ keeps it.
    return {"runs": [runtime.handle(record.body, context) for record in event.records]}
