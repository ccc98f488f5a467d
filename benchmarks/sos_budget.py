"""The deployment's SOS budget under a busy afternoon (issue 20), scaled down.

One SOS emulator limits the account (default 2 requests/s, burst 2) and answers over it as SOS
does (429 or HTTP 200 "Throttle limit exceeded": `--throttle-http-status`). Containers are
separate processes, each with its own SosClient, as Lambda runs them:
- 2 push containers (PushMaxConcurrency's default) take the announced orders in turn; a new
  order's first attempt is one SOS call, its POST (push/orders.py: a later attempt looks its
  number up first, SOS-A13), between its WizCommerce calls, modelled as `--wc-call-seconds` each:
  the order and its customer read before the POST, the order's reference_id written after;
- 1 quantity-hook container re-reads single items as hooks arrive;
- 1 pull container pages every item (200 a page) from the start.
Mode `shared` paces them all through one budget item on moto server (clients/budget.py); mode
`local` is the old behaviour, each process pacing itself at SosMaxRps.

    python -m benchmarks.sos_budget --mode shared
    python -m benchmarks.sos_budget --mode local
    python -m benchmarks.sos_budget --mode shared --account-rps 1 --sos-max-rps 2 --items 4000

Besides throttles and latencies it prints the DynamoDB requests per SOS call (and per container,
with its refused writes by kind), and, from the (time, rate) pairs each container's SharedBudget
reports through `on_rate`, when the rate in force first reached the account's limit and the
highest it was after that (the adaptive rate's settling, issue 20).

What it does not do (the issue's full benchmark): WizCommerce writes, the WC change poll, SQS,
the runner's containers; the pull here is one thread (the template's SosMaxConcurrency is 2).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "shared"), str(ROOT)]

from local.aws import MotoServer, aws_environment  # noqa: E402
from local.emulators import SosEmulator, seed  # noqa: E402

WORKER = r"""
import json, sys, time
from sos_wiz_sync.clients.budget import BudgetPolicy, SharedBudget
from sos_wiz_sync.clients.http import Pacer, build_session
from sos_wiz_sync.clients.reasons import failure_reason
from sos_wiz_sync.clients.sos import SosClient
from sos_wiz_sync.store.budget import BudgetRefused, BudgetTable

spec = json.loads(sys.argv[1])

class Tokens:  # the benchmark is not about OAuth
    def access_token(self): return spec["token"]
    def refresh(self, token): return spec["token"]

dynamodb = {"n": 0, "refused": {}}
rates = []  # (time, rate in force) as this container saw it change
if spec["mode"] == "shared":
    store = BudgetTable(spec["table"])
    for name in ("read", "take", "set_rate"):
        def counted(*a, _f=getattr(store, name), _name=name, **k):
            dynamodb["n"] += 1
            try:
                return _f(*a, **k)
            except BudgetRefused as refused:
                dynamodb["refused"][_name] = dynamodb["refused"].get(_name, 0) + 1
                if _name == "take":  # why: the rate changed, a wrong idle/busy guess, or the queue
                    found = refused.state
                    why = ("rate" if found is None or found.rate != k["rate"] else "guessed idle" if k["idle"]
                           else "guessed busy" if found.tail < k["late"] else "queue")
                    dynamodb["refused"][why] = dynamodb["refused"].get(why, 0) + 1
                raise
        setattr(store, name, counted)
    pacer = SharedBudget(store, BudgetPolicy(spec["rps"]), spec["role"],
                         on_rate=lambda rate: rates.append((time.time(), rate)))
else:
    pacer = Pacer(spec["rps"])
waits = {"n": 0}
paced = pacer.wait
def counted_wait():
    waits["n"] += 1
    paced()
pacer.wait = counted_wait
sos = SosClient(base_url=spec["url"], tokens=Tokens(), session=build_session(pacer=pacer), pacer=pacer)
time.sleep(max(0.0, spec["start"] - time.time()))
out = {"role": spec["role"], "latencies": [], "failures": [], "dynamodb": 0}
if spec["role"] == "pull":
    began = time.time()
    try:
        pages = sum(1 for _ in sos.iter_pages("item"))
        out["pages"] = pages
    except Exception as exc:
        out["failures"].append(failure_reason(exc))
    out["duration"] = time.time() - began
else:
    for job in spec["jobs"]:
        time.sleep(max(0.0, spec["start"] + job["at"] - time.time()))
        try:
            if spec["role"] == "push":
                time.sleep(2 * spec["wc_call_seconds"])  # WizCommerce: the order, its customer
                sos.create_sales_order(job["order"])
                time.sleep(spec["wc_call_seconds"])  # WizCommerce: the order's reference_id
            else:
                sos.get_item(job["item"])
        except Exception as exc:
            out["failures"].append(failure_reason(exc))
        out["latencies"].append(time.time() - spec["start"] - job["at"])
out["dynamodb"], out["refused"], out["rates"], out["waits"] = dynamodb["n"], dynamodb["refused"], rates, waits["n"]
out["rate"] = getattr(pacer, "rate", None)
print(json.dumps(out))
"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("shared", "local"), default="shared")
    parser.add_argument("--items", type=int, default=6000)
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--hooks", type=int, default=40)
    parser.add_argument("--span", type=float, default=40.0, help="seconds over which orders and hooks arrive")
    parser.add_argument("--account-rps", type=float, default=2.0)
    parser.add_argument("--account-burst", type=float, default=2.0)
    parser.add_argument("--sos-max-rps", type=float, default=2.0)
    parser.add_argument("--throttle-http-status", type=int, choices=(200, 429), default=429)
    parser.add_argument("--wc-call-seconds", type=float, default=0.1,
                        help="a WizCommerce call's duration in a push (3 per order: not paced by the budget)")
    args = parser.parse_args()

    with MotoServer() as moto:
        os.environ.update(aws_environment(moto.endpoint_url))
        table = f"state-{uuid.uuid4().hex[:8]}"
        boto3.client("dynamodb").create_table(
            TableName=table, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}])
        sos = SosEmulator(throttle_http_status=args.throttle_http_status)
        seed(sos, None, items=args.items, customers=5)
        sos.start()
        try:
            customer = next(iter(sos.customers.values()))
            stock = [i for i in sos.items.values() if not i["archived"]]
            orders = [{"at": args.span * k / args.orders, "number": f"BENCH-{k}",
                       "order": {"number": f"BENCH-{k}", "customer": {"id": customer["id"]},
                                 "lines": [{"item": {"id": stock[k]["id"]}, "quantity": 1, "unitPrice": 2}]}}
                      for k in range(args.orders)]
            hooks = [{"at": args.span * k / args.hooks, "item": stock[k]["id"]} for k in range(args.hooks)]
            start = time.time() + 3.0
            common = {"mode": args.mode, "table": table, "rps": args.sos_max_rps, "url": f"{sos.url}/api/v2",
                      "token": sos.credentials()["access_token"], "start": start,
                      "wc_call_seconds": args.wc_call_seconds}
            specs = [{**common, "role": "push", "jobs": orders[0::2]}, {**common, "role": "push", "jobs": orders[1::2]},
                     {**common, "role": "hook", "jobs": hooks}, {**common, "role": "pull", "jobs": []}]
            sos.set_rate_limit(args.account_rps, args.account_burst)
            sos.reset_counters()
            env = {**os.environ, "PYTHONPATH": f"{ROOT / 'shared'}:{ROOT}"}
            workers = [subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(spec)], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for spec in specs]
            results = []
            for worker in workers:
                out, err = worker.communicate(timeout=1800)
                if worker.returncode:
                    raise SystemExit(err)
                results.append(json.loads(out.strip().splitlines()[-1]))
            elapsed = time.time() - start
            requests_ = sum(sos.counters().values())
            throttled = sum(sos.faulted_counters().values())
        finally:
            sos.stop()
    pushes = [lat for r in results if r["role"] == "push" for lat in r["latencies"]]
    hooks_ = [lat for r in results if r["role"] == "hook" for lat in r["latencies"]]
    pull = next(r for r in results if r["role"] == "pull")
    accepted = requests_ - throttled
    # the rate in force as the containers saw it change, merged: when it first reached the
    # account's limit, the highest it was after that, and from when it stayed at or below it
    changes = sorted((at - start, rate) for r in results for at, rate in r.get("rates", []))
    settled = next((at for at, rate in changes if rate <= args.account_rps), None)
    above = [k for k, (at, rate) in enumerate(changes) if rate > args.account_rps]
    for_good = changes[above[-1] + 1][0] if above and above[-1] + 1 < len(changes) else settled if not above else None
    summary = {
        "mode": args.mode, "account_limit_rps": args.account_rps, "burst": args.account_burst,
        "sos_max_rps": args.sos_max_rps, "throttle_form": args.throttle_http_status,
        "items": args.items, "orders": args.orders, "hooks": args.hooks,
        "sos_requests": requests_, "throttled": throttled, "throttled_share": round(throttled / max(1, requests_), 4),
        "order_latency_p50_s": round(statistics.median(pushes), 2), "order_latency_p95_s": round(percentile(pushes, .95), 2),
        "hook_latency_p95_s": round(percentile(hooks_, .95), 2),
        "pull_pages": pull.get("pages"), "pull_seconds": round(pull["duration"], 1),
        "elapsed_s": round(elapsed, 1), "ideal_s": round(accepted / args.account_rps, 1),
        "failures": sorted(f for r in results for f in r["failures"]),
        "dynamodb_per_sos_call": round(sum(r["dynamodb"] for r in results) / max(1, requests_), 2),
        "dynamodb_by_container": [{"role": r["role"], "requests": r["dynamodb"], "refused": r["refused"],
                                   "sos_waits": r["waits"]} for r in results],
        "rate_in_force_at_end": next((r["rate"] for r in results if r["rate"]), None),
        "rate_first_at_or_below_account_limit_s": None if settled is None else round(max(0.0, settled), 1),
        "rate_highest_after_that": None if settled is None else max(rate for at, rate in changes if at >= settled),
        "rate_at_or_below_account_limit_for_good_s": None if for_good is None else round(max(0.0, for_good), 1),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
