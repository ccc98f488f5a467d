"""Stand-ins for the AWS clients a unit under test is handed (no network, no moto)."""

from __future__ import annotations


class FakeSecrets:
    """A SecretStore whose secret holds `value`."""

    def __init__(self, value: dict):
        self.value = value

    def read(self, secret_id: str) -> dict:
        return self.value


class FakeSqs:
    """An SQS client that keeps what was sent."""

    def __init__(self):
        self.sent: list[dict] = []

    def send_message(self, **message) -> dict:
        self.sent.append(message)
        return {"MessageId": str(len(self.sent))}

    def send_message_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:  # noqa: N803 - boto3's names
        for entry in Entries:
            self.sent.append({"QueueUrl": QueueUrl, **{k: v for k, v in entry.items() if k != "Id"}})
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries], "Failed": []}
