"""Time-limited leases in the state table: one holder at a time, expiring if the holder dies."""

from __future__ import annotations

import time

from botocore.exceptions import ClientError

from .dynamo import condition_failed, dynamodb_resource


class Leases:
    def __init__(self, table_name: str):
        self._table = dynamodb_resource().Table(table_name)

    def acquire(self, name: str, owner: str, ttl_seconds: int) -> bool:
        now = time.time()
        try:
            self._table.put_item(
                Item={"pk": f"LEASE#{name}", "sk": "LEASE", "owner": owner,
                      "lease_until": int(now + ttl_seconds), "expires_at": int(now + ttl_seconds + 3600)},
                ConditionExpression="attribute_not_exists(pk) OR lease_until < :now OR #o = :owner",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":now": int(now), ":owner": owner},
            )
            return True
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise

    def release(self, name: str, owner: str) -> None:
        try:
            self._table.delete_item(
                Key={"pk": f"LEASE#{name}", "sk": "LEASE"},
                ConditionExpression="#o = :owner",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":owner": owner},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
