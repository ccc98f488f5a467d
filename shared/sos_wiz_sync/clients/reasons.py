"""Failure reasons to count by, shared by the pull (sync/) and the push (push/) layers.

Kept beside the clients, whose `ApiError` it reads, so that neither layer imports the other.
"""

from __future__ import annotations

from .http import ApiError


def failure_reason(error: BaseException) -> str:
    """A short, stable reason to count failures by (no record data in it)."""
    if isinstance(error, ApiError):
        return f"{error.api.lower()}-{error.status}"
    return type(error).__name__
