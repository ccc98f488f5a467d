"""Versions for WC records, which carry none of their own. Pure."""

from __future__ import annotations

from datetime import datetime


def timestamp_version(updated_at: datetime | None) -> int:
    """A version for records without one (customers): `updated_at` in epoch milliseconds."""
    return int(updated_at.timestamp() * 1000) if updated_at else 0
