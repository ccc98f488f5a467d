"""`python -m local.cli demo`: the embedded stack end to end, as `make demo` runs it.

Starts moto server and the two emulators, provisions template.yaml into moto through the
local runner (HTTP API front and SQS pollers on, SOS's quantity hook subscribed, WizCommerce's
webhook pointed at the HTTP API), fires the inventory schedule the way EventBridge Scheduler
would and prints the run report; runs again to show that nothing unchanged is resent, once more
after changing quantities in SOS without a hook, then changes one quantity with the hook and
times its arrival in WizCommerce. Last, every other schedule fires once (the first entity run
runs the first sync by itself) and `sos-wiz-ops doctor` checks the whole setup, as README's
Deploy checklist ends; then `sos-wiz-ops ledger` accounts for every record of the day (R-OPS-4).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

from .hook_stack import HookedStack, wait_until
from .stack import LOCAL_WEBHOOK_SECRET

ROOT = Path(__file__).resolve().parents[1]
FUNCTION_LOG = ROOT / "build" / "demo-functions.log"
HOOK_WINDOW_SECONDS = 2  # the demo's coalescing window (5 s by default on AWS)


def run_pull(stack: HookedStack, schedule: str = "InventoryPullSchedule") -> dict:
    """Fire the schedule and wait for its stream's run report; the SQS pollers run the pull
    function (and any continuation) as Lambda's event-source mapping would."""
    from sos_wiz_sync.store.state import SyncState  # boto3 must already point at moto

    state = SyncState(stack.runtime.ref("StateTable"))
    stream = json.loads(stack.runtime.schedules[schedule].input)["stream"]
    before = [r["run_id"] for r in state.recent_reports(stream, limit=1)]
    stack.runtime.fire_schedule(schedule)
    if not wait_until(lambda: [r["run_id"] for r in state.recent_reports(stream, limit=1)] != before,
                      timeout=600, interval=0.2):
        raise RuntimeError(f"the {stream} pull wrote no report; see {FUNCTION_LOG}")
    return state.recent_reports(stream, limit=1)[0]


def first_day(stack: HookedStack) -> list[dict]:
    """Every other enabled pull schedule fires once, as on the first day in production: the first
    entity run finds the first sync not done and runs it itself; then the WC change poll runs. Returns the runs' reports once
    WizCommerce's webhooks for what they wrote have been through the push path."""
    from sos_wiz_sync.store.state import SyncState

    reports = [run_pull(stack, schedule) for schedule, fired in stack.runtime.schedules.items()
               if fired.enabled and fired.queue_id == "PullQueue"
               and schedule not in ("InventoryPullSchedule", "LedgerSchedule")]  # the ledger: no run report
    reports[:0] = SyncState(stack.runtime.ref("StateTable")).recent_reports("first-sync", limit=1)
    stack.runtime.fire_schedule("WcPollSchedule")  # the minute's WC change poll, now that the first sync is done
    stack.wiz.wait_for_webhooks()
    if not wait_until(lambda: all(stack.runtime.queue_counts(queue).total == 0 for queue in ("PushQueue", "PullQueue")),
                      timeout=120, interval=0.2):
        raise RuntimeError(f"the push and pull queues did not settle; see {FUNCTION_LOG}")
    return reports


def doctor(stack: HookedStack, as_json: bool) -> tuple[int, str]:
    """`sos-wiz-ops doctor` on the local stack: its exit code and what it printed."""
    from . import ops

    printed = io.StringIO()
    with redirect_stdout(printed):
        code = ops.run(stack.runtime, ["doctor", "--json"] if as_json else ["doctor"])
    return code, printed.getvalue()


def ledger(stack: HookedStack, as_json: bool) -> tuple[int, str]:
    """`sos-wiz-ops ledger --since 24h` on the local stack: its exit code and what it printed."""
    from . import ops

    printed = io.StringIO()
    with redirect_stdout(printed):
        code = ops.run(stack.runtime, ["ledger", "--since", "24h", *(["--json"] if as_json else [])])
    return code, printed.getvalue()


def demo(items: int, changes: int, as_json: bool) -> None:
    from sos_wiz_sync.rules.inventory import inventory_levels_from_sos
    from sos_wiz_sync.sync.report import render_report

    screen = sys.stdout

    def say(text: str) -> None:
        print(text, file=screen, flush=True)

    def show(title: str, report: dict) -> None:
        say(json.dumps({"step": title, "report": report}, default=str) if as_json
            else f"\n== {title}\n{render_report(report)}")

    FUNCTION_LOG.parent.mkdir(exist_ok=True)
    # The functions' JSON logs and metrics (CloudWatch's side on AWS) go to a file, not the screen.
    with FUNCTION_LOG.open("w") as log, redirect_stdout(log), \
            HookedStack(items=items, window_seconds=HOOK_WINDOW_SECONDS) as stack:
        os.environ.update(stack.runtime.aws_environment())
        endpoints = stack.embedded.endpoints
        stack.wiz.set_webhook_target(f"{stack.api_url}/webhooks/wizcommerce", secret=LOCAL_WEBHOOK_SECRET)
        if not as_json:
            say(f"embedded stack: moto {endpoints.aws}, SOS {endpoints.sos}, WizCommerce {endpoints.wiz}, "
                f"HTTP API {stack.api_url}; {items} SOS items seeded; SOS quantity hook subscribed, "
                "WizCommerce webhook pointed at the HTTP API")
        started = time.monotonic()
        show("first inventory sync (SOS → WizCommerce)", run_pull(stack))
        show("second run: nothing changed in SOS, nothing is resent", run_pull(stack))
        changed = _change_quantities(stack, changes)
        show(f"third run: {changed} quantities changed in SOS (hook silent), the pull finds them",
             run_pull(stack))

        # Near real time (R-INV-6): SOS fires its hook, WizCommerce follows within seconds.
        item_id = stack.embedded.stocked_mapped_item_ids()[-1]
        item = stack.sos.items[item_id]
        expected = inventory_levels_from_sos(item["available"] + 7, item["onPO"]).as_dict()
        changed_at = time.monotonic()
        stack.sos.set_item_quantities(item_id, available=item["available"] + 7)
        arrived = wait_until(lambda: stack.wc_levels(item_id) == expected, timeout=60, interval=0.05)
        latency = time.monotonic() - changed_at
        say(json.dumps({"step": "quantity hook", "item_id": item_id, "arrived": arrived,
                        "seconds": round(latency, 2)}) if as_json else
            f"\n== quantity hook: item {item_id} ({item['sku']}) received 7 in SOS\n"
            f"  WizCommerce {'shows' if arrived else 'did NOT show'} {expected} after {latency:.1f} s "
            f"(coalescing window {HOOK_WINDOW_SECONDS} s), without waiting for the 2-hourly pull")
        if not arrived:
            raise SystemExit("the quantity hook did not reach WizCommerce")

        # The first day: every other stream runs once (the first sync by itself), then the
        # setup checks itself, as README's Deploy checklist ends.
        reports = first_day(stack)
        code, printed = doctor(stack, as_json)
        ledger_code, ledger_printed = ledger(stack, as_json)
        if as_json:
            say(json.dumps({"step": "first day", "reports": reports}, default=str))
            say(json.dumps({"step": "doctor", "exit_code": code, "result": json.loads(printed)}))
            say(json.dumps({"step": "ledger", "exit_code": ledger_code, "result": json.loads(ledger_printed)}))
        else:
            say("\n== first day: every other pull schedule fires once (the first entity run runs the first sync itself), then the WC change poll")
            say("  " + ", ".join(f"{r['stream']} {r['status']} (changed {r['changed']})" for r in reports))
            say(f"\n== sos-wiz-ops doctor\n{printed.rstrip()}")
            say(f"\n== sos-wiz-ops ledger --since 24h: did everything get through?\n{ledger_printed.rstrip()}")
            say(f"\ndone in {time.monotonic() - started:.1f} s; function logs in {FUNCTION_LOG}")
        if code != 0:
            raise SystemExit("sos-wiz-ops doctor is not all green on the local stack")
        if ledger_code != 0:
            raise SystemExit("sos-wiz-ops ledger found records unaccounted for on the local stack")


def _change_quantities(stack: HookedStack, count: int) -> int:
    """Receive stock for `count` mapped, stocked items without firing the hook: the pull must find it."""
    item_ids = stack.embedded.stocked_mapped_item_ids()[:count]
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
