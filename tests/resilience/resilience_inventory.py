"""Hooks arriving during pulls, beside another scenario (issue 13): SOS quantities change under
the running inventory pull, each change firing SOS's quantity hook at the stack's HTTP API (the
real subscription command registered it), while PullFunction and InventoryHookFunction run in
containers of their own, polled from their queues as Lambda's event-source mappings do. After
the scenario, WizCommerce must show, for every mapped item, what SOS holds now: no stale value,
whichever of the pull and the hook wrote last."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from local.hook_stack import subscriptions_command, wait_until
from push_stack import PushStack
from test_inventory_pull import expected_inventory, wc_inventory

HOOK_QUEUE, PULL_QUEUE = "InventoryHookQueue", "PullQueue"


@dataclass(frozen=True)
class InventoryOutcome:
    items: int          # mapped stocked items compared
    stale: int          # items WizCommerce shows other values for than SOS's newest
    hooks: int          # quantity hooks SOS delivered
    pull_runs: int      # inventory pull runs finished
    rechecks: int       # pull writes rechecked through the hook queue (a hook's read was newer)


class HooksDuringPulls:
    # The scenario's stack parameters: a short coalescing window, so a round's hooks are read
    # and written while the pull it fired is still sending (the interleaving under test)
    PARAMETERS = {"CoalesceWindowSeconds": "1"}
    SLOW_PULL_WRITE_MS = 3000  # each round's first inventory writes (the pull's) land this late
    PULL_READS_PAGE_S = 0.3    # between firing the pull and the second change

    def __init__(self, stack: PushStack, rng: random.Random, *, changes_per_round: int):
        self.stack, self.rng = stack, rng
        self.changes_per_round = changes_per_round

    def start(self) -> None:
        """Serve the HTTP API, subscribe SOS's hook to it, poll the pull and hook queues."""
        runtime = self.stack.runtime
        subscriptions_command(runtime, self.stack.embedded, runtime.start_http(), "subscribe")
        runtime.start_pollers(interval_seconds=0.05, sources=[PULL_QUEUE, HOOK_QUEUE])
        self._items = [item_id for item_id in self.stack.mapped_items()
                       if not self.stack.sos._kits_using.get(item_id)]  # noqa: SLF001 - see below
        # (a kit component's change moves its kits too, and SOS fires no hook for the kits)

    def act(self) -> None:
        """One round: some items change (B), the scheduled inventory pull fires (one already
        running makes it a no-op, as the stream's lease does) and reads them, its writes slow to
        land; they change again (C), and their hooks write C, likely before the pull's B lands.
        Every change fires SOS's hook."""
        items = self.rng.sample(self._items, min(self.changes_per_round, len(self._items)))
        self._change(items)
        self.stack.wiz.inject_latency(self.SLOW_PULL_WRITE_MS, method="POST", path="/v1/inventories",
                                      count=len(items))
        self.stack.runtime.fire_schedule("InventoryPullSchedule")
        time.sleep(self.PULL_READS_PAGE_S)
        self._change(items)

    def _change(self, items: list[int]) -> None:
        for item_id in items:
            self.stack.sos.set_item_quantities(item_id, available=self.rng.randint(0, 400),
                                               onPO=self.rng.choice((0, 0, 15)))

    def settle(self, *, timeout: float = 120) -> InventoryOutcome:
        """Wait for every hook delivery, pull run and hook message (each coalescing window ends
        after its delay), then compare WizCommerce with SOS."""
        runtime, sos, wiz = self.stack.runtime, self.stack.sos, self.stack.wiz
        assert sos.wait_for_hooks(timeout), "SOS could not deliver its hooks"
        deadline = time.monotonic() + timeout

        def quiet() -> bool:  # a running pull keeps its message in flight
            return runtime.queue_counts(PULL_QUEUE).total == 0 and runtime.queue_counts(HOOK_QUEUE).total == 0

        # Rechecks a finishing pull queues come after its last page: quiet twice, a window apart
        window = float(runtime.template.parameters["CoalesceWindowSeconds"])
        while True:
            assert wait_until(quiet, timeout=max(1.0, deadline - time.monotonic())), "pull or hook queue never settled"
            time.sleep(window + 1)
            if quiet():
                break
        runtime.stop_pollers()
        expected = expected_inventory(sos, wiz)
        shown = wc_inventory(wiz, expected)
        reports = self._reports()
        return InventoryOutcome(
            items=len(expected), stale=sum(1 for sku in expected if shown[sku] != expected[sku]),
            hooks=len(sos.hook_deliveries), pull_runs=len(reports),
            rechecks=sum(report.get("notes", {}).get("hook_rechecks_queued", 0) for report in reports))

    def _reports(self) -> list[dict]:
        return [report for report in self.stack.state.recent_reports("inventory", limit=1000)
                if report.get("status") == "ok"]
