"""The SOS client's pure parts: the updatedsince window, the saved cursor, error classes; what
an answer is (on canned HTTP answers); the bounded step-back of the pager."""

from __future__ import annotations

import json
from itertools import islice

import pytest

from sos_wiz_sync.clients import sos as sos_client
from sos_wiz_sync.clients.sos import (
    STALLED_PAGES_MAX,
    UNRECOGNISED,
    Backoff,
    ChangeWindow,
    OffsetCursor,
    SosClient,
    SosError,
)


def test_a_window_starts_the_margin_before_the_previous_run_in_the_accounts_zone():
    assert ChangeWindow("UTC", 300).since("2026-07-01T12:00:00.123456+00:00") == "2026-07-01T11:55:00"
    # Pacific daylight time is UTC−7 in July, standard time UTC−8 in January
    assert ChangeWindow("America/Los_Angeles", 0).since("2026-07-01T12:00:00+00:00") == "2026-07-01T05:00:00"
    assert ChangeWindow("America/Los_Angeles", 60).since("2026-01-15T08:00:30Z") == "2026-01-14T23:59:30"
    assert ChangeWindow("UTC", 0).since("2026-07-01T12:00:00") == "2026-07-01T12:00:00"  # naive = UTC


def test_a_cursor_survives_a_checkpoint():
    cursor = OffsetCursor(start=401, anchors=(7, 9, 12), since="2026-07-01T11:55:00")
    assert OffsetCursor.from_dict(cursor.to_dict()) == cursor
    assert OffsetCursor.from_dict(None) == OffsetCursor() == OffsetCursor.from_dict({})


@pytest.mark.parametrize("http, status, message, throttled, transient, stale, code", [
    (200, "error", "Throttle limit exceeded", True, True, False, 502),
    (429, "error", "Throttle limit exceeded", True, True, False, 429),
    (200, "failed", "backend unavailable", False, True, False, 502),
    (400, "invalid", "This record has been modified by someone else since you retrieved it", False, False, True, 400),
    (200, "invalid", "id of posted object is incorrect", False, False, True, 400),
    (200, "invalid", "name is required", False, False, False, 400),
    (404, "error", "Not found", False, False, False, 404),
])
def test_sos_errors_are_classified_from_status_and_message(http, status, message, throttled, transient, stale, code):
    error = SosError("GET", "/item", http, status, message)
    assert (error.throttled, error.transient, error.stale, error.status) == (throttled, transient, stale, code)


# -- what an answer is (SOS-A2, SOS-A18, SOS-A20), on canned HTTP answers ---------------------------

class Answer:
    """A canned HTTP answer: what `requests.Response` offers the client."""

    def __init__(self, body: object = None, status_code: int = 200):
        self.status_code = status_code
        self.text = body if isinstance(body, str) else ("" if body is None else json.dumps(body))
        self.reason = "OK" if status_code < 400 else "Error"

    def json(self) -> object:
        return json.loads(self.text)


class CannedSession:
    """Answers each request with the next canned answer (the last one repeats)."""

    def __init__(self, *answers: Answer):
        self.answers = list(answers)
        self.calls: list[tuple[str, str, dict | None]] = []

    def request(self, method, url, params=None, **_):
        self.calls.append((method, url, params))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class StaticTokens:
    def access_token(self) -> str:
        return "token"

    def refresh(self, token: str) -> str:
        return "token"


def canned(*answers: Answer) -> SosClient:
    return SosClient(base_url="https://sos.example/api/v2", tokens=StaticTokens(), session=CannedSession(*answers),
                     backoff=Backoff(attempts=3, sleep=lambda seconds: None))


INVOICE = {"id": 5, "number": "INV-5", "status": "Open", "total": 10, "balance": 10}


@pytest.mark.parametrize("body", [
    INVOICE,                                                    # bare, its own status "Open"
    {**INVOICE, "status": "Failed"},                            # bare, an error-like status of its own
    {**INVOICE, "message": "a note"},                           # bare, a field named message
    {"status": "ok", "message": "", "data": INVOICE},           # wrapped
    {"data": INVOICE},                                          # wrapped, no status
])
def test_a_single_record_is_recognised_by_its_id_never_by_its_own_status_sos_a2(body):
    # a bare record is the record, every field of it kept (an invoice's status stays "Open")
    assert canned(Answer(body)).get("invoice", 5) == body.get("data", body)


@pytest.mark.parametrize("body, sos_status", [
    ({"id": 5, "status": "error", "message": "Record is locked"}, "error"),    # an envelope word and a message
    ({"status": "invalid", "message": "name is required"}, "invalid"),
])
def test_an_error_envelope_is_an_error_even_beside_an_id(body, sos_status):
    with pytest.raises(SosError) as failure:
        canned(Answer(body)).create_customer({"name": ""})
    assert failure.value.sos_status == sos_status


@pytest.mark.parametrize("body", [
    {"message": "Throttle limit exceeded"},                        # SOS-A18: the message alone
    {"status": "error", "message": "Throttle limit exceeded"},
    {"status": "failed", "message": "THROTTLE LIMIT EXCEEDED"},    # any casing
    {"error": {"detail": "throttle limit exceeded, slow down"}},   # anywhere in the envelope
    "Throttle limit exceeded",                                      # not even JSON
])
@pytest.mark.parametrize("method", ["GET list", "GET record", "POST"])
def test_a_throttle_in_any_form_is_retried_then_raised_as_a_throttle_never_data(body, method):
    page = {"status": "ok", "count": 1, "totalCount": 1, "data": [INVOICE]}
    good = Answer({"GET list": page, "GET record": INVOICE, "POST": {"id": 7, "name": "x"}}[method])
    client = canned(Answer(body), good)  # throttled once, then answered
    call = {"GET list": lambda c: c.list_all("invoice"), "GET record": lambda c: c.get("invoice", 5),
            "POST": lambda c: c.create_customer({"name": "x"}).model_dump()}[method]
    assert call(client)
    assert len(client._session.calls) == 2
    persistent = canned(Answer(body))
    with pytest.raises(SosError) as failure:
        call(persistent)
    assert failure.value.throttled and failure.value.transient
    assert len(persistent._session.calls) == 3  # every attempt of the backoff


def test_throttle_text_inside_a_record_is_data_not_a_throttle():
    customer = {"id": 9, "name": "Throttle Limit Exceeded Ltd", "notes": "throttle limit exceeded"}
    assert canned(Answer({"status": "ok", "data": [customer], "totalCount": 1})).list_all("customer") == [customer]
    assert canned(Answer(customer)).get("customer", 9)["name"] == customer["name"]


@pytest.mark.parametrize("body, read", [
    ({"message": "done"}, "record"),                           # no status, data or id (SOS-A18)
    ({}, "record"),
    ({"status": "ok", "message": ""}, "record"),                # ok, but no record
    ({"status": "ok", "data": {"name": "no id"}}, "record"),   # a record without an id
    ({"status": "ok", "data": None}, "record"),
    ({"message": "done"}, "list"),
    ({"status": "ok", "message": "", "totalCount": 0}, "list"),  # ok without data is no empty last page
    ({"status": "ok", "data": None}, "list"),
    ({"status": "ok", "data": {"id": 1}}, "list"),
    (INVOICE, "list"),                                         # a record where a list was asked
    ("", "record"),                                            # an empty 200
    ("<html>gateway</html>", "list"),
])
def test_an_answer_that_is_not_recognisably_a_success_is_not_one_sos_a18(body, read):
    client = canned(Answer(body))
    with pytest.raises(SosError) as failure:
        client.list_all("item") if read == "list" else client.get("item", 1)
    assert failure.value.sos_status == UNRECOGNISED and "not" in failure.value.message
    assert len(client._session.calls) == 3  # a read is retried like an error page, then raised


def test_an_unrecognisable_answer_to_a_write_is_raised_once_never_repeated():
    client = canned(Answer({"message": "done"}))
    with pytest.raises(SosError) as failure:
        client.create_sales_order({"number": "WC-1"})
    assert failure.value.transient and len(client._session.calls) == 1  # it may have been applied (SOS-A13)


@pytest.mark.parametrize("answer", [Answer("", 204), Answer("", 200), Answer({"status": "ok", "data": {"id": 3}})])
def test_deleting_a_hook_accepts_json_or_an_empty_2xx_sos_a20(answer):
    client = canned(answer)
    client.delete_hook(3)
    assert client._session.calls == [("DELETE", "https://sos.example/api/v2/hook/3", None)]


def test_an_empty_answer_is_still_no_record():
    with pytest.raises(SosError):
        canned(Answer("", 204)).create_hook("https://example.com/webhooks/sos/t")


# -- the pager's step-back is bounded ------------------------------------------------------------------

def test_a_pager_whose_rows_move_on_every_read_gives_up_without_skipping(monkeypatch):
    """Rows 1..4 stay; whatever is at row 4 and on is new on every read (rows keep moving):
    each page steps back to row 1 and gets no further. The read ends with a transient error
    after STALLED_PAGES_MAX such pages, its last cursor never past an unread row."""
    monkeypatch.setattr(sos_client, "PAGE_SIZE", 4)
    fresh = iter(range(1000, 100000))

    class Moving(CannedSession):
        def request(self, method, url, params=None, **_):
            self.calls.append((method, url, params))
            rows = [{"id": n} for n in range(1, 5)] if params["start"] == 1 else [{"id": next(fresh)} for _ in range(4)]
            return Answer({"status": "ok", "totalCount": 100, "data": rows})

    client = SosClient(base_url="https://sos.example/api/v2", tokens=StaticTokens(), session=Moving())
    pages = []
    with pytest.raises(SosError) as failure:
        for page in islice(client.iter_pages("item"), 50):
            pages.append(page)
    assert failure.value.transient and "SOS-A5" in failure.value.message
    assert len(pages) == 1 + STALLED_PAGES_MAX
    assert all(page.cursor.start <= 5 for page in pages)  # the checkpoint never passed row 5
