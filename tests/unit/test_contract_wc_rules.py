"""WC-A15's rule (R-OPS-5): an order the pull created, read back; WC-A6/A7's readings and effects."""

from typing import get_args

from sos_wiz_sync.push.events import WebhookAuth
from sos_wiz_sync.rules import contract as c
from sos_wiz_sync.rules.contract import Answer
from sos_wiz_sync.rules.sos_to_wc import PULLED_ORDER_SOURCE

SOS_ORDERS = {c.SOS_ORDERS: Answer(200, {"data": [{"id": 7, "number": "SO-7"}]})}


def read_back(**fields) -> dict:
    order = {"id": "ord_1", "reference_id": "7", "source": PULLED_ORDER_SOURCE, "display_id": "SO-7",
             "status": "confirmed", **fields}
    return {**SOS_ORDERS, c.WC_OUR_ORDER: Answer(200, {"data": order})}


def test_wc_a15_kept_when_source_number_and_status_read_back():
    assert c.wc_a15(read_back()).reading == "kept"


def test_wc_a15_not_kept_names_what_changed():
    reading = c.wc_a15(read_back(source="wizcommerce"))
    assert reading.reading == "not kept" and "source 'wizcommerce'" in reading.evidence


def test_wc_a15_not_settled_without_an_order_we_created():
    assert c.wc_a15(SOS_ORDERS).reading is None


def test_wc_a6_every_form_the_ingress_verifies_by_is_a_reading_with_its_effect():
    """The push message's `auth` values (push/events.py's WebhookAuth) each map to a WC-A6
    reading that doctor --contract explains."""
    assert set(c.WEBHOOK_AUTH_READINGS) == set(get_args(WebhookAuth))
    assert set(c.WEBHOOK_AUTH_READINGS.values()) == set(c.ROWS["WC-A6"].effects)


def test_wc_a7_delivered_has_its_effect():
    assert "noted" in c.effect("WC-A7", "delivered") and "safe default" in c.effect("WC-A7", None)
