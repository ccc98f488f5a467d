"""The deployment's SOS request budget: one item in the state table (`pk=SOS#BUDGET`).

It holds a timeline of request slots (GCRA): `tail` is the first free slot (epoch seconds),
`rate` the requests per second set by the last throttle (or the configured rate), which quiet
periods raise by the clock (clients.budget.in_force: no write). Taking n slots moves the tail by
n / (the rate in force) in one conditional UpdateItem, so every SOS request of every container
has its own slot and slots are never closer than 1 / (the rate in force). The conditions carry
the rules (sos_wiz_sync.clients.budget decides, this module only writes atomically): a refused
write answers the item as it is (ALL_OLD), so a refusal costs no extra read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from .dynamo import condition_failed, deserialize_item, dynamodb_client, serialize_item, to_dynamo

KEY = {"pk": "SOS#BUDGET", "sk": "BUDGET"}


@dataclass(frozen=True)
class BudgetState:
    tail: float             # the first free slot, epoch seconds
    rate: float             # requests per second as last set (AIMD; in force: clients.budget.in_force)
    configured: float       # SosMaxRps: the deployment's total
    lowered_at: float = 0.0  # when a throttled answer last lowered the rate
    raised_at: float = 0.0   # when a redeployed SosMaxRps last set it
    throttles: int = 0      # throttled answers that lowered the rate, ever
    ceiling: float = 0.0    # the rate in force a repeated throttle last came at (0: none)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> BudgetState:
        return cls(tail=float(item["tail"]), rate=float(item["rate"]), configured=float(item["configured"]),
                   lowered_at=float(item.get("lowered_at", 0)), raised_at=float(item.get("raised_at", 0)),
                   throttles=int(item.get("throttles", 0)), ceiling=float(item.get("ceiling", 0)))


class BudgetRefused(Exception):
    """The item was not as the write expected; `state` is how it is (None: there is none)."""

    def __init__(self, state: BudgetState | None):
        super().__init__("SOS budget changed under us")
        self.state = state


def _number(value: float) -> dict[str, str]:
    return {"N": str(to_dynamo(float(value)))}


class BudgetTable:
    def __init__(self, table_name: str):
        self._name = table_name
        self._client = dynamodb_client()

    def read(self) -> BudgetState | None:
        item = self._client.get_item(TableName=self._name, Key=serialize_item(KEY), ConsistentRead=True).get("Item")
        return BudgetState.from_item(deserialize_item(item)) if item else None

    def take(self, *, count: int, rate: float, in_force: float, now: float, late: float, idle: bool,
             limit: float | None, broken: float) -> BudgetState:
        """n = `count` slots `1 / in_force` apart, while the item's stored rate is `rate` (changed
        only by a throttle or a redeploy; quiet periods raise it by the clock): from `now` when the timeline is idle (tail < `late`, or no
        item yet: the first caller of a deployment creates it with its slots taken, one write; or
        a tail beyond `broken`: a clock gone wrong is started again from now),
        else after the tail (a tail in the past by less than now - late is used late, not
        skipped), and then only while the tail is at most `limit` (None: any backlog)."""
        values = {":rate": _number(rate), ":late": _number(late)}
        if idle:
            update = ("SET tail = :start, rate = if_not_exists(rate, :rate), "
                      "configured = if_not_exists(configured, :rate), "
                      "lowered_at = if_not_exists(lowered_at, :zero), raised_at = if_not_exists(raised_at, :zero), "
                      "throttles = if_not_exists(throttles, :zero)")
            values[":zero"] = {"N": "0"}
            condition = "attribute_not_exists(pk) OR (rate = :rate AND (tail < :late OR tail > :broken))"
            values[":start"], values[":broken"] = _number(now + count / in_force), _number(broken)
        else:
            update, condition = "SET tail = tail + :span", "rate = :rate AND tail >= :late"
            values[":span"] = _number(count / in_force)
            if limit is not None:
                condition += " AND tail <= :limit"
                values[":limit"] = _number(limit)
        return self._update(update, condition, values)

    def set_rate(self, expected: BudgetState, *, rate: float, configured: float, now: float,
                 lowered: bool, ceiling: float = 0.0) -> BudgetState:
        """The rate in force (and the configured one: SosMaxRps may have been redeployed), if no one
        changed it since `expected` was read. Lowered by a throttle: `ceiling` (the rate in force a
        repeated throttle came at, 0 for an isolated one) is what the quiet periods then approach."""
        update = "SET rate = :new, configured = :configured, " + (
            "lowered_at = :now, ceiling = :ceiling ADD throttles :one" if lowered else "raised_at = :now")
        values = {":new": _number(rate), ":configured": _number(configured), ":now": _number(now),
                  ":rate": _number(expected.rate),
                  ":lowered": _number(expected.lowered_at), ":raised": _number(expected.raised_at)}
        if lowered:
            values[":one"], values[":ceiling"] = {"N": "1"}, _number(ceiling)
        return self._update(update, "rate = :rate AND lowered_at = :lowered AND raised_at = :raised", values)

    def _update(self, update: str, condition: str, values: dict[str, Any]) -> BudgetState:
        try:
            answer = self._client.update_item(
                TableName=self._name, Key=serialize_item(KEY), UpdateExpression=update,
                ConditionExpression=condition, ExpressionAttributeValues=values, ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except ClientError as exc:
            if condition_failed(exc):
                item = exc.response.get("Item")
                raise BudgetRefused(BudgetState.from_item(deserialize_item(item)) if item else None) from None
            raise
        return BudgetState.from_item(deserialize_item(answer["Attributes"]))
