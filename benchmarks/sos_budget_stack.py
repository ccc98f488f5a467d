"""The deployment's SOS budget on the local stack (issue 20's benchmark): a busy afternoon.

template.yaml's functions run in containers (processes) at their configured concurrency on moto
server (local/hook_stack.py: HTTP API front, SQS event-source pollers, SOS's quantity hook
subscribed by the real command), with `SosMaxRps` = the deployment's total (default 2). The SOS
emulator limits the whole account (default 2 requests/s, burst 2) and answers over it as SOS does
(429, or HTTP 200 "Throttle limit exceeded": `--throttle-http-status`). Then, at once:
- the scheduled inventory pull pages every SOS item (PullFunction via PullQueue);
- `--orders` confirmed orders are placed in WizCommerce, spread over `--span` seconds; WizCommerce
  sends no order event, so only the WC change poll announces them: this script fires WcPollSchedule
  every `--poll-seconds` (the template's rate(1 minute)) as EventBridge Scheduler would, from the
  thread that places the orders (an order is never placed while a poll runs, so the poll that
  found it is the first one after it);
- `--hooks` quantity changes are made in SOS, spread over the same span: each fires SOS's hook at
  the HTTP API's ingress → InventoryHookQueue (coalescing window) → InventoryHookFunction. The
  pushed orders move their items' `available` in SOS, which fires more hooks.
When the pull has finished, every order is in SOS and the queues are empty, it checks and prints
one JSON object (figures for docs/performance.md, "One SOS budget per deployment"):
- `throttled_share`: throttled answers / all requests the SOS emulator received (target ≤ 1%);
- `order_delay_from_poll_s`: from the start of the poll that found an order to the order being
  in SOS (seen by a watcher every 0.1 s), p50/p95, for all orders and for those found while the
  pass ran (target p95 ≤ 10 s); `order_delay_from_poll_end_s` likewise from the poll's end (the
  poll has found an order when it has listed and queued it; on a loaded machine it takes seconds);
- `order_delay_breakdown_s`: where that time goes, per order (p50/p95/max, all orders and those
  found during the pass): `poll` (its start to its end), `queued` (the poll's end to the
  PushFunction invocation whose batch holds the order), `before_post` (that invocation's start to
  the push's attempt marker, written just before its POST: earlier records of the same batch and
  the order's WizCommerce reads), `post` (the marker to the order in SOS: the budget's slot and the
  POST); `push_batches` the PushFunction invocations' batch sizes;
- `pass_ratio`: the inventory pass (schedule fired → run report written) ÷ (all SOS requests of
  the scenario ÷ the account's rate) (target ≤ 1.1); `pass_ratio_calls_during_pass` counts only the
  requests sent until the pass ended;
- `orders_duplicated` / `orders_missing`: WC orders with more than one / no SOS sales order;
- `stale_items_touched` / `stale_items_all`: items whose WizCommerce inventory is not R-INV-1..3
  of SOS's final quantities, among the items the scenario changed / among all stocked mapped items;
- `dynamodb_per_sos_call`: DynamoDB requests on the budget item (`pk=SOS#BUDGET`) per SOS request,
  counted in every container by a wrapper around botocore's API call
  (benchmarks/sos_budget_counting.py); `dynamodb_all_per_sos_call` counts every DynamoDB request
  of the functions (their own tables' work included);
- `rate_in_force_at_end`, `rate_lowered_times`: the budget item's rate and throttle count at the end.

    python -m benchmarks.sos_budget_stack                      # the issue's scale: ~8-10 min
    python -m benchmarks.sos_budget_stack --items 4000 --orders 20 --hooks 40
    python -m benchmarks.sos_budget_stack --account-rps 1      # the emulator stricter than SosMaxRps
    python -m benchmarks.sos_budget_stack --push-batch-size 1 --push-max-concurrency 4   # what if

`--push-batch-size` / `--push-max-concurrency` (default: the template's 10 / 2) try the PushQueue
event source otherwise: a push invocation handles its batch's records one after another.

The functions' log lines go to build/benchmark-sos-budget-stack.log (`--log`).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import redirect_stdout
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "shared"), str(ROOT)]  # this checkout's package, not an installed one

from local.aws import use_local_aws  # noqa: E402
from local.container import ContainerSetup  # noqa: E402
from local.hook_stack import HookedStack, wait_until  # noqa: E402
from sos_wiz_sync.rules.inventory import inventory_levels_from_sos  # noqa: E402

COUNTING = ROOT / "benchmarks" / "sos_budget_counting.py"
SOS_PAGE = 200
ORDER_LINES = 2
SOS_CALLS_PER_ORDER = 1  # a first attempt's create; a later one looks its number up first (SOS-A13)
QUEUES = ("PushQueue", "PullQueue", "InventoryHookQueue")
DLQS = ("PushDLQ", "PullDLQ", "InventoryHookDLQ")


def percentile(values: list[float], share: float) -> float | None:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)], 2) if ordered else None


def spread(count: int, span: float) -> list[float]:
    """`count` instants evenly over [0, span), each in the middle of its share."""
    return [span * (k + 0.5) / count for k in range(count)]


def estimated_calls(args: argparse.Namespace) -> int:
    """SOS requests the scenario needs at least: the pull's pages, each order's create, a hook read
    per changed item (the hooks' and the orders' lines')."""
    return math.ceil(args.items / SOS_PAGE) + args.orders * (SOS_CALLS_PER_ORDER + ORDER_LINES) + args.hooks


class Watcher:
    """Notes when each SOS sales order first appears, and when the inventory run report is written
    (with the SOS request count at that moment)."""

    def __init__(self, stack: HookedStack, numbers: set[str]):
        self.stack, self.numbers = stack, numbers
        self.in_sos: dict[str, float] = {}
        self.pass_done: float | None = None
        self.report: dict[str, Any] | None = None
        self.requests_at_pass_end = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="benchmark-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        next_report_check = 0.0
        while not self._stop.wait(0.1):
            now = time.time()
            with self.stack.sos.lock:
                seen = [order["number"] for order in self.stack.sos.sales_orders.values()]
            for number in seen:
                if number in self.numbers:
                    self.in_sos.setdefault(number, now)
            if self.pass_done is None and now >= next_report_check:
                next_report_check = now + 0.5
                report = self.stack.latest_report("inventory")
                if report is not None:
                    self.pass_done, self.report = time.time(), report
                    self.requests_at_pass_end = sum(self.stack.sos.counters().values())


def place_order(stack: HookedStack, customers: list[str], products: list[str], n: int) -> dict:
    lines = [{"product_id": products[(ORDER_LINES * n + k) % len(products)], "quantity": 1, "unit_price": 10.0}
             for k in range(ORDER_LINES)]
    return stack.wiz.create_order(customers[n % len(customers)], lines)


def change_quantity(stack: HookedStack, item_id: int) -> None:
    """A quantity change in SOS (a receipt, say): SOS fires its hook."""
    stack.sos.set_item_quantities(item_id, available=stack.sos.items[item_id]["available"] + 7)


def dynamodb_requests(folder: Path, since: float) -> Counter:
    counts: Counter = Counter()
    for record in folder.glob("*.txt"):
        for line in record.read_text().splitlines():
            kind, _, stamp = line.partition(" ")
            if float(stamp) >= since:
                counts[kind] += 1
    return counts


def note_push_pickups(runtime: Any) -> tuple[dict[str, float], list[int]]:
    """When a PushFunction invocation first held each order's message (WC order id → epoch s), and
    every push batch's size: the local event-source pollers invoke through `runtime.invoke`."""
    picked: dict[str, float] = {}
    batches: list[int] = []
    invoke = runtime.invoke

    def noting(function_id: str, event: Any, **kwargs: Any) -> Any:
        if function_id == "PushFunction":
            now = time.time()
            batches.append(len(event.get("Records", [])))
            for record in event.get("Records", []):
                body = json.loads(record["body"])
                if body.get("entity") == "order":
                    picked.setdefault(str(body["wc_id"]), now)
        return invoke(function_id, event, **kwargs)

    runtime.invoke = noting
    return picked, batches


def attempts(runtime: Any, wc_ids: list[str]) -> dict[str, float]:
    """When each order's push was about to POST it (its attempt marker, store/mappings.py)."""
    marked: dict[str, float] = {}
    for wc_id in wc_ids:
        item = runtime.dynamodb.get_item(TableName=runtime.ref("MappingsTable"), ConsistentRead=True,
                                         Key={"pk": {"S": f"WC#order#{wc_id}"}, "sk": {"S": "ATTEMPT"}}).get("Item")
        if item:
            marked[wc_id] = datetime.fromisoformat(item["attempted_at"]["S"]).timestamp()
    return marked


def summary(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50": percentile(values, .5), "p95": percentile(values, .95),
            "max": percentile(values, 1)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    estimate = estimated_calls(args) / min(args.account_rps, args.sos_max_rps)
    span = args.span if args.span is not None else 0.8 * estimate
    deadline_seconds = 3 * estimate + 4 * args.poll_seconds + 300
    parameters = {"SosMaxRps": str(args.sos_max_rps), "LogLevel": "WARNING", "OrderNumberPrefix": "WC-"}
    if args.push_max_concurrency is not None:
        parameters["PushMaxConcurrency"] = str(args.push_max_concurrency)
    counted = Path(tempfile.mkdtemp(prefix="sos-budget-dynamodb-"))
    with HookedStack(items=args.items, window_seconds=args.window, parameters=parameters) as stack:
        runtime, sos, wiz = stack.runtime, stack.sos, stack.wiz
        use_local_aws(stack.embedded.endpoints.aws)
        from sos_wiz_sync.store.state import SyncState  # boto3 now points at moto

        state = SyncState(runtime.ref("StateTable"))
        # A deployment whose first sync is done: the WC change poll waits for it (R-TIME-2)
        state.save_first_sync_status({"status": "done", "run_id": "before-the-benchmark",
                                      "finished_at": datetime.now(timezone.utc).isoformat()})
        runtime.container_setup.append(ContainerSetup(str(COUNTING), "count_dynamodb_requests",
                                                      {"folder": str(counted)}))
        runtime.recycle()  # a container started for the subscription would not count
        if args.push_batch_size is not None:  # the pollers read the trigger they were started with
            runtime.stop_pollers()
            runtime.triggers = [replace(t, batch_size=args.push_batch_size) if t.queue_id == "PushQueue" else t
                                for t in runtime.triggers]
            runtime.start_pollers(interval_seconds=0.05)
        push_trigger = next(t for t in runtime.triggers if t.queue_id == "PushQueue")
        picked, push_batches = note_push_pickups(runtime)

        stocked = stack.embedded.stocked_mapped_item_ids()
        product_of = {p["reference_id"]: p["id"] for p in wiz.products.values() if p.get("reference_id")}
        order_items = [i for i in stocked if sos.items[i]["available"] > 10][:max(1, ORDER_LINES * args.orders)]
        products = [product_of[str(i)] for i in order_items]
        hook_items = stocked[-args.hooks:] if args.hooks else []
        customers = [c["id"] for c in wiz.customers.values() if c.get("reference_id")]

        sos.configure(throttle_http_status=args.throttle_http_status)
        sos.set_rate_limit(args.account_rps, args.account_burst)
        sos.reset_counters()
        wiz.reset_counters()

        # The timeline: (instant, kind, n); polls at every interval until everything is through
        events = sorted([(at, "order", n) for n, at in enumerate(spread(args.orders, span))]
                        + [(at, "hook", n) for n, at in enumerate(spread(args.hooks, span))])
        placed: dict[str, dict] = {}       # SOS number → {"placed", "poll"}
        unannounced: list[str] = []        # placed since the last poll started
        polls: list[dict[str, float]] = []
        poll_errors: list[str] = []
        watcher = Watcher(stack, set())
        started = time.time()
        runtime.fire_schedule("InventoryPullSchedule")
        watcher.start()
        next_poll = started + args.poll_seconds
        while True:
            now = time.time()
            if now - started > deadline_seconds:
                raise SystemExit(f"not through within {deadline_seconds:.0f} s: "
                                 f"{len(watcher.in_sos)}/{args.orders} orders in SOS, pass done: "
                                 f"{watcher.pass_done is not None}; see {args.log}")
            if events and started + events[0][0] <= min(next_poll, now):
                _, kind, n = events.pop(0)
                if kind == "order":
                    order = place_order(stack, customers, products, n)
                    number = f"WC-{order['display_id']}"
                    placed[number] = {"placed": time.time(), "wc_id": str(order["id"])}
                    watcher.numbers.add(number)
                    unannounced.append(number)
                else:
                    change_quantity(stack, hook_items[n])
                continue
            if now >= next_poll:
                poll_started = time.time()
                try:
                    runtime.fire_schedule("WcPollSchedule")
                except Exception as exc:  # noqa: BLE001 - Scheduler's async invoke: the next poll covers it
                    poll_errors.append(f"{type(exc).__name__}: {exc}")
                polls.append({"started": poll_started, "finished": time.time()})
                for number in unannounced:
                    placed[number]["poll"], placed[number]["poll_end"] = poll_started, polls[-1]["finished"]
                unannounced = []
                next_poll += args.poll_seconds
                if (not events and watcher.pass_done is not None and len(watcher.in_sos) == args.orders
                        and all(runtime.queue_counts(queue).total == 0 for queue in QUEUES)):
                    break  # this last poll saw the pushes' own writes back; its echoes are drained below
                continue
            wake = min(next_poll, started + events[0][0]) if events else next_poll
            time.sleep(max(0.0, min(wake - time.time(), 0.5)))

        sos.wait_for_hooks(60)
        settled = wait_until(lambda: all(runtime.queue_counts(queue).total == 0 for queue in QUEUES),
                             timeout=args.window + 120, interval=0.2)
        watcher.stop()
        finished = time.time()

        requests_ = sum(sos.counters().values())
        throttled = sum(sos.faulted_counters().values())
        dynamodb = dynamodb_requests(counted, started)
        budget = runtime.dynamodb.get_item(TableName=runtime.ref("StateTable"), ConsistentRead=True,
                                           Key={"pk": {"S": "SOS#BUDGET"}, "sk": {"S": "BUDGET"}}).get("Item", {})
        numbers = Counter(order["number"] for order in sos.sales_orders.values() if order["number"] in placed)

        def stale(items: list[int]) -> list[int]:
            return [i for i in items if stack.wc_levels(i) != inventory_levels_from_sos(
                sos.items[i]["available"], sos.items[i]["onPO"]).as_dict()]

        touched = sorted({*hook_items, *(i for i in order_items[:ORDER_LINES * args.orders])})
        found = {number: order for number, order in placed.items() if number in watcher.in_sos and "poll" in order}
        found_during = {number for number, order in found.items() if order["poll"] <= watcher.pass_done}
        delays = {number: watcher.in_sos[number] - order["poll"] for number, order in found.items()}
        from_end = {number: watcher.in_sos[number] - order["poll_end"] for number, order in found.items()}
        from_confirmation = [watcher.in_sos[n] - order["placed"] for n, order in placed.items() if n in watcher.in_sos]
        during = [delay for number, delay in delays.items() if number in found_during]
        first_poll = min((order["poll"] for order in found.values()), default=0.0)
        marked = attempts(runtime, [order["wc_id"] for order in found.values()])
        stages: dict[str, dict[str, float]] = {}  # SOS number → stage → seconds
        for number, order in found.items():
            wc_id = order["wc_id"]
            if wc_id in picked and wc_id in marked:
                stages[number] = {"poll": order["poll_end"] - order["poll"], "queued": picked[wc_id] - order["poll_end"],
                                  "before_post": marked[wc_id] - picked[wc_id],
                                  "post": watcher.in_sos[number] - marked[wc_id]}

        def breakdown(numbers: set[str]) -> dict[str, Any]:
            return {stage: summary([s[stage] for n, s in stages.items() if n in numbers])
                    for stage in ("poll", "queued", "before_post", "post")}
        pass_seconds = watcher.pass_done - started
        report = watcher.report or {}
        return {
            "scale": {"items": args.items, "orders": args.orders, "hooks": args.hooks, "span_s": round(span, 1),
                      "poll_every_s": args.poll_seconds, "coalesce_window_s": args.window,
                      "push_batch_size": push_trigger.batch_size,
                      "push_max_concurrency": runtime.concurrency("PushFunction")},
            "account_limit_rps": args.account_rps, "account_burst": args.account_burst,
            "sos_max_rps": args.sos_max_rps, "throttle_form": args.throttle_http_status,
            "sos_requests": requests_, "throttled": throttled,
            "throttled_share": round(throttled / max(1, requests_), 4),
            "sos_requests_by_endpoint": dict(sorted(sos.counters().items())),
            "order_delay_from_poll_s": {
                "all": {"n": len(delays), "p50": percentile(list(delays.values()), .5),
                        "p95": percentile(list(delays.values()), .95), "max": percentile(list(delays.values()), 1)},
                "found_during_pass": {"n": len(during), "p50": percentile(during, .5), "p95": percentile(during, .95),
                                      "max": percentile(during, 1)},
                # the first poll's orders meet cold push containers (the local runner's cold start
                # takes seconds under load; a busy afternoon on Lambda has warm ones)
                "after_first_poll": summary([d for n, d in delays.items() if found[n]["poll"] > first_poll])},
            "order_delay_from_poll_end_s": {
                "all": summary(list(from_end.values())),
                "found_during_pass": summary([d for n, d in from_end.items() if n in found_during])},
            "order_delay_breakdown_s": {"all": breakdown(set(stages)), "found_during_pass": breakdown(found_during)},
            "push_batches": {"n": len(push_batches), "max_size": max(push_batches, default=0),
                             "mean_size": round(statistics.mean(push_batches), 2) if push_batches else None},
            "order_delay_from_confirmation_s": {"p50": percentile(from_confirmation, .5),
                                                "p95": percentile(from_confirmation, .95)},
            "polls": len(polls), "poll_seconds_p50": percentile([p["finished"] - p["started"] for p in polls], .5),
            "poll_errors": poll_errors,
            "pass_seconds": round(pass_seconds, 1),
            "pass_run_report": {key: report.get(key) for key in ("status", "duration_seconds", "invocations",
                                                                 "api_calls", "seen", "changed", "failed")},
            "ideal_seconds": round(requests_ / args.account_rps, 1),
            "pass_ratio": round(pass_seconds / (requests_ / args.account_rps), 3),
            "pass_ratio_calls_during_pass": round(pass_seconds / (watcher.requests_at_pass_end / args.account_rps), 3),
            "scenario_seconds": round(finished - started, 1),
            "orders_in_sos": sum(1 for count in numbers.values() if count >= 1),
            "orders_duplicated": sorted(number for number, count in numbers.items() if count > 1),
            "orders_missing": sorted(number for number in placed if numbers[number] == 0),
            "items_touched": len(touched), "stale_items_touched": stale(touched),
            "stale_items_all": len(stale(stocked)),
            "queues_settled": settled,
            "dead_letters": {queue: runtime.queue_counts(queue).total for queue in DLQS},
            "open_failures": sorted(f"{f.get('entity')}:{f.get('reason')}" for f in state.all_open_failures()),
            "dynamodb_budget_requests": dynamodb["budget"],
            # by outcome: slices taken, conditional writes refused, rate writes, reads
            "dynamodb_budget_by_outcome": {what: dynamodb[f"budget-{what}"] for what in ("take", "refused", "rate", "read")},
            "dynamodb_budget_refused_by": {kind.removeprefix("budget-refused:"): n for kind, n in sorted(dynamodb.items())
                                           if kind.startswith("budget-refused:")},
            "dynamodb_per_sos_call": round(dynamodb["budget"] / max(1, requests_), 3),
            "dynamodb_all_per_sos_call": round((dynamodb["budget"] + dynamodb["other"]) / max(1, requests_), 3),
            "rate_in_force_at_end": float(budget["rate"]["N"]) if budget else None,
            "rate_lowered_times": int(budget.get("throttles", {}).get("N", 0)) if budget else None,
        }


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parse.add_argument("--items", type=int, default=20_000, help="seeded SOS items (the pull's pages: items / 200)")
    parse.add_argument("--orders", type=int, default=100, help="confirmed WC orders placed during the pass")
    parse.add_argument("--hooks", type=int, default=200, help="SOS quantity changes (hooks) during the pass")
    parse.add_argument("--span", type=float, default=None,
                       help="seconds over which orders and hooks arrive (default: 0.8 × the estimated pass)")
    parse.add_argument("--poll-seconds", type=float, default=60.0,
                       help="WC change poll interval (the template's rate(1 minute))")
    parse.add_argument("--window", type=int, default=5, help="CoalesceWindowSeconds (template default 5)")
    parse.add_argument("--account-rps", type=float, default=2.0, help="the SOS emulator's account-wide limit")
    parse.add_argument("--account-burst", type=float, default=2.0)
    parse.add_argument("--sos-max-rps", type=float, default=2.0, help="SosMaxRps: the deployment's total")
    parse.add_argument("--push-batch-size", type=int, default=None, help="PushQueue's BatchSize (template: 10)")
    parse.add_argument("--push-max-concurrency", type=int, default=None, help="PushMaxConcurrency (template: 2)")
    parse.add_argument("--throttle-http-status", type=int, choices=(200, 429), default=429)
    parse.add_argument("--log", type=Path, default=ROOT / "build" / "benchmark-sos-budget-stack.log",
                       help="where the functions' log lines go")
    return parse


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    with open(args.log, "w") as log, redirect_stdout(log):
        result = run(args)
    print(json.dumps(result, indent=2, default=lambda d: int(d) if d == int(d) else float(d)))  # the report's Decimals
    sys.stdout.flush()


if __name__ == "__main__":
    main()
