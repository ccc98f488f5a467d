"""Public example payloads (tests/payloads/, sources in its SOURCES.md) through our parsers: SOS
records through the models and the client's single-record handling, WizCommerce records, lists
and webhook events through the models, the client's paging and the webhook ingress, and AWS's
own sample events through what the handlers parse. Real text, not our guesses of it."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_aws import FakeSecrets, FakeSqs
from pydantic import ValidationError

from sos_wiz_sync.clients.sos import SosClient
from sos_wiz_sync.clients.wiz import WizClient
from sos_wiz_sync.config import IngressSettings
from sos_wiz_sync.hook.ingress import HookRejected, hinted_item_id
from sos_wiz_sync.models.hook import InventoryHookMessage
from sos_wiz_sync.models.sos import SosItem, SosLocation
from sos_wiz_sync.models.wiz import (WebhookEnvelope, WizCustomer, WizInventoryRecord, WizInvoice, WizOrder,
                                     WizProduct)
from sos_wiz_sync.push.events import RecordChanged
from sos_wiz_sync.push.ingress import WebhookIngress
from sos_wiz_sync.sync.pull import PullRequest

PAYLOADS = Path(__file__).resolve().parents[1] / "payloads"
SECRET = "whsec_public_samples"  # a test value


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


def answered(body: Any, status: int = 200) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    return response


class OneAnswerSession(requests.Session):
    """Answers every request with the same published body; remembers what was asked."""

    def __init__(self, body: Any):
        super().__init__()
        self.body = body
        self.asked: list[tuple[str, str, dict]] = []

    def request(self, method, url, params=None, **kwargs):  # noqa: D401 - requests' signature
        self.asked.append((method, url, dict(params or {})))
        return answered(self.body)


class StaticTokens:
    def access_token(self) -> str:
        return "token"

    def refresh(self, rejected_token: str) -> str:
        raise AssertionError("no 401 here")


# -- SOS ----------------------------------------------------------------------------------------

def test_the_published_sos_item_reads_with_its_quantities_and_refs():
    item = SosItem.model_validate(payload("sos/item_widget14.json"))
    assert (item.id, item.sku, item.name, item.type) == (123, "4878932", "Widget14", "Inventory Item")
    assert (item.onhand, item.available, item.onSO, item.onPO, item.onWO) == (11, 6, 5, 0, -5)
    assert (item.salesPrice, item.archived, item.syncToken) == (24.3, False, 0)


def test_the_published_sos_item_answered_bare_is_one_record_through_the_client():
    """SOS-A2: a single record may come without the `data` wrapper; the published item is such a
    bare record (its own fields, no `status`), and the client hands on all of it."""
    session = OneAnswerSession(payload("sos/item_widget14.json"))
    client = SosClient(base_url="https://sos.test/api/v2", tokens=StaticTokens(), session=session)
    item = client.get_item(123)
    assert (item.id, item.available) == (123, 6)
    assert session.asked == [("GET", "https://sos.test/api/v2/item/123", {})]
    record = client.get("item", 123)
    assert record == payload("sos/item_widget14.json")  # nothing dropped, price tiers' strings kept


def test_the_published_sos_location_reads_and_its_nettable_default_is_the_documented_one():
    location = SosLocation.model_validate(payload("sos/location_xyz_warehouse.json"))
    assert (location.id, location.name, location.nonNettable) == (7, "XYZ Warehouse", False)


def test_the_help_pages_hook_body_is_not_json_and_is_refused_with_400():
    """SOS-A14: the help page shows the hook body as `{ id = 123, … }`, not JSON. Our safe
    default is strict JSON, so a delivery in that form is refused (400) and shows in the
    SosHooksRejected metric: the first real delivery settles it."""
    text = (PAYLOADS / "sos/hook_item_quantity_updated.txt").read_text()
    with pytest.raises(HookRejected) as rejected:
        hinted_item_id(text)
    assert rejected.value.status == 400


# -- WizCommerce --------------------------------------------------------------------------------

def test_the_published_customer_list_pages_through_the_client_by_its_pagination():
    """The documented list envelope: `data` plus `pagination` (page 1 of 10, next_page 2)."""
    published = payload("wizcommerce/customers_list.json")
    session = OneAnswerSession(published)
    client = WizClient(base_url="https://wc.test", api_key="key", session=session)
    pages = list(client.iter_pages("customers"))
    assert {params["page"] for _, _, params in session.asked} == set(range(1, 11))
    customers = [WizCustomer.model_validate(row) for page in pages for row in page]
    assert {(c.id, c.reference_id, c.name, c.display_name, c.status) for c in customers} == {
        ("01f5d171-d3e3-4b2b-bd57-0727194b5bed", "1234567890", "Customer Name", "Customer Display Name", "active")}


def test_the_published_order_reads_through_the_client():
    session = OneAnswerSession(payload("wizcommerce/order_status_update_response.json"))
    order = WizClient(base_url="https://wc.test", api_key="key", session=session).get_order("01f5d171")
    assert (order.display_id, order.customer_id, order.payment_status, order.amount_paid) == (
        "WC_1234567890", "1234567890", "PAID", 100)
    assert order.status == "active"  # the docs' unexplained status value reads as given
    assert (order.shipping_address.address_line_1, order.shipping_address.zip_code) == ("123 Main St", "12345")


def test_the_published_product_reads_its_documented_fields_and_refuses_placeholder_times_by_name():
    """The update-product example carries the docs' placeholder "<string>" for its times: a time
    that is not one is refused loudly, naming the field, never read as "no time"."""
    record = payload("wizcommerce/product_update_response.json")["data"]
    with pytest.raises(ValidationError) as refused:
        WizProduct.model_validate(record)
    assert [error["loc"] for error in refused.value.errors()] == [("updated_at",)]
    product = WizProduct.model_validate({**record, "updated_at": None})
    assert (product.id, product.reference_id, product.sku, product.status) == (
        "01f5d171-d3e3-4b2b-bd57-0727194b5bed", "SKU123", "SKU123", "active")


def test_the_published_inventory_answer_reads_as_an_inventory_record():
    """WC-A4: the read shape of an inventory; detail dates come back as dates (YYYY-MM-DD)."""
    record = WizInventoryRecord.model_validate(payload("wizcommerce/inventory_update_response.json")["data"])
    assert (record.sku, record.available_quantity, record.inventory_status, record.status) == (
        "SKU-001", 100, "IN_STOCK", "active")
    assert [detail.date for detail in record.on_order_details] == ["2025-01-01"]


def test_the_published_invoice_answer_reads():
    invoice = WizInvoice.model_validate(payload("wizcommerce/invoice_create_response.json")["data"])
    assert (invoice.reference_id, invoice.order_id, invoice.status, invoice.paid_amount) == (
        "INV-20250101", "ORD-20250101", "PAID", 1000000)


WEBHOOKS = {  # W/events sample → what the ingress answers
    "webhook_customer_created.json": 202, "webhook_customer_updated.json": 202,
    "webhook_customer_deleted.json": 200, "webhook_customer_contact_created.json": 200,
    "webhook_customer_contact_updated.json": 200, "webhook_customer_contact_deleted.json": 200}


def make_ingress() -> tuple[WebhookIngress, FakeSqs]:
    sqs = FakeSqs()
    settings = IngressSettings(wiz_secret_id="wiz", push_queue_url="https://sqs/push.fifo")
    return WebhookIngress(settings=settings, secrets=FakeSecrets({"webhook_secrets": [SECRET]}), sqs=sqs), sqs


@pytest.mark.parametrize("sample, status", sorted(WEBHOOKS.items()))
def test_the_published_webhook_events_pass_the_ingress(sample, status):
    body = (PAYLOADS / "wizcommerce" / sample).read_bytes()
    WebhookEnvelope.model_validate_json(body)
    ingress, sqs = make_ingress()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    answer = ingress.handle({"headers": {"X-Wizcommerce-Signature": signature}, "body": body.decode(),
                             "isBase64Encoded": False})
    assert answer["statusCode"] == status, answer
    if status == 202:
        [sent] = sqs.sent
        message = RecordChanged.model_validate_json(sent["MessageBody"])
        assert (message.entity, message.wc_id, message.id) == ("customer", "customer_123", "webhook_123")
    else:
        assert sqs.sent == []


# -- AWS's sample events ---------------------------------------------------------------------------

def test_aws_http_api_event_reaches_the_webhook_ingress_as_api_gateway_hands_it_over():
    """The HTTP API payload 2.0 event, as AWS publishes it, unsigned: refused 401 (not a 5xx).
    The same event carrying a published WC webhook body and its signature: queued."""
    event = payload("aws/apiGatewayProxyV2Event.json")
    ingress, sqs = make_ingress()
    assert ingress.handle(event)["statusCode"] == 401
    body = (PAYLOADS / "wizcommerce/webhook_customer_updated.json").read_text()
    signed = {**event, "body": body, "headers": {
        **event["headers"], "x-wizcommerce-signature": hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()}}
    assert ingress.handle(signed)["statusCode"] == 202
    assert len(sqs.sent) == 1


@pytest.mark.parametrize("model", [RecordChanged, PullRequest, InventoryHookMessage])
def test_aws_sqs_sample_bodies_are_refused_by_every_queue_message_parser(model):
    """AWS's SQS sample bodies ("Test message.", {"message": "foo1"}) are no message of ours:
    each parser refuses them loudly (the push parks such a body with its reason; the pull run
    and the hook worker fail it), none reads them as an empty request."""
    for record in payload("aws/sqsEvent.json")["Records"]:
        with pytest.raises(ValidationError):
            model.model_validate_json(record["body"])


def test_an_input_less_scheduler_event_is_not_read_as_a_pull_request():
    """EventBridge Scheduler without `Input` delivers its own envelope; our schedules all set an
    Input (template.yaml). Should one lose it, the pull refuses the envelope naming `stream`
    rather than running some default stream."""
    envelope = json.dumps(payload("aws/eventBridgeSchedulerEvent.json"))
    with pytest.raises(ValidationError) as refused:
        PullRequest.model_validate_json(envelope)
    assert [error["loc"] for error in refused.value.errors()] == [("stream",)]
