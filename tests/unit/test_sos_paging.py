"""The SOS client's pure parts: the updatedsince window, the saved cursor, error classes."""

from __future__ import annotations

import pytest

from sos_wiz_sync.clients.sos import ChangeWindow, OffsetCursor, SosError


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
