"""The entity pulls SOS → WizCommerce on the local runtime (template.yaml's PullFunction fed by
its schedules, the real push path taking the webhooks our writes cause), moto server and the
seeded emulators over HTTP: R-TIME-2, R-CUS-2, R-CUS-3, R-ORD-7, R-DOC-1, R-PAY-2, R-REF-3."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.emulators.sos import THROTTLE_FORMS
from pull_stack import PullStack, pull_stack  # noqa: F401 - fixture
from push_stack import started_push_stack

SHARED_EMAIL = "buyer@shared.example"


def snapshot(stack: PullStack) -> dict[str, dict]:
    """Every record of both systems with its change stamp: equal snapshots, nothing written."""
    sos, wiz = stack.sos, stack.wiz
    stores = {"sos.customers": sos.customers, "sos.orders": sos.sales_orders, "sos.invoices": sos.invoices,
              "sos.shipments": sos.shipments, "sos.payments": sos.payments, "wc.customers": wiz.customers,
              "wc.orders": wiz.orders, "wc.invoices": wiz.invoices, "wc.shipments": wiz.shipments}
    return {name: {key: record.get("syncToken") or record.get("updated_at") for key, record in store.items()}
            for name, store in stores.items()}


def existing_wc_record(stack: PullStack, create, *args, **fields) -> dict:
    """A WC record made before the integration was installed: its webhook was never sent to us."""
    record = create(*args, **fields)
    stack.push.new_events()
    return record


def test_first_sync_then_two_runs_link_everything_once_and_nothing_comes_back(pull_stack):
    stack = pull_stack
    sos, wiz = stack.sos, stack.wiz
    sos.configure(payment_endpoint=True)  # an account that answers /payment ([assumed] reading)
    items = stack.push.mapped_items()
    sos_only = stack.push.seeded["sos_only_customer_ids"]  # [8, 9]

    # Given what exists before the first sync: an SOS order WC shows under the SOS number
    # (unlinked), a WC customer known to SOS only by email, two SOS customers and a WC customer
    # sharing one email (ambiguous), and a WC order pushed (with an online payment) as usual.
    known = sos.create_sales_order(customer={"id": 1}, lines=stack.sos_lines(items[:2]))
    wc_known = existing_wc_record(stack, wiz.create_order, "cust_1", [
        {"product_id": stack.push.product_for_item(item)["id"], "quantity": 2, "unit_price": 10.0}
        for item in items[:2]], display_id=known["number"])
    by_email = existing_wc_record(stack, wiz.create_customer, name="Email Match Co",
                                  email=sos.customers[sos_only[1]]["email"])
    sos_name_of_matched = sos.customers[sos_only[1]]["name"]
    twins = [sos.create_customer(name=f"Twin {n}", email=SHARED_EMAIL) for n in (1, 2)]
    wc_twin = existing_wc_record(stack, wiz.create_customer, name="Twin", email=SHARED_EMAIL)
    pushed = stack.push.place_order(items[2:4])
    wiz.record_payment(pushed["id"], 5.0)
    # (the WC change poll waits for the first sync: the order is announced as a redelivery would)
    stack.push.send_to_push_queue(stack.push.change_message("order", pushed["id"], "before-first-sync"),
                                  f"order#{pushed['id']}")
    stack.push.sync()
    pushed_sos = stack.push.the_sos_order(pushed)
    # ... and in SOS: an order of an SOS-only customer, shipped and paid; the known order invoiced
    # and partly paid on its invoice; an order with an item WizCommerce has no product for.
    new = sos.create_sales_order(customer={"id": sos_only[0]}, lines=stack.sos_lines(items[4:6]))
    shipment = sos.create_shipment(new["id"], tracking_number="1Z999", shipping_method="UPS")
    sos.record_payment(15.0, order_id=new["id"])  # a deposit on the order
    invoice = sos.create_invoice(known["id"])
    sos.record_payment(12.5, invoice_id=invoice["id"])  # lowers the invoice's balance
    unmapped_item = stack.push.seeded["unmapped_item_ids"][0]
    waiting = sos.create_sales_order(customer={"id": 2}, lines=stack.sos_lines([items[6], unmapped_item]))
    waiting_invoice = sos.create_invoice(waiting["id"])

    # When the first scheduled entity run finds the first sync not done, it runs it first: nothing
    # may be created before it has matched what exists (R-TIME-2)
    customers = stack.run("customers")
    first = stack.state.recent_reports("first-sync", limit=1)[0]
    assert customers["status"] == "ok" and customers["started_at"] > first["finished_at"]
    # Then it links by Reference ID, then email / number, and holds what is ambiguous
    assert first["status"] == "ok"
    # (the customer of the pushed order was linked by that push already)
    assert first["notes"]["customer_linked_by_reference"] == stack.push.seeded["linked_customers"] - 1
    assert stack.mappings.by_wc("customer", by_email["id"]).sos_id == str(sos_only[1])
    assert stack.mappings.by_wc("order", wc_known["id"]).sos_id == str(known["id"])
    assert stack.mappings.by_wc("order", wc_known["id"]).origin == "sos"
    assert wiz.orders[wc_known["id"]]["reference_id"] == str(known["id"])
    assert [(a["sos_ids"], a["wc_ids"]) for a in first["ambiguous"]] == [
        ([str(twins[0]["id"]), str(twins[1]["id"])], [wc_twin["id"]])]
    assert {(h["side"], h["record_id"]) for h in stack.state.holds()} == {
        ("sos", str(twins[0]["id"])), ("sos", str(twins[1]["id"])), ("wc", wc_twin["id"])}

    # When the regular runs follow, and WizCommerce's webhooks for our writes go to the push path
    first_run = stack.run_all()
    assert {name: report["status"] for name, report in first_run.items()} == dict.fromkeys(first_run, "ok")

    # Then SOS-origin records are in WizCommerce once, linked; nothing else was created
    references = stack.wc_references(wiz.customers)
    assert all(n == 1 for n in references.values())
    assert references[str(sos_only[0])] == 1                       # created
    assert str(twins[0]["id"]) not in references and str(twins[1]["id"]) not in references  # held
    assert wiz.customers[by_email["id"]]["reference_id"] == str(sos_only[1])   # linked, not created again
    # ... SOS's data won (the first sync's own write to it came back as a webhook and was dropped)
    assert sos.customers[sos_only[1]]["name"] == sos_name_of_matched == wiz.customers[by_email["id"]]["name"]
    new_wc = next(o for o in wiz.orders.values() if o["reference_id"] == str(new["id"]))
    assert new_wc["customer_id"] == stack.mappings.by_sos("customer", sos_only[0]).wc_id
    assert [line["quantity"] for line in new_wc["line_items"]] == [2, 2]
    assert stack.wc_references(wiz.orders) == {str(known["id"]): 1, str(new["id"]): 1, str(pushed_sos["id"]): 1}
    # R-DOC-1: documents on their WC order (found through their linkedTransaction), the
    # shipment with tracking number and shipping method
    [wc_shipment] = wiz.shipments.values()
    assert wc_shipment["order_id"] == new_wc["id"] and wc_shipment["reference_id"] == str(shipment["id"])
    assert wc_shipment["tracking_info"]["tracking_number"] == "1Z999"
    assert wc_shipment["tracking_info"]["delivery_partner"] == "UPS"
    [wc_invoice] = wiz.invoices.values()
    assert wc_invoice["order_id"] == wc_known["id"] and wc_invoice["reference_id"] == str(invoice["id"])
    # R-PAY-2: SOS payments show as paid amounts (invoice balance, order deposit); the payment
    # we pushed is not pulled back
    assert (wc_invoice["paid_amount"], wc_invoice["status"]) == (12.5, "PARTIALLY_PAID")
    # (WC-A18: below paid in full, no payment_status is written; only "PAID" is documented)
    assert (wiz.orders[wc_known["id"]]["amount_paid"], wiz.orders[wc_known["id"]]["payment_status"]) == (12.5, None)
    assert (new_wc["amount_paid"], new_wc["payment_status"]) == (15.0, None)
    # (SOS has the pushed 5.00 on the order: WC shows it once, never added to itself)
    assert wiz.orders[pushed["id"]]["amount_paid"] == 5.0
    assert "payment_endpoint_missing" not in first_run["payments"]["gauges"]  # this account answers it
    # R-DOC-1: the order with an item WC lacks, and its invoice, wait with their reasons
    pending = {(p["entity"], p["sos_id"]): p["reason"] for p in stack.state.pending()}
    assert set(pending) == {("order", str(waiting["id"])), ("invoice", str(waiting_invoice["id"])),
                            ("customer", str(twins[0]["id"])), ("customer", str(twins[1]["id"]))}  # held
    assert str(unmapped_item) in pending[("order", str(waiting["id"]))]
    assert "not in WizCommerce yet" in pending[("invoice", str(waiting_invoice["id"]))]
    assert stack.state.history("order", str(waiting["id"]))[0]["action"] == "kept-pending"  # what ops trace shows
    # R-CUS-2: the WC-only customers reached SOS through the push path, the held one did not
    seed_wc_only = stack.push.seeded["wiz_only_customer_ids"]
    assert all(stack.mappings.by_wc("customer", wc_id) for wc_id in seed_wc_only)
    assert stack.mappings.by_wc("customer", wc_twin["id"]) is None
    assert first_run["reconciliation"]["skipped"] == {"held-ambiguous-first-sync-match": 1}

    # When everything runs again
    before = snapshot(stack)
    second_run = stack.run_all()
    # Then nothing is written anywhere: no duplicate, no echo, no ping-pong
    assert snapshot(stack) == before
    assert {name: report["changed"] for name, report in second_run.items()} == dict.fromkeys(second_run, 0)

    # When the missing product gets its Reference ID, the waiting order and its invoice follow
    wiz.create_product(sku="NEW-1", name="New", reference_id=str(unmapped_item))
    third_run = stack.run_all()
    # (the invoice is unpaid: its order's amount_paid has nothing to take from it)
    assert third_run["orders"]["changed"] == 1 and third_run["invoices"]["changed"] == 1
    assert {p["entity"] for p in stack.state.pending()} == {"customer"}  # only the held twins wait
    waiting_wc = stack.mappings.by_sos("order", waiting["id"]).wc_id
    assert next(i for i in wiz.invoices.values() if i["reference_id"] == str(waiting_invoice["id"]))[
        "order_id"] == waiting_wc


def test_sos_edits_reach_wc_once_and_pushed_orders_stay_where_they_are_edited(pull_stack):
    stack = pull_stack
    sos, wiz = stack.sos, stack.wiz
    items = stack.push.mapped_items()
    stack.first_sync()
    pushed = stack.push.place_order(items[:1])
    stack.push.sync()
    pushed_sos = stack.push.the_sos_order(pushed)
    pulled = sos.create_sales_order(customer={"id": 3}, lines=stack.sos_lines(items[1:2]))
    stack.run_all()
    pulled_wc = stack.mappings.by_sos("order", pulled["id"]).wc_id

    # When SOS users edit both orders and a customer
    sos.update_sales_order(pushed_sos["id"], comment="packed by SOS")
    sos.update_sales_order(pulled["id"], lines=stack.sos_lines(items[1:2], quantity=5))
    sos.update_customer(3, phone="+1-555-000-0000")
    pushed_as_it_was = wiz.orders[pushed["id"]]["updated_at"]
    reports = stack.run_all()

    # Then the SOS-origin order and the customer change in WC; the pushed order does not (R-ORD-7)
    assert [line["quantity"] for line in wiz.orders[pulled_wc]["line_items"]] == [5]
    assert wiz.customers[stack.mappings.by_sos("customer", 3).wc_id]["phone"] == "+1-555-000-0000"
    assert wiz.orders[pushed["id"]]["updated_at"] == pushed_as_it_was
    assert reports["orders"]["skipped"] == {"pushed-from-wc": 1}
    # ... and the webhooks those writes caused were dropped by the push as our echo: SOS kept its edits
    assert sos.sales_orders[pulled["id"]]["lines"][0]["quantity"] == 5
    assert sos.customers[3]["phone"] == "+1-555-000-0000"
    assert len(sos.sales_orders) == 2


def test_an_order_whose_customer_is_not_in_wc_yet_brings_it_along(pull_stack):
    stack = pull_stack
    sos, wiz = stack.sos, stack.wiz
    stack.first_sync()
    customer = sos.create_customer(name="Walk-in Hardware", email="walkin@example.com")
    order = sos.create_sales_order(customer={"id": customer["id"]},
                                   lines=stack.sos_lines(stack.push.mapped_items()[:1]))

    report = stack.run("orders")  # before the customers stream has seen the customer

    assert report["changed"] == 1 and report["notes"] == {"customers_pulled_with_their_order": 1}
    wc_customer = stack.mappings.by_sos("customer", customer["id"]).wc_id
    assert wiz.orders[stack.mappings.by_sos("order", order["id"]).wc_id]["customer_id"] == wc_customer
    # The customers stream then finds it linked and up to date: it creates only the seed's
    # SOS-only customers, not a second one of this
    assert stack.run("customers")["changed"] == len(stack.push.seeded["sos_only_customer_ids"])
    assert stack.wc_references(wiz.customers)[str(customer["id"])] == 1


def test_an_ambiguous_match_is_resolved_by_the_reference_id_an_operator_sets(pull_stack):
    stack = pull_stack
    sos, wiz = stack.sos, stack.wiz
    twins = [sos.create_customer(name=f"Twin {n}", email=SHARED_EMAIL) for n in (1, 2)]
    wc_twin = existing_wc_record(stack, wiz.create_customer, name="Twin", email=SHARED_EMAIL)
    stack.first_sync()
    assert stack.run("customers")["skipped"] == {"held-ambiguous-first-sync-match": 4}  # kept pending and paged
    # kept pending, and paged again: the window overlaps the previous run by a margin
    assert stack.run("customers")["skipped"] == {"held-ambiguous-first-sync-match": 4}

    # When the operator links the WC customer to the first twin (quietly, as an import would)
    # and releases the second, which is a customer of its own
    existing_wc_record(stack, wiz.update_customer, wc_twin["id"], reference_id=str(twins[0]["id"]))
    assert stack.state.release_hold("customer", "sos", str(twins[1]["id"]))
    report = stack.run("customers")

    # Then the first is adopted and brought up to SOS's data (its hold ends), the second created;
    # one WC customer each
    assert report["changed"] == 2 and report["skipped"] == {}
    assert wiz.customers[wc_twin["id"]]["name"] == "Twin 1"
    assert stack.mappings.by_sos("customer", twins[0]["id"]).wc_id == wc_twin["id"]
    references = stack.wc_references(wiz.customers)
    assert references[str(twins[0]["id"])] == references[str(twins[1]["id"])] == 1
    assert {(h["side"], h["record_id"]) for h in stack.state.holds()} == {("wc", wc_twin["id"])}


def test_reconciliation_pushes_what_webhooks_missed_through_the_push_path_once(pull_stack):
    stack = pull_stack
    wiz, items = stack.wiz, stack.push.mapped_items()
    stack.first_sync()
    # Given confirmed WC orders whose webhooks never arrived, one of them unpushable (R-REF-2), and a draft
    missed = existing_wc_record(stack, stack.push.place_order, items[:1])
    draft = existing_wc_record(stack, stack.push.place_order, items[1:2], status="draft")
    no_reference = wiz.create_product(sku="NOREF-1", name="No Reference ID")
    broken = existing_wc_record(stack, wiz.create_order, "cust_2",
                                [{"product_id": no_reference["id"], "quantity": 1, "unit_price": 5.0}])

    first = stack.run("reconciliation")
    stack.push.sync()

    # Then the missed order is in SOS once, linked; the draft is not; the broken one is parked
    assert first["changed"] == len(stack.push.seeded["wiz_only_customer_ids"]) + 2
    [sos_order] = stack.push.sos_orders_numbered(f"WC-{missed['display_id']}")
    assert stack.mappings.by_wc("order", missed["id"]).sos_id == str(sos_order["id"])
    assert stack.push.sos_orders_numbered(f"WC-{draft['display_id']}") == []
    assert stack.state.get_failure("order", broken["id"])["status"] == "open"
    # ... and the next run sends nothing again: linked, or waiting for an operator
    again = stack.run("reconciliation")
    assert again["changed"] == 0 and again["skipped"] == {"open-push-failure": 1}
    assert len(stack.push.sos_orders_numbered(f"WC-{missed['display_id']}")) == 1


@pytest.fixture(params=["deposit", "payment"])
def payment_route_stack(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[PullStack]:
    """The pull stack with PaymentRoute set to each value."""
    push = started_push_stack(monkeypatch, first_sync_done=False,
                              parameters={"ReconciliationLagSeconds": "0", "PaymentRoute": request.param})
    yield PullStack(push)
    push.stop()


def test_payments_pull_from_balances_and_deposits_and_probes_payment_only_on_its_route(payment_route_stack):
    """SOS-A11: on the deposit route (the default) /payment is never called; on the payment
    route it is probed and, where it answers 404, the run report says so."""
    stack = payment_route_stack
    route = stack.runtime.functions["PullFunction"].environment["PAYMENT_ROUTE"]
    sos, wiz = stack.sos, stack.wiz
    sos.configure(payment_endpoint=False)  # the documented API: no /payment
    stack.first_sync()
    order = sos.create_sales_order(customer={"id": 3}, lines=stack.sos_lines(stack.push.mapped_items()[:2]))
    stack.run_all()
    wc_id = stack.mappings.by_sos("order", order["id"]).wc_id
    assert wiz.orders[wc_id]["amount_paid"] == 0

    # When the order takes a deposit in SOS: the payments stream sees the order change
    sos.record_payment(10.0, order_id=order["id"])
    reports = stack.run_all()
    assert (wiz.orders[wc_id]["amount_paid"], wiz.orders[wc_id]["payment_status"]) == (10.0, None)  # WC-A18
    assert reports["payments"]["status"] == "ok"
    if route == "deposit":
        assert reports["payments"]["gauges"] == {} and "GET /api/v2/payment" not in sos.counters()
    else:
        assert reports["payments"]["gauges"] == {"payment_endpoint_missing": 1}
        assert sos.counters()["GET /api/v2/payment"] >= 1

    # When it is invoiced and the invoice paid in full (the order itself is not written again)
    invoice = sos.create_invoice(order["id"])
    stack.run_all()
    sos.record_payment(invoice["total"], invoice_id=invoice["id"])
    reports = stack.run_all()
    wc_invoice = next(i for i in wiz.invoices.values() if i["reference_id"] == str(invoice["id"]))
    assert (wc_invoice["paid_amount"], wc_invoice["status"]) == (invoice["total"], "PAID")
    assert (wiz.orders[wc_id]["amount_paid"], wiz.orders[wc_id]["payment_status"]) == (invoice["total"], "PAID")
    assert reports["invoices"]["notes"]["order_payments_updated"] == 1
    # ... and once more: everything read again in the overlapping window, nothing written twice
    assert {name: r["changed"] for name, r in stack.run_all().items()} == dict.fromkeys(reports, 0)


@pytest.mark.parametrize("form", ["none", *THROTTLE_FORMS])
def test_a_throttle_in_any_form_at_a_single_record_read_ends_as_a_pass_without_it(pull_stack, form):
    """Issue 19: the orders pull reads the customer of an order WizCommerce does not know yet
    (`GET /customer/{id}`); a throttle in every documented form there ends in the result of no
    throttle ("none", held to the same assertions): order and customer in WC, linked."""
    stack = pull_stack
    sos, wiz = stack.sos, stack.wiz
    stack.first_sync()
    customer_id = stack.push.seeded["sos_only_customer_ids"][0]
    assert stack.mappings.by_sos("customer", customer_id) is None  # the orders pull reads it
    order = sos.create_sales_order(customer={"id": customer_id}, lines=stack.sos_lines(stack.push.mapped_items()[:2]))
    if form != "none":
        sos.inject_throttle(1, **THROTTLE_FORMS[form], method="GET", path=f"/api/v2/customer/{customer_id}")
    sos.reset_counters()
    report = stack.run("orders")
    assert sos.faulted_counters() == ({} if form == "none" else {"GET /api/v2/customer/{id}": 1})
    # one pass, the throttled read repeated once: not a crashed invocation redone from its message
    assert sos.counters() == {"GET /api/v2/salesorder": 1, "GET /api/v2/customer/{id}": 1 if form == "none" else 2}
    assert report["status"] == "ok" and report["failed"] == {}
    wc_order = wiz.orders[stack.mappings.by_sos("order", order["id"]).wc_id]
    assert wc_order["customer_id"] == stack.mappings.by_sos("customer", customer_id).wc_id
    assert stack.run("orders")["changed"] == 0


def test_a_second_customers_pull_with_nothing_changed_in_sos_patches_nothing(pull_stack):
    """WC-A17: reads carry `name`, writes `company_name`: compared like with like, a customer
    whose SOS company name differs from its name is written once, not again at each later read
    (here: SOS edited a field WizCommerce does not show, so the pull compares it again)."""
    stack = pull_stack
    sos, wiz = stack.sos, stack.wiz
    stack.first_sync()
    harbor = sos.create_customer(name="Harbor Tools", companyName="Harbor Tools Holdings LLC", email="buy@harbor.example",
                        contact={"firstName": "Ada", "lastName": "Moss"})
    first = stack.run("customers")
    assert first["changed"] >= 1
    created = next(c for c in wiz.customers.values() if c["name"] == "Harbor Tools Holdings LLC")
    assert (created["display_name"], created["first_name"], created["email"]) == (
        "Harbor Tools", "Ada", "buy@harbor.example")
    wiz.reset_counters()
    sos.update_customer(harbor["id"], notes="called on Monday")  # a new SOS version, nothing WC shows
    again = stack.run("customers")
    assert again["changed"] == 0 and again["seen"] >= 1
    assert not wiz.counters().get("PATCH /v1/customers/{id}") and not wiz.counters().get("POST /v1/customers")
