"""Fixtures for the emulator tests: both emulators seeded small and served on free ports,
HTTP clients for them, and a receiver for what they send."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulator_helpers import SEED_ITEMS, Client, Receiver

from local.emulators import SosEmulator, WizEmulator, seed


@pytest.fixture
def sos() -> Iterator[SosEmulator]:
    emulator = SosEmulator()
    seed(emulator, None, items=SEED_ITEMS, customers=10)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def wiz() -> Iterator[WizEmulator]:
    emulator = WizEmulator(webhook_retry_delays=(0.05, 0.05))
    seed(None, emulator, items=SEED_ITEMS, customers=10)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def sos_api(sos: SosEmulator) -> Client:
    return Client(f"{sos.url}/api/v2", {"Authorization": f"Bearer {sos.credentials()['access_token']}"})


@pytest.fixture
def wiz_api(wiz: WizEmulator) -> Client:
    return Client(f"{wiz.url}/v1", {"X-API-Key": wiz.api_key})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()
