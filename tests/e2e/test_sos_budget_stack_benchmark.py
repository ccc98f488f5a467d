"""benchmarks/sos_budget_stack.py (issue 20's benchmark on the local stack) runs end to end at a
tiny scale and reports what docs/performance.md quotes, so the benchmark cannot rot unnoticed.
Its figures are not asserted here (timing on a shared machine); its exactly-once and freshness
checks are: every order once in SOS, no item left stale in WizCommerce."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPORTED = {"throttled_share", "order_delay_from_poll_s", "pass_seconds", "ideal_seconds", "pass_ratio",
            "orders_in_sos", "orders_duplicated", "orders_missing", "stale_items_touched", "stale_items_all",
            "dynamodb_per_sos_call", "rate_in_force_at_end", "sos_requests", "throttled",
            "order_delay_from_poll_end_s", "order_delay_breakdown_s", "push_batches"}


def test_the_budget_benchmark_runs_on_the_local_stack_and_every_order_lands_once(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.sos_budget_stack", "--items", "400", "--orders", "3", "--hooks", "5",
         "--poll-seconds", "4", "--log", str(tmp_path / "functions.log")],
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert REPORTED <= result.keys()
    assert (result["orders_in_sos"], result["orders_duplicated"], result["orders_missing"]) == (3, [], [])
    assert (result["stale_items_touched"], result["stale_items_all"]) == ([], 0)
    assert result["pass_run_report"]["status"] == "ok" and result["queues_settled"]
    assert result["order_delay_from_poll_s"]["all"]["n"] == 3
    assert result["order_delay_from_poll_end_s"]["all"]["n"] == 3
    # every order's stages were seen: its push's pickup and its attempt marker before the POST
    assert {stage["n"] for stage in result["order_delay_breakdown_s"]["all"].values()} == {3}
    assert result["sos_requests"] > 0 and result["dynamodb_budget_requests"] > 0  # both counters saw the run
    assert result["rate_in_force_at_end"] is not None and result["rate_in_force_at_end"] <= 2.0
