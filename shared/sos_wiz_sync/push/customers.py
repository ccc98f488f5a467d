"""Customers WizCommerce → SOS (R-CUS-1, R-REF-3): create or update, never a second SOS record.

Every change to one WC customer's link happens under a lease on that customer: orders of one
customer arrive in different FIFO groups and may all need the customer created at once.
"""

from __future__ import annotations

import hashlib
import json

from ..clients.http import ApiError
from ..models.sos import SosCustomer
from ..models.wiz import WizCustomer
from ..rules.customers import sos_customer
from ..rules.push_config import sos_id_from_reference
from ..rules.versions import is_our_write, timestamp_version
from ..store.mappings import Mapping, Origin
from .deps import PushDeps
from .outcome import PushOutcome, Status, current_state, gone


def push_customer(deps: PushDeps, wc_id: str) -> PushOutcome:
    """A WC customer changed: its current state reaches the linked SOS customer, or the customer
    is linked (and created when missing) first. What SOS got last is kept as a fingerprint, so an
    announcement of nothing new — a redelivery, the poll, our own `reference_id` write — is a no-op."""
    customer = current_state(deps.wiz.get_customer, wc_id)
    if customer is None:
        return gone("customer", wc_id)
    with deps.exclusive(f"customer#{customer.id}"):
        outcome = _push_customer(deps, customer)
    # Linked, and its current state in SOS: an earlier failed attempt is over (as for orders).
    deps.state.resolve_failure("customer", customer.id)
    return outcome


def _push_customer(deps: PushDeps, customer: WizCustomer) -> PushOutcome:
    mapping = deps.mappings.by_wc("customer", customer.id)
    if mapping is None and deps.state.is_held("customer", "wc", customer.id):
        return PushOutcome(entity="customer", wc_id=customer.id, status="ignored", reason=HELD)
    if mapping is None:
        sos_id, status = _link(deps, customer)
        return PushOutcome(entity="customer", wc_id=customer.id, status=status, sos_id=str(sos_id))
    body = sos_customer(customer, deps.config)
    if _digest(body) == mapping.pushed_digest:
        version = timestamp_version(customer.updated_at)
        if mapping.wc_version != version:  # the ledger (R-OPS-4): this version was examined, SOS has it
            deps.mappings.update("customer", customer.id, wc_version=version)
        return PushOutcome(entity="customer", wc_id=customer.id, status="ignored", sos_id=mapping.sos_id,
                           reason="nothing SOS receives changed")
    if is_our_write(customer.updated_at, mapping.wc_echo_version):
        deps.mappings.update("customer", customer.id, pushed_digest=_digest(body))  # SOS has this state
        return PushOutcome(entity="customer", wc_id=customer.id, status="ignored", sos_id=mapping.sos_id,
                           reason="our own write to WizCommerce (its content came from SOS)")
    deps.sos.update_customer(int(mapping.sos_id), body)
    deps.mappings.update("customer", customer.id, pushed_digest=_digest(body))
    return PushOutcome(entity="customer", wc_id=customer.id, status="updated", sos_id=mapping.sos_id)


HELD = "held: the first sync found it ambiguous; an operator links or releases it (R-TIME-2)"


def _digest(body: dict) -> str:
    """A fingerprint of what SOS received for a customer (the mapping's `pushed_digest`)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]


def sos_customer_id(deps: PushDeps, wc_customer_id: str) -> int:
    """The SOS customer of an order or payment, created first when it is not in SOS yet."""
    if wc_customer_id not in deps.linked_customers:
        deps.linked_customers[wc_customer_id] = _linked_or_new_customer(deps, wc_customer_id)
    return deps.linked_customers[wc_customer_id]


def _linked_or_new_customer(deps: PushDeps, wc_customer_id: str) -> int:
    mapping = deps.mappings.by_wc("customer", wc_customer_id)
    if mapping is None:
        with deps.exclusive(f"customer#{wc_customer_id}"):
            mapping = deps.mappings.by_wc("customer", wc_customer_id)  # the holder we waited for may have linked it
            if mapping is None:
                return _link(deps, deps.wiz.get_customer(wc_customer_id))[0]
    return int(mapping.sos_id)


def _link(deps: PushDeps, customer: WizCustomer) -> tuple[int, Status]:
    """Match, else create; then tell WC the SOS id (its `reference_id`) and store the mapping last,
    so an interrupted run finds its own SOS record again instead of creating another."""
    body = sos_customer(customer, deps.config)
    existing, origin = _existing_sos_customer(deps, customer, body)
    if existing is None:
        sos, status = deps.sos.create_customer(body), "created"
    else:
        sos, status = deps.sos.update_customer(existing.id, body), "adopted"
    if customer.reference_id != str(sos.id):
        deps.wiz.update_customer(customer.id, {"reference_id": str(sos.id)})  # its echo changes no SOS field
    deps.mappings.link(Mapping(entity="customer", wc_id=customer.id, sos_id=str(sos.id), origin=origin,
                               pushed_digest=_digest(body)))
    return sos.id, status


def _existing_sos_customer(deps: PushDeps, customer: WizCustomer, body: dict) -> tuple[SosCustomer | None, Origin]:
    """R-CUS-1: by Reference ID first (the record came from SOS); else an SOS customer no mapping
    claims with exactly our name and email — what our own create leaves behind when SOS applied
    it but the answer was lost (SOS has no idempotency keys)."""
    referenced = sos_id_from_reference(customer.reference_id)
    if referenced is not None and deps.mappings.by_sos("customer", referenced) is None:
        try:
            return deps.sos.get_customer(referenced), "sos"
        except ApiError as exc:
            if exc.status != 404:
                raise
    for candidate in deps.sos.find_customers_by_name(body["name"]):
        same_email = (candidate.email or "").casefold() == (body["email"] or "").casefold()
        if same_email and deps.mappings.by_sos("customer", candidate.id) is None:
            return candidate, "wc"
    return None, "wc"
