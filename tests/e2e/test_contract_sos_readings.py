"""R-OPS-5 end to end, the SOS probe rows: template.yaml's functions on the local runner (moto),
the emulators over HTTP. Per reading, the SOS emulator is switched to it, `sos-wiz-ops doctor`
probes, `sos-wiz-ops doctor --contract --json` reports the reading, and the stream the row
affects works under it; an answer that fits neither reading turns doctor red naming the id.
One stack for the module: each test resets the switches, the stored readings and the
functions' cold starts (they read the readings once per cold start)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from local import ops
from local.aws import use_local_aws
from local.runner import LocalRuntime
from local.stack import LOCAL_WEBHOOK_SECRET, EmbeddedStack
from sos_wiz_sync.ops import cli
from sos_wiz_sync.rules.contract import SOS_NUMBER_MAX
from sos_wiz_sync.store import contract as contract_store
from sos_wiz_sync.store.dynamo import dynamodb_client, dynamodb_resource
from sos_wiz_sync.store.state import SyncState

ROOT = Path(__file__).resolve().parents[2]
# The contract's readings (the emulator's defaults): every test starts from them.
DEFAULTS = {"wrap_single": True, "line_price_field": "unitPrice", "linked_shape": "object", "payment_endpoint": False,
            "kit_type": "Kit", "customer_address_shape": "flat", "unknown_id": "404", "rows_move": False,
            "read_only_fields": "ignored", "deposit_amount": "writable", "zero_quantity_lines": "accepted",
            "timezone": "UTC", "shipment_link": "lines"}
SCHEDULES = {"inventory": "InventoryPullSchedule", "customers": "CustomersPullSchedule",
             "orders": "OrdersPullSchedule", "shipments": "ShipmentsPullSchedule",
             "invoices": "InvoicesPullSchedule", "payments": "PaymentsPullSchedule"}
LONG_NUMBER = "SO-ENTERED-BY-A-USER-IN-SOS-1"  # SOS-A15: longer than 21, made in SOS's UI


class Stack:
    def __init__(self, runtime: LocalRuntime, embedded: EmbeddedStack):
        self.runtime, self.embedded = runtime, embedded
        self.sos, self.wiz = embedded.sos, embedded.wiz
        self.state = SyncState(runtime.ref("StateTable"))
        self.delivered = 0
        self.capsys: Any = None

    def reset(self, **switches: Any) -> None:
        self.sos.configure(**{**DEFAULTS, **switches})
        table = dynamodb_resource().Table(self.runtime.ref("StateTable"))
        for item in table.query(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq("CONTRACT"))["Items"]:
            table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
        contract_store._recorded.clear()  # this process's memo of first uses recorded
        self.runtime.recycle()  # cold starts: the functions read the readings anew

    # -- the operator's commands ---------------------------------------------------------------
    def doctor(self, **values: str) -> dict:
        """`sos-wiz-ops doctor --json` (it runs the probe); its contract line."""
        self.capsys.readouterr()
        cli.main(["doctor", "--json"], environ={**ops.runtime_values(self.runtime), **values},
                 schedules=lambda: ops.schedule_view(self.runtime))
        checks = {check["name"]: check for check in json.loads(self.capsys.readouterr().out)["checks"]}
        return checks["contract"]

    def contract(self) -> tuple[int, dict[str, dict]]:
        """`sos-wiz-ops doctor --contract --json`: its exit code and lines by id."""
        self.capsys.readouterr()
        code = ops.run(self.runtime, ["doctor", "--contract", "--json"])
        return code, {row["id"]: row for row in json.loads(self.capsys.readouterr().out)["readings"]}

    def reading(self, row_id: str, **values: str) -> tuple[dict, int, dict]:
        """Probe, then the row's line of doctor --contract (and doctor's contract check, the exit code)."""
        check = self.doctor(**values)
        code, table = self.contract()
        return check, code, table[row_id]

    # -- the streams -------------------------------------------------------------------------------
    def run(self, stream: str) -> dict[str, Any]:
        self.runtime.fire_schedule(SCHEDULES[stream])
        self.runtime.drain("PullQueue")
        return self.state.recent_reports(stream, limit=1)[0]

    def push(self) -> None:
        for event in self.wiz.outbox[self.delivered:]:
            self.runtime.invoke_http("POST", "/webhooks/wizcommerce", event["body"], headers=event["headers"])
        self.delivered = len(self.wiz.outbox)
        self.runtime.fire_schedule("WcPollSchedule")
        self.runtime.drain("PushQueue")

    def place_order(self, **fields: Any) -> dict:
        item = self.embedded.stocked_mapped_item_ids()[0]
        product = next(p for p in self.wiz.products.values() if p["reference_id"] == str(item))
        return self.wiz.create_order("cust_2", [{"product_id": product["id"], "quantity": 2, "unit_price": 12.5}],
                                     **fields)

    def sos_order_of(self, wc_order: dict) -> dict:
        [order] = [o for o in self.sos.sales_orders.values() if o["number"] == f"WC-{wc_order['display_id']}"]
        return order


@pytest.fixture(scope="module")
def module_stack() -> Iterator[Stack]:
    with EmbeddedStack(items=60, customers=6) as embedded:
        use_local_aws(embedded.endpoints.aws)
        embedded.wiz.set_webhook_target(None, secret=LOCAL_WEBHOOK_SECRET)  # events wait in the outbox
        runtime = LocalRuntime(ROOT / "template.yaml", stack_name=f"contract-e2e-{uuid.uuid4().hex[:6]}",
                               parameters={**embedded.parameter_overrides(), "OrderNumberPrefix": "WC-"},
                               secret_values=embedded.secret_values(), endpoint_url=embedded.endpoints.aws)
        runtime.start()
        # A deployment whose first sync is done: the WC change poll waits for it (R-TIME-2)
        runtime.dynamodb.put_item(TableName=runtime.ref("StateTable"), Item={
            "pk": {"S": "FIRSTSYNC"}, "sk": {"S": "FIRSTSYNC"}, "status": {"S": "done"},
            "finished_at": {"S": datetime.now(timezone.utc).isoformat()}})
        sos = embedded.sos
        customer = next(iter(sos.customers.values()))
        item = sos.items[embedded.stocked_mapped_item_ids()[-1]]
        order = sos.create_sales_order(number=LONG_NUMBER, customer={"id": customer["id"]},
                                       lines=[{"item": {"id": item["id"]}, "quantity": 1, "unitPrice": 2}])
        sos.create_invoice(order["id"])
        sos.create_shipment(order["id"])
        try:
            yield Stack(runtime, embedded)
        finally:
            runtime.stop()
            dynamodb_resource.cache_clear()  # the next module's must not talk to this moto
            dynamodb_client.cache_clear()


@pytest.fixture
def stack(module_stack: Stack, capsys) -> Stack:
    module_stack.capsys = capsys
    module_stack.reset()
    return module_stack


# -- probe rows: each reading reported, the affected stream working under it ------------------------
@pytest.mark.parametrize(("wrapped", "expected"), [(True, "wrapped"), (False, "bare")])
def test_sos_a2_single_records_wrapped_or_bare_and_orders_push(stack, wrapped, expected):
    stack.reset(wrap_single=wrapped)
    check, _, line = stack.reading("SOS-A2")
    assert line["reading"] == expected and line["settled"] and line["how"] == "GET /item/{id}", line
    order = stack.place_order()
    stack.push()  # a POST answer and GETs by id: single records
    assert stack.sos_order_of(order)["customer"]


@pytest.mark.parametrize(("casing"), ["unitPrice", "unitprice"])
def test_sos_a7_the_pushed_order_carries_the_casing_found(stack, casing):
    stack.reset(line_price_field=casing)
    _, _, line = stack.reading("SOS-A7")
    assert line["reading"] == casing and line["settled"], line
    order = stack.place_order()
    stack.push()
    [sos_line] = stack.sos_order_of(order)["lines"]
    assert sos_line[casing] == 12.5  # the emulator ignores a price under the other casing


@pytest.mark.parametrize(("answer", "expected"), [("404", "404"), ("200-empty", "neither"), ("400", "neither")])
def test_sos_a4_an_unknown_id_answered_404_or_neither(stack, answer, expected):
    """SOS-A4's safe default: 404 = absent, anything else is an error: doctor red naming the id."""
    stack.reset(unknown_id=answer)
    check, code, line = stack.reading("SOS-A4")
    assert line["reading"] == expected, line
    if expected == "neither":
        assert code == 1 and line["neither"] and not check["ok"] and "SOS-A4 fits neither" in check["detail"]
        assert "stop" in line["effect"]
    else:
        assert line["settled"]


def test_sos_a4_neither_a_lookup_by_id_stops_naming_it_instead_of_reading_absent(stack):
    """SOS-A4 stored NEITHER (an unknown id answers 400): the customer push's lookup of the SOS
    customer its Reference ID names would read that 400 as "absent" or as the client's error; it
    stops with SOS-A4's reason instead, parked as permanent naming SOS-A4 and what was seen."""
    stack.reset(unknown_id="400")
    stack.reading("SOS-A4")
    customer = stack.wiz.create_customer(name="Gone From SOS Co", email="gone@example.com",
                                         reference_id="987654")  # no SOS customer has this id
    stack.push()
    failure = stack.state.get_failure("customer", customer["id"])
    assert failure and "SOS-A4" in failure["reason"] and "/customer/987654" in failure["reason"], failure
    assert not any(c["name"] == "Gone From SOS Co" for c in stack.sos.customers.values())


@pytest.mark.parametrize(("moving", "expected"), [(False, "stable"), (True, "rows move")])
def test_sos_a5_rows_stable_or_moving_and_the_inventory_pass_sees_every_row(stack, moving, expected):
    stack.reset(rows_move=moving)
    _, _, line = stack.reading("SOS-A5")
    assert line["reading"] == expected and line["settled"], line
    items = stack.embedded.stocked_mapped_item_ids()
    for n, item_id in enumerate(items):  # each item a new figure: the pass must write every one
        stack.sos.set_item_quantities(item_id, available=100 + n + (7 if moving else 0), onPO=0)
    report = stack.run("inventory")
    assert report["status"] == "ok", report
    for n, item_id in enumerate(items):
        sku = stack.sos.items[item_id]["sku"]
        assert stack.wiz.inventories[sku]["available_quantity"] == 100 + n + (7 if moving else 0), sku


def test_sos_a9_links_read_as_objects_or_doctor_red_naming_the_id(stack):
    _, _, line = stack.reading("SOS-A9")
    assert line["reading"] == "object" and line["settled"], line
    stack.reset(linked_shape="id")
    check, code, line = stack.reading("SOS-A9")
    assert code == 1 and line["neither"] and "SOS-A9 fits neither" in check["detail"], (check, line)


def test_sos_a9_neither_the_streams_reading_links_stop_naming_it(stack):
    """SOS-A9 stored NEITHER (links answered as bare ids): the orders, invoices and payments pulls
    (records carrying linked* lists) end `stopped` naming SOS-A9 instead of quarantining every
    order; a cancellation, which must read the order's links first (R-ORD-8), is parked naming it."""
    order = stack.place_order()
    stack.push()
    stack.reset(linked_shape="id")
    assert stack.reading("SOS-A9")[2]["neither"]
    for stream in ("orders", "invoices", "payments"):
        report = stack.run(stream)
        assert report["status"] == "stopped" and "SOS-A9" in report["reason"], report
    stack.wiz.set_order_status(order["id"], "cancelled")
    stack.push()
    failure = stack.state.get_failure("order", order["id"])
    assert failure and "SOS-A9" in failure["reason"], failure
    assert all(line["quantity"] > 0 for line in stack.sos_order_of(order)["lines"])


def test_sos_a10_and_a15_a_long_numbered_order_and_its_line_linked_shipment_reach_wc(stack):
    """SOS-A10 "lines" (the emulator links shipments on lines only, as the contract documents)
    and SOS-A15 disproved by a user's longer number: the orders pull mirrors that order, the
    shipments pull its shipment."""
    _, _, shipments = stack.reading("SOS-A10")
    numbers = stack.contract()[1]["SOS-A15"]
    assert shipments["reading"] == "lines" and numbers["reading"] == "longer numbers exist", (shipments, numbers)
    assert len(LONG_NUMBER) > SOS_NUMBER_MAX
    stack.run("customers")
    assert stack.run("orders")["status"] == "ok"
    [wc_order] = [o for o in stack.wiz.orders.values() if o.get("display_id") == LONG_NUMBER
                  or o.get("reference_id") == str(next(o for o in stack.sos.sales_orders.values()
                                                        if o["number"] == LONG_NUMBER)["id"])]
    assert stack.run("shipments")["status"] == "ok"
    assert any(s.get("order_id") == wc_order["id"] for s in stack.wiz.shipments.values())


def test_sos_a10_header_a_shipment_naming_its_order_on_the_header_reaches_that_wc_order(stack):
    """SOS-A10 "header" (the header linkedTransaction names the order, the lines' are null): doctor
    reports it, and the shipments pull mirrors a new shipment onto its order's WC order (the
    header link is read first), not skipped as having no sales order."""
    stack.reset(shipment_link="header")
    _, code, line = stack.reading("SOS-A10")
    assert line["reading"] == "header" and line["settled"] and line["how"] == "GET /shipment?maxresults=5", line
    assert "header link" in line["effect"]
    customer = next(iter(stack.sos.customers.values()))
    item = stack.sos.items[stack.embedded.stocked_mapped_item_ids()[0]]
    order = stack.sos.create_sales_order(number="SO-A10-HEADER", customer={"id": customer["id"]},
                                         lines=[{"item": {"id": item["id"]}, "quantity": 1, "unitPrice": 2}])
    stack.run("customers")
    assert stack.run("orders")["status"] == "ok"
    [wc_order] = [o for o in stack.wiz.orders.values() if o.get("reference_id") == str(order["id"])]
    shipment = stack.sos.create_shipment(order["id"])
    report = stack.run("shipments")
    assert report["status"] == "ok", report
    [mirrored] = [s for s in stack.wiz.shipments.values() if s.get("reference_id") == str(shipment["id"])]
    assert mirrored["order_id"] == wc_order["id"], mirrored


@pytest.mark.parametrize(("present", "expected"), [(True, "present"), (False, "absent")])
def test_sos_a11_payment_endpoint_on_the_payment_route(stack, present, expected):
    stack.reset(payment_endpoint=present)
    _, _, line = stack.reading("SOS-A11", PAYMENT_ROUTE="payment")
    assert line["reading"] == expected and line["settled"], line


@pytest.mark.parametrize("kit_type", ["Kit", "Item Group"])
def test_sos_a17_the_kit_type_found_and_kits_sent_by_the_inventory_pull(stack, kit_type):
    stack.reset(kit_type=kit_type)
    _, _, line = stack.reading("SOS-A17")
    assert line["reading"] == kit_type and line["settled"], line
    kits = [i for i in stack.sos.items.values() if i["type"] == "Kit" and not i["archived"]]
    mapped = {p["reference_id"]: p["sku"] for p in stack.wiz.products.values() if p.get("reference_id")}
    kit = next(k for k in kits if str(k["id"]) in mapped)
    report = stack.run("inventory")
    assert not report["failed"], report
    assert mapped[str(kit["id"])] in stack.wiz.inventories


def test_sos_a17_a_kit_read_under_the_other_name_is_a_failure_naming_it(stack):
    """Settled "Kit", an item reading "Item Group" is no type this account has: failed, named."""
    stack.reading("SOS-A17")  # settles Kit
    stack.sos.configure(kit_type="Item Group")
    report = stack.run("inventory")
    assert report["failed"].get("SOS-A17 kit type"), report
    assert any("SOS-A17" in f.get("detail", "") for f in report["failures"])


@pytest.mark.parametrize("shape", ["flat", "nested"])
def test_sos_a21_customer_addresses_flat_or_nested_mirrored(stack, shape):
    stack.reset(customer_address_shape=shape)
    _, _, line = stack.reading("SOS-A21")
    assert line["reading"] == shape and line["settled"], line
    customer = next(iter(stack.sos.customers.values()))
    stack.sos.update_customer(customer["id"], billing={**(customer.get("billing") or {}),
                                                       "line1": f"{shape} street 1", "city": "Springfield"})
    assert stack.run("customers")["status"] == "ok"
    assert f"{shape} street 1" in json.dumps(list(stack.wiz.customers.values()))


# -- first-use rows: "not seen yet" until the push first meets them, then recorded ------------------
def first_use_line(stack: Stack, row_id: str) -> dict:
    return stack.contract()[1][row_id]


@pytest.mark.parametrize(("zero", "read_only", "expected"), [
    ("accepted", "ignored", {"SOS-A22": "accepted", "SOS-A12": "ignored"}),
    ("refused", "ignored", {"SOS-A22": "refused"}),  # refused for its quantity: SOS-A12 not told
    ("accepted", "refused", {"SOS-A12": "refused"}),
])
def test_sos_a22_and_a12_recorded_at_the_first_cancellation_put(stack, zero, read_only, expected):
    """SOS-A22: the first PUT with every line at quantity 0 accepted or refused; SOS-A12: the first
    PUT of a record as GET read it (read-only fields sent back) taken = "ignored", a 400 naming one
    of them = "refused"."""
    order = stack.place_order()
    stack.push()
    stack.reset(zero_quantity_lines=zero, read_only_fields=read_only)
    assert {row_id: first_use_line(stack, row_id)["reading"] for row_id in expected} == dict.fromkeys(
        expected, "not seen yet")
    stack.wiz.set_order_status(order["id"], "cancelled")
    stack.push()
    for row_id, reading in expected.items():
        line = first_use_line(stack, row_id)
        assert line["reading"] == reading and line["settled"] and line["how"] == "first use" and line["at"], line
    if zero == "accepted" and read_only == "ignored":
        assert all(line["quantity"] == 0 for line in stack.sos_order_of(order)["lines"])


def test_sos_a14_recorded_at_the_first_hook_delivery_and_not_written_again(stack):
    """SOS-A14: "not seen yet" until the first quantity hook goes through the ingress (its token
    in the URI) and the hook worker; then "JSON", kept as first recorded at the next delivery."""
    assert first_use_line(stack, "SOS-A14")["reading"] == "not seen yet"
    secret = stack.runtime.secretsmanager.get_secret_value(SecretId=stack.runtime.ref("SosHookSecret"))
    token = json.loads(secret["SecretString"])["token"]
    item = stack.sos.items[stack.embedded.stocked_mapped_item_ids()[0]]

    def deliver() -> dict:
        answer = stack.runtime.invoke_http("POST", f"/webhooks/sos/{token}", {"id": item["id"], "name": item["name"],
                                                                           "sku": item["sku"], "available": 5})
        assert answer.status == 202, answer
        stack.runtime.drain("InventoryHookQueue", wait_seconds=8)  # past the coalescing window's delay
        return first_use_line(stack, "SOS-A14")

    first = deliver()
    assert first["reading"] == "JSON" and first["settled"] and first["how"] == "first use" and first["at"], first
    contract_store._recorded.clear()  # as a fresh container would: the stored row keeps it
    assert deliver()["at"] == first["at"]


@pytest.mark.parametrize(("zone", "expected"), [("UTC", "SosTimezone"), ("America/New_York", "later than meant")])
def test_sos_a16_recorded_after_the_first_pushed_order(stack, zone, expected):
    """SOS-A16: after our first sales order POST, one updatedsince read (SosTimezone UTC, no
    overlap): the order listed = read in SosTimezone; an account reading it in New York's zone
    reads the time hours later and misses it = "later than meant". The push succeeds either way,
    and a second order leaves the row as first recorded."""
    stack.reset(timezone=zone)
    assert first_use_line(stack, "SOS-A16")["reading"] == "not seen yet"
    order = stack.place_order()
    stack.push()
    assert stack.sos_order_of(order)
    line = first_use_line(stack, "SOS-A16")
    assert line["reading"] == expected and line["how"] == "first use" and line["at"], line
    if expected != "SosTimezone":
        assert "SosTimezone" in line["effect"], line
    again = stack.place_order()
    stack.push()
    assert stack.sos_order_of(again) and first_use_line(stack, "SOS-A16")["at"] == line["at"]


@pytest.mark.parametrize(("deposit", "expected"), [("writable", "writable"), ("ignored", "ignored")])
def test_sos_a19_the_first_deposit_read_back(stack, deposit, expected):
    """SOS-A19: depositAmount as SOS answered the write = what we wrote ("writable"), else
    "ignored", and the push parks the order naming SOS-A19 instead of counting a payment."""
    stack.reset(deposit_amount=deposit)
    assert first_use_line(stack, "SOS-A19")["reading"] == "not seen yet"
    order = stack.place_order()
    stack.wiz.record_payment(order["id"], 10)
    stack.push()
    line = first_use_line(stack, "SOS-A19")
    assert line["reading"] == expected and line["settled"] and line["how"] == "first use", line
    failure = stack.state.get_failure("order", order["id"])
    if expected == "writable":
        assert stack.sos_order_of(order)["depositAmount"] == 10
    else:
        assert stack.sos_order_of(order)["depositAmount"] == 0
        assert failure and "SOS-A19" in failure["reason"], failure
