"""`make demo` keeps working: the demo command end to end on the embedded stack, as a user
runs it, reading its JSON lines; it ends with `sos-wiz-ops doctor` all green and a ledger of
0 unaccounted (R-OPS-4)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_syncs_inventory_resends_nothing_unchanged_and_shows_the_hook():
    done = subprocess.run([sys.executable, "-m", "local.cli", "demo", "--items", "400", "--changes", "5", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    steps = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    first, second, third, hook, first_day, doctor, ledger = steps
    assert first["report"]["status"] == "ok" and first["report"]["seen"] == 400
    assert first["report"]["changed"] > 0 and first["report"]["skipped"]["unmapped"] > 0
    assert second["report"]["changed"] == 0 and second["report"]["unchanged"] == first["report"]["changed"]
    assert third["report"]["changed"] == 5
    assert hook["arrived"] is True and hook["seconds"] < 30
    # The first day: the first entity run ran the first sync itself; the demo ends all green
    assert [r["stream"] for r in first_day["reports"]][:2] == ["first-sync", "customers"]
    assert all(r["status"] == "ok" for r in first_day["reports"])
    assert doctor["exit_code"] == 0 and doctor["result"]["ok"] is True
    assert {"SOS answers", "SOS quantity hook", "first sync", "last run: reconciliation"} <= {
        check["name"] for check in doctor["result"]["checks"]}
    assert ledger["exit_code"] == 0 and ledger["result"]["unaccounted"] == []
    assert sum(sum(counts.values()) for counts in ledger["result"]["counts"].values()) > 0
