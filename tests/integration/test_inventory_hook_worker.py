"""The inventory hook worker (R-INV-6) on moto server and the SOS / WizCommerce emulators over
HTTP: one SOS read per distinct item, writes only what changed, the pull's state, and which
failures are retried."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from local.emulators import SosEmulator, WizEmulator, seed
from sos_wiz_sync.clients.http import build_session
from sos_wiz_sync.clients.sos import Backoff
from sos_wiz_sync.clients.sos import SosClient
from sos_wiz_sync.clients.sos_auth import SosTokenManager
from sos_wiz_sync.clients.wiz import POST_ATTEMPTS, WizClient
from sos_wiz_sync.hook.worker import InventoryHookWorker
from sos_wiz_sync.models.sos import SosItem
from sos_wiz_sync.secrets import SecretStore
from sos_wiz_sync.store.leases import Leases
from sos_wiz_sync.store.state import SyncState
from sos_wiz_sync.clients.sos import read_clock
from sos_wiz_sync.sync.inventory import changed_targets, inventory_targets
from sos_wiz_sync.sync.report import RunCounts

GET_ITEM = "GET /api/v2/item/{id}"
POST_INVENTORY = "POST /v1/inventories"


@pytest.fixture(scope="module")
def emulators() -> Iterator[tuple[SosEmulator, WizEmulator, dict]]:
    sos, wiz = SosEmulator(), WizEmulator()
    summary = seed(sos, wiz, items=60)
    sos.start()
    wiz.start()
    yield sos, wiz, summary
    sos.stop()
    wiz.stop()


@dataclass
class HookWorld:
    worker: InventoryHookWorker
    sos: SosEmulator
    wiz: WizEmulator
    summary: dict
    state: SyncState


@pytest.fixture
def world(emulators, state_table, make_secret) -> Iterator[HookWorld]:
    sos, wiz, summary = emulators
    tokens = SosTokenManager(secret_id=make_secret(sos.credentials()), token_url=f"{sos.url}/oauth2/token",
                             secrets=SecretStore(), leases=Leases(state_table), session=build_session(retries=0))
    # No client-side retries: the worker's own decision (retry the record or not) is under test.
    worker = InventoryHookWorker(
        sos=SosClient(base_url=f"{sos.url}/api/v2", tokens=tokens, session=build_session(retries=0),
                      backoff=Backoff(attempts=2, base_seconds=0.01)),
        wiz=WizClient(base_url=wiz.url, api_key=wiz.api_key, session=build_session(retries=0)),
        state=SyncState(state_table), sos_concurrency=2, wiz_concurrency=4)
    sos.clear_faults()
    wiz.clear_faults()
    yield HookWorld(worker, sos, wiz, summary, SyncState(state_table))
    sos.clear_faults()
    wiz.clear_faults()


def mapped_stock_items(sos: SosEmulator, summary: dict) -> list[int]:
    excluded = set(summary["unmapped_item_ids"]) | set(summary["products_without_reference_item_ids"]) \
        | set(summary["archived_item_ids"])
    return [item["id"] for item in sos.items.values()
            if item["type"] == "Inventory Item" and item["id"] not in excluded]


def sqs_event(*item_ids: int) -> dict:
    return {"Records": [{"messageId": str(n), "receiptHandle": f"rh-{n}", "body": json.dumps({"item_id": item_id}),
                         "attributes": {"MessageGroupId": str(item_id)}, "messageAttributes": {},
                         "md5OfBody": "", "eventSource": "aws:sqs", "awsRegion": "us-east-1",
                         "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:hook.fifo"}
                        for n, item_id in enumerate(item_ids)]}


def wc_levels(wiz: WizEmulator, sos: SosEmulator, item_id: int) -> tuple[float, float, float]:
    record = wiz.inventories[sos.items[item_id]["sku"]]
    return (record["available_quantity"], record["back_order_quantity"],
            sum(entry["quantity"] for entry in record["on_order_details"]))


def test_a_batch_reads_each_distinct_item_once_and_writes_its_new_levels(world):
    worker, sos, wiz, summary = world.worker, world.sos, world.wiz, world.summary
    first, second = mapped_stock_items(sos, summary)[:2]
    # Given two items whose quantities changed in SOS
    sos.set_item_quantities(first, available=40, onPO=15)
    sos.set_item_quantities(second, available=3, onPO=0)
    sos.reset_counters()
    wiz.reset_counters()
    # When a batch carries three messages for the first and one for the second
    response = worker.handle_batch(sqs_event(first, first, second, first), context=None)
    # Then each item is read once, WizCommerce has R-INV-1..3 of what SOS says, nothing is retried
    assert response == {"batchItemFailures": []}
    assert sos.counters()[GET_ITEM] == 2
    assert wc_levels(wiz, sos, first) == (25, 15, 15)
    assert wc_levels(wiz, sos, second) == (3, 0, 0)
    assert world.state.inventory_value(first)["source"] == "hook"


def test_values_already_pushed_are_not_written_again(world):
    worker, sos, wiz, summary = world.worker, world.sos, world.wiz, world.summary
    item_id = mapped_stock_items(sos, summary)[2]
    sos.set_item_quantities(item_id, available=12, onPO=2)
    assert worker.sync([item_id]) == {}
    wiz.reset_counters()
    assert worker.sync([item_id]) == {}
    assert wiz.counters().get(POST_INVENTORY, 0) == 0


def test_a_pulls_recheck_writes_the_item_even_when_its_values_were_pushed_already(world):
    """The pull queued a recheck: its older write may have landed after these values, so
    WizCommerce may not show what the last-pushed record says."""
    worker, sos, wiz, summary = world.worker, world.sos, world.wiz, world.summary
    item_id, other = mapped_stock_items(sos, summary)[4:6]
    sos.set_item_quantities(item_id, available=30, onPO=4)
    sos.set_item_quantities(other, available=31, onPO=4)
    assert worker.sync([item_id, other]) == {}
    sku = sos.items[item_id]["sku"]
    wiz.inventories[sku]["available_quantity"] = 999  # what a pull's older write left there
    wiz.reset_counters()
    recheck = json.dumps({"item_id": item_id, "force_write": True})
    event = sqs_event(item_id, other)
    event["Records"][0]["body"] = recheck
    assert worker.handle_batch(event, context=None) == {"batchItemFailures": []}
    assert wiz.counters()[POST_INVENTORY] == 1  # the forced item only; `other` is unchanged
    assert wc_levels(wiz, sos, item_id) == (26, 4, 4)
    assert world.state.hook_activity([item_id])[str(item_id)]["wrote_at"] >= \
        world.state.hook_activity([item_id])[str(item_id)]["read_at"]


def test_the_next_pull_counts_the_item_as_already_right_and_sends_nothing(world):
    worker, sos, wiz, summary = world.worker, world.sos, world.wiz, world.summary
    item_id = mapped_stock_items(sos, summary)[3]
    sos.set_item_quantities(item_id, available=77, onPO=7)
    worker.sync([item_id])
    wiz.reset_counters()
    # The pull's own plan over the same item, against the state the hook left
    counts = RunCounts()
    item = SosItem.model_validate(sos.items[item_id])
    targets = inventory_targets([item], {str(item_id): item.sku}, {str(item_id): read_clock()}, counts)
    writes = changed_targets(targets, world.state.inventory_values([item_id]), counts)
    assert (writes, counts.unchanged, counts.notes) == ([], 1, {"unchanged_after_hook": 1})


def test_an_unmapped_item_is_skipped_with_a_logged_reason_not_retried(world, caplog):
    worker, sos, wiz, summary = world.worker, world.sos, world.wiz, world.summary
    item_id = summary["unmapped_item_ids"][0]
    sos.set_item_quantities(item_id, available=5)
    wiz.reset_counters()
    with caplog.at_level("INFO"):
        assert worker.handle_batch(sqs_event(item_id), context=None) == {"batchItemFailures": []}
    assert wiz.counters().get(POST_INVENTORY, 0) == 0
    logged = [record for record in caplog.records if record.getMessage() == "inventory hook batch"]
    assert [(record.unmapped_sos_item_ids, record.counts["skipped"]) for record in logged] == \
        [([item_id], {"unmapped": 1})]


def test_an_item_sos_no_longer_has_is_skipped_not_retried(world):
    worker = world.worker
    assert worker.handle_batch(sqs_event(987654), context=None) == {"batchItemFailures": []}


def test_an_item_that_does_not_read_fails_alone_and_is_not_retried(world, caplog):
    """Issue 19: a record that does not read is named in the batch's counts; a retry would read
    the same, so it is left to the inventory pull's pass (which quarantines it)."""
    worker, sos, wiz, summary = world.worker, world.sos, world.wiz, world.summary
    broken, fine = mapped_stock_items(sos, summary)[-2:]  # (the emulators serve the whole module)
    sos.set_item_quantities(fine, available=11, onPO=0)
    onhand = sos.items[broken]["onhand"]
    sos.set_stored_value("item", broken, "onhand", "lots")
    with caplog.at_level("INFO"):
        assert worker.handle_batch(sqs_event(broken, fine), context=None) == {"batchItemFailures": []}
    sos.set_stored_value("item", broken, "onhand", onhand)
    assert wc_levels(wiz, sos, fine) == (11, 0, 0)
    [logged] = [record for record in caplog.records if record.getMessage() == "inventory hook batch"]
    assert logged.counts["failed"] == {"unreadable-sos-record": 1}
    assert logged.counts["failures"][0]["detail"].startswith(f"unreadable: item {broken} onhand: ")


def test_a_transient_sos_failure_fails_only_that_items_records(world):
    worker, sos, wiz, summary = world.worker, world.sos, world.wiz, world.summary
    failing, fine = mapped_stock_items(sos, summary)[4:6]
    assert not str(fine).startswith(str(failing))  # the fault matches a path prefix
    sos.set_item_quantities(fine, available=9, onPO=1)
    sos.inject_5xx(count=2, method="GET", path=f"/api/v2/item/{failing}")  # beyond the client's own retries
    response = worker.handle_batch(sqs_event(failing, fine, failing), context=None)
    assert response == {"batchItemFailures": [{"itemIdentifier": "0"}, {"itemIdentifier": "2"}]}
    assert wc_levels(wiz, sos, fine) == (8, 1, 1)


def test_a_wizcommerce_outage_fails_the_write_for_a_retry_and_records_nothing(world, monkeypatch):
    worker, sos, wiz, summary = world.worker, world.sos, world.wiz, world.summary
    item_id = mapped_stock_items(sos, summary)[6]
    sos.set_item_quantities(item_id, available=31, onPO=0)
    monkeypatch.setattr("sos_wiz_sync.clients.wiz.POST_BACKOFF_SECONDS", 0)
    # longer than the client's own replays of the upsert (an idempotent POST)
    wiz.inject_5xx(count=POST_ATTEMPTS, method="POST", path="/v1/inventories")
    assert list(worker.sync([item_id])) == [item_id]
    assert world.state.inventory_value(item_id) is None  # not recorded as pushed
    assert worker.sync([item_id]) == {}  # the redelivery writes it
    assert wc_levels(wiz, sos, item_id) == (31, 0, 0)


def test_a_throttled_sos_read_is_retried_and_never_read_as_an_item(world):
    worker, sos, summary = world.worker, world.sos, world.summary
    item_id = mapped_stock_items(sos, summary)[7]
    sos.inject_throttle(1, http_status=200, method="GET", path=f"/api/v2/item/{item_id}")
    assert worker.sync([item_id]) == {}  # the client backed off and read it
    sos.inject_throttle(2, http_status=200, method="GET", path=f"/api/v2/item/{item_id}")
    assert list(worker.sync([item_id])) == [item_id]  # still throttled: back to the queue
    sos.inject_throttle(1, http_status=429, method="GET", path=f"/api/v2/item/{item_id}")
    assert list(worker.sync([item_id])) == [item_id]  # this session retries nothing (retries=0)


def test_a_malformed_message_fails_on_its_own(world):
    worker, sos, summary = world.worker, world.sos, world.summary
    item_id = mapped_stock_items(sos, summary)[8]
    event = sqs_event(item_id, item_id)
    event["Records"][1]["body"] = "{not json"
    assert worker.handle_batch(event, context=None) == {"batchItemFailures": [{"itemIdentifier": "1"}]}
