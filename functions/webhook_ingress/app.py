"""WebhookIngressFunction: WizCommerce webhook → authenticate, validate → push queue → 202."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sos_wiz_sync.observability import logger, metrics
from sos_wiz_sync.push.ingress import WebhookIngress

ingress = WebhookIngress.from_environment()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    # The raw event, not a parsed one: the signature covers the body exactly as it was sent.
    return ingress.handle(event)
