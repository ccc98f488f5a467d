"""The inventory pull on the sync engine against moto server and the emulators over HTTP:
formula values for every mapped item, skips counted by reason, nothing unchanged resent,
per-SKU failures that do not fail the run, resume after a kill, continuation near the time limit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from local.emulators import SosEmulator, WizEmulator, seed
from local.emulators.sos import THROTTLE_FORMS
from sos_wiz_sync.clients.http import build_session
from sos_wiz_sync.clients.sos import PAGE_SIZE, Backoff, SosClient
from sos_wiz_sync.clients.sos_auth import SosTokenManager
from sos_wiz_sync.clients.wiz import WizClient
from sos_wiz_sync.rules.inventory import UNTRACKED_ITEM_TYPES, inventory_levels_from_sos
from sos_wiz_sync.secrets import SecretStore
from sos_wiz_sync.store.leases import Leases
from sos_wiz_sync.store.state import SyncState
from sos_wiz_sync.sync.engine import PAGES_READ_WHILE_PREPARING, SyncEngine
from sos_wiz_sync.clients.sos import read_clock
from sos_wiz_sync.sync.inventory import sync_inventory_items
from sos_wiz_sync.sync.report import RunCounts
from sos_wiz_sync.sync.streams import PullDeps, inventory_stream
from sos_wiz_sync.wiring import wiz_session

ITEMS = 1000
SOS_ITEM_LIST = "GET /api/v2/item"
WC_INVENTORY_WRITE = "POST /v1/inventories"


def offset_pages(n: int) -> int:
    """SOS pages an offset pass over n rows needs: every page after the first starts at the
    previous page's last row (its anchor: rows moved if it is not there), ceil(N/200) × 1.005
    at most."""
    return 1 + -(-(n - PAGE_SIZE) // (PAGE_SIZE - 1))


class FakeContext:
    """A Lambda context whose remaining time the test controls."""

    def __init__(self, remaining_ms: int = 900_000):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class Killed(BaseException):
    """Stands for the Lambda being killed: not an Exception, nothing may handle it."""


@pytest.fixture
def emulators() -> Iterator[tuple[SosEmulator, WizEmulator, dict]]:
    sos, wiz = SosEmulator(), WizEmulator()
    summary = seed(sos, wiz, items=ITEMS, customers=5)
    sos.start()
    wiz.start()
    yield sos, wiz, summary
    sos.stop()
    wiz.stop()


@pytest.fixture
def pull(emulators, state_table, make_secret):
    sos_emulator, wiz_emulator, _ = emulators
    secret_id = make_secret(sos_emulator.credentials())
    continuations: list[tuple[str, str]] = []
    rechecks: list[dict[str, str]] = []  # what the pull queued for the hook worker

    def build(stream_wrapper=lambda stream: stream, time_reserve_ms: int = 0, pages_in_flight: int = 4,
              read_ahead_while_preparing: int = PAGES_READ_WHILE_PREPARING):
        deps = clients()
        engine = SyncEngine(sos=deps.sos, wiz=deps.wiz, state=deps.state, leases=Leases(state_table),
                            continue_run=lambda stream, run_id: continuations.append((stream, run_id)),
                            concurrency=8, time_reserve_ms=time_reserve_ms, pages_in_flight=pages_in_flight,
                            prefetch_pages_while_preparing=read_ahead_while_preparing)
        return engine, stream_wrapper(inventory_stream(deps))

    def clients() -> PullDeps:
        tokens = SosTokenManager(secret_id=secret_id, token_url=f"{sos_emulator.url}/oauth2/token",
                                 secrets=SecretStore(), leases=Leases(state_table), session=build_session())
        return PullDeps(sos=SosClient(base_url=f"{sos_emulator.url}/api/v2", tokens=tokens, session=build_session()),
                        wiz=WizClient(base_url=wiz_emulator.url, api_key=wiz_emulator.api_key, session=wiz_session(8)),
                        state=SyncState(state_table), wiz_concurrency=8, enqueue_inventory_recheck=rechecks.append)

    build.continuations = continuations
    build.rechecks = rechecks
    build.state = lambda: SyncState(state_table)
    build.clients = clients
    return build


def before_each_page(action):
    """A stream wrapper for `pull(...)`: `action(page number from 1, rows)` runs before each page
    is planned (to kill the run there, or to edit SOS while it pages)."""
    def wrap(stream):
        pages = 0

        def plan(prepared, rows, counts):
            nonlocal pages
            pages += 1
            action(pages, rows)
            return stream.plan(prepared, rows, counts)
        return replace(stream, plan=plan)
    return wrap


def expected_inventory(sos: SosEmulator, wiz: WizEmulator) -> dict[str, tuple[float, float, float]]:
    """What R-INV-1..5 say WizCommerce must show, by sku, for every mapped stocked item."""
    by_reference = {p["reference_id"]: p["sku"] for p in wiz.products.values() if p.get("reference_id")}
    expected = {}
    for item in sos.items.values():
        sku = by_reference.get(str(item["id"]))
        if sku and not item["archived"] and item["type"] not in UNTRACKED_ITEM_TYPES:
            levels = inventory_levels_from_sos(item["available"], item["onPO"])
            expected[sku] = (levels.available, levels.back_order, levels.on_order)
    return expected


def wc_inventory(wiz: WizEmulator, skus) -> dict[str, tuple[float, float, float]]:
    return {sku: (wiz.inventories[sku]["available_quantity"], wiz.inventories[sku]["back_order_quantity"],
                  sum(d["quantity"] for d in wiz.inventories[sku]["on_order_details"]))
            for sku in skus}


def test_a_full_pull_gives_formula_values_skips_the_rest_and_resends_nothing(emulators, pull):
    sos, wiz, summary = emulators
    engine, stream = pull()
    report = engine.run(stream, FakeContext())
    expected = expected_inventory(sos, wiz)
    assert wc_inventory(wiz, expected) == expected
    assert report["status"] == "ok" and report["seen"] == ITEMS
    without_product = set(summary["unmapped_item_ids"]) | set(summary["products_without_reference_item_ids"])
    assert report["skipped"]["unmapped"] == sum(
        1 for item_id in without_product
        if not sos.items[item_id]["archived"] and sos.items[item_id]["type"] not in UNTRACKED_ITEM_TYPES) > 0
    assert report["skipped"]["archived"] >= len(summary["archived_item_ids"]) > 0
    assert report["changed"] + report["unchanged"] == len(expected)
    assert report["gauges"]["products_without_reference_id"] == len(summary["products_without_reference_item_ids"])
    assert pull.state().recent_reports("inventory", limit=1)[0]["run_id"] == report["run_id"]

    # A second run: nothing changed, so nothing is written and SOS is read once per page.
    sos.reset_counters()
    wiz.reset_counters()
    again = engine.run(stream, FakeContext())
    assert again["changed"] == 0 and again["unchanged"] == len(expected)
    assert wiz.counters().get(WC_INVENTORY_WRITE, 0) == 0
    assert sos.counters()[SOS_ITEM_LIST] == offset_pages(ITEMS)


def test_only_changed_quantities_are_written(emulators, pull):
    sos, wiz, _ = emulators
    engine, stream = pull()
    engine.run(stream, FakeContext())
    mapped = list(expected_inventory(sos, wiz))
    sku_to_item = {item["sku"]: item["id"] for item in sos.items.values()}
    for sku in mapped[:10]:
        item = sos.items[sku_to_item[sku]]
        sos.set_item_quantities(item["id"], available=item["available"] + 5, fire_hook=False)
    wiz.reset_counters()
    report = engine.run(stream, FakeContext())
    assert report["changed"] == 10
    assert wiz.counters()[WC_INVENTORY_WRITE] == 10
    expected = expected_inventory(sos, wiz)
    assert wc_inventory(wiz, expected) == expected


def test_a_failing_sku_is_counted_with_its_reason_and_does_not_fail_the_run(emulators, pull):
    sos, wiz, _ = emulators
    wiz.inject_5xx(count=None, seconds=60, status=400, method="POST", path="/v1/inventories")
    engine, stream = pull()
    report = engine.run(stream, FakeContext())
    assert report["status"] == "failed-records"
    assert report["failed"] == {"wizcommerce-400": report["failed"]["wizcommerce-400"]}
    assert report["failures"][0]["reason"] == "wizcommerce-400"
    wiz.clear_faults()
    # Failed SKUs were not remembered as pushed: the next run sends them.
    retry = engine.run(stream, FakeContext())
    assert retry["status"] == "ok" and retry["changed"] == report["failed"]["wizcommerce-400"]


def test_an_item_that_does_not_read_is_quarantined_and_the_rest_of_its_page_is_written(emulators, pull):
    """Per-record quarantine (issue 19): one unreadable item stops neither its page nor the pass;
    it is an open failure naming the item and field until a later pass reads it and writes it."""
    sos, wiz, _ = emulators
    expected = expected_inventory(sos, wiz)
    sku_to_item = {item["sku"]: item["id"] for item in sos.items.values()}
    sku = next(sku for sku in expected if sos.items[sku_to_item[sku]]["type"] == "Inventory Item")
    item_id = sku_to_item[sku]
    available = sos.items[item_id]["available"]
    sos.set_stored_value("item", item_id, "available", "lots")  # what no model of an item reads
    engine, stream = pull()

    report = engine.run(stream, FakeContext())

    others = {other: values for other, values in expected.items() if other != sku}
    assert wc_inventory(wiz, others) == others
    assert report["seen"] == ITEMS and report["failed"] == {"unreadable-sos-record": 1}
    [failure] = report["failures"]
    assert failure["record_id"] == str(item_id)
    assert failure["detail"].startswith(f"unreadable: item {item_id} available: ") and "'lots'" in failure["detail"]
    state = pull.state()
    assert state.get_failure("product", str(item_id))["status"] == "open"  # `sos-wiz-ops failures`, `trace`
    assert [f["record_id"] for f in state.open_failures()] == [str(item_id)]

    sos.set_stored_value("item", item_id, "available", available + 7)  # SOS has it right again
    again = engine.run(stream, FakeContext())

    assert again["status"] == "ok"
    assert wc_inventory(wiz, [sku]) == {sku: expected_inventory(sos, wiz)[sku]} != {sku: expected[sku]}
    assert state.get_failure("product", str(item_id))["status"] == "resolved" and state.open_failures() == []


def test_a_run_killed_mid_way_resumes_where_it_stopped(emulators, pull):
    sos, wiz, _ = emulators

    def kill_on_third_page(page: int, rows: list[dict]) -> None:
        if page == 3:
            raise Killed()

    killed_on_third_page = before_each_page(kill_on_third_page)

    # One page in flight: page 1 is settled and checkpointed before page 3 is planned.
    engine, stream = pull(killed_on_third_page, pages_in_flight=1)
    with pytest.raises(Killed):
        engine.run(stream, FakeContext())
    checkpoint = pull.state().load_stream("inventory")["run"]
    seen_at_kill = checkpoint["counts"]["seen"]
    assert seen_at_kill in (PAGE_SIZE, 2 * PAGE_SIZE - 1)
    pages_done = 1 if seen_at_kill == PAGE_SIZE else 2

    sos.reset_counters()
    engine, stream = pull()
    report = engine.run(stream, FakeContext())
    # Resumed, not restarted: only the pages after the checkpoint, every item counted once.
    assert report["run_id"] == checkpoint["run_id"] and report["invocations"] == 2
    assert sos.counters()[SOS_ITEM_LIST] == offset_pages(ITEMS) - pages_done
    assert report["seen"] == ITEMS
    expected = expected_inventory(sos, wiz)
    assert wc_inventory(wiz, expected) == expected


def test_a_run_near_its_time_limit_checkpoints_and_continues(emulators, pull):
    sos, wiz, _ = emulators
    engine, stream = pull(time_reserve_ms=60_000)
    first = engine.run(stream, FakeContext(remaining_ms=59_000))  # below the reserve after one page
    assert first["status"] == "continued"
    assert pull.continuations == [("inventory", first["run_id"])]
    report = engine.run(stream, FakeContext(), run_id=first["run_id"])
    assert report["status"] == "ok" and report["invocations"] == 2 and report["seen"] == ITEMS
    # A duplicate continuation message for a finished run starts nothing.
    assert engine.run(stream, FakeContext(), run_id=first["run_id"])["status"] == "already-finished"
    expected = expected_inventory(sos, wiz)
    assert wc_inventory(wiz, expected) == expected


def test_last_pushed_values_are_read_only_for_items_wizcommerce_shows_otherwise(emulators, pull, monkeypatch):
    sos, wiz, _ = emulators
    engine, stream = pull()
    engine.run(stream, FakeContext())
    read_ids = []
    original = SyncState.inventory_values

    def recording_reads(self, item_ids):
        item_ids = list(item_ids)
        read_ids.extend(item_ids)
        return original(self, item_ids)

    monkeypatch.setattr(SyncState, "inventory_values", recording_reads)

    # Nothing changed: WizCommerce's list shows every value, nothing else is read or written.
    wiz.reset_counters()
    report = engine.run(stream, FakeContext())
    assert read_ids == [] and report["changed"] == 0 and "drift-corrected" not in report["notes"]
    assert report["unchanged"] == len(expected_inventory(sos, wiz))
    assert wiz.counters().get(WC_INVENTORY_WRITE, 0) == 0
    # ... at the cost of one read of each page of WizCommerce's inventory list, per status.
    pages = -(-len(wiz.inventories) // 100)
    assert wiz.counters()["GET /v1/inventories"] == pages + 1  # the inactive list: one empty page

    # Some quantities changed: only theirs are read, only they are written.
    sku_to_item = {item["sku"]: item["id"] for item in sos.items.values()}
    moved = [sku_to_item[sku] for sku in list(expected_inventory(sos, wiz))[:7]]
    for item_id in moved:
        sos.set_item_quantities(item_id, available=5000, onPO=1, fire_hook=False)
    wiz.reset_counters()
    report = engine.run(stream, FakeContext())
    assert sorted(read_ids) == sorted(str(i) for i in moved)
    assert report["changed"] == wiz.counters()[WC_INVENTORY_WRITE] == 7
    expected = expected_inventory(sos, wiz)
    assert wc_inventory(wiz, expected) == expected
    assert engine.run(stream, FakeContext())["changed"] == 0


def test_a_quantity_edited_by_hand_in_wizcommerce_is_back_to_sos_after_one_pull(emulators, pull):
    sos, wiz, _ = emulators
    engine, stream = pull()
    engine.run(stream, FakeContext())
    expected = expected_inventory(sos, wiz)
    sku = next(sku for sku, levels in expected.items() if levels[0] > 0)
    # Given a WizCommerce user sets a quantity by hand (SOS unchanged)
    wiz.edit_inventory(sku, available_quantity=expected[sku][0] + 25, inventory_status="IN_STOCK")
    assert wc_inventory(wiz, [sku]) != {sku: expected[sku]}

    # When the next pull runs, then WizCommerce shows SOS's value again, counted as drift
    wiz.reset_counters()
    report = engine.run(stream, FakeContext())
    assert wc_inventory(wiz, expected) == expected
    assert report["notes"]["drift-corrected"] == 1 and report["changed"] == 0
    assert wiz.counters()[WC_INVENTORY_WRITE] == 1
    assert pull.state().inventory_value(next(i for i, it in sos.items.items() if it["sku"] == sku))["source"] == "pull"

    # And a second pull writes nothing
    wiz.reset_counters()
    again = engine.run(stream, FakeContext())
    assert wiz.counters().get(WC_INVENTORY_WRITE, 0) == 0
    assert again["changed"] == 0 and "drift-corrected" not in again["notes"]


def test_hand_edits_and_sos_changes_are_told_apart(emulators, pull):
    sos, wiz, _ = emulators
    engine, stream = pull()
    engine.run(stream, FakeContext())
    sku_to_item = {item["sku"]: item["id"] for item in sos.items.values()}
    a, b, c, d, e = list(expected_inventory(sos, wiz))[:5]
    for sku in (a, b, c):  # edited by hand in WizCommerce
        wiz.edit_inventory(sku, reserved_quantity=3, on_order_details=[])
    for sku in (c, d, e):  # changed in SOS (c on both sides: SOS's change wins, it is a change)
        sos.set_item_quantities(sku_to_item[sku], available=777, onPO=0, fire_hook=False)
    wiz.reset_counters()
    report = engine.run(stream, FakeContext())
    assert (report["changed"], report["notes"]["drift-corrected"]) == (3, 2)
    assert wiz.counters()[WC_INVENTORY_WRITE] == 5
    expected = expected_inventory(sos, wiz)
    assert wc_inventory(wiz, expected) == expected
    assert all(wiz.inventories[sku]["reserved_quantity"] == 0 for sku in (a, b, c))


def a_mapped_sku_not_in(sos: SosEmulator, wiz: WizEmulator, rows: list[dict]) -> str:
    """A sku the pull writes whose item is not on the page of `rows` (so it is planned later)."""
    on_page = {row["sku"] for row in rows}
    return next(sku for sku in expected_inventory(sos, wiz) if sku not in on_page)


def test_a_run_continued_in_a_fresh_invocation_reads_wizcommerce_again(emulators, pull):
    sos, wiz, _ = emulators
    engine, stream = pull()
    engine.run(stream, FakeContext())
    first_page = []
    engine, stream = pull(before_each_page(lambda page, rows: first_page.extend(rows) if page == 1 else None),
                          time_reserve_ms=60_000)
    first = engine.run(stream, FakeContext(remaining_ms=59_000))  # one page, then continued
    assert first["status"] == "continued"
    # A hand edit after the first invocation read WizCommerce, of an item on a page still to come
    sku = a_mapped_sku_not_in(sos, wiz, first_page)
    wiz.edit_inventory(sku, available_quantity=123456)
    report = engine.run(stream, FakeContext(), run_id=first["run_id"])
    assert report["invocations"] == 2 and report["notes"]["drift-corrected"] == 1
    expected = expected_inventory(sos, wiz)
    assert wc_inventory(wiz, expected) == expected


def test_a_hook_write_after_wizcommerce_was_read_is_not_taken_for_drift(emulators, pull):
    """The pull reads WizCommerce's list once per invocation; the hook may write an item after
    that and before the pull plans it. The list then shows the older value, but the last push
    is newer than the read: the item is unchanged, not drift."""
    sos, wiz, _ = emulators
    engine, stream = pull()
    engine.run(stream, FakeContext())
    by_reference = {p["reference_id"]: p["sku"] for p in wiz.products.values() if p.get("reference_id")}
    hook = pull.clients()
    hooked = []

    def hook_writes_during_the_first_page(page: int, rows: list[dict]) -> None:
        if page == 1:
            # The last item: on a page SOS has not been asked for yet (two are read ahead)
            item = next(i for i in reversed(sos.items.ordered()) if i["sku"] in expected_inventory(sos, wiz))
            assert item["id"] not in {row["id"] for row in rows}
            sos.set_item_quantities(item["id"], available=item["available"] + 9, fire_hook=False)
            sync_inventory_items([hook.sos.get_item(item["id"])], {str(item["id"]): read_clock()}, by_reference,
                                 wiz=hook.wiz, state=pull.state(), concurrency=1, counts=RunCounts())
            hooked.append(item["sku"])

    # Two pages read ahead, also while WizCommerce is read: the last page is read after the hook.
    engine, stream = pull(before_each_page(hook_writes_during_the_first_page), read_ahead_while_preparing=2)
    wiz.reset_counters()
    report = engine.run(stream, FakeContext())
    assert wiz.counters()[WC_INVENTORY_WRITE] == 1  # the hook's, not the pull's
    assert report["notes"] == {"pushed_after_wizcommerce_read": 1} and report["changed"] == 0
    assert wc_inventory(wiz, hooked) == {hooked[0]: expected_inventory(sos, wiz)[hooked[0]]}


def test_an_item_the_hook_wrote_is_written_again_when_sos_went_back_without_a_hook(emulators, pull):
    """The pull is the reconciliation for a lost hook: SOS V1 (pulled) → V2 (hook sent it) →
    V1 again with its hook lost. WizCommerce shows V2: the pull writes V1, a change in SOS."""
    sos, wiz, _ = emulators
    engine, stream = pull()
    engine.run(stream, FakeContext())
    sku = next(iter(expected_inventory(sos, wiz)))
    item = next(i for i in sos.items.values() if i["sku"] == sku)
    v1 = item["available"]
    sos.set_item_quantities(item["id"], available=v1 + 40, fire_hook=False)
    by_reference = {p["reference_id"]: p["sku"] for p in wiz.products.values() if p.get("reference_id")}
    hook_client = pull.clients()
    sync_inventory_items([hook_client.sos.get_item(item["id"])], {str(item["id"]): read_clock()}, by_reference,
                         wiz=hook_client.wiz, state=pull.state(), concurrency=1, counts=RunCounts())
    assert str(item["id"]) in pull.state().inventory_dirty_items()
    sos.set_item_quantities(item["id"], available=v1, fire_hook=False)  # back to V1, no hook

    report = engine.run(stream, FakeContext())
    assert report["changed"] == 1 and "drift-corrected" not in report["notes"]
    assert wc_inventory(wiz, [sku]) == {sku: expected_inventory(sos, wiz)[sku]}
    assert pull.state().inventory_dirty_items() == set()


def test_items_that_move_between_pages_during_a_run_are_not_skipped(emulators, pull):
    """SOS pages by row number: items edited while the pass pages move (here: to the end),
    shifting the rows after them into pages already read. The pass still reaches every item."""
    sos, wiz, _ = emulators
    engine, stream = pull()
    engine.run(stream, FakeContext())

    def edit_after_the_first_page(page: int, rows: list[dict]) -> None:
        if page == 1:
            for row in rows[:3]:  # three items already read move to the end
                sos.update_item(row["id"], description="edited while the pass runs")

    edits_after_the_first_page = before_each_page(edit_after_the_first_page)

    # New quantities everywhere, so a skipped item would show as a stale value in WizCommerce.
    for item in list(sos.items.values()):
        if item["type"] in ("Inventory Item", "Assembly"):
            sos.set_item_quantities(item["id"], available=item["available"] + 1, fire_hook=False)
    # Two pages read ahead, also while WizCommerce is read: the later pages are read after the edits.
    engine, stream = pull(edits_after_the_first_page, pages_in_flight=1, read_ahead_while_preparing=2)
    report = engine.run(stream, FakeContext())
    expected = expected_inventory(sos, wiz)
    assert wc_inventory(wiz, expected) == expected
    assert report["seen"] >= ITEMS


@pytest.mark.parametrize("form, call", [("none", "-")] + [(form, call) for form in THROTTLE_FORMS
                                                          for call in ("first", "middle", "last")])
def test_a_throttle_in_any_form_at_any_page_ends_as_a_pass_without_it(emulators, pull, form, call):
    """Issue 19: a throttle in every documented form, at the first, a middle or the last page
    read of a pass, ends in the result of no throttle ("none", held to the same assertions):
    the pass is complete, not ended early, and a second pass has nothing left to write."""
    sos, wiz, _ = emulators
    pages = offset_pages(ITEMS)
    if form != "none":
        after = {"first": 0, "middle": pages // 2, "last": pages - 1}[call]
        sos.inject_throttle(1, **THROTTLE_FORMS[form], after=after, method="GET", path="/api/v2/item")
    engine, stream = pull()
    report = engine.run(stream, FakeContext())
    assert sos.faulted_counters() == ({} if form == "none" else {"GET /api/v2/item": 1})
    # the throttled read was repeated, and only it (no page read as empty, no step back)
    assert sos.counters()[SOS_ITEM_LIST] == pages + (form != "none")
    assert report["status"] == "ok" and report["seen"] == ITEMS and report["failed"] == {}
    expected = expected_inventory(sos, wiz)
    assert wc_inventory(wiz, expected) == expected
    assert report["changed"] + report["unchanged"] == len(expected)
    again = engine.run(stream, FakeContext())
    assert again["status"] == "ok" and again["changed"] == 0 and again["seen"] == ITEMS


def test_a_pull_waits_out_more_throttles_than_its_backoff_attempts_and_does_not_fail_its_run(emulators, pull):
    """Issue 20 (SOS-A3): a throttle is the account's rate limit; a pull waits its turn. More
    throttled answers in a row than `Backoff.attempts` (which fail a push's call) end in a
    complete pass, not a failed run."""
    sos, wiz, _ = emulators
    engine, stream = pull()
    engine._sos.backoff = Backoff(attempts=2, base_seconds=0.01, max_seconds=0.02)
    sos.inject_throttle(6, **THROTTLE_FORMS["200-error"], after=1, method="GET", path="/api/v2/item")
    report = engine.run(stream, FakeContext())
    assert sos.faulted_counters() == {"GET /api/v2/item": 6}
    assert report["status"] == "ok" and report["seen"] == ITEMS and report["failed"] == {}


def test_throttled_past_the_time_budget_a_pull_continues_and_names_the_rate_limit(emulators, pull):
    """Throttled until the time budget's reserve, the run checkpoints and continues in a fresh
    invocation (as near its time limit), its report naming `sos-throttled`, never an outage."""
    sos, wiz, _ = emulators
    engine, stream = pull(time_reserve_ms=60_000)
    engine._sos.backoff = Backoff(attempts=2, base_seconds=0.05, max_seconds=0.05)
    sos.inject_throttle(40, **THROTTLE_FORMS["200-message-only"], after=1, method="GET", path="/api/v2/item")
    first = engine.run(stream, FakeContext(remaining_ms=60_300))  # 0.3 s to wait out throttles
    assert first["status"] == "continued"
    assert pull.continuations == [("inventory", first["run_id"])]
    report = engine.run(stream, FakeContext(), run_id=first["run_id"])
    assert report["status"] == "ok" and report["invocations"] == 2 and report["seen"] == ITEMS
    assert report["notes"]["sos-throttled"] == 1 and report["failed"] == {}
