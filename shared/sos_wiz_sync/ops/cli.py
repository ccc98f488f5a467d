"""sos-wiz-ops: the operator's commands (R-OPS-1..3). A thin shell: it finds the tables and
queues, calls one function of this package, and prints the result as a table or as JSON.

    sos-wiz-ops trace <id>                what happened to a record, from stored state
    sos-wiz-ops failures                  open failures and parked messages, with reasons
    sos-wiz-ops retry <id> | --all        put parked messages back on their queue
    sos-wiz-ops reports [--stream X]      the last run reports
    sos-wiz-ops diff <stream>             what the next pull would change, without writing
    sos-wiz-ops doctor                    is the setup complete and healthy? each red line says the fix
    sos-wiz-ops doctor --contract         which reading of each contract assumption this account follows
    sos-wiz-ops ledger [--since 24h]      did everything get through? each record of the window accounted for

Where: `--stack <name>` (a deployed stack: its outputs and its PullFunction's environment),
else the variables of docs/architecture.md (MAPPINGS_TABLE, STATE_TABLE, PUSH_DLQ_URL, …);
flags override both. AWS credentials as usual (`--profile`, `--region`, or the environment).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timedelta, timezone
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ..store.mappings import ENTITIES, Mappings
from ..store.state import SyncState
from .dead_letters import start_redrive
from .failures import Redrive, failures_overview, retry
from .ledger_rules import window_start
from .render import (ProgressBar, as_json, render_contract, render_diff, render_doctor, render_failures,
                     render_ledger, render_reports, render_retry, render_trace)
from .targets import DEAD_LETTER_QUEUES, OpsTargets, TargetsError, stack_values

if TYPE_CHECKING:
    from .doctor import ScheduleView
from .trace import trace

# flag → the variable it sets
TARGET_FLAGS = {
    "--mappings-table": "MAPPINGS_TABLE", "--state-table": "STATE_TABLE",
    "--push-queue-url": "PUSH_QUEUE_URL", "--push-dlq-url": "PUSH_DLQ_URL",
    "--pull-queue-url": "PULL_QUEUE_URL", "--pull-dlq-url": "PULL_DLQ_URL",
    "--hook-queue-url": "INVENTORY_HOOK_QUEUE_URL", "--hook-dlq-url": "INVENTORY_HOOK_DLQ_URL",
}


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("where")
    where.add_argument("--stack", help="CloudFormation stack name, e.g. sos-wiz-sync")
    where.add_argument("--profile", help="AWS profile")
    where.add_argument("--region", help="AWS region")
    for flag, variable in TARGET_FLAGS.items():
        where.add_argument(flag, dest=variable, metavar="NAME" if "table" in flag else "URL")
    common.add_argument("--json", action="store_true", help="print JSON instead of tables")

    parser = argparse.ArgumentParser(prog="sos-wiz-ops", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("trace", parents=[common], help="a record's whole story (R-OPS-3)")
    command.add_argument("id", help="WC id, SOS id or number, SOS item id or sku")
    command.add_argument("--entity", choices=ENTITIES, help="look only at this kind of record")
    command = commands.add_parser("failures", parents=[common], help="open failures and parked messages")
    command.add_argument("--queue", choices=DEAD_LETTER_QUEUES, help="only this dead-letter queue")
    command.add_argument("--limit", type=int, default=100)
    command = commands.add_parser("retry", parents=[common], help="parked messages back to their queue")
    which = command.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", help="WC id, WC event id or SQS message id of the parked message")
    which.add_argument("--all", action="store_true", help="redrive every message (StartMessageMoveTask)")
    command.add_argument("--queue", choices=DEAD_LETTER_QUEUES, help="only this dead-letter queue")
    command = commands.add_parser("reports", parents=[common], help="the last run reports (R-OPS-2)")
    command.add_argument("--stream", help="only this pull stream")
    command.add_argument("--last", type=int, default=10)
    command = commands.add_parser("diff", parents=[common], help="dry run: what the next pull would change")
    command.add_argument("stream", help="pull stream, e.g. inventory or products")
    command.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                         help="progress bar on stderr (default: when stderr is a terminal)")
    command = commands.add_parser("doctor", parents=[common],
                                  help="is the setup complete and healthy? (exit 0: all green)")
    command.add_argument("--contract", action="store_true",
                         help="the reading of each contract assumption this account follows, as stored (R-OPS-5)")
    command = commands.add_parser("ledger", parents=[common],
                                  help="did everything get through? (R-OPS-4; exit 1: something is unaccounted)")
    command.add_argument("--since", default="24h", type=_moment, help="24h, 7d, or an ISO time (default 24h)")
    command.add_argument("--until", type=_moment, help="an ISO time, or 1h (back from now); default now")
    command.add_argument("--settle", type=int, default=120, metavar="SECONDS",
                         help="WC changes younger than this count as in flight (default 120: two WC polls)")
    return parser


def _moment(text: str) -> str:
    """A --since/--until value, checked here so a typo is a usage error, not a traceback."""
    try:
        window_start(text, datetime.now(timezone.utc))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def main(argv: list[str] | None = None, *, environ: Mapping[str, str] | None = None,
         redrive: Redrive | None = None, schedules: Callable[[], ScheduleView] | None = None) -> int:
    """`environ`: where names come from (default os.environ); `redrive`: how `retry --all`
    moves a whole DLQ (default StartMessageMoveTask; the local runtime passes its own);
    `schedules`: how `doctor` sees the schedules (default: EventBridge Scheduler, with --stack)."""
    args = _parser().parse_args(argv)
    for variable, value in (("AWS_PROFILE", args.profile), ("AWS_REGION", args.region),
                            ("AWS_DEFAULT_REGION", args.region)):
        if value:
            os.environ[variable] = value  # every boto3 session made from here on, Powertools' included
    try:
        targets = _targets(args, os.environ if environ is None else environ)
        result, render, code = _run(args, targets, redrive, schedules)
    except (TargetsError, KeyError) as exc:
        print(f"sos-wiz-ops: {exc.args[0]}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:
        print(f"sos-wiz-ops: AWS said: {exc}", file=sys.stderr)
        return 2
    print(as_json(result) if args.json else render(result))
    return code


def _targets(args: argparse.Namespace, environ: Mapping[str, str]) -> OpsTargets:
    values = dict(environ)
    if args.stack:
        session = boto3.session.Session()
        values.update(stack_values(session.client("cloudformation"), session.client("lambda"), args.stack))
    values.update({variable: value for variable in TARGET_FLAGS.values() if (value := getattr(args, variable))})
    return OpsTargets(values)


def _run(args: argparse.Namespace, targets: OpsTargets, redrive: Redrive | None,
         schedules: Callable[[], ScheduleView] | None) -> tuple[Any, Any, int]:
    """(result, its renderer, exit code) of the chosen command."""
    if args.command == "doctor":
        return _doctor(args, targets, schedules)
    if args.command == "ledger":
        from .ledger import cli_ledger  # the API clients: only when asked for

        result = cli_ledger(targets.values, args.since, args.until, stack=args.stack,
                            settle=timedelta(seconds=args.settle))
        return result, render_ledger, 1 if result["unaccounted"] else 0
    if args.command == "diff":
        from .diff import diff_stream  # the whole pull path: imported only when a diff is asked for

        show = args.progress if args.progress is not None else sys.stderr.isatty()
        bar = ProgressBar(sys.stderr)
        try:
            result = diff_stream(args.stream, targets.values, bar if show else (lambda done, total: None))
        finally:
            bar.close()
        return result, render_diff, 0
    state = SyncState(targets.state_table)
    if args.command == "trace":
        result = trace(args.id, mappings=Mappings(targets.mappings_table), state=state, entity=args.entity)
        return result, render_trace, 0 if result["records"] else 1
    if args.command == "reports":
        return state.recent_reports(args.stream, args.last), render_reports, 0
    sqs = boto3.client("sqs")
    dlqs = targets.dead_letter_queues(args.queue)
    if args.command == "failures":
        return failures_overview(state, sqs, dlqs, args.limit), render_failures, 0
    result = retry(state, sqs, dlqs, None if args.all else args.id, redrive=redrive or start_redrive)
    return result, render_retry, 0 if result["moved"] or result["redrives"] else 1


def _doctor(args: argparse.Namespace, targets: OpsTargets,
            schedules: Callable[[], ScheduleView] | None) -> tuple[Any, Any, int]:
    if args.contract:  # what doctor's probe and the first uses stored: no API call
        from ..store.contract import ContractReadings
        from ..sync.contract_probe import contract_table

        result = contract_table(ContractReadings(targets.state_table).all())
        return result, render_contract, 1 if any(row["neither"] for row in result["readings"]) else 0
    from .doctor import DoctorContext, aws_schedule_view, doctor  # the API clients: only when asked for

    if schedules is None and args.stack:
        session = boto3.session.Session()
        stack = args.stack
        schedules = lambda: aws_schedule_view(session.client("cloudformation"), session.client("scheduler"), stack)
    result = doctor(DoctorContext(values=targets.values, secretsmanager=boto3.client("secretsmanager"),
                                  sqs=boto3.client("sqs"), state=SyncState(targets.state_table),
                                  dead_letter_queues=targets.dead_letter_queues(), schedules=schedules,
                                  stack=args.stack))
    color = sys.stdout.isatty()
    return result, lambda r: render_doctor(r, color=color), 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
