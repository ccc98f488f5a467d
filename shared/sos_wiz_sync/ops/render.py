"""Human-readable output of the ops commands: plain-text tables, one screen where possible.
`--json` prints the same results unrendered, for scripts."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TextIO

Column = tuple[str, str | Callable[[dict[str, Any]], Any]]  # header, and the key or how to get the value
MAX_CELL = 100


def table(rows: Sequence[dict[str, Any]], columns: Sequence[Column], empty: str = "(none)") -> str:
    if not rows:
        return empty
    cells = [[_cell(row.get(get) if isinstance(get, str) else get(row)) for _, get in columns] for row in rows]
    widths = [max(len(header), *(len(line[n]) for line in cells)) for n, (header, _) in enumerate(columns)]
    lines = [[header for header, _ in columns], *cells]
    return "\n".join("  ".join(text.ljust(width) for text, width in zip(line, widths)).rstrip() for line in lines)


def _cell(value: Any) -> str:
    text = _flat(value) or "-"
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 1] + "…"


def _flat(value: Any) -> str:
    """{"sku": "A", "levels": {"available": 7}} → "sku A, available 7": nested keys speak for themselves."""
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(_flat(item) if isinstance(item, dict) else f"{key} {_flat(item)}"
                         for key, item in value.items())
    return str(value)


def _at(stamp: str | None) -> str:
    """ISO stamp to the second, UTC: enough to tell events apart, short enough for a table."""
    return (stamp or "-")[:19].replace("T", " ")


def at(key: str) -> Callable[[dict[str, Any]], str]:
    return lambda row: _at(row.get(key))


# -- trace --------------------------------------------------------------------------------------
HISTORY_COLUMNS: list[Column] = [
    ("when (UTC)", at("at")), ("source", "source"), ("action", "action"),
    ("details", lambda e: {k: v for k, v in e.items()
                           if k not in ("pk", "sk", "at", "expires_at", "entity", "record_id", "source", "action")}),
]


def render_trace(result: dict[str, Any]) -> str:
    if not result["records"]:
        return f"nothing stored about {result['query']!r} (no mapping, failure, history or inventory record)"
    return "\n\n".join(_trace_record(record) for record in result["records"])


def _trace_record(record: dict[str, Any]) -> str:
    mapping = record["mapping"]
    title = f"{record['entity']}  WC {record['wc_id'] or '-'}  <->  SOS {record['sos_id'] or '-'}"
    lines = [title, "-" * len(title)]
    if mapping:
        lines.append(f"mapping: origin {mapping['origin']}, number {mapping.get('number') or '-'}, "
                     f"WC version {mapping.get('wc_version') or '-'}, SOS syncToken "
                     f"{mapping.get('sos_sync_token') or '-'}, updated {_at(mapping.get('updated_at'))}")
        if mapping.get("edit_blocked"):
            lines.append(f"EDIT-BLOCKED: {mapping.get('edit_blocked_reason')} (edits are made in SOS, R-ORD-2)")
    elif record["entity"] == "product":
        lines.append("mapping: none stored; a WC product is linked to its SOS item by its Reference ID (R-REF-1)")
    else:
        lines.append("mapping: none (never linked to the other system)")
    for failure in record["failures"]:
        lines.append(f"failure ({failure['status']}, {failure.get('attempts', 1)} attempt(s), last "
                     f"{_at(failure.get('last_seen'))}): {failure['reason']}")
        details = failure.get("details") or {}
        if details.get("disposition"):
            lines.append(f"  disposition: {details['disposition']}")
        for line in details.get("lines", []):
            lines.append(f"  line {line.get('line')}: product {line.get('product_id') or '-'} "
                         f"sku {line.get('sku') or '-'}: {line.get('problem')}")
    if record.get("inventory"):
        inventory = record["inventory"]
        lines.append(f"inventory last sent: sku {inventory.get('sku')}, {_cell(inventory.get('values'))} "
                     f"({inventory.get('source')}, {_at(inventory.get('pushed_at'))}; "
                     f"SOS read {_at(inventory.get('sos_read_at'))})")
        if inventory.get("hook_read_at"):
            lines.append(f"quantity hook: last read {_at(inventory['hook_read_at'])}, "
                         f"last wrote {_at(inventory.get('hook_wrote_at'))}")
    lines.append("history (newest first):")
    lines.append(_indent(table(record["history"], HISTORY_COLUMNS)))
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


# -- failures and retry ---------------------------------------------------------------------------
FAILURE_COLUMNS: list[Column] = [
    ("last seen (UTC)", at("last_seen")), ("entity", "entity"), ("id", "record_id"), ("tries", "attempts"),
    ("disposition", lambda f: (f.get("details") or {}).get("disposition")), ("reason", "reason")]
PARKED_COLUMNS: list[Column] = [
    ("sent (UTC)", at("sent_at")), ("queue", "queue"), ("entity", "entity"), ("id", "record_id"),
    ("trigger", "trigger"), ("reason", "reason")]


def render_failures(result: dict[str, Any]) -> str:
    return "\n".join([f"open failures ({len(result['open'])}):", table(result["open"], FAILURE_COLUMNS), "",
                      f"parked in dead-letter queues ({len(result['parked'])}):",
                      table(result["parked"], PARKED_COLUMNS)])


def render_retry(result: dict[str, Any]) -> str:
    lines = [f"moved back to its queue: {m['queue']} {m['entity']} {m['record_id']} ({m['trigger'] or '-'})"
             for m in result["moved"]]
    lines += [f"redrive of {r['queue']}: " + ", ".join(f"{k} {v}" for k, v in r.items() if k != "queue")
              for r in result["redrives"]]
    return "\n".join(lines) or "nothing parked matched: nothing retried"


# -- run reports ------------------------------------------------------------------------------------
REPORT_COLUMNS: list[Column] = [
    ("started (UTC)", at("started_at")), ("stream", "stream"), ("status", "status"), ("seen", "seen"),
    ("changed", "changed"), ("unchanged", "unchanged"), ("skipped", "skipped"), ("failed", "failed"),
    ("secs", "duration_seconds")]


def render_reports(reports: list[dict[str, Any]]) -> str:
    return table(reports, REPORT_COLUMNS, empty="no run reports yet")


# -- dry-run diff -------------------------------------------------------------------------------------
DIFF_ROWS = 100  # a terminal's worth; --json has them all


def render_diff(preview: dict[str, Any]) -> str:
    if preview["blocked"]:
        return f"{preview['stream']}: the next run would not start: {preview['blocked']}"
    writes = preview["writes"]
    since = (preview["from"] or {}).get("since")
    start = "an unfinished run's checkpoint" if preview["resumes_run"] else \
        f"SOS changes since {since} (SOS's zone)" if since else "the beginning"
    summary = (f"{preview['stream']}: from {start}, {preview['seen']} seen, {len(writes)} would change, "
               f"{preview['unchanged']} unchanged, skipped {_cell(preview['skipped'])}")
    columns: list[Column] = [
        ("SOS id", "record_id"), ("action", "action"),
        ("what WizCommerce would get", lambda w: {k: v for k, v in w.items() if k not in ("record_id", "action")})]
    more = f"\n… and {len(writes) - DIFF_ROWS} more (--json lists them all)" if len(writes) > DIFF_ROWS else ""
    return f"{summary}\n\n{table(writes[:DIFF_ROWS], columns, empty='nothing would change')}{more}"


# -- doctor ------------------------------------------------------------------------------------------
GREEN, RED, RESET = "\033[32m", "\033[31m", "\033[0m"


def render_doctor(result: dict[str, Any], *, color: bool = False) -> str:
    """One line per check, green or red; under a red one, what fixes it."""
    width = max(len(check["name"]) for check in result["checks"])
    lines = []
    for check in result["checks"]:
        mark = "ok  " if check["ok"] else "FAIL"
        if color:
            mark = f"{GREEN if check['ok'] else RED}{mark}{RESET}"
        lines.append(f"{mark}  {check['name'].ljust(width)}  {check['detail']}")
        if not check["ok"] and check.get("fix"):
            lines.append(f"      {' ' * width}  fix: {check['fix']}")
    failed = sum(1 for check in result["checks"] if not check["ok"])
    lines.append("\nall green" if result["ok"] else f"\n{failed} red: fix them in this order, then run doctor again")
    return "\n".join(lines)


def render_ledger(result: dict[str, Any]) -> str:
    """One line per entity with its counts, then each unaccounted record: why, and the fix."""
    window = result["window"]
    lines = [f"ledger {_at(window['since'])} → {_at(window['until'])} UTC"]
    for entity, counts in result["counts"].items():
        lines.append(f"  {entity:<20} " + "  ".join(f"{name.replace('_', ' ')} {n}" for name, n in counts.items()))
    unaccounted = result["unaccounted"]
    lines.append(f"unaccounted: {len(unaccounted)}" + ("" if unaccounted else " (everything got through)"))
    for record in unaccounted:
        lines.append(f"  {record['entity']} WC {record.get('wc_id') or '-'} / SOS {record.get('sos_id') or '-'}: "
                     f"{record['why']}\n    fix: {record['fix']}")
    calls = result.get("calls") or {}
    lines.append(f"reads: SOS {calls.get('sos', '-')}, WizCommerce {calls.get('wiz', '-')}")
    return "\n".join(lines)


def as_json(result: Any) -> str:
    return json.dumps(result, indent=2, default=str)


class ProgressBar:
    """`[#######.............]  1400/4000 rows` on one terminal line, redrawn in place."""

    def __init__(self, out: TextIO, width: int = 30):
        self._out = out
        self._width = width
        self._drawn = False

    def __call__(self, done: int, total: int | None) -> None:
        total = max(total or done, done, 1)  # rows changed mid-run can push done past SOS's count
        filled = self._width * done // total
        self._out.write(f"\r[{'#' * filled}{'.' * (self._width - filled)}] {done:>7}/{total} rows")
        self._out.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._out.write("\n")
            self._drawn = False
