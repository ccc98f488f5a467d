"""The WC change poll (R-PUSH-1): what it asks WizCommerce for, what it queues, where its cursor
goes — a window overlapping the last one, each change queued once, nothing skipped; nothing
before the first sync (R-TIME-2)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from fake_aws import FakeSqs

from local.emulators import WizEmulator

from sos_wiz_sync.clients.wiz import WizClient, wc_time
from sos_wiz_sync.push.poll import WcChangePoll, window_start
from sos_wiz_sync.wiring import wiz_session

FIRST_SYNC_DONE = "2026-05-01T11:58:00.000000Z"
OVERLAP = timedelta(seconds=120)


class FakeWiz:
    """Lists changes as `WizClient.changed_since` does: after the window start floored to the
    second (`updated_after` strict), the filters given, oldest first."""

    def __init__(self, records: dict[str, list[dict]]):
        self.records = records
        self.asked: list[tuple[str, dict]] = []

    def changed_since(self, resource: str, after: datetime, **filters):
        self.asked.append((resource, {"updated_after": wc_time(after), **filters}))
        after = after.replace(microsecond=0)
        rows = [r for r in self.records[resource]
                if datetime.fromisoformat(r["updated_at"].replace("Z", "+00:00")) > after
                and all(r.get("status") == v for k, v in filters.items() if k == "order_status")]
        rows.sort(key=lambda r: r["updated_at"])
        for start in range(0, len(rows), 3):
            yield rows[start:start + 3]


class FakeState:
    def __init__(self):
        self.streams: dict[str, dict] = {}
        self.first_sync = {"status": "done", "finished_at": FIRST_SYNC_DONE}
        self.heartbeats: list[str] = []

    def first_sync_status(self) -> dict:
        return self.first_sync

    def load_stream(self, stream: str) -> dict:
        return self.streams.get(stream, {})

    def save_stream(self, stream: str, *, cursor: dict | None, run: dict | None) -> None:
        self.streams[stream] = {"cursor": cursor, "run": run}

    def record_heartbeat(self, source: str) -> None:
        self.heartbeats.append(source)


class FakeContract:
    """The stored contract readings (store/contract.py), by id."""

    def __init__(self, readings: dict[str, dict] | None = None):
        self.readings = readings or {}

    def reading(self, row_id: str) -> dict | None:
        return self.readings.get(row_id)


def order(n: int, stamp: str, status: str = "confirmed") -> dict:
    return {"id": f"ord_{n}", "status": status, "updated_at": stamp}


def make_poll(wiz: FakeWiz | WizClient, contract: FakeContract | None = None) -> tuple[WcChangePoll, FakeSqs,
                                                                                     FakeState]:
    sqs, state = FakeSqs(), FakeState()
    return WcChangePoll(wiz=wiz, state=state, contract=contract or FakeContract(), sqs=sqs,
                        queue_url="https://sqs/push.fifo", overlap=OVERLAP), sqs, state


def queued_ids(sqs: FakeSqs) -> list[str]:
    return [json.loads(m["MessageBody"])["wc_id"] for m in sqs.sent]


def test_the_filter_is_whole_seconds_utc_rounded_down_less_the_overlap_and_first_starts_at_the_first_sync():
    assert wc_time(window_start("2026-05-01T12:00:05.999999Z", FIRST_SYNC_DONE, OVERLAP)) == "2026-05-01T11:58:05Z"
    assert wc_time(window_start(None, "2026-05-01T11:58:00.5Z", OVERLAP)) == "2026-05-01T11:58:00Z"


def test_nothing_is_polled_before_the_first_sync_is_done():
    wiz = FakeWiz({"orders": [order(1, "2026-05-01T11:59:00Z")], "customers": []})
    poll, sqs, state = make_poll(wiz)
    state.first_sync = {"status": "running"}
    assert poll.run()["status"] == "blocked"
    assert wiz.asked == [] and sqs.sent == []
    assert state.heartbeats == []  # doctor must not read a blocked poll as a running one


def test_what_changed_before_the_first_sync_finished_is_not_pushed_as_new():
    wiz = FakeWiz({"orders": [order(1, "2026-05-01T11:57:59Z"), order(2, "2026-05-01T11:58:01Z")], "customers": []})
    poll, sqs, state = make_poll(wiz)
    poll.run()
    assert queued_ids(sqs) == ["ord_2"]
    assert state.heartbeats == ["wc-change-poll"]  # what `sos-wiz-ops doctor` reads


def test_confirmed_orders_and_customers_are_asked_for_oldest_first_and_queued_once_each():
    wiz = FakeWiz({"orders": [order(1, "2026-05-01T11:59:00.000001Z"), order(2, "2026-05-01T11:59:10Z", "draft")]
                   + [order(n, f"2026-05-01T11:59:{20 + n}Z") for n in range(3, 9)],
                   "customers": [{"id": "cust_1", "updated_at": "2026-05-01T11:59:59Z"}]})
    poll, sqs, state = make_poll(wiz)
    assert poll.run() == {"order": 7, "order-cancelled": 0, "customer": 1}
    assert [(resource, filters.get("order_status")) for resource, filters in wiz.asked] == [
        ("orders", "confirmed"), ("orders", "cancelled"), ("customers", None)]
    assert queued_ids(sqs) == ["ord_1", *(f"ord_{n}" for n in range(3, 9)), "cust_1"]
    first = json.loads(sqs.sent[0]["MessageBody"])
    assert first == {"id": "poll:order:ord_1:2026-05-01T11:59:00.000001Z", "entity": "order", "wc_id": "ord_1",
                     "source": "poll"}
    assert sqs.sent[0]["MessageGroupId"] == "order#ord_1"
    assert state.streams["wc-poll-order"]["cursor"]["updated_at"] == "2026-05-01T11:59:28Z"


def test_orders_cancelled_since_the_cursor_are_listed_and_queued_like_any_order_change():
    """R-ORD-8, WC-A19: a cancelled order stays listed under order_status=cancelled; the poll
    lists that status too (its own cursor) and queues the cancellation as "order X changed"."""
    wiz = FakeWiz({"orders": [order(1, "2026-05-01T11:59:00Z"), order(2, "2026-05-01T11:59:05Z", "cancelled")],
                   "customers": []})
    poll, sqs, state = make_poll(wiz)
    assert poll.run() == {"order": 1, "order-cancelled": 1, "customer": 0}
    assert queued_ids(sqs) == ["ord_1", "ord_2"]
    assert json.loads(sqs.sent[1]["MessageBody"])["entity"] == "order" and sqs.sent[1]["MessageGroupId"] == "order#ord_2"


def test_wc_a19_fitting_neither_reading_stops_the_cancelled_listing_and_the_others_still_run():
    """WC-A19 stored NEITHER (order_status=cancelled answered what no reading says): the cancelled
    orders are not listed (no guess at what that listing shows), its cursor is kept for when the
    row settles, the poll says why; confirmed orders and customers are polled as ever."""
    wiz = FakeWiz({"orders": [order(1, "2026-05-01T11:59:00Z"), order(2, "2026-05-01T11:59:05Z", "cancelled")],
                   "customers": [{"id": "cust_1", "updated_at": "2026-05-01T11:59:59Z"}]})
    contract = FakeContract({"WC-A19": {"reading": "neither", "evidence": "order_status=cancelled answered HTTP 400"}})
    poll, sqs, state = make_poll(wiz, contract)
    result = poll.run()
    assert result["order"] == 1 and result["customer"] == 1 and result["order-cancelled"] == 0
    assert "WC-A19" in result["stopped"]["order-cancelled"] and "HTTP 400" in result["stopped"]["order-cancelled"]
    assert ("orders", "cancelled") not in [(r, f.get("order_status")) for r, f in wiz.asked]
    assert queued_ids(sqs) == ["ord_1", "cust_1"] and "wc-poll-order-cancelled" not in state.streams
    assert state.heartbeats == ["wc-change-poll"]
    contract.readings["WC-A19"] = {"reading": "listed"}  # settled since: the listing runs again
    assert poll.run() == {"order": 0, "order-cancelled": 1, "customer": 0}
    assert state.streams["wc-poll-order-cancelled"]["cursor"]["updated_at"] == "2026-05-01T11:59:05Z"
    assert state.streams["wc-poll-order"]["cursor"]["updated_at"] == "2026-05-01T11:59:00Z"
    # And seen again by the overlap, unchanged: not queued again
    sqs.sent.clear()
    poll.run()
    assert sqs.sent == []


def test_the_overlap_lists_again_but_queues_only_what_changed_since():
    wiz = FakeWiz({"orders": [order(1, "2026-05-01T11:59:00Z"), order(2, "2026-05-01T11:59:30Z")], "customers": []})
    poll, sqs, _ = make_poll(wiz)
    poll.run()
    # Given order 2 edited again (a payment, say) and order 3 confirmed
    wiz.records["orders"][1] = order(2, "2026-05-01T12:00:40Z")
    wiz.records["orders"].append(order(3, "2026-05-01T12:00:41Z"))
    sqs.sent.clear()
    # When the next poll runs: its window reaches back over orders 1 and 2's old state
    poll.run()
    # Then only the changes are queued, order 1 not again
    assert queued_ids(sqs) == ["ord_2", "ord_3"]
    sqs.sent.clear()
    poll.run()
    assert sqs.sent == []


def test_a_change_stamped_before_the_cursor_but_listed_late_is_still_queued():
    wiz = FakeWiz({"orders": [order(1, "2026-05-01T11:59:50Z")], "customers": []})
    poll, sqs, _ = make_poll(wiz)
    poll.run()
    # A write stamped before the newest one seen, visible only now (inside the overlap)
    wiz.records["orders"].append(order(2, "2026-05-01T11:59:20Z"))
    sqs.sent.clear()
    poll.run()
    assert queued_ids(sqs) == ["ord_2"]


def test_with_nothing_changed_the_cursor_stays():
    wiz = FakeWiz({"orders": [], "customers": []})
    poll, sqs, state = make_poll(wiz)
    assert poll.run() == {"order": 0, "order-cancelled": 0, "customer": 0}
    assert sqs.sent == [] and state.streams == {}


@pytest.mark.parametrize("spacing_ms, edit_after", [
    (100, 1),   # ten changes a second: the edit lands between page reads of the keyset pass
    (1, 1),     # 250 changes within one second: more than a page, read as a slice by page number
    (1, 3),     # ... and the edit lands while that slice is read
])
def test_a_record_edited_between_two_page_reads_skips_no_other_record(spacing_ms: int, edit_after: int):
    """Point 5: paging oldest first by page number, an edit moves a record read already to the
    end, the rows behind it move up a page and one is never read, while the cursor moves past it."""
    wiz = WizEmulator()
    start = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    customers = [{"id": f"cust_{n}", "reference_id": str(n), "name": f"C{n}", "display_name": f"C{n}",
                  "status": "active", "addresses": [],
                  "updated_at": (start + timedelta(milliseconds=spacing_ms * n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
                 for n in range(1, 251)]
    wiz.load(customers=customers)
    wiz.after_requests(edit_after, lambda: wiz.update_customer("cust_5", phone="+1-555-0105"), method="GET",
                       path="/v1/customers")
    with wiz:
        client = WizClient(base_url=wiz.url, api_key=wiz.api_key, session=wiz_session(2))
        poll, sqs, state = make_poll(client)
        assert poll.run()["customer"] == 251  # every record, and cust_5 again as edited
    assert set(queued_ids(sqs)) == {c["id"] for c in customers}
    assert state.streams["wc-poll-customer"]["cursor"]["updated_at"] == wiz.customers["cust_5"]["updated_at"]
