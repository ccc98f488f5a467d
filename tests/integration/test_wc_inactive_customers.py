"""WC-A16: customer lists show only `active` unless `status` is given. An inactive WizCommerce
customer already carrying the SOS id is matched by the first sync and seen by the pulls'
lookups, never created a second time."""

from __future__ import annotations

from pull_stack import PullStack, pull_stack  # noqa: F401 - fixture


def test_an_inactive_wc_customer_with_the_sos_id_is_adopted_not_duplicated(pull_stack):
    stack: PullStack = pull_stack
    [sos_id, other_id] = stack.push.seeded["sos_only_customer_ids"][:2]
    inactive = stack.wiz.create_customer(name="Dormant Co", display_name="Dormant Co", reference_id=str(sos_id),
                                         status="inactive")
    stack.push.new_events()

    stack.first_sync()
    # made inactive after the first sync: the customers pull's lookup must see it too
    later = stack.wiz.create_customer(name="Late Co", display_name="Late Co", reference_id=str(other_id),
                                      status="inactive")
    stack.push.new_events()
    stack.run("customers")

    for sos, wc in ((sos_id, inactive), (other_id, later)):
        assert [c["id"] for c in stack.wiz.customers.values() if c.get("reference_id") == str(sos)] == [wc["id"]]
        assert stack.mappings.by_sos("customer", str(sos)).wc_id == wc["id"]
