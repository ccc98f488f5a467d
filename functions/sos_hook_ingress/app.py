"""SosHookIngressFunction: SOS item.quantity_updated → path-token check → hook queue → 202 (R-INV-6)."""

import json

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from sos_wiz_sync.hook.ingress import HookRejected, SosHookIngress
from sos_wiz_sync.observability import logger, metrics

ingress = SosHookIngress.from_environment()


def _answer(status_code: int, **body: object) -> dict:
    return {"statusCode": status_code, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@event_source(data_class=APIGatewayProxyEventV2)
def handler(event: APIGatewayProxyEventV2, context: LambdaContext) -> dict:
    try:
        item_id = ingress.accept((event.path_parameters or {}).get("token"), event.decoded_body)
    except HookRejected as rejected:
        return _answer(rejected.status, message=rejected.message)
    return _answer(202, status="queued", item_id=item_id)
