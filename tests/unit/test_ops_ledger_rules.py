"""The ledger's classification (R-OPS-4, ops/ledger_rules.py): every class, its precedence, the
cancellation rule (R-ORD-8) kept in one place, when a WC change is still in flight (R-PUSH-1),
and the JSON summary with a fix command per unaccounted record."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sos_wiz_sync.ops import ledger_rules as rules
from sos_wiz_sync.ops.ledger_rules import Facts, classify

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
PARKED = {"reason": "order lines without a usable Reference ID (R-REF-2)", "details": {"disposition": "parked-in-dlq"}}


def facts(**fields) -> Facts:
    return Facts(**{"entity": rules.WC_ORDER, "wc_id": "ord_1", "sos_id": "7", **fields})


@pytest.mark.parametrize(("given", "state", "why"), [
    (facts(skip="cancelled before push"), "skipped", "cancelled before push"),
    (facts(synced=True), "synced", "the other side has it as last sent"),
    (facts(blocked="edit-blocked (R-ORD-2): SOS already has invoice 3", mismatch="edited"), "blocked",
     "edit-blocked (R-ORD-2): SOS already has invoice 3"),
    (facts(failure={"reason": "edit-blocked: shipped", "details": {"disposition": "edit-blocked"}}), "blocked",
     "edit-blocked: shipped"),
    (facts(failure={"reason": "cancel refused", "details": {"disposition": "cancel-blocked"}}), "blocked",
     "cancel refused"),
    (facts(failure=PARKED, mismatch="no mapping"), "parked", PARKED["reason"]),
    (facts(failure={"reason": "SOS 503", "details": {"disposition": "retrying"}}), "in_flight", "retrying: SOS 503"),
    (facts(waiting="pending: its order is not in WizCommerce yet"), "in_flight",
     "pending: its order is not in WizCommerce yet"),
    (facts(in_flight=True, mismatch="no mapping"), "in_flight", "changed recently: the next run reads it (no mapping)"),
    (facts(mismatch="its SOS order 7 is gone from SOS"), "unaccounted", "its SOS order 7 is gone from SOS"),
])
def test_each_record_is_exactly_one_class(given, state, why):
    entry = classify(given)
    assert (entry.state, entry.why) == (state, why)
    assert (entry.entity, entry.wc_id, entry.sos_id) == (given.entity, given.wc_id, given.sos_id)


def test_a_rule_outranks_everything_and_synced_outranks_a_stale_failure():
    assert classify(facts(skip="draft", failure=PARKED, in_flight=True)).state == "skipped"
    assert classify(facts(synced=True, failure=PARKED)).state == "synced"  # the failure is over in fact


def test_a_parked_record_stays_parked_though_it_changed_recently():
    assert classify(facts(failure=PARKED, in_flight=True, mismatch="no mapping")).state == "parked"


def test_nothing_found_is_unaccounted_never_synced():
    assert classify(facts()).state == "unaccounted"


# -- cancellations (R-ORD-8): the one place the ledger's rule lives -----------------------------
def test_an_order_cancelled_before_it_was_pushed_is_skipped():
    entry = classify(rules.cancelled_order_facts(rules.WC_ORDER, "ord_1", pushed_sos_id=None, sos_order=None,
                                                 sos_gone=False))
    assert entry.state == "skipped" and "cancelled before push" in entry.why


def test_a_pushed_cancelled_order_is_synced_once_sos_shows_the_cancellation():
    cancelled = {"comment": "Cancelled in WizCommerce on 2025-03-01", "lines": [{"quantity": 0}, {"quantity": 0.0}]}
    assert classify(rules.cancelled_order_facts(rules.WC_ORDER, "ord_1", pushed_sos_id="7", sos_order=cancelled,
                                                sos_gone=False)).state == "synced"


@pytest.mark.parametrize("sos_order", [
    {"comment": "", "lines": [{"quantity": 2}]},
    {"comment": "Cancelled in WizCommerce", "lines": [{"quantity": 1}]},  # the stock is still held
])
def test_a_pushed_cancelled_order_sos_does_not_show_is_in_flight_then_unaccounted(sos_order):
    found = rules.cancelled_order_facts(rules.WC_ORDER, "ord_1", pushed_sos_id="7", sos_order=sos_order,
                                        sos_gone=False)
    assert classify(found).state == "unaccounted" and "R-ORD-8" in classify(found).why
    assert classify(Facts(**{**found.__dict__, "in_flight": True})).state == "in_flight"


def test_a_pushed_cancelled_order_whose_sos_order_is_gone_is_unaccounted():
    entry = classify(rules.cancelled_order_facts(rules.WC_ORDER, "ord_1", pushed_sos_id="7", sos_order=None,
                                                 sos_gone=True))
    assert entry.state == "unaccounted" and "gone" in entry.why


# -- in flight: the WC change poll (R-PUSH-1) --------------------------------------------------
POLL = {"poll_overlap": timedelta(seconds=120), "poll_interval": timedelta(minutes=1)}


def test_a_change_the_next_poll_still_lists_is_in_flight():
    cursor = NOW - timedelta(hours=1)
    assert rules.wc_change_in_flight(cursor - timedelta(seconds=60), now=NOW, poll_cursor=cursor, **POLL)


def test_a_change_the_poll_cursor_moved_past_is_not_in_flight_once_older_than_two_polls():
    cursor = NOW
    assert not rules.wc_change_in_flight(NOW - timedelta(minutes=10), now=NOW, poll_cursor=cursor, **POLL)
    assert rules.wc_change_in_flight(NOW - timedelta(seconds=90), now=NOW, poll_cursor=cursor, **POLL)


def test_before_the_first_poll_every_change_is_in_flight():
    assert rules.wc_change_in_flight(NOW - timedelta(days=1), now=NOW, poll_cursor=None, **POLL)


# -- window and summary --------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("24h", NOW - timedelta(hours=24)), ("7d", NOW - timedelta(days=7)), ("90m", NOW - timedelta(minutes=90)),
    ("2025-02-28T06:00:00Z", datetime(2025, 2, 28, 6, tzinfo=timezone.utc)),
    ("2025-02-28T06:00:00", datetime(2025, 2, 28, 6, tzinfo=timezone.utc)),
])
def test_window_start_reads_spans_and_iso_times(text, expected):
    assert rules.window_start(text, NOW) == expected


def test_window_start_refuses_anything_else():
    with pytest.raises(ValueError, match="yesterday"):
        rules.window_start("yesterday", NOW)


def test_summary_counts_every_entity_and_class_and_lists_each_unaccounted_record_with_its_fix():
    entries = [classify(facts(synced=True)), classify(facts(wc_id="ord_2", mismatch="no mapping")),
               classify(Facts(rules.SOS_INVOICE, None, "55", mismatch="not in WizCommerce"))]
    result = rules.summary(entries, since=NOW - timedelta(days=1), until=NOW,
                           names={"PUSH_QUEUE_URL": "https://q/push.fifo", "PULL_QUEUE_URL": "https://q/pull"})
    assert set(result["counts"]) == set(rules.LEDGER_ENTITIES)
    assert result["counts"][rules.WC_ORDER] == {"synced": 1, "parked": 0, "blocked": 0, "in_flight": 0,
                                                "skipped": 0, "unaccounted": 1}
    assert result["window"] == {"since": "2025-02-28T12:00:00+00:00", "until": "2025-03-01T12:00:00+00:00"}
    order, invoice = result["unaccounted"]
    assert (order["entity"], order["wc_id"], order["why"]) == (rules.WC_ORDER, "ord_2", "no mapping")
    assert "https://q/push.fifo" in order["fix"] and '"wc_id": "ord_2"' in order["fix"]
    assert "https://q/pull" in invoice["fix"] and '{"stream": "invoices"}' in invoice["fix"]


def test_the_push_fix_command_sends_a_message_the_push_function_accepts():
    from sos_wiz_sync.push.events import RecordChanged

    entry = classify(facts(entity=rules.WC_PAYMENT, mismatch="amount_paid rose"))
    command = rules.fix_command(entry, {"PUSH_QUEUE_URL": "u"})
    body = command.split("--message-body '", 1)[1].split("'", 1)[0]
    assert RecordChanged.model_validate_json(body).entity == "order"
