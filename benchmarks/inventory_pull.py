"""Inventory pull benchmark (issues 4, 12 and 13): N SOS items, run twice, then with 1% of
quantities changed, then with k WizCommerce inventories edited by hand (drift repair: exactly k
writes), at 0 ms and at 50 ms emulator latency, and once more at SOS's pace (one request per
500 ms, `SosMaxRps` 2) to measure the pass against the 250 s that pacing alone imposes.

The embedded stack (moto + emulators) runs in a child process (`python -m local.serve`), so
this process holds only what a Lambda would: the runner invoking the real PullFunction
handler. Its peak RSS is the memory figure. Every ratio compares numbers of one run.

    python -m benchmarks.inventory_pull --items 100000      # the issue's size (a few minutes)
    python -m benchmarks.inventory_pull --items 5000        # a quick look
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from contextlib import redirect_stdout
from pathlib import Path

import requests
from botocore.client import BaseClient

from local.runner import LocalRuntime
from local.stack import StackEndpoints, parameter_overrides, secret_values

ROOT = Path(__file__).resolve().parents[1]
SOS_PAGE, WIZ_PAGE = 200, 100
WIZ_CONCURRENCY = 8
PACED_RPS = 2  # SOS's one request per 500 ms
PACED = "1% changed, paced (SosMaxRps 2), 0 ms"
HAND_EDITS = 100  # WizCommerce inventories a user edits by hand before the drift run


class HookActivityReads:
    """Counts the pull's reads of the hook's activity (BatchGetItem of `INV#…/HOOK` keys, the
    pull-vs-hook recheck): the runner invokes the handler in this process, and botocore is shared
    with it, so wrapping the client's API call sees every DynamoDB call the function makes."""

    def __init__(self) -> None:
        self.calls = 0
        self._original = BaseClient._make_api_call

    def __enter__(self) -> "HookActivityReads":
        counter, original = self, self._original

        def counted(client: BaseClient, operation: str, params: dict) -> dict:
            if operation == "BatchGetItem" and any(key.get("sk") == {"S": "HOOK"}
                                                   for table in params.get("RequestItems", {}).values()
                                                   for key in table.get("Keys", [])):
                counter.calls += 1
            return original(client, operation, params)

        BaseClient._make_api_call = counted
        return self

    def __exit__(self, *exc_info: object) -> None:
        BaseClient._make_api_call = self._original


class StackProcess:
    """`python -m local.serve` in a child process, driven through the emulators' /_admin API."""

    def __init__(self, items: int):
        self.process = subprocess.Popen([sys.executable, "-m", "local.serve", "--items", str(items), "--with-ids"],
                                        cwd=ROOT, stdout=subprocess.PIPE, text=True)
        ready = json.loads(self.process.stdout.readline())
        self.endpoints = StackEndpoints(**ready["endpoints"])
        self.sos_credentials = ready["sos_credentials"]
        self.wiz_api_key = ready["wiz_api_key"]
        self.stocked_ids: list[int] = ready["stocked_mapped_item_ids"]
        self.http = requests.Session()

    def set_latency(self, ms: int) -> None:
        for url in (self.endpoints.sos, self.endpoints.wiz):
            self.http.delete(f"{url}/_admin/faults").raise_for_status()
            if ms:
                self.http.post(f"{url}/_admin/faults", json={"type": "latency", "latency_ms": ms}).raise_for_status()

    def reset_counters(self) -> None:
        for url in (self.endpoints.sos, self.endpoints.wiz):
            self.http.post(f"{url}/_admin/counters/reset").raise_for_status()

    def counters(self, url: str) -> dict[str, int]:
        return self.http.get(f"{url}/_admin/counters").json()["requests"]

    def change_quantities(self, item_ids: list[int], round_no: int) -> None:
        for item_id in item_ids:  # a value no seeded item has, so each one really changes
            self.http.post(f"{self.endpoints.sos}/_admin/items/{item_id}/quantities",
                           json={"available": 1_000_000 + round_no, "fire_hook": False}).raise_for_status()

    def edit_by_hand(self, item_ids: list[int]) -> None:
        """A WizCommerce user sets `reserved_quantity` (we always send 0) on these items' SKUs."""
        wiz = {"X-API-Key": self.wiz_api_key}
        products = self.http.get(f"{self.endpoints.wiz}/v1/products", headers=wiz, params={
            "reference_ids": ",".join(map(str, item_ids)), "page_size": WIZ_PAGE}).json()["data"]
        assert len(products) == len(item_ids) <= WIZ_PAGE
        for product in products:
            self.http.post(f"{self.endpoints.wiz}/_admin/actions/edit_inventory",
                           json={"sku": product["sku"], "reserved_quantity": 5}).raise_for_status()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def run_pull(runtime: LocalRuntime, stack: StackProcess) -> dict:
    stack.reset_counters()
    started = time.perf_counter()
    with HookActivityReads() as hook_activity_reads:
        runtime.fire_schedule("InventoryPullSchedule")
        runtime.drain("PullFunction", wait_seconds=0.2)
    wall = time.perf_counter() - started
    state = runtime.dynamodb.query(TableName=runtime.ref("StateTable"), KeyConditionExpression="pk = :pk",
                                   ExpressionAttributeValues={":pk": {"S": "RUN#inventory"}},
                                   ScanIndexForward=False, Limit=1)["Items"][0]
    sos, wiz = stack.counters(stack.endpoints.sos), stack.counters(stack.endpoints.wiz)
    notes = state.get("notes", {}).get("M", {})
    return {"wall_s": wall, "changed": int(state["changed"]["N"]), "seen": int(state["seen"]["N"]),
            "drift_corrected": int(notes.get("drift-corrected", {}).get("N", 0)),
            "sos_item_reads": sos.get("GET /api/v2/item", 0),
            "wiz_product_reads": wiz.get("GET /v1/products", 0),
            "wiz_inventory_reads": wiz.get("GET /v1/inventories", 0),
            "wiz_inventory_writes": wiz.get("POST /v1/inventories", 0),
            "hook_activity_reads": hook_activity_reads.calls,
            "calls": sum(sos.values()) + sum(wiz.values()),
            "sos_calls": sum(sos.values()), "wiz_calls": sum(wiz.values())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--changed-fraction", type=float, default=0.01)
    parser.add_argument("--no-paced", dest="paced", action="store_false",
                        help="skip the run at SOS's pace (it takes ceil(N/200) x 0.5 s)")
    args = parser.parse_args(argv)

    stack = StackProcess(args.items)
    products = args.items - round(args.items * 0.03)  # the seed leaves 3% of SOS items without a product
    log = (ROOT / "build").mkdir(exist_ok=True) or open(ROOT / "build" / "benchmark-functions.log", "w")
    results: dict[str, dict] = {}
    try:
        runtime = LocalRuntime(ROOT / "template.yaml", endpoint_url=stack.endpoints.aws,
                               parameters={**parameter_overrides(stack.endpoints),
                                           "WizMaxConcurrency": str(WIZ_CONCURRENCY), "LogLevel": "WARNING"},
                               secret_values=secret_values(stack.sos_credentials, stack.wiz_api_key),
                               stack_name=f"bench-{uuid.uuid4().hex[:6]}")
        with runtime, redirect_stdout(log):
            os.environ.update(runtime.aws_environment())
            rng = random.Random(7)
            changes = max(1, round(len(stack.stocked_ids) * args.changed_fraction))
            results["first run, 0 ms"] = run_pull(runtime, stack)
            results["second run (no change), 0 ms"] = run_pull(runtime, stack)
            stack.change_quantities(rng.sample(stack.stocked_ids, changes), 1)
            results[f"{args.changed_fraction:.0%} changed, 0 ms"] = run_pull(runtime, stack)
            stack.edit_by_hand(rng.sample(stack.stocked_ids, HAND_EDITS))
            results[f"{HAND_EDITS} edited by hand in WC, 0 ms"] = run_pull(runtime, stack)
            stack.set_latency(args.latency_ms)
            stack.change_quantities(rng.sample(stack.stocked_ids, changes), 2)
            results[f"{args.changed_fraction:.0%} changed, {args.latency_ms} ms"] = run_pull(runtime, stack)
            stack.set_latency(0)
            if args.paced:
                # SOS's real pace, in real time: the next cold start reads SOS_MAX_RPS = 2.
                runtime.functions["PullFunction"].environment["SOS_MAX_RPS"] = str(PACED_RPS)
                runtime.recycle("PullFunction")
                stack.change_quantities(rng.sample(stack.stocked_ids, changes), 3)
                results[PACED] = run_pull(runtime, stack)
    finally:
        stack.stop()
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(render(results, args, changes, products, peak_rss_mb))


def render(results: dict[str, dict], args, changes: int, products: int, peak_rss_mb: float) -> str:
    minimum_sos_reads = math.ceil(args.items / SOS_PAGE)
    wiz_pass = math.ceil(products / WIZ_PAGE)  # the seed gives each WC product an inventory record
    lines = [f"items {args.items}, {changes} quantities changed per change run, {HAND_EDITS} WC inventories "
             f"edited by hand before the drift run, WizCommerce concurrency {WIZ_CONCURRENCY}, SOS reads "
             f"sequential (offset pages, each after the first starting at the previous page's last row)", "",
             "| run | wall s | SOS item reads | ÷ ceil(N/200) | WC product reads | ÷ one pass "
             "| WC inventory reads | ÷ ceil(N_wc/100) | WC inventory writes | changed | drift-corrected "
             "| hook-activity reads (recheck) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['wall_s']:.1f} | {r['sos_item_reads']} | {r['sos_item_reads'] / minimum_sos_reads:.3f} "
                     f"| {r['wiz_product_reads']} | {r['wiz_product_reads'] / wiz_pass:.2f} "
                     f"| {r['wiz_inventory_reads']} | {r['wiz_inventory_reads'] / wiz_pass:.3f} "
                     f"| {r['wiz_inventory_writes']} | {r['changed']} | {r['drift_corrected']} "
                     f"| {r['hook_activity_reads']} |")
    slow = results[f"{args.changed_fraction:.0%} changed, {args.latency_ms} ms"]
    literal = slow["calls"] * args.latency_ms / 1000 / WIZ_CONCURRENCY
    critical = max(slow["sos_calls"] * args.latency_ms / 1000,  # SOS pages are read one after another
                   slow["wiz_calls"] * args.latency_ms / 1000 / WIZ_CONCURRENCY)
    lines += ["", f"peak RSS of the function process: {peak_rss_mb:.0f} MB",
              f"at {args.latency_ms} ms: wall {slow['wall_s']:.1f} s for {slow['calls']} calls "
              f"({slow['sos_calls']} SOS, {slow['wiz_calls']} WC); "
              f"wall ÷ (calls × {args.latency_ms} ms ÷ {WIZ_CONCURRENCY}) = {slow['wall_s'] / literal:.2f}; "
              f"wall ÷ critical path max(SOS calls × {args.latency_ms} ms, WC calls × {args.latency_ms} ms ÷ "
              f"{WIZ_CONCURRENCY}) = {slow['wall_s'] / critical:.2f}"]
    if PACED in results:
        paced = results[PACED]
        floor = minimum_sos_reads / PACED_RPS
        lines.append(f"at SOS's pace ({PACED_RPS} requests/s): wall {paced['wall_s']:.1f} s for "
                     f"{paced['sos_calls']} SOS calls; wall ÷ (ceil(N/200) ÷ {PACED_RPS} = {floor:.0f} s) = "
                     f"{paced['wall_s'] / floor:.3f}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
