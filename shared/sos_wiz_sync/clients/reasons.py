"""Failure reasons to count by, shared by the pull (sync/) and the push (push/) layers.

Kept beside the clients, whose `ApiError` it reads, so that neither layer imports the other.
"""

from __future__ import annotations

from .http import ApiError
from .sos import SosError

# SOS refused for the account's request rate limit (SOS-A3), in either form (429 or HTTP 200
# "Throttle limit exceeded", which SosError otherwise codes 502): waiting, not an outage.
SOS_THROTTLED = "sos-throttled"


def failure_reason(error: BaseException) -> str:
    """A short, stable reason to count failures by (no record data in it)."""
    if isinstance(error, SosError) and error.throttled:
        return SOS_THROTTLED
    if isinstance(error, ApiError):
        return f"{error.api.lower()}-{error.status}"
    return type(error).__name__
