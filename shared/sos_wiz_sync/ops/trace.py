"""A record's whole story from stored state (R-OPS-3): "what happened to WC order X / SOS item Y".

The id may be a WC id or an SOS id of any entity, an SOS document number, or an SOS item id or
sku. Ids are direct reads; a number or sku found by no id is looked for by a table scan.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..store.mappings import ENTITIES, Mapping, Mappings
from ..store.state import SyncState


def trace(query: str, *, mappings: Mappings, state: SyncState, entity: str | None = None) -> dict[str, Any]:
    entities = (entity,) if entity else ENTITIES
    query = query.strip()
    records = [_mapped_record(m, state) for m in mappings.lookup(query, entities)]
    covered = {(r["entity"], i) for r in records for i in (r["wc_id"], r["sos_id"])}
    records += [record for e in entities if (e, query) not in covered
                if (record := _unmapped_record(e, query, state))]
    if not records:  # no id we know: an SOS document number? (a scan, so only now)
        records = [_mapped_record(m, state) for m in mappings.with_number(query) if m.entity in entities]
    if entity in (None, "product"):
        for found in _inventory_records(query, state, scan=not records):
            item_id = found["pk"].removeprefix("INV#")
            hook = state.hook_activity([item_id]).get(item_id, {})
            _item_record(records, item_id, state)["inventory"] = {
                **{key: found.get(key) for key in ("sku", "values", "source", "pushed_at")},
                # when SOS was read for the values sent, and the quantity hook's last read and write
                # of the item: which of two writers had the newer values (docs/architecture.md)
                "sos_read_at": _iso(found.get("read_at")),
                "hook_read_at": _iso(hook.get("read_at")), "hook_wrote_at": _iso(hook.get("wrote_at"))}
    return {"query": query, "records": records}


def _iso(microseconds: int | None) -> str | None:
    """A read clock (µs since the epoch, clients.sos.read_clock) as an ISO stamp, UTC."""
    if microseconds is None:
        return None
    return datetime.fromtimestamp(int(microseconds) / 1_000_000, timezone.utc).isoformat(timespec="milliseconds")


def _inventory_records(query: str, state: SyncState, *, scan: bool) -> list[dict[str, Any]]:
    """Last pushed inventory of the SOS item `query`, else (scanning) of the WC sku `query`."""
    found = state.inventory_value(query)
    return [found] if found else state.inventory_by_sku(query) if scan else []


def _item_record(records: list[dict[str, Any]], item_id: str, state: SyncState) -> dict[str, Any]:
    """The product record of an SOS item among `records`, added if missing."""
    for record in records:
        if record["entity"] == "product" and record["sos_id"] == item_id:
            return record
    record = _unmapped_record("product", item_id, state, side="sos") or _empty("product", None, item_id)
    records.append(record)
    return record


def _empty(entity: str, wc_id: str | None, sos_id: str | None) -> dict[str, Any]:
    return {"entity": entity, "wc_id": wc_id, "sos_id": sos_id, "mapping": None, "failures": [], "history": [],
            "inventory": None}


def _story(state: SyncState, entity: str, ids: list[str]) -> tuple[list[dict], list[dict]]:
    """Failures and history (newest first) kept under any of the record's ids: pushes key them
    by the WC id, pulls by the SOS id."""
    failures = [f for record_id in ids if (f := state.get_failure(entity, record_id))]
    history = sorted((event for record_id in ids for event in state.history(entity, record_id)),
                     key=lambda event: event["sk"], reverse=True)
    return failures, history


def _mapped_record(mapping: Mapping, state: SyncState) -> dict[str, Any]:
    record = _empty(mapping.entity, mapping.wc_id, mapping.sos_id)
    record["mapping"] = mapping.model_dump(exclude={"entity", "wc_id", "sos_id"})
    record["failures"], record["history"] = _story(state, mapping.entity, [mapping.wc_id, mapping.sos_id])
    return record


def _unmapped_record(entity: str, record_id: str, state: SyncState, side: str | None = None) -> dict[str, Any] | None:
    """A record with no mapping (never pushed, failed, ignored) that left failures or events.
    Which side its id is on follows from who wrote them: pushes are WC ids, pulls SOS ids."""
    failures, history = _story(state, entity, [record_id])
    if not (failures or history):
        return None
    sources = {entry.get("source") for entry in failures + history}
    side = side or ("wc" if "push" in sources or "ops" in sources else "sos")
    record = _empty(entity, record_id if side == "wc" else None, record_id if side == "sos" else None)
    record["failures"], record["history"] = failures, history
    return record
