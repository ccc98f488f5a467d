"""Fault injection, request counters, rate limit and admin endpoints, shared by both emulators."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
import requests
from emulator_helpers import Client

from local.emulators import SosEmulator, WizEmulator


@dataclass
class Target:
    """One emulator, an authenticated client, and a read path with its counter key."""

    emulator: SosEmulator | WizEmulator
    api: Client
    read_path: str
    read_key: str

    def admin(self, method: str, path: str, **kwargs: object) -> requests.Response:
        return requests.request(method, f"{self.emulator.url}/_admin{path}", timeout=10, **kwargs)


@pytest.fixture(params=["sos", "wiz"])
def target(request: pytest.FixtureRequest) -> Target:
    if request.param == "sos":
        return Target(request.getfixturevalue("sos"), request.getfixturevalue("sos_api"),
                      "/item/1", "GET /api/v2/item/{id}")
    return Target(request.getfixturevalue("wiz"), request.getfixturevalue("wiz_api"),
                  "/products/prod_1", "GET /v1/products/{id}")


def retry_hint(target: Target, answer: requests.Response) -> str | None:
    """WizCommerce says when to retry; SOS only says "Throttle limit exceeded" (its contract)."""
    if isinstance(target.emulator, SosEmulator):
        assert answer.json() == {"status": "error", "message": "Throttle limit exceeded"}
    return answer.headers.get("Retry-After")


def test_429_for_the_next_k_requests_with_retry_after(target: Target) -> None:
    target.emulator.inject_429(2, retry_after=7)
    answers = [target.api("GET", target.read_path) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert retry_hint(target, answers[0]) == (None if isinstance(target.emulator, SosEmulator) else "7")
    assert target.emulator.counters()[target.read_key] == 3
    assert target.emulator.faulted_counters()[target.read_key] == 2


def test_5xx_for_the_next_k_requests_or_a_time_window(target: Target) -> None:
    target.emulator.inject_5xx(1, status=502)
    assert [target.api("GET", target.read_path).status_code for _ in range(2)] == [502, 200]

    target.emulator.inject_5xx(None, seconds=0.2)
    assert target.api("GET", target.read_path).status_code == 503
    assert target.api("GET", target.read_path).status_code == 503
    time.sleep(0.25)
    assert target.api("GET", target.read_path).status_code == 200


def test_latency_delays_matching_requests(target: Target) -> None:
    target.emulator.inject_latency(150, method="GET", count=1)
    started = time.monotonic()
    assert target.api("GET", target.read_path).status_code == 200
    assert time.monotonic() - started >= 0.15
    started = time.monotonic()
    target.api("GET", target.read_path)
    assert time.monotonic() - started < 0.15


def test_a_fault_hits_only_its_method_and_path(wiz: WizEmulator, wiz_api: Client) -> None:
    wiz.inject_5xx(5, method="POST", path="/v1/orders")
    assert wiz_api("GET", "/orders").status_code == 200
    assert wiz_api("POST", "/customers", json={"company_name": "Fine Co", "display_name": "Fine Co",
                                                "reference_id": "S-2"}).status_code == 201
    assert wiz_api("POST", "/orders", json={}).status_code == 503


def test_an_sos_write_is_applied_before_the_500(sos: SosEmulator, sos_api: Client) -> None:
    sos.inject_write_then_5xx(1, path="/api/v2/salesorder")
    order = {"number": "WC-9001", "customer": {"id": next(iter(sos.customers))}, "lines": []}

    assert sos_api("POST", "/salesorder", json=order).status_code == 500
    assert [o["number"] for o in sos.sales_orders.values()] == ["WC-9001"]
    retried = sos_api("POST", "/salesorder", json=order)
    assert retried.status_code == 400 and retried.json()["message"] == "Duplicate reference number"


def test_a_wiz_write_is_applied_before_the_500(wiz: WizEmulator, wiz_api: Client) -> None:
    wiz.inject_write_then_5xx(1)
    assert wiz_api("GET", "/customers").status_code == 200  # reads are not writes
    customer = {"company_name": "Once Co", "display_name": "Once Co", "reference_id": "S-1"}

    assert wiz_api("POST", "/customers", json=customer).status_code == 500
    assert [c["name"] for c in wiz.customers.values() if c["reference_id"] == "S-1"] == ["Once Co"]
    # No duplicate answer is documented (WC-A2): a blind replay makes a second record.
    assert wiz_api("POST", "/customers", json=customer).status_code == 201
    assert [c["name"] for c in wiz.customers.values() if c["reference_id"] == "S-1"] == ["Once Co", "Once Co"]


def test_faults_are_driven_over_http(target: Target) -> None:
    rules = [{"type": "429", "count": 1, "retry_after": 3}, {"type": "latency", "latency_ms": 1, "method": "GET"}]
    assert target.admin("POST", "/faults", json=rules).status_code == 200
    assert [rule["kind"] for rule in target.admin("GET", "/faults").json()["faults"]] == ["429", "latency"]
    answer = target.api("GET", target.read_path)
    assert retry_hint(target, answer) == (None if isinstance(target.emulator, SosEmulator) else "3")

    assert target.admin("DELETE", "/faults").json() == {"faults": []}
    assert target.admin("POST", "/faults", json={"type": "meltdown"}).status_code == 400
    assert target.admin("POST", "/faults", json={"count": 1}).status_code == 400


def test_counters_are_per_normalised_endpoint_and_resettable(target: Target) -> None:
    target.emulator.inject_5xx(1)
    for _ in range(3):
        target.api("GET", target.read_path)
    counters = target.admin("GET", "/counters").json()
    assert counters == {"requests": {target.read_key: 3}, "faulted": {target.read_key: 1}}

    assert target.admin("POST", "/counters/reset").ok
    assert target.emulator.counters() == {} and target.emulator.faulted_counters() == {}


def test_the_rate_limit_answers_429_with_retry_after(target: Target) -> None:
    assert target.admin("POST", "/rate-limit", json={"rps": 2, "burst": 3}).ok
    codes = [target.api("GET", target.read_path) for _ in range(6)]
    limited = [answer for answer in codes if answer.status_code == 429]
    assert len(limited) >= 2
    assert all(int(retry_hint(target, answer) or 1) >= 1 for answer in limited)
    assert target.emulator.faulted_counters()[target.read_key] == len(limited)

    target.emulator.set_rate_limit(None)
    assert target.api("GET", target.read_path).status_code == 200


def test_user_actions_are_callable_over_http(sos: SosEmulator) -> None:
    item_id = next(iter(sos.items))
    answer = requests.post(f"{sos.url}/_admin/actions/set_item_quantities",
                           json={"item_id": item_id, "onPO": 42}, timeout=10)
    assert answer.status_code == 200 and answer.json()["data"]["onPO"] == 42
    assert requests.post(f"{sos.url}/_admin/actions/reset", json={}, timeout=10).status_code == 404
    bad = requests.post(f"{sos.url}/_admin/actions/set_item_quantities", json={"colour": "red"}, timeout=10)
    assert bad.status_code == 400
    state = requests.get(f"{sos.url}/_admin/state", timeout=10).json()
    assert state["counts"]["item"] == len(sos.items)


def test_sos_throttles_and_errors_are_injected_over_http(sos: SosEmulator) -> None:
    api = Client(f"{sos.url}/api/v2", {"Authorization": f"Bearer {sos.credentials()['access_token']}"})
    rules = [{"type": "throttle", "count": 1, "http_status": 200},
             {"type": "status_error", "count": 1, "status": "invalid", "path": "/api/v2/customer"},
             {"type": "throttle", "count": 1, "http_status": 200, "status": None, "after": 1,
              "path": "/api/v2/location"}]
    for rule in rules:
        assert requests.post(f"{sos.url}/_admin/faults", json=rule, timeout=10).status_code == 200
    throttled = api("GET", "/item")
    assert throttled.status_code == 200 and throttled.json()["message"] == "Throttle limit exceeded"
    assert api("GET", "/item").json()["status"] == "ok"
    invalid = api("GET", "/customer")
    assert invalid.status_code == 200 and invalid.json()["status"] == "invalid"
    assert api("GET", "/location").json()["status"] == "ok"
    assert api("GET", "/location").json() == {"message": "Throttle limit exceeded"}  # SOS-A18: no status
    assert sos.faulted_counters() == {"GET /api/v2/item": 1, "GET /api/v2/customer": 1, "GET /api/v2/location": 1}
