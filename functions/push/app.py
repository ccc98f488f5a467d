"""PushFunction: push queue batch → orders, order edits, customers, payments → SOS, exactly once."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from sos_wiz_sync.observability import logger, metrics, tracer
from sos_wiz_sync.push.router import PushRuntime

runtime = PushRuntime.from_environment()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    return runtime.handle_batch(event, context)  # partial batch failures (ReportBatchItemFailures)
