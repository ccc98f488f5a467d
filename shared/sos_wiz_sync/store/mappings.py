"""WC id ↔ SOS id mappings per entity (R-REF-3), both directions written in one transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, Literal, get_args

from botocore.exceptions import ClientError
from pydantic import BaseModel

from .dynamo import condition_failed, deserialize_item, dynamodb_client, serialize_item

Entity = Literal["customer", "order", "payment", "invoice", "shipment", "product"]
Origin = Literal["wc", "sos"]
ENTITIES: tuple[Entity, ...] = get_args(Entity)
BATCH_GET_LIMIT = 100  # DynamoDB BatchGetItem maximum


class Mapping(BaseModel):
    entity: Entity
    wc_id: str
    sos_id: str
    origin: Origin
    number: str | None = None
    wc_version: int | None = None           # last WC version applied to SOS (stale-edit guard)
    wc_echo_version: int | None = None      # WC version produced by our own write (echo guard)
    sos_sync_token: int | None = None       # last SOS syncToken applied to WC: a record seen twice applies once
    pushed_digest: str | None = None        # fingerprint of the WC content last pushed (edits SOS sees)
    pushed_amount_paid: float | None = None  # WC amount_paid last brought to SOS (R-PAY-1)
    edit_blocked: bool = False
    edit_blocked_reason: str | None = None
    cancelled: Literal["applied", "blocked"] | None = None  # R-ORD-8: what the WC cancellation did in SOS
    updated_at: str | None = None


def _wc_key(entity: str, wc_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"WC#{entity}#{wc_id}"}, "sk": {"S": "MAP"}}


def _sos_key(entity: str, sos_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"SOS#{entity}#{sos_id}"}, "sk": {"S": "MAP"}}


def _attempt_key(entity: str, wc_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"WC#{entity}#{wc_id}"}, "sk": {"S": "ATTEMPT"}}


class Mappings:
    def __init__(self, table_name: str):
        self._table = table_name
        self._client = dynamodb_client()

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return deserialize_item(item) if item else None

    def by_wc(self, entity: Entity, wc_id: str) -> Mapping | None:
        item = self._get(_wc_key(entity, wc_id))
        return Mapping.model_validate(item) if item else None

    def by_sos(self, entity: Entity, sos_id: str | int) -> Mapping | None:
        item = self._get(_sos_key(entity, str(sos_id)))
        if not item:
            return None
        return self.by_wc(entity, item["wc_id"])

    def by_sos_many(self, entity: Entity, sos_ids: Iterable[str | int]) -> dict[str, Mapping]:
        """The mappings of many SOS records (a page of a pull) by SOS id: two batch reads per 100."""
        pointers = self._batch_get([_sos_key(entity, str(sos_id)) for sos_id in dict.fromkeys(sos_ids)])
        found = self.by_wc_many(entity, [pointer["wc_id"] for pointer in pointers])
        return {mapping.sos_id: mapping for mapping in found.values()}

    def by_wc_many(self, entity: Entity, wc_ids: Iterable[str]) -> dict[str, Mapping]:
        """The mappings of many WC records by WC id, batched."""
        items = self._batch_get([_wc_key(entity, wc_id) for wc_id in dict.fromkeys(wc_ids)])
        return {item["wc_id"]: Mapping.model_validate(item) for item in items}

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = []
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            request: dict[str, Any] | None = {
                self._table: {"Keys": keys[start:start + BATCH_GET_LIMIT], "ConsistentRead": True}}
            while request:  # DynamoDB may hand back part of a batch as UnprocessedKeys
                answer = self._client.batch_get_item(RequestItems=request)
                found.extend(deserialize_item(item) for item in answer["Responses"].get(self._table, []))
                request = answer.get("UnprocessedKeys") or None
        return found

    def link(self, mapping: Mapping) -> Mapping:
        """Store both directions at once; refuses to re-point an existing link elsewhere."""
        mapping = mapping.model_copy(update={"updated_at": datetime.now(timezone.utc).isoformat()})
        wc_item = {**serialize_item(mapping.model_dump()), **_wc_key(mapping.entity, mapping.wc_id)}
        sos_item = {**serialize_item({"entity": mapping.entity, "wc_id": mapping.wc_id, "sos_id": mapping.sos_id,
                                      "origin": mapping.origin, "updated_at": mapping.updated_at}),
                    **_sos_key(mapping.entity, mapping.sos_id)}
        same_or_new = "attribute_not_exists(pk) OR sos_id = :sos"
        self._client.transact_write_items(TransactItems=[
            {"Put": {"TableName": self._table, "Item": wc_item, "ConditionExpression": same_or_new,
                     "ExpressionAttributeValues": {":sos": {"S": mapping.sos_id}}}},
            {"Put": {"TableName": self._table, "Item": sos_item,
                     "ConditionExpression": "attribute_not_exists(pk) OR wc_id = :wc",
                     "ExpressionAttributeValues": {":wc": {"S": mapping.wc_id}}}},
        ])
        return mapping

    def first_create_attempt(self, entity: Entity, wc_id: str) -> bool:
        """Record, before its POST, that SOS is about to be asked to create the WC record: True if
        no attempt was recorded before (one conditional write). A later attempt (False) must look
        for what an earlier one may have made (SOS-A13). Kept for good, no TTL: a redrive or the
        record's next change may come weeks later, and an expired marker would mean a blind POST."""
        try:
            self._client.put_item(TableName=self._table, ConditionExpression="attribute_not_exists(pk)",
                                  Item={**_attempt_key(entity, wc_id),
                                        "attempted_at": {"S": datetime.now(timezone.utc).isoformat()}})
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            return False
        return True

    def update(self, entity: Entity, wc_id: str, **fields: Any) -> None:
        """Set fields on the WC-side record of an existing mapping (versions, edit-blocked)."""
        fields["updated_at"] = datetime.now(timezone.utc).isoformat()
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = serialize_item({f":v{i}": value for i, value in enumerate(fields.values())})
        sets = [f"#f{i} = :v{i}" for i, (name, value) in enumerate(fields.items()) if value is not None]
        removes = [f"#f{i}" for i, (name, value) in enumerate(fields.items()) if value is None]
        expression = ("SET " + ", ".join(sets) if sets else "") + (" REMOVE " + ", ".join(removes) if removes else "")
        extra = {"ExpressionAttributeValues": values} if values else {}
        self._client.update_item(TableName=self._table, Key=_wc_key(entity, wc_id), UpdateExpression=expression,
                                 ConditionExpression="attribute_exists(pk)", ExpressionAttributeNames=names, **extra)

    # -- operator look-ups (R-OPS-3) -----------------------------------------------------------
    def lookup(self, record_id: str, entities: tuple[Entity, ...] = ENTITIES) -> list[Mapping]:
        """Every mapping in which `record_id` is the WC id or the SOS id. A read per entity and
        side: for the operator's trace, which does not know what kind of id it was given."""
        found = [self.by_wc(entity, record_id) for entity in entities] + [
            self.by_sos(entity, record_id) for entity in entities]
        return list({(m.entity, m.wc_id): m for m in found if m}.values())

    def with_number(self, number: str) -> list[Mapping]:
        """Mappings whose SOS document number is `number`. A table scan: for the operator's
        trace only, never on a sync path."""
        pages = self._client.get_paginator("scan").paginate(
            TableName=self._table, FilterExpression="#n = :n",
            ExpressionAttributeNames={"#n": "number"}, ExpressionAttributeValues={":n": {"S": number}})
        return [Mapping.model_validate(deserialize_item(item)) for page in pages for item in page["Items"]]
