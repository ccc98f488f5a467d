"""What the push logic works with, built once per cold start and passed in (easy to test)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..clients.sos import SosClient
from ..clients.wiz import WizClient
from ..rules.push_config import PushConfig
from ..store.contract import FirstUse, ignore_first_use
from ..store.leases import Leases
from ..store.mappings import Mappings
from ..store.state import SyncState
from .failures import RecordBusy

LEASE_SECONDS = 60          # longer than one record's SOS calls; a dead holder frees it by then
LEASE_WAIT_SECONDS = 10.0   # a short wait beats an SQS retry a visibility timeout later
LEASE_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class PushDeps:
    sos: SosClient
    wiz: WizClient
    mappings: Mappings
    state: SyncState
    leases: Leases
    config: PushConfig
    first_use: FirstUse = ignore_first_use  # records what a delivery shows the first time (WC-A6, WC-A7)
    # WC customer id → SOS customer id, for this container's life: a link is never re-pointed
    # (Mappings.link refuses), so what was read once stays true and saves a read per order.
    linked_customers: dict[str, int] = field(default_factory=dict)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold a lease on `name` (e.g. one WC customer that orders in several FIFO groups may
        create at once), waiting briefly for another holder; RecordBusy if it stays taken."""
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + LEASE_WAIT_SECONDS
        while not self.leases.acquire(f"push#{name}", owner, LEASE_SECONDS):
            if time.monotonic() > deadline:
                raise RecordBusy(f"{name} is being pushed by another invocation")
            time.sleep(LEASE_POLL_SECONDS)
        try:
            yield
        finally:
            self.leases.release(f"push#{name}", owner)
