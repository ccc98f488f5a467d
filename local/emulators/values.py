"""Pure values both the emulators and their seed data need: time stamps and kit availability.

Kept below base, sos and seed so that none of them imports another to reach these.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def format_stamp(micros: int) -> str:
    """ISO-8601 UTC with fixed-width microseconds, so string order is time order."""
    return (_EPOCH + timedelta(microseconds=micros)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_stamp(text: str) -> int:
    """Microseconds since the epoch of an ISO-8601 time (naive means UTC); ValueError if bad."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def canonical_stamp(text: str) -> str:
    return format_stamp(parse_stamp(text))


def kit_available(parts: Iterable[tuple[float, float]]) -> int:
    """Whole kits the components allow: parts are (component available, quantity per kit)."""
    return max(0, min((math.floor(available / per) for available, per in parts), default=0))
