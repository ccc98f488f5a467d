"""The resilience suite (tests/resilience, issue 9) at a chosen size, and its measured figures.

    python -m benchmarks.resilience                      # full scale (1,000 redelivered events, …)
    python -m benchmarks.resilience --scale default      # the sizes `make test` runs
    python -m benchmarks.resilience --write-doc          # and put the tables into docs/reliability.md

It runs `pytest tests/resilience` with RESILIENCE_SCALE and RESILIENCE_FIGURES set, writes the
figures the scenarios recorded to benchmarks/results/resilience-<scale>.json, prints them as
Markdown tables, and with --write-doc replaces the block between `<!-- figures:<scale> -->` and
`<!-- /figures:<scale> -->` in docs/reliability.md. A failing scenario fails the run (exit 1)
and writes nothing into the doc.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reliability.md"
RESULTS = ROOT / "benchmarks" / "results"

# (scenario key, title, [(figure, label)]) — the order the doc shows them in
TABLES = [
    ("redelivery", "1. Redelivery", [
        ("user_events", "WC events (users)"), ("events_with_echoes", "events incl. echoes of our writes"),
        ("deliveries", "deliveries (5 each)"), ("push_messages", "reached PushFunction"), ("records", "records checked"),
        ("duplicates", "duplicates"), ("missing", "missing"), ("not_latest", "not at latest revision"),
        ("stale_overwrites", "stale overwrites"), ("push_containers", "push containers"), ("seconds", "wall s")]),
    ("redelivery", "1. Redelivery: SOS quantity hooks during inventory pulls, at the same time", [
        ("quantity_hooks", "quantity hooks"), ("inventory_pull_runs", "inventory pull runs"),
        ("inventory_rechecks", "pull writes rechecked (a hook read was newer)"),
        ("inventory_items", "items checked"), ("stale_inventory", "stale values in WC")]),
    ("outages", "2. Outages: what went wrong", [
        ("user_events", "WC events"), ("parked_while_sos_down", "parked while SOS down"),
        ("attempts_while_down", "attempts while down"), ("sos_faulted_answers", "SOS faulted answers"),
        ("sos_applied_then_500", "SOS writes applied then 500"), ("sos_hung_past_timeout", "SOS requests past timeout"),
        ("client_retries_backed_off", "client retries backed off"),
        ("longest_backoff_s", "longest backoff chosen s (slept 1/500)"),
        ("wc_429_answers", "WC 429s"), ("min_wait_after_429_s", "min wait after 429 s"),
        ("token_refreshes", "token refreshes")]),
    ("outages", "2. Outages: after recovery and one redrive", [
        ("redriven", "redriven"), ("records", "records checked"), ("lost", "lost"), ("duplicates", "duplicated"),
        ("not_latest", "not at latest revision"), ("stale_overwrites", "stale overwrites"),
        ("sos_writes_from_replays", "SOS writes by a 2nd redrive"), ("max_recovery_seconds", "max recovery s")]),
    ("kills_pull_inventory", "3a. Kills: inventory pull", [
        ("kills", "kills"), ("runs_resumed", "runs resumed"), ("skipped", "skipped"), ("duplicated", "duplicated"),
        ("max_resume_seconds", "max resume s")]),
    ("kills_pull_customers", "3b. Kills: customers pull", [
        ("kills", "kills"), ("runs_resumed", "runs resumed"), ("skipped", "skipped"), ("duplicated", "duplicated"),
        ("max_resume_seconds", "max resume s")]),
    ("kills_pull_orders", "3c. Kills: orders pull", [
        ("kills", "kills"), ("runs_resumed", "runs resumed"), ("skipped", "skipped"), ("duplicated", "duplicated"),
        ("max_resume_seconds", "max resume s")]),
    ("kills_push", "3d. Kills: push between SOS write and mapping write", [
        ("kills", "kills"), ("duplicates", "duplicates"), ("lost", "lost")]),
    ("fuzz", "4. Fuzz", [
        ("requests", "requests"), ("answers_5xx", "5xx answers"), ("queued", "queued (valid)"),
        ("queued_invalid", "queued invalid"), ("seconds", "wall s")]),
    ("security", "5a. Security: log scan over the whole suite", [
        ("log_lines_scanned", "log lines scanned"), ("values_watched", "secret/personal values watched"),
        ("leaks", "leaks")]),
    ("security_busy_day", "5b. Security: busy day at DEBUG", [
        ("log_lines", "log lines"), ("values_watched", "values watched"), ("leaks", "leaks")]),
    ("security_iam", "5c. Security: IAM after the SAM transform", [
        ("policy_statements_checked", "statements"), ("wildcard_actions", "wildcard actions"),
        ("unscoped_resources", "unscoped resources")]),
    ("security_secrets", "5d. Security: secrets only from Secrets Manager", [
        ("files_checked", "source files"), ("credential_env_reads", "credentials read from env"),
        ("credential_literals", "credential literals")]),
]

LAST_TABLE = {key: title for key, title, _ in TABLES}


def run_suite(scale: str, figures_file: Path, pytest_args: list[str]) -> tuple[int, float]:
    environment = {**os.environ, "RESILIENCE_SCALE": scale, "RESILIENCE_FIGURES": str(figures_file)}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/resilience", "-q", "-p", "no:cacheprovider",
                           "--timeout=3600", *pytest_args], cwd=ROOT, env=environment, check=False)
    return done.returncode, time.monotonic() - started


def render(figures: dict[str, Any], wall_seconds: float) -> str:
    scale = figures["scale"]
    lines = [f"Scale `{scale['name']}`, run {datetime.now(timezone.utc):%Y-%m-%d} in {wall_seconds:.0f} s "
             f"(`python -m benchmarks.resilience --scale {scale['name']}`).", ""]
    for key, title, columns in TABLES:
        found = figures["scenarios"].get(key)
        if not found:
            continue
        lines += [f"**{title}**", "", "| " + " | ".join(label for _, label in columns) + " |",
                  "|" + "---|" * len(columns),
                  "| " + " | ".join(str(found.get(name, "-")) for name, _ in columns) + " |"]
        details = ({name: value for name, value in found.items() if isinstance(value, (list, dict))}
                   if LAST_TABLE[key] == title else {})  # a scenario's lists go under its last table
        if details:
            lines.append("")
        for name, value in details.items():
            shown = (", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict)
                     else "; ".join(map(str, value)))
            lines.append(f"- {name.replace('_', ' ')}: {shown}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_doc(scale: str, table: str) -> None:
    text = DOC.read_text()
    start, end = f"<!-- figures:{scale} -->", f"<!-- /figures:{scale} -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{DOC} has no {start} … {end} block")
    DOC.write_text(pattern.sub(lambda _: f"{start}\n{table}{end}", text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=("default", "full"), default="full")
    parser.add_argument("--write-doc", action="store_true", help="replace the scale's tables in docs/reliability.md")
    args, pytest_args = parser.parse_known_args(argv)  # the rest goes to pytest (e.g. -k fuzz)
    RESULTS.mkdir(parents=True, exist_ok=True)
    figures_file = RESULTS / f"resilience-{args.scale}.json"
    code, wall = run_suite(args.scale, figures_file, pytest_args)
    if code != 0 or not figures_file.exists():
        print(f"the resilience suite failed (exit {code}); figures not taken", file=sys.stderr)
        return 1
    table = render(json.loads(figures_file.read_text()), wall)
    print(table)
    if args.write_doc:
        write_doc(args.scale, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
