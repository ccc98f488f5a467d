"""Sync state: stream cursors and run checkpoints, run reports (R-OPS-2), record failures
(R-REF-2, R-ORD-2), last pushed inventory values (R-INV-5), per-record history (R-OPS-3), and for
the entity pulls: pending records (R-DOC-1), first-sync holds and status (R-TIME-2), and the SOS
payments recorded per order (R-PAY-2)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from .budget import BudgetState, BudgetTable
from .dynamo import condition_failed, deserialize_item, dynamodb_client, dynamodb_resource, from_dynamo, to_dynamo

BATCH_GET_LIMIT = 100  # DynamoDB BatchGetItem maximum
# Long enough to answer "what happened to order X last quarter", short enough that the log of a
# busy record stays small; DynamoDB's TTL (`expires_at`) removes older events.
HISTORY_RETENTION_SECONDS = 90 * 86_400
# The hook worker's reads and writes matter to a pull writing the same item (minutes); a week
# outlives any run still writing.
HOOK_ACTIVITY_TTL_SECONDS = 7 * 86_400
# Heartbeat sources: a WizCommerce webhook reached the push function; the WC change poll ran.
WEBHOOK_HEARTBEAT = "webhook"
WC_CHANGE_POLL_HEARTBEAT = "wc-change-poll"


def _inventory_item(record: dict[str, Any], pushed_at: str) -> dict[str, Any]:
    """The `INV#<item id>` / `INV` item of last pushed values (R-INV-5)."""
    return to_dynamo({"pk": f"INV#{record['item_id']}", "sk": "INV", "pushed_at": pushed_at, **record})


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat()


class SyncState:
    def __init__(self, table_name: str):
        self._name = table_name
        self._table = dynamodb_resource().Table(table_name)
        self._client = dynamodb_client()

    # -- stream cursor and in-flight run ----------------------------------------------------
    def load_stream(self, stream: str) -> dict[str, Any]:
        item = self._table.get_item(Key={"pk": f"CURSOR#{stream}", "sk": "CURSOR"}, ConsistentRead=True).get("Item")
        return from_dynamo(item) if item else {}

    def save_stream(self, stream: str, *, cursor: dict | None, run: dict | None) -> None:
        """Committed cursor (where the next run starts) and the in-flight run's checkpoint."""
        self._table.put_item(Item=to_dynamo({"pk": f"CURSOR#{stream}", "sk": "CURSOR", "cursor": cursor,
                                             "run": run, "updated_at": utc_now()}))

    # -- run reports -------------------------------------------------------------------------
    def save_report(self, report: dict[str, Any]) -> None:
        self._table.put_item(Item=to_dynamo({
            "pk": f"RUN#{report['stream']}", "sk": f"{report['started_at']}#{report['run_id']}",
            "gsi1pk": "RUN", "gsi1sk": report["started_at"], **report}))

    def recent_reports(self, stream: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        if stream:
            query = {"KeyConditionExpression": Key("pk").eq(f"RUN#{stream}")}
        else:
            query = {"IndexName": "gsi1", "KeyConditionExpression": Key("gsi1pk").eq("RUN")}
        items = self._table.query(ScanIndexForward=False, Limit=limit, **query)["Items"]
        return [from_dynamo(item) for item in items]

    # -- record failures ----------------------------------------------------------------------
    def record_failure(self, entity: str, record_id: str, *, reason: str, details: dict | None = None,
                       source: str = "push") -> None:
        now = utc_now()
        self._table.update_item(
            Key={"pk": f"FAIL#{entity}#{record_id}", "sk": "FAIL"},
            UpdateExpression=("SET entity = :e, record_id = :r, reason = :reason, details = :d, #s = :open, "
                              "gsi1pk = :g, gsi1sk = :now, last_seen = :now, #src = :src, "
                              "first_seen = if_not_exists(first_seen, :now) ADD attempts :one"),
            ExpressionAttributeNames={"#s": "status", "#src": "source"},  # both DynamoDB reserved words
            ExpressionAttributeValues=to_dynamo({":e": entity, ":r": record_id, ":reason": reason,
                                                 ":d": details or {}, ":open": "open", ":g": "FAILURE",
                                                 ":now": now, ":src": source, ":one": 1}))
        self.record_event(entity, record_id, "failed", source=source, reason=reason,
                          disposition=(details or {}).get("disposition"))

    def resolve_failure(self, entity: str, record_id: str) -> None:
        """Keep the history, leave the open-failures index (sparse gsi1)."""
        failure = self.get_failure(entity, record_id)
        if not failure:
            return
        self._table.update_item(
            Key={"pk": f"FAIL#{entity}#{record_id}", "sk": "FAIL"},
            UpdateExpression="SET #s = :done, resolved_at = :now REMOVE gsi1pk, gsi1sk",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":done": "resolved", ":now": utc_now()},
        )
        if failure.get("status") == "open":
            self.record_event(entity, record_id, "failure-resolved", source=failure.get("source", "push"))

    def get_failure(self, entity: str, record_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": f"FAIL#{entity}#{record_id}", "sk": "FAIL"},
                                    ConsistentRead=True).get("Item")
        return from_dynamo(item) if item else None

    # -- quarantined SOS records: a pull could not read or write them (per-record quarantine) --
    def quarantine(self, entity: str, record_id: str, *, stream: str, reason: str,
                   details: dict | None = None) -> None:
        """An open failure (`failures`, `trace`) keyed by the SOS id, which `stream` reads again
        by id at each run's start until it is written (`release_quarantine`): the cursor moves
        on past its page, the record is not left behind. Streams reading one SOS record (orders,
        payments) each keep their own claim on it (`quarantined_by`, a set)."""
        self.record_failure(entity, record_id, reason=reason, source="pull",
                            details={**(details or {}), "disposition": "quarantined"})
        self._table.update_item(Key={"pk": f"FAIL#{entity}#{record_id}", "sk": "FAIL"},
                                UpdateExpression="ADD quarantined_by :s", ExpressionAttributeValues={":s": {stream}})

    def release_quarantine(self, entity: str, record_id: str, *, stream: str) -> None:
        """`stream` wrote (or no longer needs) the record; the failure is resolved once no stream
        holds it any more."""
        try:
            answer = self._table.update_item(
                Key={"pk": f"FAIL#{entity}#{record_id}", "sk": "FAIL"}, UpdateExpression="DELETE quarantined_by :s",
                ConditionExpression="attribute_exists(pk)", ExpressionAttributeValues={":s": {stream}},
                ReturnValues="ALL_NEW")
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            return
        if not answer["Attributes"].get("quarantined_by"):
            self.resolve_failure(entity, record_id)

    def quarantined(self, entity: str, stream: str) -> list[str]:
        """The SOS ids of `entity` that `stream` holds quarantined (open failures only)."""
        items = self._query_all(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq("FAILURE"),
                                FilterExpression=Attr("entity").eq(entity) & Attr("quarantined_by").contains(stream))
        return sorted({item["record_id"] for item in items})

    def open_failures(self, limit: int = 100) -> list[dict[str, Any]]:
        items = self._table.query(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq("FAILURE"),
                                  ScanIndexForward=False, Limit=limit)["Items"]
        return [from_dynamo(item) for item in items]

    def all_open_failures(self) -> list[dict[str, Any]]:
        """Every open failure (the ledger's `parked`): the sparse index holds only open ones."""
        items = self._query_all(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq("FAILURE"))
        return [from_dynamo(item) for item in items]

    # -- the last ledger (R-OPS-4): what `doctor` shows --------------------------------------
    def save_ledger(self, result: dict[str, Any]) -> None:
        self._table.put_item(Item=to_dynamo({"pk": "LEDGER", "sk": "LAST", **result, "saved_at": utc_now()}))

    def last_ledger(self) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": "LEDGER", "sk": "LAST"}, ConsistentRead=True).get("Item")
        return from_dynamo(item) if item else None

    # -- last pushed inventory values (R-INV-5) and the hook's reads and writes -------------
    # Read times are µs since the epoch (clients.sos.read_clock); see docs/architecture.md,
    # "Pull and hook: the newest read wins".
    def inventory_values(self, item_ids: Iterable[int | str]) -> dict[str, dict[str, Any]]:
        """Last pushed values per SOS item id ({item_id, sku, values, source, read_at, ...})."""
        return self._inventory_records(item_ids, "INV")

    def save_inventory_values(self, records: Iterable[dict[str, Any]]) -> None:
        """records: {item_id, sku, values, source, read_at}; batch_writer resends unprocessed items."""
        now = utc_now()
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for record in records:
                batch.put_item(Item=_inventory_item(record, now))

    def save_inventory_value_if_newer(self, record: dict[str, Any]) -> bool:
        """Save `record` (as `save_inventory_values`) unless the item's last pushed values come
        from a read as new as its `read_at` or newer; False then."""
        try:
            self._table.put_item(Item=_inventory_item(record, utc_now()),
                                 ConditionExpression="attribute_not_exists(read_at) OR read_at < :r",
                                 ExpressionAttributeValues={":r": record["read_at"]})
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            return False
        return True

    def inventory_value(self, item_id: int | str) -> dict[str, Any] | None:
        return self.inventory_values([item_id]).get(str(item_id))

    def hook_activity(self, item_ids: Iterable[int | str]) -> dict[str, dict[str, Any]]:
        """When the hook worker last read each item, and last wrote it ({read_at, wrote_at?})."""
        return self._inventory_records(item_ids, "HOOK")

    def save_hook_activity(self, activity: dict[str, dict[str, int]]) -> None:
        """activity: SOS item id → {read_at} before the hook's writes, {read_at, wrote_at} after."""
        expires_at = int(time.time()) + HOOK_ACTIVITY_TTL_SECONDS
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for item_id, times in activity.items():
                batch.put_item(Item={"pk": f"INV#{item_id}", "sk": "HOOK", **times, "expires_at": expires_at})

    def _inventory_records(self, item_ids: Iterable[int | str], sort_key: str) -> dict[str, dict[str, Any]]:
        """The `INV#<item id>` / `sort_key` records, by item id, batched (100 keys per call)."""
        keys = [{"pk": {"S": f"INV#{item_id}"}, "sk": {"S": sort_key}} for item_id in item_ids]
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            request = {self._name: {"Keys": keys[start:start + BATCH_GET_LIMIT], "ConsistentRead": True}}
            while request:  # DynamoDB may hand back part of a batch as UnprocessedKeys
                answer = self._client.batch_get_item(RequestItems=request)
                for item in answer["Responses"].get(self._name, []):
                    record = deserialize_item(item)
                    found[record["pk"].removeprefix("INV#")] = record
                request = answer.get("UnprocessedKeys") or None
        return found

    # -- items the hook worker wrote since the pull last compared them --------------------------
    def inventory_dirty_items(self) -> set[str]:
        item = self._table.get_item(Key={"pk": "INVDIRTY", "sk": "INVDIRTY"}, ConsistentRead=True).get("Item")
        return set(item.get("item_ids", set())) if item else set()

    def mark_inventory_dirty(self, item_ids: Iterable[int | str]) -> None:
        self._update_dirty("ADD", item_ids)

    def clear_inventory_dirty(self, item_ids: Iterable[int | str]) -> None:
        self._update_dirty("DELETE", item_ids)

    def _update_dirty(self, action: str, item_ids: Iterable[int | str]) -> None:
        ids = {str(item_id) for item_id in item_ids}
        if ids:  # DynamoDB has no empty sets; ADD/DELETE of a set element is atomic
            self._table.update_item(Key={"pk": "INVDIRTY", "sk": "INVDIRTY"}, UpdateExpression=f"{action} item_ids :ids",
                                    ExpressionAttributeValues={":ids": ids})

    # -- per-record history (R-OPS-3) ---------------------------------------------------------
    def record_event(self, entity: str, record_id: str, action: str, *, source: str, **details: Any) -> None:
        """Append one event to a record's story, e.g. ("order", wc id, "created", source="push").
        Keyed like the failure records: pushes by the WC id, pulls by the SOS id."""
        self.record_events([{"entity": entity, "record_id": record_id, "action": action, "source": source,
                             **details}])

    def record_events(self, events: Iterable[dict[str, Any]]) -> None:
        """events: {entity, record_id, action, source, ...details}; None details are dropped."""
        now = utc_now()
        expires_at = int(time.time()) + HISTORY_RETENTION_SECONDS
        with self._table.batch_writer() as batch:
            for event in events:
                # The random tail keeps two events of one record in the same microsecond apart.
                batch.put_item(Item=to_dynamo({
                    "pk": f"HIST#{event['entity']}#{event['record_id']}", "sk": f"{now}#{uuid.uuid4().hex[:8]}",
                    "at": now, "expires_at": expires_at, **event}))

    def history(self, entity: str, record_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The record's newest events first."""
        items = self._table.query(KeyConditionExpression=Key("pk").eq(f"HIST#{entity}#{record_id}"),
                                  ScanIndexForward=False, Limit=limit)["Items"]
        return [from_dynamo(item) for item in items]

    # -- pending SOS records: waiting for something to reach WizCommerce first (R-DOC-1) -----
    def save_pending(self, entity: str, sos_id: str, *, reason: str, row: dict[str, Any]) -> None:
        """Keep an SOS record that cannot be written yet (e.g. its order is not in WizCommerce),
        with the reason operators see and the record itself, planned again at the next run."""
        now = utc_now()
        self._table.update_item(
            Key={"pk": f"PENDING#{entity}#{sos_id}", "sk": "PENDING"},
            UpdateExpression=("SET entity = :e, sos_id = :id, reason = :reason, #row = :row, gsi1pk = :g, "
                              "gsi1sk = :gsk, last_seen = :now, first_seen = if_not_exists(first_seen, :now) "
                              "ADD attempts :one"),
            ExpressionAttributeNames={"#row": "row"},
            ExpressionAttributeValues=to_dynamo({":e": entity, ":id": sos_id, ":reason": reason, ":row": row,
                                                 ":g": "PENDING", ":gsk": f"{entity}#{sos_id}", ":now": now,
                                                 ":one": 1}))

    def pending(self, entity: str | None = None) -> list[dict[str, Any]]:
        """Pending records (all, or of one entity), oldest key first; eventually consistent."""
        condition = Key("gsi1pk").eq("PENDING")
        if entity:
            condition &= Key("gsi1sk").begins_with(f"{entity}#")
        return [from_dynamo(item) for item in self._query_all(IndexName="gsi1", KeyConditionExpression=condition)]

    def resolve_pending(self, entity: str, sos_id: str) -> None:
        self._table.delete_item(Key={"pk": f"PENDING#{entity}#{sos_id}", "sk": "PENDING"})

    # -- first-sync holds: ambiguous matches wait for an operator (R-TIME-2) -------------------
    def hold(self, entity: str, side: str, record_id: str, *, reason: str) -> None:
        """Keep a record (`side` "sos" or "wc") from being created in the other system: the first
        sync could not tell which record it is (two candidates), and guessing could duplicate."""
        self._table.put_item(Item=to_dynamo({
            "pk": f"HOLD#{entity}#{side}#{record_id}", "sk": "HOLD", "entity": entity, "side": side,
            "record_id": record_id, "reason": reason, "gsi1pk": "HOLD", "gsi1sk": f"{entity}#{side}#{record_id}",
            "held_at": utc_now()}))

    def is_held(self, entity: str, side: str, record_id: str) -> bool:
        """Whether this one record is held: a read of its hold by key (a push asks about one
        record; listing every hold of the entity was a GSI query per create)."""
        return "Item" in self._table.get_item(Key={"pk": f"HOLD#{entity}#{side}#{record_id}", "sk": "HOLD"},
                                              ConsistentRead=True, ProjectionExpression="pk")

    def held(self, entity: str, side: str) -> set[str]:
        condition = Key("gsi1pk").eq("HOLD") & Key("gsi1sk").begins_with(f"{entity}#{side}#")
        return {item["record_id"] for item in self._query_all(IndexName="gsi1", KeyConditionExpression=condition)}

    def holds(self) -> list[dict[str, Any]]:
        return [from_dynamo(item) for item in
                self._query_all(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq("HOLD"))]

    def release_hold(self, entity: str, side: str, record_id: str) -> bool:
        answer = self._table.delete_item(Key={"pk": f"HOLD#{entity}#{side}#{record_id}", "sk": "HOLD"},
                                         ReturnValues="ALL_OLD")
        return "Attributes" in answer

    # -- SOS payments per sales order (R-PAY-2) ------------------------------------------------
    def record_order_payment(self, sos_order_id: str, sos_payment_id: str, amount: float) -> None:
        """Idempotent: a payment seen twice is counted once."""
        self._table.put_item(Item=to_dynamo({"pk": f"PAID#{sos_order_id}", "sk": sos_payment_id,
                                             "amount": amount, "recorded_at": utc_now()}))

    def order_payments(self, sos_order_id: str) -> dict[str, float]:
        """SOS payment id → amount, of every payment recorded for the order."""
        items = self._query_all(KeyConditionExpression=Key("pk").eq(f"PAID#{sos_order_id}"), ConsistentRead=True)
        return {item["sk"]: from_dynamo(item["amount"]) for item in items}

    # -- heartbeats: when WizCommerce's changes last reached us (`sos-wiz-ops doctor`) ----------
    def record_heartbeat(self, source: str) -> None:
        """`source` (WEBHOOK_HEARTBEAT, WC_CHANGE_POLL_HEARTBEAT) was just heard from."""
        self._table.put_item(Item={"pk": f"HEARTBEAT#{source}", "sk": "HEARTBEAT", "source": source, "at": utc_now()})

    def heartbeats(self, sources: Iterable[str] = (WEBHOOK_HEARTBEAT, WC_CHANGE_POLL_HEARTBEAT)) -> dict[str, str]:
        """source → when it was last heard from (ISO, UTC); sources never heard from are absent."""
        found = {}
        for source in sources:
            item = self._table.get_item(Key={"pk": f"HEARTBEAT#{source}", "sk": "HEARTBEAT"}).get("Item")
            if item:
                found[source] = item["at"]
        return found

    # -- the deployment's SOS request budget (clients/budget.py), for `sos-wiz-ops doctor` ----------
    def sos_budget(self) -> BudgetState | None:
        return BudgetTable(self._name).read()

    # -- first sync (R-TIME-2) -----------------------------------------------------------------
    def first_sync_status(self) -> dict[str, Any]:
        item = self._table.get_item(Key={"pk": "FIRSTSYNC", "sk": "FIRSTSYNC"}, ConsistentRead=True).get("Item")
        return from_dynamo(item) if item else {}

    def save_first_sync_status(self, status: dict[str, Any]) -> None:
        self._table.put_item(Item=to_dynamo({"pk": "FIRSTSYNC", "sk": "FIRSTSYNC", **status, "updated_at": utc_now()}))

    def _query_all(self, **query: Any) -> list[dict[str, Any]]:
        items, start = [], {}
        while True:
            answer = self._table.query(**query, **start)
            items.extend(answer["Items"])
            if "LastEvaluatedKey" not in answer:
                return items
            start = {"ExclusiveStartKey": answer["LastEvaluatedKey"]}

    def inventory_by_sku(self, sku: str) -> list[dict[str, Any]]:
        """Last pushed inventory records of a WC sku. A table scan: for the operator's trace only,
        never on a sync path."""
        pages = self._client.get_paginator("scan").paginate(
            TableName=self._name, FilterExpression="sk = :inv AND sku = :sku",
            ExpressionAttributeValues={":inv": {"S": "INV"}, ":sku": {"S": sku}})
        return [deserialize_item(item) for page in pages for item in page["Items"]]
