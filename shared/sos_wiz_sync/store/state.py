"""Sync state: stream cursors and run checkpoints, run reports (R-OPS-2), record failures
(R-REF-2, R-ORD-2), last pushed inventory values (R-INV-5) and per-record history (R-OPS-3)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from boto3.dynamodb.conditions import Key

from .dynamo import deserialize_item, dynamodb_client, dynamodb_resource, from_dynamo, to_dynamo

BATCH_GET_LIMIT = 100  # DynamoDB BatchGetItem maximum
# Long enough to answer "what happened to order X last quarter", short enough that the log of a
# busy record stays small; DynamoDB's TTL (`expires_at`) removes older events.
HISTORY_RETENTION_SECONDS = 90 * 86_400


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

    def open_failures(self, limit: int = 100) -> list[dict[str, Any]]:
        items = self._table.query(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq("FAILURE"),
                                  ScanIndexForward=False, Limit=limit)["Items"]
        return [from_dynamo(item) for item in items]

    # -- last pushed inventory values (R-INV-5) ------------------------------------------------
    def inventory_values(self, item_ids: Iterable[int | str]) -> dict[str, dict[str, Any]]:
        """Last pushed values per SOS item id, batched (100 keys per call)."""
        keys = [{"pk": {"S": f"INV#{item_id}"}, "sk": {"S": "INV"}} for item_id in item_ids]
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

    def save_inventory_values(self, records: Iterable[dict[str, Any]]) -> None:
        """records: {item_id, sku, values, source}; batch_writer resends unprocessed items."""
        now = utc_now()
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for record in records:
                batch.put_item(Item=to_dynamo({"pk": f"INV#{record['item_id']}", "sk": "INV", "pushed_at": now,
                                               **record}))

    def inventory_value(self, item_id: int | str) -> dict[str, Any] | None:
        return self.inventory_values([item_id]).get(str(item_id))

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

    def inventory_by_sku(self, sku: str) -> list[dict[str, Any]]:
        """Last pushed inventory records of a WC sku. A table scan: for the operator's trace only,
        never on a sync path."""
        pages = self._client.get_paginator("scan").paginate(
            TableName=self._name, FilterExpression="sk = :inv AND sku = :sku",
            ExpressionAttributeValues={":inv": {"S": "INV"}, ":sku": {"S": sku}})
        return [deserialize_item(item) for page in pages for item in page["Items"]]
