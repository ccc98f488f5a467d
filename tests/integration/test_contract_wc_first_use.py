"""R-OPS-5, WizCommerce first-use rows: WC-A17 (a customer write read back), WC-A18 (a PUT
with payment_status PAID), WC-A6 (the form a webhook is authenticated by) and WC-A7 (that
`customer.address.*` events arrive) recorded at their first occurrence and shown by doctor
--contract ("not seen yet" before). WC-A6/A7 go the whole way on the local stack: the ingress,
which touches no table, carries what it saw on the push message; the push function records it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from push_stack import PushStack, started_push_stack

from local.emulators import WizEmulator, seed
from local.emulators.sos import SosEmulator
from local.stack import LOCAL_WEBHOOK_SECRET
from sos_wiz_sync.clients.wiz import WizClient
from sos_wiz_sync.ops import cli
from sos_wiz_sync.store.contract import ContractReadings
from sos_wiz_sync.store.dynamo import dynamodb_resource
from sos_wiz_sync.wiring import wiz_session


@pytest.fixture
def wiz():
    sos, wiz = SosEmulator(), WizEmulator()
    seed(sos, wiz, items=10, customers=2)
    wiz.start()
    yield wiz
    wiz.stop()


def table(state_table: str, capsys) -> dict[str, dict]:
    capsys.readouterr()
    cli.main(["doctor", "--contract", "--json"], environ={"STATE_TABLE": state_table})
    return {row["id"]: row for row in json.loads(capsys.readouterr().out)["readings"]}


def client(wiz: WizEmulator, state_table: str) -> WizClient:
    wc = WizClient(base_url=wiz.url, api_key=wiz.api_key, session=wiz_session(2))
    wc.first_use = ContractReadings(state_table).record_first_use
    return wc


def test_wc_a17_the_first_customer_write_records_whether_its_fields_read_back(wiz, state_table, capsys):
    assert table(state_table, capsys)["WC-A17"]["reading"] == "not seen yet"
    client(wiz, state_table).create("customers", {"company_name": "Acme", "display_name": "Acme",
                                                  "reference_id": "sos-1", "email": "a@acme.test"})
    row = table(state_table, capsys)["WC-A17"]
    assert row["reading"] == "accepted" and row["settled"] and row["how"] == "first use" and row["at"]


def test_wc_a18_the_first_put_with_paid_records_it_accepted(wiz, state_table, capsys):
    assert table(state_table, capsys)["WC-A18"]["reading"] == "not seen yet"
    product = next(iter(wiz.products.values()))
    order = wiz.create_order(next(iter(wiz.customers)), [{"product_id": product["id"], "quantity": 1,
                                                          "unit_price": 10}])
    client(wiz, state_table).merge_order(order["id"], {"amount_paid": 10, "payment_status": "PAID"})
    row = table(state_table, capsys)["WC-A18"]
    assert row["reading"] == "accepted" and row["settled"] and "PAID" in row["evidence"]


# -- WC-A6, WC-A7: through the webhook route and the push function -----------------------------------
HEADER = "X-Webhook-Key"


def stack_table(stack: PushStack, capsys) -> dict[str, dict]:
    return table(stack.runtime.ref("StateTable"), capsys)


@pytest.fixture
def stack_in_mode(monkeypatch, request):
    """A push stack whose WizCommerce signs its webhooks in `request.param`: hex, base64 or header."""
    mode = request.param
    secret = {"webhook_auth_header": HEADER, "webhook_secrets": [LOCAL_WEBHOOK_SECRET]} if mode == "header" else None
    stack = started_push_stack(monkeypatch, wiz_secret=secret)
    if mode == "header":
        stack.wiz.set_webhook_target(None, secret=LOCAL_WEBHOOK_SECRET, mode="header", header_name=HEADER)
    else:
        stack.wiz.set_webhook_target(None, secret=LOCAL_WEBHOOK_SECRET, encoding=mode)
    yield stack
    stack.stop()


@pytest.mark.parametrize(("stack_in_mode", "expected"), [("hex", "HMAC hex"), ("base64", "HMAC base64"),
                                                         ("header", "custom header")],
                         indirect=["stack_in_mode"])
def test_wc_a6_the_first_delivery_records_the_form_that_authenticated_it(stack_in_mode, expected, capsys):
    stack = stack_in_mode
    assert stack_table(stack, capsys)["WC-A6"]["reading"] == "not seen yet"
    first = stack.wiz.create_customer(name="First Delivery Co")
    [event] = stack.new_events()
    assert stack.deliver([event]) == [202]
    stack.runtime.drain("PushQueue")
    assert stack.mappings.by_wc("customer", first["id"]) is not None  # pushed as before
    row = stack_table(stack, capsys)["WC-A6"]
    assert row["reading"] == expected and row["settled"] and row["how"] == "first use" and row["at"]
    assert event["envelope"]["id"] in row["evidence"]
    # later deliveries (our write's echo, another customer) are verified the same; the row keeps the first
    stack.wiz.create_customer(name="Second Delivery Co")
    assert set(stack.deliver(stack.new_events())) == {202}
    stack.runtime.drain("PushQueue")
    assert stack_table(stack, capsys)["WC-A6"] == row


def test_wc_a6_a_later_delivery_in_the_other_encoding_does_not_rewrite_the_first(monkeypatch, capsys):
    stack = started_push_stack(monkeypatch)
    try:
        hex_body, b64_body = thin("customer.updated", "webhook_hex"), thin("customer.updated", "webhook_b64")
        digest = hmac.new(LOCAL_WEBHOOK_SECRET.encode(), hex_body, hashlib.sha256).hexdigest()
        assert stack.post(hex_body, {"X-Wizcommerce-Signature": digest}) == 202
        stack.runtime.drain("PushQueue")
        row = stack_table(stack, capsys)["WC-A6"]
        assert row["reading"] == "HMAC hex"
        digest = hmac.new(LOCAL_WEBHOOK_SECRET.encode(), b64_body, hashlib.sha256).digest()
        assert stack.post(b64_body, {"X-Wizcommerce-Signature": base64.b64encode(digest).decode()}) == 202
        stack.runtime.drain("PushQueue")
        assert stack_table(stack, capsys)["WC-A6"] == row
    finally:
        stack.stop()


def thin(event: str, envelope_id: str, record_id: str = "cust_1") -> bytes:
    return json.dumps({"id": envelope_id, "event": event, "timestamp": "2025-01-01T00:00:00.000Z",
                       "data": {"id": record_id}}).encode()


def signed(body: bytes) -> dict[str, str]:
    return {"X-Wizcommerce-Signature": hmac.new(LOCAL_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()}


def test_wc_a7_the_first_address_event_is_recorded_and_nothing_is_pushed_for_it(monkeypatch, capsys):
    """An address event names only the address (WC-A7): answered 200, carried to the push
    function as a note, recorded there at its first occurrence; SOS is not touched, nothing is
    parked, and later address events neither rewrite the row nor (in a warm container) ask again."""
    stack = started_push_stack(monkeypatch)
    try:
        assert stack_table(stack, capsys)["WC-A7"]["reading"] == "not seen yet"
        sos_customers = len(stack.sos.customers)
        body = thin("customer.address.updated", "webhook_addr_1", "addr_1")
        assert stack.post(body, signed(body)) == 200
        stack.runtime.drain("PushQueue")
        row = stack_table(stack, capsys)["WC-A7"]
        assert row["reading"] == "delivered" and row["settled"] and row["how"] == "first use" and row["at"]
        assert "webhook_addr_1" in row["evidence"] and "customer.address.updated" in row["evidence"]
        assert "noted" in row["effect"]
        assert len(stack.sos.customers) == sos_customers and stack.dlq_messages() == []
        assert stack.runtime.queue_counts("PushQueue").total == 0  # acknowledged, not retried

        again = thin("customer.address.created", "webhook_addr_2", "addr_2")
        assert stack.post(again, signed(again)) == 200
        stack.runtime.drain("PushQueue")
        assert stack_table(stack, capsys)["WC-A7"] == row

        # cheap after the first time: the warm push container does not write (or read) the row again
        dynamodb_resource().Table(stack.runtime.ref("StateTable")).delete_item(
            Key={"pk": "CONTRACT#WC-A7", "sk": "CONTRACT"})
        third = thin("customer.address.deleted", "webhook_addr_3", "addr_3")
        assert stack.post(third, signed(third)) == 200
        stack.runtime.drain("PushQueue")
        assert stack_table(stack, capsys)["WC-A7"]["reading"] == "not seen yet"
    finally:
        stack.stop()
