"""Issue 13, item 2: no stale inventory in WizCommerce, whichever of the pull and the hook
writes last.

A pull page and quantity hooks for the same items run in threads against the SOS and
WizCommerce emulators over HTTP (and moto's DynamoDB), interleaved by a seeded schedule:

- forward: the pull reads its page (value A for each hot item); then, at seeded moments while
  the pull sends its writes with seeded delays, SOS changes again and the hook worker re-reads
  and writes (B, C, ...; one hook at a time per item, as the hook queue's one message group
  per item makes it). Without read times, a pull write of A sent after a hook's write of B
  leaves WizCommerce at A for up to two hours.
- reverse: the hook reads an item (A0) before the pull's page read, SOS changes (A), the pull
  reads and writes A, and only then does the hook's write of A0 land; the change's own hook
  follows (as SOS fires one per change).

Then the rechecks the pull queued run as the hook queue delivers them (a forced re-read in the
item's group). After every schedule each item must show what SOS holds now: the newest read.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import pytest

from local.emulators import SosEmulator, WizEmulator
from local.emulators.seed import seed
from sos_wiz_sync.clients.http import build_session
from sos_wiz_sync.clients.sos import SosClient
from sos_wiz_sync.clients.sos_auth import SosTokenManager
from sos_wiz_sync.clients.wiz import WizClient
from sos_wiz_sync.hook.worker import InventoryHookWorker
from sos_wiz_sync.models.hook import InventoryHookMessage
from sos_wiz_sync.secrets import SecretStore
from sos_wiz_sync.store.leases import Leases
from sos_wiz_sync.store.state import SyncState
from sos_wiz_sync.sync import inventory
from test_inventory_hook_worker import mapped_stock_items
from test_inventory_pull import (  # noqa: F401 - `pull` is the fixture
    FakeContext, expected_inventory, pull, wc_inventory)

SCHEDULES = 40
HOT_ITEMS = 6            # items both paths write in one schedule
COLD_ITEMS = 4           # items only the pull writes in one schedule: never rechecked
MAX_SEND_DELAY_S = 0.25  # seeded: how long a pull write waits before it is sent
MAX_HOOK_DELAY_S = 0.05  # seeded: how long a hook waits after the page read, or after the item's last hook


@pytest.fixture
def emulators() -> Iterator[tuple[SosEmulator, WizEmulator, dict]]:
    """One SOS page of items (every hot item is on it)."""
    sos, wiz = SosEmulator(), WizEmulator()
    summary = seed(sos, wiz, items=150, customers=2)
    sos.start()
    wiz.start()
    yield sos, wiz, summary
    sos.stop()
    wiz.stop()


class LateWizClient(WizClient):
    """The hook's WizCommerce client, whose upserts of some SKUs wait for a signal first: a
    hook write that lands after the pull's (the reverse case)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hold: dict[str, threading.Event] = {}

    def upsert_inventory(self, inventory):
        if (released := self.hold.get(inventory.sku)) is not None:
            released.wait(10)
        return super().upsert_inventory(inventory)


@pytest.fixture
def world(emulators, state_table, make_secret):
    """The emulators and a hook worker on its own clients, as its own Lambda would have."""
    sos, wiz, summary = emulators
    tokens = SosTokenManager(secret_id=make_secret(sos.credentials()), token_url=f"{sos.url}/oauth2/token",
                             secrets=SecretStore(), leases=Leases(state_table), session=build_session())
    hook_wiz = LateWizClient(base_url=wiz.url, api_key=wiz.api_key, session=build_session())
    worker = InventoryHookWorker(
        sos=SosClient(base_url=f"{sos.url}/api/v2", tokens=tokens, session=build_session()),
        wiz=hook_wiz, state=SyncState(state_table), sos_concurrency=2, wiz_concurrency=4)
    return sos, wiz, summary, worker, hook_wiz


def run_schedule(seed_: int, pull, sos: SosEmulator, wiz: WizEmulator, worker: InventoryHookWorker,
                 hook_wiz: LateWizClient, candidates: list[int]) -> Counter:
    rng = random.Random(seed_)
    hot_and_cold = rng.sample(candidates, HOT_ITEMS + COLD_ITEMS)
    hot, cold = hot_and_cold[:HOT_ITEMS], hot_and_cold[HOT_ITEMS:]
    reverse = set(rng.sample(hot, rng.randint(0, 2)))  # their hook read comes before the page read
    page_read = threading.Event()
    pull_sent = {str(item_id): threading.Event() for item_id in hot}
    send_delays = {str(item_id): rng.uniform(0, MAX_SEND_DELAY_S) for item_id in hot}
    hook_plans = {item_id: [(rng.uniform(0, MAX_HOOK_DELAY_S), rng.randint(0, 500), rng.randint(0, 20))
                            for _ in range(rng.randint(1, 2))] for item_id in hot if item_id not in reverse}
    errors: list[BaseException] = []
    planned: list = []
    pull_send_started: dict[str, float] = {}
    last_hook_written: dict[str, float] = {}
    pull.rechecks.clear()

    def wrap(stream):
        def plan(prepared, rows, counts):
            writes = stream.plan(prepared, rows, counts)
            planned.extend(w for w in writes if stream.is_change(w))
            page_read.set()  # the page was read from SOS before this: hooks may now change it
            return writes

        def send(prepared, write):
            time.sleep(send_delays.get(write.record_id, 0))
            pull_send_started[write.record_id] = time.monotonic()
            stream.send(prepared, write)
            if write.record_id in pull_sent:
                pull_sent[write.record_id].set()

        return replace(stream, plan=plan, send=send)

    def hook(item_id: int) -> None:
        assert worker.sync([item_id]) == {}
        last_hook_written[str(item_id)] = time.monotonic()

    def forward_hooks(item_id: int) -> None:
        try:
            page_read.wait(10)
            for delay, available, on_po in hook_plans[item_id]:  # B, C, ...: SOS changes, its hook runs
                time.sleep(delay)
                sos.set_item_quantities(item_id, available=available, onPO=on_po, fire_hook=False)
                hook(item_id)
        except BaseException as error:  # noqa: BLE001 - re-raised on the test's thread
            errors.append(error)

    def late_hook(item_id: int) -> None:
        try:
            hook(item_id)  # read A0 now; its upsert waits until the pull has sent A
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    for item_id in hot_and_cold:  # value A0 before the run: each becomes a write of the pull
        sos.set_item_quantities(item_id, available=rng.randint(0, 500), onPO=rng.randint(0, 20), fire_hook=False)
    late = []
    for item_id in reverse:
        sku = sos.items[item_id]["sku"]
        hook_wiz.hold[sku] = pull_sent[str(item_id)]
        thread = threading.Thread(target=late_hook, args=(item_id,))
        thread.start()
        late.append(thread)
    time.sleep(0.2)  # the late hooks have read A0
    for item_id in reverse:  # A: what the pull reads; SOS fires a hook for it (run below)
        sos.set_item_quantities(item_id, available=rng.randint(501, 900), onPO=rng.randint(0, 20), fire_hook=False)
    engine, stream = pull(stream_wrapper=wrap)
    threads = [threading.Thread(target=forward_hooks, args=(item_id,)) for item_id in hot if item_id not in reverse]
    for thread in threads:
        thread.start()
    report = engine.run(stream, FakeContext())
    for thread in threads + late:
        thread.join(30)
    hook_wiz.hold.clear()
    assert not errors, errors
    assert report["status"] == "ok", report
    for item_id in reverse:  # the change to A fired its own hook; it runs after its coalescing window
        hook(item_id)

    expected = expected_inventory(sos, wiz)
    outcome = Counter(stale_before_rechecks=sum(1 for sku in expected if wc_inventory(wiz, [sku])[sku] != expected[sku]),
                      rechecks=len(pull.rechecks), pull_writes=len(planned), reverse=len(reverse),
                      cold_rechecked=sum(1 for m in pull.rechecks if int(m["MessageGroupId"]) in cold),
                      # what an unconditional pull send would have left stale: the pull's older values
                      # sent after the item's last hook write
                      stale_without_read_times=sum(1 for item_id, at in last_hook_written.items()
                                                   if item_id not in {str(i) for i in reverse}
                                                   and pull_send_started.get(item_id, 0) > at))
    for message in pull.rechecks:  # as the hook queue delivers them: in the item's group, forced
        body = InventoryHookMessage.model_validate_json(message["MessageBody"])
        assert message["MessageGroupId"] == str(body.item_id) and body.force_write
        assert worker.sync([body.item_id], force_write=[body.item_id]) == {}
    shown = wc_inventory(wiz, expected)
    outcome["stale"] = sum(1 for sku in expected if shown[sku] != expected[sku])
    return outcome


def test_no_item_is_left_older_than_its_newest_read_over_many_interleavings(pull, world, monkeypatch):
    # One clock here: without the skew margin (which would recheck every write of a schedule
    # this short), only the writes a hook really read or wrote after are rechecked.
    monkeypatch.setattr(inventory, "READ_CLOCK_SKEW_US", 0)
    sos, wiz, summary, worker, hook_wiz = world
    engine, stream = pull()
    engine.run(stream, FakeContext())  # everything pushed once: later runs write only what changed
    # Not kit components: a component's change moves its kits' values too, and the test fires
    # hooks for the items it changes only
    candidates = [item_id for item_id in mapped_stock_items(sos, summary)
                  if sos.items[item_id]["sku"] in expected_inventory(sos, wiz) and not sos._kits_using.get(item_id)]
    totals: Counter = Counter()
    for seed_ in range(SCHEDULES):
        outcome = run_schedule(seed_, pull, sos, wiz, worker, hook_wiz, candidates)
        totals.update(outcome)
        assert outcome["stale"] == 0, (seed_, outcome)
    print(f"\n{SCHEDULES} schedules: {dict(totals)}")
    # The schedules did make the pull's older writes land after the hooks' newer ones (stale
    # before issue 13), the reverse case happened, and the rechecks were needed to repair them.
    assert totals["stale_without_read_times"] > 0 and totals["reverse"] > 0
    assert 0 < totals["stale_before_rechecks"] and 0 < totals["rechecks"] < totals["pull_writes"]
    assert totals["cold_rechecked"] == 0
