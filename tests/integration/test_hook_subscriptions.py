"""Subscribing SOS's quantity hook (R-INV-6) against the SOS emulator over HTTP: idempotent,
stale subscriptions of ours removed, other subscribers left alone, the token never printed;
a delete answered JSON or empty (SOS-A20), throttles of every form backed off (SOS-A18)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.emulators import SosEmulator
from sos_wiz_sync.clients.http import build_session
from sos_wiz_sync.clients.sos import Backoff, SosClient, SosError
from sos_wiz_sync.clients.sos_auth import SosTokenManager
from sos_wiz_sync.hook.subscriptions import (
    describe,
    ensure_subscription,
    hook_url,
    list_subscriptions,
    remove_subscription,
)
from sos_wiz_sync.store.leases import Leases

API = "https://abc123.execute-api.us-east-1.amazonaws.com"
URL = hook_url(API, "current-token-0123456789")
OLD_URL = hook_url(API, "rotated-out-token-98765")
FOREIGN_URL = "https://someone-else.example/hooks/sos"


class StaticSecrets:
    """The token manager's secret store, for an access token that does not expire here."""

    def __init__(self, value: dict):
        self.value = value

    def read(self, secret_id: str, *, fresh: bool = False) -> dict:
        return self.value


@pytest.fixture
def sos() -> Iterator[SosEmulator]:
    emulator = SosEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def client(sos: SosEmulator) -> SosClient:
    tokens = SosTokenManager(secret_id="sos", token_url=f"{sos.url}/oauth2/token",
                             secrets=StaticSecrets(sos.credentials()), leases=Leases("unused"),
                             session=build_session(retries=0))
    return SosClient(base_url=f"{sos.url}/api/v2", tokens=tokens, session=build_session(retries=0),
                     backoff=Backoff(attempts=4, base_seconds=0.01))


def subscribed_uris(sos: SosEmulator) -> list[str]:
    return sorted(hook["postUri"] for hook in sos.hooks.values())


def test_subscribing_twice_leaves_one_subscription(sos, client):
    first = ensure_subscription(client, URL)
    second = ensure_subscription(client, URL)
    assert first.id == second.id
    assert subscribed_uris(sos) == [URL]


def test_stale_subscriptions_of_ours_go_and_other_subscribers_stay(sos, client):
    # Given a duplicate, a disabled one and a rotated-out token of ours, and someone else's hook
    for uri in (URL, URL, OLD_URL, FOREIGN_URL):
        client.create_hook(uri)
    sos.hooks[next(iter(sos.hooks))]["enabled"] = False
    # When we subscribe
    kept = ensure_subscription(client, URL)
    # Then one enabled subscription of ours is left, with the current token; the foreign one stays
    assert subscribed_uris(sos) == sorted([URL, FOREIGN_URL])
    assert sos.hooks[kept.id]["enabled"]


def test_list_and_remove_only_touch_our_route(sos, client):
    for uri in (URL, OLD_URL, FOREIGN_URL):
        client.create_hook(uri)
    assert sorted(hook.postUri for hook in list_subscriptions(client, URL)) == sorted([URL, OLD_URL])
    removed = remove_subscription(client, URL)
    assert len(removed) == 2
    assert subscribed_uris(sos) == [FOREIGN_URL]


def test_the_token_is_masked_when_a_subscription_is_shown(client):
    shown = describe(ensure_subscription(client, URL), URL)
    assert shown["postUri"] == f"{API}/webhooks/sos/<token>"
    assert shown["current_token"] is True
    assert "current-token" not in str(shown)


@pytest.mark.parametrize("empty", [False, True])
def test_remove_accepts_a_delete_answered_json_or_an_empty_204_sos_a20(sos, client, empty):
    sos.configure(hook_delete_empty=empty)
    for uri in (URL, OLD_URL):
        client.create_hook(uri)
    assert len(remove_subscription(client, URL)) == 2
    assert subscribed_uris(sos) == []


def test_subscribe_backs_off_message_only_throttles_and_raises_a_throttle_if_they_persist(sos, client):
    client.create_hook(OLD_URL)
    sos.inject_throttle(3, http_status=200, status=None, every=2)  # SOS-A18: every other call, no status
    assert ensure_subscription(client, URL).postUri == URL
    assert subscribed_uris(sos) == [URL]
    sos.inject_throttle(100, http_status=200, status=None)
    with pytest.raises(SosError) as failure:  # never a bare ValidationError
        ensure_subscription(client, OLD_URL)
    assert failure.value.throttled and failure.value.transient


def test_the_subscribe_command_paces_itself_and_leaves_the_deployments_budget_alone(
        sos, state_table, make_secret, monkeypatch):
    """Run by an operator, usually without the deployment's SosMaxRps: its default rate must not
    become the rate every function shares (R-CFG-4), so it takes no part in the shared budget."""
    from sos_wiz_sync.hook import subscriptions
    from sos_wiz_sync.store.state import SyncState

    monkeypatch.setenv("SOS_API_BASE_URL", f"{sos.url}/api/v2")
    monkeypatch.setenv("SOS_TOKEN_URL", f"{sos.url}/oauth2/token")
    monkeypatch.setenv("SOS_SECRET_ID", make_secret(sos.credentials()))
    monkeypatch.setenv("SOS_HOOK_SECRET_ID", make_secret({"token": "current-token-0123456789"}))
    monkeypatch.setenv("STATE_TABLE", state_table)
    monkeypatch.delenv("SOS_MAX_RPS", raising=False)

    assert subscriptions.main(["subscribe", "--api-url", API]) == 0
    assert subscribed_uris(sos) == [URL]
    assert SyncState(state_table).sos_budget() is None  # no slot taken, no rate set
