"""SOS OAuth tokens (R-CFG-1): read from Secrets Manager, refreshed once, written back first.

SOS may rotate refresh tokens ([assumed]: the old one stops working once a new pair is issued). So the new
pair is written to the secret before it is used, and a lease makes sure two invocations
never both spend the same refresh token; the loser picks up the winner's pair from the secret.
"""

from __future__ import annotations

import threading
import time
import uuid

import requests
from pydantic import BaseModel, ConfigDict

from ..observability import logger
from ..secrets import SecretStore
from ..store.contract import FirstUse, ignore_first_use
from ..store.leases import Leases

REFRESH_LEASE = "sos-oauth-refresh"


class SosCredentials(BaseModel):
    model_config = ConfigDict(extra="allow")

    access_token: str
    refresh_token: str
    client_id: str
    client_secret: str


class SosAuthError(Exception):
    """SOS refused the refresh: an operator has to re-authorize the account."""


class SosTokenManager:
    def __init__(self, *, secret_id: str, token_url: str, secrets: SecretStore, leases: Leases,
                 session: requests.Session, timeout: float = 20.0, wait_for_peer_seconds: float = 20.0,
                 first_use: FirstUse = ignore_first_use):
        self._secret_id = secret_id
        self._token_url = token_url
        self._secrets = secrets
        self._leases = leases
        self._session = session
        self._timeout = timeout
        self._wait_for_peer = wait_for_peer_seconds
        self._lock = threading.Lock()
        self._access_token: str | None = None
        self._first_use = first_use  # SOS-A1: whether a refresh rotates, recorded the first time

    def _load(self, *, fresh: bool) -> SosCredentials:
        return SosCredentials.model_validate(self._secrets.read(self._secret_id, fresh=fresh))

    def access_token(self) -> str:
        if self._access_token is None:
            with self._lock:
                if self._access_token is None:
                    self._access_token = self._load(fresh=False).access_token
        return self._access_token

    def refresh(self, rejected_token: str) -> str:
        """Return a working access token after `rejected_token` got a 401."""
        with self._lock:  # threads of one invocation refresh once
            if self._access_token and self._access_token != rejected_token:
                return self._access_token
            self._access_token = self._refresh_shared(rejected_token)
            return self._access_token

    def _refresh_shared(self, rejected_token: str) -> str:
        creds = self._load(fresh=True)
        if creds.access_token != rejected_token:
            return creds.access_token  # another invocation refreshed already
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + self._wait_for_peer
        while not self._leases.acquire(REFRESH_LEASE, owner, ttl_seconds=30):
            # Another invocation holds the lease and is refreshing: wait for its pair.
            if time.monotonic() > deadline:
                raise SosAuthError("timed out waiting for another invocation's token refresh")
            time.sleep(0.25)
            creds = self._load(fresh=True)
            if creds.access_token != rejected_token:
                return creds.access_token
        try:
            creds = self._load(fresh=True)
            if creds.access_token != rejected_token:
                return creds.access_token
            response = self._session.post(
                self._token_url,
                data={"grant_type": "refresh_token", "refresh_token": creds.refresh_token,
                      "client_id": creds.client_id, "client_secret": creds.client_secret},
                timeout=self._timeout,
            )
            if response.status_code != 200:
                raise SosAuthError(f"SOS token refresh answered {response.status_code}")
            body = response.json()
            # [assumed] SOS rotates refresh tokens; where a refresh answers none, the old one
            # stays in use (the contract's other reading).
            renewed = creds.model_copy(update={"access_token": body["access_token"],
                                               "refresh_token": body.get("refresh_token") or creds.refresh_token})
            # Written back before use: losing this pair would lock the account out.
            self._secrets.write(self._secret_id, renewed.model_dump())
            logger.info("SOS access token refreshed")
            self._first_use("SOS-A1", "rotating" if body.get("refresh_token") else "not rotating",
                            f"a refresh answered {sorted(body)}")
            return renewed.access_token
        finally:
            self._leases.release(REFRESH_LEASE, owner)
