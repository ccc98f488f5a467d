"""Which WC events for an already linked record are applied: newer ones only, never our echo
(DESIGN failure model: at least once, out of order, replayed hours later). Pure."""

from __future__ import annotations

from datetime import datetime


def version_skip_reason(incoming: int, applied: int | None, echo: int | None) -> str | None:
    """Why an event is not applied, or None when it is newer than what SOS has.

    `applied` is the last WC version pushed to SOS, `echo` the version our own write to WC
    produced: its webhook is our echo, not an edit (no ping-pong).
    """
    if echo is not None and incoming == echo:
        return "echo of our own write to WizCommerce"
    if applied is not None and incoming < applied:
        return f"stale: version {incoming} is older than the pushed version {applied}"
    if applied is not None and incoming == applied:
        return f"version {incoming} is already pushed"
    return None


def timestamp_version(updated_at: datetime | None) -> int:
    """A version for records without one (customers): `updated_at` in epoch milliseconds."""
    return int(updated_at.timestamp() * 1000) if updated_at else 0
