"""Versions for WC records, which carry none of their own. Pure."""

from __future__ import annotations

from datetime import datetime


def timestamp_version(updated_at: datetime | None) -> int:
    """A version for WC records, which have none: `updated_at` in epoch milliseconds."""
    return int(updated_at.timestamp() * 1000) if updated_at else 0


def is_our_write(updated_at: datetime | None, echo_version: int | None) -> bool:
    """Whether a WC record is still as our own last write (a pull's, content from SOS) left it:
    that state is SOS's already, nothing to push back."""
    return echo_version is not None and updated_at is not None and timestamp_version(updated_at) == echo_version
