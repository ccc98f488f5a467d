"""What applying one webhook event did: the idempotency record stores it, so a replay answers
the same without touching SOS again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

from pydantic import BaseModel

from ..clients.http import ApiError
from ..store.mappings import Entity

R = TypeVar("R")

Status = Literal["created", "adopted", "updated", "edit-blocked", "cancelled", "ignored"]


class PushOutcome(BaseModel):
    entity: Entity
    wc_id: str
    status: Status
    sos_id: str | None = None
    reason: str | None = None  # why it was ignored or blocked (logged; no record data in it)


def current_state(read: Callable[[str], R], wc_id: str) -> R | None:
    """The record's current state, read from WizCommerce; None when WizCommerce no longer has it
    (the announcement outlived the record: nothing to push)."""
    try:
        return read(wc_id)
    except ApiError as exc:
        if exc.status != 404:
            raise
        return None


def gone(entity: Entity, wc_id: str) -> PushOutcome:
    return PushOutcome(entity=entity, wc_id=wc_id, status="ignored", reason="not in WizCommerce any more")
