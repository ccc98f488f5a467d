"""The push path on the local stack: template.yaml's WebhookIngressFunction, WcPollFunction (fired
through its schedule) and PushFunction run by local/runner.py on moto server (API Gateway HTTP
API front, the FIFO PushQueue event source with partial batch failures, PushDLQ and its
redrive), talking to the SOS and WizCommerce emulators over HTTP. WizCommerce's webhooks (for
customers only) are taken from its outbox and posted to the route; orders come by the poll."""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from moto.dynamodb import models as moto_dynamodb_models
from moto.dynamodb.models.table import Table as DynamoTable

from local.aws import aws_environment
from local.runner import LocalRuntime
from local.stack import LOCAL_WEBHOOK_SECRET, EmbeddedStack
from sos_wiz_sync.store.dynamo import dynamodb_client, dynamodb_resource
from sos_wiz_sync.store.mappings import Mappings
from sos_wiz_sync.store.state import SyncState

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_ROUTE = "/webhooks/wizcommerce"
MAX_RECEIVE_COUNT = 4  # PushMaxReceiveCount here: fewer rounds than the template's default
SEED_ITEMS = 60
SEED_CUSTOMERS = 12


class _TransactionBackupByReference:
    """Stands in for `copy` inside moto's DynamoDB backend.

    Before a TransactWriteItems, moto backs up each table it touches with a deep copy: O(table
    size) per transaction, so storing a thousand order mappings (Mappings.link is one
    transaction) takes minutes where real DynamoDB takes milliseconds. This backup copies only
    the table's index of partition keys (a C-level dict copy). Rollback stays exact for what the
    project's transactions do — Mappings.link puts two items whose conditions make a partial
    write land only on a new partition key, which the copied index does not have.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if not isinstance(value, DynamoTable):
            return copy.deepcopy(value, memo)
        backup = copy.copy(value)
        backup.items = value.items.copy()
        return backup


def delivered_record(body: bytes | str, group_id: str, queue_arn: str) -> dict[str, Any]:
    """The SQS event record of a message sent with `body` to group `group_id` (no queue involved)."""
    text = body.decode() if isinstance(body, bytes) else body
    return {"messageId": str(uuid.uuid4()), "receiptHandle": uuid.uuid4().hex, "body": text,
            "attributes": {"MessageGroupId": group_id, "ApproximateReceiveCount": "1"}, "messageAttributes": {},
            "md5OfBody": hashlib.md5(text.encode()).hexdigest(),  # noqa: S324 - what SQS uses
            "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": "us-east-1"}


class PushStack:
    def __init__(self, *, parameters: dict[str, str] | None = None, wiz_secret: dict[str, Any] | None = None,
                 containers: bool = False):
        """`parameters`: template parameter overrides; `wiz_secret`: keys added to the WC secret;
        `containers`: the functions run in containers, in parallel (else in this process, where
        a test can reach into them)."""
        self.embedded = EmbeddedStack(items=SEED_ITEMS, customers=SEED_CUSTOMERS)
        self._parameters = {"OrderNumberPrefix": "WC-", "PushMaxReceiveCount": str(MAX_RECEIVE_COUNT),
                            **(parameters or {})}
        self._wiz_secret = wiz_secret or {}
        self._containers = containers
        self.runtime: LocalRuntime | None = None
        self.outbox_read = 0

    @property
    def sos(self):
        return self.embedded.sos

    @property
    def wiz(self):
        return self.embedded.wiz

    @property
    def seeded(self) -> dict[str, Any]:
        return self.embedded.summary

    def start(self, monkeypatch: pytest.MonkeyPatch) -> "PushStack":
        endpoints = self.embedded.start()
        secrets = self.embedded.secret_values()
        secrets["WizSecret"] = {**secrets["WizSecret"], **self._wiz_secret}
        self.runtime = LocalRuntime(ROOT / "template.yaml", stack_name=f"push-{uuid.uuid4().hex[:6]}",
                                    endpoint_url=endpoints.aws, secret_values=secrets,
                                    parameters={**self.embedded.parameter_overrides(), **self._parameters},
                                    containers=self._containers)
        self.runtime.start()
        # The test reads our tables with the package's own stores, pointed at this moto.
        for name, value in aws_environment(endpoints.aws).items():
            monkeypatch.setenv(name, value)
        dynamodb_resource.cache_clear()
        dynamodb_client.cache_clear()
        self.mappings = Mappings(self.runtime.ref("MappingsTable"))
        self.state = SyncState(self.runtime.ref("StateTable"))
        return self

    def stop(self) -> None:
        if self.runtime is not None:
            self.runtime.stop()
        self.embedded.stop()
        dynamodb_resource.cache_clear()
        dynamodb_client.cache_clear()

    # -- WizCommerce → the webhook route ------------------------------------------------------
    def post(self, body: bytes, headers: dict[str, str]) -> int:
        return self.runtime.invoke_http("POST", WEBHOOK_ROUTE, body, headers).status

    def new_events(self) -> list[dict[str, Any]]:
        """Events WizCommerce emitted since the last call: {"envelope", "body", "headers"}."""
        events = self.wiz.outbox[self.outbox_read:]
        self.outbox_read += len(events)
        return events

    def deliver(self, events: list[dict[str, Any]]) -> list[int]:
        """Post events as WizCommerce sent them (signed body, headers); the answers' status codes."""
        return [self.post(event["body"], event["headers"]) for event in events]

    def poll(self) -> None:
        """One scheduled WC change poll (WcPollSchedule → WcPollFunction → PushQueue)."""
        self.runtime.fire_schedule("WcPollSchedule")

    def sync(self) -> list[int]:
        """Deliver what WizCommerce emitted, run the WC change poll and drain the push queue,
        until our own writes' echoes are through too; returns the webhook answers."""
        answers = []
        while True:
            answers += self.deliver(self.new_events())
            self.poll()
            self.runtime.drain("PushQueue")
            if len(self.wiz.outbox) == self.outbox_read:
                return answers

    # -- the push function and its queues ------------------------------------------------------
    @property
    def queue_arn(self) -> str:
        return self.runtime.queues["PushQueue"].arn

    def invoke_push(self, records: list[dict[str, Any]]) -> set[str]:
        """Hand records to PushFunction directly; returns the ids it reported failed."""
        answer = self.runtime.invoke("PushFunction", {"Records": records})
        return {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}

    def send_to_push_queue(self, body: str, group_id: str) -> None:
        self.runtime.sqs.send_message(QueueUrl=self.runtime.ref("PushQueue"), MessageBody=body,
                                      MessageGroupId=group_id, MessageDeduplicationId=uuid.uuid4().hex)

    def dlq_messages(self) -> list[dict[str, Any]]:
        """What PushDLQ holds (left there: received with no visibility timeout)."""
        return self.runtime.sqs.receive_message(
            QueueUrl=self.runtime.ref("PushDLQ"), MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"], VisibilityTimeout=0).get("Messages", [])

    def redrive(self) -> int:
        """The console's "Start DLQ redrive" back to PushQueue."""
        return self.runtime.redrive("PushDLQ")

    # -- what ended where ------------------------------------------------------------------------
    def sos_orders_numbered(self, number: str) -> list[dict]:
        return [order for order in self.sos.sales_orders.values() if order["number"] == number]

    def the_sos_order(self, wc_order: dict) -> dict:
        [sos_order] = self.sos_orders_numbered(f"WC-{wc_order['display_id']}")
        return sos_order

    def wc_order(self, wc_id: str) -> dict:
        return self.wiz.orders[wc_id]

    def product_for_item(self, item_id: int) -> dict:
        return next(p for p in self.wiz.products.values() if p["reference_id"] == str(item_id))

    def mapped_items(self) -> list[int]:
        """SOS stock items a WC product links to by Reference ID."""
        excluded = {*self.seeded["unmapped_item_ids"], *self.seeded["products_without_reference_item_ids"],
                    *self.seeded["archived_item_ids"]}
        return [item["id"] for item in self.sos.items.values()
                if item["type"] == "Inventory Item" and item["id"] not in excluded]

    def change_message(self, entity: str, wc_id: str, message_id: str, source: str = "poll") -> str:
        return json.dumps({"id": message_id, "entity": entity, "wc_id": wc_id, "source": source})

    def place_order(self, items: list[int], *, customer: str = "cust_2", **fields: Any) -> dict:
        """A WC order of two of each item at 12.50 (confirmed unless `status` says otherwise)."""
        lines = [{"product_id": self.product_for_item(item)["id"], "quantity": 2, "unit_price": 12.5}
                 for item in items]
        return self.wiz.create_order(customer, lines, **fields)


def started_push_stack(monkeypatch: pytest.MonkeyPatch, *, first_sync_done: bool = True, **options: Any) -> PushStack:
    """A started stack; by default as a deployment whose first sync is done (the WC change poll
    waits for it, R-TIME-2), all WC records made by the test being new since."""
    monkeypatch.setattr(moto_dynamodb_models, "copy", _TransactionBackupByReference())
    stack = PushStack(**options)
    stack.wiz.set_webhook_target(None, secret=LOCAL_WEBHOOK_SECRET)  # events land in the outbox, signed
    stack.start(monkeypatch)
    if first_sync_done:
        stack.state.save_first_sync_status({"status": "done", "run_id": "before-the-test",
                                            "finished_at": datetime.now(timezone.utc).isoformat()})
    return stack


@pytest.fixture
def push_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[PushStack]:
    stack = started_push_stack(monkeypatch)
    yield stack
    stack.stop()


def event_body(event: dict[str, Any]) -> dict[str, Any]:
    return json.loads(event["body"])
