"""SosClient against the SOS emulator over real HTTP: offset pages that skip nothing while rows
move, SOS's errors and throttles in every documented form retried and never read as data,
full-replace updates with the current syncToken, order look-up by number, documents through
the order's links, the optional /payment endpoint, and OAuth refresh under both readings."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from itertools import islice

import boto3
import pytest

from local.emulators import SosEmulator, seed
from local.emulators.sos import THROTTLE_FORMS
from sos_wiz_sync.clients.http import build_session
from sos_wiz_sync.clients.sos import PAGE_SIZE, Backoff, ChangeWindow, OffsetCursor, SosClient, SosError
from sos_wiz_sync.clients.sos_auth import SosTokenManager
from sos_wiz_sync.models.sos import SosItem, SosRecordError
from sos_wiz_sync.secrets import SecretStore
from sos_wiz_sync.store.leases import Leases

ITEMS = 450  # three SOS pages, the last one short


@pytest.fixture
def sos_emulator() -> Iterator[SosEmulator]:
    emulator = SosEmulator()
    seed(emulator, None, items=ITEMS, customers=5)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def sos_secret(make_secret, sos_emulator, state_table) -> str:
    return make_secret(sos_emulator.credentials())


@pytest.fixture
def sos_client(sos_emulator, sos_secret, state_table):
    def make() -> SosClient:
        # A SecretStore of its own per client: two clients behave like two Lambda invocations.
        tokens = SosTokenManager(secret_id=sos_secret, token_url=f"{sos_emulator.url}/oauth2/token",
                                 secrets=SecretStore(), leases=Leases(state_table), session=build_session(retries=0))
        return SosClient(base_url=f"{sos_emulator.url}/api/v2", tokens=tokens,
                         session=build_session(retries=3, backoff_factor=0.01),
                         backoff=Backoff(attempts=5, base_seconds=0.01))
    return make


def order_body(sos: SosEmulator, number: str, **fields: object) -> dict:
    customer = next(iter(sos.customers.values()))
    item = next(i for i in sos.items.values() if not i["archived"])
    return {"number": number, "customer": {"id": customer["id"]},
            "lines": [{"item": {"id": item["id"]}, "quantity": 1, "unitPrice": 2}], **fields}


# -- paging ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("order", ["modified", "id"])
def test_offset_paging_reads_every_item_once_in_the_minimum_calls(sos_emulator, sos_client, order):
    sos_emulator.configure(order=order)  # SOS documents no row order: either reading
    client = sos_client()
    ids = [row["id"] for row in client.list_all("item")]
    assert sorted(ids) == sorted(sos_emulator.items)
    assert len(ids) == len(set(ids))
    assert client.calls.count == -(-ITEMS // PAGE_SIZE)


def read_while(client: SosClient, change, **filters) -> list[int]:
    """Every id a read hands on, with `change()` done after its first page."""
    pages = client.iter_pages("item", **filters)
    seen = [row["id"] for row in next(pages).rows]
    change(seen)
    for page in pages:
        seen.extend(row["id"] for row in page.rows)
    return seen


def test_a_record_edited_while_paging_shifts_rows_but_none_is_skipped(sos_emulator, sos_client):
    # An item already read, edited while we page: it moves to the end of SOS's order, which
    # shifts every later row one place left (the trap of offset paging).
    client = sos_client()
    seen = read_while(client, lambda seen: sos_emulator.update_item(seen[0], description="edited mid-run"))
    assert set(seen) == set(sos_emulator.items)   # nothing skipped
    assert len(seen) == len(set(seen))            # nothing handed on twice within the read
    assert client.calls.count > -(-ITEMS // PAGE_SIZE)  # the shift was seen: the pager stepped back


def test_rows_leaving_the_filter_while_paging_skip_nothing(sos_emulator, sos_client):
    def archive_three(seen: list[int]) -> None:
        for item_id in seen[:3]:
            sos_emulator.archive_record("item", item_id)

    live = {item_id for item_id, item in sos_emulator.items.items() if not item["archived"]}
    seen = read_while(sos_client(), archive_three, archived="no")
    assert live <= set(seen) | set()  # every row live at the start was read
    assert len(seen) == len(set(seen))


def test_rows_created_edited_and_archived_while_paging(sos_emulator, sos_client):
    created: list[int] = []

    def churn(seen: list[int]) -> None:
        sos_emulator.update_item(seen[10], name="edited")
        sos_emulator.archive_record("item", seen[20])
        created.append(sos_emulator.add_item(name="new one", sku="NEW-1")["id"])

    seen = read_while(sos_client(), churn)
    assert set(seen) == set(sos_emulator.items) and created[0] in seen
    assert len(seen) == len(set(seen))


def test_a_read_resumed_from_a_checkpoint_after_rows_moved_skips_nothing(sos_emulator, sos_client):
    first = next(sos_client().iter_pages("item"))
    saved = first.cursor.to_dict()  # what a killed invocation left behind
    for item_id in [row["id"] for row in first.rows][:5]:
        sos_emulator.update_item(item_id, name="moved")
    rest = [row["id"] for page in sos_client().iter_pages("item", OffsetCursor.from_dict(saved)) for row in page.rows]
    assert set(row["id"] for row in first.rows) | set(rest) == set(sos_emulator.items)


def test_a_window_reads_what_changed_since_in_the_accounts_zone(sos_emulator, sos_client):
    sos_emulator.configure(timezone="America/Los_Angeles")
    sos_emulator.advance_clock(3600)
    started = sos_emulator.clock.stamp()
    sos_emulator.advance_clock(10)
    sos_emulator.update_item(9, name="changed")
    client = sos_client()
    client.window = ChangeWindow("America/Los_Angeles", overlap_seconds=5)
    since = client.window.since(started.replace("Z", "+00:00"))
    changed = [row["id"] for page in client.iter_pages("item", OffsetCursor(since=since)) for row in page.rows]
    assert changed == [9]
    client.window = ChangeWindow("UTC", overlap_seconds=5)  # the wrong zone: hours off, reads nothing
    wrong = client.window.since(started.replace("Z", "+00:00"))
    assert [row for page in client.iter_pages("item", OffsetCursor(since=wrong)) for row in page.rows] == []


# -- errors and throttling ------------------------------------------------------------------------

@pytest.mark.parametrize("form", THROTTLE_FORMS)
def test_throttling_in_every_form_is_retried_not_read_as_data(sos_emulator, sos_client, form):
    client = sos_client()
    sos_emulator.inject_throttle(2, **THROTTLE_FORMS[form], path="/api/v2/item")
    assert sorted(row["id"] for row in client.list_all("item")) == sorted(sos_emulator.items)
    assert sos_emulator.faulted_counters()["GET /api/v2/item"] == 2


@pytest.mark.parametrize("form", THROTTLE_FORMS)
def test_a_throttled_single_read_backs_off_and_reads_the_record_sos_a18(sos_emulator, sos_client, form):
    sos_emulator.inject_throttle(2, **THROTTLE_FORMS[form], path="/api/v2/item/7")
    assert sos_client().get_item(7).id == 7


def test_a_throttle_that_persists_is_raised_as_a_transient_throttle_not_as_bad_data(sos_emulator, sos_client):
    sos_emulator.inject_throttle(50, http_status=200, status=None)
    client = sos_client()
    for call in (lambda: client.get_item(7), lambda: client.list_all("item"),
                 lambda: client.create_customer({"name": "Throttled Co"})):
        with pytest.raises(SosError) as failure:
            call()
        assert failure.value.throttled and failure.value.transient
    assert not any(c["name"] == "Throttled Co" for c in sos_emulator.customers.values())


def test_the_pager_steps_back_through_throttles_on_every_other_call_and_ends_complete(sos_emulator, sos_client):
    """Point 17: rows move (an edited row goes to the end) and every other call is a throttle,
    message only: the pass ends, complete, in a bounded number of pages."""
    client = sos_client()
    pages = client.iter_pages("item")
    seen = [row["id"] for row in next(pages).rows]
    sos_emulator.update_item(seen[0], description="edited mid-run")  # rows after it shift left
    sos_emulator.inject_throttle(1000, http_status=200, status=None, every=2, path="/api/v2/item")
    rest = list(islice(pages, 10))
    seen += [row["id"] for page in rest for row in page.rows]
    assert rest[-1].last and set(seen) == set(sos_emulator.items) and len(seen) == len(set(seen))
    assert any(page.moved for page in rest)


@pytest.mark.parametrize("status", ["error", "failed"])
def test_an_error_page_with_http_200_is_retried_never_an_empty_last_page(sos_emulator, sos_client, status):
    client = sos_client()
    pages = client.iter_pages("item")
    next(pages)
    sos_emulator.inject_status_error(2, status=status, path="/api/v2/item")
    rest = [row["id"] for page in pages for row in page.rows]
    assert len(rest) == ITEMS - PAGE_SIZE


def test_an_error_that_persists_is_raised(sos_emulator, sos_client):
    client = sos_client()
    sos_emulator.inject_status_error(10, status="error", path="/api/v2/item")
    with pytest.raises(SosError) as failure:
        client.list_all("item")
    assert failure.value.sos_status == "error" and failure.value.transient


def test_429_and_5xx_on_reads_are_retried(sos_emulator, sos_client):
    client = sos_client()
    sos_emulator.inject_429(count=1, path="/api/v2/location")
    sos_emulator.inject_5xx(count=2, path="/api/v2/location")
    assert client.list_all("location")
    assert sos_emulator.faulted_counters()["GET /api/v2/location"] == 3


def test_a_validation_error_with_http_200_is_raised_not_returned(sos_emulator, sos_client):
    sos_emulator.configure(validation_http_status=200)
    with pytest.raises(SosError) as failure:
        sos_client().create_customer({"name": ""})
    assert failure.value.sos_status == "invalid" and not failure.value.transient and failure.value.status == 400


def test_a_write_answered_with_a_non_ok_status_is_raised_once_not_retried(sos_emulator, sos_client):
    sos_emulator.inject_status_error(1, status="failed", method="POST", path="/api/v2/salesorder")
    with pytest.raises(SosError) as failure:
        sos_client().create_sales_order(order_body(sos_emulator, "FAILED-1"))
    assert failure.value.sos_status == "failed"
    assert sos_emulator.counters()["POST /api/v2/salesorder"] == 1  # a write is never replayed blindly


def test_a_post_that_may_have_been_applied_is_not_replayed(sos_emulator, sos_client):
    client = sos_client()
    sos_emulator.inject_write_then_5xx(count=1, method="POST", path="/api/v2/salesorder")
    with pytest.raises(SosError) as failure:
        client.create_sales_order(order_body(sos_emulator, "WC-APPLIED-1"))
    assert failure.value.transient
    # It was applied once and only once; the caller finds it by its unique number.
    assert client.find_sales_order_by_number("WC-APPLIED-1") is not None
    assert sum(o["number"] == "WC-APPLIED-1" for o in sos_emulator.sales_orders.values()) == 1


# -- records --------------------------------------------------------------------------------------

def test_find_by_number_reads_every_page_of_near_matches(sos_emulator, sos_client):
    for n in range(1, 260):
        sos_emulator.create_sales_order(**order_body(sos_emulator, f"WC-1{n:03d}"))
    sos_emulator.create_sales_order(**order_body(sos_emulator, "WC-1", comment="the one"))
    sos_emulator.create_sales_order(**order_body(sos_emulator, "OTHER", comment="see WC-1 too"))
    found = sos_client().find_sales_order_by_number("WC-1")
    assert found is not None and found.comment == "the one"
    assert sos_client().find_sales_order_by_number("WC-9") is None


def test_update_merges_into_the_full_record_and_keeps_what_it_does_not_name(sos_emulator, sos_client):
    order = sos_emulator.create_sales_order(**order_body(sos_emulator, "KEEP-1", customerPO="PO-1", comment="a"))
    updated = sos_client().update_sales_order(order["id"], {"comment": "b"})
    assert updated.comment == "b" and updated.customerPO == "PO-1" and len(updated.lines) == 1
    assert updated.syncToken == order["syncToken"] + 1


def test_update_rereads_and_retries_when_someone_wrote_in_between(sos_emulator, sos_client, monkeypatch):
    order = sos_emulator.create_sales_order(**order_body(sos_emulator, "RACE-1"))
    client = sos_client()
    real_get, raced = client.get, []

    def get_then_someone_writes(resource, record_id):
        record = real_get(resource, record_id)
        if not raced:
            raced.append(True)
            sos_emulator.update_sales_order(order["id"], customerPO="theirs")
        return record

    monkeypatch.setattr(client, "get", get_then_someone_writes)
    updated = client.update_sales_order(order["id"], {"comment": "ours"})
    assert updated.comment == "ours" and updated.customerPO == "theirs" and updated.syncToken == 3


def test_documents_of_an_order_come_through_its_links(sos_emulator, sos_client):
    order = sos_emulator.create_sales_order(**order_body(sos_emulator, "DOCS-1"))
    invoice = sos_emulator.create_invoice(order["id"])
    shipment = sos_emulator.create_shipment(order["id"], shipping_method="UPS")
    client = sos_client()
    assert [i.id for i in client.invoices_for_order(order["id"])] == [invoice["id"]]
    assert [s.id for s in client.shipments_for_order(order["id"])] == [shipment["id"]]
    assert client.shipments_for_order(order["id"])[0].sales_order.id == order["id"]
    assert client.invoices_for_order(order["id"])[0].sales_order.id == order["id"]


@pytest.mark.parametrize("linked_shape", ["object", "id"])
def test_links_of_another_shape_are_a_loud_failure_never_no_links(sos_emulator, sos_client, linked_shape):
    """SOS-A9, under each reading: the documented shape is read; bare ids are refused by name."""
    sos_emulator.configure(linked_shape=linked_shape)
    order = sos_emulator.create_sales_order(**order_body(sos_emulator, "LINKS-1"))
    shipment = sos_emulator.create_shipment(order["id"])
    client = sos_client()
    if linked_shape == "object":
        assert [s.id for s in client.shipments_for_order(order["id"])] == [shipment["id"]]
        return
    with pytest.raises(SosRecordError) as refused:
        client.shipments_for_order(order["id"])
    assert refused.value.reason == (f"unreadable: salesorder {order['id']} linkedShipments.0: not a linked "
                                    f"transaction {{id, transactionType, refNumber, lineNumber}}: "
                                    f"{shipment['id']} (SOS-A9)")


@pytest.mark.parametrize("customer_address_shape", ["flat", "nested"])
def test_customer_addresses_read_in_either_shape(sos_emulator, sos_client, customer_address_shape):
    """SOS-A21, under each reading: the address is read, never taken for an empty one."""
    sos_emulator.configure(customer_address_shape=customer_address_shape)
    customer = sos_emulator.create_customer(name="Shape Co", billing={"line1": "1 Main St", "city": "Austin"})
    read = sos_client().get_customer(customer["id"])
    assert (read.billing.address.line1, read.billing.address.city) == ("1 Main St", "Austin")
    assert read.shipping is None


def test_the_payment_endpoint_is_probed_once(sos_emulator, sos_client):
    client = sos_client()
    assert client.payment_endpoint_available() is False
    sos_emulator.configure(payment_endpoint=True)
    assert client.payment_endpoint_available() is False  # cached for the client's life
    assert sos_client().payment_endpoint_available() is True


def test_the_payment_probe_backs_off_a_throttle_and_never_reads_it_as_present_sos_a11(sos_emulator, sos_client):
    sos_emulator.inject_throttle(2, http_status=200, status=None, path="/api/v2/payment")
    assert sos_client().payment_endpoint_available() is False  # the 404 behind the throttles
    sos_emulator.inject_throttle(50, http_status=200, status=None, path="/api/v2/payment")
    with pytest.raises(SosError) as throttled:
        sos_client().payment_endpoint_available()
    assert throttled.value.transient and "SOS-A11" in throttled.value.message
    sos_emulator.clear_faults()
    sos_emulator.inject_status_error(1, status="error", http_status=403, message="Forbidden", path="/api/v2/payment")
    with pytest.raises(SosError) as refused:
        sos_client().payment_endpoint_available()
    assert not refused.value.transient and "SOS-A11" in refused.value.message and "Forbidden" in refused.value.message


def test_a_bare_invoice_with_its_own_status_is_read_as_the_invoice_sos_a2(sos_emulator, sos_client):
    order = sos_emulator.create_sales_order(**order_body(sos_emulator, "BARE-1"))
    invoice = sos_emulator.create_invoice(order["id"])
    sos_emulator.configure(wrap_single=False)
    read = sos_client().get("invoice", invoice["id"])
    assert read["id"] == invoice["id"] and read["status"] == "Open"


def test_single_records_are_read_wrapped_or_not(sos_emulator, sos_client):
    sos_emulator.configure(wrap_single=False, kit_type="Item Group")
    kit_id = next(iter(sos_emulator._kit_components))
    assert sos_client().get_item(kit_id).type == "Item Group"
    assert isinstance(sos_client().get_item(1), SosItem)


# -- auth -----------------------------------------------------------------------------------------

def test_an_expired_token_is_refreshed_and_the_new_pair_written_back(sos_emulator, sos_client, sos_secret):
    client = sos_client()
    old = sos_emulator.credentials()
    sos_emulator.expire_tokens()
    assert client.get_item(next(iter(sos_emulator.items))).id
    stored = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=sos_secret)["SecretString"])
    assert stored["refresh_token"] != old["refresh_token"]
    assert stored["access_token"] == sos_emulator.credentials()["access_token"]


def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one(sos_emulator, sos_client, sos_secret):
    sos_emulator.configure(refresh_returns_token=False)
    client = sos_client()
    old = sos_emulator.credentials()
    sos_emulator.expire_tokens()
    assert client.get_item(1).id == 1
    stored = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=sos_secret)["SecretString"])
    assert stored["refresh_token"] == old["refresh_token"] and stored["access_token"] != old["access_token"]
    sos_emulator.expire_tokens()
    assert sos_client().get_item(2).id == 2  # the kept refresh token still works


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
