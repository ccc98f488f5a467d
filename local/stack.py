"""The embedded stack: moto server (AWS) and the SOS and WizCommerce emulators, all on
127.0.0.1 in this process. The runner (local/runner.py) puts the template's resources and
functions on top of it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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

    def hold_announced_records(self, sqs_event: dict[str, Any]) -> None:
        """WizCommerce holds the records a push batch announces (its messages only name them,
        as "WC record X changed"): a customer like a seeded one, and a confirmed order on two
        stock items WizCommerce has products for. A body that is no change message names nothing."""
        announced = set()
        for record in sqs_event.get("Records", []):
            try:
                body = json.loads(record["body"])
                announced.add((body["entity"], body["wc_id"]))
            except (ValueError, KeyError, TypeError):
                continue
        some_customer = next(iter(self.wiz.customers.values()))
        stocked = {str(item_id) for item_id in self.stocked_mapped_item_ids()}
        products = [p for p in self.wiz.products.values() if p.get("reference_id") in stocked][:2]
        for entity, wc_id in sorted(announced):
            if entity == "customer" and wc_id not in self.wiz.customers:
                self.wiz.load(customers=[{**some_customer, "id": wc_id, "reference_id": "", "display_id": wc_id,
                                          "email": f"{wc_id}@samples.example", "created_at": SAMPLE_STAMP,
                                          "updated_at": SAMPLE_STAMP}])
            elif entity == "order" and wc_id not in self.wiz.orders:
                lines = [{"product_id": p["id"], "sku": p["sku"], "quantity": 2, "unit_price": 10.0, "discount": 0,
                          "discount_type": None, "note": ""} for p in products]
                self.wiz.load(orders=[{
                    "id": wc_id, "reference_id": "", "display_id": f"S-{wc_id[-6:]}",
                    "customer_id": some_customer["id"], "status": "confirmed", "line_items": lines,
                    "amount": 20.0 * len(lines), "amount_paid": 0, "customer_note": "", "internal_note": "",
                    "created_at": SAMPLE_STAMP, "updated_at": SAMPLE_STAMP}])


# When the records the samples announce were last changed in WizCommerce.
SAMPLE_STAMP = "2026-05-01T18:05:00.000000Z"


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
