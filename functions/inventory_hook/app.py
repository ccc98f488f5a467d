"""InventoryHookFunction: hook queue batch → re-read items from SOS → write changed inventory (R-INV-6)."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from sos_wiz_sync.hook.worker import InventoryHookWorker
from sos_wiz_sync.observability import logger, metrics, tracer

worker = InventoryHookWorker.from_environment()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    return worker.handle_batch(event, context)  # partial batch failures (ReportBatchItemFailures)
