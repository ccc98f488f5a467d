"""One SOS request budget for the whole deployment (R-CFG-4; SOS-A3: the limit is the account's).

Every SOS request of every function and container takes a slot on one shared timeline in the
state table (store/budget.py): slots are 1 / rate apart, so the deployment sends at most `rate`
requests a second whatever the number of containers. A caller takes a slice of slots in one
conditional UpdateItem and spends them itself.

Priority (pushes first): a priority may only add slots while the timeline ahead is short — a
push always, a quantity-hook read while at most `horizons["hook"]` slots are queued, a pull
while at most `horizons["pull"]`. So an order waits behind at most that many pull slots, never
behind an inventory pass. Floor: a caller refused for `floor_slots` slots takes its slice
anyway, so a waiting pull gets `slices["pull"]` slots at least every
`floor_slots + queued + slice` slots (`pull_floor_share`).

Cost (issue 20: at most one DynamoDB request per SOS call). A push's slice is one slot, a
pull's three, and at high rates a slice spans at least `lease_seconds` (at 1000/s, 50 slots a
write). Refused writes were the excess (1.08–1.12 a call measured), and each has a cause the
caller can see coming, so it is avoided rather than paid for with larger slices (slices of 2/4
made orders wait behind up to 6 lower-priority slots):
- a hook read or pull under push load was refused for the queue on every slice, then let in at
  its floor. A caller that found the queue beyond its horizon at its last lease (`contended`)
  now sleeps straight to its floor and writes once there; the first lease with a short queue
  ahead ends that. Its latency is unchanged (it was let in at the floor anyway), only the
  refused write goes; it costs at most one floor's wait once the pushes stop.
- the take is one of two writes (from now on an idle timeline, after the tail on a busy one); a
  push between orders guessed idle while a pull kept the timeline busy. The guess now follows
  whether others had moved the tail when the caller last wrote (`guess_idle`).
- the first caller created the item in a write of its own; the idle take now creates it.
- threads of one container waiting at once (a push invocation's message groups, a hook worker's
  concurrent reads) each leased a slot of their own; one lease now serves all that wait
  (`shared_leases`), so a burst of orders in one invocation costs about one write per container.
Worst case (every priority asking non-stop): about 0.85 a call; a busy afternoon about 0.9.

Adaptive (AIMD): a throttled answer (429 or HTTP 200 "Throttle limit exceeded") multiplies the
rate in force by `decrease` (once per `cooldown_seconds`: one episode, one decrease); a throttle
within `repeat_seconds` of the last decrease also keeps the rate it was throttled at as the
`ceiling` (an isolated one does not: jitter at rate = limit costs a minute, not ten at half
the rate; the full-scale benchmark ended at 0.98/s of 2 after three). Each `quiet_seconds`
since then adds `increase` × the configured rate, but for `ceiling_seconds` only up to `approach` × the ceiling and at most
half the way there, so the rate nears the limit ever more slowly instead of climbing back into
it every 40 s (at a 1/s account under a 2/s configuration, in the simulation of
tests/unit/test_sos_budget.py: 9 throttle episodes in 5 minutes before, 3 now). Never above the
configured rate; after `ceiling_seconds` without a throttle it may rise to it again (the
account's limit may have been raised, or the throttle was another client's burst). The raise is
by the clock (`in_force`): every caller computes the same rate from the item's stored rate and
when it was set, so only a throttle (or a redeployed SosMaxRps) writes the rate. Raising it by a
write cost one `set_rate` and a refused write in every other container per quiet period
(1.13 DynamoDB requests per SOS call while settling at a 1/s account).

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
    # A container's threads waiting for a slot at once share one lease, up to this many slots: a
    # push invocation's message groups (up to its batch of 10: the same priority, so no one waits
    # behind them who would not anyway), a hook worker's concurrent reads (SosMaxConcurrency, 2).
    shared_leases: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({"push": 10, "hook": 2, "pull": 3}))
    lease_seconds: float = 0.05  # a slice spans at least this much of the timeline (high rates)
    max_refusals: int = 1        # refused this often → the next write is at the floor, unconditional
    floor_slots: float = 4.0     # refused this long (in slots) → the slice is taken anyway
    decrease: float = 0.7        # rate × this on a throttled answer
    increase: float = 0.1        # + this × configured per quiet period, at most half the way to the cap
    approach: float = 0.9        # quiet periods raise the rate to this × the last throttled rate at most
    ceiling_seconds: float = 600.0  # that long without a throttle, the cap is the configured rate again
    # A throttle this soon after the last decrease sets the ceiling; an isolated one (jitter, another
    # client's burst) only lowers the rate, which quiet periods raise to the configured one in a minute.
    repeat_seconds: float = 120.0
    quiet_seconds: float = 20.0
    cooldown_seconds: float = 2.0
    min_share: float = 0.1       # the rate never goes below this × configured
    # A slot used later than this (in slots) is dropped: sent at once, a late slot comes closer
    # than 1 / rate to the next one by its lateness; the account's bucket (burst 2 at its limit)
    # takes 1 slot of bunching only, so half a slot leaves the other half to network jitter.
    grace_slots: float = 0.5
    max_backlog_seconds: float = 60.0  # a tail further out than this is broken: start again from now
    fallback_callers: int = 6    # local pacing share when the table fails

    def slice(self, priority: str, rate: float, waiting: int = 1) -> int:
        """Slots per lease: the priority's slice, or one per thread of the caller waiting for a
        slot (up to `shared_leases`), or `lease_seconds` of slots when more (at the local stack's
        1000/s: 50 slots per DynamoDB request)."""
        return max(self.slices[priority], min(waiting, self.shared_leases[priority]),
                   math.floor(rate * self.lease_seconds))

    def lateness(self, rate: float) -> float:
        """How late a slot may still be used (and a past tail appended to): `grace_slots`, or
        `lease_seconds` at high rates. Requests bunch by at most this much (two sends are at
        least 1 / rate - lateness apart)."""
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


def admitted(policy: BudgetPolicy, state: BudgetState, priority: str, now: float, waited: float,
             refusals: int = 0) -> bool:
    """Whether to write now: always at the floor; before it, while the queue is short, and only
    until refused `max_refusals` times (a contended caller starts at that count: it writes once,
    at its floor)."""
    bound = limit(policy, state, priority, now, waited)
    return bound is None or (refusals < policy.max_refusals and state.tail <= bound)


def contended(policy: BudgetPolicy, priority: str, taken: BudgetState, count: int, now: float) -> bool:
    """Whether the queue ahead of a slice just taken was longer than its priority may add to: then
    its next lease waits for the floor without a conditional write first (which would be refused:
    one DynamoDB request for nothing per slice)."""
    horizon = policy.horizons[priority]
    return horizon is not None and taken.tail - count / taken.rate - now > horizon / taken.rate


def guess_idle(state: BudgetState, late: float, *, fresh: bool, others_busy: bool) -> bool:
    """Which of the two takes to write (a wrong guess is refused: one more request). The tail
    only grows, so a tail seen at or after `late` is busy for sure. A tail seen before it: idle if
    just answered by the item (`fresh`), else idle unless others were writing when last seen (a
    push between two orders while a pull runs finds the timeline busy)."""
    return state.tail < late and (fresh or not others_busy)


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


def lowered(policy: BudgetPolicy, state: BudgetState, now: float,
            leased_at: float | None = None) -> tuple[float, float] | None:
    """The rate to store after a throttled answer and the ceiling: the rate in force it was
    throttled at if the last decrease was within `repeat_seconds` (the limit is below it), else 0
    (an isolated throttle: before, each set a ceiling for `ceiling_seconds`, and three jitter
    throttles at rate = limit held the rate at half the configured one for the rest of a run).
    None when one was already answered this episode: within `cooldown_seconds` of the last
    decrease, or for a request whose slot was leased (`leased_at`) before it — spaced at the old
    rate, it says nothing of the new one (without this, slices leased before a decrease and the
    account's emptied burst lowered a 1/s account's rate a third time, to 0.69)."""
    if now - state.lowered_at < policy.cooldown_seconds or (leased_at is not None and leased_at < state.lowered_at):
        return None
    throttled_at = in_force(policy, state, now)
    repeated = state.throttles > 0 and now - state.lowered_at < policy.repeat_seconds  # lowered_at: 0 before any
    return max(policy.min_rate, throttled_at * policy.decrease), throttled_at if repeated else 0.0


def cap(policy: BudgetPolicy, state: BudgetState, now: float) -> float:
    """How high quiet periods may raise the rate: `approach` × the rate last throttled at, for
    `ceiling_seconds` after that throttle (the account's limit is below it); then the configured
    rate again (the limit may have been raised, or the throttle was another client's burst)."""
    if not state.ceiling or now - state.lowered_at >= policy.ceiling_seconds:
        return policy.configured
    return min(policy.configured, state.ceiling * policy.approach)


def step_up(policy: BudgetPolicy, state: BudgetState, rate: float, at: float) -> float | None:
    """One quiet period's raise at `at`: `increase` × configured, but at most half the way to the
    cap (the rate nears the last throttled rate ever more slowly instead of hitting it again);
    None within 1 % of the cap."""
    top, step = cap(policy, state, at), policy.increase * policy.configured
    if top == policy.configured:
        return min(top, rate + step)
    if rate >= top - 0.01 * policy.configured:
        return None
    return rate + min(step, (top - rate) / 2)


def in_force(policy: BudgetPolicy, state: BudgetState, now: float) -> float:
    """The rate in force: the stored rate (set by the last throttle, or the configured one) raised
    by `step_up` once per `quiet_seconds` since it was set, never above the configured rate. Every
    caller computes it alike from the item, so raising it costs no write (and no race)."""
    rate = min(state.rate, policy.configured)
    since = max(state.lowered_at, state.raised_at)
    at = since + policy.quiet_seconds
    while at <= now and rate < policy.configured:
        raised_rate = step_up(policy, state, rate, at)
        if raised_rate is not None:
            rate, at = raised_rate, at + policy.quiet_seconds
            continue
        lapse = state.lowered_at + policy.ceiling_seconds  # at the cap: next step when the cap lapses
        at = since + math.ceil((lapse - since) / policy.quiet_seconds) * policy.quiet_seconds
        if cap(policy, state, at) != policy.configured:
            break
    return rate


def reconfigured(policy: BudgetPolicy, state: BudgetState) -> float | None:
    """The rate to store when SosMaxRps was redeployed (a rate above it comes down at once); None
    when the item has this configuration."""
    if state.rate > policy.configured or state.configured != policy.configured:
        return min(state.rate, policy.configured)
    return None


# -- the shared pacer -----------------------------------------------------------------------------
class BudgetStore(Protocol):
    def read(self) -> BudgetState | None: ...
    def take(self, *, count: int, rate: float, in_force: float, now: float, late: float, idle: bool,
             limit: float | None, broken: float) -> BudgetState: ...
    def set_rate(self, expected: BudgetState, *, rate: float, configured: float, now: float,
                 lowered: bool, ceiling: float = 0.0) -> BudgetState: ...


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
        self._waiting = 0  # threads inside wait(): one lease serves them all (`shared_leases`)
        self._waiting_lock = threading.Lock()
        self._state: BudgetState | None = None  # the item as last read or written
        self._slots: list[float] = []
        self._slots_leased_at = 0.0              # when `_slots` were taken
        self._sent_leased_at: float | None = None  # when the slot last used was taken
        self._fallback_until = 0.0
        self._reported_rate: float | None = None
        self._contended = False    # the queue ahead of our last slice was beyond our horizon
        self._others_busy = False  # others had moved the tail since our last slice
        self._own_tail = 0.0       # the tail our last slice left

    @property
    def rate(self) -> float | None:
        """The deployment's rate in force as last seen (None before the first request)."""
        return in_force(self.policy, self._state, self._clock()) if self._state else None

    def wait(self) -> None:
        with self._waiting_lock:
            self._waiting += 1
        try:
            with self._budget_lock:
                slot = self._slot()
        finally:
            with self._waiting_lock:
                self._waiting -= 1
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
                for _ in range(2):  # once more if the item changed under us (another lowered it, a redeploy)
                    now = self._clock()
                    change = lowered(self.policy, self._state, now, self._sent_leased_at)
                    if change is None:
                        break
                    rate, ceiling = change
                    try:
                        self._keep(self.store.set_rate(self._state, rate=rate, configured=self.policy.configured,
                                                       now=now, lowered=True, ceiling=ceiling), now)
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
            late = now - self.policy.lateness(in_force(self.policy, self._state, now))
            self._slots = [slot for slot in self._slots if slot >= late]
        if not self._slots:
            try:
                self._slots = self._lease(now)
                self._slots_leased_at = self._clock()
            except (ClientError, BotoCoreError, BudgetUnavailable) as exc:
                self._fall_back(exc)
                return None
        self._sent_leased_at = self._slots_leased_at
        return self._slots.pop(0)

    def _lease(self, since: float) -> list[float]:
        state = self._current(since)
        # contended at the last lease: straight to the floor (see `contended`)
        refusals = self.policy.max_refusals if self._contended else 0
        fresh = False  # `state` is as the item just answered (no sleep since)
        while True:
            now = self._clock()
            if now - since > MAX_WAIT_SECONDS:
                raise BudgetUnavailable(f"no SOS slot within {MAX_WAIT_SECONDS:.0f} s")
            state = self._adjusted(state, now)
            view = self._view(state, now)  # the item with the rate in force: what the rules read
            waited = now - since
            if not admitted(self.policy, view, self.priority, now, waited, refusals):
                # as the item last answered: sleep until it would let us in (no write before)
                self._sleep(retry_at(self.policy, view, self.priority, now, waited, refusals) - now)
                fresh = False
                continue
            count = self.policy.slice(self.priority, view.rate, self._waiting)
            late = now - self.policy.lateness(view.rate)
            broken = now + self.policy.max_backlog_seconds
            idle = guess_idle(view, late, fresh=fresh, others_busy=self._others_busy) or view.tail > broken
            try:
                taken = self.store.take(count=count, rate=state.rate, in_force=view.rate, now=now, late=late,
                                        idle=idle, broken=broken,
                                        limit=limit(self.policy, view, self.priority, now, waited))
            except BudgetRefused as refused:
                before, fresh = state, True
                state = self._refreshed(refused, now)
                self._others_busy = state.tail > self._own_tail + 1e-6
                if not admitted(self.policy, self._view(state, now), self.priority, now, waited) or \
                        state.rate != before.rate:
                    refusals += 1  # refused for the queue: count towards the floor
                continue
            # others moved the tail since our last slice: someone else is using the budget (not
            # measured from a refusal's answer: that would hide the others it showed)
            self._others_busy = not idle and taken.tail - count / view.rate > self._own_tail + 1e-6
            self._own_tail = taken.tail
            self._keep(taken, now)
            taken = replace(taken, rate=view.rate)
            self._contended = contended(self.policy, self.priority, taken, count, now)
            return slots_before(taken.rate, taken.tail, count)

    def _current(self, now: float) -> BudgetState:
        """The item as last seen; before the first write (or with no item), a guess: idle at the
        configured rate. An idle take creates the item; a wrong guess is refused with the item as
        it is, so no read is needed."""
        return self._state or initial_state(self.policy, now - self.policy.max_backlog_seconds)

    def _refreshed(self, refused: BudgetRefused, now: float) -> BudgetState:
        """The item as a refusal answered it; none (deleted): the first caller's guess again."""
        if refused.state is None:
            return initial_state(self.policy, now - self.policy.max_backlog_seconds)
        return self._keep(refused.state, now)

    def _adjusted(self, state: BudgetState, now: float) -> BudgetState:
        """The item brought to a redeployed SosMaxRps (the only rate change besides a throttle
        that is written: quiet periods raise the rate by the clock, see `in_force`)."""
        rate = reconfigured(self.policy, state)
        if rate is None:
            return state
        try:
            return self._keep(self.store.set_rate(state, rate=rate, configured=self.policy.configured, now=now,
                                                  lowered=False), now)
        except BudgetRefused as refused:
            return self._refreshed(refused, now)

    def _view(self, state: BudgetState, now: float) -> BudgetState:
        return replace(state, rate=in_force(self.policy, state, now))

    def _keep(self, state: BudgetState, now: float) -> BudgetState:
        self._state = state
        rate = in_force(self.policy, state, now)
        if self._on_rate and rate != self._reported_rate:
            self._reported_rate = rate
            self._on_rate(rate)
        return state

    def _fall_back(self, error: Exception) -> None:
        self._fallback_until = self._clock() + FALLBACK_SECONDS
        self._slots.clear()
        log.warning("SOS budget table unusable (%s: %s); pacing locally at %.2f/s for %.0f s",
                    type(error).__name__, error, self.policy.configured / self.policy.fallback_callers,
                    FALLBACK_SECONDS)
