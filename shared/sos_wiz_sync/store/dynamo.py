"""Shared DynamoDB plumbing: one resource per process, plain (de)serialisation."""

from __future__ import annotations

import time
from decimal import Decimal
from functools import lru_cache
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError


def condition_failed(error: ClientError) -> bool:
    """Whether a conditional write was refused because its condition did not hold."""
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


@lru_cache(maxsize=1)
def dynamodb_resource():
    return boto3.resource("dynamodb")


@lru_cache(maxsize=1)
def dynamodb_client():
    return boto3.client("dynamodb")


_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_dynamo(value: Any) -> Any:
    """Floats become Decimals (DynamoDB refuses floats), recursively."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: to_dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    """Decimals back to int/float so records compare and serialise as JSON numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value


def serialize_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in to_dynamo(item).items()}


def deserialize_item(item: dict[str, Any]) -> dict[str, Any]:
    return from_dynamo({k: _deserializer.deserialize(v) for k, v in item.items()})


def now_epoch() -> int:
    return int(time.time())
