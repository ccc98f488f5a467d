"""One SOS request budget for the whole deployment (R-CFG-4; SOS-A3: the limit is the account's).

Every SOS request of every function and container takes a slot on one shared timeline in the
state table (store/budget.py): slots are 1 / rate apart, so the deployment sends at most `rate`
requests a second whatever the number of containers. A caller takes a slice of slots in one
conditional UpdateItem and spends them itself. Cost: a push's slice is one slot (one write);
a pull's is larger (`slices`), and at high rates every slice spans at least
`lease_seconds` of the timeline (at 1000/s, 50 slots a write); a refused caller sleeps until the
answer says it would be let in, and after `max_refusals` until its floor, where it is let in
whatever the queue: at most max_refusals + 1 writes per slice. Overall below one DynamoDB
request per SOS request (tests/integration/test_sos_budget_processes.py measures it).

Priority (pushes first): a priority may only add slots while the timeline ahead is short — a
push always, a quantity-hook read while at most `horizons["hook"]` slots are queued, a pull
while at most `horizons["pull"]`. So an order waits behind at most that many pull slots, never
behind an inventory pass. Floor: a caller refused for `floor_slots` slots takes its slice
anyway, so a waiting pull gets `slices["pull"]` slots at least every
`floor_slots + queued + slice` slots (`pull_floor_share`).

Adaptive (AIMD): a throttled answer (429 or HTTP 200 "Throttle limit exceeded") multiplies the
deployment's rate by `decrease` (once per `cooldown_seconds`: one episode, one decrease); each
`quiet_seconds` without one adds `increase` × the configured rate, never above it.

If the table cannot be used (throttled, unavailable), the caller paces itself locally at
configured / `fallback_callers` for `FALLBACK_SECONDS` and tries the table again: a push never
fails and never blocks for the budget.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from ..store.budget import BudgetRefused, BudgetState
from .http import Pacer

log = logging.getLogger(__name__)

Priority = Literal["push", "hook", "pull"]
PRIORITIES: tuple[Priority, ...] = ("push", "hook", "pull")
FALLBACK_SECONDS = 30.0   # local pacing this long after the table failed, then the table again
MAX_WAIT_SECONDS = 60.0   # a lease not granted by then: local pacing for this request


@dataclass(frozen=True)
class BudgetPolicy:
    configured: float  # SosMaxRps: the deployment's total
    # Slots that may already be queued for a priority to take more (None: always).
    horizons: Mapping[str, float | None] = field(
        default_factory=lambda: MappingProxyType({"push": None, "hook": 1.0, "pull": 0.5}))
    # Slots taken per lease: one per push request keeps an order from waiting behind a slice;
    # a hook's and a pull's slices make their waiting (refused writes) cheap per slot.
    slices: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({"push": 1, "hook": 1, "pull": 3}))
    lease_seconds: float = 0.05  # a slice spans at least this much of the timeline (high rates)
    max_refusals: int = 1        # refused this often → the next write is at the floor, unconditional
    floor_slots: float = 4.0     # refused this long (in slots) → the slice is taken anyway
    decrease: float = 0.7        # rate × this on a throttled answer
    increase: float = 0.1        # + this × configured per quiet period
    quiet_seconds: float = 20.0
    cooldown_seconds: float = 2.0
    min_share: float = 0.1       # the rate never goes below this × configured
    grace_slots: float = 1.0     # a slot used later than this is dropped (it would bunch requests)
    max_backlog_seconds: float = 60.0  # a tail further out than this is broken: start again from now
    fallback_callers: int = 6    # local pacing share when the table fails

    def slice(self, priority: str, rate: float) -> int:
        """Slots per lease: the priority's slice, or `lease_seconds` of slots when more (at the
        local stack's 1000/s: 50 slots per DynamoDB request)."""
        return max(self.slices[priority], math.floor(rate * self.lease_seconds))

    def lateness(self, rate: float) -> float:
        """How late a slot may still be used (and a past tail appended to): one slot, or
        `lease_seconds` at high rates. Requests bunch by at most this much."""
        return max(self.grace_slots / rate, self.lease_seconds)

    @property
    def min_rate(self) -> float:
        return self.configured * self.min_share

    def pull_floor_share(self, queued_slots: float) -> float:
        """The least share of the rate a waiting pull gets when `queued_slots` are ahead of it as it
        is let in: one per other container taking single slots, and the one being sent. At 2
        push containers: 3 / (4 + 3 + 3) = 30% of the rate however many orders wait."""
        return self.slices["pull"] / (self.floor_slots + queued_slots + self.slices["pull"])


# -- the rules, pure (tests/unit/test_sos_budget.py) --------------------------------------------
def initial_state(policy: BudgetPolicy, now: float) -> BudgetState:
    return BudgetState(tail=now, rate=policy.configured, configured=policy.configured)


def limit(policy: BudgetPolicy, state: BudgetState, priority: str, now: float, waited: float) -> float | None:
    """The latest tail `priority` may still add to (None: any), having waited `waited` s."""
    horizon = policy.horizons[priority]
    if horizon is None or waited >= policy.floor_slots / state.rate:
        return None
    return now + horizon / state.rate


def admitted(policy: BudgetPolicy, state: BudgetState, priority: str, now: float, waited: float) -> bool:
    bound = limit(policy, state, priority, now, waited)
    return bound is None or state.tail <= bound


def retry_at(policy: BudgetPolicy, state: BudgetState, priority: str, now: float, waited: float,
             refusals: int = 0) -> float:
    """When a refused caller asks again: when the queue ahead (as `state` shows it) will have
    shrunk to its horizon, or when it has waited long enough for the floor, whichever comes
    first; after `max_refusals` refused writes, at the floor (each try is a DynamoDB request)."""
    floor = now - waited + policy.floor_slots / state.rate
    if refusals >= policy.max_refusals:
        return max(now, floor)
    horizon = policy.horizons[priority] or 0.0
    return max(now + 1 / state.rate, min(state.tail - horizon / state.rate, floor))


def lease(state: BudgetState, count: int, now: float, late: float | None = None) -> tuple[BudgetState, list[float]]:
    """`count` slots after the tail (or from now when the timeline is idle: its tail before
    `late`): what the table's conditional update does, for the tests."""
    first = state.tail if state.tail >= (now if late is None else late) else now
    return replace(state, tail=first + count / state.rate), slots_before(state.rate, first + count / state.rate, count)


def slots_before(rate: float, tail: float, count: int) -> list[float]:
    return [tail - (count - k) / rate for k in range(count)]


def lowered(policy: BudgetPolicy, state: BudgetState, now: float) -> float | None:
    """The rate after a throttled answer; None when one was already answered this episode."""
    if now - state.lowered_at < policy.cooldown_seconds:
        return None
    return max(policy.min_rate, min(state.rate, policy.configured) * policy.decrease)


def raised(policy: BudgetPolicy, state: BudgetState, now: float) -> float | None:
    """The rate after a quiet period (never above configured); None when none is due. A rate
    above the configured one (SosMaxRps lowered since) comes down at once."""
    if state.rate > policy.configured or state.configured != policy.configured:
        return min(state.rate, policy.configured)
    if state.rate >= policy.configured or now - max(state.lowered_at, state.raised_at) < policy.quiet_seconds:
        return None
    return min(policy.configured, state.rate + policy.increase * policy.configured)


# -- the shared pacer -----------------------------------------------------------------------------
class BudgetStore(Protocol):
    def read(self) -> BudgetState | None: ...
    def create(self, state: BudgetState) -> BudgetState: ...
    def take(self, *, count: int, rate: float, now: float, late: float, idle: bool,
             limit: float | None) -> BudgetState: ...
    def set_rate(self, expected: BudgetState, *, rate: float, configured: float, now: float,
                 lowered: bool) -> BudgetState: ...


class BudgetUnavailable(Exception):
    """No slot within MAX_WAIT_SECONDS: this request is paced locally."""


class SharedBudget(Pacer):
    """A Pacer whose `wait()` takes a slot of the deployment's SOS budget (SosClient._send)."""

    def __init__(self, store: BudgetStore, policy: BudgetPolicy, priority: Priority, *,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 on_rate: Callable[[float], None] | None = None):
        super().__init__(policy.configured / policy.fallback_callers)  # the local fallback
        self.store, self.policy, self.priority = store, policy, priority
        self._clock, self._sleep, self._on_rate = clock, sleep, on_rate
        self._budget_lock = threading.Lock()
        self._state: BudgetState | None = None  # the item as last read or written
        self._slots: list[float] = []
        self._fallback_until = 0.0
        self._reported_rate: float | None = None

    @property
    def rate(self) -> float | None:
        """The deployment's rate in force as last seen (None before the first request)."""
        return self._state.rate if self._state else None

    def wait(self) -> None:
        with self._budget_lock:
            slot = self._slot()
        if slot is None:
            super().wait()
            return
        delay = slot - self._clock()
        if delay > 0:
            self._sleep(delay)

    def throttled(self) -> None:
        """SOS answered a throttle: lower the deployment's rate (one decrease per episode)."""
        with self._budget_lock:
            if self._state is None or self._clock() < self._fallback_until:
                return
            try:
                for _ in range(2):  # once more if the rate was raised under us
                    now = self._clock()
                    rate = lowered(self.policy, self._state, now)
                    if rate is None:
                        break
                    try:
                        self._keep(self.store.set_rate(self._state, rate=rate, configured=self.policy.configured,
                                                       now=now, lowered=True), now)
                        log.warning("SOS throttled: the deployment's SOS rate is now %.2f/s", rate)
                        break
                    except BudgetRefused as refused:
                        if refused.state is None:
                            break
                        self._keep(refused.state, now)
            except (ClientError, BotoCoreError) as exc:
                self._fall_back(exc)
            self._slots.clear()  # taken at the old rate

    # -- inside the lock --------------------------------------------------------------------------
    def _slot(self) -> float | None:
        now = self._clock()
        if now < self._fallback_until:
            return None
        if self._state is not None:
            late = now - self.policy.lateness(self._state.rate)
            self._slots = [slot for slot in self._slots if slot >= late]
        if not self._slots:
            try:
                self._slots = self._lease(now)
            except (ClientError, BotoCoreError, BudgetUnavailable) as exc:
                self._fall_back(exc)
                return None
        return self._slots.pop(0)

    def _lease(self, since: float) -> list[float]:
        state = self._current(since)
        refusals = 0
        waited_out_refusal = False  # slept since the last refusal: the item has likely moved on
        while True:
            now = self._clock()
            if now - since > MAX_WAIT_SECONDS:
                raise BudgetUnavailable(f"no SOS slot within {MAX_WAIT_SECONDS:.0f} s")
            state = self._adjusted(state, now)
            waited = now - since
            if not admitted(self.policy, state, self.priority, now, waited):
                # as the item last answered: sleep until it would let us in (no write before)
                self._sleep(retry_at(self.policy, state, self.priority, now, waited, refusals) - now)
                waited_out_refusal = refusals > 0
                continue
            count = self.policy.slice(self.priority, state.rate)
            late = now - self.policy.lateness(state.rate)
            # as last seen; after waiting out a refusal others are busy, so not idle. A wrong
            # guess costs a write.
            idle = state.tail < late and not waited_out_refusal
            broken = state.tail - now > self.policy.max_backlog_seconds
            try:
                taken = self.store.take(count=count, rate=state.rate, now=now, late=late, idle=idle or broken,
                                        limit=limit(self.policy, state, self.priority, now, waited))
            except BudgetRefused as refused:
                before, waited_out_refusal = state, False
                state = self._refreshed(refused, now)
                if broken and state.tail - now > self.policy.max_backlog_seconds:
                    state = self._keep(self.store.create(initial_state(self.policy, now)), now)
                elif not admitted(self.policy, state, self.priority, now, waited) or state.rate != before.rate:
                    refusals += 1  # refused for the queue: count towards the floor
                continue
            self._keep(taken, now)
            return slots_before(taken.rate, taken.tail, count)

    def _current(self, now: float) -> BudgetState:
        """The item as last seen; before the first write, a guess (idle at the configured rate):
        a wrong one is refused with the item as it is, so no read is needed."""
        return self._state or initial_state(self.policy, now - self.policy.max_backlog_seconds)

    def _refreshed(self, refused: BudgetRefused, now: float) -> BudgetState:
        return self._keep(refused.state or self.store.create(initial_state(self.policy, now)), now)

    def _adjusted(self, state: BudgetState, now: float) -> BudgetState:
        """The rate raised after a quiet period, or brought to a lowered SosMaxRps."""
        rate = raised(self.policy, state, now)
        if rate is None:
            return state
        try:
            return self._keep(self.store.set_rate(state, rate=rate, configured=self.policy.configured, now=now,
                                                  lowered=False), now)
        except BudgetRefused as refused:
            return self._refreshed(refused, now)

    def _keep(self, state: BudgetState, now: float) -> BudgetState:
        self._state = state
        if self._on_rate and state.rate != self._reported_rate:
            self._reported_rate = state.rate
            self._on_rate(state.rate)
        return state

    def _fall_back(self, error: Exception) -> None:
        self._fallback_until = self._clock() + FALLBACK_SECONDS
        self._slots.clear()
        log.warning("SOS budget table unusable (%s: %s); pacing locally at %.2f/s for %.0f s",
                    type(error).__name__, error, self.policy.configured / self.policy.fallback_callers,
                    FALLBACK_SECONDS)
