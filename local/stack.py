"""The embedded stack: moto server (AWS) and the SOS and WizCommerce emulators, all on
127.0.0.1 in this process. The runner (local/runner.py) puts the template's resources and
functions on top of it."""

from __future__ import annotations

from dataclasses import dataclass

from .aws import MotoServer
from .emulators import SosEmulator, WizEmulator, seed


@dataclass(frozen=True)
class StackEndpoints:
    aws: str
    sos: str   # emulator root; the API is at /api/v2, the token endpoint at /oauth2/token
    wiz: str

    @property
    def sos_api(self) -> str:
        return f"{self.sos}/api/v2"

    @property
    def sos_token(self) -> str:
        return f"{self.sos}/oauth2/token"


class EmbeddedStack:
    def __init__(self, *, items: int = 2000, customers: int = 50, seed_value: int = 42, latency_ms: int = 0):
        self.moto = MotoServer()
        self.sos = SosEmulator()
        self.wiz = WizEmulator()
        self.summary = seed(self.sos, self.wiz, items=items, customers=customers, seed=seed_value)
        self._latency_ms = latency_ms
        self.endpoints: StackEndpoints | None = None

    def start(self) -> StackEndpoints:
        self.endpoints = StackEndpoints(aws=self.moto.start(), sos=self.sos.start(), wiz=self.wiz.start())
        if self._latency_ms:
            self.set_latency(self._latency_ms)
        return self.endpoints

    def set_latency(self, ms: int) -> None:
        for emulator in (self.sos, self.wiz):
            emulator.clear_faults()
            if ms:
                emulator.inject_latency(ms)

    def stop(self) -> None:
        for part in (self.sos, self.wiz, self.moto):
            part.stop()

    def __enter__(self) -> "EmbeddedStack":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def secret_values(self) -> dict[str, dict]:
        return secret_values(self.sos.credentials(), self.wiz.api_key)

    def parameter_overrides(self) -> dict[str, str]:
        assert self.endpoints, "start the stack first"
        return parameter_overrides(self.endpoints)

    def stocked_mapped_item_ids(self) -> list[int]:
        """SOS items the inventory pull sends to WizCommerce (mapped, tracked, not archived)."""
        mapped = {p["reference_id"] for p in self.wiz.products.values() if p.get("reference_id")}
        return [item["id"] for item in self.sos.items.values()
                if str(item["id"]) in mapped and item["type"] == "Inventory Item" and not item["archived"]]


def secret_values(sos_credentials: dict, wiz_api_key: str) -> dict[str, dict]:
    """Initial values for the template's secrets: the emulators' credentials."""
    return {"SosSecret": sos_credentials,
            "WizSecret": {"api_key": wiz_api_key, "webhook_secrets": [LOCAL_WEBHOOK_SECRET]}}


def parameter_overrides(endpoints: StackEndpoints) -> dict[str, str]:
    """Template parameters that point the functions at the emulators. The emulators enforce no
    rate limit, so SOS pacing is lifted (SosMaxRps is 2 on AWS)."""
    return {"SosApiBaseUrl": endpoints.sos_api, "SosTokenUrl": endpoints.sos_token,
            "WizApiBaseUrl": endpoints.wiz, "SosMaxRps": "1000"}


# The webhook secret the local WizCommerce emulator signs with (a test value, not a credential).
LOCAL_WEBHOOK_SECRET = "local-webhook-secret"
