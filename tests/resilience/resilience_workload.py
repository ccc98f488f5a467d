"""WizCommerce users at work, their changes announced over and over, and the check that SOS ends
up exactly right — shared by the redelivery and the outage scenarios.

- `StoreActivity` confirms and edits orders, creates and edits customers and takes online
  payments (the order's `amount_paid` rises) in the WizCommerce emulator. Every edit carries its
  revision in a field SOS receives (the order's internal note becomes the SOS comment "rev N",
  the customer's phone ends in N), so the SOS request journal shows the order in which revisions
  reached SOS.
- `Deliveries` announces every change `times` times, at random rounds from the one it happened
  in, shuffled with everything else due then: the customer webhooks WizCommerce sent (the users'
  and those our own writes cause) through the webhook route, and each changed order — which no
  webhook announces — as the change message the WC poll, reconciliation or a redelivery puts on
  the push queue.
- `sos_outcome` compares SOS with WizCommerce's final state: duplicates, missing records,
  records not at their latest revision, and writes of an older revision after a newer one.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from push_stack import PushStack
from resilience_stack import RequestJournal

DELIVERIES = 5
ORDER_PREFIX = "WC-"  # the push stack's OrderNumberPrefix
_REV = re.compile(r"rev (\d+)")


def customer_phone(index: int, rev: int) -> str:
    return f"+1-555-{index % 1000:03d}-{rev:04d}"


def phone_rev(phone: str | None) -> int:
    return int((phone or "0").rsplit("-", 1)[-1])


def note_rev(note: str | None) -> int:
    match = _REV.search(note or "")
    return int(match.group(1)) if match else 0


@dataclass
class StoreActivity:
    """What WizCommerce users did. Orders go to seeded customers linked to SOS and to customers
    created here; lines are mapped items at unit prices WizCommerce charged."""

    stack: PushStack
    rng: random.Random
    orders: list[str] = field(default_factory=list)          # WC order ids
    customers: list[str] = field(default_factory=list)       # WC customer ids created here
    paid_orders: set[str] = field(default_factory=set)      # WC order ids paid online
    user_events: Counter = field(default_factory=Counter)   # by kind of change

    def __post_init__(self) -> None:
        self._items = self.stack.mapped_items()[:20]
        self._linked = [f"cust_{n}" for n in range(1, 7)]
        self._revs: dict[str, int] = {}

    def act(self, count: int) -> None:
        """`count` user actions, each one change."""
        for _ in range(count):
            action = self.rng.choices(
                (self._confirm_order, self._edit_order, self._create_customer, self._edit_customer, self._pay),
                weights=(3, 4, 1, 1, 2))[0]
            action()

    def _lines(self) -> list[dict[str, Any]]:
        return [{"product_id": self.stack.product_for_item(item)["id"], "quantity": self.rng.randint(1, 9),
                 "unit_price": self.rng.choice((4.5, 9.99, 12.5, 80.0))}
                for item in self.rng.sample(self._items, self.rng.randint(1, 3))]

    def _confirm_order(self) -> None:
        customer = self.rng.choice(self._linked + self.customers)
        order = self.stack.wiz.create_order(customer, self._lines(), internal_note="rev 1")
        self.orders.append(order["id"])
        self._revs[order["id"]] = 1
        self.user_events["order.confirmed"] += 1

    def _edit_order(self) -> None:
        if not self.orders:
            return self._confirm_order()
        order_id = self.rng.choice(self.orders)
        self._revs[order_id] += 1
        self.stack.wiz.update_order(order_id, internal_note=f"rev {self._revs[order_id]}", line_items=self._lines())
        self.user_events["order.updated"] += 1

    def _create_customer(self) -> None:
        index = len(self.customers) + 1
        customer = self.stack.wiz.create_customer(
            name=f"Resilient Buyer {index}", email=f"buyer{index}@resilient{index}.example",
            phone=customer_phone(index, 1),
            addresses=[{"type": "billing", "is_default": True, "address_line_1": f"{100 + index} Harbour Way",
                        "city": "Portland", "state": "OR", "zip_code": "97205", "country": "US"}])
        self.customers.append(customer["id"])
        self._revs[customer["id"]] = 1
        self.user_events["customer.created"] += 1

    def _edit_customer(self) -> None:
        if not self.customers:
            return self._create_customer()
        customer_id = self.rng.choice(self.customers)
        self._revs[customer_id] += 1
        index = self.customers.index(customer_id) + 1
        self.stack.wiz.update_customer(customer_id, phone=customer_phone(index, self._revs[customer_id]))
        self.user_events["customer.updated"] += 1

    def _pay(self) -> None:
        if not self.orders:
            return self._confirm_order()
        order_id = self.rng.choice(self.orders)
        self.stack.wiz.record_payment(order_id, round(self.rng.uniform(1, 200), 2))
        self.paid_orders.add(order_id)
        self.user_events["order.paid"] += 1

    @property
    def event_count(self) -> int:
        return sum(self.user_events.values())


class Deliveries:
    """At-least-once, out of order, replayed later: each change is announced `times` times, at
    rounds drawn from [changed, changed + spread] — customer webhooks through the webhook route,
    changed orders as change messages on the push queue (what the WC poll sends)."""

    def __init__(self, stack: PushStack, rng: random.Random, *, times: int = DELIVERIES, spread: int = 3):
        self.stack = stack
        self.rng = rng
        self.times = times
        self.spread = spread
        self.schedule: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.posted = 0          # announcements: webhook posts and queued change messages
        self.webhooks_posted = 0
        self.answers: Counter = Counter()
        self.events = 0          # changes announced (each `times` times)
        self._seen_orders: dict[str, str] = {}  # WC order id → updated_at last announced

    def collect(self, now: int) -> int:
        """Schedule what changed since the last call; how many changes that was."""
        changes = [{"webhook": event} for event in self.stack.new_events()]
        for order in self.stack.wiz.orders.values():
            if order["status"] == "confirmed" and self._seen_orders.get(order["id"]) != order["updated_at"]:
                self._seen_orders[order["id"]] = order["updated_at"]
                changes.append({"order": order["id"], "updated_at": order["updated_at"]})
        for change in changes:
            for copy in range(self.times):
                self.schedule[now + self.rng.randint(0, self.spread)].append({**change, "copy": copy})
        self.events += len(changes)
        return len(changes)

    def post_due(self, now: int) -> int:
        due = self.schedule.pop(now, [])
        self.rng.shuffle(due)
        for change in due:
            if "webhook" in change:
                self.answers[self.stack.post(change["webhook"]["body"], change["webhook"]["headers"])] += 1
                self.webhooks_posted += 1
            else:
                wc_id = change["order"]
                message_id = f"announce-{change['copy']}:order:{wc_id}:{change['updated_at']}"
                self.stack.send_to_push_queue(self.stack.change_message("order", wc_id, message_id),
                                              f"order#{wc_id}")
        self.posted += len(due)
        return len(due)

    @property
    def pending(self) -> bool:
        return bool(self.schedule)


# -- what SOS must hold ------------------------------------------------------------------------

@dataclass
class Outcome:
    records: int = 0
    duplicates: int = 0
    missing: int = 0
    not_latest: int = 0       # in SOS, but not at WizCommerce's last revision
    stale_overwrites: int = 0  # a write of an older revision after a newer one had reached SOS
    problems: list[str] = field(default_factory=list)

    def problem(self, kind: str, text: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.problems) < 20:
            self.problems.append(f"{kind}: {text}")

    @property
    def exact(self) -> bool:
        return not (self.duplicates or self.missing or self.not_latest or self.stale_overwrites)


def sos_outcome(stack: PushStack, activity: StoreActivity, sos_requests: RequestJournal) -> Outcome:
    """SOS against WizCommerce's final state, record by record."""
    outcome = Outcome()
    _orders(stack, activity, outcome)
    _customers(stack, activity, outcome)
    _payments(stack, activity, outcome)
    _stale_writes(sos_requests, outcome)
    return outcome


def _orders(stack: PushStack, activity: StoreActivity, outcome: Outcome) -> None:
    numbers = Counter(order["number"] for order in stack.sos.sales_orders.values())
    expected = {f"{ORDER_PREFIX}{stack.wiz.orders[o]['display_id']}": o for o in activity.orders}
    for number, count in numbers.items():
        if number not in expected:
            outcome.problem("duplicates", f"SOS order {number} belongs to no WC order")
        elif count > 1:
            outcome.problem("duplicates", f"SOS has {count} orders numbered {number}")
    for number, wc_id in expected.items():
        outcome.records += 1
        if numbers[number] == 0:
            outcome.problem("missing", f"WC order {wc_id} ({number}) is not in SOS")
            continue
        [sos] = [order for order in stack.sos.sales_orders.values() if order["number"] == number][:1]
        wc = stack.wiz.orders[wc_id]
        want = [(int(stack.wiz.products[line["product_id"]]["reference_id"]), line["quantity"], line["unit_price"])
                for line in wc["line_items"]]
        got = [(line["item"]["id"], line["quantity"], line["unitPrice"]) for line in sos["lines"]]
        if note_rev(sos["comment"]) != note_rev(wc["internal_note"]) or got != want:
            outcome.problem("not_latest",
                            f"SOS order {number}: {sos['comment']!r} {got} ≠ WC {wc['internal_note']!r} {want}")


def _customers(stack: PushStack, activity: StoreActivity, outcome: Outcome) -> None:
    for wc_id in activity.customers:
        outcome.records += 1
        wc = stack.wiz.customers[wc_id]
        in_sos = [c for c in stack.sos.customers.values() if c["name"] == wc["name"]]
        if not in_sos:
            outcome.problem("missing", f"WC customer {wc_id} is not in SOS")
            continue
        if len(in_sos) > 1:
            outcome.problem("duplicates", f"SOS has {len(in_sos)} customers named {wc['name']!r}")
        sos = in_sos[0]
        mapping = stack.mappings.by_wc("customer", wc_id)
        linked = mapping is not None and mapping.sos_id == str(sos["id"]) == wc["reference_id"]
        same = (sos["email"], sos["phone"], (sos["billing"] or {}).get("line1")) == (
            wc["email"], wc["phone"], wc["addresses"][0]["address_line_1"])
        if not (linked and same):
            outcome.problem("not_latest", f"SOS customer {sos['id']} (linked {linked}) ≠ WC customer {wc_id}: "
                            f"{sos['phone']} ≠ {wc['phone']}")


def _payments(stack: PushStack, activity: StoreActivity, outcome: Outcome) -> None:
    """R-PAY-1: each paid order's SOS deposit is what WizCommerce shows paid; no SOS payment record."""
    for wc_id in activity.paid_orders:
        outcome.records += 1
        wc = stack.wiz.orders[wc_id]
        in_sos = [o for o in stack.sos.sales_orders.values() if o["number"] == f"{ORDER_PREFIX}{wc['display_id']}"]
        if not in_sos:
            continue  # counted missing with the orders
        if in_sos[0]["depositAmount"] != round(wc["amount_paid"], 2):
            outcome.problem("not_latest", f"SOS order {in_sos[0]['number']}: deposit {in_sos[0]['depositAmount']} "
                            f"≠ WC amount_paid {wc['amount_paid']}")
    for payment in stack.sos.payments.values():
        outcome.problem("duplicates", f"SOS payment {payment['number']}: the deposit route makes none")


def _stale_writes(sos_requests: RequestJournal, outcome: Outcome) -> None:
    """Revisions as SOS received them, in order: never an older one after a newer one."""
    latest: dict[tuple[str, str], int] = {}
    for write in sos_requests.served(applied=True):
        if write.method not in ("POST", "PUT") or not isinstance(write.body, dict):
            continue
        if write.path.startswith("/api/v2/salesorder"):
            key, rev = ("order", str(write.body.get("number"))), note_rev(write.body.get("comment"))
        elif write.path.startswith("/api/v2/customer") and str(write.body.get("name", "")).startswith("Resilient"):
            key, rev = ("customer", write.body["name"]), phone_rev(write.body.get("phone"))
        else:
            continue
        if rev < latest.get(key, 0):
            outcome.problem("stale_overwrites", f"{key}: rev {rev} written after rev {latest[key]}")
        latest[key] = max(rev, latest.get(key, 0))
