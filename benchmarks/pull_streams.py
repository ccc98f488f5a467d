"""Entity pulls benchmark (issue 6): API calls per run against the minimum (pages needed).

A seeded stack (C customers: 60% in both systems, 20% only in SOS, 20% only in WizCommerce)
with O SOS-origin sales orders, each invoiced and shipped, half of them paid (a quarter on the
invoice, a quarter on the order). The first sync, then three rounds of every entity stream
through template.yaml's PullFunction (Scheduler → PullQueue → handler): everything new; nothing
changed; 1% of the customers and orders edited in SOS. WizCommerce's webhooks for our writes go
through the real push path after each round.

    python -m benchmarks.pull_streams                       # 2,000 customers, 1,000 orders
    python -m benchmarks.pull_streams --customers 500 --orders 200
"""

from __future__ import annotations

import argparse
import math
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

from local.emulators import SosEmulator, WizEmulator
from local.runner import LocalRuntime
from moto.dynamodb import models as moto_dynamodb_models

from local.aws import aws_environment
from local.stack import LOCAL_WEBHOOK_SECRET, EmbeddedStack
from sos_wiz_sync.store.state import SyncState
from tests.integration.push_stack import _TransactionBackupByReference

ROOT = Path(__file__).resolve().parents[1]
SOS_PAGE, WIZ_PAGE = 200, 100
STREAMS = ("customers", "orders", "invoices", "shipments", "payments", "reconciliation")
WRITES = ("POST", "PUT", "PATCH")


def add_sales(sos: SosEmulator, wiz: WizEmulator, orders: int, rng: random.Random) -> None:
    """SOS-origin orders of SOS customers over items WizCommerce has products for."""
    products = {p["reference_id"] for p in wiz.products.values() if p.get("reference_id")}
    items = [i["id"] for i in sos.items.values()
             if str(i["id"]) in products and i["type"] == "Inventory Item" and not i["archived"]]
    customers = list(sos.customers)
    for n in range(orders):
        lines = [{"item": {"id": item}, "quantity": rng.randint(1, 5), "unitPrice": 10.0}
                 for item in rng.sample(items, 2)]
        order = sos.create_sales_order(customer={"id": rng.choice(customers)}, lines=lines)
        invoice = sos.create_invoice(order["id"])
        sos.create_shipment(order["id"], tracking_number=f"1Z{n:08d}", shipping_method="UPS")
        if n % 4 == 1:
            sos.record_payment(5.0, invoice_id=invoice["id"])
        elif n % 4 == 2:
            sos.record_payment(5.0, order_id=order["id"])


def offset_pages(rows: int) -> int:
    """SOS reads an offset pass over `rows` needs (each page after the first starts at the
    previous page's last row, its anchor)."""
    return 1 if rows <= SOS_PAGE else 1 + math.ceil((rows - SOS_PAGE) / (SOS_PAGE - 1))


def run_stream(runtime: LocalRuntime, stack: EmbeddedStack, stream: str) -> dict[str, Any]:
    for emulator in (stack.sos, stack.wiz):
        emulator.reset_counters()
    started = time.perf_counter()
    if stream == "first-sync":
        runtime.sqs.send_message(QueueUrl=runtime.ref("PullQueue"), MessageBody='{"stream": "first-sync"}')
    else:
        runtime.fire_schedule(f"{stream.capitalize()}PullSchedule")
    runtime.drain("PullQueue", wait_seconds=0.2)
    wall = time.perf_counter() - started
    report = SyncState(runtime.ref("StateTable")).recent_reports(stream, limit=1)[0]
    sos, wc = stack.sos.counters(), stack.wiz.counters()
    return {"stream": stream, "wall_s": round(wall, 2), "seen": report["seen"], "changed": report["changed"],
            "retried": report["notes"].get("pending_retried", 0),
            "sos_pages": sum(n for key, n in sos.items() if key.startswith("GET") and not key.endswith("{id}")),
            "sos_by_id": sum(n for key, n in sos.items() if key.startswith("GET") and key.endswith("{id}")),
            "wc_reads": sum(n for key, n in wc.items() if key.startswith("GET")),
            "wc_writes": sum(n for key, n in wc.items() if key.split()[0] in WRITES)}


def deliver_webhooks(runtime: LocalRuntime, stack: EmbeddedStack, delivered: int) -> tuple[int, int, int]:
    """WizCommerce's events since `delivered` through the webhook route, the push queue drained
    (reconciliation's events too). Returns (delivered, events, SOS writes the push made)."""
    stack.sos.reset_counters()
    events = 0
    while delivered < len(stack.wiz.outbox):
        for event in stack.wiz.outbox[delivered:]:
            runtime.invoke_http("POST", "/webhooks/wizcommerce", event["body"], event["headers"])
            delivered += 1
            events += 1
        runtime.drain("PushQueue", wait_seconds=0.2)
    sos_writes = sum(n for key, n in stack.sos.counters().items() if key.split()[0] in WRITES)
    return delivered, events, sos_writes


def edit_one_percent(stack: EmbeddedStack, rng: random.Random) -> None:
    for customer_id in rng.sample(list(stack.sos.customers), max(1, len(stack.sos.customers) // 100)):
        stack.sos.update_customer(customer_id, phone=f"+1-555-{rng.randint(100, 999)}-0000")
    for order_id in rng.sample(list(stack.sos.sales_orders), max(1, len(stack.sos.sales_orders) // 100)):
        stack.sos.update_sales_order(order_id, comment="edited in SOS")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--overlap-seconds", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(6)
    # moto deep-copies a whole table before each transaction (Mappings.link is one): minutes for
    # a few thousand links where DynamoDB takes milliseconds. The push tests' cheaper backup.
    moto_dynamodb_models.copy = _TransactionBackupByReference()

    stack = EmbeddedStack(items=args.items, customers=args.customers)
    stack.wiz.set_webhook_target(None, secret=LOCAL_WEBHOOK_SECRET)
    endpoints = stack.start()
    add_sales(stack.sos, stack.wiz, args.orders, rng)
    runtime = LocalRuntime(ROOT / "template.yaml", stack_name=f"bench-{uuid.uuid4().hex[:6]}",
                           endpoint_url=endpoints.aws, secret_values=stack.secret_values(),
                           parameters={**stack.parameter_overrides(), "OrderNumberPrefix": "WC-",
                                       "ReconciliationLagSeconds": "0",
                                       # Rounds seconds apart stand for runs two hours apart: with
                                       # the default 300 s overlap each would re-read all of the
                                       # previous round (harmlessly: same syncTokens, no writes).
                                       "SosUpdatedSinceOverlapSeconds": str(args.overlap_seconds)})
    runtime.start()
    os.environ.update(aws_environment(endpoints.aws))  # this process reads the run reports from moto
    sizes = {name: len(store) for name, store in (("customer", stack.sos.customers), ("salesorder",
             stack.sos.sales_orders), ("invoice", stack.sos.invoices), ("shipment", stack.sos.shipments))}
    results, pushes, delivered = [], [], 0
    try:
        results.append({"round": "first sync", **run_stream(runtime, stack, "first-sync")})
        for round_name in ("1: all new", "2: nothing changed", "3: 1% edited in SOS"):
            if round_name.startswith("3"):
                edit_one_percent(stack, rng)
            results += [{"round": round_name, **run_stream(runtime, stack, stream)} for stream in STREAMS]
            delivered, events, sos_writes = deliver_webhooks(runtime, stack, delivered)
            reconciled = results[-1]["changed"]  # reconciliation's synthetic events: real SOS writes
            pushes.append(f"| {round_name} | {events} | {reconciled} | {sos_writes} |")
    finally:
        runtime.stop()
        stack.stop()
    print("| round | stream | seen | changed | SOS pages | min pages | SOS reads by id | WC reads | WC writes | wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in results:
        if row["stream"] == "first-sync":
            minimum = sum(offset_pages(n) for n in sizes.values())
        elif row["stream"] == "reconciliation":
            minimum = 0  # it reads WizCommerce only
        else:
            minimum = offset_pages(row["seen"] - row["retried"])
        print(f"| {row['round']} | {row['stream']} | {row['seen']} | {row['changed']} | {row['sos_pages']} | "
              f"{minimum} | {row['sos_by_id']} | {row['wc_reads']} | {row['wc_writes']} | {row['wall_s']} |")
    print("\n| round | webhooks of our WC writes | reconciliation events | SOS writes by the push path |")
    print("|---|---|---|---|")
    print("\n".join(pushes))


if __name__ == "__main__":
    main()
