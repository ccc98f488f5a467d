"""Ledger benchmark (issue 23, R-OPS-4): what `sos-wiz-ops ledger --since 24h` costs for a day of
N WizCommerce orders (default 1,000), each in SOS (pushed, linked), half of them invoiced and
shipped in SOS and those documents pulled to WizCommerce by the real invoices and shipments
pulls (template.yaml's PullFunction, in this process), over C WizCommerce customers linked to
SOS. Then the ledger, in this process as an operator runs it, with every API and DynamoDB call
counted. SOS's pacing is lifted on the emulator: the time at the contract's 2 requests a second
is the SOS calls × 0.5 s, given beside the measured time.

    python -m benchmarks.ledger                    # 1,000 orders, 200 customers
    python -m benchmarks.ledger --orders 200 --customers 50
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import time
import uuid
from contextlib import redirect_stdout
from datetime import datetime, timezone
from pathlib import Path

from moto.dynamodb import models as moto_dynamodb_models

from local import ops
from local.aws import use_local_aws
from local.runner import LocalRuntime
from local.stack import EmbeddedStack
from tests.integration.push_stack import _TransactionBackupByReference

ROOT = Path(__file__).resolve().parents[1]
SOS_CONTRACT_SECONDS_PER_CALL = 0.5  # R-CFG-4: one request per 500 ms


def build_day(embedded: EmbeddedStack, runtime: LocalRuntime, orders: int, customers: int) -> None:
    from sos_wiz_sync.models.wiz import WizOrder
    from sos_wiz_sync.rules.orders import pushed_content_digest
    from sos_wiz_sync.store.mappings import Mapping, Mappings

    sos, wiz, rng = embedded.sos, embedded.wiz, random.Random(23)
    mappings = Mappings(runtime.ref("MappingsTable"))
    products = [p for p in wiz.products.values()
                if p["reference_id"] and int(p["reference_id"]) in embedded.stocked_mapped_item_ids()]
    linked = []
    for n in range(customers):  # WC-origin customers, pushed: in SOS, linked, reference_id written
        wc = wiz.create_customer(name=f"Bench {n}", email=f"bench{n}@example.com")
        made = sos.create_customer(name=f"Bench {n}", email=f"bench{n}@example.com")
        wc = wiz.update_customer(wc["id"], reference_id=str(made["id"]))
        mappings.link(Mapping(entity="customer", wc_id=wc["id"], sos_id=str(made["id"]), origin="wc"))
        linked.append((wc["id"], made["id"]))
    for n in range(orders):  # confirmed WC orders, pushed: the SOS order, its reference_id, the mapping
        wc_customer, sos_customer = rng.choice(linked)
        chosen = rng.sample(products, 2)
        order = wiz.create_order(wc_customer, [{"product_id": p["id"], "sku": p["sku"], "quantity": rng.randint(1, 5),
                                                "unit_price": 10} for p in chosen])
        made = sos.create_sales_order(customer={"id": sos_customer}, number=order["display_id"],
                                      lines=[{"item": {"id": int(p["reference_id"])}, "quantity": 1, "unitPrice": 10.0}
                                             for p in chosen])
        order = wiz.update_order(order["id"], reference_id=str(made["id"]))
        mappings.link(Mapping(entity="order", wc_id=order["id"], sos_id=str(made["id"]), origin="wc",
                              number=order["display_id"],
                              pushed_digest=pushed_content_digest(WizOrder.model_validate(order))))
        if n % 2:
            sos.create_invoice(made["id"])
            sos.create_shipment(made["id"], tracking_number=f"1Z{n:08d}", shipping_method="UPS")
    for stream in ("invoices", "shipments"):  # the documents reach WizCommerce the real way
        runtime.sqs.send_message(QueueUrl=runtime.queues["PullQueue"].url, MessageBody=json.dumps({"stream": stream}))
        runtime.drain("PullQueue")


def count_dynamodb_calls() -> dict[str, int]:
    from sos_wiz_sync.store.dynamo import dynamodb_client, dynamodb_resource

    counted: dict[str, int] = {}

    def count(model, **_):
        counted[model.name] = counted.get(model.name, 0) + 1

    for client in (dynamodb_client(), dynamodb_resource().meta.client):
        client.meta.events.register("before-call.dynamodb.*", count)
    return counted


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=200)
    args = parser.parse_args(argv)
    # moto deep-copies a table before each transaction (Mappings.link is one): a reference backup
    # keeps storing a day's mappings from taking minutes and gigabytes (see pull_streams.py)
    moto_dynamodb_models.copy = _TransactionBackupByReference()
    with EmbeddedStack(items=200, customers=5) as embedded:
        use_local_aws(embedded.endpoints.aws)
        runtime = LocalRuntime(ROOT / "template.yaml", stack_name=f"ledger-bench-{uuid.uuid4().hex[:6]}",
                               parameters=embedded.parameter_overrides(), secret_values=embedded.secret_values(),
                               endpoint_url=embedded.endpoints.aws, containers=False)
        runtime.start()
        os.environ.update(runtime.aws_environment())
        runtime.dynamodb.put_item(TableName=runtime.ref("StateTable"), Item={
            "pk": {"S": "FIRSTSYNC"}, "sk": {"S": "FIRSTSYNC"}, "status": {"S": "done"},
            "finished_at": {"S": datetime.now(timezone.utc).isoformat()}})
        try:
            started = time.monotonic()
            build_day(embedded, runtime, args.orders, args.customers)
            built = time.monotonic() - started
            dynamodb = count_dynamodb_calls()
            printed = io.StringIO()
            started = time.monotonic()
            with redirect_stdout(printed):
                code = ops.run(runtime, ["ledger", "--since", "24h", "--json"])
            seconds = time.monotonic() - started
            result = json.loads(printed.getvalue())
        finally:
            runtime.stop()
    records = {entity: sum(counts.values()) for entity, counts in result["counts"].items()}
    sos_calls = result["calls"]["sos"]
    print(json.dumps({
        "orders": args.orders, "customers": args.customers, "setup_seconds": round(built, 1), "exit_code": code,
        "records": records, "unaccounted": len(result["unaccounted"]), "calls": result["calls"],
        "dynamodb_calls": dynamodb, "seconds_measured_unpaced": round(seconds, 1),
        "seconds_of_sos_at_2_per_second": sos_calls * SOS_CONTRACT_SECONDS_PER_CALL,
        "counts": result["counts"]}, indent=1))


if __name__ == "__main__":
    main()
