"""WizClient against its emulator over real HTTP (SosClient: test_sos_client.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from local.emulators import WizEmulator, seed
from local.hook_stack import wait_until
from sos_wiz_sync.clients.http import ApiError
from sos_wiz_sync.clients.wiz import WizClient
from sos_wiz_sync.wiring import wiz_session

ITEMS = 450  # three SOS pages, the last one short


@pytest.fixture
def wiz_emulator() -> Iterator[WizEmulator]:
    emulator = WizEmulator()
    seed(None, emulator, items=ITEMS, customers=5)
    emulator.start()
    yield emulator
    emulator.stop()


def test_wiz_create_refused_as_a_duplicate_returns_the_existing_record(wiz_emulator):
    """Where WizCommerce refuses a duplicate reference_id (WC-A2's other reading), the record it
    means is found by reference_ids and returned (test_wiz_client_contract.py: the default)."""
    wiz_emulator.configure(refuse_duplicate_reference_id=True)
    client = WizClient(base_url=wiz_emulator.url, api_key=wiz_emulator.api_key, session=wiz_session(4))
    body = {"company_name": "Ridge Supply", "display_name": "Ridge Supply", "reference_id": "sos-900001",
            "email": "ops@example.com"}
    first = client.create("customers", body)
    assert client.create("customers", body)["id"] == first["id"]
    assert sum(c.get("reference_id") == "sos-900001" for c in wiz_emulator.customers.values()) == 1


def test_wiz_create_finds_an_existing_confirmed_order_although_order_lists_default_to_drafts(wiz_emulator):
    wiz_emulator.configure(refuse_duplicate_reference_id=True)
    client = WizClient(base_url=wiz_emulator.url, api_key=wiz_emulator.api_key, session=wiz_session(4))
    product = next(p for p in wiz_emulator.products.values() if p["reference_id"])
    body = {"reference_id": "sos-so-1", "customer_id": next(iter(wiz_emulator.customers)), "status": "confirmed",
            "line_items": [{"product_id": product["id"], "quantity": 1, "unit_price": 2.0}]}
    first = client.create("orders", body)
    assert client.create("orders", body)["id"] == first["id"]
    assert len([o for o in wiz_emulator.orders.values() if o["reference_id"] == "sos-so-1"]) == 1


def test_wiz_create_refused_for_another_reason_raises(wiz_emulator):
    client = WizClient(base_url=wiz_emulator.url, api_key=wiz_emulator.api_key, session=wiz_session(4))
    with pytest.raises(ApiError) as refused:
        client.create("customers", {"company_name": "No Display Name", "reference_id": "sos-900003"})
    assert refused.value.status == 400 and "display_name" in refused.value.message


def test_wiz_update_order_sends_the_whole_order_back_because_put_replaces_it(wiz_emulator):
    client = WizClient(base_url=wiz_emulator.url, api_key=wiz_emulator.api_key, session=wiz_session(4))
    product = next(p for p in wiz_emulator.products.values() if p["reference_id"])
    order = wiz_emulator.create_order(next(iter(wiz_emulator.customers)), [
        {"product_id": product["id"], "quantity": 2, "unit_price": 4.0, "note": "keep me"}],
        internal_note="keep this too", po_number="PO-5", amount_paid=3.0)
    updated = client.update_order(order["id"], {"reference_id": "77"})
    assert updated.reference_id == "77"
    kept = wiz_emulator.orders[order["id"]]
    assert (kept["internal_note"], kept["po_number"], kept["amount_paid"]) == ("keep this too", "PO-5", 3.0)
    assert kept["line_items"][0]["note"] == "keep me" and kept["status"] == "confirmed"


def test_wiz_lists_stop_at_the_last_page_whatever_next_page_says(wiz_emulator):
    client = WizClient(base_url=wiz_emulator.url, api_key=wiz_emulator.api_key, session=wiz_session(4))
    pages = list(client.iter_pages("products"))
    assert sum(len(page) for page in pages) == len(wiz_emulator.products) and all(pages)


def test_wiz_full_product_pass_reads_each_page_once_in_parallel(wiz_emulator):
    client = WizClient(base_url=wiz_emulator.url, api_key=wiz_emulator.api_key, session=wiz_session(4))
    products = [row for page in client.iter_pages_parallel("products", concurrency=4) for row in page]
    assert sorted(p["id"] for p in products) == sorted(wiz_emulator.products)
    assert client.calls.count == -(-len(wiz_emulator.products) // 100)


def test_wiz_inventory_pass_reads_every_record_of_each_status_once(wiz_emulator):
    client = WizClient(base_url=wiz_emulator.url, api_key=wiz_emulator.api_key, session=wiz_session(4))
    sku = next(iter(wiz_emulator.inventories))
    wiz_emulator.load(inventories=[{**wiz_emulator.inventories[sku], "status": "inactive"}])
    records = list(client.inventories(concurrency=4))
    assert sorted(r.sku for r in records) == sorted(wiz_emulator.inventories)
    assert next(r for r in records if r.sku == sku).status == "inactive"
    # ceil(active / 100) pages, and the inactive list's one
    assert client.calls.count == -(-(len(wiz_emulator.inventories) - 1) // 100) + 1


def test_wiz_inventory_pass_refuses_what_the_contract_does_not_describe(wiz_emulator, monkeypatch):
    client = WizClient(base_url=wiz_emulator.url, api_key=wiz_emulator.api_key, session=wiz_session(4))
    row = {"sku": "A", "available_quantity": 1, "reserved_quantity": 0, "in_stock_quantity": 1,
           "back_order_quantity": 0, "back_order_allowed": False, "inventory_status": "IN_STOCK",
           "track_inventory": True, "on_order_details": [], "in_transit_details": []}
    # A full page without `pagination` would silently end the pass after one page.
    monkeypatch.setattr(client, "request", lambda method, path, params=None, body=None: {"data": [row] * 100})
    with pytest.raises(ValueError, match="inventories: list answered without pagination.total_pages"):
        list(client.inventories(concurrency=1))
    one_page = {"pagination": {"total_pages": 1, "current_page": 1, "next_page": 0}}
    no_quantity = {k: v for k, v in row.items() if k != "available_quantity"}
    monkeypatch.setattr(client, "request", lambda method, path, params=None, body=None: {
        "data": [no_quantity], **one_page})
    with pytest.raises(ValueError, match="available_quantity"):  # pydantic names the field
        list(client.inventories(concurrency=1))


def test_wiz_changed_since_lists_only_later_changes_and_refuses_an_ignored_filter(wiz_emulator, monkeypatch):
    client = WizClient(base_url=wiz_emulator.url, api_key=wiz_emulator.api_key, session=wiz_session(4))
    [customer, *_] = wiz_emulator.customers.values()
    edited = wiz_emulator.update_customer(customer["id"], phone="+1-555-000-0001")
    after = datetime.fromisoformat(edited["updated_at"].replace("Z", "+00:00")) - timedelta(seconds=1)
    assert [row["id"] for page in client.changed_since("customers", after) for row in page] == [customer["id"]]
    # A server that ignores `updated_after` lists everything: refused by name, never read as changes.
    stale = {**edited, "updated_at": "2020-01-01T00:00:00Z"}
    one_page = {"pagination": {"total_pages": 1, "current_page": 1, "next_page": 0}}
    monkeypatch.setattr(client, "request", lambda method, path, params=None, body=None: {"data": [stale], **one_page})
    with pytest.raises(ValueError, match="the filter was not applied"):
        list(client.changed_since("invoices", after))
    no_zone = {**edited, "updated_at": edited["updated_at"].rstrip("Z")}
    monkeypatch.setattr(client, "request", lambda method, path, params=None, body=None: {"data": [no_zone], **one_page})
    with pytest.raises(ValueError, match="the filter was not applied"):
        list(client.changed_since("invoices", after))


def test_a_retry_after_answered_to_one_thread_holds_the_clients_other_threads(wiz_emulator):
    """WC-A3 (assumed: the limit is the API key's): the push sends its message groups' requests
    side by side, so a 429's Retry-After must hold them all, not only the request it answered."""
    client = WizClient(base_url=wiz_emulator.url, api_key=wiz_emulator.api_key, session=wiz_session(2))
    customer_id, product_id = next(iter(wiz_emulator.customers)), next(iter(wiz_emulator.products))
    throttle = wiz_emulator.inject_429(count=1, retry_after=1, method="GET", path="/v1/customers")
    first = threading.Thread(target=client.get_customer, args=(customer_id,))
    first.start()
    assert wait_until(lambda: throttle.count == 0, timeout=10, interval=0.01)
    throttled_at = time.monotonic()  # just after the 429 was answered
    client.get_product(product_id)  # another thread's request, to another path
    other_done = time.monotonic()
    first.join()
    assert other_done - throttled_at >= 0.8  # it waited out the Retry-After too (unheld: ~0.01 s)
