"""Open failures and parked messages, and the retry after the cause is fixed (R-OPS-1, R-REF-2).

A retry puts the parked message back on its queue; the push function then applies it once:
its idempotency record only remembers events that succeeded, and every SOS create is guarded
by the record's unique number (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from ..store.mappings import ENTITIES
from ..store.state import SyncState
from .dead_letters import ParkedMessage, move_back, peek, start_redrive
from .targets import DeadLetterQueue

Redrive = Callable[[Any, DeadLetterQueue], dict[str, Any]]  # (sqs, dlq) → what was started or moved


def failures_overview(state: SyncState, sqs: Any, dlqs: list[DeadLetterQueue], limit: int = 100) -> dict[str, Any]:
    return {"open": state.open_failures(limit),
            "parked": [asdict(message) for dlq in dlqs for message in peek(sqs, dlq, limit)]}


def retry(state: SyncState, sqs: Any, dlqs: list[DeadLetterQueue], record_id: str | None = None, *,
          redrive: Redrive = start_redrive, limit: int = 1000) -> dict[str, Any]:
    """One record's parked messages (`record_id`: WC id, event id or SQS message id) back to
    their queue; or, without one, every DLQ redriven as a whole."""
    if record_id is not None:
        moved = [m for dlq in dlqs for m in move_back(sqs, dlq, lambda parked: parked.matches(record_id), limit)]
        _note_retries(state, moved)
        return {"moved": [asdict(m) for m in moved], "redrives": []}
    redrives = []
    for dlq in dlqs:
        parked = peek(sqs, dlq, limit)
        if parked:
            _note_retries(state, parked)
            redrives.append(redrive(sqs, dlq))
    return {"moved": [], "redrives": redrives}


def _note_retries(state: SyncState, messages: list[ParkedMessage]) -> None:
    """The operator's retry goes into each record's history, so `trace` tells why it came back."""
    state.record_events({"entity": m.entity, "record_id": m.record_id, "action": "retry-requested", "source": "ops",
                         "queue": m.queue, "change_id": m.change_id} for m in messages if m.entity in ENTITIES)
