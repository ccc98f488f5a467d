"""R-OPS-5, the SOS rows added to the probe and to the code: SOS-A5's pages read twice, SOS-A9
judged by the reader the code uses, SOS-A17's kit type deciding which items are kits."""

from __future__ import annotations

import pytest

from sos_wiz_sync.models.sos import SosItem
from sos_wiz_sync.rules import contract as c
from sos_wiz_sync.rules.contract import NEITHER, Answer
from sos_wiz_sync.sync.inventory import inventory_targets
from sos_wiz_sync.sync.report import RunCounts


def pages(first: list[int], second: list[int]) -> dict[str, Answer]:
    size = c.SOS_PAGE_SIZE
    reads = [first[:size], first[size:], second[:size], second[size:]]
    return {label: Answer(200, {"data": [{"id": i} for i in ids]}) for label, ids in zip(c.SOS_PAGES, reads)}


@pytest.mark.parametrize(("answers", "expected"), [
    (pages(list(range(1, 11)), list(range(1, 11))), "stable"),
    (pages(list(range(1, 11)), [*range(2, 11), 11]), "rows move"),  # SOS-A5: the oldest moved to the end
    (pages([1, 2, 3], [1, 2, 3]), None),  # no page 2: cannot tell
    ({**pages(list(range(1, 11)), list(range(1, 11))), c.SOS_PAGES[1]: Answer(200, {"status": "ok"})}, NEITHER),
    ({}, None),
], ids=["stable", "rows-move", "one-page", "neither", "not-asked"])
def test_sos_a5_compares_pages_one_and_two_read_twice(answers, expected):
    reading = c.sos_a5(answers)
    assert reading.reading == expected, reading.evidence
    assert expected in (None, NEITHER) or expected in c.ROWS["SOS-A5"].effects


def test_sos_a9_takes_every_link_the_code_reads_and_only_those():
    """One rule for both: a link {id} without transactionType is read by models/sos.linked_transactions,
    so the probe says "object"; a bare id is refused by both, naming the order."""
    orders = lambda links: {c.SOS_ORDERS: Answer(200, {"data": [{"id": 7, "linkedInvoices": links}]})}  # noqa: E731
    assert c.sos_a9(orders([{"id": 9}])).reading == "object"
    neither = c.sos_a9(orders([9]))
    assert neither.reading == NEITHER and "7" in neither.evidence and "SOS-A9" in neither.evidence
    assert c.sos_a9(orders("9")).reading == NEITHER  # not a list


def item(item_id: int, kind: str) -> SosItem:
    return SosItem(id=item_id, type=kind, available=3)


@pytest.mark.parametrize(("kit_types", "sent", "failed"), [
    (frozenset({"Kit", "Item Group"}), {"1", "2", "3"}, set()),
    (frozenset({"Kit"}), {"1", "2"}, {"3"}),
    (frozenset({"Item Group"}), {"1", "3"}, {"2"}),
])
def test_the_settled_kit_type_decides_which_items_are_kits(kit_types, sent, failed):
    """SOS-A17: until settled both names are kits; settled, an item reading the other name is a
    failure naming it and SOS-A17, never sent and never skipped silently."""
    counts = RunCounts()
    items = [item(1, "Inventory Item"), item(2, "Kit"), item(3, "Item Group")]
    targets = inventory_targets(items, {"1": "s1", "2": "s2", "3": "s3"}, {"1": 1, "2": 1, "3": 1}, counts, kit_types)
    assert {t.record_id for t in targets} == sent
    assert {f["record_id"] for f in counts.failures} == failed
    assert all("SOS-A17" in f["detail"] for f in counts.failures)
