"""`python -m local.cli demo`: the embedded stack end to end, as `make demo` runs it.

Starts moto server and the two emulators, provisions template.yaml into moto through the
local runner, fires the inventory schedule the way EventBridge Scheduler would, lets the pull
function drain its queue, and prints the run report; then runs again to show that nothing
unchanged is resent, and once more after changing some quantities in SOS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from contextlib import redirect_stdout
from pathlib import Path

from .runner import LocalRuntime
from .stack import EmbeddedStack

ROOT = Path(__file__).resolve().parents[1]


FUNCTION_LOG = ROOT / "build" / "demo-functions.log"


def run_inventory_pull(runtime: LocalRuntime) -> dict:
    """Fire the schedule, drain the pull queue (continuations included), return the report."""
    runtime.fire_schedule("InventoryPullSchedule")
    runtime.drain("PullFunction", wait_seconds=0.5)
    from sos_wiz_sync.store.state import SyncState  # boto3 must already point at moto

    return SyncState(runtime.ref("StateTable")).recent_reports("inventory", limit=1)[0]


def demo(items: int, changes: int, as_json: bool) -> None:
    from sos_wiz_sync.sync.report import render_report

    screen = sys.stdout

    def say(text: str) -> None:
        print(text, file=screen, flush=True)

    def show(title: str, report: dict) -> None:
        say(json.dumps({"step": title, "report": report}, default=str) if as_json
            else f"\n== {title}\n{render_report(report)}")

    FUNCTION_LOG.parent.mkdir(exist_ok=True)
    # The functions' JSON logs and metrics (CloudWatch's side on AWS) go to a file, not the screen.
    with FUNCTION_LOG.open("w") as log, redirect_stdout(log), EmbeddedStack(items=items) as stack:
        runtime = LocalRuntime(ROOT / "template.yaml", parameters=stack.parameter_overrides(),
                               secret_values=stack.secret_values(), endpoint_url=stack.endpoints.aws,
                               stack_name=f"demo-{uuid.uuid4().hex[:6]}")
        with runtime:
            os.environ.update(runtime.aws_environment())
            if not as_json:
                say(f"embedded stack: moto {stack.endpoints.aws}, SOS {stack.endpoints.sos}, "
                      f"WizCommerce {stack.endpoints.wiz}; {items} SOS items seeded")
            started = time.monotonic()
            show("first inventory sync (SOS → WizCommerce)", run_inventory_pull(runtime))
            show("second run: nothing changed in SOS, nothing is resent", run_inventory_pull(runtime))
            changed = _change_quantities(stack, changes)
            show(f"third run: {changed} quantities changed in SOS", run_inventory_pull(runtime))
            if not as_json:
                say(f"\ndone in {time.monotonic() - started:.1f} s; function logs in {FUNCTION_LOG}")


def _change_quantities(stack: EmbeddedStack, count: int) -> int:
    """Receive stock for `count` mapped, stocked items (no hook: the pull must find it)."""
    item_ids = stack.stocked_mapped_item_ids()[:count]
    for item_id in item_ids:
        stack.sos.set_item_quantities(item_id, available=stack.sos.items[item_id]["available"] + 10, fire_hook=False)
    return len(item_ids)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="sos-wiz-local", description="The embedded local stack.")
    commands = parser.add_subparsers(dest="command", required=True)
    run_demo = commands.add_parser("demo", help="full inventory sync on the embedded stack, with run reports")
    run_demo.add_argument("--items", type=int, default=2000, help="SOS items to seed (default 2000)")
    run_demo.add_argument("--changes", type=int, default=25, help="quantities to change before the third run")
    run_demo.add_argument("--json", action="store_true", help="print the reports as JSON lines")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.items, args.changes, args.json)


if __name__ == "__main__":
    main()
