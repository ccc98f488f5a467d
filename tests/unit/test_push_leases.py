"""PushDeps.exclusive: one invocation at a time works on a record that several FIFO groups reach
(a customer whose orders arrive at once); a short wait, then a retry through SQS."""

from __future__ import annotations

import pytest

from sos_wiz_sync.push import deps as push_deps
from sos_wiz_sync.push.deps import PushDeps
from sos_wiz_sync.push.failures import RecordBusy, is_permanent
from sos_wiz_sync.rules.push_config import PushConfig


class FakeLeases:
    """Taken for the first `busy_for` attempts (another holder), then free."""

    def __init__(self, busy_for: int):
        self.busy_for = busy_for
        self.attempts = 0
        self.released: list[tuple[str, str]] = []

    def acquire(self, name: str, owner: str, ttl_seconds: int) -> bool:
        self.attempts += 1
        return self.attempts > self.busy_for

    def release(self, name: str, owner: str) -> None:
        self.released.append((name, owner))


def deps_with(leases: FakeLeases) -> PushDeps:
    return PushDeps(sos=None, wiz=None, mappings=None, state=None, leases=leases, config=PushConfig())


@pytest.fixture(autouse=True)
def short_waits(monkeypatch):
    monkeypatch.setattr(push_deps, "LEASE_WAIT_SECONDS", 0.3)
    monkeypatch.setattr(push_deps, "LEASE_POLL_SECONDS", 0.01)


def test_the_work_runs_once_the_other_holder_is_done_and_the_lease_is_released():
    leases = FakeLeases(busy_for=3)
    ran = []
    with deps_with(leases).exclusive("customer#cust_7"):
        ran.append(True)
    assert ran == [True] and leases.attempts == 4
    assert [name for name, _ in leases.released] == ["push#customer#cust_7"]


def test_the_lease_is_released_when_the_work_fails():
    leases = FakeLeases(busy_for=0)
    with pytest.raises(RuntimeError), deps_with(leases).exclusive("customer#cust_7"):
        raise RuntimeError("SOS down")
    assert len(leases.released) == 1


def test_a_lease_that_stays_taken_is_a_transient_failure():
    leases = FakeLeases(busy_for=10**6)
    with pytest.raises(RecordBusy) as busy, deps_with(leases).exclusive("customer#cust_7"):
        pytest.fail("must not run without the lease")
    assert not is_permanent(busy.value) and leases.released == []
