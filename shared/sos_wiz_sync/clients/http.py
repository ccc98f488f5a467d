"""HTTP plumbing both API clients share: retries, pacing, bounded concurrency, errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

T = TypeVar("T")
R = TypeVar("R")

# Methods whose replay cannot create a second record on the server.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = (429, 500, 502, 503, 504)
# Pooled connections per session at least: the push sends up to its batch's 10 message groups'
# requests at once (push.router.GROUPS_AT_ONCE); beyond the pool they are opened and discarded.
MIN_POOL_SIZE = 12


class ApiError(Exception):
    """An API answered with an error the caller has to decide about."""

    def __init__(self, api: str, method: str, path: str, status: int, message: str, body: object = None):
        super().__init__(f"{api} {method} {path} -> {status}: {message}")
        self.api = api
        self.method = method
        self.path = path
        self.status = status
        self.message = message
        self.body = body

    @property
    def transient(self) -> bool:
        """429 and 5xx may succeed later; 4xx will not until something is fixed."""
        return self.status == 429 or self.status >= 500


class WriteSafeRetry(Retry):
    """Retry idempotent calls on 429/5xx; non-idempotent writes (POST, PATCH) only on 429.

    A POST that answered 5xx may have been applied, so replaying it blindly could create a
    second record; the caller decides (e.g. look the order up by its number first). A 429 is
    a refusal, so replaying it is always safe, and `Retry-After` is honoured by urllib3.
    """

    def __init__(self, *args, safe_write_methods: Iterable[str] = (), pacer: Pacer | None = None,
                 hold: RetryAfterHold | None = None, **kwargs):
        self.safe_write_methods = frozenset(safe_write_methods)
        self.pacer = pacer
        self.hold = hold
        super().__init__(*args, **kwargs)

    def new(self, **kw):  # urllib3 rebuilds the object on every retry
        kw.setdefault("safe_write_methods", self.safe_write_methods)
        kw.setdefault("pacer", self.pacer)
        kw.setdefault("hold", self.hold)
        return super().new(**kw)

    def sleep(self, response=None) -> None:
        """Back off, then take a paced slot: a retry is a request to the rate limit too, and a
        429 tells the pacer the limit was reached. A `Retry-After` holds the session's other
        threads as well (`hold`)."""
        if self.hold is not None and response is not None:
            after = self.get_retry_after(response)
            if after:
                self.hold.hold(after)
        super().sleep(response)
        if self.pacer is not None:
            if response is not None and response.status == 429:
                self.pacer.throttled()
            self.pacer.wait()

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 429:
            method = "GET"  # a refusal was not applied: replaying it is safe whatever the method
        elif method.upper() not in IDEMPOTENT_METHODS | self.safe_write_methods:
            return False
        return super().is_retry(method, status_code, has_retry_after)


class RetryAfterHold:
    """A `Retry-After` one thread was answered holds every thread of the session until it ends:
    the limit is the client's (WC-A3: per API key, assumed), not the one request's, and the push
    sends its message groups' requests side by side."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until = 0.0

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)

    def wait(self) -> None:
        delay = self._until - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class HoldingAdapter(HTTPAdapter):
    """An HTTPAdapter whose requests wait out the session's `RetryAfterHold` before they go."""

    def __init__(self, *args, hold: RetryAfterHold, **kwargs):
        self.hold = hold
        super().__init__(*args, **kwargs)

    def send(self, request, *args, **kwargs):
        self.hold.wait()
        return super().send(request, *args, **kwargs)


def build_session(*, retries: int = 5, backoff_factor: float = 0.5, safe_write_methods: Iterable[str] = (),
                  pool_size: int = 16, pacer: Pacer | None = None) -> requests.Session:
    """A requests session with a mounted urllib3 Retry: backoff with jitter, Retry-After honoured
    (by every thread of the session); with a `pacer`, each retry waits for its slot too."""
    hold = RetryAfterHold()
    retry = WriteSafeRetry(
        total=retries,
        connect=retries,
        read=0,  # a read timeout on a write may have been applied: the caller decides
        status=retries,
        backoff_factor=backoff_factor,
        backoff_jitter=backoff_factor,
        backoff_max=30,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=IDEMPOTENT_METHODS | frozenset(safe_write_methods),
        respect_retry_after_header=True,
        retry_after_max=120,
        raise_on_status=False,
        safe_write_methods=safe_write_methods,
        pacer=pacer,
        hold=hold,
    )
    session = requests.Session()
    pool_size = max(pool_size, MIN_POOL_SIZE)
    adapter = HoldingAdapter(max_retries=retry, pool_connections=pool_size, pool_maxsize=pool_size, hold=hold)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class Pacer:
    """Spaces calls at most `rate` per second across the threads of one process. The deployment's
    SOS budget (budget.SharedBudget) extends it across processes."""

    def __init__(self, rate: float):
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            time.sleep(slot - now)

    def throttled(self) -> None:
        """The API answered a throttle; local pacing keeps its fixed rate."""


class CallCounter:
    """Counts API calls per client for the run report (R-OPS-2)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def add(self) -> None:
        with self._lock:
            self.count += 1


def map_bounded(fn: Callable[[T], R], items: Iterable[T], concurrency: int) -> Iterator[tuple[T, R | None, Exception | None]]:
    """Apply fn to items with at most `concurrency` in flight; yield (item, result, error) in order.

    Errors are returned, not raised, so one failing record never fails the others.
    """

    def call(item: T) -> tuple[T, R | None, Exception | None]:
        try:
            return item, fn(item), None
        except Exception as exc:  # noqa: BLE001 - reported per item by the caller
            return item, None, exc

    items = list(items)
    if concurrency <= 1 or len(items) <= 1:
        yield from map(call, items)
        return
    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        yield from pool.map(call, items)
