"""What the SOS and WizCommerce emulators share.

- `Emulator`: a Flask app served by werkzeug on a daemon thread, with fault injection,
  request counters, an optional rate limit and the `/_admin/...` endpoints a separate
  process uses to drive all of that.
- `RecordStore`: the records of one resource, kept in list order (change stamp, id) so a
  page of a list costs O(page), not O(N).
- `Clock`: strictly increasing change stamps.
- `Deliverer`: asynchronous outgoing POSTs (SOS quantity hooks, WizCommerce webhooks).
"""

from __future__ import annotations

import heapq
import inspect
import itertools
import json
import logging
import math
import re
import threading
import time
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import requests
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler, make_server

from .seed import seed
from .values import canonical_stamp, format_stamp, parse_stamp

log = logging.getLogger(__name__)

ADMIN_PREFIX = "/_admin"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ApiError(Exception):
    """An API answer other than success; each emulator renders it in its own error shape."""

    def __init__(self, status: int, message: str, *, code: str = "", details: list | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.details = details or []
        self.headers = headers or {}


# -- time ------------------------------------------------------------------------------------

class Clock:
    """Wall clock (shiftable by tests) whose change stamps strictly increase.

    Strictly increasing stamps make a modified record sort after every other one, which is
    what "a record modified mid-run moves to the end" needs, and keep stores append-only.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._last = 0

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    def stamp(self) -> str:
        with self._lock:
            self._last = max(int(self.now() * 1_000_000), self._last + 1)
            return format_stamp(self._last)

    def observe(self, stamp: str) -> None:
        """Keep future stamps after `stamp` (records loaded with their own times)."""
        with self._lock:
            self._last = max(self._last, parse_stamp(stamp))


# -- records ---------------------------------------------------------------------------------

class RecordStore(Mapping):
    """Records of one resource by id, in list order (order_field, id).

    Records are plain dicts, stored and served as they are. A record written with a fresh
    clock stamp moves to the end of the dict in O(1); anything else (loads with old stamps)
    marks the store for one sort before the next list. `unique` fields get an index
    value → id (empty values are not indexed) for duplicate checks and filters; `indexed` fields
    an index value → ids, for filters on a field several records may share. Lists filtered
    by one field's value (a status) are kept until the next change, so paging through one
    costs one scan, not one per page.
    """

    def __init__(self, order_field: str, *, id_field: str = "id", id_prefix: str | None = None,
                 unique: Iterable[str] = (), indexed: Iterable[str] = ()):
        self.order_field = order_field
        self.id_field = id_field
        self._id_prefix = id_prefix  # None: integer ids; else "<prefix>_<n>"
        self._records: dict[Any, dict] = {}
        self._indexes: dict[str, dict[Any, Any]] = {name: {} for name in unique}
        self._shared_indexes: dict[str, dict[Any, dict[Any, None]]] = {name: {} for name in indexed}
        self._ordered: list[dict] | None = None  # list snapshot, rebuilt after a change
        self._ordered_where: dict[tuple[str, Any], list[dict]] = {}  # filtered snapshots, same lifetime
        self._needs_sort = False
        self._max_number = 0

    # Mapping: read-only view for tests (`sos.items[7]`, `len(wiz.products)`)
    def __getitem__(self, record_id: Any) -> dict:
        return self._records[record_id]

    def __iter__(self) -> Iterator:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def new_id(self) -> Any:
        self._max_number += 1
        return self._max_number if self._id_prefix is None else f"{self._id_prefix}_{self._max_number}"

    def find(self, unique_field: str, value: Any) -> dict | None:
        record_id = self._indexes[unique_field].get(value)
        return None if record_id is None else self._records[record_id]

    def lookup(self, field_name: str, values: Iterable[Any]) -> list[dict] | None:
        """Records whose `field_name` is one of `values`, in list order, found through the id or
        an index; None when that field has none (the caller then scans)."""
        if field_name == self.id_field:
            found = (self._records.get(value) for value in values)
        elif field_name in self._indexes:
            found = (self.find(field_name, value) for value in values)
        elif field_name in self._shared_indexes:
            index = self._shared_indexes[field_name]
            found = (self._records[record_id] for value in values for record_id in index.get(value, ()))
        else:
            return None
        unique = {record[self.id_field]: record for record in found if record is not None}
        return sorted(unique.values(), key=lambda r: (r[self.order_field], r[self.id_field]))

    def put(self, record: dict) -> dict:
        """Insert or replace `record` (by its id) and keep list order."""
        record_id = record[self.id_field]
        old = self._records.get(record_id)
        if old is not None:
            self._unindex(old)
        key = (record[self.order_field], record_id)
        if old is not None and old[self.order_field] == record[self.order_field]:
            self._records[record_id] = record  # same stamp: keeps its place
        else:
            if old is not None:
                del self._records[record_id]
            if self._records and not self._needs_sort:
                last = next(reversed(self._records.values()))
                self._needs_sort = (last[self.order_field], last[self.id_field]) > key
            self._records[record_id] = record
        self._index(record)
        self._note_id(record_id)
        self._changed()
        return record

    def load(self, records: Iterable[dict]) -> None:
        for record in records:
            record_id = record[self.id_field]
            old = self._records.pop(record_id, None)
            if old is not None:
                self._unindex(old)
            self._records[record_id] = record
            self._index(record)
            self._note_id(record_id)
        self._needs_sort = True
        self._changed()

    def remove(self, record_id: Any) -> dict:
        record = self._records.pop(record_id)
        self._unindex(record)
        self._changed()
        return record

    def clear(self) -> None:
        self._records.clear()
        for index in (*self._indexes.values(), *self._shared_indexes.values()):
            index.clear()
        self._changed()
        self._needs_sort = False
        self._max_number = 0

    def latest_stamp(self) -> str | None:
        ordered = self.ordered()
        return ordered[-1][self.order_field] if ordered else None

    def ordered(self, where: tuple[str, Any] | None = None) -> list[dict]:
        """All records in list order, or only those whose field `where[0]` is `where[1]`; the
        same list until the next change."""
        if self._ordered is None:
            if self._needs_sort:
                rows = sorted(self._records.values(), key=lambda r: (r[self.order_field], r[self.id_field]))
                self._records = {r[self.id_field]: r for r in rows}
                self._needs_sort = False
            self._ordered = list(self._records.values())
        if where is None:
            return self._ordered
        if where not in self._ordered_where:
            field_name, value = where
            self._ordered_where[where] = [r for r in self._ordered if r.get(field_name) == value]
        return self._ordered_where[where]

    def first_index(self, stamp: str, *, inclusive: bool, where: tuple[str, Any] | None = None) -> int:
        """Position in `ordered(where)` of the first record stamped at/after (`inclusive`) or
        after `stamp`."""
        search = bisect_left if inclusive else bisect_right
        return search(self.ordered(where), stamp, key=lambda r: r[self.order_field])

    def _changed(self) -> None:
        self._ordered = None
        self._ordered_where.clear()

    def _index(self, record: dict) -> None:
        for name, index in self._indexes.items():
            value = record.get(name)
            if value not in (None, ""):
                index[value] = record[self.id_field]
        for name, shared in self._shared_indexes.items():
            value = record.get(name)
            if value not in (None, ""):
                shared.setdefault(value, {})[record[self.id_field]] = None

    def _unindex(self, record: dict) -> None:
        for name, index in self._indexes.items():
            value = record.get(name)
            if value not in (None, "") and index.get(value) == record[self.id_field]:
                del index[value]
        for name, shared in self._shared_indexes.items():
            ids = shared.get(record.get(name), {})
            ids.pop(record[self.id_field], None)
            if not ids:
                shared.pop(record.get(name), None)

    def _note_id(self, record_id: Any) -> None:
        if isinstance(record_id, int):
            self._max_number = max(self._max_number, record_id)
        elif self._id_prefix and isinstance(record_id, str) and record_id.startswith(self._id_prefix + "_"):
            suffix = record_id[len(self._id_prefix) + 1:]
            if suffix.isdigit():
                self._max_number = max(self._max_number, int(suffix))


# -- faults, counters, rate limit --------------------------------------------------------------

FAULT_KINDS = ("latency", "429", "5xx", "write_then_5xx")


@dataclass
class FaultRule:
    """One injected misbehaviour for requests matching method + path prefix ("*" = any).

    `count` is how many more requests it hits (None: unlimited), `until` the end of its time
    window (monotonic seconds; None: no window).
    """

    kind: str
    method: str = "*"
    path: str = "*"
    count: int | None = None
    until: float | None = None
    latency_ms: int = 0
    status: int = 503
    retry_after: int = 1

    def live(self, now: float) -> bool:
        return (self.count is None or self.count > 0) and (self.until is None or now < self.until)

    def matches(self, method: str, path: str) -> bool:
        return ((self.method == "*" or self.method == method)
                and (self.path == "*" or path.startswith(self.path)))


class Faults:
    """The active fault rules; every method is thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, kind: str, *, method: str = "*", path: str = "*", count: int | None = None,
            seconds: float | None = None, latency_ms: int = 0, status: int | None = None,
            retry_after: int = 1) -> FaultRule:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault type {kind!r}; expected one of {FAULT_KINDS}")
        if kind != "latency" and count is None and seconds is None:
            count = 1
        default_status = {"429": 429, "write_then_5xx": 500}.get(kind, 503)
        rule = FaultRule(kind=kind, method=method.upper(), path=path, count=count,
                         until=None if seconds is None else time.monotonic() + seconds,
                         latency_ms=latency_ms, status=status or default_status, retry_after=retry_after)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def describe(self) -> list[dict]:
        with self._lock:
            return [asdict(rule) for rule in self._rules]

    def latency_ms(self, method: str, path: str) -> int:
        """Total latency of the matching latency rules (each hit spends one of its count)."""
        with self._lock:
            return sum(self._spend(rule) for rule in self._matching(("latency",), method, path))

    def take(self, kinds: tuple[str, ...], method: str, path: str) -> FaultRule | None:
        """The first matching rule of `kinds`, one of its count spent; None if none."""
        with self._lock:
            for rule in self._matching(kinds, method, path):
                self._spend(rule)
                return rule
        return None

    def _matching(self, kinds: tuple[str, ...], method: str, path: str) -> list[FaultRule]:
        now = time.monotonic()
        self._rules = [rule for rule in self._rules if rule.live(now)]
        return [rule for rule in self._rules if rule.kind in kinds and rule.matches(method, path)]

    @staticmethod
    def _spend(rule: FaultRule) -> int:
        if rule.count is not None:
            rule.count -= 1
        return rule.latency_ms


class Counters:
    """Requests per endpoint ("GET /api/v2/item/{id}"), and how many of them were faulted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._faulted: Counter[str] = Counter()

    def hit(self, key: str) -> None:
        with self._lock:
            self._requests[key] += 1

    def fault(self, key: str) -> None:
        with self._lock:
            self._faulted[key] += 1

    def requests(self) -> dict[str, int]:
        with self._lock:
            return dict(self._requests)

    def faulted(self) -> dict[str, int]:
        with self._lock:
            return dict(self._faulted)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._faulted.clear()


class RateLimiter:
    """Token bucket: `rps` requests a second with bursts up to `burst`; None = no limit."""

    def __init__(self, rps: float | None = None, burst: float | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(rps, burst)

    def configure(self, rps: float | None, burst: float | None = None) -> None:
        with self._lock:
            self.rps = rps or None
            self.burst = burst or max(1.0, rps or 0)
            self._tokens = self.burst
            self._at = time.monotonic()

    def acquire(self) -> int | None:
        """None if the request may pass, else the Retry-After seconds to answer with."""
        if self.rps is None:
            return None
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rps)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return None
            return max(1, math.ceil((1 - self._tokens) / self.rps))


# -- outgoing calls ----------------------------------------------------------------------------

@dataclass(order=True)
class _Job:
    due: float
    seq: int
    url: str = field(compare=False)
    body: bytes = field(compare=False)
    headers: dict = field(compare=False)
    attempt: int = field(compare=False, default=1)


class Deliverer:
    """POSTs bodies from one background thread so the caller never waits on the receiver.

    Deliveries go out in submission order; a failed one (non-2xx or error) is retried after
    `retry_delays[attempt - 1]` seconds while delays remain. `log` records every attempt.
    """

    def __init__(self, *, timeout: float = 10.0, retry_delays: Iterable[float] = ()):
        self.timeout = timeout
        self.retry_delays = tuple(retry_delays)
        self.log: list[dict] = []
        self._cond = threading.Condition()
        self._queue: list[_Job] = []
        self._seq = itertools.count()
        self._pending = 0
        self._closing = False
        self._thread: threading.Thread | None = None
        self._session = requests.Session()

    def submit(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        with self._cond:
            heapq.heappush(self._queue, _Job(time.monotonic(), next(self._seq), url, body, headers))
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="emulator-deliverer", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted delivery succeeded or ran out of retries."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending and (remaining := deadline - time.monotonic()) > 0:
                self._cond.wait(remaining)
            return self._pending == 0

    def pending(self) -> int:
        with self._cond:
            return self._pending

    def close(self) -> None:
        """Stop the worker; undelivered bodies are dropped (the emulator is going away)."""
        with self._cond:
            thread, self._thread = self._thread, None
            self._closing = True
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout=self.timeout + 1)
        with self._cond:
            self._closing = False
            self._queue.clear()
            self._pending = 0
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closing and (not self._queue or self._queue[0].due > time.monotonic()):
                    self._cond.wait(self._queue[0].due - time.monotonic() if self._queue else None)
                if self._closing:
                    return
                job = heapq.heappop(self._queue)
            status, error = self._post(job)
            with self._cond:
                self.log.append({"url": job.url, "body": job.body, "headers": job.headers,
                                 "attempt": job.attempt, "status": status, "error": error})
                if (status is None or not 200 <= status < 300) and job.attempt <= len(self.retry_delays):
                    job.due = time.monotonic() + self.retry_delays[job.attempt - 1]
                    job.attempt += 1
                    heapq.heappush(self._queue, job)
                else:
                    self._pending -= 1
                self._cond.notify_all()

    def _post(self, job: _Job) -> tuple[int | None, str | None]:
        try:
            response = self._session.post(job.url, data=job.body, headers=job.headers, timeout=self.timeout)
            return response.status_code, None
        except requests.RequestException as exc:  # the receiver being down is a result, not a crash
            return None, f"{type(exc).__name__}: {exc}"


# -- the server ------------------------------------------------------------------------------

class _QuietHandler(WSGIRequestHandler):
    """The benchmark makes 100,000+ requests: no access log line for each."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


_ID_SEGMENT = re.compile(r"/(?:\d+|[a-z]+_\d+)(?=/|$)")


def endpoint_key(method: str, path: str) -> str:
    """"GET /api/v2/item/{id}": record ids (SOS ints, WizCommerce "prod_12") become {id}."""
    return f"{method} {_ID_SEGMENT.sub('/{id}', path)}"


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload), status=status, headers=headers, mimetype="application/json")


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object")
    return body


class Emulator:
    """A fake API as a real HTTP server, with fault injection, counters and a rate limit.

    Subclasses register their routes in `_register_routes`, render errors in `error_body`,
    check credentials in `authenticate`, and list in `ADMIN_ACTIONS` the user-action
    methods a separate process may call through `POST /_admin/actions/<name>`.
    """

    ADMIN_ACTIONS: frozenset[str] = frozenset()
    SEED_ROLE = ""  # this emulator's keyword in seed.seed()
    RESOURCE_PATH = ""  # how the API's own errors name a resource's path, e.g. "/v1"
    # resource name → (its records, writer function by HTTP method); filled by the subclass
    _resources: dict[str, tuple[RecordStore, dict[str, Any]]]

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, rate_limit_rps: float | None = None):
        self.host = host
        self.port = port
        self.clock = Clock()
        self.lock = threading.RLock()  # one lock around the whole store keeps every request atomic
        self.faults = Faults()
        self.rate_limiter = RateLimiter(rate_limit_rps)
        self._counters = Counters()
        self._actions_after: list[list[Any]] = []  # [requests left, action, method, path]
        self._server = None
        self._thread: threading.Thread | None = None
        self.app = Flask(type(self).__name__)
        self.app.before_request(self._before_request)
        self.app.after_request(self._after_request)
        self.app.register_error_handler(ApiError, self._api_error)
        self.app.register_error_handler(HTTPException, self._http_error)
        self.app.register_error_handler(Exception, self._unexpected_error)
        self._register_admin_routes()
        self._register_routes()

    # -- generic resources ------------------------------------------------------------------------
    def _resource(self, name: str) -> tuple[RecordStore, dict[str, Any]]:
        if name not in self._resources:
            raise ApiError(404, f"Unknown resource {name!r}")
        return self._resources[name]

    def _writer(self, resource: str) -> Any:
        writer = self._resource(resource)[1].get(request.method)
        if writer is None:
            raise ApiError(405, f"{request.method} is not supported on {self.RESOURCE_PATH}/{resource}")
        return writer

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> str:
        """Serve on a daemon thread; returns the base URL (port 0 picks a free port)."""
        if self._server is None:
            self._server = make_server(self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler)
            # A short poll interval makes stop() take milliseconds instead of half a second.
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                            name=type(self).__name__, daemon=True)
            self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None
        for deliverer in self._deliverers():
            deliverer.close()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("emulator not started")
        return f"http://{self.host}:{self._server.server_port}"

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults, counters, rate limit ----------------------------------------------------------
    def inject_latency(self, ms: int, *, method: str = "*", path: str = "*", count: int | None = None,
                       seconds: float | None = None) -> FaultRule:
        return self.faults.add("latency", latency_ms=ms, method=method, path=path, count=count, seconds=seconds)

    def inject_429(self, count: int = 1, *, retry_after: int = 1, method: str = "*", path: str = "*") -> FaultRule:
        return self.faults.add("429", count=count, retry_after=retry_after, method=method, path=path)

    def inject_5xx(self, count: int | None = 1, *, status: int = 503, seconds: float | None = None,
                   method: str = "*", path: str = "*") -> FaultRule:
        """The next `count` matching requests fail, or all of them for `seconds` (count=None)."""
        return self.faults.add("5xx", count=count, seconds=seconds, status=status, method=method, path=path)

    def inject_write_then_5xx(self, count: int = 1, *, status: int = 500, method: str = "*",
                              path: str = "*") -> FaultRule:
        """The next `count` successful writes are applied, then answered with `status`."""
        return self.faults.add("write_then_5xx", count=count, status=status, method=method, path=path)

    def after_requests(self, count: int, action: Callable[[], Any], *, method: str = "*", path: str = "*") -> None:
        """Run `action` (a user's edit, say) once the `count`-th matching request from now on is
        handled, before it is answered: a change that lands between two calls of a pass."""
        with self.lock:
            self._actions_after.append([count, action, method.upper(), path])

    def add_fault(self, spec: dict) -> None:
        """A rule as JSON (what `POST /_admin/faults` takes): {"type", "method", "path",
        "count", "seconds", "latency_ms", "status", "retry_after"}."""
        spec = dict(spec)
        kind = spec.pop("type")
        self.faults.add(str(kind), **spec)

    def clear_faults(self) -> None:
        self.faults.clear()

    def set_rate_limit(self, rps: float | None, burst: float | None = None) -> None:
        self.rate_limiter.configure(rps, burst)

    def counters(self) -> dict[str, int]:
        """Requests that reached the server per endpoint, faulted ones included (`/_admin` not)."""
        return self._counters.requests()

    def faulted_counters(self) -> dict[str, int]:
        """Of those, the requests answered with an injected fault or the rate limit."""
        return self._counters.faulted()

    def reset_counters(self) -> None:
        self._counters.reset()

    # -- to be provided by each emulator -----------------------------------------------------
    def error_body(self, error: ApiError) -> dict:
        raise NotImplementedError

    def authenticate(self) -> None:
        """Raise ApiError(401) unless the current request carries valid credentials."""

    def state(self) -> dict:
        raise NotImplementedError

    def reset(self) -> None:
        """Remove every record (before a seed)."""
        raise NotImplementedError

    def _register_routes(self) -> None:
        raise NotImplementedError

    def _deliverers(self) -> list[Deliverer]:
        """The outgoing-call queues to close on stop()."""
        return []

    # -- request pipeline --------------------------------------------------------------------
    def _before_request(self) -> Response | None:
        if request.path.startswith(ADMIN_PREFIX):
            return None
        method, path = request.method, request.path
        key = endpoint_key(method, path)
        self._counters.hit(key)
        delay = self.faults.latency_ms(method, path)
        if delay:
            time.sleep(delay / 1000)
        retry_after = self.rate_limiter.acquire()
        if retry_after is not None:
            self._counters.fault(key)
            return self._error_response(ApiError(429, "Rate limit exceeded", code="rate_limited",
                                                 headers={"Retry-After": str(retry_after)}))
        rule = self.faults.take(("429", "5xx"), method, path)
        if rule is not None:
            self._counters.fault(key)
            if rule.kind == "429":
                return self._error_response(ApiError(429, "Too many requests", code="rate_limited",
                                                     headers={"Retry-After": str(rule.retry_after)}))
            return self._error_response(ApiError(rule.status, "Injected server error", code="server_error"))
        self.authenticate()
        return None

    def _after_request(self, response: Response) -> Response:
        method, path = request.method, request.path
        if not path.startswith(ADMIN_PREFIX):
            self._run_actions_after(method, path)
        if (method in WRITE_METHODS and 200 <= response.status_code < 300 and not path.startswith(ADMIN_PREFIX)):
            rule = self.faults.take(("write_then_5xx",), method, path)
            if rule is not None:  # the write stands; only the answer is lost
                self._counters.fault(endpoint_key(method, path))
                return self._error_response(ApiError(rule.status, "Injected server error after the write",
                                                     code="server_error"))
        return response

    def _run_actions_after(self, method: str, path: str) -> None:
        with self.lock:
            due = []
            for pending in self._actions_after:
                if pending[2] in ("*", method) and (pending[3] == "*" or path.startswith(pending[3])):
                    pending[0] -= 1
                    if pending[0] == 0:
                        due.append(pending[1])
            self._actions_after = [pending for pending in self._actions_after if pending[0] > 0]
            for action in due:
                action()

    def _error_response(self, error: ApiError) -> Response:
        return json_response(self.error_body(error), error.status, error.headers)

    def _api_error(self, error: ApiError) -> Response:
        return self._error_response(error)

    def _http_error(self, error: HTTPException) -> Response:
        return self._error_response(ApiError(error.code or 500, error.description or error.name,
                                             code=error.name.lower().replace(" ", "_")))

    def _unexpected_error(self, error: Exception) -> Response:
        log.exception("emulator bug while serving %s %s", request.method, request.path)
        return self._error_response(ApiError(500, f"Internal error: {error}", code="server_error"))

    # -- admin endpoints ---------------------------------------------------------------------
    def _register_admin_routes(self) -> None:
        route = self.app.add_url_rule
        route(f"{ADMIN_PREFIX}/faults", "admin_faults", self._admin_faults, methods=["GET", "POST", "DELETE"])
        route(f"{ADMIN_PREFIX}/counters", "admin_counters", self._admin_counters, methods=["GET"])
        route(f"{ADMIN_PREFIX}/counters/reset", "admin_counters_reset", self._admin_counters_reset,
              methods=["POST"])
        route(f"{ADMIN_PREFIX}/rate-limit", "admin_rate_limit", self._admin_rate_limit, methods=["POST"])
        route(f"{ADMIN_PREFIX}/seed", "admin_seed", self._admin_seed, methods=["POST"])
        route(f"{ADMIN_PREFIX}/state", "admin_state", self._admin_state, methods=["GET"])
        route(f"{ADMIN_PREFIX}/actions/<name>", "admin_action", self._admin_action, methods=["POST"])

    def _admin_faults(self) -> Response:
        if request.method == "POST":
            payload = request.get_json(silent=True)
            specs = payload if isinstance(payload, list) else [payload]
            for spec in specs:
                if not isinstance(spec, dict) or "type" not in spec:
                    raise ApiError(400, 'Each fault must be a JSON object with a "type"')
                try:
                    self.add_fault(spec)
                except (TypeError, ValueError) as exc:
                    raise ApiError(400, f"Bad fault {spec}: {exc}") from exc
        elif request.method == "DELETE":
            self.clear_faults()
        return json_response({"faults": self.faults.describe()})

    def _admin_counters(self) -> Response:
        return json_response({"requests": self.counters(), "faulted": self.faulted_counters()})

    def _admin_counters_reset(self) -> Response:
        self.reset_counters()
        return json_response({"requests": {}, "faulted": {}})

    def _admin_rate_limit(self) -> Response:
        body = json_body()
        self.set_rate_limit(body.get("rps"), body.get("burst"))
        return json_response({"rps": self.rate_limiter.rps, "burst": self.rate_limiter.burst})

    def _admin_seed(self) -> Response:
        params = {self.SEED_ROLE: self, **(request.get_json(silent=True) or {})}
        _check_arguments(seed, params)
        return json_response(seed(**params))

    def _admin_state(self) -> Response:
        return json_response(self.state())

    def _admin_action(self, name: str) -> Response:
        if name not in self.ADMIN_ACTIONS:
            raise ApiError(404, f"No admin action {name!r}; available: {sorted(self.ADMIN_ACTIONS)}")
        action: Callable[..., Any] = getattr(self, name)
        arguments = request.get_json(silent=True) or {}
        _check_arguments(action, arguments)
        return json_response({"data": action(**arguments)})


def _check_arguments(function: Callable[..., Any], arguments: dict) -> None:
    try:
        inspect.signature(function).bind(**arguments)
    except TypeError as exc:
        raise ApiError(400, f"Bad arguments for {function.__name__}: {exc}") from exc


def clamp_int(raw: str | None, *, default: int, low: int, high: int, name: str) -> int:
    """A numeric query parameter, clamped into [low, high]; 400 if not a number."""
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(400, f"{name} must be an integer",
                       details=[{"field": name, "reason": "not an integer"}]) from exc
    return min(max(value, low), high)

