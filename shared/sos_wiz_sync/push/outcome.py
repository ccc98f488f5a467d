"""What applying one webhook event did: the idempotency record stores it, so a replay answers
the same without touching SOS again."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from ..store.mappings import Entity

Status = Literal["created", "adopted", "updated", "edit-blocked", "ignored"]


class PushOutcome(BaseModel):
    entity: Entity
    wc_id: str
    status: Status
    sos_id: str | None = None
    reason: str | None = None  # why it was ignored or blocked (logged; no record data in it)
