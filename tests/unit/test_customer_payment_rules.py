"""Customer and payment push rules (R-CUS-1, R-PAY-1) and which push failures park (R-REF-2)."""

from __future__ import annotations

import pytest
import requests
from pydantic import ValidationError

from sos_wiz_sync.clients.http import ApiError
from sos_wiz_sync.models.wiz import WizCustomer, WizOrder
from sos_wiz_sync.push.failures import PermanentPushFailure, is_permanent, push_failure_reason
from sos_wiz_sync.rules.customers import default_address, sos_customer, sos_customer_name
from sos_wiz_sync.rules.payments import paid_rise, sos_deposit, sos_payment
from sos_wiz_sync.rules.push_config import PushConfig

CONFIG = PushConfig(sales_reps={"rep_1": 3}, default_sales_rep=9, price_tiers={"pl_2": 2})


def customer(**fields) -> WizCustomer:
    return WizCustomer.model_validate({"id": "cust_7", **fields})


@pytest.mark.parametrize("fields, name", [
    ({"display_name": " Acme ", "name": "x"}, "Acme"),
    ({"name": "Acme Co"}, "Acme Co"),
    ({"first_name": "Jo", "last_name": "Ng"}, "Jo Ng"),
    ({"email": "jo@ng.example"}, "jo@ng.example"),
    ({}, "WizCommerce customer cust_7"),
])
def test_sos_always_gets_a_customer_name(fields, name):
    assert sos_customer_name(customer(**fields)) == name


def test_default_addresses_of_each_kind_carry_over():
    addresses = [{"type": "shipping", "address_line_1": "first ship"},
                 {"type": "shipping", "is_default": True, "address_line_1": "default ship", "zip_code": "97205"},
                 {"type": "billing", "address_line_1": "only bill"}]
    wc = customer(addresses=addresses)
    assert default_address(wc.addresses, "shipping").address_line_1 == "default ship"
    body = sos_customer(wc, CONFIG)
    assert body["shipping"]["line1"] == "default ship" and body["shipping"]["postalCode"] == "97205"
    assert body["billing"]["line1"] == "only bill"


def test_rep_and_price_list_go_through_the_configured_mappings():
    mapped = sos_customer(customer(assigned_sales_reps=[{"id": "rep_1"}], assigned_price_list={"id": "pl_2"}), CONFIG)
    assert mapped["salesRep"] == {"id": 3} and mapped["priceTier"] == {"id": 2}
    unmapped = sos_customer(customer(assigned_sales_reps=[{"id": "rep_4"}], assigned_price_list={"id": "pl_9"}),
                            CONFIG)
    assert unmapped["salesRep"] == {"id": 9} and unmapped["priceTier"] is None


def test_sos_only_fields_are_left_to_sos_users():
    assert not {"notes", "archived"} & set(sos_customer(customer(name="Acme"), CONFIG))


def test_names_go_where_sos_keeps_them_the_persons_in_contact():
    body = sos_customer(customer(name="Acme Co", display_name="Acme", first_name="Jo", last_name="Ng"), CONFIG)
    assert body["name"] == "Acme" and body["companyName"] == "Acme Co"
    assert body["contact"] == {"firstName": "Jo", "lastName": "Ng"}
    assert not {"firstName", "lastName"} & set(body)


def paid_order(**fields) -> WizOrder:
    return WizOrder.model_validate({"id": "ord_1", "display_id": "SO-1001", "customer_id": "cust_2",
                                    "status": "confirmed", **fields})


@pytest.mark.parametrize("paid, pushed, rise", [
    (10, None, 10), (25.5, 10, 15.5), (10, 10, None), (5, 10, None), (None, None, None), (0.004, 0, None)])
def test_only_a_rise_of_amount_paid_is_a_payment(paid, pushed, rise):
    assert paid_rise(paid, pushed) == rise


def test_the_deposit_is_everything_paid_so_far():
    assert sos_deposit(paid_order(amount_paid=40.005)) == {"depositAmount": 40.01}


def test_a_payment_record_pays_the_rise_under_a_number_derived_from_the_order_and_total():
    order = paid_order(amount_paid=25.5, payment_method="card")
    body = sos_payment(order, paid_before=10, customer_id=4, sales_order_id=8)
    assert body == {"number": "WCP-SO-1001@25.50", "customer": {"id": 4}, "amount": 15.5, "salesOrder": {"id": 8},
                    "comment": "WizCommerce online payment on order SO-1001"}
    assert sos_payment(order, paid_before=10, customer_id=4, sales_order_id=8)["number"] == body["number"]


# -- failures -------------------------------------------------------------------------------------------

def api_error(status: int) -> ApiError:
    return ApiError("SOS", "POST", "/salesorder", status, "Unknown item id 999 (line 2)")


@pytest.mark.parametrize("error", [api_error(400), api_error(404), api_error(409), api_error(422),
                                   PermanentPushFailure("line has no Reference ID")])
def test_business_failures_park_at_once(error):
    assert is_permanent(error)


@pytest.mark.parametrize("error", [api_error(429), api_error(500), api_error(503), api_error(401),
                                   requests.ConnectTimeout(), requests.ReadTimeout(), RuntimeError("boom")])
def test_everything_else_is_retried_by_sqs(error):
    assert not is_permanent(error)


def test_unreadable_data_parks():
    with pytest.raises(ValidationError) as caught:
        WizOrder.model_validate({"id": "o"})
    assert is_permanent(caught.value)


def test_reasons_say_what_went_wrong():
    assert push_failure_reason(api_error(400)) == "SOS answered 400: Unknown item id 999 (line 2)"
    assert push_failure_reason(api_error(503)) == "sos-503"
    assert push_failure_reason(PermanentPushFailure("why")) == "why"
