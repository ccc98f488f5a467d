"""PullFunction: Scheduler (via PullQueue) → one pull stream run, SOS → WizCommerce."""

from aws_lambda_powertools.utilities.data_classes import SQSEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from sos_wiz_sync.observability import logger, metrics, tracer
from sos_wiz_sync.sync.pull import PullRuntime

runtime = PullRuntime()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_source(data_class=SQSEvent)
def handler(event: SQSEvent, context: LambdaContext) -> dict:
    # Batch size is 1 (template): a failed run raises, SQS retries it, PullDLQ keeps it.
    return {"runs": [runtime.handle(record.body, context) for record in event.records]}
