"""WizClient held to the WizCommerce contract's open points (issue 19): a create never made twice
(WC-A2/A3), whole-second time filters (WC-A12), every customer status listed (WC-A16), one sku a
call where a list is refused (WC-A10), and no answer read as a success that is not one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
import requests

from local.emulators import WizEmulator, seed
from sos_wiz_sync.clients.wiz import WizClient, wc_time
from sos_wiz_sync.wiring import wiz_session


@pytest.fixture
def wiz() -> Iterator[WizEmulator]:
    emulator = WizEmulator()
    seed(None, emulator, items=30, customers=3)
    emulator.start()
    yield emulator
    emulator.stop()


def client_of(wiz: WizEmulator) -> WizClient:
    return WizClient(base_url=wiz.url, api_key=wiz.api_key, session=wiz_session(2))


def create_body(wiz: WizEmulator, resource: str, reference_id: str) -> dict:
    product = next(p for p in wiz.products.values() if p["reference_id"])
    customer = next(iter(wiz.customers))
    if resource == "products":  # the documented create: a group of variants
        return {"group_code": f"G-{reference_id}",
                "variants": [{"sku_id": f"SKU-{reference_id}", "name": "New product", "reference_id": reference_id}]}
    if resource == "customers":
        return {"company_name": "New Co", "display_name": "New Co", "reference_id": reference_id}
    order = wiz.create_order(customer, [{"product_id": product["id"], "quantity": 1, "unit_price": 2.0}])
    return {"orders": {"reference_id": reference_id, "customer_id": customer, "status": "confirmed",
                       "line_items": [{"product_id": product["id"], "quantity": 1, "unit_price": 2.0}]},
            "invoices": {"reference_id": reference_id, "order_id": order["id"], "invoice_number": "INV-1",
                         "total_amount": 2.0, "status": "PENDING", "items": []},
            "shipments": {"reference_id": reference_id, "order_id": order["id"], "shipment_status": "shipped",
                          "shipment_items": [{"product_id": product["id"], "quantity": 1}]}}[resource]


def create_through(client: WizClient, wiz: WizEmulator, resource: str, reference_id: str) -> dict:
    body = create_body(wiz, resource, reference_id)
    if resource == "products":
        return client.create_product(body["group_code"], body["variants"][0])
    return client.create(resource, body)


def with_reference(store, reference_id: str) -> list[dict]:
    return [record for record in store.values() if record.get("reference_id") == reference_id]


RESOURCES = ("products", "customers", "orders", "invoices", "shipments")


@pytest.mark.parametrize("refused", [False, True], ids=["duplicates-made", "duplicates-refused"])
@pytest.mark.parametrize("resource", RESOURCES)
def test_a_create_applied_then_answered_500_exists_once_wc_a2(wiz, resource, refused):
    """The session used to replay the POST: where WizCommerce does not refuse a duplicate
    reference_id, the create that had landed was made twice."""
    wiz.configure(refuse_duplicate_reference_id=refused)
    client = client_of(wiz)
    wiz.inject_write_then_5xx(method="POST", path=f"/v1/{resource}")
    created = create_through(client, wiz, resource, "sos-777")
    store = getattr(wiz, resource)
    assert [record["id"] for record in with_reference(store, "sos-777")] == [created["id"]]


def test_a_create_that_did_not_land_is_sent_again_once_it_is_not_found(wiz, monkeypatch):
    monkeypatch.setattr("sos_wiz_sync.clients.wiz.POST_BACKOFF_SECONDS", 0)
    client = client_of(wiz)
    wiz.inject_5xx(count=1, status=503, method="POST", path="/v1/customers")
    created = client.create("customers", create_body(wiz, "customers", "sos-778"))
    assert [c["id"] for c in with_reference(wiz.customers, "sos-778")] == [created["id"]]
    assert wiz.counters()["POST /v1/customers"] == 2 and wiz.counters()["GET /v1/customers"] == 2  # both statuses


def test_a_create_without_a_reference_id_is_never_sent_twice(wiz):
    wiz.inject_5xx(count=1, status=503, method="POST", path="/v1/products")
    with pytest.raises(Exception, match="503"):
        client_of(wiz).create_product("NO-REF", {"sku_id": "NO-REF", "name": "No reference"})
    assert wiz.counters()["POST /v1/products"] == 1


def test_a_patch_is_replayed_by_the_session_it_sets_the_same_fields(wiz):
    customer = next(iter(wiz.customers))
    wiz.inject_5xx(count=1, status=503, method="PATCH", path="/v1/customers")
    assert client_of(wiz).patch("customers", customer, {"phone": "+1-555-0199"})["phone"] == "+1-555-0199"


def test_the_inventory_upsert_is_sent_again_after_a_lost_answer(wiz, monkeypatch):
    from sos_wiz_sync.models.wiz import WizInventory

    monkeypatch.setattr("sos_wiz_sync.clients.wiz.POST_BACKOFF_SECONDS", 0)
    sku = next(iter(wiz.inventories))
    inventory = WizInventory.model_validate({**wiz.inventories[sku], "available_quantity": 42})
    wiz.inject_write_then_5xx(method="POST", path="/v1/inventories")
    assert client_of(wiz).upsert_inventory(inventory)["available_quantity"] == 42
    assert wiz.counters()["POST /v1/inventories"] == 2  # an upsert by sku: the replay sets the same


@pytest.mark.parametrize("refused", [False, True], ids=["duplicates-made", "duplicates-refused"])
def test_an_inactive_customer_is_found_by_its_reference_id_wc_a16(wiz, refused):
    wiz.configure(refuse_duplicate_reference_id=refused)
    client = client_of(wiz)
    inactive = wiz.create_customer(name="Sleeping Co", display_name="Sleeping Co", reference_id="sos-55",
                                   status="inactive")
    assert client.by_reference_id("customers", "sos-55")["id"] == inactive["id"]
    listed = [row["id"] for page in client.iter_pages("customers") for row in page]
    assert inactive["id"] in listed and sorted(listed) == sorted(wiz.customers)
    assert [row["id"] for page in client.iter_pages("customers", status="active") for row in page] == [
        c for c in listed if c != inactive["id"]]  # a caller naming a status gets that one only
    if refused:  # the 4xx path adopts it, whatever its status
        assert client.create("customers", create_body(wiz, "customers", "sos-55"))["id"] == inactive["id"]


def test_time_filters_go_out_in_whole_seconds_and_anything_else_is_refused_wc_a12(wiz):
    client = client_of(wiz)
    moment = datetime(2026, 5, 1, 12, 0, 5, 999_999, tzinfo=timezone.utc)
    assert wc_time(moment) == "2026-05-01T12:00:05Z"
    client.request("GET", "/v1/customers", params={"updated_after": moment, "created_before": "2026-05-01T12:00:06Z"})
    with pytest.raises(ValueError, match="updated_before='2026-05-01T12:00:05.5Z' is not a UTC time in whole seconds"):
        client.request("GET", "/v1/customers", params={"updated_before": "2026-05-01T12:00:05.5Z"})
    with pytest.raises(ValueError, match="no time zone"):
        client.request("GET", "/v1/customers", params={"updated_after": datetime(2026, 5, 1)})
    assert client.calls.count == 1  # the refused ones were never sent


@pytest.mark.parametrize("sku_id_list", [True, False], ids=["comma-list", "one-sku-a-call"])
def test_products_by_skus_under_both_readings_of_wc_a10(wiz, sku_id_list):
    wiz.configure(sku_id_list=sku_id_list)
    client = client_of(wiz)
    skus = sorted(p["sku"] for p in wiz.products.values())[:3]
    assert sorted(p.sku for p in client.products_by_skus(skus)) == skus
    assert client.calls.count == (1 if sku_id_list else 1 + 3)
    assert sorted(p.sku for p in client.products_by_skus(skus)) == skus
    assert client.calls.count == (2 if sku_id_list else 4 + 3)  # the reading is kept: no list tried again


class Canned:
    """A session answering every request with one fixed HTTP answer."""

    headers: dict = {}

    def __init__(self, status: int, body: bytes):
        self.status, self.body = status, body

    def request(self, method, url, **kwargs) -> requests.Response:
        response = requests.Response()
        response.status_code, response._content, response.url = self.status, self.body, url
        return response


def canned(status: int, body: object) -> WizClient:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return WizClient(base_url="https://wiz.test", api_key="k", session=Canned(status, raw))


ONE_PAGE = {"total_records": 0, "total_pages": 1, "current_page": 1, "next_page": 0, "prev_page": 0,
            "page_size": 100}


@pytest.mark.parametrize("status, body, seen", [
    (200, b"", "an empty body"),
    (201, b"<html>ok</html>", "not JSON"),
    (200, [{"id": "cust_1"}], "JSON that is not an object"),
    (200, {"id": "cust_1"}, "without a record in `data` (saw no data"),
    (200, {"data": [{"id": "cust_1"}]}, "without a record in `data` (saw list"),
    (200, {"data": None}, "without a record in `data` (saw NoneType"),
])
def test_a_record_answer_that_is_not_recognisably_a_success_is_refused(status, body, seen):
    with pytest.raises(ValueError, match="GET /v1/customers/cust_1") as refused:
        canned(status, body).get("customers", "cust_1")
    assert seen in str(refused.value)


@pytest.mark.parametrize("body, seen", [
    ({"pagination": ONE_PAGE}, "list answered without `data`"),
    ({"data": {"id": "cust_1"}, "pagination": ONE_PAGE}, "`data` of a list is dict"),
    ({"data": ["cust_1"], "pagination": ONE_PAGE}, "`data` of a list is list"),
    ({"data": [{"id": "cust_1"}]}, "without pagination.total_pages"),
])
def test_a_list_answer_that_is_not_recognisably_a_success_is_refused(body, seen):
    with pytest.raises(ValueError, match="/v1/customers") as refused:
        list(canned(200, body).iter_pages("customers", status="active"))
    assert seen in str(refused.value)


def test_a_documented_empty_page_is_an_empty_list():
    assert list(canned(200, {"data": [], "pagination": ONE_PAGE}).iter_pages("customers", status="active")) == [[]]


def test_a_list_stops_at_total_pages_or_an_empty_page_whatever_next_page_says_wc_a1():
    # next_page says there is more, total_pages says this is the last page: one request
    last = canned(200, {"data": [{"id": "a"}], "pagination": {**ONE_PAGE, "next_page": 2}})
    assert list(last.iter_pages("customers", status="active")) == [[{"id": "a"}]]
    assert last.calls.count == 1
    # an empty page ends the list although total_pages says more
    empty = canned(200, {"data": [], "pagination": {**ONE_PAGE, "total_pages": 5, "next_page": 2}})
    assert list(empty.iter_pages("customers", status="active")) == [[]] and empty.calls.count == 1
    # next_page 0 before the last page does not end it early
    early = canned(200, {"data": [{"id": "a"}], "pagination": {**ONE_PAGE, "total_pages": 3, "next_page": 0}})
    assert len(list(early.iter_pages("customers", status="active"))) == 3
