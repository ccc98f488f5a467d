"""WizClient against its emulator over real HTTP (SosClient: test_sos_client.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.emulators import WizEmulator, seed
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
