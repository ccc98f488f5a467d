"""The deployment's SOS budget holds across processes (containers), not only threads (R-CFG-4,
SOS-A3): three processes share one budget item on moto server and together send no more than
the configured rate; the throttle one of them reports lowers the rate the others pace at."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local.aws import aws_environment
from local.emulators import SosEmulator, seed
from sos_wiz_sync.clients.budget import BudgetPolicy, SharedBudget
from sos_wiz_sync.clients.http import build_session
from sos_wiz_sync.clients.sos import Backoff, SosClient, SosError
from sos_wiz_sync.clients.sos_auth import SosTokenManager
from sos_wiz_sync.secrets import SecretStore
from sos_wiz_sync.store.budget import BudgetTable
from sos_wiz_sync.store.leases import Leases

ROOT = Path(__file__).resolve().parents[2]
RATE = 10.0
SECONDS = 8.0

# One container: paces `wait()` through the shared budget for SECONDS and prints when each call
# was let through, and how many DynamoDB requests it made.
CONTAINER = """
import json, sys, time
from sos_wiz_sync.clients.budget import BudgetPolicy, SharedBudget
from sos_wiz_sync.store.budget import BudgetTable

table, rate, seconds, priority, start = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], float(sys.argv[5])
store = BudgetTable(table)
calls = {"n": 0}
for name in ("read", "take", "set_rate"):
    def counted(*a, _f=getattr(store, name), **k):
        calls["n"] += 1
        return _f(*a, **k)
    setattr(store, name, counted)
budget = SharedBudget(store, BudgetPolicy(rate), priority)
time.sleep(max(0.0, start - time.time()))  # the containers start together, as after one poll
sent = []
while time.time() < start + seconds:
    budget.wait()
    sent.append(time.time())
print(json.dumps({"sent": sent, "dynamodb": calls["n"], "priority": priority}))
"""


def run_containers(state_table: str, endpoint: str, priorities: list[str]) -> list[dict]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT / 'shared'}:{ROOT}", **aws_environment(endpoint)}
    start = time.time() + 2.0  # after every interpreter has imported boto3
    processes = [subprocess.Popen([sys.executable, "-c", CONTAINER, state_table, str(RATE), str(SECONDS), priority,
                                   str(start)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for priority in priorities]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_processes_together_stay_within_the_deployments_rate_at_at_most_one_dynamodb_request_per_call(
        state_table, moto_endpoint):
    """Two push containers, a hook worker and a pull, all asking as fast as they can: the most
    contended the budget gets, and its DynamoDB requests per SOS call."""
    results = run_containers(state_table, moto_endpoint, ["push", "push", "hook", "pull"])
    sent = sorted(at for result in results for at in result["sent"])
    window_start, window_end = sent[0], sent[0] + SECONDS
    in_window = [at for at in sent if window_start <= at < window_end]
    # counts over the window, as a ratio to what the rate allows (+1: the slot at the window's start)
    assert len(in_window) / (RATE * SECONDS + 1) <= 1.05
    assert len(in_window) / (RATE * SECONDS) >= 0.7  # the budget is used, not just refused
    assert all(result["sent"] for result in results)  # every container, the pull too, made progress
    dynamodb = sum(result["dynamodb"] for result in results)
    # Issue 20: at most one. With every priority asking non-stop (the worst case): pushes one
    # write a slot; the hook and the pull, contended, one write per slice at their floor; one
    # refused guess per container at the start (the first creates the item).
    assert dynamodb / len(sent) <= 1.0, [(r["priority"], r["dynamodb"], len(r["sent"])) for r in results]


def test_a_throttle_seen_by_one_process_lowers_the_rate_the_others_pace_at(state_table, moto_endpoint):
    policy = BudgetPolicy(RATE)
    ours = SharedBudget(BudgetTable(state_table), policy, "push")
    ours.wait()
    ours.throttled()
    assert BudgetTable(state_table).read().rate == pytest.approx(RATE * policy.decrease)
    results = run_containers(state_table, moto_endpoint, ["push", "hook"])
    sent = sorted(at for result in results for at in result["sent"])
    in_window = [at for at in sent if at < sent[0] + SECONDS]
    assert len(in_window) / (RATE * policy.decrease * SECONDS + 1) <= 1.05


# -- the budget through SosClient against the emulator's account-wide limit -------------------------
@pytest.fixture
def limited_sos():
    emulator = SosEmulator()
    seed(emulator, None, items=5, customers=1)
    emulator.start()
    yield emulator
    emulator.stop()


class CountingBudget(SharedBudget):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.waits = 0

    def wait(self) -> None:
        self.waits += 1
        super().wait()


@pytest.mark.parametrize("http_status", [429, 200])
def test_throttles_in_either_form_lower_the_shared_rate_and_every_retry_takes_a_slot(
        limited_sos, make_secret, state_table, http_status):
    """SOS-A3: the emulator limits the account to 2/s (burst 1) and answers over it as 429 or as
    HTTP 200 "Throttle limit exceeded"; the deployment is configured for 4/s. The throttles lower
    the rate in the budget item, and every request that reached SOS (urllib3's retries of a 429
    included) took a slot."""
    limited_sos.configure(throttle_http_status=http_status)
    limited_sos.set_rate_limit(2, burst=1)
    budget = CountingBudget(BudgetTable(state_table), BudgetPolicy(4.0), "push")
    tokens = SosTokenManager(secret_id=make_secret(limited_sos.credentials()),
                             token_url=f"{limited_sos.url}/oauth2/token", secrets=SecretStore(),
                             leases=Leases(state_table), session=build_session(retries=0))
    client = SosClient(base_url=f"{limited_sos.url}/api/v2", tokens=tokens, pacer=budget,
                       session=build_session(retries=3, backoff_factor=0.01, pacer=budget),
                       backoff=Backoff(attempts=5, base_seconds=0.01))
    item_id = next(iter(limited_sos.items))
    limited_sos.reset_counters()
    for _ in range(16):
        try:
            client.get_item(item_id)
        except SosError as exc:
            assert exc.throttled
    stored = BudgetTable(state_table).read()
    assert stored.throttles >= 1 and stored.rate <= 4.0 * BudgetPolicy(4.0).decrease
    assert budget.waits == sum(limited_sos.counters().values())
