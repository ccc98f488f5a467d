"""Customer and payment push rules (R-CUS-1, R-PAY-1) and which push failures park (R-REF-2)."""

from __future__ import annotations

import pytest
import requests
from pydantic import ValidationError

from sos_wiz_sync.clients.http import ApiError
from sos_wiz_sync.models.wiz import WizCustomer, WizPayment
from sos_wiz_sync.push.failures import PermanentPushFailure, is_permanent, push_failure_reason
from sos_wiz_sync.rules.customers import default_address, sos_customer, sos_customer_name
from sos_wiz_sync.rules.payments import sos_payment
from sos_wiz_sync.rules.push_config import PushConfig
from sos_wiz_sync.rules.versions import timestamp_version

CONFIG = PushConfig(sales_reps={"rep_1": 3}, default_sales_rep=9, price_tiers={"pl_2": 2})


def customer(**fields) -> WizCustomer:
    return WizCustomer.model_validate({"id": "cust_7", **fields})


@pytest.mark.parametrize("fields, name", [
    ({"display_name": " Acme ", "name": "x"}, "Acme"),
    ({"company_name": "Acme Co"}, "Acme Co"),
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


def test_customer_versions_follow_updated_at():
    earlier, later = customer(updated_at="2026-05-01T00:00:00.001Z"), customer(updated_at="2026-05-01T00:00:00.002Z")
    assert timestamp_version(earlier.updated_at) < timestamp_version(later.updated_at)
    assert timestamp_version(None) == 0


def test_a_payment_links_customer_order_and_invoice_under_a_number_derived_from_its_id():
    payment = WizPayment(id="pay_12", order_id="ord_1", customer_id="cust_2", amount=10.005, method="card",
                         paid_at="2026-05-01T10:00:00Z")
    body = sos_payment(payment, customer_id=4, sales_order_id=8, invoice_id=None)
    assert body == {"number": "WCP-pay_12", "customer": {"id": 4}, "amount": 10.01, "method": "card",
                    "salesOrder": {"id": 8}, "invoice": None, "memo": "WizCommerce online payment pay_12",
                    "date": "2026-05-01"}


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
        WizPayment.model_validate({"id": "p"})
    assert is_permanent(caught.value)


def test_reasons_say_what_went_wrong():
    assert push_failure_reason(api_error(400)) == "SOS answered 400: Unknown item id 999 (line 2)"
    assert push_failure_reason(api_error(503)) == "sos-503"
    assert push_failure_reason(PermanentPushFailure("why")) == "why"
