"""WizCommerce users at work, their webhooks delivered over and over, and the check that SOS ends
up exactly right — shared by the redelivery and the outage scenarios.

- `StoreActivity` confirms and edits orders, creates and edits customers and takes online
  payments in the WizCommerce emulator; each action emits exactly one webhook event. Every
  edit carries its revision in a field SOS receives (the order's internal note becomes the SOS
  comment "rev N", the customer's phone ends in N), so the SOS request journal shows the order in
  which revisions reached SOS.
- `Deliveries` posts every event WizCommerce emitted (the users' and the echoes of our own
  writes) `times` times through the webhook route, at random rounds from the one it was emitted
  in, shuffled with everything else due then.
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
PAYMENT_PREFIX = "WCP-"
_REV = re.compile(r"rev (\d+)")


def customer_phone(index: int, rev: int) -> str:
    return f"+1-555-{index % 1000:03d}-{rev:04d}"


def phone_rev(phone: str | None) -> int:
    return int((phone or "0").rsplit("-", 1)[-1])


def note_rev(note: str | None) -> int:
    match = _REV.search(note or "")
    return int(match.group(1)) if match else 0


@dataclass
class Payment:
    id: str
    order_id: str
    customer_id: str
    amount: float


@dataclass
class StoreActivity:
    """What WizCommerce users did. Orders go to seeded customers linked to SOS and to customers
    created here; lines are mapped items at unit prices WizCommerce charged."""

    stack: PushStack
    rng: random.Random
    orders: list[str] = field(default_factory=list)          # WC order ids
    customers: list[str] = field(default_factory=list)       # WC customer ids created here
    payments: list[Payment] = field(default_factory=list)
    user_events: Counter = field(default_factory=Counter)   # by event type

    def __post_init__(self) -> None:
        self._items = self.stack.mapped_items()[:20]
        self._linked = [f"cust_{n}" for n in range(1, 7)]
        self._revs: dict[str, int] = {}

    def act(self, count: int) -> None:
        """`count` user actions, each one webhook event."""
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
        order = self.stack.wiz.orders[self.rng.choice(self.orders)]
        amount = round(self.rng.uniform(1, 200), 2)
        paid = self.stack.wiz.emit_payment(order["id"], amount)
        self.payments.append(Payment(paid["id"], order["id"], order["customer_id"], amount))
        self.user_events["payment.succeeded"] += 1

    @property
    def event_count(self) -> int:
        return sum(self.user_events.values())


class Deliveries:
    """At-least-once, out of order, replayed later: each event WizCommerce emitted is posted
    `times` times through the webhook route, at rounds drawn from [emitted, emitted + spread]."""

    def __init__(self, stack: PushStack, rng: random.Random, *, times: int = DELIVERIES, spread: int = 3):
        self.stack = stack
        self.rng = rng
        self.times = times
        self.spread = spread
        self.schedule: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.posted = 0
        self.answers: Counter = Counter()
        self.events = 0

    def collect(self, now: int) -> int:
        """Schedule what WizCommerce emitted since the last call; how many events that was."""
        events = self.stack.new_events()
        for event in events:
            for _ in range(self.times):
                self.schedule[now + self.rng.randint(0, self.spread)].append(event)
        self.events += len(events)
        return len(events)

    def post_due(self, now: int) -> int:
        due = self.schedule.pop(now, [])
        self.rng.shuffle(due)
        for status in self.stack.deliver(due):
            self.answers[status] += 1
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
    numbers = Counter(payment["number"] for payment in stack.sos.payments.values())
    for payment in activity.payments:
        outcome.records += 1
        number = f"{PAYMENT_PREFIX}{payment.id}"
        if numbers[number] == 0:
            outcome.problem("missing", f"WC payment {payment.id} is not in SOS")
            continue
        if numbers[number] > 1:
            outcome.problem("duplicates", f"SOS has {numbers[number]} payments numbered {number}")
        [sos] = [p for p in stack.sos.payments.values() if p["number"] == number][:1]
        customer = stack.mappings.by_wc("customer", payment.customer_id)
        order = stack.mappings.by_wc("order", payment.order_id)
        linked_order = sos["salesOrder"] is None or (order is not None and sos["salesOrder"]["id"] == int(order.sos_id))
        right = (sos["amount"] == payment.amount and customer is not None
                 and sos["customer"]["id"] == int(customer.sos_id) and linked_order)
        if not right:
            outcome.problem("not_latest", f"SOS payment {number} does not match WC payment {payment.id}")
    expected = {f"{PAYMENT_PREFIX}{payment.id}" for payment in activity.payments}
    for number in set(numbers) - expected:
        outcome.problem("duplicates", f"SOS payment {number} belongs to no WC payment")


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
