"""What the inventory hook queue carries (R-INV-6): written by the SOS hook ingress and by the
inventory pull, read by the hook worker."""

from __future__ import annotations

from pydantic import BaseModel


class InventoryHookMessage(BaseModel):
    """Which item to re-read. `force_write`: send its values even when they equal the last pushed
    ones, because a pull's write based on an older read may have landed after them."""

    item_id: int
    force_write: bool = False
