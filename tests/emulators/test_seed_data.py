"""Seed data: consistent across the two emulators, deterministic, and fast at 100,000 items."""

from __future__ import annotations


import requests

from local.emulators import SosEmulator, WizEmulator, seed


def seeded(items: int = 1000, **params: object) -> tuple[SosEmulator, WizEmulator, dict]:
    sos, wiz = SosEmulator(), WizEmulator()
    return sos, wiz, seed(sos, wiz, items=items, **params)


def test_products_and_items_agree_by_reference_id_and_sku() -> None:
    sos, wiz, summary = seeded()
    unmapped = set(summary["unmapped_item_ids"])
    without_reference = set(summary["products_without_reference_item_ids"])
    assert len(unmapped) == 30 and len(without_reference) == 10 and summary["kits"] == 20
    assert len(wiz.products) == len(sos.items) - len(unmapped)

    by_sku = {item["sku"]: item for item in sos.items.values()}
    for product in wiz.products.values():
        item = by_sku[product["sku"]]
        assert item["id"] not in unmapped
        assert product["reference_id"] == ("" if item["id"] in without_reference else str(item["id"]))
        assert wiz.inventories[product["sku"]]["product_id"] == product["id"]


def test_the_seed_covers_the_awkward_cases() -> None:
    sos, wiz, summary = seeded()
    items = list(sos.items.values())
    assert all(item["onhand"] == 0 for item in items if item["type"] == "Kit")
    assert any(item["available"] > 0 for item in items if item["type"] == "Kit")
    assert any(isinstance(item["onhand"], float) and not item["onhand"].is_integer() for item in items)
    assert any(item["onPO"] > 0 for item in items)
    assert sum(item["archived"] for item in items) == len(summary["archived_item_ids"]) == 10
    assert [loc["nonNettable"] for loc in sos.locations.values()].count(True) == 1
    assert len(sos.sales_reps) == len(wiz.sales_reps) and len(sos.price_tiers) == len(wiz.price_lists)


def test_customers_exist_in_both_systems_or_in_one() -> None:
    sos, wiz, summary = seeded(customers=20)
    linked = [c for c in wiz.customers.values() if c["reference_id"]]
    assert len(linked) == summary["linked_customers"] == 12
    for customer in linked:
        assert sos.customers[int(customer["reference_id"])]["name"] == customer["name"]
    referenced = {int(c["reference_id"]) for c in linked}
    assert set(summary["sos_only_customer_ids"]) == set(sos.customers) - referenced
    assert set(summary["wiz_only_customer_ids"]) == {c["id"] for c in wiz.customers.values() if not c["reference_id"]}


def test_the_same_seed_gives_the_same_data_and_another_seed_does_not() -> None:
    first, second, third = seeded(seed=7), seeded(seed=7), seeded(seed=8)
    assert list(first[0].items.values()) == list(second[0].items.values())
    assert list(first[1].customers.values()) == list(second[1].customers.values())
    assert list(first[0].items.values()) != list(third[0].items.values())


def test_each_emulator_seeded_over_http_agrees_with_the_other() -> None:
    sos, wiz = SosEmulator(), WizEmulator()
    with sos, wiz:
        params = {"items": 300, "customers": 5, "seed": 3}
        sos_summary = requests.post(f"{sos.url}/_admin/seed", json=params, timeout=30).json()
        wiz_summary = requests.post(f"{wiz.url}/_admin/seed", json=params, timeout=30).json()
        assert sos_summary == wiz_summary
        reference, expected = seeded(**params)[:2]
        assert list(sos.items.values()) == list(reference.items.values())
        assert list(wiz.products.values()) == list(expected.products.values())
        assert requests.post(f"{sos.url}/_admin/seed", json={"itemz": 1}, timeout=10).status_code == 400


def test_the_benchmark_size_seeds_completely() -> None:
    # How fast it seeds is the benchmark's business (benchmarks/), not a timed unit test's.
    sos, wiz, _ = seeded(items=100_000)
    assert len(sos.items) == 100_000 and len(wiz.products) == 97_000
    assert len(sos.items.ordered()) == 100_000
