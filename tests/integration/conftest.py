"""Fixtures for tests that run the package against moto server and the emulators over HTTP."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator

import boto3
import pytest

from local.aws import MotoServer, aws_environment
from sos_wiz_sync.store.dynamo import dynamodb_client, dynamodb_resource

KEYS = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
KEY_ATTRIBUTES = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server for the session; boto3 in this process points at it."""
    with MotoServer() as server:
        saved = {key: os.environ.get(key) for key in aws_environment(server.endpoint_url)}
        os.environ.update(aws_environment(server.endpoint_url))
        dynamodb_resource.cache_clear()
        dynamodb_client.cache_clear()
        yield server.endpoint_url
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        dynamodb_resource.cache_clear()
        dynamodb_client.cache_clear()


@pytest.fixture
def state_table(moto_endpoint) -> str:
    """A fresh sync-state table shaped like the template's StateTable."""
    name = f"state-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=KEYS,
        AttributeDefinitions=KEY_ATTRIBUTES + [{"AttributeName": "gsi1pk", "AttributeType": "S"},
                                               {"AttributeName": "gsi1sk", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "gsi1", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"},
                                               {"AttributeName": "gsi1sk", "KeyType": "RANGE"}]}])
    return name


@pytest.fixture
def make_secret(moto_endpoint):
    def create(value: dict) -> str:
        secret_id = f"secret-{uuid.uuid4().hex[:8]}"
        boto3.client("secretsmanager").create_secret(Name=secret_id, SecretString=json.dumps(value))
        return secret_id
    return create
