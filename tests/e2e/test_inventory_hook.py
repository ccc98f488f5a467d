"""R-INV-6 end to end on the local stack: template.yaml's functions run by local/runner.py on
moto, behind its HTTP API front, with the SOS emulator firing its quantity hook at the URL the
subscription command registered, and the WizCommerce emulator receiving the writes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from local.hook_stack import ROOT, HookedStack, wait_until
from local.runner import LocalRuntime
from sos_wiz_sync.rules.inventory import inventory_levels_from_sos

WINDOW = 5  # CoalesceWindowSeconds (the template default): a 50-hook burst takes 1-3 s locally
GET_ITEM = "GET /api/v2/item/{id}"


@pytest.fixture(scope="module")
def stack() -> Iterator[HookedStack]:
    with HookedStack(items=200, window_seconds=WINDOW) as hooked:
        yield hooked


def test_subscribing_again_leaves_one_subscription_and_never_prints_the_token(stack):
    shown = stack.subscriptions_command("subscribe")
    assert [hook["postUri"] for hook in stack.sos.hooks.values()] == [f"{stack.api_url}/webhooks/sos/{stack.token()}"]
    assert shown["subscriptions"][0]["current_token"] is True
    assert stack.token() not in json.dumps(shown)


def test_a_burst_of_hooks_reaches_wizcommerce_within_seconds_with_one_sos_read(stack):
    item_id = stack.embedded.stocked_mapped_item_ids()[0]
    stack.sos.reset_counters()
    # Given a burst of 50 quantity changes of one item (each fires the hook) within one window
    stack.start_of_a_window()
    for n in range(50):
        stack.sos.set_item_quantities(item_id, available=500 - n, onPO=10)
    # Then WizCommerce shows the last values within seconds
    expected = inventory_levels_from_sos(451, 10).as_dict()
    assert wait_until(lambda: stack.wc_levels(item_id) == expected, timeout=WINDOW + 5)
    # And every hook was accepted, yet the item was read from SOS once
    assert stack.sos.wait_for_hooks()
    assert [delivery["status"] for delivery in stack.sos.hook_deliveries[-50:]] == [202] * 50
    assert wait_until(stack.hook_queue_empty, timeout=WINDOW + 10)
    assert stack.sos.counters()[GET_ITEM] == 1


def test_a_change_after_the_window_is_read_again(stack):
    item_id = stack.embedded.stocked_mapped_item_ids()[1]
    stack.sos.set_item_quantities(item_id, available=70, onPO=0)
    assert wait_until(lambda: stack.wc_levels(item_id)["available"] == 70, timeout=WINDOW + 10)
    stack.sos.set_item_quantities(item_id, available=65, onPO=0)
    assert wait_until(lambda: stack.wc_levels(item_id)["available"] == 65, timeout=WINDOW + 10)


@pytest.mark.parametrize("path", ["/webhooks/sos/forged-token-0123456789abcdef0123", "/webhooks/sos/",
                                  "/webhooks/sos"])
def test_a_forged_or_missing_token_gets_404_and_queues_nothing(stack, path):
    hint = {"id": stack.embedded.stocked_mapped_item_ids()[2]}
    # The earlier tests' last message may still be in flight after WizCommerce shows its write.
    assert wait_until(stack.hook_queue_empty, timeout=WINDOW + 10)
    answer = requests.post(f"{stack.api_url}{path}", json=hint, timeout=10)
    assert (answer.status_code, answer.json()) == (404, {"message": "Not Found"})
    # A queued message would sit in the queue for the whole window (DelaySeconds)
    assert stack.hook_queue_empty()


def test_the_next_pull_sends_nothing_for_items_the_hook_updated():
    with HookedStack(items=200, window_seconds=WINDOW) as stack:  # its own state: only these items by hook
        # Given items the hook has just brought up to date in WizCommerce
        items = stack.embedded.stocked_mapped_item_ids()[:3]
        for n, item_id in enumerate(items):
            stack.sos.set_item_quantities(item_id, available=40 + n, onPO=5)
        assert wait_until(lambda: all(stack.wc_levels(i)["available"] == 35 + n for n, i in enumerate(items)),
                          timeout=WINDOW + 10)

        def written_at() -> dict[int, str]:
            return {i: stack.wiz.inventories[stack.sos.items[i]["sku"]]["updated_at"] for i in items}

        before = written_at()
        # When the scheduled inventory pull runs
        stack.runtime.fire_schedule("InventoryPullSchedule")
        assert wait_until(lambda: stack.latest_report("inventory") is not None, timeout=60)
        # Then it counts them as already right, and writes none of them
        assert stack.latest_report("inventory")["notes"]["unchanged_after_hook"] == len(items)
        assert written_at() == before


def test_a_pull_write_a_hook_read_may_have_overtaken_is_rechecked_through_the_hook_queue():
    """The pull's post-check on the deployed wiring: PullFunction queues a forced re-read on the
    hook queue (its INVENTORY_HOOK_QUEUE_URL and IAM), the hook worker re-reads and writes."""
    with HookedStack(items=200, window_seconds=WINDOW) as stack:  # its own state: one first pull
        item_id = stack.embedded.stocked_mapped_item_ids()[0]
        # Given the hook read the item after the pull will have read its page (as if its read
        # came while the pull was sending): recorded as the hook worker records it
        later = (time.time_ns() // 1000) + 600_000_000
        stack.runtime.dynamodb.put_item(TableName=stack.runtime.ref("StateTable"), Item={
            "pk": {"S": f"INV#{item_id}"}, "sk": {"S": "HOOK"}, "read_at": {"N": str(later)}})
        stack.sos.reset_counters()
        # When the scheduled inventory pull writes the item
        stack.runtime.fire_schedule("InventoryPullSchedule")
        assert wait_until(lambda: stack.latest_report("inventory") is not None, timeout=60)
        report = stack.latest_report("inventory")
        # Then it queued one recheck, for that item only, and the hook worker re-read it
        assert report["notes"]["hook_rechecks_queued"] == 1 and report["failed"] == {}
        assert wait_until(lambda: stack.sos.counters().get(GET_ITEM, 0) == 1, timeout=WINDOW + 15)
        assert wait_until(stack.hook_queue_empty, timeout=WINDOW + 10)
        expected = inventory_levels_from_sos(stack.sos.items[item_id]["available"],
                                             stack.sos.items[item_id]["onPO"]).as_dict()
        assert stack.wc_levels(item_id) == expected


def test_switching_the_hook_off_removes_its_route_and_functions(stack):
    embedded = stack.embedded
    runtime = LocalRuntime(ROOT / "template.yaml", stack_name=f"hook-off-{uuid.uuid4().hex[:6]}",
                           parameters={**embedded.parameter_overrides(), "EnableInventoryHook": "false"},
                           secret_values=embedded.secret_values(), endpoint_url=embedded.endpoints.aws, containers=True)
    runtime.start()
    try:
        assert {"SosHookIngressFunction", "InventoryHookFunction"}.isdisjoint(runtime.functions)
        assert runtime.invoke_http("POST", f"/webhooks/sos/{stack.token()}", {"id": 1}).status == 404
    finally:
        runtime.stop()
