"""The WizCommerce emulator over real HTTP: auth, lists, duplicates, inventory upserts,
order versions and the outgoing webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import requests
from emulator_helpers import SEED_ITEMS, Client, Receiver

from local.emulators import WizEmulator

SECRET = "whsec-test"


def signature(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def a_customer(wiz: WizEmulator) -> str:
    return next(iter(wiz.customers))


def a_product(wiz: WizEmulator) -> dict:
    return next(p for p in wiz.products.values() if p["reference_id"])


def new_order(api: Client, wiz: WizEmulator, **fields: object) -> requests.Response:
    product = a_product(wiz)
    return api("POST", "/orders", json={"customer_id": a_customer(wiz), "line_items": [
        {"product_id": product["id"], "quantity": 2, "unit_price": 12.5, "note": "gift wrap"}], **fields})


def test_a_bad_api_key_is_refused(wiz: WizEmulator, wiz_api: Client) -> None:
    assert wiz_api("GET", "/products").status_code == 200
    refused = requests.get(f"{wiz.url}/v1/products", headers={"X-API-Key": "nope"}, timeout=10)
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthorized" and refused.json()["details"] == []


def test_lists_page_in_updated_at_order_until_next_page_is_zero(wiz: WizEmulator, wiz_api: Client) -> None:
    total = len(wiz.products)
    first = wiz_api("GET", "/products", params={"page_size": 500, "sort_by": "updated_at", "sort": "asc"}).json()
    assert first["pagination"] == {"total_records": total, "total_pages": -(-total // 100), "current_page": 1,
                                   "next_page": 2, "prev_page": 0, "page_size": 100}
    rows, page = [], 1
    while page:
        body = wiz_api("GET", "/products", params={"page": page, "page_size": 100}).json()
        rows += body["data"]
        page = body["pagination"]["next_page"]
    assert len(rows) == total == len({row["id"] for row in rows})
    stamps = [row["updated_at"] for row in rows]
    assert stamps == sorted(stamps)
    newest = wiz_api("GET", "/products", params={"page_size": 1, "sort": "desc"}).json()["data"]
    assert newest == rows[-1:]


def test_lists_filter_by_time_reference_ids_and_sku(wiz: WizEmulator, wiz_api: Client) -> None:
    rows = sorted(wiz.products.values(), key=lambda row: (row["updated_at"], row["id"]))
    after = wiz_api("GET", "/products", params={"updated_after": rows[-3]["updated_at"]}).json()
    assert [row["id"] for row in after["data"]] == [row["id"] for row in rows[-2:]]

    wanted = [rows[5], rows[9]]
    by_reference = wiz_api("GET", "/products", params={
        "reference_ids": ",".join(row["reference_id"] or "none" for row in wanted)}).json()["data"]
    assert {row["id"] for row in by_reference} == {row["id"] for row in wanted if row["reference_id"]}
    by_sku = wiz_api("GET", "/products", params={"sku_id": rows[7]["sku"]}).json()["data"]
    assert [row["id"] for row in by_sku] == [rows[7]["id"]]
    assert wiz_api("GET", "/products", params={"updated_after": "soon"}).status_code == 400


def test_a_second_post_with_the_same_reference_id_is_a_409_naming_the_first(wiz_api: Client) -> None:
    body = {"sku": "NEW-1", "name": "New", "reference_id": str(SEED_ITEMS + 1)}
    created = wiz_api("POST", "/products", json=body)
    assert created.status_code == 201
    duplicate = wiz_api("POST", "/products", json={**body, "sku": "NEW-2"})
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "duplicate_reference_id"
    assert duplicate.json()["details"] == [{"field": "id", "reason": created.json()["data"]["id"]}]

    customer = {"name": "Twice Ltd", "reference_id": "S-77"}
    assert wiz_api("POST", "/customers", json=customer).status_code == 201
    assert wiz_api("POST", "/customers", json=customer).status_code == 409


def test_inventory_upserts_by_sku_and_keeps_fields_left_out(wiz: WizEmulator, wiz_api: Client) -> None:
    sku = a_product(wiz)["sku"]
    full = {"sku": sku, "available_quantity": 5, "back_order_quantity": 2, "back_order_allowed": True,
            "on_order_details": [{"quantity": 9, "date": None, "identifier": "SOS"}]}
    assert wiz_api("POST", "/inventories", json=full).status_code == 201
    assert wiz_api("POST", "/inventories", json={"sku": sku, "available_quantity": 1}).ok

    [record] = wiz_api("GET", "/inventories", params={"sku": sku}).json()["data"]
    assert record["available_quantity"] == 1 and record["back_order_quantity"] == 2
    assert record["on_order_details"] == full["on_order_details"] and record["back_order_allowed"] is True
    assert wiz.inventories[sku]["available_quantity"] == 1

    unknown = wiz_api("POST", "/inventories", json={"sku": "NO-SUCH-SKU", "available_quantity": 1})
    assert unknown.status_code == 404 and unknown.json()["details"][0]["field"] == "sku"
    assert wiz_api("GET", "/inventories", params={"sku": "NO-SUCH-SKU"}).json()["data"] == []
    assert wiz_api("POST", "/inventories", json={"sku": sku, "available_quantity": "lots"}).status_code == 400


def test_every_order_edit_bumps_version_and_updated_at(wiz: WizEmulator, wiz_api: Client) -> None:
    order = new_order(wiz_api, wiz).json()["data"]
    assert order["version"] == 1 and order["status"] == "draft" and order["amount"] == 25.0
    assert order["display_id"] and order["line_items"][0]["sku"] == a_product(wiz)["sku"]

    linked = wiz_api("PUT", f"/orders/{order['id']}", json={"reference_id": "123"}).json()["data"]
    assert linked["version"] == 2 and linked["updated_at"] > order["updated_at"]
    assert linked["line_items"] == order["line_items"]
    confirmed = wiz_api("PATCH", f"/orders/{order['id']}/status", json={"status": "confirmed"}).json()["data"]
    assert confirmed["version"] == 3 and confirmed["status"] == "confirmed"
    assert wiz_api("PATCH", f"/orders/{order['id']}/status", json={"status": "shipped?"}).status_code == 400
    assert wiz_api("GET", "/orders", params={"status": "confirmed"}).json()["data"][0]["id"] == order["id"]


def test_invoices_and_shipments_link_to_orders(wiz: WizEmulator, wiz_api: Client) -> None:
    order = new_order(wiz_api, wiz).json()["data"]
    invoice = wiz_api("POST", "/invoices", json={"reference_id": "9", "order_id": order["id"], "total_amount": 25})
    assert invoice.status_code == 201
    paid = wiz_api("PATCH", f"/invoices/{invoice.json()['data']['id']}", json={"status": "PAID", "paid_amount": 25})
    assert paid.json()["data"]["status"] == "PAID"
    shipment = wiz_api("POST", "/shipments", json={
        "reference_id": "4", "order_id": order["id"], "shipment_status": "shipped",
        "shipment_items": [{"product_id": order["line_items"][0]["product_id"], "quantity": 2}]})
    assert shipment.status_code == 201
    assert wiz_api("POST", "/shipments", json={"order_id": "ord_404"}).status_code == 400


# -- webhooks -------------------------------------------------------------------------------------

def test_events_are_signed_over_the_raw_body(wiz: WizEmulator, wiz_api: Client, receiver: Receiver) -> None:
    wiz.set_webhook_target(receiver.url, secret=SECRET)
    order = wiz.create_order(a_customer(wiz), [{"sku": a_product(wiz)["sku"], "quantity": 1, "unit_price": 3}])
    wiz_api("PUT", f"/orders/{order['id']}", json={"reference_id": "555"})  # our own write comes back too
    assert wiz.wait_for_webhooks()

    assert [payload["event_type"] for payload in receiver.payloads()] == ["order.confirmed", "order.updated"]
    for call in receiver.calls:
        assert call["headers"]["X-Wizcommerce-Signature"] == signature(call["body"])
    confirmed, updated = receiver.payloads()
    assert confirmed["data"]["version"] == 1 and updated["data"]["version"] == 2
    assert updated["data"]["reference_id"] == "555" and updated["event_id"].startswith("evt_")
    assert confirmed["data"] == order  # the record as it was when the event was sent


def test_during_a_rotation_every_secret_signs(wiz: WizEmulator, receiver: Receiver) -> None:
    wiz.set_webhook_target(receiver.url, secret=["old-secret", "new-secret"])
    wiz.create_customer(name="Rotating Co")
    assert wiz.wait_for_webhooks()
    [call] = receiver.calls
    assert call["headers"]["X-Wizcommerce-Signature"].split(",") == [
        signature(call["body"], "old-secret"), signature(call["body"], "new-secret")]


def test_header_mode_sends_the_secret_in_the_configured_header(wiz: WizEmulator, receiver: Receiver) -> None:
    wiz.set_webhook_target(receiver.url, secret="shared", mode="header", header_name="X-Webhook-Key")
    customer = wiz.create_customer(name="Header Co")
    wiz.update_customer(customer["id"], email="h@co.example")
    assert wiz.wait_for_webhooks()
    assert [p["event_type"] for p in receiver.payloads()] == ["customer.created", "customer.updated"]
    assert all(call["headers"]["X-Webhook-Key"] == "shared" for call in receiver.calls)
    assert "X-Wizcommerce-Signature" not in receiver.calls[0]["headers"]


def test_a_payment_event_carries_the_order_and_customer(wiz: WizEmulator, receiver: Receiver) -> None:
    wiz.set_webhook_target(receiver.url, secret=SECRET)
    order = wiz.create_order(a_customer(wiz), [{"sku": a_product(wiz)["sku"], "quantity": 1, "unit_price": 3}])
    payment = wiz.emit_payment(order["id"], 3.0, "card")
    assert wiz.wait_for_webhooks()
    event = receiver.payloads()[-1]
    assert event["event_type"] == "payment.succeeded" and event["data"] == payment
    assert set(payment) == {"id", "order_id", "customer_id", "amount", "method", "paid_at"}
    assert payment["customer_id"] == order["customer_id"]


def test_events_are_kept_in_the_outbox_even_without_a_target(wiz: WizEmulator) -> None:
    customer = wiz.create_customer(name="Quiet Co")
    assert wiz.webhook_deliveries == []
    [event] = wiz.outbox
    assert event["envelope"]["event_type"] == "customer.created"
    assert json.loads(event["body"]) == event["envelope"] and event["envelope"]["data"]["id"] == customer["id"]
    served = requests.get(f"{wiz.url}/_admin/outbox", timeout=10).json()
    assert served["total"] == 1 and served["data"][0]["envelope"] == event["envelope"]


def test_a_refused_delivery_is_retried(wiz: WizEmulator, receiver: Receiver) -> None:
    receiver.statuses = [500]
    wiz.set_webhook_target(receiver.url, secret=SECRET)
    wiz.create_customer(name="Retry Co")
    assert wiz.wait_for_webhooks()
    assert [entry["status"] for entry in wiz.webhook_deliveries] == [500, 200]
    first, second = receiver.calls
    assert first["body"] == second["body"]  # the same event (same event_id), sent again
