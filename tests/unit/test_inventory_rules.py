"""R-INV-1..5 as properties: the seed's formulas hold for every quantity SOS can report."""

from hypothesis import given
from hypothesis import strategies as st

from sos_wiz_sync.models.sos import SosItem
from sos_wiz_sync.models.wiz import WizInventoryRecord, WizProduct
from sos_wiz_sync.rules.inventory import (
    SOS_ON_ORDER_IDENTIFIER,
    inventory_levels_from_sos,
    needs_push,
    shown_inventory_digest,
    skip_reason,
    wiz_inventory,
)
from sos_wiz_sync.hook.ingress import coalescing_message
from sos_wiz_sync.models.hook import InventoryHookMessage
from sos_wiz_sync.sync.inventory import (
    READ_CLOCK_SKEW_US,
    InventoryWrite,
    changed_targets,
    inventory_targets,
    overtaken_pull_writes,
    recheck_message,
    product_skus_by_reference,
    targets_wizcommerce_does_not_show,
    writes_for_differences,
)
from sos_wiz_sync.sync.report import RunCounts

quantities = st.one_of(st.integers(-10_000, 1_000_000).map(float),
                       st.decimals(-1000, 100_000, places=3).map(float))


@given(available=quantities, on_po=quantities)
def test_levels_follow_the_seed_formulas(available, on_po):
    levels = inventory_levels_from_sos(available, on_po)
    assert abs(levels.available - max(0.0, available - on_po)) < 1e-3           # R-INV-1
    assert abs(levels.back_order - max(0.0, min(available, on_po))) < 1e-3      # R-INV-2
    assert abs(levels.on_order - max(0.0, on_po)) < 1e-3                        # R-INV-3
    assert min(levels.available, levels.back_order, levels.on_order) >= 0


@given(available=quantities, on_po=st.integers(0, 1_000_000).map(float))
def test_sellable_never_exceeds_what_sos_has(available, on_po):  # onPO is never negative in SOS
    levels = inventory_levels_from_sos(available, on_po)
    assert levels.available + levels.back_order <= max(0.0, available) + 1e-3


def test_examples_from_the_article():
    assert inventory_levels_from_sos(10, 3).as_dict() == {"available": 7.0, "back_order": 3.0, "on_order": 3.0}
    assert inventory_levels_from_sos(2, 5).as_dict() == {"available": 0.0, "back_order": 2.0, "on_order": 5.0}
    assert inventory_levels_from_sos(-4, 0).as_dict() == {"available": 0.0, "back_order": 0.0, "on_order": 0.0}


def test_wiz_body_sends_one_on_order_entry_identified_as_sos():
    body = wiz_inventory("SKU-1", inventory_levels_from_sos(10, 3))
    assert body.available_quantity == 7 and body.back_order_quantity == 3 and body.back_order_allowed
    assert [(d.quantity, d.identifier) for d in body.on_order_details] == [(3.0, SOS_ON_ORDER_IDENTIFIER)]


@given(available=quantities, on_po=quantities)
def test_unchanged_values_are_not_sent_again(available, on_po):  # R-INV-5
    levels = inventory_levels_from_sos(available, on_po)
    assert needs_push(levels, "S", None)
    assert not needs_push(levels, "S", {"values": levels.as_dict(), "sku": "S"})
    assert needs_push(levels, "OTHER", {"values": levels.as_dict(), "sku": "S"})


def test_kits_use_the_available_sos_reports():  # R-INV-4
    kit = SosItem(id=1, type="Kit", onhand=0, available=12, onPO=0)
    assert skip_reason(kit) is None
    assert inventory_levels_from_sos(kit.available, kit.onPO).available == 12


def test_plan_skips_and_counts_unmapped_archived_and_untracked():
    items = [SosItem(id=1, available=5), SosItem(id=2, available=5), SosItem(id=3, archived=True),
             SosItem(id=4, type="Service"), SosItem(id=5, available=1, onPO=0)]
    counts = RunCounts()
    last = {"5": {"values": inventory_levels_from_sos(1, 0).as_dict(), "sku": "E", "source": "hook"}}
    targets = inventory_targets(items, {"1": "A", "3": "C", "4": "D", "5": "E"}, dict.fromkeys("12345", 7), counts)
    writes = changed_targets(targets, last, counts)
    assert [w.record_id for w in writes] == ["1"]
    assert counts.seen == 5 and counts.unchanged == 1
    assert counts.skipped == {"unmapped": 1, "archived": 1, "untracked-type": 1}
    assert counts.notes == {"unchanged_after_hook": 1}


def test_product_index_skips_missing_and_ambiguous_reference_ids():  # R-REF-1
    counts = RunCounts()
    products = [WizProduct(id="p1", sku="A", reference_id="1"), WizProduct(id="p2", sku="B", reference_id=""),
                WizProduct(id="p3", sku="C", reference_id="3"), WizProduct(id="p4", sku="D", reference_id="3")]
    assert product_skus_by_reference(products, counts) == {"1": "A"}
    assert counts.notes == {"products_without_reference_id": 1, "products_with_ambiguous_reference_id": 1}


def _target(item_id: str, available: float, read_at: int = 0) -> InventoryWrite:
    return InventoryWrite(item_id, f"SKU-{item_id}", inventory_levels_from_sos(available, 0), read_at)


def test_a_pull_write_is_rechecked_when_the_hook_read_or_wrote_its_item_since_the_pull_read_it():
    read = 100 * 1_000_000  # the pull's page read, µs
    skew = READ_CLOCK_SKEW_US
    writes = [_target(str(n), 1, read) for n in range(1, 8)]
    activity = {
        "1": {"read_at": read + 1},                       # hook read after the pull: its value may be newer
        "2": {"read_at": read - skew - 1},                # long before, never wrote since: the pull's is newer
        "3": {"read_at": read - skew - 1, "wrote_at": read + 10},  # older read, but written after ours began
        "4": {"read_at": read - skew + 1},                # within the clocks' skew: cannot tell, recheck
        "5": {"read_at": read - 2 * skew, "wrote_at": read - skew - 1},  # all done before the pull read
        # "6": no hook activity at all; "7": below
        "7": {"wrote_at": read},
    }
    assert [w.record_id for w in overtaken_pull_writes(writes, activity)] == ["1", "3", "4", "7"]


def test_a_recheck_is_a_forced_reread_in_the_items_group_that_no_coalescing_window_absorbs():
    message = recheck_message(_target("42", 3, read_at=123))
    assert message["MessageGroupId"] == "42"
    assert message["MessageDeduplicationId"] == "42:recheck:123"
    assert InventoryHookMessage.model_validate_json(message["MessageBody"]) == \
        InventoryHookMessage(item_id=42, force_write=True)
    assert coalescing_message(42, 123.0, 10)["MessageDeduplicationId"] != message["MessageDeduplicationId"]


def _shown(target: InventoryWrite, **edits: object) -> str:
    """The digest of the record WizCommerce reads back after `target` was sent, edited by hand."""
    record = {**wiz_inventory(target.sku, target.levels).model_dump(mode="json"), "id": "invt_1",
              "product_id": "p1", "status": "active", "notes": "", **edits}
    del record["out_of_stock_threshold"]  # not in the inventory read (SDK InventoryResponse)
    return shown_inventory_digest(WizInventoryRecord.model_validate(record))


@given(available=quantities, on_po=quantities)
def test_what_wizcommerce_reads_back_after_our_write_matches_what_we_send(available, on_po):
    target = InventoryWrite("1", "SKU-1", inventory_levels_from_sos(available, on_po), read_at=0)
    body = wiz_inventory(target.sku, target.levels)
    assert _shown(target) == shown_inventory_digest(body)
    # Integers for whole floats and the detail date WizCommerce adds as null: the same values shown.
    as_read = {key: int(value) if isinstance(value, float) and value.is_integer() else value
               for key, value in body.model_dump(mode="json").items()}
    as_read["on_order_details"] = [{**entry, "date": None} for entry in as_read["on_order_details"]]
    assert _shown(target, **{k: v for k, v in as_read.items() if k != "out_of_stock_threshold"}) == _shown(target)


def test_any_field_we_send_edited_in_wizcommerce_is_seen():
    target = _target("1", 5)
    edits = [{"available_quantity": 6}, {"reserved_quantity": 1}, {"in_stock_quantity": 9},
             {"back_order_quantity": 1}, {"back_order_allowed": True}, {"inventory_status": "OUT_OF_STOCK"},
             {"track_inventory": False}, {"on_order_details": [{"quantity": 3, "identifier": SOS_ON_ORDER_IDENTIFIER}]},
             {"on_order_details": []}, {"in_transit_details": [{"quantity": 1, "identifier": "truck"}]},
             {"sku": "SKU-2"}]
    digests = {_shown(target, **edit) for edit in edits}
    assert len(digests) == len(edits) and _shown(target) not in digests
    two = [{"quantity": 3, "identifier": "A"}, {"quantity": 4, "identifier": "B"}]
    assert _shown(target, on_order_details=two) == _shown(target, on_order_details=two[::-1])  # order is not ours
    # What we do not send is not ours to compare.
    assert _shown(target, notes="counted by hand", status="inactive") == _shown(target)


def test_only_targets_wizcommerce_shows_otherwise_are_kept_and_unchanged_hook_items_are_noted():
    same, edited, missing, hooked = _target("1", 5), _target("2", 6), _target("3", 7), _target("4", 8)
    shown = {t.sku: _shown(t) for t in (same, hooked)} | {edited.sku: _shown(edited, available_quantity=1)}
    counts = RunCounts()
    differing = targets_wizcommerce_does_not_show([same, edited, missing, hooked], shown, {"4", "2"}, counts)
    assert differing == [edited, missing]
    assert counts.unchanged == 2 and counts.notes == {"unchanged_after_hook": 1}


def _pushed(target: InventoryWrite, at: str) -> dict:
    return {"sku": target.sku, "values": target.levels.as_dict(), "source": "pull", "pushed_at": at}


def test_differences_are_changes_when_sos_moved_and_drift_corrections_when_it_did_not():
    read_at = "2026-01-01T12:00:00+00:00"
    sos_moved, never_pushed, edited_in_wc, sku_moved, hook_after_read = (
        _target(str(n), 5) for n in range(1, 6))
    last_pushed = {
        "1": {**_pushed(sos_moved, "2026-01-01T10:00:00+00:00"), "values": _target("1", 4).levels.as_dict()},
        "3": _pushed(edited_in_wc, "2026-01-01T10:00:00+00:00"),
        "4": {**_pushed(sku_moved, "2026-01-01T10:00:00+00:00"), "sku": "OLD-SKU"},
        "5": _pushed(hook_after_read, "2026-01-01T12:00:01+00:00"),
    }
    counts = RunCounts()
    writes = writes_for_differences([sos_moved, never_pushed, edited_in_wc, sku_moved, hook_after_read],
                                    last_pushed, read_at, counts)
    assert [(w.record_id, w.corrects_drift) for w in writes] == [("1", False), ("2", False), ("3", True),
                                                                 ("4", False)]
    # Pushed after WizCommerce's list was read: the list is older than the push, not drift.
    assert counts.unchanged == 1 and counts.notes == {"pushed_after_wizcommerce_read": 1}
