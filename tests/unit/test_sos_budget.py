"""The deployment's SOS budget (R-CFG-4, SOS-A3: the rate limit is the account's): the rules as
pure functions, and SharedBudget on a fake clock over an in-memory twin of the budget item."""

from __future__ import annotations

import heapq
import threading
import time
from dataclasses import replace
from types import MappingProxyType

import pytest
from botocore.exceptions import ClientError

from sos_wiz_sync.clients import budget as budget_module
from sos_wiz_sync.clients.budget import (BudgetPolicy, SharedBudget, admitted, initial_state, lease, limit, lowered,
                                         in_force, reconfigured, retry_at)
from sos_wiz_sync.store.budget import BudgetRefused, BudgetState

POLICY = BudgetPolicy(2.0)
NOW = 1_000_000.0


class FakeClock:
    def __init__(self, now: float = NOW):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


class MemoryBudgetTable:
    """The budget item with the conditions store/budget.py writes, atomically under a lock."""

    def __init__(self):
        self.state: BudgetState | None = None
        self.requests = 0
        self._lock = threading.Lock()

    def read(self):
        self.requests += 1
        return self.state

    def take(self, *, count, rate, in_force, now, late, idle, limit, broken):
        self.requests += 1
        with self._lock:
            s = self.state
            if idle and s is None:  # the first caller creates the item
                self.state = BudgetState(tail=now + count / in_force, rate=rate, configured=rate)
                return self.state
            if s is None or s.rate != rate or (late <= s.tail <= broken if idle else s.tail < late) or (
                    not idle and limit is not None and s.tail > limit):
                raise BudgetRefused(s)
            self.state = replace(s, tail=(now if idle else s.tail) + count / in_force)
            return self.state

    def set_rate(self, expected, *, rate, configured, now, lowered, ceiling=0.0):
        self.requests += 1
        with self._lock:
            s = self.state
            if (s.rate, s.lowered_at, s.raised_at) != (expected.rate, expected.lowered_at, expected.raised_at):
                raise BudgetRefused(s)
            changes = {"lowered_at": now, "throttles": s.throttles + 1, "ceiling": ceiling} if lowered else {
                "raised_at": now}
            self.state = replace(s, rate=rate, configured=configured, **changes)
            return self.state


# -- the rules --------------------------------------------------------------------------------------
def test_a_lease_takes_slots_one_interval_apart_from_now_when_idle_and_after_the_tail_when_busy():
    idle = initial_state(POLICY, NOW - 10)
    state, slots = lease(idle, 3, NOW)
    assert slots == [NOW, NOW + 0.5, NOW + 1.0] and state.tail == NOW + 1.5
    state, slots = lease(state, 2, NOW)
    assert slots == [NOW + 1.5, NOW + 2.0] and state.tail == NOW + 2.5


def test_pushes_always_take_slots_hook_reads_and_pulls_only_while_the_queue_ahead_is_short():
    def queued(slots: float) -> BudgetState:
        return replace(initial_state(POLICY, NOW), tail=NOW + slots / POLICY.configured)

    assert admitted(POLICY, queued(50), "push", NOW, 0) and limit(POLICY, queued(50), "push", NOW, 0) is None
    assert admitted(POLICY, queued(1), "hook", NOW, 0) and not admitted(POLICY, queued(2), "hook", NOW, 0)
    assert admitted(POLICY, queued(0.5), "pull", NOW, 0) and not admitted(POLICY, queued(1), "pull", NOW, 0)


def test_the_floor_a_pull_refused_for_floor_slots_takes_its_slice_anyway():
    state = replace(initial_state(POLICY, NOW), tail=NOW + 20)  # 40 slots of pushes queued
    floor_wait = POLICY.floor_slots / POLICY.configured
    assert not admitted(POLICY, state, "pull", NOW, floor_wait - 0.01)
    assert retry_at(POLICY, state, "pull", NOW, 0) == NOW + floor_wait
    assert retry_at(POLICY, state, "pull", NOW, floor_wait - 0.1) == NOW + 1 / POLICY.configured  # a slot apart
    assert admitted(POLICY, state, "pull", NOW, floor_wait)


def test_a_throttle_lowers_the_rate_once_per_episode_and_never_below_the_minimum():
    state = initial_state(POLICY, NOW)
    assert lowered(POLICY, state, NOW) == pytest.approx((1.4, 0.0))  # the first: no ceiling
    state = replace(state, rate=1.4, lowered_at=NOW, throttles=1, ceiling=2.0)
    assert lowered(POLICY, state, NOW + 1) is None  # the same episode
    assert lowered(POLICY, state, NOW + POLICY.cooldown_seconds) == pytest.approx((0.98, 1.4))
    assert lowered(POLICY, replace(state, rate=0.21), NOW + 5)[0] == pytest.approx(POLICY.min_rate)
    # throttled after quiet periods raised it: lowered from the rate in force, not the stored one;
    # within `repeat_seconds` of the last decrease, that rate is kept as the ceiling
    assert lowered(POLICY, state, NOW + 2 * POLICY.quiet_seconds) == pytest.approx((0.7 * 1.7, 1.7))
    assert lowered(POLICY, state, NOW + POLICY.repeat_seconds)[1] == 0.0  # isolated again: no ceiling


def test_a_throttle_for_a_slot_leased_before_the_last_decrease_is_the_same_episode():
    state = replace(initial_state(POLICY, NOW), rate=1.4, lowered_at=NOW, throttles=1, ceiling=2.0)
    later = NOW + 2 * POLICY.cooldown_seconds
    assert lowered(POLICY, state, later, leased_at=NOW - 0.5) is None  # spaced at the old rate
    assert lowered(POLICY, state, later, leased_at=NOW + 0.5) == pytest.approx((0.98, 1.4))


def test_a_container_throttled_on_a_slice_leased_before_another_lowered_the_rate_does_not_lower_it_again():
    """SOS-A3: a pull's slice leased at 2/s, the rate lowered to 1.4 by a push meanwhile; the
    pull's request on its old slot is throttled after the cooldown: the same episode (before, a
    third decrease took a 1/s account's rate to 0.69)."""
    table, clock = MemoryBudgetTable(), FakeClock()
    pusher, puller = shared(table, clock), shared(table, clock, "pull")
    puller.wait()  # leases its slice at 2/s
    pusher.wait()
    pusher.throttled()
    assert table.state.rate == pytest.approx(1.4)
    clock.now += POLICY.cooldown_seconds
    puller.throttled()  # its slot was leased before the decrease
    assert table.state.rate == pytest.approx(1.4) and table.state.throttles == 1
    puller.wait()  # a slot leased at the lowered rate: its throttle is news
    clock.now += POLICY.cooldown_seconds
    puller.throttled()
    assert table.state.rate == pytest.approx(0.98) and table.state.throttles == 2


def test_quiet_raises_the_rate_in_force_by_the_clock_in_steps_up_to_the_configured_one_never_above():
    """No write raises the rate: every caller computes the same rate in force from the item."""
    state = replace(initial_state(POLICY, NOW), rate=1.0, lowered_at=NOW)
    assert in_force(POLICY, state, NOW + POLICY.quiet_seconds - 1) == 1.0
    assert in_force(POLICY, state, NOW + POLICY.quiet_seconds) == pytest.approx(1.2)
    assert in_force(POLICY, state, NOW + 3 * POLICY.quiet_seconds) == pytest.approx(1.6)
    assert in_force(POLICY, replace(state, rate=1.95), NOW + 60) == 2.0
    assert in_force(POLICY, state, NOW + 3600) == 2.0
    # SosMaxRps lowered by a deploy: the rate in force comes down at once, and is written so
    assert in_force(BudgetPolicy(1.0), initial_state(POLICY, NOW), NOW) == 1.0
    assert reconfigured(BudgetPolicy(1.0), initial_state(POLICY, NOW)) == 1.0
    assert reconfigured(POLICY, initial_state(POLICY, NOW)) is None


def test_after_a_throttle_quiet_periods_approach_the_rate_throttled_at_in_half_steps_until_the_cap_lapses():
    """The ceiling (the rate in force a throttle came at): for `ceiling_seconds` the rate rises to
    `approach` × it at most, each step at most half the way there, so it nears the account's
    limit ever more slowly instead of climbing back into it."""
    state = replace(initial_state(POLICY, NOW), rate=0.98, lowered_at=NOW, ceiling=1.4)  # cap 1.26
    steps = [in_force(POLICY, state, NOW + k * POLICY.quiet_seconds) for k in range(8)]
    assert steps[:4] == pytest.approx([0.98, 1.12, 1.19, 1.225])
    assert max(steps) <= 1.4 * POLICY.approach and steps == sorted(steps)
    assert in_force(POLICY, state, NOW + POLICY.ceiling_seconds - 1) <= 1.26
    assert in_force(POLICY, state, NOW + POLICY.ceiling_seconds) == pytest.approx(steps[-1] + 0.2)
    assert in_force(POLICY, state, NOW + POLICY.ceiling_seconds + 200) == 2.0


def test_under_a_steady_push_load_the_total_stays_at_the_rate_and_a_pull_gets_its_floor():
    """Two push containers ask for their next slot as soon as they have sent (saturating the
    budget); one pull with a backlog asks likewise. Over 10 simulated minutes the slots never
    exceed the rate and the pull's share is at least the stated floor (≥ 20% here)."""
    state = initial_state(POLICY, NOW)
    callers = [(NOW, 0, "push"), (NOW, 1, "push"), (NOW, 2, "pull")]
    heapq.heapify(callers)
    refused_since: dict[int, float] = {}
    granted = {"push": 0, "pull": 0}
    end = NOW + 600
    while callers[0][0] < end:
        now, number, priority = heapq.heappop(callers)
        waited = now - refused_since.get(number, now)
        if not admitted(POLICY, state, priority, now, waited):
            refused_since.setdefault(number, now)
            heapq.heappush(callers, (retry_at(POLICY, state, priority, now, waited), number, priority))
            continue
        refused_since.pop(number, None)
        state, slots = lease(state, POLICY.slices[priority], now)
        granted[priority] += len(slots)
        heapq.heappush(callers, (slots[-1], number, priority))  # asks again when its last slot is used
    total = granted["push"] + granted["pull"]
    assert total <= 600 * POLICY.configured + POLICY.slices["pull"] + 2
    # ahead of the pull when it is let in: one slot per push container and the one being sent
    assert granted["pull"] / total >= POLICY.pull_floor_share(queued_slots=3) >= 0.2
    assert granted["push"] / total >= 0.5  # pushes first


# -- SharedBudget on a fake clock ---------------------------------------------------------------------
def shared(table: MemoryBudgetTable, clock: FakeClock, priority: str = "push", policy: BudgetPolicy = POLICY,
           rates: list | None = None) -> SharedBudget:
    return SharedBudget(table, policy, priority, clock=clock, sleep=clock.sleep,
                        on_rate=rates.append if rates is not None else None)


def test_callers_sharing_the_item_are_spaced_at_the_deployment_rate_with_one_write_per_slot():
    table, clock = MemoryBudgetTable(), FakeClock()
    first, second = shared(table, clock), shared(table, clock)
    sent = []
    for _ in range(10):
        for caller in (first, second):
            caller.wait()
            sent.append(clock.now)
    assert all(b - a >= 0.5 - 1e-9 for a, b in zip(sent, sent[1:]))
    assert sent[-1] - sent[0] == pytest.approx(19 * 0.5)
    assert (table.requests - 2) / len(sent) <= 1.0 + 3 / len(sent)  # reads at start, a refused guess or two


def test_a_throttle_lowers_the_rate_for_every_caller_and_quiet_brings_it_back_to_the_configured_rate():
    table, clock, rates = MemoryBudgetTable(), FakeClock(), []
    pusher, puller = shared(table, clock, rates=rates), shared(table, clock, "pull")
    pusher.wait()
    puller.wait()
    pusher.throttled()
    pusher.throttled()  # the same episode: one decrease
    assert table.state.rate == pytest.approx(1.4) and table.state.throttles == 1
    for _ in range(POLICY.slices["pull"]):  # its slice taken before the throttle, then a new one
        puller.wait()
    assert puller.rate == pytest.approx(1.4)  # the other caller paces at the lowered rate
    seen = []
    for _ in range(150):  # ~90 s of quiet traffic: an isolated throttle keeps no ceiling
        pusher.wait()
        seen.append(pusher.rate)
    assert seen[-1] == 2.0 and sorted(seen) == seen  # back up step by step, within a minute
    assert table.state.rate == pytest.approx(1.4)  # by the clock: no write raised it
    assert clock.now - table.state.lowered_at < POLICY.repeat_seconds
    pusher.throttled()  # again soon after: the limit is below the rate it came at, kept as the ceiling
    assert table.state.rate == pytest.approx(1.4) and table.state.ceiling == 2.0
    seen = []
    for _ in range(200):  # ~2 minutes of quiet traffic: up towards 0.9 × the rate throttled at
        pusher.wait()
        seen.append(pusher.rate)
    assert 1.75 <= seen[-1] <= 2.0 * POLICY.approach and sorted(seen) == seen  # back up step by step
    clock.now = table.state.lowered_at + POLICY.ceiling_seconds  # long without a throttle: the cap lapses
    for _ in range(100):
        pusher.wait()
        seen.append(pusher.rate)
    assert seen[-1] == 2.0 and max(seen) == 2.0 and sorted(seen) == seen
    assert rates[0] == 2.0 and 1.4 in [round(r, 6) for r in rates] and rates[-1] == 2.0


class BrokenTable(MemoryBudgetTable):
    def take(self, **kwargs):
        self.requests += 1
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                          "UpdateItem")


def test_an_unusable_table_falls_back_to_local_pacing_and_is_tried_again_later(caplog):
    clock = FakeClock()
    table = BrokenTable()
    budget = shared(table, clock, policy=BudgetPolicy(600.0))  # local fallback 100/s: no slow test
    budget.wait()
    budget.wait()  # no exception, no wait for the table
    assert "pacing locally" in caplog.text and table.requests == 1  # one take (no read first)
    clock.now += budget_module.FALLBACK_SECONDS + 1
    budget.wait()
    assert table.requests == 2  # the table again after the fallback period


class PushedTable(MemoryBudgetTable):
    """Push containers keep the queue long: before each write, they have taken a slot for every
    slot that went by since the last one (a saturated timeline, 2 slots ahead at least)."""

    def take(self, **kwargs):
        with self._lock:
            if self.state is not None:
                now = kwargs["now"]
                self.state = replace(self.state, tail=max(self.state.tail, now + 2 / self.state.rate))
        return super().take(**kwargs)


def test_a_pull_waiting_under_push_load_makes_one_write_per_slice_and_gets_its_floor():
    """Issue 20: the budget costs at most one DynamoDB request per SOS call. A pull that found the
    queue long at its last lease sleeps until its floor and writes once there (before: a refused
    conditional write first, two per slice)."""
    table, clock = PushedTable(), FakeClock()
    puller = shared(table, clock, "pull")
    puller.wait()  # the first slice (the item is created)
    table.requests, start = 0, clock.now
    slots = POLICY.slices["pull"] * 10
    for _ in range(slots):
        puller.wait()
    assert table.requests <= 10 + 1  # one refused write, when it first meets the queue
    # and it got its slices no later than the floor allows
    assert clock.now - start <= 10 * (POLICY.floor_slots + 3 + POLICY.slices["pull"]) / POLICY.configured


def test_a_contended_hook_read_under_push_load_makes_one_write_per_slot():
    """Issue 20 (≤ 1 DynamoDB request per SOS call): a hook read that found the queue long at its
    last lease waits for its floor and writes once there, instead of a refused conditional write
    first (two writes per slot before)."""
    table, clock = PushedTable(), FakeClock()
    hook = shared(table, clock, "hook")
    hook.wait()
    table.requests, start = 0, clock.now
    for _ in range(10):
        hook.wait()
    assert table.requests <= 10 + 1  # one refused write, when it first meets the queue
    assert clock.now - start <= 10 * (POLICY.floor_slots + 3 + 1) / POLICY.configured


class OthersTable(MemoryBudgetTable):
    """Another container (a pull) keeps the timeline busy: before each of our writes it has taken
    a slot (after the tail, or from a slot ago when that is later)."""

    def take(self, **kwargs):
        with self._lock:
            if self.state is not None:
                now = kwargs["now"]
                self.state = replace(self.state, tail=max(self.state.tail, now - 1 / self.state.rate) + 1 / self.state.rate)
        return super().take(**kwargs)


def test_a_push_between_orders_guesses_the_timeline_busy_while_others_write_one_write_per_call():
    """The idle guess (which of the two takes to write) follows what the caller last saw: others
    writing, so busy. Before, a push guessed idle after every gap between orders while a pull kept
    the timeline busy: a refused write per order."""
    table, clock = OthersTable(), FakeClock()
    push = shared(table, clock, "push")
    push.wait()
    push.wait()
    table.requests = 0
    for _ in range(10):
        clock.now += 5.0  # the next order, seconds later
        for _ in range(3):  # its three SOS calls
            push.wait()
    assert table.requests == 30


def test_a_hook_read_keeps_guessing_busy_after_a_refusal_showed_others_writing():
    """Measured at a 1/s account (13 refused writes for 40 hook reads): after a wrong idle guess
    the refusal's answer became the reference for "did others write?", so the next success said
    no one had and the next lease guessed idle again. Others are measured from our own last slice."""
    table, clock = MemoryBudgetTable(), FakeClock()
    hook = shared(table, clock, "hook")
    hook.wait()  # creates the item: an idle timeline
    writes = []
    for _ in range(3):  # a hook read every 5 s while pushes keep 6 slots queued
        clock.now += 5.0
        table.state = replace(table.state, tail=clock.now + 3.0)
        before = table.requests
        hook.wait()
        writes.append(table.requests - before)
    assert writes == [2, 1, 1]  # one wrong idle guess, then busy: one write at the floor each


def test_the_first_caller_of_a_deployment_creates_the_item_with_its_slots_in_one_write():
    table, clock = MemoryBudgetTable(), FakeClock()
    shared(table, clock, "pull").wait()
    assert table.requests == 1 and table.state.tail == pytest.approx(NOW + POLICY.slices["pull"] / 2.0)


def simulate_account(policy: BudgetPolicy, account_rps: float, seconds: float, burst: float = 2.0,
                     lag: float = 1.0, jitter_at: tuple[float, ...] = ()) -> dict:
    """The pure rules against a simulated SOS account of `account_rps` (a token bucket, as the
    emulator's): demand saturates the budget, one request per slot; a throttled answer lowers the
    rate (and sets the ceiling, as store/budget.py does), a quiet period raises it; a change
    reaches the senders `lag` s later (slots already leased by containers). The first request
    at or after each of `jitter_at` is throttled whatever the bucket holds (network jitter,
    another client's burst). Deterministic."""
    jitter = sorted(jitter_at)
    state = initial_state(policy, 0.0)
    tokens, filled, now, spacing = burst, 0.0, 0.0, state.rate
    pending: list[tuple[float, float]] = []  # (when the senders see it, rate)
    sent = throttled = 0
    settled = None
    rates = [(now, state.rate)]
    while now < seconds:
        while pending and pending[0][0] <= now:
            spacing = pending.pop(0)[1]
        rate = in_force(policy, state, now)
        if rate != rates[-1][1]:
            pending.append((now + lag, rate))
        tokens, filled = min(burst, tokens + (now - filled) * account_rps), now
        sent += 1
        jittered = bool(jitter) and jitter[0] <= now
        if jittered:
            jitter.pop(0)
        if not jittered and tokens >= 1:
            tokens -= 1
        else:
            throttled += 1
            change = lowered(policy, state, now)
            if change is not None:
                state = replace(state, rate=change[0], lowered_at=now, throttles=state.throttles + 1, ceiling=change[1])
                pending.append((now + lag, change[0]))
        if settled is None and in_force(policy, state, now) <= account_rps:
            settled = now
        rates.append((now, in_force(policy, state, now)))
        now += 1 / spacing
    return {"sent": sent, "throttled": throttled, "settled": settled, "rates": rates, "throttles": state.throttles}


def test_adaptive_rate_settles_at_or_below_a_1_per_s_account_within_a_minute_with_few_throttles():
    """Issue 20: the account allows 1/s (SOS-A3), the deployment is configured for 2. The rate in
    force is at or below 1 within a minute, ≤ 5 % of calls are throttled over 5 minutes, and after
    the first minute it stays there: quiet periods approach 0.9 × the rate last throttled at in
    half steps instead of climbing back into the limit every 40 s (9 episodes in 5 minutes, 3.8 %
    throttled, before)."""
    policy = BudgetPolicy(2.0)
    run = simulate_account(policy, 1.0, 300)
    assert run["settled"] is not None and run["settled"] <= 60
    assert run["throttled"] / run["sent"] <= 0.02
    assert run["throttles"] <= 4
    assert max(rate for at, rate in run["rates"] if at >= 120) <= 1.0
    assert run["sent"] >= 0.9 * 300  # and the account is used, not starved


@pytest.mark.parametrize("account_rps", [0.5, 1.5, 1.9])
def test_adaptive_rate_keeps_throttles_rare_at_other_account_limits(account_rps):
    run = simulate_account(BudgetPolicy(2.0), account_rps, 600)
    assert run["throttled"] / run["sent"] <= 0.05
    assert run["sent"] >= 0.85 * 600 * account_rps


def account_throttles(arrivals: list[float], rate: float, burst: float) -> int:
    """An SOS account's token bucket (SOS-A3; as the emulator's `set_rate_limit`): requests
    arriving at `arrivals` that find less than one token."""
    tokens, filled, throttled = burst, arrivals[0], 0
    for at in sorted(arrivals):
        tokens, filled = min(burst, tokens + (at - filled) * rate), at
        if tokens >= 1:
            tokens -= 1
        else:
            throttled += 1
    return throttled


def test_slots_used_late_do_not_bunch_requests_so_an_account_at_the_configured_rate_is_not_throttled():
    """SOS-A3, account limit = SosMaxRps = 2/s, burst 2. Three containers (slices of 3, as a pull's)
    do a varying amount of work between requests, so they use slots late (a slot already past
    when asked for, or a slice's tail appended to while in the past). A slot is sent at once
    when late: two requests come closer than 1 / rate by the lateness. With a whole slot of
    lateness allowed (before), two requests came at the same instant (147 gaps under a quarter
    second in 1070 sends) and the account's bucket, with up to 0.2 s of network on top, answered
    38 throttles at rate = limit; now a slot later than half a slot is dropped: requests are half
    a slot apart at least, and none is throttled."""
    import random

    policy = BudgetPolicy(2.0, slices=MappingProxyType({"push": 3, "hook": 1, "pull": 3}))
    table, clock = MemoryBudgetTable(), FakeClock()
    asleep: list[float] = []
    callers = [SharedBudget(table, policy, "push", clock=clock, sleep=asleep.append) for _ in range(3)]
    work = random.Random(20)
    events = [(NOW + k * 0.1, k) for k in range(len(callers))]
    sends: list[float] = []
    while events[0][0] < NOW + 600:
        clock.now, k = heapq.heappop(events)
        asleep.clear()
        callers[k].wait()  # pushes never sleep in a lease: the only sleep is to the slot
        sent = clock.now + sum(asleep)
        sends.append(sent)
        heapq.heappush(events, (sent + work.choice([0.0, 0.1, 0.3, 0.6, 0.9, 1.4]), k))
    sends.sort()
    assert len(sends) >= 0.7 * 600 * policy.configured  # the budget is used (the work leaves slots unused)
    assert min(b - a for a, b in zip(sends, sends[1:])) >= 0.5 / policy.configured - 1e-9
    network = random.Random(7)
    arrivals = [at + network.uniform(0.0, 0.2) for at in sends]
    assert account_throttles(arrivals, policy.configured, burst=2.0) == 0
    assert (table.requests - 3) / len(sends) <= 1.0  # dropped slots cost no more than one write a call


def test_rare_jitter_throttles_at_rate_equal_to_the_account_limit_cost_a_minute_not_ten_at_half_rate():
    """SOS-A3, account limit = SosMaxRps = 2/s: two isolated throttles (jitter, 4 minutes apart).
    Each lowers the rate once; an isolated one keeps no ceiling, so quiet periods bring the rate in
    force back to the configured one within a couple of minutes. Before, each set a ceiling for
    10 minutes that the rate approached only up to 0.9 ×: after three, 0.98/s for the rest of the
    run (the full-scale stack benchmark)."""
    policy = BudgetPolicy(2.0)
    run = simulate_account(policy, 2.0, 600, jitter_at=(100.0, 340.0))
    assert run["throttled"] == 2 and run["throttles"] == 2  # nothing but the jitter
    for jittered in (100.0, 340.0):
        after = [(at, rate) for at, rate in run["rates"] if at >= jittered]
        assert after[1][1] < policy.configured  # lowered, once
        back = next(at for at, rate in after if rate == policy.configured)
        assert back - jittered <= 120
    assert min(rate for at, rate in run["rates"] if at >= 500) == policy.configured


class SlowTable(MemoryBudgetTable):
    """A take that takes a while (a loaded DynamoDB endpoint): the caller's other threads queue up."""

    def __init__(self):
        super().__init__()
        self.slots_taken = 0

    def take(self, **kwargs):
        time.sleep(0.2)  # the other threads arrive meanwhile; at 2/s the lease's next slot is 0.5 s on
        taken = super().take(**kwargs)
        self.slots_taken += kwargs["count"]
        return taken


def test_threads_of_one_container_waiting_at_once_share_a_lease():
    """Issue 20 (≤ 1 DynamoDB request per SOS call): a push invocation's message groups wait for
    their slots together; one lease serves every thread waiting, not one write per thread."""
    table = SlowTable()
    budget = SharedBudget(table, BudgetPolicy(2.0), "push")  # the real clock: threads really wait
    start = threading.Barrier(6)

    def order():
        start.wait()
        budget.wait()

    threads = [threading.Thread(target=order) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert table.requests <= 3  # one per thread before (6); a refused idle guess at most besides
    assert table.slots_taken == 6  # a slot of its own for every thread, none leased for nobody
