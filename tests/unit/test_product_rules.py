"""Products SOS → WizCommerce: matched by Reference ID, then SKU; only differences written."""

from sos_wiz_sync.models.sos import SosItem
from sos_wiz_sync.models.wiz import WizProduct
from sos_wiz_sync.rules.products import ProductIndex, match_product, product_changes
from sos_wiz_sync.sync.products import ProductWrite, plan_product_writes
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
    assert product_changes(item(7, archived=True), product("p1", reference_id="7")) == {"status": "inactive"}
    assert product_changes(item(7), product("p1", reference_id="7", status="inactive")) == {}


def test_the_plan_creates_links_updates_and_skips_with_reasons():
    items = [item(1, sku="A", name="New"), item(2, sku="B"), item(3, sku="C", name="Renamed"), item(4, sku="D"),
             item(5, sku=None), item(6, sku="F", archived=True)]
    index = ProductIndex.of([product("p2", sku="B", reference_id=""), product("p3", sku="C", reference_id="3"),
                             product("p4", sku="D", reference_id="4")])
    counts = RunCounts()
    writes = plan_product_writes(items, index, counts)
    assert writes == [
        ProductWrite("1", None, {"reference_id": "1", "sku": "A", "name": "New", "status": "active"}),
        ProductWrite("2", "p2", {"reference_id": "2"}),
        ProductWrite("3", "p3", {"name": "Renamed"}),
    ]
    assert (counts.seen, counts.unchanged, counts.skipped) == (6, 1, {"no-sku": 1, "archived": 1})
