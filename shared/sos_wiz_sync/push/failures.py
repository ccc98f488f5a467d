"""Which push failures retry and which park (R-REF-2, R-OPS-1).

Permanent (a business problem retrying cannot fix: a line without a usable Reference ID, an
SOS 400) → recorded with its reason and parked in the DLQ at once. Anything else (429, 5xx,
timeouts, a busy record) → raised, so SQS retries with backoff and, after maxReceiveCount,
moves the message to the DLQ itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from ..clients.http import ApiError
from ..models.contract import ContractStop
from ..rules.orders import LineProblem
from ..clients.reasons import SOS_THROTTLED, failure_reason

# Answers that repeat until someone fixes the data. 401/403 are not among them: an expired
# authorization is fixed by an operator once, and the retried messages then go through.
PERMANENT_API_STATUSES = frozenset({400, 404, 409, 422})


class PermanentPushFailure(Exception):
    """A record that cannot be pushed until its data is fixed."""

    def __init__(self, reason: str, lines: Sequence[LineProblem] = (), *, disposition: str | None = None,
                 sos_order_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.lines = list(lines)
        self.disposition = disposition  # e.g. "cancel-blocked" (R-ORD-8): what the ledger calls it
        self.sos_order_id = sos_order_id

    def details(self) -> dict[str, Any]:
        details: dict[str, Any] = {"lines": [line.as_dict() for line in self.lines]} if self.lines else {}
        if self.disposition:
            details["disposition"] = self.disposition
        if self.sos_order_id:
            details["sos_order_id"] = self.sos_order_id
        return details


class RecordBusy(Exception):
    """Another invocation is working on the same record; retry later (transient)."""


def is_permanent(error: BaseException) -> bool:
    if isinstance(error, PermanentPushFailure | ValidationError | ContractStop):  # R-OPS-5: stop, never guess
        return True
    return isinstance(error, ApiError) and error.status in PERMANENT_API_STATUSES


def push_failure_reason(error: BaseException) -> str:
    """The reason an operator reads: ours for business failures, the API's message for a 4xx."""
    if isinstance(error, PermanentPushFailure | ContractStop):
        return error.reason
    if isinstance(error, ApiError) and error.status in PERMANENT_API_STATUSES:
        return f"{error.api} answered {error.status}: {error.message[:200]}"
    reason = failure_reason(error)
    if reason == SOS_THROTTLED:
        return f"{reason}: the SOS account's request rate limit (SOS-A3), not an outage; SQS retries it"
    return reason
