"""sos-wiz-ops on the local stack: template.yaml's functions run by local/runner.py on moto,
the emulators behind them, and the ops commands as an operator types them (R-OPS-1..3)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from dataclasses import dataclass
from pathlib import Path

import pytest

from local import ops
from local.aws import use_local_aws
from local.runner import LocalRuntime
from local.stack import LOCAL_WEBHOOK_SECRET, EmbeddedStack

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class OpsStack:
    runtime: LocalRuntime
    embedded: EmbeddedStack
    delivered: int = 0

    def __post_init__(self) -> None:
        self.sos, self.wiz = self.embedded.sos, self.embedded.wiz

    def ops(self, *argv: str, expect: int = 0) -> dict | list:
        """`sos-wiz-ops <argv> --json` against this stack; its printed JSON."""
        output = self._capsys.readouterr()  # drop what came before
        assert ops.run(self.runtime, [*argv, "--json"]) == expect, output
        return json.loads(self._capsys.readouterr().out)

    def ops_text(self, *argv: str) -> str:
        self._capsys.readouterr()
        ops.run(self.runtime, list(argv))
        return self._capsys.readouterr().out

    def push_changes(self) -> None:
        """What WizCommerce sent since the last call posted to the HTTP API, the WC change poll run
        (orders have no webhook), then the push queue drained."""
        for event in self.wiz.outbox[self.delivered:]:
            assert self.runtime.invoke_http("POST", "/webhooks/wizcommerce", event["body"],
                                            headers=event["headers"]).status == 202
        self.delivered = len(self.wiz.outbox)
        self.runtime.fire_schedule("WcPollSchedule")
        self.runtime.drain("PushQueue")

    def order_with_an_unlinked_product(self) -> tuple[dict, dict, int]:
        """A confirmed WC order one of whose products has no Reference ID (R-REF-2)."""
        item_id = self.embedded.summary["products_without_reference_item_ids"].pop()
        product = next(p for p in self.wiz.products.values() if p["sku"] == self.sos.items[item_id]["sku"])
        good = next(p for p in self.wiz.products.values() if p["reference_id"])
        order = self.wiz.create_order("cust_1", [{"product_id": good["id"], "quantity": 2, "unit_price": 10},
                                                 {"product_id": product["id"], "quantity": 1, "unit_price": 5}])
        return order, product, item_id

    def sos_orders_numbered(self, number: str) -> list[dict]:
        return [order for order in self.sos.sales_orders.values() if order["number"] == number]


@pytest.fixture(scope="module")
def stack() -> Iterator[OpsStack]:
    # Three products without a Reference ID: one failing order per test that needs one.
    with EmbeddedStack(items=300, customers=6) as embedded:
        use_local_aws(embedded.endpoints.aws)
        embedded.wiz.set_webhook_target(None, secret=LOCAL_WEBHOOK_SECRET)  # events wait in the outbox
        runtime = LocalRuntime(ROOT / "template.yaml", stack_name=f"ops-e2e-{uuid.uuid4().hex[:6]}",
                               parameters=embedded.parameter_overrides(), secret_values=embedded.secret_values(),
                               endpoint_url=embedded.endpoints.aws, containers=True)
        runtime.start()
        # A deployment whose first sync is done: the WC change poll waits for it (R-TIME-2)
        runtime.dynamodb.put_item(TableName=runtime.ref("StateTable"), Item={
            "pk": {"S": "FIRSTSYNC"}, "sk": {"S": "FIRSTSYNC"}, "status": {"S": "done"},
            "finished_at": {"S": datetime.now(timezone.utc).isoformat()}})
        try:
            yield OpsStack(runtime, embedded)
        finally:
            runtime.stop()


@pytest.fixture
def ops_stack(stack, capsys) -> OpsStack:
    stack._capsys = capsys
    return stack


def test_a_failed_order_is_traced_with_its_reason_and_a_retry_after_the_fix_pushes_it_once(ops_stack):
    stack = ops_stack
    # Given an order that fails to push: a line's product has no Reference ID
    order, product, item_id = stack.order_with_an_unlinked_product()
    stack.push_changes()

    # Then trace tells why, naming the line, and failures shows it open and parked
    [record] = stack.ops("trace", order["id"])["records"]
    [failure] = record["failures"]
    assert record["mapping"] is None and failure["status"] == "open"
    assert "Reference ID" in failure["reason"]
    assert [line["product_id"] for line in failure["details"]["lines"]] == [product["id"]]
    assert [e["action"] for e in record["history"]] == ["failed"]
    overview = stack.ops("failures")
    assert order["id"] in {f["record_id"] for f in overview["open"]}
    [parked] = [m for m in overview["parked"] if m["record_id"] == order["id"]]
    assert (parked["queue"], parked["reason"]) == ("push", failure["reason"])
    assert "Reference ID" in stack.ops_text("trace", order["id"])  # the table says it too

    # When the product is fixed and the order retried
    stack.wiz.update_product(product["id"], reference_id=str(item_id))
    moved = stack.ops("retry", order["id"])["moved"]
    assert [m["record_id"] for m in moved] == [order["id"]]
    stack.push_changes()

    # Then SOS has the order once, linked, and the trace tells the whole story
    [sos_order] = stack.sos_orders_numbered(order["display_id"])
    [record] = stack.ops("trace", order["id"])["records"]
    assert record["sos_id"] == str(sos_order["id"]) and record["failures"][0]["status"] == "resolved"
    assert [e["action"] for e in record["history"]] == ["created", "failure-resolved", "retry-requested", "failed"]
    assert stack.ops("trace", order["display_id"])["records"][0]["wc_id"] == order["id"]  # by SOS number too

    # And a second retry finds nothing parked: nothing more reaches SOS
    assert stack.ops("retry", order["id"], expect=1)["moved"] == []
    stack.push_changes()
    assert len(stack.sos_orders_numbered(order["display_id"])) == 1


def test_retry_all_redrives_every_parked_message_through_the_runtime(ops_stack):
    stack = ops_stack
    first, product, item_id = stack.order_with_an_unlinked_product()
    second = stack.wiz.create_order("cust_2", [{"product_id": product["id"], "quantity": 1, "unit_price": 5}])
    stack.push_changes()
    parked = {m["record_id"] for m in stack.ops("failures", "--queue", "push")["parked"]}
    assert {first["id"], second["id"]} <= parked

    stack.wiz.update_product(product["id"], reference_id=str(item_id))
    result = stack.ops("retry", "--all", "--queue", "push")
    assert result["redrives"] == [{"queue": "push", "moved": len(parked)}]
    stack.push_changes()

    assert stack.ops("failures", "--queue", "push")["parked"] == []
    for order in (first, second):
        assert len(stack.sos_orders_numbered(order["display_id"])) == 1


def test_reports_show_the_last_runs_and_the_products_diff_is_what_the_next_run_does(ops_stack):
    stack = ops_stack
    # The products pull is off by default: its schedule never fires
    with pytest.raises(RuntimeError, match="DISABLED"):
        stack.runtime.fire_schedule("ProductsPullSchedule")

    diff = stack.ops("diff", "products")
    created = {w["record_id"] for w in diff["writes"] if w["product_id"] is None}
    assert created and diff["changed"] == len(diff["writes"])

    # The run an operator starts by hand after reading the diff
    stack.runtime.sqs.send_message(QueueUrl=stack.runtime.ref("PullQueue"), MessageBody='{"stream": "products"}')
    stack.runtime.drain("PullQueue")
    [report] = stack.ops("reports", "--stream", "products", "--last", "1")
    assert {key: report[key] for key in ("seen", "changed", "unchanged", "skipped")} == {
        key: diff[key] for key in ("seen", "changed", "unchanged", "skipped")}
    assert created == {p["reference_id"] for p in stack.wiz.products.values()} & created
    assert "products" in stack.ops_text("reports")
    assert stack.ops("diff", "products")["writes"] == []  # nothing left to do


def test_the_command_runs_in_its_own_process_with_names_from_the_environment(ops_stack):
    """As an operator runs it against a stack: a process of its own, names from the variables."""
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT / "shared"), **ops_stack.runtime.aws_environment(),
           **ops.runtime_values(ops_stack.runtime)}
    done = subprocess.run([sys.executable, "-m", "sos_wiz_sync.ops.cli", "failures", "--json"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)) == {"open", "parked"}


def test_an_item_is_traced_by_id_or_sku_with_the_inventory_last_sent(ops_stack):
    stack = ops_stack
    stack.runtime.fire_schedule("InventoryPullSchedule")
    stack.runtime.drain("PullQueue")
    item = next(i for i in stack.sos.items.values() if i["type"] == "Inventory Item" and not i["archived"]
                and i["id"] not in stack.embedded.summary["unmapped_item_ids"])
    by_id = stack.ops("trace", str(item["id"]), "--entity", "product")["records"]
    by_sku = stack.ops("trace", item["sku"])["records"]
    assert by_id == by_sku
    assert by_id[0]["inventory"]["sku"] == item["sku"] and by_id[0]["inventory"]["source"] == "pull"
    # when SOS was read for what was sent (a pull's page read comes before its write)
    assert by_id[0]["inventory"]["sos_read_at"] < by_id[0]["inventory"]["pushed_at"]
    assert by_id[0]["inventory"]["hook_read_at"] is None  # the hook never read it
    assert stack.ops("trace", "no-such-record", expect=1)["records"] == []
