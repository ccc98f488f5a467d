"""Secrets Manager access through Powertools Parameters (cached, JSON-decoded)."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider

# Long enough to spare Secrets Manager calls on warm invocations, short enough that a rotated
# webhook secret or an operator's new SOS token is picked up within minutes.
SECRET_MAX_AGE_SECONDS = 300


class SecretStore:
    def __init__(self, provider: SecretsProvider | None = None):
        # boto3's default session, which the function's other clients share: SecretsProvider() would
        # open a session of its own and load botocore's endpoint data again (~0.05-0.1 s cold).
        self._provider = provider or SecretsProvider(boto3_client=boto3.client("secretsmanager"))

    def read(self, secret_id: str, *, fresh: bool = False) -> dict[str, Any]:
        value = self._provider.get(secret_id, transform="json", max_age=SECRET_MAX_AGE_SECONDS, force_fetch=fresh)
        if not isinstance(value, dict):
            raise ValueError(f"secret {secret_id} must hold a JSON object")
        return value

    def write(self, secret_id: str, value: dict[str, Any]) -> None:
        self._provider.set(secret_id, value)
        # The cache holds the old version now; the next read must see what we wrote.
        self._provider.clear_cache()
