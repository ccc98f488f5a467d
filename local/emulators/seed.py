"""Seed data for both emulators, consistent across them and deterministic by `seed`.

SOS gets items (stock, non-stock, services, assemblies, kits; some archived, some with
fractional quantities, some on purchase order), three locations (one non-nettable), sales
reps, price tiers and customers. WizCommerce gets the matching products (`reference_id` =
SOS item id as a string, same sku) except for the unmapped items, some products without a
Reference ID, inventories as a previous sync would have left them (a tenth of them since
gone stale), the same sales reps, one price list per tier, and customers: most linked to
their SOS customer by `reference_id`, some only in one system.

Only the records depend on `seed`, not the wall clock (stamps are fixed in 2025), so the
two emulators can be seeded separately, e.g. by `POST /_admin/seed` on each, and agree.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from .values import format_stamp, kit_available, parse_stamp

if TYPE_CHECKING:
    from .sos import SosEmulator
    from .wiz import WizEmulator

ANCHOR = parse_stamp("2025-01-01T00:00:00Z")
SPAN = 300 * 86_400 * 1_000_000  # seeded records were last changed within 300 days of ANCHOR
STALE_INVENTORY_FRACTION = 0.1
LINKED_CUSTOMERS, SOS_ONLY_CUSTOMERS = 0.6, 0.2  # the rest exist in WizCommerce only
OTHER_TYPES = (("Service", 0.02), ("Non-inventory", 0.03), ("Assembly", 0.05), ("Labor", 0.005), ("Other", 0.005))

CATEGORIES = (  # (sku prefix, noun, sold in fractions)
    ("CHR", "Chair", False), ("TBL", "Table", False), ("LMP", "Lamp", False), ("RUG", "Rug", False),
    ("SHF", "Shelf", False), ("FAB", "Fabric", True), ("CBL", "Cable", True), ("BLT", "Bolt Pack", False),
    ("CUP", "Mug", False), ("TWL", "Towel", False), ("CND", "Candle", False), ("PNT", "Paint", True),
)
ADJECTIVES = ("Classic", "Modern", "Rustic", "Compact", "Deluxe", "Heavy-Duty", "Slim", "Vintage", "Coastal", "Urban")
MATERIALS = ("Oak", "Walnut", "Steel", "Brass", "Linen", "Cotton", "Bamboo", "Glass", "Ceramic", "Copper")
VARIANTS = ("Small", "Medium", "Large", "XL", "Black", "White", "Sage", "Navy", "Sand", "Charcoal")
SALES_REPS = (("Dana", "Whitfield"), ("Marco", "Alvarez"), ("Priya", "Natarajan"), ("Tom", "Becker"))
PRICE_TIERS = ("Retail", "Wholesale", "Distributor")
LOCATIONS = (("Main Warehouse", False), ("Overflow Warehouse", False), ("Returns & Quarantine", True))  # nonNettable
COMPANY_WORDS = (("Acme", "Blue Ridge", "Cedar", "Summit", "Harbor", "Pioneer", "Lakeside", "Northwind", "Redwood",
                  "Juniper"), ("Trading", "Supply", "Interiors", "Outfitters", "Home", "Hardware", "Design Co."))
FIRST_NAMES = ("Alex", "Jordan", "Sam", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn")
LAST_NAMES = ("Nguyen", "Smith", "Garcia", "Johnson", "Okafor", "Kowalski", "Tanaka", "Schmidt", "Rossi", "Haddad")
PLACES = (("Portland", "OR", "97205"), ("Austin", "TX", "78701"), ("Denver", "CO", "80202"),
          ("Raleigh", "NC", "27601"), ("Madison", "WI", "53703"), ("Sacramento", "CA", "95814"))
STREETS = ("Maple", "Oak", "Pine", "Cedar", "Elm", "Lake", "Hill", "Main", "Park", "River")


def seed(sos: SosEmulator | None = None, wiz: WizEmulator | None = None, *, items: int = 1000,
         kits_fraction: float = 0.02, archived_fraction: float = 0.01, unmapped_fraction: float = 0.03,
         products_without_reference_fraction: float = 0.01, customers: int = 50, seed: int = 42) -> dict:
    """Replace the records of `sos` and/or `wiz` with seed data; returns a summary with the
    ids tests care about (unmapped items, products without Reference ID, customer split)."""
    data = _SeedBuilder(random.Random(seed), items=items, kits_fraction=kits_fraction,
                        archived_fraction=archived_fraction, unmapped_fraction=unmapped_fraction,
                        products_without_reference_fraction=products_without_reference_fraction,
                        customers=customers).build()
    if sos is not None:
        sos.reset()
        sos.load(**data["sos"])
    if wiz is not None:
        wiz.reset()
        wiz.load(**data["wiz"])
    return {"seed": seed, **data["summary"]}


class _SeedBuilder:
    def __init__(self, rng: random.Random, *, items: int, kits_fraction: float, archived_fraction: float,
                 unmapped_fraction: float, products_without_reference_fraction: float, customers: int):
        self.rng = rng
        self.item_count = items
        self.fractions = (kits_fraction, archived_fraction, unmapped_fraction, products_without_reference_fraction)
        self.customer_count = customers

    def stamp(self) -> str:
        return format_stamp(ANCHOR + self.rng.randrange(SPAN))

    def pick(self, population: list[int], fraction: float) -> set[int]:
        return set(self.rng.sample(population, min(len(population), round(self.item_count * fraction))))

    def build(self) -> dict[str, Any]:
        first = format_stamp(ANCHOR)
        sos: dict[str, Any] = {
            "locations": [{"id": n, "syncToken": 1, "name": name, "nonNettable": non_nettable,
                           "defaultLocation": n == 1, "binTracking": False, "address": None, "_modified": first}
                          for n, (name, non_nettable) in enumerate(LOCATIONS, start=1)],
            "sales_reps": [{"id": n, "syncToken": 1, "firstName": given, "lastName": family, "commissionRate": 0,
                            "user": None, "_modified": first}
                           for n, (given, family) in enumerate(SALES_REPS, start=1)],
            "price_tiers": [{"id": n, "syncToken": 1, "name": name, "percentDiscount": 0, "flatDiscount": 0,
                             "_modified": first}
                            for n, name in enumerate(PRICE_TIERS, start=1)],
        }
        wiz: dict[str, Any] = {
            "sales_reps": [{"id": f"rep_{n}", "first_name": given, "last_name": family,
                            "email": f"{given}.{family}@seller.example".lower(), "status": "active",
                            "created_at": first, "updated_at": first}
                           for n, (given, family) in enumerate(SALES_REPS, start=1)],
            "price_lists": [{"id": f"pl_{n}", "reference_id": "", "name": f"{name} Catalog", "status": "active",
                             "created_at": first, "updated_at": first}
                            for n, name in enumerate(PRICE_TIERS, start=1)],
        }
        summary: dict[str, Any] = {}
        self.items(sos, wiz, summary)
        self.customers(sos, wiz, summary)
        return {"sos": sos, "wiz": wiz, "summary": summary}

    def items(self, sos: dict, wiz: dict, summary: dict) -> None:
        rng = self.rng
        kits_fraction, archived_fraction, unmapped_fraction, no_reference_fraction = self.fractions
        ids = list(range(1, self.item_count + 1))
        kits = self.pick(ids, kits_fraction)
        stock_ids = [item_id for item_id in ids if item_id not in kits]
        archived = self.pick(ids, archived_fraction)
        unmapped = self.pick(ids, unmapped_fraction)
        no_reference = self.pick([item_id for item_id in ids if item_id not in unmapped], no_reference_fraction)

        records: dict[int, dict] = {}
        kit_components: dict[int, list[tuple[int, float]]] = {}
        for item_id in ids:
            code, noun, fractional = rng.choice(CATEGORIES)
            adjective, material, variant = rng.choice(ADJECTIVES), rng.choice(MATERIALS), rng.choice(VARIANTS)
            name = f"{adjective} {material} {noun} - {variant}"
            record = {"id": item_id, "name": name, "fullname": f"{noun}s:{name}", "sku": f"{code}-{10000 + item_id}",
                      "description": f"{adjective} {material.lower()} {noun.lower()}, {variant.lower()}",
                      "type": "Kit" if item_id in kits else self.item_type(),
                      "category": None, "onhand": 0, "available": 0, "onSO": 0, "onSR": 0, "onPO": 0, "onWO": 0,
                      "onRMA": 0, "rented": 0, "salesPrice": round(rng.uniform(1.5, 900), 2),
                      "archived": item_id in archived, "syncToken": 1, "_modified": self.stamp()}
            record["baseSalesPrice"], record["minimumPrice"], record["priceTiers"] = record["salesPrice"], None, []
            if record["type"] in ("Inventory Item", "Assembly"):
                self.quantities(record, fractional)
            elif item_id in kits:
                kit_components[item_id] = [(component, rng.randint(1, 4))
                                           for component in rng.sample(stock_ids, rng.randint(2, 3))]
            records[item_id] = record
        for kit_id, parts in kit_components.items():  # components' stock items made above; kits hold none
            records[kit_id]["available"] = kit_available((records[c]["available"], per) for c, per in parts)
        sos["items"] = list(records.values())
        sos["kit_components"] = kit_components

        wiz["products"], wiz["inventories"] = [], []
        for item in sos["items"]:
            if item["id"] in unmapped:
                continue
            product_id = f"prod_{len(wiz['products']) + 1}"
            changed = item["_modified"]
            wiz["products"].append({
                "id": product_id, "reference_id": "" if item["id"] in no_reference else str(item["id"]),
                "sku": item["sku"], "name": item["name"], "group_code": item["sku"], "is_primary": True,
                "attributes": [], "status": "inactive" if item["archived"] else "active",
                "created_at": changed, "updated_at": changed})
            wiz["inventories"].append(self.inventory(item, product_id, changed))

        summary["sos_items"] = len(sos["items"])
        summary["kits"] = len(kits)
        summary["archived_item_ids"] = sorted(archived)
        summary["unmapped_item_ids"] = sorted(unmapped)
        summary["products"] = len(wiz["products"])
        summary["products_without_reference_item_ids"] = sorted(no_reference)

    def item_type(self) -> str:
        draw = self.rng.random()
        for name, share in OTHER_TYPES:
            if draw < share:
                return name
            draw -= share
        return "Inventory Item"

    def quantities(self, record: dict, fractional: bool) -> None:
        rng = self.rng
        places = 2 if fractional else None  # None: round() gives an int
        onhand = 0 if rng.random() < 0.1 else round(rng.uniform(0.5, 300), 2) if fractional else rng.randint(1, 500)
        committed = round(onhand * rng.random() * 0.3, places)
        record.update(onhand=onhand, available=round(onhand - committed, places), onSO=committed,
                      onPO=rng.randint(5, 400) if rng.random() < 0.3 else 0,
                      onWO=rng.randint(0, 20) if record["type"] == "Assembly" else 0)

    def inventory(self, item: dict, product_id: str, changed: str) -> dict:
        """What a previous sync would have written (R-INV-1..3), a tenth of it since gone stale."""
        available, on_po = item["available"], item["onPO"]
        if self.rng.random() < STALE_INVENTORY_FRACTION:
            available = max(0, available + self.rng.randint(-20, 20))
        sellable = max(0, available - on_po)
        return {"id": f"invt_{item['id']}", "sku": item["sku"], "product_id": product_id, "status": "active",
                "available_quantity": sellable,
                "back_order_quantity": max(0, min(available, on_po)), "back_order_allowed": on_po > 0,
                "on_order_details": [{"quantity": on_po, "date": None, "identifier": "SOS"}] if on_po else [],
                "in_stock_quantity": max(0, item["onhand"]), "reserved_quantity": 0,
                "inventory_status": "IN_STOCK" if sellable > 0 else "BACK_ORDER" if on_po else "OUT_OF_STOCK",
                "track_inventory": True, "out_of_stock_threshold": 0, "in_transit_details": [],
                "created_at": changed, "updated_at": changed}

    def customers(self, sos: dict, wiz: dict, summary: dict) -> None:
        rng = self.rng
        linked = round(self.customer_count * LINKED_CUSTOMERS)
        sos_only = round(self.customer_count * SOS_ONLY_CUSTOMERS)
        sos["customers"], wiz["customers"] = [], []
        for n in range(1, self.customer_count + 1):
            given, family = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            company = f"{rng.choice(COMPANY_WORDS[0])} {rng.choice(COMPANY_WORDS[1])} #{n}"
            email = f"{given}.{family}@{company.split()[0]}{n}.example".lower()
            phone = f"+1-555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
            city, state, postal = rng.choice(PLACES)
            line1 = f"{rng.randint(1, 9999)} {rng.choice(STREETS)} St"
            rep, tier = rng.randint(1, len(SALES_REPS)), rng.randint(1, len(PRICE_TIERS))
            changed = self.stamp()
            in_sos, in_wiz = n <= linked + sos_only, n <= linked or n > linked + sos_only
            if in_sos:
                address = {"line1": line1, "line2": None, "line3": None, "line4": None, "line5": None,
                           "city": city, "stateProvince": state,
                           "postalCode": postal, "country": "US"}
                sos["customers"].append({
                    "id": len(sos["customers"]) + 1, "syncToken": 1, "name": company, "fullname": company,
                    "companyName": company, "email": email, "phone": phone, "mobile": None,
                    "contact": {"title": None, "firstName": given, "middleName": None, "lastName": family,
                                "suffix": None},
                    "billing": address, "shipping": dict(address), "altAddresses": [], "notes": "",
                    "salesRep": {"id": rep, "name": " ".join(SALES_REPS[rep - 1])},
                    "priceTier": {"id": tier, "name": PRICE_TIERS[tier - 1]}, "terms": None, "paymentMethod": None,
                    "customFields": [], "archived": False, "_modified": changed})
            if in_wiz:
                number = len(wiz["customers"]) + 1
                addresses = [{"id": f"addr_{number}_{kind}", "reference_id": "", "type": kind, "is_default": True,
                              "first_name": given, "last_name": family, "address_line_1": line1,
                              "address_line_2": None, "city": city, "state": state, "country": "US",
                              "zip_code": postal, "phone": phone, "email": email} for kind in ("billing", "shipping")]
                rep_given, rep_family = SALES_REPS[rep - 1]
                wiz["customers"].append({
                    "id": f"cust_{number}", "reference_id": str(sos["customers"][-1]["id"]) if in_sos else "",
                    "display_id": f"C-{number:05d}", "name": company, "display_name": company,
                    "first_name": given, "last_name": family, "email": email,
                    "phone": phone, "status": "active", "payment_term": "Net 30",
                    "assigned_sales_reps": [{"id": f"rep_{rep}", "email": f"{rep_given}.{rep_family}@seller.example"
                                             .lower(), "first_name": rep_given, "last_name": rep_family}],
                    "assigned_price_list": {"id": f"pl_{tier}", "name": f"{PRICE_TIERS[tier - 1]} Catalog"},
                    "addresses": addresses, "contacts": [{
                        "id": f"cont_{number}", "reference_id": "", "first_name": given, "last_name": family,
                        "email": email, "phone": phone, "designation": None, "is_default": True}],
                    "created_at": changed, "updated_at": changed})
        summary["linked_customers"] = linked
        summary["sos_only_customer_ids"] = [c["id"] for c in sos["customers"][linked:]]
        summary["wiz_only_customer_ids"] = [c["id"] for c in wiz["customers"][linked:]]
