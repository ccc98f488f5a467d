"""WcPollFunction: every minute (EventBridge Scheduler) → confirmed WC orders and customers
changed since the last poll → PushQueue as "WC record X changed" (R-PUSH-1)."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from sos_wiz_sync.observability import logger, metrics, tracer
from sos_wiz_sync.push.poll import WcChangePoll

poll = WcChangePoll.from_environment()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    return poll.run()
