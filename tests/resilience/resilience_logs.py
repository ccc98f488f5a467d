"""What the functions write to their logs, captured for the security scan (DESIGN: "Secrets and
personal data never in logs").

On Lambda a function's log is its stdout: Powertools Logger's JSON lines, the EMF metric lines
Powertools Metrics prints, and what the runtime writes for an unhandled error. In-process here,
the journal takes every log record (formatted by the Powertools handler of its logger when it
has one, so the line is the one stdout gets) and every `print`; a function run in a child
process (resilience_process.py) hands over its stdout and stderr as they are.
"""

from __future__ import annotations

import builtins
import json
import logging
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

# Values shorter than this are not searched for: "US" or "2" would match everywhere.
MIN_NEEDLE_CHARS = 6
# Keys of the credential secrets that name things rather than hold secrets.
NOT_SECRET_KEYS = frozenset({"client_id", "webhook_auth_header"})

# For records of loggers Powertools does not format (the runner's, libraries'): the same JSON,
# so their `extra` fields and exceptions are in the line too.
_FALLBACK = LambdaPowertoolsFormatter()


class LogJournal(logging.Handler):
    """Every log line written while installed, in order."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        # Powertools puts a SuppressFilter for its own service on the root handlers it finds at
        # set-up; this journal must see those records all the same.
        return True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.extend(_formatter_for(record.name).format(record).splitlines())
        except Exception:  # noqa: BLE001 - a journal must never fail the code it watches
            self.handleError(record)

    def add_output(self, text: str) -> None:
        """Output of a function run in a child process (its stdout and stderr)."""
        self.lines.extend(line for line in text.splitlines() if line.strip())

    @contextmanager
    def installed(self) -> Iterator["LogJournal"]:
        root = logging.getLogger()
        original_print = builtins.print

        def journaled_print(*args: Any, sep: str | None = " ", end: str | None = "\n", file: Any = None,
                            flush: bool = False) -> None:
            if file is None or file is sys.stdout:
                self.lines.extend((sep if sep is not None else " ").join(map(str, args)).splitlines())
            original_print(*args, sep=sep, end=end, file=file, flush=flush)

        root.addHandler(self)
        builtins.print = journaled_print
        try:
            yield self
        finally:
            builtins.print = original_print
            root.removeHandler(self)


def _formatter_for(name: str) -> logging.Formatter:
    """The formatter of the Powertools handler that writes this logger's records, else the fallback."""
    logger: logging.Logger | None = logging.getLogger(name)
    while logger is not None:
        handler = getattr(logger, "powertools_handler", None)
        if handler is not None and handler.formatter is not None:
            return handler.formatter
        logger = logger.parent
    return _FALLBACK


# -- what must never show up -------------------------------------------------------------------

@dataclass(frozen=True)
class Leak:
    kind: str     # "secret" or "personal data"
    what: str     # where the value comes from, e.g. "SosSecret.refresh_token" or "customer email"
    line: str

    def __str__(self) -> str:
        return f"{self.kind} ({self.what}) in log line: {self.line[:300]}"


class Needles:
    """Values that must not appear in any log line, each with where it comes from."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[str, str]] = {}  # value → (kind, what)

    def add(self, kind: str, what: str, values: Iterable[Any]) -> None:
        for value in values:
            if isinstance(value, str) and len(value.strip()) >= MIN_NEEDLE_CHARS:
                self.values.setdefault(value.strip(), (kind, what))

    def secrets_of(self, secret_values: Mapping[str, Any]) -> None:
        """The string leaves of each secret's JSON value (by secret logical id)."""
        for secret, value in secret_values.items():
            for key, leaf in _leaves(value):
                if key not in NOT_SECRET_KEYS:
                    self.add("secret", f"{secret}.{key}", [leaf])

    def personal_data_of(self, sos: Any, wiz: Any) -> None:
        """Emails, phones and street addresses of every person and company the emulators hold."""
        for customer in sos.customers.values():
            self.add("personal data", "SOS customer email", [customer.get("email")])
            self.add("personal data", "SOS customer phone", [customer.get("phone")])
            for kind in ("billing", "shipping"):
                self.add("personal data", "SOS customer address", [(customer.get(kind) or {}).get("line1")])
        for order in sos.sales_orders.values():
            for kind in ("billing", "shipping"):
                self.add("personal data", "SOS order address", [(order.get(kind) or {}).get("line1")])
        for customer in wiz.customers.values():
            self.add("personal data", "WC customer email", [customer.get("email")])
            self.add("personal data", "WC customer phone", [customer.get("phone")])
            for address in customer.get("addresses") or []:
                self.add("personal data", "WC customer address",
                         [address.get("address_line_1"), address.get("address_line_2")])
                self.add("personal data", "WC address contact", [address.get("phone"), address.get("email")])
        for order in wiz.orders.values():
            for kind in ("billing_address", "shipping_address"):
                address = order.get(kind) or {}
                self.add("personal data", "WC order address",
                         [address.get("address_line_1"), address.get("phone"), address.get("email")])
        for rep in wiz.sales_reps.values():
            self.add("personal data", "sales rep email", [rep.get("email")])

    def __len__(self) -> int:
        return len(self.values)


def find_leaks(lines: Iterable[str], needles: Needles) -> list[Leak]:
    """Every (line, value) pair where a needle occurs in a line, case-insensitively for emails.
    JSON-escaped forms count too (a value with a quote or non-ASCII character is logged escaped)."""
    forms: list[tuple[str, str]] = []
    for value in needles.values:
        forms.append((value.casefold(), value))
        escaped = json.dumps(value)[1:-1]
        if escaped != value:
            forms.append((escaped.casefold(), value))
    leaks = []
    for line in lines:
        folded = line.casefold()
        for form, value in forms:
            if form in folded:
                kind, what = needles.values[value]
                leaks.append(Leak(kind, what, line))
    return leaks


def _leaves(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            yield key or "value", value
            return
        if isinstance(parsed, (dict, list)):
            yield from _leaves(parsed, key)
        else:
            yield key or "value", value
    elif isinstance(value, dict):
        for name, inner in value.items():
            yield from _leaves(inner, str(name))
    elif isinstance(value, list):
        for inner in value:
            yield from _leaves(inner, key)
