"""Push path benchmark (issues 5, 12): webhook ingress warm time per request, and how long a burst
of confirmed orders takes from one WC change poll, through the push queue, into SOS.

The embedded stack (moto + emulators) runs in a child process (`python -m local.serve`); this
process holds the runner with the real WebhookIngressFunction, WcPollFunction and PushFunction.
WizCommerce sends webhooks for customers only: new customers' (thin) `customer.created` events
are taken from its outbox and posted to the webhook route, in-process (`invoke_http`: the
handler's own time, what Lambda bills) and over the runner's HTTP front (a round trip on
localhost). Orders have no webhook: after the burst is placed, the WC change poll's schedule
fires once and the push queue is drained, one invocation at a time as the runner does (on AWS up
to the event source's MaximumConcurrency run at once).

    python -m benchmarks.push_path                          # 500 orders, SOS unpaced
    python -m benchmarks.push_path --orders 60 --sos-max-rps 2 --latency-ms 50   # production pacing
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import datetime, timezone
from contextlib import redirect_stdout
from pathlib import Path

import requests

from benchmarks.inventory_pull import StackProcess
from local.runner import LocalRuntime
from local.stack import LOCAL_WEBHOOK_SECRET, parameter_overrides, secret_values

ROOT = Path(__file__).resolve().parents[1]
ROUTE = "/webhooks/wizcommerce"


def admin(stack: StackProcess, emulator: str, action: str, **arguments) -> dict:
    answer = stack.http.post(f"{emulator}/_admin/actions/{action}", json=arguments)
    answer.raise_for_status()
    return answer.json()["data"]


def new_customers(stack: StackProcess, count: int) -> list[dict]:
    """`count` customers created in WizCommerce; their (thin, signed) customer.created events."""
    wiz = stack.endpoints.wiz
    admin(stack, wiz, "set_webhook_target", url=None, secret=LOCAL_WEBHOOK_SECRET)
    start = stack.http.get(f"{wiz}/_admin/outbox").json()["total"]
    for n in range(count):
        admin(stack, wiz, "create_customer", name=f"Bench Buyer {n}", email=f"buyer{n}@bench.example")
    return stack.http.get(f"{wiz}/_admin/outbox", params={"start": start}).json()["data"]


def place_orders(stack: StackProcess, count: int) -> None:
    """`count` confirmed WC orders of the seeded customers and mapped products (no event is sent)."""
    wiz = stack.endpoints.wiz
    products = stack.http.get(f"{wiz}/v1/products", headers={"X-API-Key": stack.wiz_api_key},
                              params={"page_size": 100, "reference_ids": ",".join(map(str, stack.stocked_ids[:100]))}
                              ).json()["data"]
    for n in range(count):
        lines = [{"product_id": products[(n + k) % len(products)]["id"], "quantity": 1 + k, "unit_price": 10.0}
                 for k in range(3)]
        admin(stack, wiz, "create_order", customer_id=f"cust_{1 + n % 40}", line_items=lines)


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {"p50": statistics.median(ordered), "p95": ordered[int(len(ordered) * 0.95) - 1],
            "mean": statistics.fmean(ordered), "max": ordered[-1]}


def post_all(runtime: LocalRuntime, events: list[dict], base_url: str | None) -> list[float]:
    """Post every event (in-process, or over HTTP to `base_url`); each answer's time in ms."""
    timings, session = [], requests.Session()
    for event in events:
        body, headers = event["body"].encode(), event["headers"]
        started = time.perf_counter()
        if base_url is None:
            status = runtime.invoke_http("POST", ROUTE, body, headers).status
        else:
            status = session.post(base_url + ROUTE, data=body, headers=headers, timeout=30).status_code
        timings.append((time.perf_counter() - started) * 1000)
        assert status == 202, status
    return timings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--customers", type=int, default=200, help="new customers whose webhooks are timed")
    parser.add_argument("--sos-max-rps", default="1000", help="SosMaxRps (the template's default is 2)")
    parser.add_argument("--latency-ms", type=int, default=0, help="emulator latency per request")
    args = parser.parse_args(argv)

    stack = StackProcess(2000)
    log = (ROOT / "build").mkdir(exist_ok=True) or open(ROOT / "build" / "benchmark-push.log", "w")
    try:
        runtime = LocalRuntime(ROOT / "template.yaml", stack_name=f"bench-push-{uuid.uuid4().hex[:6]}",
                               endpoint_url=stack.endpoints.aws,
                               parameters={**parameter_overrides(stack.endpoints), "SosMaxRps": args.sos_max_rps,
                                           "OrderNumberPrefix": "WC-", "LogLevel": "WARNING"},
                               secret_values=secret_values(stack.sos_credentials, stack.wiz_api_key))
        with runtime, redirect_stdout(log):
            # a deployment whose first sync is done: the WC change poll waits for it (R-TIME-2)
            runtime.dynamodb.put_item(TableName=runtime.ref("StateTable"), Item={
                "pk": {"S": "FIRSTSYNC"}, "sk": {"S": "FIRSTSYNC"}, "status": {"S": "done"},
                "finished_at": {"S": datetime.now(timezone.utc).isoformat()}})
            events = new_customers(stack, args.customers)
            stack.set_latency(args.latency_ms)
            post_all(runtime, events[:1], None)  # the cold start is not what is measured
            in_process = post_all(runtime, events[1:], None)
            over_http = post_all(runtime, events, runtime.start_http())  # repeats: SQS deduplicates them
            runtime.drain("PushQueue", wait_seconds=0.2)  # the customers, not measured
            runtime.fire_schedule("WcPollSchedule")  # the customers' own reference writes, not measured
            runtime.drain("PushQueue", wait_seconds=0.2)
            place_orders(stack, args.orders)
            stack.reset_counters()
            started = time.perf_counter()
            runtime.fire_schedule("WcPollSchedule")
            poll_s = time.perf_counter() - started
            drained = runtime.drain("PushQueue", wait_seconds=0.2)
            drain_s = time.perf_counter() - started
            sos, wiz = stack.counters(stack.endpoints.sos), stack.counters(stack.endpoints.wiz)
            in_sos = stack.http.get(f"{stack.endpoints.sos}/_admin/state").json()["counts"]["salesorder"]
    finally:
        stack.stop()
    print(render(args, in_process, over_http, poll_s, drain_s, drained.batches, in_sos, sos, wiz))


def render(args, in_process: list[float], over_http: list[float], poll_s: float, drain_s: float, batches: int,
           in_sos: int, sos: dict[str, int], wiz: dict[str, int]) -> str:
    handler, http = percentiles(in_process), percentiles(over_http)
    orders = args.orders
    return "\n".join([
        f"{orders} confirmed orders of 3 lines, {args.customers} customer webhooks, SosMaxRps {args.sos_max_rps}, "
        f"emulator latency {args.latency_ms} ms",
        "",
        "| customer webhook → 202 (warm) | p50 | p95 | mean | max |", "|---|---|---|---|---|",
        f"| handler, in-process ({len(in_process)} posts) | {handler['p50']:.1f} ms | {handler['p95']:.1f} ms "
        f"| {handler['mean']:.1f} ms | {handler['max']:.1f} ms |",
        f"| over the local HTTP front ({len(over_http)} posts) | {http['p50']:.1f} ms | {http['p95']:.1f} ms "
        f"| {http['mean']:.1f} ms | {http['max']:.1f} ms |",
        "",
        f"burst: one WC change poll ({poll_s:.1f} s) and the drain: {orders} orders in {drain_s:.1f} s "
        f"({orders / drain_s:.1f} orders/s, {drain_s * 1000 / orders:.0f} ms an order, {batches} invocations); "
        f"SOS sales orders: {in_sos}",
        f"calls per order: SOS {sum(sos.values()) / orders:.2f} ({dict(sorted(sos.items()))}), "
        f"WizCommerce {sum(wiz.values()) / orders:.2f} ({dict(sorted(wiz.items()))})",
    ])


if __name__ == "__main__":
    main()
