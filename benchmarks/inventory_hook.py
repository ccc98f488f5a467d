"""Near-real-time inventory (R-INV-6) on the local stack: how fast a quantity change in SOS
reaches WizCommerce through the hook, and how many SOS reads a burst of hooks costs.

    python -m benchmarks.inventory_hook [--window 5] [--trials 10] [--latency-ms 0]

Scenarios (results go into docs/performance.md, "Near-real-time inventory"):
- ingress: the hook's answer time through the HTTP API front (the 202 SOS waits for);
- single change: one quantity change → the WizCommerce write, per trial a fresh item;
- burst: N changes of one item inside one window → reads of that item, writes, latency;
- shipment: a sales order of L lines over K items shipped at once (a hook per line) →
  reads per item, writes, time until WizCommerce shows every item's new quantity.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from typing import Any

import requests

from local.emulators.base import parse_stamp
from local.hook_stack import HookedStack, wait_until
from sos_wiz_sync.rules.inventory import inventory_levels_from_sos

GET_ITEM = "GET /api/v2/item/{id}"
WC_WRITE = "POST /v1/inventories"


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"n": len(ordered), "min": round(ordered[0], 3), "p50": round(statistics.median(ordered), 3),
            "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 3), "max": round(ordered[-1], 3)}


def expected_levels(stack: HookedStack, item_id: int) -> dict[str, float]:
    item = stack.sos.items[item_id]
    return inventory_levels_from_sos(item["available"], item["onPO"]).as_dict()


def settle(stack: HookedStack, items: list[int], timeout: float) -> float:
    """Seconds until WizCommerce shows every item's SOS quantities; raises if it never does."""
    started = time.monotonic()
    if not wait_until(lambda: all(stack.wc_levels(i) == expected_levels(stack, i) for i in items), timeout):
        raise RuntimeError(f"WizCommerce did not catch up within {timeout} s")
    return time.monotonic() - started


def reset_counters(stack: HookedStack) -> None:
    stack.sos.reset_counters()
    stack.wiz.reset_counters()


def ingress_answers(stack: HookedStack, items: list[int], posts: int) -> dict[str, Any]:
    url = f"{stack.api_url}/webhooks/sos/{stack.token()}"
    session = requests.Session()
    times = []
    for n in range(posts):
        started = time.perf_counter()
        answer = session.post(url, json={"id": items[n % len(items)]}, timeout=10)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 202, answer.text
    wait_until(stack.hook_queue_empty, timeout=stack.window_seconds + 30)
    return {"answer_ms": summary(times)}


def single_changes(stack: HookedStack, items: list[int], trials: int) -> dict[str, Any]:
    latencies = []
    for item_id in items[:trials]:
        time.sleep(random.uniform(0, stack.window_seconds))  # land anywhere in a window
        started = time.monotonic()
        stack.sos.set_item_quantities(item_id, available=stack.sos.items[item_id]["available"] + 7)
        latencies.append(time.monotonic() - started + settle(stack, [item_id], stack.window_seconds + 30))
    return {"hook_to_wc_write_s": summary(latencies),
            "minus_window_s": summary([latency - stack.window_seconds for latency in latencies])}


def burst(stack: HookedStack, item_id: int, size: int) -> dict[str, Any]:
    wait_until(stack.hook_queue_empty, timeout=stack.window_seconds + 30)
    reset_counters(stack)
    stack.start_of_a_window()
    started = time.monotonic()
    for n in range(size):
        stack.sos.set_item_quantities(item_id, available=1000 - n, onPO=n % 7)
    latency = time.monotonic() - started + settle(stack, [item_id], stack.window_seconds + 30)
    stack.sos.wait_for_hooks(30)
    wait_until(stack.hook_queue_empty, timeout=stack.window_seconds + 30)
    return {"hooks": size, "sos_item_reads": stack.sos.counters().get(GET_ITEM, 0),
            "wc_writes": stack.wiz.counters().get(WC_WRITE, 0), "first_change_to_wc_s": round(latency, 3)}


def shipment(stack: HookedStack, items: list[int], lines: int) -> dict[str, Any]:
    customer = next(iter(stack.sos.customers))
    for item_id in items:  # enough stock that every line really moves the quantity
        stack.sos.set_item_quantities(item_id, available=10_000, onhand=10_000, fire_hook=False)
    order = stack.sos.create_sales_order(customer={"id": customer}, lines=[
        {"item": {"id": items[n % len(items)]}, "quantity": 1, "unitprice": 1} for n in range(lines)])
    wait_until(stack.hook_queue_empty, timeout=stack.window_seconds + 30)
    reset_counters(stack)
    started = time.time()
    stack.sos.create_shipment(order["id"])
    delivered = stack.sos.wait_for_hooks(300)
    hooks_done = time.time() - started
    settle(stack, items, stack.window_seconds + 300)
    wait_until(stack.hook_queue_empty, timeout=stack.window_seconds + 300)
    # When WizCommerce got each item's last write, by the emulator's own record stamps
    written = [parse_stamp(stack.wiz.inventories[stack.sos.items[i]["sku"]]["updated_at"]) / 1e6 - started
               for i in items]
    reads = stack.sos.counters().get(GET_ITEM, 0)
    return {"lines": lines, "items": len(items), "hooks_delivered": delivered,
            "shipment_to_last_hook_s": round(hooks_done, 3), "sos_item_reads": reads,
            "reads_per_item": round(reads / len(items), 2), "wc_writes": stack.wiz.counters().get(WC_WRITE, 0),
            "shipment_to_wc_write_s": summary(written)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000, help="seeded SOS items")
    parser.add_argument("--window", type=int, default=5, help="CoalesceWindowSeconds (template default 5)")
    parser.add_argument("--trials", type=int, default=10, help="single-change trials")
    parser.add_argument("--posts", type=int, default=200, help="hook POSTs timed at the ingress")
    parser.add_argument("--burst", type=int, default=50, help="hooks for one item in one window")
    parser.add_argument("--shipment-lines", type=int, default=500)
    parser.add_argument("--shipment-items", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every SOS and WizCommerce call")
    parser.add_argument("--sos-max-rps", default="1000", help="SosMaxRps (pacing of SOS calls per invocation)")
    args = parser.parse_args(argv)

    random.seed(7)
    parameters = {"LogLevel": "WARNING", "SosMaxRps": args.sos_max_rps}
    with HookedStack(items=args.items, window_seconds=args.window, latency_ms=args.latency_ms,
                     parameters=parameters) as stack:
        items = stack.embedded.stocked_mapped_item_ids()
        results = {
            "setup": {"items": args.items, "window_s": args.window, "api_latency_ms": args.latency_ms,
                      "sos_max_rps": args.sos_max_rps},
            "ingress": ingress_answers(stack, items, args.posts),
            "single_change": single_changes(stack, items[1:], args.trials),
            "burst": burst(stack, items[0], args.burst),
            "shipment": shipment(stack, items[-args.shipment_items:], args.shipment_lines),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
