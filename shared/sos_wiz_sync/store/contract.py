"""The contract readings this account follows (R-OPS-5): item `CONTRACT#<id>` / `CONTRACT` in the
state table, with the reading, how and when it was settled, and what was seen. The probe writes
what it settles; `record_first_use` writes a first-use row the first time the code sees it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from .dynamo import condition_failed, dynamodb_resource, from_dynamo, to_dynamo
from .state import utc_now

log = logging.getLogger(__name__)
# What the clients call when they first see a first-use row: (id, reading, evidence).
FirstUse = Callable[[str, str, str], Any]


def ignore_first_use(row_id: str, reading: str, evidence: str) -> None:
    """The recorder of a client built without a state table (tests, one-off scripts)."""


# First-use rows already recorded by this process: one conditional write per row per container.
_recorded: set[tuple[str, str]] = set()


class ContractReadings:
    def __init__(self, table_name: str):
        self._name = table_name
        self._table = dynamodb_resource().Table(table_name)

    def save(self, row_id: str, *, reading: str, how: str, evidence: str) -> None:
        self._table.put_item(Item=to_dynamo({
            "pk": f"CONTRACT#{row_id}", "sk": "CONTRACT", "id": row_id, "reading": reading, "how": how,
            "evidence": evidence, "at": utc_now(), "gsi1pk": "CONTRACT", "gsi1sk": row_id}))

    def record_first_use(self, row_id: str, reading: str, evidence: str) -> bool:
        """Record a first-use row (SOS-A1, A8, A20, …) unless it is recorded already; True if
        this call recorded it. Observational: a failed write is logged, never fails the caller."""
        if (self._name, row_id) in _recorded:
            return False
        try:
            self._table.put_item(
                Item=to_dynamo({"pk": f"CONTRACT#{row_id}", "sk": "CONTRACT", "id": row_id, "reading": reading,
                                "how": "first use", "evidence": evidence[:500], "at": utc_now(),
                                "gsi1pk": "CONTRACT", "gsi1sk": row_id}),
                ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if not condition_failed(exc):
                log.warning("could not record %s's first use (%s): %s", row_id, reading, exc)
                return False
            _recorded.add((self._name, row_id))
            return False
        _recorded.add((self._name, row_id))
        return True

    def reading(self, row_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": f"CONTRACT#{row_id}", "sk": "CONTRACT"},
                                    ConsistentRead=True).get("Item")
        return from_dynamo(item) if item else None

    def all(self) -> dict[str, dict[str, Any]]:
        """id → stored reading, of every row settled or seen."""
        items, start = [], {}
        while True:
            answer = self._table.query(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq("CONTRACT"),
                                       **start)
            items.extend(answer["Items"])
            if "LastEvaluatedKey" not in answer:
                break
            start = {"ExclusiveStartKey": answer["LastEvaluatedKey"]}
        return {item["id"]: from_dynamo(item) for item in items}
