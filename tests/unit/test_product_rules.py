"""Products SOS → WizCommerce: matched by Reference ID, then SKU; only differences written."""

from sos_wiz_sync.models.sos import SosItem
from sos_wiz_sync.models.wiz import WizProduct
from sos_wiz_sync.rules.products import ProductIndex, match_product, product_changes
from sos_wiz_sync.sync.products import plan_product_writes
from sos_wiz_sync.sync.report import RunCounts


def item(item_id: int, sku: str | None = "CHR-1", name: str = "Oak Chair", archived: bool = False) -> SosItem:
    return SosItem(id=item_id, sku=sku, name=name, archived=archived)


def product(product_id: str, reference_id: str = "", sku: str = "CHR-1", name: str = "Oak Chair",
            status: str = "active") -> WizProduct:
    return WizProduct(id=product_id, reference_id=reference_id, sku=sku, name=name, status=status)


def test_the_reference_id_wins_over_the_sku():
    linked, same_sku = product("p1", reference_id="7", sku="OLD-7"), product("p2", sku="CHR-1")
    assert match_product(item(7), ProductIndex.of([same_sku, linked])) == (linked, None)


def test_a_product_found_by_sku_is_linked_only_when_it_names_no_other_item():
    assert match_product(item(7), ProductIndex.of([product("p1")]))[0].id == "p1"
    assert match_product(item(7), ProductIndex.of([product("p1", reference_id="8")])) == (
        None, "sku-linked-to-another-item")


def test_two_products_claiming_one_item_are_left_to_a_person():
    index = ProductIndex.of([product("p1", reference_id="7", sku="A"), product("p2", reference_id="7", sku="B")])
    assert match_product(item(7), index) == (None, "ambiguous-reference-id")


def test_archiving_deactivates_but_a_product_switched_off_in_wc_stays_off():
    assert product_changes(item(7, archived=True), product("p1", reference_id="7")) == ({"status": "inactive"}, [])
    assert product_changes(item(7, archived=True, name="Old"), product("p1", reference_id="7", status="inactive")
                           ) == ({}, [])
    assert product_changes(item(7), product("p1", reference_id="7", status="inactive")) == ({}, [])


def test_what_the_api_cannot_write_is_a_hand_fix_naming_the_product_and_the_change():
    """The product PATCH only sets status to inactive: a renamed name or sku, or a missing
    Reference ID, is left to a person, told what to change where."""
    change, fixes = product_changes(item(7, sku="NEW-7", name="Walnut Chair"), product("p1", sku="OLD-7"))
    assert change == {}
    assert [fix.reason for fix in fixes] == ["product-reference-id-not-settable", "product-sku-not-settable",
                                             "product-name-not-settable"]
    assert all("WizCommerce product p1 (sku 'OLD-7')" in fix.action for fix in fixes)
    assert "Reference ID to 7" in fixes[0].action and "'NEW-7'" in fixes[1].action and "'Walnut Chair'" in fixes[2].action


def rows(*items: SosItem) -> list[tuple[SosItem, dict]]:
    return [(it, it.model_dump()) for it in items]


def test_the_plan_creates_in_the_documented_shape_deactivates_and_reports_hand_fixes():
    items = [item(1, sku="A", name="New"), item(2, sku="B"), item(3, sku="C", name="Renamed"), item(4, sku="D"),
             item(5, sku=None), item(6, sku="F", archived=True), item(7, sku="G", archived=True)]
    index = ProductIndex.of([product("p2", sku="B", reference_id=""), product("p3", sku="C", reference_id="3"),
                             product("p4", sku="D", reference_id="4"), product("p7", sku="G", reference_id="7")])
    counts = RunCounts()
    writes = plan_product_writes(rows(*items), index, counts)
    assert [(w.record_id, w.kind, w.product_id, w.fields) for w in writes] == [
        ("1", "create", None, {"group_code": "sos-item-1",
                               "variant": {"sku_id": "A", "reference_id": "1", "name": "New"}}),
        ("2", "hand-fix", "p2", {}),
        ("3", "hand-fix", "p3", {}),
        ("7", "deactivate", "p7", {"status": "inactive"}),
    ]
    assert [fix.reason for fix in writes[1].fixes] == ["product-reference-id-not-settable"]
    assert [fix.reason for fix in writes[2].fixes] == ["product-name-not-settable"]
    assert writes[2].row["id"] == 3  # kept pending with the fix
    assert (counts.seen, counts.unchanged, counts.skipped) == (7, 1, {"no-sku": 1, "archived": 1})
    assert counts.failed == {"product-reference-id-not-settable": 1, "product-name-not-settable": 1}
    assert {f["record_id"]: f["wc_id"] for f in counts.failures} == {"2": "p2", "3": "p3"}


def test_a_hand_fix_made_in_wizcommerce_is_resolved_on_the_next_comparison():
    index = ProductIndex.of([product("p3", sku="C", reference_id="3", name="Renamed")])
    writes = plan_product_writes(rows(item(3, sku="C", name="Renamed")), index, RunCounts(), frozenset({"3"}))
    assert [(w.kind, w.product_id) for w in writes] == [("resolved", "p3")]
