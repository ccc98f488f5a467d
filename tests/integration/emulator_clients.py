"""Our two clients pointed at running emulators, without retries or backoff (a test's answers
come at once), optionally recording first-use contract rows (R-OPS-5)."""

from __future__ import annotations

from collections.abc import Callable

from local.emulators import SosEmulator, WizEmulator
from sos_wiz_sync.clients.http import build_session
from sos_wiz_sync.clients.sos import Backoff, SosClient
from sos_wiz_sync.clients.sos_auth import SosTokenManager
from sos_wiz_sync.clients.wiz import WizClient
from sos_wiz_sync.secrets import SecretStore
from sos_wiz_sync.store.leases import Leases
from sos_wiz_sync.wiring import wiz_session


def sos_client(sos: SosEmulator, make_secret, state_table: str, *,
               first_use: Callable[[str, str, str], bool] | None = None) -> SosClient:
    extra = {"first_use": first_use} if first_use else {}
    tokens = SosTokenManager(secret_id=make_secret(sos.credentials()), token_url=f"{sos.url}/oauth2/token",
                             secrets=SecretStore(), leases=Leases(state_table), session=build_session(retries=0),
                             **extra)
    return SosClient(base_url=f"{sos.url}/api/v2", tokens=tokens, session=build_session(retries=0),
                     backoff=Backoff(attempts=1), **extra)


def emulator_clients(sos: SosEmulator, wiz: WizEmulator, make_secret, state_table: str) -> tuple[SosClient, WizClient]:
    return (sos_client(sos, make_secret, state_table),
            WizClient(base_url=wiz.url, api_key=wiz.api_key, session=wiz_session(2)))
