"""The SOS emulator over real HTTP: auth, lists, number rules, quantities and the quantity hook."""

from __future__ import annotations

import requests

from local.emulators import SosEmulator

from emulator_helpers import SEED_ITEMS, Client, Receiver

HOOK_KEYS = {"id", "name", "fullname", "description", "sku", "onhand", "available"}


def refresh(sos: SosEmulator, refresh_token: str, **overrides: str) -> requests.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": sos.client_id,
            "client_secret": sos.client_secret, **overrides}
    return requests.post(f"{sos.url}/oauth2/token", data=form, timeout=10)


def bearer(sos: SosEmulator, token: str) -> Client:
    return Client(f"{sos.url}/api/v2", {"Authorization": f"Bearer {token}"})


def all_items(api: Client, **params: object) -> list[dict]:
    rows, start = [], 0
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
    lines = [{"item": {"id": item_id}, "quantity": 2, "unitprice": 10.0} for item_id in stock_item_ids(sos, 3)]
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
    assert pair["token_type"] == "bearer" and pair["expires_in"] == 3600
    assert bearer(sos, pair["access_token"])("GET", "/item/1").status_code == 200
    assert sos.credentials()["refresh_token"] == pair["refresh_token"]

    reused = refresh(sos, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert refresh(sos, pair["refresh_token"]).status_code == 200


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

def test_lists_page_in_last_modified_then_id_order(sos_api: Client) -> None:
    first = sos_api("GET", "/item", params={"maxresults": 500}).json()
    assert first["status"] == "ok" and first["count"] == 200 and first["totalCount"] == SEED_ITEMS

    rows = all_items(sos_api)
    assert len(rows) == SEED_ITEMS == len({row["id"] for row in rows})
    keys = [(row["lastModified"], row["id"]) for row in rows]
    assert keys == sorted(keys)
    last = sos_api("GET", "/item", params={"start": 400}).json()
    assert last["count"] == SEED_ITEMS - 400


def test_updatedsince_includes_records_modified_at_that_time(sos_api: Client) -> None:
    rows = all_items(sos_api)
    since = rows[300]["lastModified"]
    page = sos_api("GET", "/item", params={"updatedsince": since}).json()
    assert page["totalCount"] == SEED_ITEMS - 300
    assert page["data"][0]["id"] == rows[300]["id"]
    assert sos_api("GET", "/item", params={"updatedsince": "yesterday"}).status_code == 400


def test_a_record_edited_while_paging_moves_to_the_end(sos: SosEmulator, sos_api: Client) -> None:
    before = all_items(sos_api)
    first_page = sos_api("GET", "/item", params={"start": 0}).json()["data"]
    assert first_page == before[:200]

    sos.update_item(before[50]["id"], name="Renamed mid-run")  # a row already read

    # Offset paging now skips a row: everything after the edited one moved one place left.
    assert sos_api("GET", "/item", params={"start": 200}).json()["data"][0]["id"] == before[201]["id"]
    # Asking again from the last row seen misses nothing; the edited row comes again, last.
    rest = all_items(sos_api, updatedsince=first_page[-1]["lastModified"])
    assert [row["id"] for row in rest[:2]] == [before[199]["id"], before[200]["id"]]
    assert len(rest) == SEED_ITEMS - 199 + 1
    assert rest[-1]["id"] == before[50]["id"] and rest[-1]["name"] == "Renamed mid-run"
    assert rest[-1]["lastModified"] > before[-1]["lastModified"]


def test_query_matches_number_name_or_sku_ignoring_case(sos: SosEmulator, sos_api: Client) -> None:
    item = sos.items[7]
    found = sos_api("GET", "/item", params={"query": item["sku"].lower()}).json()["data"]
    assert [row["id"] for row in found] == [7]


# -- sales orders ---------------------------------------------------------------------------------

def test_a_sales_order_post_returns_the_record_with_id_and_totals(sos: SosEmulator, sos_api: Client) -> None:
    response = new_order(sos_api, sos, number="WC-1001", discountAmount=5)
    assert response.status_code == 200
    order = response.json()["data"]
    assert order["id"] and order["lastModified"] and order["number"] == "WC-1001"
    assert order["total"] == 3 * 2 * 10.0 - 5
    assert [line["lineNumber"] for line in order["lines"]] == [1, 2, 3]
    assert order["lines"][0]["item"]["name"] == sos.items[order["lines"][0]["item"]["id"]]["name"]
    found = sos_api("GET", "/salesorder", params={"query": "wc-1001"}).json()["data"]
    assert [row["id"] for row in found] == [order["id"]]


def test_order_numbers_are_unique_and_at_most_21_characters(sos: SosEmulator, sos_api: Client) -> None:
    too_long = new_order(sos_api, sos, number="X" * 22)
    assert too_long.status_code == 400 and "21" in too_long.json()["message"]
    assert new_order(sos_api, sos, number="X" * 21).status_code == 200

    duplicate = new_order(sos_api, sos, number="X" * 21)
    assert duplicate.status_code == 400
    assert duplicate.json() == {"status": "error", "message": "Duplicate reference number"}

    other = new_order(sos_api, sos, number="OTHER").json()["data"]
    renamed = sos_api("PUT", f"/salesorder/{other['id']}", json={"number": "X" * 21})
    assert renamed.status_code == 400 and renamed.json()["message"] == "Duplicate reference number"


def test_unknown_references_are_named_in_the_400(sos: SosEmulator, sos_api: Client) -> None:
    customer_id = next(iter(sos.customers))
    bad_item = sos_api("POST", "/salesorder", json={
        "customer": {"id": customer_id}, "lines": [{"item": {"id": 999999}, "quantity": 1}]})
    assert bad_item.status_code == 400 and "item id 999999" in bad_item.json()["message"]
    bad_customer = sos_api("POST", "/salesorder", json={"customer": {"id": 424242}, "lines": []})
    assert bad_customer.status_code == 400 and "customer id 424242" in bad_customer.json()["message"]
    assert sos_api("GET", "/salesorder/424242").status_code == 404


def test_put_replaces_only_the_fields_given(sos: SosEmulator, sos_api: Client) -> None:
    order = new_order(sos_api, sos, memo="first").json()["data"]
    updated = sos_api("PUT", f"/salesorder/{order['id']}", json={"memo": "second"}).json()["data"]
    assert updated["memo"] == "second" and updated["lines"] == order["lines"]
    assert updated["lastModified"] > order["lastModified"]


def test_customers_are_created_and_edited(sos_api: Client) -> None:
    created = sos_api("POST", "/customer", json={"name": "New Co", "salesRep": {"id": 2}}).json()["data"]
    assert created["salesRep"] == {"id": 2, "name": "Marco Alvarez"}
    edited = sos_api("PUT", f"/customer/{created['id']}", json={"email": "a@b.example"}).json()["data"]
    assert edited["email"] == "a@b.example" and edited["name"] == "New Co"
    assert sos_api("POST", "/customer", json={"name": "X", "priceTier": {"id": 99}}).status_code == 400


def test_a_payment_lowers_the_invoice_amount_due(sos: SosEmulator, sos_api: Client) -> None:
    order = new_order(sos_api, sos).json()["data"]
    invoice = sos.create_invoice(order["id"])
    assert sos_api("GET", "/invoice", params={"salesorderid": order["id"]}).json()["data"][0]["id"] == invoice["id"]

    payment = sos_api("POST", "/payment", json={"customer": order["customer"], "amount": 20,
                                                "invoice": {"id": invoice["id"]}, "method": "card"})
    assert payment.status_code == 200
    assert sos_api("GET", f"/invoice/{invoice['id']}").json()["data"]["amountDue"] == invoice["total"] - 20


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


def test_a_quantity_change_fires_the_hook_but_keeps_last_modified(
        sos: SosEmulator, sos_api: Client, receiver: Receiver) -> None:
    subscribe(sos_api, receiver)
    item_id = stock_item_ids(sos, 1)[0]
    before = sos_api("GET", f"/item/{item_id}").json()["data"]

    sos.set_item_quantities(item_id, available=before["available"] + 7.5, onPO=12)
    assert sos.wait_for_hooks()

    after = sos_api("GET", f"/item/{item_id}").json()["data"]
    assert after["available"] == before["available"] + 7.5 and after["onPO"] == 12
    assert after["lastModified"] == before["lastModified"]
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
    onhand = {line["item"]["id"]: sos.items[line["item"]["id"]]["onhand"] for line in order["lines"]}

    shipment = sos.create_shipment(order["id"], tracking_number="1Z999", carrier="UPS")
    assert sos.wait_for_hooks()

    assert len(receiver.calls) == len(order["lines"]) == 3
    for item_id, quantity in onhand.items():
        assert sos.items[item_id]["onhand"] == quantity - 2
    listed = sos_api("GET", "/shipment", params={"salesorderid": order["id"]}).json()["data"]
    assert [row["id"] for row in listed] == [shipment["id"]]
    assert listed[0]["salesOrder"] == {"id": order["id"], "number": order["number"]}


def test_a_kit_is_available_as_far_as_its_components_allow(sos: SosEmulator, sos_api: Client) -> None:
    kit_id, parts = next(iter(sos._kit_components.items()))
    component_id, per_kit = parts[0]
    sos.set_item_quantities(component_id, available=per_kit * 2 + 0.5)
    kit = sos_api("GET", f"/item/{kit_id}").json()["data"]
    assert kit["type"] == "Kit" and kit["onhand"] == 0 and kit["available"] <= 2
    sos.set_item_quantities(component_id, available=0)
    assert sos_api("GET", f"/item/{kit_id}").json()["data"]["available"] == 0
