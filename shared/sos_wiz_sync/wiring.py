"""Builds the API clients from configuration: one place that knows how the parts fit."""

from __future__ import annotations

import requests
from aws_lambda_powertools.metrics import MetricUnit

from .clients.budget import BudgetPolicy, SharedBudget
from .clients.http import Pacer, build_session
from .clients.sos import ChangeWindow, SosClient
from .clients.sos_auth import SosTokenManager
from .clients.wiz import WizClient
from .config import SosApiSettings, WizApiSettings
from .observability import metrics
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
    metrics.add_metric(name="SosRateInForce", unit=MetricUnit.CountPerSecond, value=rate)


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


def follow_contract(state_table: str, sos: SosClient, wiz: WizClient) -> dict:
    """The contract readings doctor's probe and the first uses stored (R-OPS-5), read once per
    cold start, handed to the clients (SOS-A11, WC-A5/A9/A10/A11/A14/A16); returned for the push's
    config (SOS-A7). The WizCommerce client records its first-use rows (WC-A17, WC-A18) there."""
    store = ContractReadings(state_table)
    readings = store.all()
    sos.follow_contract(readings)
    wiz.follow_contract(readings)
    wiz.first_use = store.record_first_use
    return readings
