"""SosClient and WizClient against the emulators over real HTTP: keyset paging that skips
nothing, urllib3 retries that honour Retry-After and never replay a possibly-applied POST,
and OAuth refresh with rotating refresh tokens shared safely between invocations."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import boto3
import pytest

from local.emulators import SosEmulator, WizEmulator, seed
from sos_wiz_sync.clients.http import ApiError, build_session
from sos_wiz_sync.clients.sos import PAGE_SIZE, SosClient
from sos_wiz_sync.clients.sos_auth import SosTokenManager
from sos_wiz_sync.clients.wiz import WizClient
from sos_wiz_sync.secrets import SecretStore
from sos_wiz_sync.store.leases import Leases
from sos_wiz_sync.wiring import wiz_session

ITEMS = 450  # three SOS pages, the last one short


@pytest.fixture
def sos_emulator() -> Iterator[SosEmulator]:
    emulator = SosEmulator()
    seed(emulator, None, items=ITEMS, customers=5)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def wiz_emulator() -> Iterator[WizEmulator]:
    emulator = WizEmulator()
    seed(None, emulator, items=ITEMS, customers=5)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def sos_client(sos_emulator, sos_secret, state_table):
    def make() -> SosClient:
        # A SecretStore of its own per client: two clients behave like two Lambda invocations.
        tokens = SosTokenManager(secret_id=sos_secret, token_url=f"{sos_emulator.url}/oauth2/token",
                                 secrets=SecretStore(), leases=Leases(state_table), session=build_session(retries=0))
        return SosClient(base_url=f"{sos_emulator.url}/api/v2", tokens=tokens,
                         session=build_session(retries=3, backoff_factor=0.01))
    return make


@pytest.fixture
def sos_secret(make_secret, sos_emulator, state_table) -> str:
    return make_secret(sos_emulator.credentials())


def test_keyset_paging_reads_every_item_once_in_the_minimum_calls(sos_emulator, sos_client):
    client = sos_client()
    ids = [row["id"] for row in client.list_all("item")]
    assert sorted(ids) == sorted(sos_emulator.items)
    assert len(ids) == len(set(ids))
    assert client.calls.count == -(-ITEMS // PAGE_SIZE)


def test_a_record_modified_while_paging_is_neither_skipped_nor_lost(sos_emulator, sos_client):
    client = sos_client()
    pages = client.iter_pages("item")
    seen = [row["id"] for row in next(pages).rows]
    # Given an item already read, edited while we page: it moves to the end of SOS's order,
    # which shifts every later row one place left (the trap of offset paging).
    sos_emulator.update_item(seen[0], description="edited mid-run")
    for page in pages:
        seen.extend(row["id"] for row in page.rows)
    assert set(seen) == set(sos_emulator.items)          # nothing skipped
    assert seen.count(seen[0]) == 2                       # the edit is seen again, at the end


def test_429_is_retried_after_retry_after_and_5xx_on_reads_too(sos_emulator, sos_client):
    client = sos_client()
    sos_emulator.inject_429(count=1, retry_after=1, path="/api/v2/location")
    sos_emulator.inject_5xx(count=2, path="/api/v2/location")
    assert client.list_all("location")
    assert sos_emulator.faulted_counters()["GET /api/v2/location"] == 3


def test_a_post_that_may_have_been_applied_is_not_replayed(sos_emulator, sos_client):
    client = sos_client()
    customer = next(iter(sos_emulator.customers.values()))
    item = next(i for i in sos_emulator.items.values() if not i["archived"])
    sos_emulator.inject_write_then_5xx(count=1, method="POST", path="/api/v2/salesorder")
    with pytest.raises(ApiError) as failure:
        client.create_sales_order({"number": "WC-APPLIED-1", "customer": {"id": customer["id"]},
                                   "lines": [{"item": {"id": item["id"]}, "quantity": 1, "unitprice": 2}]})
    assert failure.value.transient
    # It was applied once and only once; the caller finds it by its unique number.
    assert client.find_sales_order_by_number("WC-APPLIED-1") is not None
    assert sum(o["number"] == "WC-APPLIED-1" for o in sos_emulator.sales_orders.values()) == 1


def test_an_expired_token_is_refreshed_and_the_new_pair_written_back(sos_emulator, sos_client, sos_secret):
    client = sos_client()
    old = sos_emulator.credentials()
    sos_emulator.expire_tokens()
    assert client.get_item(next(iter(sos_emulator.items))).id
    stored = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=sos_secret)["SecretString"])
    assert stored["refresh_token"] != old["refresh_token"]
    assert stored["access_token"] == sos_emulator.credentials()["access_token"]


def test_two_invocations_refreshing_at_once_spend_the_refresh_token_once(sos_emulator, sos_client):
    clients = [sos_client() for _ in range(4)]
    for client in clients:
        client.get_item(next(iter(sos_emulator.items)))  # each caches the current token
    sos_emulator.expire_tokens()
    sos_emulator.reset_counters()
    errors: list[Exception] = []

    def read(client: SosClient) -> None:
        try:
            client.get_item(next(iter(sos_emulator.items)))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sos_emulator.counters()["POST /oauth2/token"] == 1


def test_wiz_create_with_a_known_reference_id_returns_the_existing_record(wiz_emulator):
    client = WizClient(base_url=wiz_emulator.url, api_key=wiz_emulator.api_key, session=wiz_session(4))
    body = {"name": "Ridge Supply", "reference_id": "sos-900001", "email": "ops@example.com"}
    first = client.create("customers", body)
    wiz_emulator.inject_write_then_5xx(count=1, method="POST", path="/v1/customers")
    second = client.create("customers", {**body, "reference_id": "sos-900002"})  # applied, 5xx, replayed → 409
    again = client.create("customers", body)
    assert again["id"] == first["id"]
    assert sum(c.get("reference_id") == "sos-900002" for c in wiz_emulator.customers.values()) == 1
    assert second["reference_id"] == "sos-900002"


def test_wiz_full_product_pass_reads_each_page_once_in_parallel(wiz_emulator):
    client = WizClient(base_url=wiz_emulator.url, api_key=wiz_emulator.api_key, session=wiz_session(4))
    products = [row for page in client.iter_pages_parallel("products", concurrency=4) for row in page]
    assert sorted(p["id"] for p in products) == sorted(wiz_emulator.products)
    assert client.calls.count == -(-len(wiz_emulator.products) // 100)
