"""R-OPS-5: the contract probe against the emulators, each switched to each reading of a probe row:
the probe reports that reading and stores it, an answer fitting neither turns doctor red naming
the id, and the whole probe stays within 20 SOS and 20 WizCommerce calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from emulator_clients import emulator_clients, sos_client
from local.emulators import SosEmulator, WizEmulator, seed
from sos_wiz_sync.clients.sos import SosClient, SosError
from sos_wiz_sync.clients.wiz import WizClient
from sos_wiz_sync.models.contract import ContractStop
from sos_wiz_sync.ops import cli
from sos_wiz_sync.sync.contract_probe import SOS_CALL_BUDGET, WC_CALL_BUDGET, run_probe
from sos_wiz_sync.ops.doctor import DoctorContext, check_contract
from sos_wiz_sync.push.failures import is_permanent, push_failure_reason
from sos_wiz_sync.rules.contract import NEITHER
from sos_wiz_sync.rules.push_config import PushConfig
from sos_wiz_sync.store.contract import ContractReadings
from sos_wiz_sync.wiring import wiz_session


@pytest.fixture
def emulators() -> Iterator[tuple[SosEmulator, WizEmulator]]:
    sos, wiz = SosEmulator(), WizEmulator()
    seed(sos, wiz, items=60, customers=5)
    sos.start()
    wiz.start()
    yield sos, wiz
    sos.stop()
    wiz.stop()


def add_order(sos: SosEmulator) -> None:
    """A sales order with an invoice and a shipment, written under the emulator's current switches."""
    customer = next(iter(sos.customers.values()))
    item = next(i for i in sos.items.values() if not i["archived"] and i["type"] == "Inventory Item")
    order = sos.create_sales_order(number="SO-PROBE-1", customer={"id": customer["id"]},
                                   lines=[{"item": {"id": item["id"]}, "quantity": 1, sos.line_price_field: 2}])
    sos.create_invoice(order["id"])
    sos.create_shipment(order["id"])


@pytest.fixture
def clients(emulators, make_secret, state_table) -> tuple[SosClient, WizClient]:
    return emulator_clients(*emulators, make_secret, state_table)


def probe(clients, state_table, payment_route: str = "deposit") -> dict[str, str | None]:
    readings = run_probe(*clients, ContractReadings(state_table), payment_route=payment_route,
                         now=datetime.now(timezone.utc))
    return {r.id: r.reading for r in readings}


SOS_READINGS = [  # (switch, value, row, reading)
    ("wrap_single", True, "SOS-A2", "wrapped"), ("wrap_single", False, "SOS-A2", "bare"),
    ("line_price_field", "unitPrice", "SOS-A7", "unitPrice"), ("line_price_field", "unitprice", "SOS-A7", "unitprice"),
    ("linked_shape", "object", "SOS-A9", "object"), ("linked_shape", "id", "SOS-A9", NEITHER),
    ("payment_endpoint", True, "SOS-A11", "present"), ("payment_endpoint", False, "SOS-A11", "absent"),
    ("kit_type", "Kit", "SOS-A17", "Kit"), ("kit_type", "Item Group", "SOS-A17", "Item Group"),
    ("customer_address_shape", "flat", "SOS-A21", "flat"), ("customer_address_shape", "nested", "SOS-A21", "nested"),
]


@pytest.mark.parametrize(("switch", "value", "row_id", "expected"), SOS_READINGS,
                         ids=[f"{r[2]}-{r[1]}" for r in SOS_READINGS])
def test_probe_reports_the_sos_reading_the_account_follows(emulators, clients, state_table, switch, value, row_id,
                                                          expected):
    emulators[0].configure(**{switch: value})
    add_order(emulators[0])
    readings = probe(clients, state_table, payment_route="payment")
    assert readings[row_id] == expected
    stored = ContractReadings(state_table).reading(row_id)
    assert stored["reading"] == expected and stored["at"] and stored["how"].startswith("GET /")


@pytest.mark.parametrize(("value", "expected"), [(True, "comma list"), (False, "one per call")])
def test_probe_reports_whether_sku_id_takes_a_comma_list(emulators, clients, state_table, value, expected):
    """WC-A10: two known SKUs in one call."""
    emulators[1].configure(sku_id_list=value)
    assert probe(clients, state_table)["WC-A10"] == expected


def test_probe_settles_the_rows_the_emulators_answer_one_way(emulators, clients, state_table):
    add_order(emulators[0])
    emulators[1].update_customer(next(iter(emulators[1].customers)), status="inactive")  # WC-A16 can tell
    readings = probe(clients, state_table)
    assert readings["SOS-A4"] == "404"
    assert readings["SOS-A10"] in ("header", "lines")
    assert readings["SOS-A11"] is None  # deposit route: /payment is never asked for
    assert readings["WC-A1"] == "empty"
    assert readings["WC-A16"] == "active only"
    assert NEITHER not in readings.values(), readings


def test_probe_stays_within_its_call_budget(emulators, clients, state_table):
    sos, wiz = emulators
    add_order(sos)
    sos.reset_counters()
    wiz.reset_counters()
    probe(clients, state_table, payment_route="payment")
    sos_calls = sum(n for key, n in sos.counters().items() if "/api/v2/" in key)
    wiz_calls = sum(wiz.counters().values())
    print(f"contract probe: {sos_calls} SOS calls, {wiz_calls} WizCommerce calls")
    assert 0 < sos_calls <= SOS_CALL_BUDGET == 20
    assert 0 < wiz_calls <= WC_CALL_BUDGET == 20


def test_an_answer_fitting_neither_reading_turns_doctor_red_with_the_id(emulators, clients, state_table, capsys):
    emulators[0].configure(linked_shape="id")  # SOS-A9: linked* as bare ids, neither documented shape
    add_order(emulators[0])
    ctx = DoctorContext(values={"STATE_TABLE": state_table}, secretsmanager=None, sqs=None, state=None,
                        dead_letter_queues=[], schedules=None)
    ctx.sos, ctx.wiz = clients
    [check] = check_contract(ctx)
    assert not check.ok and "SOS-A9 fits neither reading" in check.detail

    code = cli.main(["doctor", "--contract", "--json"], environ={"STATE_TABLE": state_table})
    table = {row["id"]: row for row in json.loads(capsys.readouterr().out)["readings"]}
    assert code == 1
    assert table["SOS-A9"]["neither"] and "stop" in table["SOS-A9"]["effect"]
    assert table["SOS-A7"] == {**table["SOS-A7"], "reading": "unitPrice", "settled": True}
    assert table["SOS-A1"]["reading"] == "not seen yet" and table["SOS-A3"]["reading"] == "never settled"


def test_doctor_is_green_and_names_the_cost_when_every_answer_fits(emulators, clients, state_table):
    add_order(emulators[0])
    ctx = DoctorContext(values={"STATE_TABLE": state_table}, secretsmanager=None, sqs=None, state=None,
                        dead_letter_queues=[], schedules=None)
    ctx.sos, ctx.wiz = clients
    [check] = check_contract(ctx)
    assert check.ok, check
    assert "probe rows settled" in check.detail and "SOS +" in check.detail


# -- first-use rows: recorded the first time the code sees them ---------------------------------------
def wired_client(sos: SosEmulator, make_secret, state_table: str) -> SosClient:
    return sos_client(sos, make_secret, state_table, first_use=ContractReadings(state_table).record_first_use)


@pytest.mark.parametrize(("rotates", "expected"), [(True, "rotating"), (False, "not rotating")])
def test_the_first_token_refresh_records_whether_refresh_tokens_rotate(emulators, make_secret, state_table,
                                                                       rotates, expected):
    """SOS-A1: a refresh without `refresh_token` = not rotating."""
    sos = emulators[0]
    sos.configure(refresh_returns_token=rotates)
    store = ContractReadings(state_table)
    assert store.reading("SOS-A1") is None
    client = wired_client(sos, make_secret, state_table)
    sos.expire_tokens()
    client.request("GET", "/location", params={"maxresults": 1})  # 401 → the first refresh
    stored = store.reading("SOS-A1")
    assert stored["reading"] == expected and stored["how"] == "first use" and stored["at"]


@pytest.mark.parametrize(("empty", "expected"), [(True, "empty"), (False, "JSON")])
def test_the_first_hook_removal_records_what_delete_hook_answers(emulators, make_secret, state_table,
                                                                 empty, expected):
    """SOS-A20: DELETE /hook/{id} answers JSON or an empty 2xx."""
    sos = emulators[0]
    sos.configure(hook_delete_empty=empty)
    client = wired_client(sos, make_secret, state_table)
    client.delete_hook(client.create_hook("https://example.invalid/hooks/sos/t").id)
    assert ContractReadings(state_table).reading("SOS-A20")["reading"] == expected


def test_the_first_sales_order_put_records_that_put_exists(emulators, make_secret, state_table, capsys):
    """SOS-A8: shown by doctor --contract as settled at its first use, and as not seen before."""
    sos = emulators[0]
    add_order(sos)
    cli.main(["doctor", "--contract", "--json"], environ={"STATE_TABLE": state_table})
    before = {row["id"]: row for row in json.loads(capsys.readouterr().out)["readings"]}
    assert before["SOS-A8"]["reading"] == "not seen yet" and not before["SOS-A8"]["settled"]

    client = wired_client(sos, make_secret, state_table)
    order = next(iter(sos.sales_orders.values()))
    client.update("salesorder", order["id"], {"comment": "edited"})
    cli.main(["doctor", "--contract", "--json"], environ={"STATE_TABLE": state_table})
    after = {row["id"]: row for row in json.loads(capsys.readouterr().out)["readings"]}
    assert after["SOS-A8"] == {**after["SOS-A8"], "reading": "exists", "settled": True, "how": "first use"}


# -- the code honours the stored reading ----------------------------------------------------------------
@pytest.mark.parametrize("casing", ["unitPrice", "unitprice"])
def test_new_sos_orders_are_written_with_the_casing_the_probe_found(emulators, clients, state_table, casing):
    """SOS-A7: the settled casing overrides SosLinePriceField (here the default unitPrice); the
    emulator ignores a price under the other casing, so the price only lands with the right one."""
    sos = emulators[0]
    sos.configure(line_price_field=casing)
    add_order(sos)
    probe(clients, state_table)
    config = PushConfig(contract=ContractReadings(state_table).all())
    field = config.sos_line_price_field()
    assert field == casing
    customer = next(iter(sos.customers.values()))
    item = next(i for i in sos.items.values() if not i["archived"] and i["type"] == "Inventory Item")
    written = clients[0].request("POST", "/salesorder", body={
        "number": f"WC-{casing}", "customer": {"id": customer["id"]},
        "lines": [{"item": {"id": item["id"]}, "quantity": 1, field: 7.25}]}, expect="record")
    record = written.get("data") or written
    assert record["lines"][0][casing] == 7.25


def test_a_line_price_fitting_neither_casing_stops_the_order_push_with_the_reason(state_table):
    """SOS-A7 stored as NEITHER: the order body is not built (no guess); the push parks it with the reason."""
    ContractReadings(state_table).save("SOS-A7", reading=NEITHER, how="GET /salesorder?maxresults=50",
                                       evidence="sales order lines carry no unitPrice/unitprice (keys: ['price'])")
    config = PushConfig(contract=ContractReadings(state_table).all())
    with pytest.raises(ContractStop) as stop:
        config.sos_line_price_field()
    assert is_permanent(stop.value) and "SOS-A7" in push_failure_reason(stop.value)
    assert "['price']" in push_failure_reason(stop.value)


@pytest.mark.parametrize(("lists", "calls"), [(True, 1), (False, 2)])
def test_sku_lookups_follow_the_settled_sku_id_reading(emulators, clients, state_table, lists, calls):
    """WC-A10: settled, a fresh client goes straight to comma lists or one call per SKU (no 400 first)."""
    wiz = emulators[1]
    wiz.configure(sku_id_list=lists)
    probe(clients, state_table)
    fresh = WizClient(base_url=wiz.url, api_key=wiz.api_key, session=wiz_session(2))
    fresh.follow_contract(ContractReadings(state_table).all())
    skus = sorted({p["sku"] for p in wiz.products.values() if p.get("sku")})[:2]
    wiz.reset_counters()
    assert sorted(p.sku for p in fresh.products_by_skus(skus)) == skus
    assert sum(wiz.counters().values()) == calls
    assert not wiz.faulted_counters() and all("400" not in key for key in wiz.counters())


def test_sku_lookups_stop_when_the_sku_id_answer_fit_neither_reading(emulators, state_table):
    wiz = emulators[1]
    ContractReadings(state_table).save("WC-A10", reading=NEITHER, how="GET /v1/products?sku_id=a,b",
                                       evidence="sku_id=a,b answered HTTP 200 {'data': []}")
    client = WizClient(base_url=wiz.url, api_key=wiz.api_key, session=wiz_session(2))
    client.follow_contract(ContractReadings(state_table).all())
    wiz.reset_counters()
    with pytest.raises(ContractStop, match="WC-A10"):
        client.products_by_skus(["a", "b"])
    assert sum(wiz.counters().values()) == 0


@pytest.mark.parametrize(("present", "available"), [(True, True), (False, False)])
def test_the_payment_route_follows_the_settled_payment_endpoint(emulators, clients, make_secret, state_table,
                                                                present, available):
    """SOS-A11: settled by the probe, a fresh client knows whether /payment exists without asking."""
    sos = emulators[0]
    sos.configure(payment_endpoint=present)
    probe(clients, state_table, payment_route="payment")
    fresh = wired_client(sos, make_secret, state_table)
    fresh.follow_contract(ContractReadings(state_table).all())
    sos.reset_counters()
    assert fresh.payment_endpoint_available() is available
    assert not any("/payment" in key for key in sos.counters())


@pytest.mark.parametrize("answer", ["200-empty", "400"])
def test_sos_a4_neither_a_read_by_id_of_an_absent_record_stops_naming_it(emulators, clients, make_secret,
                                                                         state_table, answer):
    """SOS-A4 stored NEITHER: a read by id whose answer could mean "absent" raises SOS-A4's
    ContractStop with what it saw, never the client's own error a caller might read as absent;
    a record that is there reads as ever. Settled "404", a 404 stays the client's error."""
    sos = emulators[0]
    sos.configure(unknown_id=answer)
    assert probe(clients, state_table)["SOS-A4"] == NEITHER
    client = wired_client(sos, make_secret, state_table)
    client.follow_contract(ContractReadings(state_table).all())
    with pytest.raises(ContractStop, match=r"SOS-A4.*GET /customer/987654 answered HTTP"):
        client.get("customer", 987654)
    customer = next(iter(sos.customers.values()))
    assert client.get_customer(customer["id"]).id == customer["id"]
    sos.configure(unknown_id="404")
    assert probe(clients, state_table)["SOS-A4"] == "404"
    client.follow_contract(ContractReadings(state_table).all())
    with pytest.raises(SosError) as raised:
        client.get("customer", 987654)
    assert raised.value.http_status == 404
