"""R-OPS-5, WizCommerce first-use rows: WC-A17 (a customer write read back) and WC-A18 (a PUT
with payment_status PAID) recorded at their first occurrence and shown by doctor --contract
("not seen yet" before)."""

from __future__ import annotations

import json

import pytest

from local.emulators import WizEmulator, seed
from local.emulators.sos import SosEmulator
from sos_wiz_sync.clients.wiz import WizClient
from sos_wiz_sync.ops import cli
from sos_wiz_sync.store.contract import ContractReadings
from sos_wiz_sync.wiring import wiz_session


@pytest.fixture
def wiz():
    sos, wiz = SosEmulator(), WizEmulator()
    seed(sos, wiz, items=10, customers=2)
    wiz.start()
    yield wiz
    wiz.stop()


def table(state_table: str, capsys) -> dict[str, dict]:
    capsys.readouterr()
    cli.main(["doctor", "--contract", "--json"], environ={"STATE_TABLE": state_table})
    return {row["id"]: row for row in json.loads(capsys.readouterr().out)["readings"]}


def client(wiz: WizEmulator, state_table: str) -> WizClient:
    wc = WizClient(base_url=wiz.url, api_key=wiz.api_key, session=wiz_session(2))
    wc.first_use = ContractReadings(state_table).record_first_use
    return wc


def test_wc_a17_the_first_customer_write_records_whether_its_fields_read_back(wiz, state_table, capsys):
    assert table(state_table, capsys)["WC-A17"]["reading"] == "not seen yet"
    client(wiz, state_table).create("customers", {"company_name": "Acme", "display_name": "Acme",
                                                  "reference_id": "sos-1", "email": "a@acme.test"})
    row = table(state_table, capsys)["WC-A17"]
    assert row["reading"] == "accepted" and row["settled"] and row["how"] == "first use" and row["at"]


def test_wc_a18_the_first_put_with_paid_records_it_accepted(wiz, state_table, capsys):
    assert table(state_table, capsys)["WC-A18"]["reading"] == "not seen yet"
    product = next(iter(wiz.products.values()))
    order = wiz.create_order(next(iter(wiz.customers)), [{"product_id": product["id"], "quantity": 1,
                                                          "unit_price": 10}])
    client(wiz, state_table).merge_order(order["id"], {"amount_paid": 10, "payment_status": "PAID"})
    row = table(state_table, capsys)["WC-A18"]
    assert row["reading"] == "accepted" and row["settled"] and "PAID" in row["evidence"]
