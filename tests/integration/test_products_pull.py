"""The products stream and the dry-run diff, through the pull function's own wiring
(`PullRuntime` from its environment) on moto server and the emulators over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from local.emulators import SosEmulator, WizEmulator, seed
from sos_wiz_sync.ops.diff import diff_stream
from sos_wiz_sync.store.state import SyncState
from sos_wiz_sync.sync.pull import PullRuntime

ITEMS = 450  # three SOS pages
CONTEXT = SimpleNamespace(get_remaining_time_in_millis=lambda: 900_000)
PRODUCT_WRITES = ("POST /v1/products", "PATCH /v1/products/{id}")


@pytest.fixture
def world(monkeypatch, state_table, make_secret) -> Iterator[SimpleNamespace]:
    sos, wiz = SosEmulator(), WizEmulator()
    summary = seed(sos, wiz, items=ITEMS, customers=3)
    sos.start()
    wiz.start()
    environment = {
        "SOS_API_BASE_URL": f"{sos.url}/api/v2", "SOS_TOKEN_URL": f"{sos.url}/oauth2/token",
        "WIZ_API_BASE_URL": wiz.url, "SOS_SECRET_ID": make_secret(sos.credentials()),
        "WIZ_SECRET_ID": make_secret({"api_key": wiz.api_key, "webhook_secrets": []}),
        "MAPPINGS_TABLE": "unused-by-these-streams", "STATE_TABLE": state_table,
        "PULL_QUEUE_URL": "unused-no-run-here-nears-its-time-limit", "SOS_MAX_RPS": "1000"}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    yield SimpleNamespace(sos=sos, wiz=wiz, summary=summary, environment=environment, state=SyncState(state_table))
    sos.stop()
    wiz.stop()


def run(stream: str) -> dict:
    """One run as the pull function does it, from a cold start."""
    runtime = PullRuntime()
    return runtime.engine.run(runtime.streams[stream], CONTEXT)


def product_of(wiz: WizEmulator, item_id: int) -> dict | None:
    return next((p for p in wiz.products.values() if p["reference_id"] == str(item_id)), None)


def test_products_are_created_in_the_documented_shape_and_what_the_api_cannot_write_waits_for_a_person(world):
    sos, wiz, summary = world.sos, world.wiz, world.summary
    # Given SOS items with no WC product (one of them archived), and WC products without a Reference ID
    retired, *unmapped = summary["unmapped_item_ids"]
    sos.update_item(retired, archived=True)
    without_reference = summary["products_without_reference_item_ids"]
    assert unmapped and without_reference and not any(product_of(wiz, i) for i in unmapped + without_reference)
    assert not any(sos.items[i]["archived"] for i in unmapped)

    first = run("products")

    # Then every missing product exists, created as a group of one variant, linked by Reference ID
    for item_id in unmapped:
        created = product_of(wiz, item_id)
        assert (created["sku"], created["name"], created["group_code"]) == (
            sos.items[item_id]["sku"], sos.items[item_id]["name"], f"sos-item-{item_id}")
    assert first["status"] == "failed-records" and first["seen"] == ITEMS  # the hand fixes below
    assert first["changed"] == len(unmapped)
    assert first["skipped"] == {"archived": 1} and product_of(wiz, retired) is None
    [event] = world.state.history("product", str(unmapped[0]))
    assert (event["action"], event["run_id"]) == ("product-created", first["run_id"])
    # And a hand-made product without a Reference ID is not PATCHed (the API cannot): the run
    # and `failures` name it and what to set by hand in WizCommerce
    assert first["failed"] == {"product-reference-id-not-settable": len(without_reference)}
    hand_made = wiz.products.find("sku", sos.items[without_reference[0]]["sku"])
    failure = world.state.get_failure("product", str(without_reference[0]))
    assert failure["status"] == "open" and failure["details"]["wc_id"] == hand_made["id"]
    assert f"set the Reference ID to {without_reference[0]}" in failure["details"]["actions"][0]
    assert not wiz.counters().get("PATCH /v1/products/{id}")

    # When nothing changed: the next run writes nothing and reports the open fixes again
    wiz.reset_counters()
    again = run("products")
    assert again["changed"] == 0 and again["failed"] == {"product-reference-id-not-settable": len(without_reference)}
    assert not any(wiz.counters().get(call) for call in PRODUCT_WRITES)

    # When an item is renamed in SOS: no PATCH, its product waits for the rename by hand ...
    renamed = sos.items[unmapped[0]]
    sos.update_item(renamed["id"], name="Renamed In SOS")
    third = run("products")
    assert third["changed"] == 0 and third["failed"]["product-name-not-settable"] == 1
    assert product_of(wiz, renamed["id"])["name"] != "Renamed In SOS" and not wiz.counters().get(
        "PATCH /v1/products/{id}")
    # ... and once a person made it (and linked the hand-made products), the next run resolves it
    wiz.update_product(product_of(wiz, renamed["id"])["id"], name="Renamed In SOS")
    for item_id in without_reference:
        wiz.update_product(wiz.products.find("sku", sos.items[item_id]["sku"])["id"], reference_id=str(item_id))
    fourth = run("products")
    assert fourth["status"] == "ok" and fourth["failed"] == {} and world.state.get_failure("product", str(renamed["id"]))["status"] == "resolved"
    assert world.state.pending("product") == []

    # When SOS archives an item: its product is deactivated, the one PATCH the API takes
    sos.update_item(unmapped[1], archived=True)
    wiz.reset_counters()
    run("products")
    assert product_of(wiz, unmapped[1])["status"] == "inactive" and wiz.counters()["PATCH /v1/products/{id}"] == 1


@pytest.mark.parametrize("stream", ["products", "inventory"])
def test_the_dry_run_diff_is_what_the_run_then_does(world, stream):
    sos, wiz = world.sos, world.wiz
    sku_of = {str(item["id"]): item["sku"] for item in sos.items.values()}
    wiz.reset_counters()

    diff = diff_stream(stream, world.environment)

    # The diff wrote nothing and moved no cursor
    assert not any(call.startswith(("POST", "PATCH")) for call in wiz.counters())
    assert world.state.load_stream(stream) == {}
    assert diff["writes"], "the seed leaves work for both streams"

    report = run(stream)

    # The run wrote exactly the diff's writes, and counted what the diff counted
    for field in ("seen", "changed", "unchanged", "skipped"):
        assert report[field] == diff[field], field
    writes = sum(count for call, count in wiz.counters().items() if call.startswith(("POST", "PATCH")))
    assert writes == len(diff["writes"])
    for write in diff["writes"]:
        if stream == "products":
            variant = write["fields"]["variant"]
            assert {key: product_of(wiz, int(write["record_id"]))[key] for key in ("sku", "name", "reference_id")} == {
                "sku": variant["sku_id"], "name": variant["name"], "reference_id": variant["reference_id"]}
        else:
            shown = wiz.inventories[sku_of[write["record_id"]]]
            assert (shown["available_quantity"], shown["back_order_quantity"]) == (
                write["levels"]["available"], write["levels"]["back_order"])
