"""The SOS emulator over real HTTP: auth, lists, number rules, quantities and the quantity hook."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from local.emulators import SosEmulator
from local.emulators.base import ApiError

from emulator_helpers import SEED_ITEMS, Client, Receiver

HOOK_KEYS = {"id", "name", "fullname", "description", "sku", "onhand", "available"}


def refresh(sos: SosEmulator, refresh_token: str, **overrides: str) -> requests.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": sos.client_id,
            "client_secret": sos.client_secret, **overrides}
    return requests.post(f"{sos.url}/oauth2/token", data=form, timeout=10)


def bearer(sos: SosEmulator, token: str) -> Client:
    return Client(f"{sos.url}/api/v2", {"Authorization": f"Bearer {token}"})


def all_items(api: Client, **params: object) -> list[dict]:
    rows, start = [], 1
    while True:
        page = api("GET", "/item", params={"start": start, **params}).json()["data"]
        rows += page
        start += len(page)
        if len(page) < 200:
            return rows


def stock_item_ids(sos: SosEmulator, count: int) -> list[int]:
    return [item["id"] for item in sos.items.values() if item["type"] == "Inventory Item"][:count]


def subscribe(api: Client, receiver: Receiver) -> dict:
    response = api("POST", "/hook", json={"eventType": "item.quantity_updated", "postUri": receiver.url,
                                          "additionalData": "", "enabled": True})
    assert response.status_code == 200
    return response.json()["data"]


def new_order(api: Client, sos: SosEmulator, **fields: object) -> requests.Response:
    customer_id = next(iter(sos.customers))
    lines = [{"item": {"id": item_id}, "quantity": 2, "unitPrice": 10.0} for item_id in stock_item_ids(sos, 3)]
    return api("POST", "/salesorder", json={"customer": {"id": customer_id}, "lines": lines, **fields})


# -- auth -----------------------------------------------------------------------------------------

def test_a_request_without_a_valid_access_token_is_refused(sos: SosEmulator, sos_api: Client) -> None:
    assert sos_api("GET", "/item/1").status_code == 200
    assert requests.get(f"{sos.url}/api/v2/item/1", timeout=10).status_code == 401
    refused = bearer(sos, "not-a-token")("GET", "/item/1")
    assert refused.status_code == 401
    assert refused.json()["status"] == "error"


def test_refresh_rotates_the_refresh_token(sos: SosEmulator) -> None:
    first = sos.credentials()

    renewed = refresh(sos, first["refresh_token"])
    assert renewed.status_code == 200
    pair = renewed.json()
    assert pair["expires_in"] == 3600 and pair["refresh_expires_in"] > 0 and "token_type" not in pair
    assert bearer(sos, pair["access_token"])("GET", "/item/1").status_code == 200
    assert sos.credentials()["refresh_token"] == pair["refresh_token"]

    reused = refresh(sos, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert refresh(sos, pair["refresh_token"]).status_code == 200


def test_refresh_can_answer_without_a_refresh_token(sos: SosEmulator) -> None:
    """[assumed] switch: the other reading, where the refresh token lives on."""
    sos.configure(refresh_returns_token=False)
    first = sos.credentials()["refresh_token"]
    pair = refresh(sos, first).json()
    assert "refresh_token" not in pair and pair["access_token"]
    assert refresh(sos, first).status_code == 200


def test_refresh_needs_the_client_credentials(sos: SosEmulator) -> None:
    response = refresh(sos, sos.credentials()["refresh_token"], client_secret="wrong")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_expired_access_tokens_are_refused_until_refreshed(sos: SosEmulator, sos_api: Client) -> None:
    sos.expire_tokens()
    assert sos_api("GET", "/item/1").status_code == 401

    sos.set_token_lifetime(60)
    pair = refresh(sos, sos.credentials()["refresh_token"]).json()
    assert pair["expires_in"] == 60
    assert bearer(sos, pair["access_token"])("GET", "/item/1").status_code == 200
    sos.clock.advance(61)
    assert bearer(sos, pair["access_token"])("GET", "/item/1").status_code == 401


def test_tokens_can_be_expired_through_the_admin_endpoint(sos: SosEmulator, sos_api: Client) -> None:
    assert requests.post(f"{sos.url}/_admin/faults", json={"type": "expire_tokens"}, timeout=10).ok
    assert sos_api("GET", "/item/1").status_code == 401


# -- lists ----------------------------------------------------------------------------------------

def test_lists_page_by_a_1_based_start_in_the_documented_envelope(sos_api: Client) -> None:
    first = sos_api("GET", "/item", params={"maxresults": 500}).json()
    assert set(first) == {"count", "totalCount", "data", "status", "message"}
    assert first["status"] == "ok" and first["count"] == 200 and first["totalCount"] == SEED_ITEMS

    rows = all_items(sos_api)
    assert len(rows) == SEED_ITEMS == len({row["id"] for row in rows})
    assert sos_api("GET", "/item").json()["data"][0] == rows[0]  # no start: row 1
    assert sos_api("GET", "/item", params={"start": 201}).json()["data"][0] == rows[200]
    last = sos_api("GET", "/item", params={"start": 401}).json()
    assert last["count"] == SEED_ITEMS - 400 and last["totalCount"] == SEED_ITEMS


def test_no_record_carries_a_modification_time(sos: SosEmulator, sos_api: Client) -> None:
    order = new_order(sos_api, sos).json()["data"]
    sos.create_invoice(order["id"])
    sos.create_shipment(order["id"])
    for resource in ("item", "customer", "salesorder", "invoice", "shipment", "location", "salesrep", "pricetier"):
        for row in sos_api("GET", f"/{resource}").json()["data"]:
            assert "lastModified" not in row and not any(key.startswith("_") for key in row), resource
            assert isinstance(row["syncToken"], int), resource


def test_every_write_bumps_the_sync_token(sos: SosEmulator, sos_api: Client) -> None:
    order = new_order(sos_api, sos).json()["data"]
    assert order["syncToken"] == 1
    updated = sos_api("PUT", f"/salesorder/{order['id']}", json={**order, "comment": "x"}).json()["data"]
    assert updated["syncToken"] == 2
    sos.create_invoice(order["id"])
    assert sos_api("GET", f"/salesorder/{order['id']}").json()["data"]["syncToken"] == 3
    item = sos_api("GET", "/item/3").json()["data"]
    assert sos.update_item(3, name="Renamed")["syncToken"] == item["syncToken"] + 1


def test_updatedsince_is_inclusive_at_whole_seconds_in_the_configured_zone(sos: SosEmulator, sos_api: Client) -> None:
    sos.advance_clock(5)
    edited = sos.update_item(7, name="Edited")
    moment = datetime.fromisoformat(sos.items[7]["_modified"].replace("Z", "+00:00"))
    utc_text = moment.replace(tzinfo=None, microsecond=0).isoformat()
    found = sos_api("GET", "/item", params={"updatedsince": utc_text}).json()
    assert [row["id"] for row in found["data"]] == [edited["id"]] and found["totalCount"] == 1
    later = (moment + timedelta(seconds=1)).replace(tzinfo=None, microsecond=0).isoformat()
    assert sos_api("GET", "/item", params={"updatedsince": later}).json()["totalCount"] == 0

    sos.configure(timezone="America/Los_Angeles")
    local = moment.astimezone(ZoneInfo("America/Los_Angeles")).replace(tzinfo=None, microsecond=0).isoformat()
    assert sos_api("GET", "/item", params={"updatedsince": local}).json()["totalCount"] == 1
    assert sos_api("GET", "/item", params={"updatedsince": utc_text}).json()["totalCount"] == 0  # hours later there
    assert sos_api("GET", "/item", params={"updatedsince": "yesterday"}).status_code == 400


def test_createdsince_sees_new_records_only(sos: SosEmulator, sos_api: Client) -> None:
    sos.advance_clock(5)
    since = sos.clock.stamp()[:19]
    sos.update_customer(1, notes="edited, not new")
    created = sos.create_customer(name="Brand New")
    rows = sos_api("GET", "/customer", params={"createdsince": since}).json()["data"]
    assert [row["id"] for row in rows] == [created["id"]]


def test_unknown_parameters_are_silently_ignored(sos: SosEmulator, sos_api: Client) -> None:
    everything = sos_api("GET", "/invoice").json()["totalCount"]
    new_order(sos_api, sos)
    assert sos_api("GET", "/item", params={"salesorderid": 1, "updatedSinse": "2030-01-01"}).json()[
        "totalCount"] == SEED_ITEMS
    assert sos_api("GET", "/invoice", params={"salesorderid": 999}).json()["totalCount"] == everything
    assert sos_api("GET", "/location", params={"updatedsince": "2999-01-01T00:00:00"}).json()["totalCount"] == 3


def test_a_record_edited_while_paging_moves_to_the_end(sos: SosEmulator, sos_api: Client) -> None:
    before = all_items(sos_api)
    sos.update_item(before[50]["id"], name="Renamed mid-run")  # a row already read

    # Offset paging now skips a row: everything after the edited one moved one place left.
    assert sos_api("GET", "/item", params={"start": 201}).json()["data"][0]["id"] == before[201]["id"]
    assert all_items(sos_api)[-1]["name"] == "Renamed mid-run"
    sos.configure(order="id")
    assert [row["id"] for row in all_items(sos_api)] == sorted(row["id"] for row in before)


def test_query_searches_the_documented_fields_of_each_endpoint(sos: SosEmulator, sos_api: Client) -> None:
    item = sos.items[7]
    found = sos_api("GET", "/item", params={"query": item["sku"].lower()}).json()["data"]
    assert [row["id"] for row in found] == [7]
    order = new_order(sos_api, sos, number="Q-77", comment="gift wrap").json()["data"]
    assert [row["id"] for row in sos_api("GET", "/salesorder", params={"query": "GIFT"}).json()["data"]] == [order["id"]]
    assert sos_api("GET", "/item", params={"ids": "3,5", "archived": "no"}).json()["totalCount"] <= 2


def test_item_types_and_locations_read_as_documented(sos: SosEmulator, sos_api: Client) -> None:
    types = {row["type"] for row in all_items(sos_api)}
    assert types <= {"Inventory Item", "Non-inventory", "Service", "Assembly", "Kit", "Labor", "Other"}
    assert "Non-inventory Item" not in types and "Kit" in types
    sos.configure(kit_type="Item Group")
    assert "Item Group" in {row["type"] for row in all_items(sos_api)}
    locations = sos_api("GET", "/location").json()["data"]
    assert [row["nonNettable"] for row in locations] == [False, False, True]
    assert all("nettable" not in row for row in locations)


# -- errors and throttling ------------------------------------------------------------------------

def test_throttling_reads_throttle_limit_exceeded_as_429_or_http_200(sos: SosEmulator, sos_api: Client) -> None:
    sos.inject_throttle(1, http_status=200)
    throttled = sos_api("GET", "/item")
    assert throttled.status_code == 200 and throttled.json()["message"] == "Throttle limit exceeded"
    assert throttled.json()["status"] != "ok" and "data" not in throttled.json()
    sos.inject_throttle(1, http_status=429)
    refused = sos_api("GET", "/item")
    assert refused.status_code == 429 and "Retry-After" not in refused.headers
    assert sos_api("GET", "/item").json()["status"] == "ok"

    sos.configure(throttle_http_status=200)
    sos.set_rate_limit(0.5, burst=1)
    sos_api("GET", "/item/1")
    limited = sos_api("GET", "/item/1")
    assert limited.status_code == 200 and limited.json() == {"status": "error", "message": "Throttle limit exceeded"}


def test_a_throttle_can_come_as_the_message_alone_sos_a18(sos: SosEmulator, sos_api: Client) -> None:
    sos.inject_throttle(1, http_status=200, status=None)
    throttled = sos_api("GET", "/item")
    assert throttled.status_code == 200 and throttled.json() == {"message": "Throttle limit exceeded"}
    sos.inject_throttle(1, http_status=200, status="failed")
    assert sos_api("GET", "/item").json() == {"status": "failed", "message": "Throttle limit exceeded"}
    assert sos_api("GET", "/item").json()["status"] == "ok"


def test_a_throttle_can_wait_for_its_call_and_hit_every_nth_one(sos: SosEmulator, sos_api: Client) -> None:
    sos.inject_throttle(3, http_status=200, after=1, every=2, path="/api/v2/item")
    answers = ["data" in sos_api("GET", "/item/1").json() for _ in range(8)]
    # call 1 passes (after=1), then every other call is throttled until three were
    assert answers == [True, True, False, True, False, True, False, True]
    assert sos.faulted_counters() == {"GET /api/v2/item/{id}": 3}


def test_errors_can_come_with_http_200_and_a_non_ok_status(sos: SosEmulator, sos_api: Client) -> None:
    requests.post(f"{sos.url}/_admin/faults", json={"type": "status_error", "status": "failed", "count": 1},
                  timeout=10)
    failed = sos_api("GET", "/item")
    assert failed.status_code == 200 and failed.json()["status"] == "failed"
    sos.configure(validation_http_status=200)
    invalid = sos_api("POST", "/customer", json={"name": ""})
    assert invalid.status_code == 200 and invalid.json()["status"] == "invalid"


# -- sales orders ---------------------------------------------------------------------------------

def test_a_sales_order_post_returns_the_documented_record(sos: SosEmulator, sos_api: Client) -> None:
    response = new_order(sos_api, sos, number="WC-1001", discountAmount=5, depositAmount=12.5)
    assert response.status_code == 200
    order = response.json()["data"]
    assert order["id"] and order["number"] == "WC-1001" and order["syncToken"] == 1
    assert order["total"] == 3 * 2 * 10.0 - 5 and order["depositAmount"] == 12.5
    assert [line["lineNumber"] for line in order["lines"]] == [1, 2, 3]
    assert order["lines"][0]["unitPrice"] == 10.0
    assert order["lines"][0]["item"]["name"] == sos.items[order["lines"][0]["item"]["id"]]["name"]
    assert set(order["billing"]) == {"company", "phone", "email", "addressName", "addressType", "address"}
    assert order["billing"]["address"]["line1"]
    assert order["linkedInvoices"] == order["linkedShipments"] == order["linkedPayments"] == []
    assert "memo" not in order and "priceTier" not in order
    found = sos_api("GET", "/salesorder", params={"query": "wc-1001"}).json()["data"]
    assert [row["id"] for row in found] == [order["id"]]
    assert new_order(sos_api, sos, number="auto").json()["data"]["number"].isdigit()


def test_fields_sos_does_not_have_are_refused_by_name(sos: SosEmulator, sos_api: Client) -> None:
    response = new_order(sos_api, sos, memo="x", priceTier={"id": 1})
    assert response.status_code == 400 and response.json()["message"].endswith("memo, priceTier")
    assert sos_api("POST", "/customer", json={"name": "X", "firstName": "Ann"}).status_code == 400


def test_flat_addresses_on_a_transaction_are_refused(sos: SosEmulator, sos_api: Client) -> None:
    response = new_order(sos_api, sos, billing={"line1": "1 Main St", "city": "X"})
    assert response.status_code == 400 and "billing.address" in response.json()["message"]


def test_order_numbers_are_unique_and_at_most_21_characters(sos: SosEmulator, sos_api: Client) -> None:
    too_long = new_order(sos_api, sos, number="X" * 22)
    assert too_long.status_code == 400 and "21" in too_long.json()["message"]
    assert new_order(sos_api, sos, number="X" * 21).status_code == 200

    duplicate = new_order(sos_api, sos, number="X" * 21)
    assert duplicate.status_code == 400
    assert duplicate.json() == {"status": "invalid", "message": "Duplicate reference number"}

    other = new_order(sos_api, sos, number="OTHER").json()["data"]
    renamed = sos_api("PUT", f"/salesorder/{other['id']}", json={**other, "number": "X" * 21})
    assert renamed.status_code == 400 and renamed.json()["message"] == "Duplicate reference number"


def test_a_user_may_give_an_order_a_longer_number_than_the_api_takes(sos: SosEmulator, sos_api: Client) -> None:
    """SOS-A15: 21 characters is the API's limit ([assumed]), not a property of every number read."""
    number = "USER-MADE-ORDER-NUMBER-25"
    made = sos.create_sales_order(customer={"id": next(iter(sos.customers))}, number=number)
    assert sos_api("GET", f"/salesorder/{made['id']}").json()["data"]["number"] == number
    assert new_order(sos_api, sos, number=number + "-2").status_code == 400


def test_a_stored_value_can_be_set_as_it_is_without_a_write(sos: SosEmulator, sos_api: Client) -> None:
    """SOS-A23: a null ref (its record deleted) or a value no API write could leave, for readers' tests."""
    order = new_order(sos_api, sos).json()["data"]
    sos.set_stored_value("salesorder", order["id"], "lines.1.item", None)
    sos.set_stored_value("salesorder", order["id"], "customer", None)
    read = sos_api("GET", f"/salesorder/{order['id']}").json()["data"]
    assert read["customer"] is None and read["lines"][1]["item"] is None and read["lines"][0]["item"]
    assert read["syncToken"] == order["syncToken"]  # not a write: no updatedsince window brings it
    item_id = stock_item_ids(sos, 1)[0]
    sos.set_stored_value("item", item_id, "onhand", "lots")
    assert sos_api("GET", f"/item/{item_id}").json()["data"]["onhand"] == "lots"


def test_customer_addresses_read_flat_or_nested_as_switched(sos: SosEmulator, sos_api: Client) -> None:
    """SOS-A21: two readings of a customer's billing/shipping."""
    created = sos_api("POST", "/customer", json={"name": "Shape Co", "email": "s@shape.example",
                                                 "billing": {"line1": "1 Main St", "city": "Austin"}}).json()["data"]
    assert created["billing"]["line1"] == "1 Main St" and created["shipping"] is None
    nested = {"company": "Shape Co", "address": {"line1": "2 Side St", "city": "Dallas"}}
    refused = sos_api("PUT", f"/customer/{created['id']}", json={**created, "shipping": nested})
    assert refused.status_code == 400 and "not nested" in refused.json()["message"]

    sos.configure(customer_address_shape="nested")
    read = sos_api("GET", f"/customer/{created['id']}").json()["data"]
    assert read["billing"] == {"company": None, "phone": None, "email": "s@shape.example", "addressName": None,
                               "addressType": "billing", "address": created["billing"]}
    written = sos_api("PUT", f"/customer/{created['id']}", json={**read, "shipping": nested}).json()["data"]
    assert written["shipping"]["address"]["line1"] == "2 Side St"
    assert written["billing"]["address"]["line1"] == "1 Main St"
    sos.configure(customer_address_shape="flat")
    assert sos_api("GET", f"/customer/{created['id']}").json()["data"]["shipping"]["city"] == "Dallas"


def test_linked_elements_read_as_objects_or_as_bare_ids_as_switched(sos: SosEmulator, sos_api: Client) -> None:
    """SOS-A9: the documented link shape, and one a client must refuse rather than read as no links."""
    order = new_order(sos_api, sos).json()["data"]
    invoice = sos.create_invoice(order["id"])
    shipment = sos.create_shipment(order["id"])
    links = sos_api("GET", f"/salesorder/{order['id']}").json()["data"]
    assert links["linkedShipments"] == [{"id": shipment["id"], "transactionType": "Shipment",
                                         "refNumber": shipment["number"], "linenumber": None}]
    sos.configure(linked_shape="id")
    bare = sos_api("GET", f"/salesorder/{order['id']}").json()["data"]
    assert bare["linkedInvoices"] == [invoice["id"]] and bare["linkedShipments"] == [shipment["id"]]
    assert sos_api("GET", "/salesorder", params={"query": order["number"]}).json()["data"][0]["linkedShipments"] == [
        shipment["id"]]


def test_shipments_name_their_order_on_lines_or_on_the_header_as_switched(sos: SosEmulator, sos_api: Client) -> None:
    """SOS-A10: "lines" (the contract, header documented "Unused") or "header" (lines null)."""
    order = new_order(sos_api, sos).json()["data"]
    shipment = sos.create_shipment(order["id"])
    listed = sos_api("GET", "/shipment", params={"query": shipment["number"]}).json()["data"][0]
    assert listed["linkedTransaction"] is None
    assert {line["linkedTransaction"]["id"] for line in listed["lines"]} == {order["id"]}
    sos.configure(shipment_link="header")
    for read in (sos_api("GET", f"/shipment/{shipment['id']}").json()["data"],
                 sos_api("GET", "/shipment", params={"query": shipment["number"]}).json()["data"][0]):
        assert read["linkedTransaction"] == {"id": order["id"], "transactionType": "SalesOrder",
                                             "refNumber": order["number"], "linenumber": None}
        assert all(line["linkedTransaction"] is None for line in read["lines"])
    with pytest.raises(ApiError, match="shipment_link"):
        sos.configure(shipment_link="both")


def test_unknown_references_are_named_in_the_400(sos: SosEmulator, sos_api: Client) -> None:
    customer_id = next(iter(sos.customers))
    bad_item = sos_api("POST", "/salesorder", json={
        "customer": {"id": customer_id}, "lines": [{"item": {"id": 999999}, "quantity": 1}]})
    assert bad_item.status_code == 400 and "item id 999999" in bad_item.json()["message"]
    bad_customer = sos_api("POST", "/salesorder", json={"customer": {"id": 424242}, "lines": []})
    assert bad_customer.status_code == 400 and "customer id 424242" in bad_customer.json()["message"]
    assert sos_api("GET", "/salesorder/424242").status_code == 404


def test_put_replaces_the_whole_record_and_needs_the_current_sync_token(sos: SosEmulator, sos_api: Client) -> None:
    order = new_order(sos_api, sos, comment="first", customerPO="PO-9").json()["data"]
    partial = sos_api("PUT", f"/salesorder/{order['id']}",
                      json={"syncToken": order["syncToken"], "number": order["number"], "customer": order["customer"],
                            "comment": "second"}).json()["data"]
    assert partial["comment"] == "second" and partial["lines"] == [] and partial["customerPO"] is None

    stale = sos_api("PUT", f"/salesorder/{order['id']}", json={**order, "comment": "third"})
    assert stale.status_code == 400
    assert stale.json()["status"] == "invalid" and "modified by someone else" in stale.json()["message"]
    missing = sos_api("PUT", f"/salesorder/{order['id']}", json={k: v for k, v in order.items() if k != "syncToken"})
    assert missing.status_code == 400


def test_customers_have_a_contact_and_plain_addresses(sos_api: Client) -> None:
    created = sos_api("POST", "/customer", json={"name": "New Co", "salesRep": {"id": 2},
                                                 "contact": {"firstName": "Ann", "lastName": "Lee"},
                                                 "billing": {"line1": "1 Main St", "city": "Austin"}}).json()["data"]
    assert created["salesRep"] == {"id": 2, "name": "Marco Alvarez"}
    assert created["contact"]["firstName"] == "Ann" and created["billing"]["line1"] == "1 Main St"
    edited = sos_api("PUT", f"/customer/{created['id']}", json={**created, "email": "a@b.example"}).json()["data"]
    assert edited["email"] == "a@b.example" and edited["name"] == "New Co" and edited["syncToken"] == 2
    cleared = sos_api("PUT", f"/customer/{created['id']}", json={"name": "New Co", "syncToken": 2}).json()["data"]
    assert cleared["email"] is None and cleared["contact"]["firstName"] is None
    assert sos_api("POST", "/customer", json={"name": "X", "priceTier": {"id": 99}}).status_code == 400
    assert sos_api("POST", "/customer", json={"name": "X", "id": 5}).status_code == 400


def test_invoices_link_to_their_order_and_carry_a_balance(sos: SosEmulator, sos_api: Client) -> None:
    order = new_order(sos_api, sos).json()["data"]
    invoice = sos.create_invoice(order["id"])
    assert invoice["linkedTransaction"] == {"id": order["id"], "transactionType": "SalesOrder",
                                            "refNumber": order["number"], "linenumber": None}
    assert invoice["balance"] == invoice["total"] and invoice["status"] == "Open"
    linked = sos_api("GET", f"/salesorder/{order['id']}").json()["data"]["linkedInvoices"]
    assert [link["id"] for link in linked] == [invoice["id"]]

    sos.record_payment(20, invoice_id=invoice["id"])
    paid = sos_api("GET", f"/invoice/{invoice['id']}").json()["data"]
    assert paid["balance"] == invoice["total"] - 20 and len(paid["linkedPayments"]) == 1
    sos.record_payment(5, order_id=order["id"])
    assert sos_api("GET", f"/salesorder/{order['id']}").json()["data"]["depositAmount"] == 5


def test_payment_endpoint_is_absent_unless_switched_on(sos: SosEmulator, sos_api: Client) -> None:
    order = new_order(sos_api, sos).json()["data"]
    assert sos_api("GET", "/payment").status_code == 404
    assert sos_api("POST", "/payment", json={"amount": 5, "salesOrder": {"id": order["id"]}}).status_code == 404
    sos.configure(payment_endpoint=True)
    assert sos_api("POST", "/payment", json={"amount": 5, "salesOrder": {"id": order["id"]}}).status_code == 200
    assert sos_api("GET", "/payment").json()["totalCount"] == 1


def test_single_records_may_come_unwrapped(sos: SosEmulator, sos_api: Client) -> None:
    sos.configure(wrap_single=False)
    record = sos_api("GET", "/item/1").json()
    assert record["id"] == 1 and "data" not in record


def test_an_unwrapped_invoice_keeps_its_own_status_sos_a2(sos: SosEmulator, sos_api: Client) -> None:
    invoice = sos.create_invoice(new_order(sos_api, sos).json()["data"]["id"])
    sos.configure(wrap_single=False)
    record = sos_api("GET", f"/invoice/{invoice['id']}").json()
    assert record["id"] == invoice["id"] and record["status"] == "Open" and "data" not in record


def test_a_hook_delete_may_answer_an_empty_204_sos_a20(sos: SosEmulator, sos_api: Client, receiver: Receiver) -> None:
    sos.configure(hook_delete_empty=True)
    hook = subscribe(sos_api, receiver)
    deleted = sos_api("DELETE", f"/hook/{hook['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert sos_api("GET", f"/hook/{hook['id']}").status_code == 404
    assert sos_api("DELETE", f"/hook/{hook['id']}").status_code == 404  # an unknown hook is still refused


def test_read_only_resources_refuse_writes(sos_api: Client) -> None:
    assert sos_api("POST", "/item", json={"name": "x"}).status_code == 405
    assert sos_api("GET", "/nothing").status_code == 404


# -- quantities and the hook ----------------------------------------------------------------------

def test_hooks_can_be_listed_read_and_deleted(sos_api: Client, receiver: Receiver) -> None:
    hook = subscribe(sos_api, receiver)
    assert [row["id"] for row in sos_api("GET", "/hook").json()["data"]] == [hook["id"]]
    assert sos_api("GET", f"/hook/{hook['id']}").json()["data"]["postUri"] == receiver.url
    assert sos_api("DELETE", f"/hook/{hook['id']}").status_code == 200
    assert sos_api("GET", f"/hook/{hook['id']}").status_code == 404
    assert sos_api("POST", "/hook", json={"eventType": "item.created", "postUri": receiver.url}).status_code == 400


def test_a_quantity_change_fires_the_hook_but_is_no_write(
        sos: SosEmulator, sos_api: Client, receiver: Receiver) -> None:
    subscribe(sos_api, receiver)
    item_id = stock_item_ids(sos, 1)[0]
    before = sos_api("GET", f"/item/{item_id}").json()["data"]

    sos.set_item_quantities(item_id, available=before["available"] + 7.5, onPO=12)
    assert sos.wait_for_hooks()

    after = sos_api("GET", f"/item/{item_id}").json()["data"]
    assert after["available"] == before["available"] + 7.5 and after["onPO"] == 12
    assert after["syncToken"] == before["syncToken"]
    [payload] = receiver.payloads()
    assert set(payload) == HOOK_KEYS and payload["id"] == item_id and payload["available"] == after["available"]
    assert receiver.calls[0]["path"] == "/hook/secret-token"


def test_an_on_po_only_change_is_silent(sos: SosEmulator, sos_api: Client, receiver: Receiver) -> None:
    subscribe(sos_api, receiver)
    sos.set_item_quantities(stock_item_ids(sos, 1)[0], onPO=99)
    assert sos.wait_for_hooks() and receiver.calls == []


def test_quantities_can_be_set_through_the_admin_endpoint(
        sos: SosEmulator, sos_api: Client, receiver: Receiver) -> None:
    subscribe(sos_api, receiver)
    item_id = stock_item_ids(sos, 1)[0]
    response = requests.post(f"{sos.url}/_admin/items/{item_id}/quantities",
                             json={"available": 3, "onhand": 4, "onPO": 5}, timeout=10)
    assert response.status_code == 200
    assert sos.wait_for_hooks()
    assert receiver.payloads()[0]["onhand"] == 4
    assert sos.items[item_id]["onPO"] == 5


def test_a_shipment_moves_stock_and_fires_one_hook_per_line(
        sos: SosEmulator, sos_api: Client, receiver: Receiver) -> None:
    subscribe(sos_api, receiver)
    order = new_order(sos_api, sos).json()["data"]
    assert sos.wait_for_hooks()
    hooks_before = len(receiver.calls)  # the open order committed its stock (H-avail): hooks of its own
    onhand = {line["item"]["id"]: sos.items[line["item"]["id"]]["onhand"] for line in order["lines"]}
    available = {item_id: sos.items[item_id]["available"] for item_id in onhand}

    shipment = sos.create_shipment(order["id"], tracking_number="1Z999", shipping_method="UPS Ground")
    assert sos.wait_for_hooks()

    assert len(receiver.calls) - hooks_before == len(order["lines"]) == 3
    for item_id, quantity in onhand.items():
        assert sos.items[item_id]["onhand"] == quantity - 2
        # what the order committed is what shipped: available stays (H-avail)
        assert sos.items[item_id]["available"] == available[item_id]
    links = sos_api("GET", f"/salesorder/{order['id']}").json()["data"]["linkedShipments"]
    assert [link["id"] for link in links] == [shipment["id"]]
    listed = sos_api("GET", f"/shipment/{shipment['id']}").json()["data"]
    assert listed["shippingMethod"]["name"] == "UPS Ground" and listed["linkedTransaction"] is None
    assert {line["linkedTransaction"]["id"] for line in listed["lines"]} == {order["id"]}


def test_a_kit_is_available_as_far_as_its_components_allow(sos: SosEmulator, sos_api: Client) -> None:
    kit_id, parts = next(iter(sos._kit_components.items()))
    component_id, per_kit = parts[0]
    sos.set_item_quantities(component_id, available=per_kit * 2 + 0.5)
    kit = sos_api("GET", f"/item/{kit_id}").json()["data"]
    assert kit["type"] == "Kit" and kit["onhand"] == 0 and kit["available"] <= 2
    sos.set_item_quantities(component_id, available=0)
    assert sos_api("GET", f"/item/{kit_id}").json()["data"]["available"] == 0


# -- sales order lines: exact amounts, minimum price, price casing (SOS-A7), kept line ids --------

def test_a_line_amount_must_equal_quantity_times_unit_price_exactly(sos: SosEmulator, sos_api: Client) -> None:
    """The contract's rule, compared as decimals: 3 × 9.9967 is 29.9901; 29.99 is refused."""
    customer_id, item_id = next(iter(sos.customers)), stock_item_ids(sos, 1)[0]

    def post(amount: float) -> requests.Response:
        return sos_api("POST", "/salesorder", json={"customer": {"id": customer_id}, "lines": [
            {"item": {"id": item_id}, "quantity": 3, "unitPrice": 9.9967, "amount": amount}]})

    refused = post(29.99)
    assert refused.status_code == 400 and "Line 1" in refused.json()["message"]
    order = post(29.9901).json()["data"]
    assert order["lines"][0]["amount"] == 29.9901 and order["subTotal"] == 29.99


def test_a_unit_price_below_the_item_minimum_price_is_refused_naming_the_line(
        sos: SosEmulator, sos_api: Client) -> None:
    customer_id, item_id = next(iter(sos.customers)), stock_item_ids(sos, 1)[0]
    sos.update_item(item_id, minimumPrice=5.0)
    lines = [{"item": {"id": item_id}, "quantity": 1, "unitPrice": 5.0},
             {"item": {"id": item_id}, "quantity": 1, "unitPrice": 4.99}]
    refused = sos_api("POST", "/salesorder", json={"customer": {"id": customer_id}, "lines": lines})
    assert refused.status_code == 400 and refused.json()["status"] == "invalid"
    assert "Line 2" in refused.json()["message"] and "minimum price" in refused.json()["message"]
    assert sos_api("POST", "/salesorder", json={"customer": {"id": customer_id}, "lines": lines[:1]}).status_code == 200


def test_line_price_casing_is_a_switch_and_the_other_casing_is_ignored(sos: SosEmulator, sos_api: Client) -> None:
    """SOS-A7: on a `unitprice` account lines read `unitprice`, and a `unitPrice` sent is not
    seen: the line falls back to its item's sales price."""
    sos.configure(line_price_field="unitprice")
    customer_id, item_id = next(iter(sos.customers)), stock_item_ids(sos, 1)[0]
    sos.update_item(item_id, salesPrice=7.0)
    order = sos_api("POST", "/salesorder", json={"customer": {"id": customer_id}, "lines": [
        {"item": {"id": item_id}, "quantity": 2, "unitprice": 3.0}]}).json()["data"]
    assert order["lines"][0]["unitprice"] == 3.0 and "unitPrice" not in order["lines"][0]
    ignored = sos_api("POST", "/salesorder", json={"customer": {"id": customer_id}, "lines": [
        {"item": {"id": item_id}, "quantity": 2, "unitPrice": 3.0}]}).json()["data"]
    assert ignored["lines"][0]["unitprice"] == 7.0


def test_a_put_keeps_the_ids_of_the_lines_it_carries(sos: SosEmulator, sos_api: Client) -> None:
    order = new_order(sos_api, sos).json()["data"]
    first, second, _ = order["lines"]
    lines = [{k: v for k, v in second.items() if k != "lineNumber"}, {**first, "id": None},
             {"item": first["item"], "quantity": 1, "unitPrice": 1.0}]
    body = {**order, "lines": lines}
    updated = sos_api("PUT", f"/salesorder/{order['id']}", json=body).json()["data"]
    ids = [line["id"] for line in updated["lines"]]
    assert ids[0] == second["id"] and ids[1] not in {first["id"], second["id"]} and len(set(ids)) == 3
    stranger = sos_api("PUT", f"/salesorder/{order['id']}", json={
        **updated, "lines": [{**updated["lines"][0], "id": 999}]})
    assert stranger.status_code == 400 and "id 999" in stranger.json()["message"]


def test_open_sales_order_lines_commit_stock_and_zeroing_them_releases_it_with_a_hook(
        sos: SosEmulator, sos_api: Client, receiver: Receiver) -> None:
    """H-avail ("calculating available for sale quantities"): available = in stock − open sales
    order lines. An order's lines set to 0 (R-ORD-8, SOS-A22) give the stock back and fire the hook."""
    subscribe(sos_api, receiver)
    [item_id] = stock_item_ids(sos, 1)
    before = dict(sos.items[item_id])
    created = sos_api("POST", "/salesorder", json={"number": "AVAIL-1", "customer": {"id": next(iter(sos.customers))},
                                                    "lines": [{"item": {"id": item_id}, "quantity": 4}]})
    assert created.status_code == 200, created.text
    order = created.json()["data"]
    assert sos.items[item_id]["available"] == before["available"] - 4
    assert sos.items[item_id]["onSO"] == before["onSO"] + 4 and sos.items[item_id]["onhand"] == before["onhand"]
    assert sos.wait_for_hooks()
    calls = len(receiver.calls)
    zeroed = [{**line, "quantity": 0, "amount": 0} for line in order["lines"]]
    answer = sos_api("PUT", f"/salesorder/{order['id']}", json={**order, "lines": zeroed, "comment": "Cancelled"})
    assert answer.status_code == 200, answer.text
    assert sos.items[item_id]["available"] == before["available"] and sos.items[item_id]["onSO"] == before["onSO"]
    assert sos.wait_for_hooks()
    [hook] = [json.loads(call["body"]) for call in receiver.calls[calls:]]
    assert hook["id"] == item_id and hook["available"] == before["available"]
