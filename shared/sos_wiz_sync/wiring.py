"""Builds the API clients from configuration: one place that knows how the parts fit."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
from aws_lambda_powertools.metrics import MetricUnit

from .clients.budget import BudgetPolicy, SharedBudget
from .clients.http import Pacer, build_session
from .clients.sos import ChangeWindow, SosClient
from .clients.sos_auth import SosTokenManager
from .clients.wiz import WizClient
from .config import SosApiSettings, WizApiSettings
from .observability import add_metric
from .secrets import SecretStore
from .store.budget import BudgetTable
from .store.contract import ContractReadings
from .store.leases import Leases


def sos_pacer(api: SosApiSettings, state_table: str) -> Pacer:
    """The deployment's shared SOS budget at this function's priority (R-CFG-4), or, switched
    off, pacing per process as before."""
    if not api.sos_shared_budget:
        return Pacer(api.sos_max_rps)
    return SharedBudget(BudgetTable(state_table), BudgetPolicy(api.sos_max_rps), api.sos_priority,
                        on_rate=report_sos_rate)


def report_sos_rate(rate: float) -> None:
    """The deployment's SOS rate in force, as a metric whenever this function sees it change."""
    add_metric("SosRateInForce", rate, MetricUnit.CountPerSecond)


def build_sos_client(api: SosApiSettings, *, state_table: str, secrets: SecretStore) -> SosClient:
    pacer = sos_pacer(api, state_table)
    session = build_session(pool_size=api.sos_max_concurrency + 2, pacer=pacer)
    first_use = ContractReadings(state_table).record_first_use  # R-OPS-5: SOS-A1, A8, A20
    tokens = SosTokenManager(secret_id=api.sos_secret_id, token_url=api.sos_token_url, secrets=secrets,
                             leases=Leases(state_table), session=build_session(retries=3),
                             timeout=api.http_timeout_seconds, first_use=first_use)
    return SosClient(base_url=api.sos_api_base_url, tokens=tokens, session=session, pacer=pacer,
                     timeout=api.http_timeout_seconds,
                     window=ChangeWindow(api.sos_timezone, api.sos_updatedsince_overlap_seconds), first_use=first_use)


def wiz_session(concurrency: int) -> requests.Session:
    # PATCH sets the fields it names: replayed after a 5xx it ends the same. A POST is never
    # replayed by the session (WC-A2: a create that landed would be made twice); WizClient._post
    # looks a create up by its reference_id first, and replays only the inventory upsert.
    return build_session(safe_write_methods=("PATCH",), pool_size=concurrency + 2)


def build_wiz_client(api: WizApiSettings, *, secrets: SecretStore) -> WizClient:
    session = wiz_session(api.wiz_max_concurrency)
    api_key = secrets.read(api.wiz_secret_id)["api_key"]
    return WizClient(base_url=api.wiz_api_base_url, api_key=api_key, session=session,
                     timeout=api.http_timeout_seconds)


class ContractFollower:
    """The stored contract readings (R-OPS-5) handed to the clients (SOS-A11, WC-A10, …) and kept
    current in a warm container: a reading doctor or the first sync stores after the container
    started reaches it at the next read (SOS-A7/A11, WC-A5/A9/A10/A11/A14/A16). A read is one Query of the CONTRACT# items (gsi1: one page
    of at most ~40 items of under 1 KB, about 2 read units); `reread_seconds` bounds how often
    `follow_if_due` pays it (0: every time, as the pull does at each run start)."""

    def __init__(self, store: ContractReadings, sos: SosClient, wiz: WizClient, *, reread_seconds: float = 0.0,
                 clock: Callable[[], float] = time.monotonic):
        self.store, self._sos, self._wiz = store, sos, wiz
        self._reread_seconds, self._clock = reread_seconds, clock
        self._read_at: float | None = None
        self.readings: dict[str, dict[str, Any]] = {}
        wiz.first_use = store.record_first_use  # WC-A17, WC-A18 recorded at their first occurrence

    def follow(self) -> dict[str, dict[str, Any]]:
        """Read the stored readings now and hand them to the clients; returned for the push's
        config (SOS-A7)."""
        self.readings = self.store.all()
        self._read_at = self._clock()
        self._sos.follow_contract(self.readings)
        self._wiz.follow_contract(self.readings)
        return self.readings

    def follow_if_due(self) -> dict[str, dict[str, Any]] | None:
        """The readings read again when the last read is `reread_seconds` old; None when not due."""
        if self._read_at is not None and self._clock() - self._read_at < self._reread_seconds:
            return None
        return self.follow()
