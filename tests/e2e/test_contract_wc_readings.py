"""R-OPS-5 end to end for the WizCommerce probe rows: template.yaml's PullFunction on the local
runner and moto, the emulators over HTTP. For each reading of each WC probe row the WC emulator
is switched to it, doctor's probe settles it, `sos-wiz-ops doctor --contract --json` reports it,
and the stream that depends on it runs under it (cold started, so it reads the stored reading);
an answer fitting neither reading turns doctor red naming the id and stops that stream with the
reason. One stack for the module; each test resets the switches it set."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from pull_stack import PullStack  # noqa: E402
from push_stack import started_push_stack  # noqa: E402

from local.emulators.wiz import SWITCHES  # noqa: E402
from sos_wiz_sync.ops import cli  # noqa: E402
from sos_wiz_sync.sync.contract_probe import run_probe  # noqa: E402
from sos_wiz_sync.store.contract import ContractReadings  # noqa: E402


@pytest.fixture(scope="module")
def stack() -> Iterator[PullStack]:
    patch = pytest.MonkeyPatch()
    push = started_push_stack(patch, first_sync_done=False, parameters={"ReconciliationLagSeconds": "0"})
    stack = PullStack(push)
    try:
        assert stack.first_sync()["status"] in ("done", "ok"), "the first sync must finish"
        for n in range(3):  # SOS orders the pull mirrors, so the probe has WC orders and documents to read
            add_sos_order(stack, f"SO-CONTRACT-{n}")
        stack.run("customers")
        stack.run("orders")
        first = next(o for o in stack.sos.sales_orders.values() if o["number"] == "SO-CONTRACT-0")
        stack.sos.create_invoice(first["id"])
        stack.sos.create_shipment(first["id"])
        stack.run("invoices")
        stack.run("shipments")
        customer = next(c for c in stack.wiz.customers.values() if c["status"] == "active")
        stack.wiz.update_customer(customer["id"], status="inactive")  # WC-A16 can tell
        order = next(o for o in stack.wiz.orders.values() if o["status"] == "confirmed")
        stack.wiz.set_order_status(order["id"], "cancelled")  # WC-A19 can tell
        yield stack
    finally:
        push.stop()
        patch.undo()


def add_sos_order(stack: PullStack, number: str) -> dict:
    customer = next(c for c in stack.sos.customers.values() if stack.mappings.by_sos("customer", c["id"]))
    return stack.sos.create_sales_order(number=number, customer={"id": customer["id"]},
                                        lines=stack.sos_lines(stack.mapped_items()[:2]))


@pytest.fixture
def wc(stack: PullStack) -> Iterator[PullStack]:
    yield stack
    stack.wiz.configure(**{name: values[0] for name, values in SWITCHES.items()})


def probe(stack: PullStack, monkeypatch, capsys) -> tuple[int, dict[str, dict]]:
    """doctor's probe under the emulator's current switches, then `doctor --contract --json`;
    the pull function is cold started afterwards, as a new deployment's first run would be."""
    runtime = stack.in_process(monkeypatch)
    state_table = stack.runtime.ref("StateTable")
    run_probe(runtime.deps.sos, runtime.deps.wiz, ContractReadings(state_table), payment_route="deposit",
              now=datetime.now(timezone.utc), mappings=stack.mappings)
    capsys.readouterr()
    code = cli.main(["doctor", "--contract", "--json"], environ={"STATE_TABLE": state_table})
    table = {row["id"]: row for row in json.loads(capsys.readouterr().out)["readings"]}
    stack.runtime.recycle("PullFunction")
    return code, table


def mirrored_order(stack: PullStack) -> dict:
    """An SOS order the pull mirrored to WizCommerce (mapping origin sos), confirmed there."""
    for order in stack.sos.sales_orders.values():
        link = stack.mappings.by_sos("order", order["id"])
        if link is not None and link.origin == "sos" and stack.wiz.orders[link.wc_id]["status"] == "confirmed":
            return order
    raise AssertionError("no mirrored order")


def wc_by_reference(store, sos_id: int) -> list[dict]:
    return [record for record in store.values() if record.get("reference_id", record.get("referenceId")) == str(sos_id)]


def reported(code: int, table: dict, row_id: str, reading: str) -> None:
    row = table[row_id]
    assert row["reading"] == reading, row
    assert row["settled"] and row["at"] and row["how"].startswith("GET /"), row
    assert code == 0, table


def red(code: int, table: dict, row_id: str) -> None:
    row = table[row_id]
    assert code == 1 and row["neither"] and not row["settled"] and "stop" in row["effect"], row


# -- WC-A1: next_page on the last page ----------------------------------------------------------
@pytest.mark.parametrize(("value", "reading"), [("zero", "empty"), ("next", "set")])
def test_wc_a1_paging_stops_at_total_pages_either_way(wc, monkeypatch, capsys, value, reading):
    wc.wiz.configure(next_page_on_last_page=value)
    code, table = probe(wc, monkeypatch, capsys)
    reported(code, table, "WC-A1", reading)
    report = wc.run("customers")
    assert report["status"] == "ok", report


# -- WC-A9: reference_ids honoured, or a full map with its cost ----------------------------------
@pytest.mark.parametrize("value", ["honoured", "ignored"])
def test_wc_a9_invoices_found_by_reference_or_by_a_full_map(wc, monkeypatch, capsys, value):
    wc.wiz.configure(reference_ids_documents=value)
    code, table = probe(wc, monkeypatch, capsys)
    reported(code, table, "WC-A9", value)
    invoice = wc.sos.create_invoice(mirrored_order(wc)["id"])
    report = wc.run("invoices")
    assert report["status"] == "ok", report.get("reason")
    assert len(wc_by_reference(wc.wiz.invoices, invoice["id"])) == 1  # created once, found again by either way
    notes = report.get("notes") or {}
    if value == "ignored":
        assert notes.get("wc_full_map_calls", 0) > 0 and notes.get("wc_full_map_rows", 0) > 0, report
    else:
        assert "wc_full_map_calls" not in notes, report


# -- WC-A14: what an invoice's order_id names -----------------------------------------------------
@pytest.mark.parametrize(("value", "reading"), [("order id", "order id"), ("reference", "reference")])
def test_wc_a14_invoices_name_their_order_as_the_account_reads_it(wc, monkeypatch, capsys, value, reading):
    wc.wiz.configure(invoice_order_id=value)
    kept = {invoice["id"]: dict(invoice) for invoice in wc.wiz.invoices.values()}
    if value == "reference":  # the account's invoices carry their order's reference
        for invoice in kept.values():
            wc.wiz.invoices.put({**invoice, "order_id": wc.wiz.orders[invoice["order_id"]]["reference_id"]})
    try:
        code, table = probe(wc, monkeypatch, capsys)
        reported(code, table, "WC-A14", reading)
        order = mirrored_order(wc)
        invoice = wc.sos.create_invoice(order["id"])
        report = wc.run("invoices")
        assert report["status"] == "ok", report.get("reason")
        [written] = wc_by_reference(wc.wiz.invoices, invoice["id"])
        link = wc.mappings.by_sos("order", order["id"])
        assert written["order_id"] == (link.wc_id if value == "order id" else str(order["id"]))
    finally:  # the other tests' account names orders by id
        for record in wc.wiz.invoices.values():
            if record["id"] not in kept and record["order_id"] in {str(o) for o in wc.sos.sales_orders}:
                kept[record["id"]] = {**record, "order_id": wc.mappings.by_sos("order", record["order_id"]).wc_id}
        for invoice in kept.values():
            wc.wiz.invoices.put(invoice)


# -- WC-A5: shipments snake_case; camelCase stops the stream naming the fields; mixed is neither -----
@pytest.mark.parametrize(("value", "reading"), [("snake_case", "snake_case"), ("camelCase", "camelCase"),
                                                ("mixed", "neither")])
def test_wc_a5_shipments_under_each_case(wc, monkeypatch, capsys, value, reading):
    wc.wiz.configure(shipment_case=value)
    code, table = probe(wc, monkeypatch, capsys)
    shipment = wc.sos.create_shipment(mirrored_order(wc)["id"])
    report = wc.run("shipments")
    if value == "snake_case":
        reported(code, table, "WC-A5", reading)
        assert report["status"] == "ok" and len(wc_by_reference(wc.wiz.shipments, shipment["id"])) == 1, report.get(
            "reason")
    elif value == "camelCase":
        assert table["WC-A5"]["reading"] == "camelCase" and "fails naming the fields" in table["WC-A5"]["effect"]
        assert report["status"] == "blocked" and "WC-A5" in report["reason"] and "referenceId" in report["reason"]
    else:
        red(code, table, "WC-A5")
        assert report["status"] == "blocked" and "WC-A5" in report["reason"] and "neither" in report["reason"]


# -- WC-A11: updated_after on invoices and shipments ------------------------------------------------
@pytest.mark.parametrize(("value", "reading"), [("honoured", "honoured"), ("ignored", "ignored"),
                                                ("refused", "neither")])
def test_wc_a11_invoices_incremental_or_stopped_naming_the_filter(wc, monkeypatch, capsys, value, reading):
    wc.wiz.configure(updated_after_documents=value)
    code, table = probe(wc, monkeypatch, capsys)
    invoice = wc.sos.create_invoice(mirrored_order(wc)["id"])
    report = wc.run("invoices")
    if value == "honoured":
        reported(code, table, "WC-A11", reading)
        assert report["status"] == "ok" and len(wc_by_reference(wc.wiz.invoices, invoice["id"])) == 1, report
    elif value == "ignored":
        assert table["WC-A11"]["reading"] == "ignored" and "fails naming the filter" in table["WC-A11"]["effect"]
        assert report["status"] == "blocked" and "updated_after" in report["reason"] and "WC-A11" in report["reason"]
    else:
        red(code, table, "WC-A11")
        assert report["status"] == "blocked" and "WC-A11" in report["reason"]


# -- WC-A16: what the customer list shows without status -------------------------------------------
@pytest.mark.parametrize(("value", "reading"), [("active", "active only"), ("all", "all")])
def test_wc_a16_customers_stream_under_each_list_default(wc, monkeypatch, capsys, value, reading):
    wc.wiz.configure(customer_list_default=value)
    code, table = probe(wc, monkeypatch, capsys)
    reported(code, table, "WC-A16", reading)
    report = wc.run("customers")
    assert report["status"] == "ok", report


# -- WC-A10: several SKUs in one sku_id call, or one call per SKU -----------------------------------
@pytest.mark.parametrize(("value", "reading", "calls"), [(True, "comma list", 1), (False, "one per call", 3)])
def test_wc_a10_an_order_of_three_skus_is_pushed_with_its_lookups_as_the_reading_says(wc, monkeypatch, capsys,
                                                                                        value, reading, calls):
    """WC-A10: the push looks up a WC order's line products by sku (`products_by_skus`). With the
    reading stored, a freshly started push asks in one comma list, or one call per SKU straight
    away: three SKUs cost 1 or 3 product list calls, never a refused list first (that would be 4)."""
    wc.wiz.configure(sku_id_list=value)
    code, table = probe(wc, monkeypatch, capsys)
    reported(code, table, "WC-A10", reading)
    wc.runtime.recycle("PushFunction")  # a fresh container: only the stored reading tells it
    items = wc.mapped_items()[:3]
    assert len({wc.product_for_item(item)["sku"] for item in items}) == 3
    placed = wc.place_order(items)
    wc.wiz.reset_counters()
    wc.push.sync()
    assert len(wc.the_sos_order(placed)["lines"]) == 3
    assert wc.wiz.counters().get("GET /v1/products") == calls, wc.wiz.counters()


# -- WC-A19: order_status=cancelled answered with neither reading -----------------------------------
def test_wc_a19_neither_stops_the_cancelled_order_poll_and_confirmed_orders_still_reach_sos(wc, monkeypatch, capsys):
    """WC-A19 fitting neither reading (order_status=cancelled answered 400): doctor is red naming
    it; the WC change poll skips the cancelled listing with that reason (its cursor kept) instead of
    failing every listing, so a new confirmed order still reaches SOS while a cancellation waits;
    once the row settles "listed", the next poll carries the cancellation through (no gap)."""
    placed = wc.place_order(wc.mapped_items()[:1])
    wc.push.sync()
    before = wc.the_sos_order(placed)
    wc.wiz.configure(cancelled_orders="refused")
    code, table = probe(wc, monkeypatch, capsys)
    red(code, table, "WC-A19")
    assert "order_status=cancelled answered HTTP 400" in table["WC-A19"]["evidence"], table["WC-A19"]
    wc.wiz.set_order_status(placed["id"], "cancelled")
    confirmed = wc.place_order(wc.mapped_items()[:1])
    result = wc.runtime.invoke("WcPollFunction", {})
    assert "WC-A19" in result["stopped"]["order-cancelled"] and result["order"] >= 1, result
    wc.runtime.drain("PushQueue")
    assert wc.the_sos_order(confirmed)["lines"]  # the confirmed-order listing kept running
    assert wc.the_sos_order(placed)["lines"] == before["lines"]  # not cancelled on a guess
    wc.wiz.configure(cancelled_orders="listed")
    code, table = probe(wc, monkeypatch, capsys)
    reported(code, table, "WC-A19", "listed")
    wc.push.sync()
    assert all(line["quantity"] == 0 for line in wc.the_sos_order(placed)["lines"])  # R-ORD-8, caught up


# -- WC-A4, A13, A15, A19: readings of the orders and inventories ----------------------------------
@pytest.mark.parametrize(("switch", "value", "row_id", "reading", "stream"), [
    ("inventory_read", "full", "WC-A4", "full body", "orders"),
    ("inventory_read", "partial", "WC-A4", "partial", "orders"),
    ("order_reads_write_only", False, "WC-A13", "not carried", "orders"),
    ("order_reads_write_only", True, "WC-A13", "carried", "orders"),
    ("order_source_kept", True, "WC-A15", "kept", "orders"),
    ("order_source_kept", False, "WC-A15", "not kept", "orders"),
    ("order_source_kept", True, "WC-A19", "listed", "orders"),
])
def test_order_and_inventory_rows_reported_and_the_orders_stream_runs(wc, monkeypatch, capsys, switch, value,
                                                                      row_id, reading, stream):
    wc.wiz.configure(**{switch: value})
    if row_id == "WC-A4":  # the newest inventory record as an upsert left it (the seed's lack fields)
        wc.wiz.edit_inventory(next(iter(wc.wiz.inventories.values()))["sku"], notes=f"A4 {value}")
    if row_id == "WC-A15":  # an order the pull creates under this reading
        add_sos_order(wc, f"SO-A15-{value}")
        wc.run("orders")
    code, table = probe(wc, monkeypatch, capsys)
    reported(code, table, row_id, reading)
    report = wc.run(stream)
    assert report["status"] == "ok", report
