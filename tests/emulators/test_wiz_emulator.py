"""The WizCommerce emulator over real HTTP, held to ../shared/api/wizcommerce.md: auth, lists and
their defaults, duplicates, the inventory upsert's required fields, full-replace order PUT,
payments as amount_paid, and the thin customer webhooks in both authentication readings."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

import pytest
import requests
from emulator_helpers import SEED_ITEMS, Client, Receiver

from local.emulators import WizEmulator
from local.emulators.wiz import ORDER_WRITE_ONLY

SECRET = "whsec-test"


def signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def b64_signature(body: bytes, secret: str = SECRET) -> str:
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
    assert stamps == sorted(stamps, reverse=True)  # the default sort is desc
    oldest = wiz_api("GET", "/products", params={"page_size": 1, "sort": "asc"}).json()["data"]
    assert oldest == rows[-1:]


def whole_second(stamp: str, *, later: int = 0) -> str:
    """A stamp as a time filter takes it (WC-A12): whole seconds, floored, `later` seconds on."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")).replace(microsecond=0)
    return (moment + timedelta(seconds=later)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_lists_filter_by_time_reference_ids_and_sku(wiz: WizEmulator, wiz_api: Client) -> None:
    rows = sorted(wiz.products.values(), key=lambda row: (row["updated_at"], row["id"]))
    after = whole_second(rows[-3]["updated_at"])
    listed = wiz_api("GET", "/products", params={"updated_after": after, "sort": "asc", "page_size": 100}).json()
    later = [row["id"] for row in rows if row["updated_at"] > after.replace("Z", ".000000Z")]  # strict
    assert [row["id"] for row in listed["data"]] == later

    wanted = [rows[5], rows[9]]
    by_reference = wiz_api("GET", "/products", params={
        "reference_ids": ",".join(row["reference_id"] or "none" for row in wanted)}).json()["data"]
    assert {row["id"] for row in by_reference} == {row["id"] for row in wanted if row["reference_id"]}
    by_sku = wiz_api("GET", "/products", params={"sku_id": rows[7]["sku"]}).json()["data"]
    assert [row["id"] for row in by_sku] == [rows[7]["id"]]


@pytest.mark.parametrize("value", ["soon", "2026-05-01T12:00:00.000001Z", "2026-05-01T12:00:00.5Z",
                                   "2026-05-01T12:00:00+00:00", "2026-05-01T12:00:00", "2026-05-01"])
@pytest.mark.parametrize("name", ["updated_after", "updated_before", "created_after", "created_before"])
def test_time_filters_take_only_whole_seconds_utc_wc_a12(wiz_api: Client, name: str, value: str) -> None:
    refused = wiz_api("GET", "/customers", params={name: value})
    assert refused.status_code == 400
    assert refused.json()["details"][0]["field"] == name and "YYYY-MM-DDTHH:MM:SSZ" in refused.json()["message"]
    assert wiz_api("GET", "/customers", params={name: "2026-05-01T12:00:00Z"}).status_code == 200


def test_created_before_lists_only_older_records(wiz: WizEmulator, wiz_api: Client) -> None:
    wiz.load(customers=[{**wiz.customers[a_customer(wiz)], "id": "cust_900", "reference_id": "OLD",
                         "created_at": "2020-01-01T00:00:00.000000Z", "updated_at": "2020-01-01T00:00:00.000000Z"}])
    old = wiz_api("GET", "/customers", params={"created_before": "2020-01-01T00:00:01Z"}).json()["data"]
    assert [row["id"] for row in old] == ["cust_900"]


def test_sku_id_takes_a_comma_list_only_where_switched_on_wc_a10(wiz: WizEmulator, wiz_api: Client) -> None:
    one, two = [p["sku"] for p in list(wiz.products.values())[:2]]
    refused = wiz_api("GET", "/products", params={"sku_id": f"{one},{two}"})
    assert refused.status_code == 400 and refused.json()["details"][0]["field"] == "sku_id"  # the default
    switched = wiz.configure(sku_id_list=True)
    assert switched["sku_id_list"] is True and switched["refuse_duplicate_reference_id"] is False
    listed = wiz_api("GET", "/products", params={"sku_id": f"{one},{two}"}).json()["data"]
    assert sorted(row["sku"] for row in listed) == sorted([one, two])
    with pytest.raises(Exception, match="unknown switches"):
        wiz.configure(sku_list=True)


def test_cancelled_orders_listed_or_refused_as_switched_wc_a19(wiz: WizEmulator, wiz_api: Client) -> None:
    """WC-A19: listed under order_status=cancelled (the assumption), or a 400 fitting neither reading."""
    assert wiz_api("GET", "/orders", params={"order_status": "cancelled"}).status_code == 200
    wiz.configure(cancelled_orders="refused")
    refused = wiz_api("GET", "/orders", params={"order_status": "cancelled"})
    assert refused.status_code == 400 and refused.json()["details"][0]["field"] == "order_status"
    assert wiz_api("GET", "/orders", params={"order_status": "confirmed"}).status_code == 200


def test_a_second_post_with_the_same_reference_id_creates_a_second_record_wc_a2(wiz: WizEmulator,
                                                                                wiz_api: Client) -> None:
    def body(sku: str, reference_id: str = str(SEED_ITEMS + 1)) -> dict:
        return {"group_code": sku, "variants": [{"sku_id": sku, "name": "New", "reference_id": reference_id}]}

    first = wiz_api("POST", "/products", json=body("NEW-1"))
    second = wiz_api("POST", "/products", json=body("NEW-2"))
    assert (first.status_code, second.status_code) == (201, 201)  # no duplicate answer is documented
    listed = wiz_api("GET", "/products", params={"reference_ids": str(SEED_ITEMS + 1)}).json()["data"]
    assert sorted(row["sku"] for row in listed) == ["NEW-1", "NEW-2"]
    assert wiz_api("POST", "/products", json=body("NEW-1", "")).status_code == 400  # sku taken

    customer = {"company_name": "Twice Ltd", "display_name": "Twice", "reference_id": "S-77"}
    assert wiz_api("POST", "/customers", json=customer).status_code == 201
    assert wiz_api("POST", "/customers", json=customer).status_code == 201
    assert sum(c["reference_id"] == "S-77" for c in wiz.customers.values()) == 2
    # An edit moving a reference_id keeps the lookup right for both values.
    moved = next(c for c in wiz.customers.values() if c["reference_id"] == "S-77")
    wiz_api("PATCH", f"/customers/{moved['id']}", json={"reference_id": "S-78"})
    assert len(wiz_api("GET", "/customers", params={"reference_ids": "S-77"}).json()["data"]) == 1
    assert [row["id"] for row in wiz_api("GET", "/customers", params={"reference_ids": "S-78"}).json()["data"]] == [
        moved["id"]]


def test_a_create_can_be_applied_and_then_answered_500(wiz: WizEmulator, wiz_api: Client) -> None:
    wiz.inject_write_then_5xx(method="POST", path="/v1/customers")
    customer = {"company_name": "Landed Ltd", "display_name": "Landed", "reference_id": "S-88"}
    answer = wiz_api("POST", "/customers", json=customer)
    assert answer.status_code == 500 and answer.json()["code"] == "server_error"
    assert [c["name"] for c in wiz.customers.values() if c["reference_id"] == "S-88"] == ["Landed Ltd"]


def test_an_action_runs_between_two_requests_of_a_pass(wiz: WizEmulator, wiz_api: Client) -> None:
    customer = a_customer(wiz)
    wiz.after_requests(2, lambda: wiz.update_customer(customer, phone="+1-555-0100"), method="GET",
                       path="/v1/customers")
    wiz_api("GET", "/customers")
    wiz_api("GET", "/products")  # not a match: not counted
    assert wiz.customers[customer]["phone"] != "+1-555-0100"
    wiz_api("GET", "/customers")
    assert wiz.customers[customer]["phone"] == "+1-555-0100"


def test_customers_are_written_as_company_name_and_read_as_name(wiz_api: Client) -> None:
    missing = wiz_api("POST", "/customers", json={"name": "Old Field Co"})
    assert missing.status_code == 400
    assert {d["field"] for d in missing.json()["details"]} == {"company_name", "display_name", "reference_id"}
    created = wiz_api("POST", "/customers", json={"company_name": "Acme", "display_name": "Acme",
                                                   "reference_id": "S-1"}).json()["data"]
    assert created["name"] == "Acme" and "company_name" not in created
    inactive = wiz_api("PATCH", f"/customers/{created['id']}", json={"status": "inactive"}).json()["data"]
    listed = wiz_api("GET", "/customers", params={"page_size": 100, "reference_ids": "S-1"}).json()["data"]
    assert listed == []  # customer lists default to status=active
    assert wiz_api("GET", "/customers", params={"reference_ids": "S-1", "status": "inactive"}).json()["data"] == [
        inactive]


INVENTORY = {"available_quantity": 5, "reserved_quantity": 0, "in_stock_quantity": 7, "out_of_stock_threshold": 0,
             "inventory_status": "IN_STOCK", "track_inventory": True, "back_order_quantity": 2,
             "back_order_allowed": True, "on_order_details": [{"quantity": 9, "date": None, "identifier": "SOS"}],
             "in_transit_details": []}


def test_inventory_upsert_refuses_a_body_without_its_required_fields(wiz: WizEmulator, wiz_api: Client) -> None:
    sku = a_product(wiz)["sku"]
    partial = wiz_api("POST", "/inventories", json={"sku": sku, "available_quantity": 1, "back_order_quantity": 0})
    assert partial.status_code == 400
    assert [d["field"] for d in partial.json()["details"]] == [
        "reserved_quantity", "in_stock_quantity", "out_of_stock_threshold", "inventory_status", "track_inventory",
        "on_order_details", "in_transit_details"]

    assert wiz_api("POST", "/inventories", json={"sku": sku, **INVENTORY}).status_code == 201
    [record] = wiz_api("GET", "/inventories", params={"sku": sku}).json()["data"]
    assert record["available_quantity"] == 5 and record["in_stock_quantity"] == 7
    assert record["on_order_details"] == INVENTORY["on_order_details"] and record["product_id"]

    unknown = wiz_api("POST", "/inventories", json={**INVENTORY, "sku": "NO-SUCH-SKU"})
    assert unknown.status_code == 404 and unknown.json()["details"][0]["field"] == "sku"
    assert wiz_api("GET", "/inventories", params={"sku": "NO-SUCH-SKU"}).json()["data"] == []
    bad = wiz_api("POST", "/inventories", json={**INVENTORY, "sku": sku, "inventory_status": "PLENTY"})
    assert bad.status_code == 400


def test_inventory_list_pages_newest_first_and_filters_as_the_sdk_shows(wiz: WizEmulator, wiz_api: Client) -> None:
    total = len(wiz.inventories)
    first = wiz_api("GET", "/inventories", params={"page_size": 100}).json()
    assert first["pagination"] == {"total_records": total, "total_pages": -(-total // 100), "current_page": 1,
                                   "next_page": 2, "prev_page": 0, "page_size": 100}
    stamps = [row["updated_at"] for row in first["data"]]
    assert stamps == sorted(stamps, reverse=True)  # default: sort_by updated_at, desc
    skus = set()
    for page in range(1, first["pagination"]["total_pages"] + 1):
        skus |= {row["sku"] for row in wiz_api("GET", "/inventories", params={"page_size": 100, "page": page})
                 .json()["data"]}
    assert skus == set(wiz.inventories)
    assert wiz_api("GET", "/inventories", params={"page_size": 101}).json()["pagination"]["page_size"] == 100

    by_product = wiz_api("GET", "/inventories", params={"sort_by": "product_id", "sort": "asc"}).json()["data"]
    assert [row["product_id"] for row in by_product] == sorted(row["product_id"] for row in by_product)
    assert wiz_api("GET", "/inventories", params={"sort_by": "name"}).status_code == 400
    active = wiz_api("GET", "/inventories", params={"status": "active"}).json()["pagination"]["total_records"]
    assert active == total
    assert wiz_api("GET", "/inventories", params={"status": "inactive"}).json()["data"] == []
    assert wiz_api("GET", "/inventories", params={"status": "gone"}).status_code == 400


def test_an_inventory_edited_by_hand_in_wizcommerce_reads_back_newest_and_sends_no_event(
        wiz: WizEmulator, wiz_api: Client) -> None:
    sku = a_product(wiz)["sku"]
    before = wiz.inventories[sku]
    events = len(wiz.outbox)
    wiz.edit_inventory(sku, available_quantity=before["available_quantity"] + 3)
    [record] = wiz_api("GET", "/inventories", params={"sku": sku}).json()["data"]
    assert record["available_quantity"] == before["available_quantity"] + 3
    assert record["updated_at"] > before["updated_at"] and record["id"] == before["id"]
    assert wiz_api("GET", "/inventories", params={"page_size": 1}).json()["data"] == [record]
    assert len(wiz.outbox) == events
    # A user is held to the same checks as the API, and cannot move the record to another product.
    refused = requests.post(f"{wiz.url}/_admin/actions/edit_inventory", timeout=10,
                            json={"sku": sku, "inventory_status": "PLENTY"})
    assert refused.status_code == 400 and refused.json()["details"][0]["field"] == "inventory_status"
    with pytest.raises(ValueError, match="product_id"):
        wiz.edit_inventory(sku, product_id="prod_1")


def test_order_put_replaces_the_whole_order_and_there_is_no_version(wiz: WizEmulator, wiz_api: Client) -> None:
    order = new_order(wiz_api, wiz, internal_note="keep?", po_number="PO-1").json()["data"]
    assert "version" not in order and order["status"] == "draft" and order["amount"] == 25.0
    assert "id" not in order["line_items"][0] and order["line_items"][0]["sku"] == a_product(wiz)["sku"]

    replaced = wiz_api("PUT", f"/orders/{order['id']}", json={
        "customer_id": order["customer_id"], "line_items": order["line_items"], "reference_id": "123"})
    assert replaced.status_code == 201
    replaced = replaced.json()["data"]
    assert replaced["reference_id"] == "123" and replaced["updated_at"] > order["updated_at"]
    assert replaced["internal_note"] == "" and replaced["po_number"] is None  # omitted: removed
    assert wiz_api("PUT", f"/orders/{order['id']}", json={"reference_id": "5"}).status_code == 400  # no customer

    confirmed = wiz_api("PATCH", f"/orders/{order['id']}/status", json={"status": "confirmed"}).json()["data"]
    assert confirmed["status"] == "confirmed"
    assert wiz_api("PATCH", f"/orders/{order['id']}/status", json={"status": "quote"}).status_code == 400


def test_a_status_filtered_list_follows_every_write(wiz: WizEmulator, wiz_api: Client) -> None:
    """The store keeps a status-filtered list between writes: paging it after a write must show
    that write, exactly as a scan of the records would."""

    def listed(**params: str) -> list[str]:
        ids, page = [], 1
        while page:
            body = wiz_api("GET", "/customers", params={"page": page, "page_size": 3, **params}).json()
            ids += [row["id"] for row in body["data"]]
            page = body["pagination"]["next_page"]
        return ids

    def scanned(status: str) -> list[str]:  # newest update first, as the list's default
        rows = sorted((c for c in wiz.customers.values() if c["status"] == status),
                      key=lambda c: (c["updated_at"], c["id"]), reverse=True)
        return [c["id"] for c in rows]

    before = listed()
    assert len(before) >= 4 and before == scanned("active")
    newest_before = wiz.customers[before[0]]["updated_at"]
    deactivated, renamed = before[-1], before[-2]
    wiz.clock.advance(2)  # the edits a whole second after the newest row: a filter can tell them apart
    wiz.update_customer(deactivated, status="inactive")
    edited = wiz.update_customer(renamed, name="Renamed Ltd")
    assert listed() == scanned("active") == [renamed, *[i for i in before if i not in (renamed, deactivated)]]
    assert deactivated in listed(status="inactive") == scanned("inactive")
    assert listed(updated_after=whole_second(newest_before, later=1)) == [renamed]
    assert listed(sort="asc", updated_after=whole_second(edited["updated_at"], later=1)) == []


def test_order_lists_default_to_drafts_newest_first(wiz: WizEmulator, wiz_api: Client) -> None:
    customer, sku = a_customer(wiz), a_product(wiz)["sku"]
    drafts = [wiz.create_order(customer, [{"sku": sku, "quantity": 1, "unit_price": 1}], status="draft")
              for _ in range(2)]
    confirmed = [wiz.create_order(customer, [{"sku": sku, "quantity": 1, "unit_price": 1}])]
    wiz.clock.advance(2)  # the later ones seconds on: the filter takes whole seconds (WC-A12)
    confirmed += [wiz.create_order(customer, [{"sku": sku, "quantity": 1, "unit_price": 1}]) for _ in range(2)]
    listed = wiz_api("GET", "/orders").json()["data"]
    assert [o["id"] for o in listed] == [o["id"] for o in reversed(drafts)]
    ascending = wiz_api("GET", "/orders", params={"order_status": "confirmed", "sort_by": "updated_at",
                                                   "sort": "asc",
                                                   "updated_after": whole_second(confirmed[0]["updated_at"], later=1)})
    assert [o["id"] for o in ascending.json()["data"]] == [o["id"] for o in confirmed[1:]]
    assert wiz_api("GET", "/orders", params={"order_status": "quote"}).status_code == 400


def test_a_payment_raises_amount_paid_and_sends_no_event(wiz: WizEmulator, receiver: Receiver) -> None:
    wiz.set_webhook_target(receiver.url, secret=SECRET)
    order = wiz.create_order(a_customer(wiz), [{"sku": a_product(wiz)["sku"], "quantity": 2, "unit_price": 5}])
    paid = wiz.record_payment(order["id"], 4.0)
    assert paid["amount_paid"] == 4.0 and paid["payment_status"] is None and paid["updated_at"] > order["updated_at"]
    assert wiz.record_payment(order["id"], 6.0)["payment_status"] == "PAID"
    assert wiz.wait_for_webhooks()
    assert receiver.calls == [] and wiz.outbox == []  # no order or payment event is documented


def test_invoices_and_shipments_link_to_orders(wiz: WizEmulator, wiz_api: Client) -> None:
    order = new_order(wiz_api, wiz).json()["data"]
    invoice = wiz_api("POST", "/invoices", json={"reference_id": "9", "order_id": order["id"], "total_amount": 25})
    assert invoice.status_code == 201 and invoice.json()["data"]["status"] == "PENDING"
    invoice_id = invoice.json()["data"]["id"]
    for status in ("PARTIALLY_PAID", "OVERPAID", "PAID"):
        assert wiz_api("PATCH", f"/invoices/{invoice_id}", json={"status": status}).json()["data"]["status"] == status
    assert wiz_api("PATCH", f"/invoices/{invoice_id}", json={"status": "UNPAID"}).status_code == 400
    shipment = wiz_api("POST", "/shipments", json={
        "reference_id": "4", "order_id": order["id"], "shipment_status": "shipped",
        "shipment_items": [{"product_id": order["line_items"][0]["product_id"], "quantity": 2}]})
    assert shipment.status_code == 201
    assert wiz_api("POST", "/shipments", json={"order_id": "ord_404"}).status_code == 400


# -- webhooks -------------------------------------------------------------------------------------

def test_customer_events_are_thin_and_signed_in_hex_over_the_raw_body(
        wiz: WizEmulator, wiz_api: Client, receiver: Receiver) -> None:
    wiz.set_webhook_target(receiver.url, secret=SECRET)
    customer = wiz.create_customer(name="Thin Co")
    wiz_api("PATCH", f"/customers/{customer['id']}", json={"reference_id": "555"})  # our own write comes back too
    assert wiz.wait_for_webhooks()

    created, updated = receiver.payloads()
    assert set(created) == {"id", "event", "timestamp", "data"} and created["data"] == {"id": customer["id"]}
    assert [created["event"], updated["event"]] == ["customer.created", "customer.updated"]
    assert created["id"] != updated["id"] and created["id"].startswith("webhook_")
    for call in receiver.calls:
        assert call["headers"]["X-Wizcommerce-Signature"] == signature(call["body"])


def test_the_signature_can_be_base64_and_every_secret_signs_during_a_rotation(
        wiz: WizEmulator, receiver: Receiver) -> None:
    wiz.set_webhook_target(receiver.url, secret=["old-secret", "new-secret"], encoding="base64")
    wiz.create_customer(name="Rotating Co")
    assert wiz.wait_for_webhooks()
    [call] = receiver.calls
    assert call["headers"]["X-Wizcommerce-Signature"].split(",") == [
        b64_signature(call["body"], "old-secret"), b64_signature(call["body"], "new-secret")]


def test_header_mode_sends_the_secret_in_the_configured_header(wiz: WizEmulator, receiver: Receiver) -> None:
    wiz.set_webhook_target(receiver.url, secret="shared", mode="header", header_name="X-Webhook-Key")
    customer = wiz.create_customer(name="Header Co")
    wiz.update_customer(customer["id"], email="h@co.example")
    assert wiz.wait_for_webhooks()
    assert [p["event"] for p in receiver.payloads()] == ["customer.created", "customer.updated"]
    assert all(call["headers"]["X-Webhook-Key"] == "shared" for call in receiver.calls)
    assert "X-Wizcommerce-Signature" not in receiver.calls[0]["headers"]


def test_events_are_kept_in_the_outbox_even_without_a_target(wiz: WizEmulator) -> None:
    customer = wiz.create_customer(name="Quiet Co")
    assert wiz.webhook_deliveries == []
    [event] = wiz.outbox
    assert event["envelope"]["event"] == "customer.created"
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
    assert first["body"] == second["body"]  # the same event (same envelope id), sent again


def test_a_duplicate_reference_id_is_refused_where_switched_on_wc_a2(wiz: WizEmulator, wiz_api: Client) -> None:
    wiz.configure(refuse_duplicate_reference_id=True)
    customer = {"company_name": "Once Ltd", "display_name": "Once", "reference_id": "S-99"}
    assert wiz_api("POST", "/customers", json=customer).status_code == 201
    refused = wiz_api("POST", "/customers", json=customer)
    assert refused.status_code == 400  # no 409 is documented
    assert refused.json()["details"] == [{"field": "reference_id", "reason": "already exists"}]
    assert sum(c["reference_id"] == "S-99" for c in wiz.customers.values()) == 1


# -- documented writes only: products, undocumented order fields, payment_status ----------------

def test_a_product_is_created_as_a_group_of_variants_and_read_flat(wiz_api: Client) -> None:
    created = wiz_api("POST", "/products", json={"group_code": "sos-item-900", "variants": [
        {"sku_id": "GRP-1", "reference_id": "900", "name": "Grouped", "attributes": [{"name": "uom", "value": "ea"}]}]})
    assert created.status_code == 201
    product = created.json()["data"]
    assert (product["sku"], product["name"], product["reference_id"], product["group_code"], product["status"]) == (
        "GRP-1", "Grouped", "900", "sos-item-900", "active")
    assert "sku_id" not in product and product["attributes"][0]["name"] == "uom"


@pytest.mark.parametrize("body, field", [
    ({"sku": "FLAT-1", "name": "Flat", "reference_id": "901"}, "name"),  # the old flat body
    ({"group_code": "g", "variants": [{"sku": "X-1", "name": "X"}]}, "variants[0].sku"),
    ({"group_code": "g", "variants": []}, "variants"),
    ({"variants": [{"sku_id": "X-2", "name": "X"}]}, "group_code"),
])
def test_a_product_create_in_any_other_shape_is_refused_naming_the_field(wiz_api: Client, body: dict,
                                                                         field: str) -> None:
    refused = wiz_api("POST", "/products", json=body)
    assert refused.status_code == 400 and refused.json()["details"][0]["field"] == field


def test_a_product_patch_may_only_deactivate(wiz: WizEmulator, wiz_api: Client) -> None:
    product = a_product(wiz)
    for body in ({"name": "Renamed"}, {"sku": "NEW-SKU"}, {"reference_id": "77"}, {"status": "active"},
                 {"status": "inactive", "name": "Renamed"}):
        refused = wiz_api("PATCH", f"/products/{product['id']}", json=body)
        assert refused.status_code == 400 and "only set status to inactive" in refused.json()["message"]
    assert wiz.products[product["id"]]["name"] == product["name"]
    inactive = wiz_api("PATCH", f"/products/{product['id']}", json={"status": "inactive"}).json()["data"]
    assert inactive["status"] == "inactive"


def test_undocumented_order_fields_are_taken_on_write_but_never_read_back(wiz: WizEmulator, wiz_api: Client) -> None:
    """WC-A13: the discount counts in `amount`, yet no read shows `discount_value`, `tax_value`,
    `shipping_charge` or an address `type`; a PUT without them removes them."""
    address = {"type": "shipping", "address_line_1": "1 Main St", "city": "Austin"}
    created = new_order(wiz_api, wiz, discount_value=5, tax_value=2, shipping_charge=1,
                        shipping_address=address).json()["data"]
    for order in (created, wiz_api("GET", f"/orders/{created['id']}").json()["data"],
                  *wiz_api("GET", "/orders", params={"order_status": "draft"}).json()["data"]):
        assert not {"discount_value", "tax_value", "shipping_charge"} & set(order)
    assert not set(ORDER_WRITE_ONLY) & set(new_order(wiz_api, wiz).json()["data"])  # left out: not read as null
    assert created["amount"] == 25 - 5 + 2 + 1 and "type" not in created["shipping_address"]
    assert created["shipping_address"]["address_line_1"] == "1 Main St"
    kept = wiz.update_order(created["id"], internal_note="user edit")  # the app keeps what it was written with
    assert kept["amount"] == 23
    read = wiz_api("GET", f"/orders/{created['id']}").json()["data"]
    replaced = wiz_api("PUT", f"/orders/{created['id']}", json={
        k: v for k, v in read.items() if k not in ("id", "amount", "created_at", "updated_at")}).json()["data"]
    assert replaced["amount"] == 25  # full replace: what the body left out is gone


@pytest.mark.parametrize("status", ["UNPAID", "PARTIALLY_PAID", "paid", ""])
def test_an_order_write_takes_only_the_documented_payment_status(wiz: WizEmulator, wiz_api: Client,
                                                                 status: str) -> None:
    """WC-A18: "PAID" or none."""
    refused = new_order(wiz_api, wiz, payment_status=status)
    assert refused.status_code == 400 and refused.json()["details"][0]["field"] == "payment_status"
    assert new_order(wiz_api, wiz, payment_status="PAID", amount_paid=25).status_code == 201
    assert new_order(wiz_api, wiz, payment_status=None, amount_paid=5).json()["data"]["payment_status"] is None


def test_a_customer_written_with_contacts_reads_its_default_contact_at_the_top(wiz_api: Client) -> None:
    created = wiz_api("POST", "/customers", json={
        "company_name": "Acme", "display_name": "Acme", "reference_id": "S-9",
        "contacts": [{"first_name": "Sam", "last_name": "Lee", "email": "sam@acme.example", "is_default": True}]})
    customer = created.json()["data"]
    assert (customer["first_name"], customer["email"]) == ("Sam", "sam@acme.example")
    assert customer["contacts"][0]["id"] and customer["contacts"][0]["is_default"] is True
