"""Scenario 3 — kills (DESIGN failure model: a Lambda may be killed at any instruction; every write
is idempotent or guarded, so re-running any step gives the same end state and no duplicates).

Pull: for each stream, seeded rounds: SOS changes (new records, edits, quantities), then the
stream's run starts in a process of its own (the template's PullFunction handler and environment)
that SIGKILLs itself at a seeded point — before or after an SOS page read, a WizCommerce write, a
mapping write or a checkpoint. As on AWS, the dead run's message comes back when its visibility
timeout ends (here at once) and its lease expires (moved into the past rather than waited for);
PullFunction, run by the local runtime, must resume that run: nothing skipped, nothing twice.
The killed process reads SOS in pages of 20 rows, so the data spans several checkpoints.

Push: PushFunction killed between the SOS write and the mapping write (and around it) in a child
process; the change announced again must still leave exactly one SOS record (and a payment the
SOS order's deposit, once).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass

import pytest

from pull_stack import SCHEDULES, PullStack
from push_stack import delivered_record
from resilience_process import Kill, invoke_in_child
from test_inventory_pull import expected_inventory, wc_inventory

PAGE_ROWS = 20
CHANGED_ITEMS = 0.3
PUSH_IN_PROGRESS_MS = 1500  # the killed push's remaining time: its idempotency record expires then


@dataclass(frozen=True)
class KillPoint:
    call: str
    bound: int              # at least this many such calls in a run of the round's data
    contains: str | None = None


def kill_points(stream: str, new_records: int, pages: int) -> list[KillPoint]:
    """Where a run of the stream can die, the WizCommerce write and our record of it first."""
    checkpoints = KillPoint("dynamodb:PutItem", pages, contains="CURSOR#")
    if stream == "inventory":
        return [KillPoint("POST /v1/inventories", max(1, new_records // 2)),
                KillPoint("dynamodb:BatchWriteItem", 1, contains="INV#"), KillPoint("GET /api/v2/item", pages),
                checkpoints]
    sos_resource, entity = {"customers": ("customer", "customer"), "orders": ("salesorder", "order")}[stream]
    return [KillPoint(f"POST /v1/{stream}", new_records),
            KillPoint("dynamodb:TransactWriteItems", new_records, contains=f"SOS#{entity}#"),
            KillPoint(f"GET /api/v2/{sos_resource}", pages), checkpoints]


@pytest.fixture
def pulled(make_stack):
    """A stack with 200 SOS items whose first sync has run (R-TIME-2: the entity streams wait for it)."""
    watched = make_stack(items=200, parameters={"ReconciliationLagSeconds": "0"})
    assert PullStack(watched.stack).first_sync()["status"] == "ok"
    return watched


# -- what SOS changes between runs -------------------------------------------------------------

def change_sos(stack: PullStack, stream: str, rng: random.Random, count: int, round_: int) -> int:
    """SOS users at work; returns how many records the stream must write to WizCommerce."""
    sos = stack.sos
    if stream == "inventory":
        stocked = [item for item in stack.push.mapped_items() if rng.random() < CHANGED_ITEMS]
        for item in stocked:
            sos.set_item_quantities(item, available=rng.randint(0, 400), onPO=rng.choice((0, 0, 25)), fire_hook=False)
        return len(stocked)
    if stream == "customers":
        for n in range(count):
            sos.create_customer(name=f"Kill Round {round_} Buyer {n}", email=f"r{round_}b{n}@kill{n}.example",
                                phone=f"+1-555-{round_:03d}-{n:04d}")
        for customer in rng.sample(sorted(sos.customers), 3):
            sos.update_customer(customer, phone=f"+1-555-{900 + round_:03d}-{customer:04d}")
        return count
    customers, items = sorted(sos.customers), stack.push.mapped_items()[:30]
    for _ in range(count):
        sos.create_sales_order(customer={"id": rng.choice(customers)},
                               lines=stack.sos_lines(rng.sample(items, rng.randint(1, 3)), quantity=rng.randint(1, 5)))
    return count


# -- what WizCommerce must show ----------------------------------------------------------------

def wc_records(stack: PullStack, stream: str):
    return stack.wiz.customers if stream == "customers" else stack.wiz.orders


def mirrored_once(stack: PullStack, stream: str) -> tuple[int, int]:
    """(skipped, duplicated): SOS records missing from WizCommerce or not at their latest
    values, and SOS records WizCommerce holds more than once."""
    if stream == "inventory":
        expected = expected_inventory(stack.sos, stack.wiz)
        actual = wc_inventory(stack.wiz, expected)
        return sum(1 for sku in expected if actual[sku] != expected[sku]), 0
    store = wc_records(stack, stream)
    records = (stack.sos.customers if stream == "customers"
               else {i: o for i, o in stack.sos.sales_orders.items() if not o["number"].startswith("WC-")})
    references = stack.wc_references(store)
    by_reference = {record["reference_id"]: record for record in store.values() if record.get("reference_id")}
    skipped = 0
    for sos_id, record in records.items():
        wc = by_reference.get(str(sos_id))
        if wc is None or not _same(stream, stack, record, wc):
            skipped += 1
    return skipped, sum(count - 1 for count in references.values())


def _same(stream: str, stack: PullStack, sos: dict, wc: dict) -> bool:
    if stream == "customers":
        return (wc["name"], wc["email"], wc["phone"]) == (sos["name"], sos["email"], sos["phone"])
    lines = [(int(stack.wiz.products[line["product_id"]]["reference_id"]), line["quantity"])
             for line in wc["line_items"]]
    return lines == [(line["item"]["id"], line["quantity"]) for line in sos["lines"]]


# -- the scenario ------------------------------------------------------------------------------

def expire_leases(runtime) -> int:
    """Every lease in the state table runs out now: what the dead process held (a stream's run,
    a customer being linked) is free, as it would be by the time SQS hands its message out again."""
    table = runtime.ref("StateTable")
    leases = runtime.dynamodb.scan(TableName=table, FilterExpression="begins_with(pk, :lease)",
                                   ExpressionAttributeValues={":lease": {"S": "LEASE#"}})["Items"]
    for lease in leases:
        runtime.dynamodb.update_item(TableName=table, Key={"pk": lease["pk"], "sk": lease["sk"]},
                                     UpdateExpression="SET lease_until = :past",
                                     ExpressionAttributeValues={":past": {"N": "0"}})
    return len(leases)


def kill_then_resume(stack: PullStack, stream: str, kill: Kill, journal) -> tuple[dict | None, dict, float]:
    """Fire the stream's schedule; the run dies in its own process at `kill`; then its message
    comes back and PullFunction takes it again. (run at the kill, report of the resumed run, s)."""
    runtime = stack.runtime
    runtime.fire_schedule({**SCHEDULES, "inventory": "InventoryPullSchedule"}[stream])
    queue = runtime.queues["PullQueue"]
    [message] = runtime.sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=1,
                                            VisibilityTimeout=queue.visibility_timeout)["Messages"]
    event = {"Records": [delivered_record(message["Body"], "pull", queue.arn)]}
    child = invoke_in_child(runtime, "PullFunction", event, journal, kill=kill, sos_page_size=PAGE_ROWS)
    assert child.killed, f"{stream}: the run finished before the kill point {kill}; lower its bound"
    killed_run = stack.state.load_stream(stream).get("run")
    # As time passes on AWS: the dead run's lease expires, its message becomes visible again
    expire_leases(runtime)
    runtime.sqs.change_message_visibility(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"],
                                          VisibilityTimeout=0)
    started = time.monotonic()
    runtime.drain("PullQueue")
    return killed_run, stack.state.recent_reports(stream, limit=1)[0], time.monotonic() - started


@pytest.mark.parametrize("stream", ["inventory", "customers", "orders"])
def test_a_pull_killed_at_random_points_resumes_with_nothing_skipped_or_twice(pulled, stream, scale, figures,
                                                                           log_journal):
    stack, wiz_requests = PullStack(pulled.stack), pulled.wiz_requests
    rng = random.Random(f"kills-{stream}")
    kills, resumed, resume_seconds, totals = [], 0, [], Counter()
    for round_ in range(1, scale.kill_rounds + 1):
        # Given SOS changed since the last run
        before = stack.wc_references(wc_records(stack, stream))
        writes = change_sos(stack, stream, rng, scale.pull_records, round_)
        rows = writes if stream != "inventory" else len(stack.sos.items)
        points = kill_points(stream, writes, max(1, rows // PAGE_ROWS))
        point = points[(round_ - 1) % len(points)]  # every kind of point in turn, at a seeded call
        kill = Kill(point.call, rng.randint(1, point.bound), rng.choice(("before", "after")), point.contains)
        created_before = len(wiz_requests.served("POST", f"/v1/{stream}", applied=True))
        # When its run is killed at a seeded point and the next invocation takes its message
        killed_run, report, seconds = kill_then_resume(stack, stream, kill, log_journal)
        kills.append(str(kill))
        resume_seconds.append(seconds)
        # Then that invocation resumed the run (when the run had started) and finished it cleanly
        if killed_run is not None:
            resumed += 1
            assert (report["run_id"], report["invocations"]) == (killed_run["run_id"], killed_run["invocations"] + 1)
        assert report["status"] == "ok" and report["failed"] == {}, report
        # And WizCommerce shows every SOS record once, at its latest values
        skipped, duplicated = mirrored_once(stack, stream)
        totals.update(skipped=skipped, duplicated=duplicated)
        assert (skipped, duplicated) == (0, 0), f"round {round_}, killed {kill}"
        if stream != "inventory":  # ... each new one created exactly once (a lost answer is adopted)
            created = len(wiz_requests.served("POST", f"/v1/{stream}", applied=True)) - created_before
            new = set(stack.wc_references(wc_records(stack, stream))) - set(before)
            assert created == len(new) >= writes
    figures.record(f"kills_pull_{stream}", kills=len(kills), runs_resumed=resumed, skipped=totals["skipped"],
                   duplicated=totals["duplicated"], kill_points=kills,
                   max_resume_seconds=round(max(resume_seconds), 2))


PUSH_KILLS = [
    ("order", Kill("POST /api/v2/salesorder", 1, "after")),               # SOS has it; WC and mapping do not
    ("order", Kill("PUT /v1/orders", 1, "after")),                        # WC has SOS's id; no mapping
    ("order", Kill("dynamodb:TransactWriteItems", 1, "before", "WC#order#")),  # the mapping write never happens
    ("order", Kill("dynamodb:TransactWriteItems", 1, "after", "WC#order#")),   # mapped, event not marked done
    ("customer", Kill("POST /api/v2/customer", 1, "after")),
    ("payment", Kill("PUT /api/v2/salesorder", 1, "after")),                 # SOS has the deposit; the mapping not
    ("payment", Kill("dynamodb:UpdateItem", 1, "before", "WC#order#")),       # the same, one step later
]


def test_a_push_killed_between_the_sos_write_and_the_mapping_write_still_leaves_one_sos_record(make_stack, figures,
                                                                                             log_journal):
    stack = make_stack().stack
    runtime, queue = stack.runtime, stack.runtime.queues["PushQueue"]
    for entity, kill in PUSH_KILLS:
        # Given a WizCommerce change on the push queue: a customer's webhook, an order's poll
        stack.sync()  # (the echoes of the last round are through: the queue holds only this change)
        posts = Counter(stack.sos.counters())
        if entity == "customer":
            record = stack.wiz.create_customer(name=f"Killed Push {kill.call}", email="ap@killed-push.example")
            [event] = stack.new_events()
            assert stack.deliver([event]) == [202]
        else:
            record = stack.place_order(stack.mapped_items()[:2])
            if entity == "payment":
                stack.sync()
                posts = Counter(stack.sos.counters())
                record = stack.wiz.record_payment(record["id"], 42.0)
            stack.poll()
        [message] = runtime.sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=1, VisibilityTimeout=600,
                                                MessageSystemAttributeNames=["All"])["Messages"]
        # When PushFunction dies in its own process at the kill point
        record_event = delivered_record(message["Body"], message["Attributes"]["MessageGroupId"], queue.arn)
        child = invoke_in_child(runtime, "PushFunction", {"Records": [record_event]}, log_journal, kill=kill,
                                remaining_ms=PUSH_IN_PROGRESS_MS)
        assert child.killed, f"the push finished before {kill}"
        # ... and SQS hands the message to PushFunction again once the dead invocation's time is up
        # (its idempotency record expires with it; its leases are moved into the past)
        time.sleep(max(0.0, child.started_at + PUSH_IN_PROGRESS_MS / 1000 + 0.1 - time.time()))
        expire_leases(runtime)
        runtime.sqs.change_message_visibility(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"],
                                              VisibilityTimeout=0)
        stack.sync()
        # Then SOS has the record once, linked both ways, and nothing failed
        created = Counter(stack.sos.counters()) - posts
        mapping = stack.mappings.by_wc("order" if entity == "payment" else entity, record["id"])
        assert mapping is not None, kill
        if entity == "order":
            assert created["POST /api/v2/salesorder"] == 1, kill
            assert [o["id"] for o in stack.sos_orders_numbered(f"WC-{record['display_id']}")] == [int(mapping.sos_id)]
            assert stack.wc_order(record["id"])["reference_id"] == mapping.sos_id
        elif entity == "payment":  # the deposit is absolute: written again after the kill, it is the same
            assert created["POST /api/v2/salesorder"] == 0 and created["POST /api/v2/payment"] == 0, kill
            [sos_order] = stack.sos_orders_numbered(f"WC-{record['display_id']}")
            assert sos_order["depositAmount"] == 42.0 and mapping.pushed_amount_paid == 42.0, kill
        else:
            assert created["POST /api/v2/customer"] == 1, kill
            assert [c["name"] for c in stack.sos.customers.values()].count(record["name"]) == 1
        assert stack.state.open_failures() == [] and stack.dlq_messages() == [], kill
    figures.record("kills_push", kills=len(PUSH_KILLS), duplicates=0, lost=0,
                   kill_points=[f"{entity}: {kill}" for entity, kill in PUSH_KILLS])
