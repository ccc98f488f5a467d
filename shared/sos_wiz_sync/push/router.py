"""The push function's logic: each SQS record says "WC record X changed"; the record's current
state is read from WizCommerce and brought to SOS (R-PUSH-1), exactly once.

- Batch: each message group (one WC record) through Powertools' FIFO partial processor — a
  failed record fails only the later records of its own group, which keeps that record's messages
  in order while other records go on. The groups of a batch are pushed side by side (threads): a
  push mostly waits for its slot of the deployment's SOS budget (issue 20), which spaces the SOS
  calls whatever the number of pushes waiting, so one after another only made the last order of a
  poll's burst wait for every earlier order's WizCommerce and DynamoDB work as well.
- Exactly once: what was last pushed is kept as a fingerprint on the record's mapping, so a
  change announced again (webhook redelivery, the poll, reconciliation) or our own write to WC
  finds nothing new to push. Powertools Idempotency keyed on the announcement id spares a
  redelivered message even the WC read. A failure raises out of the idempotent function, so no
  "done" record is kept and a redrive after the fix applies it. Beneath that, every SOS create
  is guarded by a lookup of its unique number.
- Failures: permanent ones are recorded with their reason and parked in the DLQ at once;
  transient ones are recorded and raised, so SQS retries and, after maxReceiveCount, parks.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from ..config import PushSettings, SosApiSettings, TablesSettings, WizApiSettings
from ..observability import add_metric, logger
from ..rules.contract import WEBHOOK_AUTH_READINGS
from ..rules.push_config import PushConfig
from ..secrets import SecretStore
from ..store.contract import ContractReadings
from ..store.leases import Leases
from ..store.mappings import Mappings
from ..store.state import WEBHOOK_HEARTBEAT, SyncState
from ..wiring import ContractFollower, build_sos_client, build_wiz_client
from .customers import push_customer
from .deps import PushDeps
from .events import NOTED_REASON, RecordChanged, record_key, validation_reason
from .failures import PermanentPushFailure, RecordBusy, is_permanent, push_failure_reason
from .orders import push_order
from .outcome import PushOutcome
from .parking import DeadLetterParking

# Stable across refactors: the idempotency key must not change when a function is renamed,
# or messages applied before a deploy would be applied again after it.
IDEMPOTENCY_KEY_PREFIX = "push-change"
# Redeliveries come in bursts (a webhook retried, a DLQ redriven): a container answers the
# ones it applied recently from its own cache, the rest from the idempotency table.
LOCAL_CACHE_EVENTS = 1024
# Waiting for another invocation is not a failure worth a state record: the retry just waits.
WAITS = (RecordBusy, IdempotencyAlreadyInProgressError)
# Message groups pushed at once: PushQueue's BatchSize (template.yaml), so a batch's groups all go
# together. Their SOS calls are spaced by the shared budget, not by this number.
GROUPS_AT_ONCE = 10


def apply_change(deps: PushDeps, message: RecordChanged) -> PushOutcome:
    if message.entity == "order":
        outcome = push_order(deps, message.wc_id)
    else:
        outcome = push_customer(deps, message.wc_id)
    # The record's story for `sos-wiz-ops trace` (R-OPS-3). Here, inside the idempotent function,
    # so a redelivered message that SOS never sees again does not show up as a second push.
    deps.state.record_event(outcome.entity, outcome.wc_id, outcome.status, source="push", message_id=message.id,
                            trigger=message.event or message.source, sos_id=outcome.sos_id, reason=outcome.reason)
    return outcome


class PushRuntime:
    def __init__(self, *, deps: PushDeps, parking: DeadLetterParking, persistence: DynamoDBPersistenceLayer,
                 ttl_seconds: int, contract: ContractFollower):
        self._deps = deps
        self._contract = contract
        self._parking = parking
        self._idempotency = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=ttl_seconds,
                                              raise_on_no_idempotency_key=True, use_local_cache=True,
                                              local_cache_max_items=LOCAL_CACHE_EVENTS)
        self._apply: Callable[..., PushOutcome] = idempotent_function(
            lambda message: apply_change(self._deps, message), data_keyword_argument="message",
            persistence_store=persistence,
            config=self._idempotency, output_serializer=PydanticSerializer(PushOutcome),
            key_prefix=IDEMPOTENCY_KEY_PREFIX)
        # Configured here, not by the first call: two groups' first calls would race to configure it.
        persistence.configure(self._idempotency, key_prefix=IDEMPOTENCY_KEY_PREFIX)
        self._groups = ThreadPoolExecutor(max_workers=GROUPS_AT_ONCE, thread_name_prefix="push-group")

    @classmethod
    def from_environment(cls) -> "PushRuntime":
        tables, settings, secrets = TablesSettings(), PushSettings(), SecretStore()
        sos = build_sos_client(SosApiSettings(), state_table=tables.state_table, secrets=secrets)
        wiz = build_wiz_client(WizApiSettings(), secrets=secrets)
        contract = ContractFollower(ContractReadings(tables.state_table), sos, wiz,
                                    reread_seconds=settings.contract_reread_seconds)
        deps = PushDeps(sos=sos, wiz=wiz, mappings=Mappings(tables.mappings_table), state=SyncState(tables.state_table),
                        leases=Leases(tables.state_table),
                        config=PushConfig.from_settings(settings, contract.follow()),  # R-OPS-5
                        first_use=contract.store.record_first_use)  # WC-A6, WC-A7
        return cls(deps=deps, parking=DeadLetterParking(sqs=boto3.client("sqs"), queue_url=settings.push_dlq_url),
                   persistence=DynamoDBPersistenceLayer(table_name=settings.idempotency_table),
                   ttl_seconds=settings.idempotency_ttl_seconds, contract=contract)

    def handle_batch(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        self._idempotency.register_lambda_context(context)  # a timeout must not leave "in progress" behind
        readings = self._contract.follow_if_due()  # R-OPS-5: settled since this container started
        if readings is not None:
            self._deps = replace(self._deps, config=replace(self._deps.config, contract=readings))
        groups: dict[str, list[dict[str, Any]]] = {}
        for record in event["Records"]:  # in queue order: a group's records stay in it
            groups.setdefault(record.get("attributes", {}).get("MessageGroupId", ""), []).append(record)
        answers = list(self._groups.map(lambda records: self._push_group(records, context), groups.values()))
        wholly_failed = [answer for answer in answers if isinstance(answer, BatchProcessingError)]
        if answers and len(wholly_failed) == len(answers):
            # Every record failed: raised, as Powertools does, so Lambda returns the whole batch.
            raise BatchProcessingError("All records failed processing",
                                       [error for answer in wholly_failed for error in answer.child_exceptions])
        failures: list[dict[str, str]] = []
        for records, answer in zip(groups.values(), answers):
            failures += ([{"itemIdentifier": record["messageId"]} for record in records]
                         if isinstance(answer, BatchProcessingError) else answer)
        return {"batchItemFailures": failures}

    def _push_group(self, records: list[dict[str, Any]], context: LambdaContext) -> list | BatchProcessingError:
        """One message group's records in order: their failures, or the error when all failed."""
        processor = SqsFifoPartialProcessor(skip_group_on_error=True)
        try:
            with processor(records, self.handle_record, context):
                processor.process()
        except BatchProcessingError as every_record_failed:
            return every_record_failed
        return processor.response()["batchItemFailures"]

    def handle_record(self, record: SQSRecord) -> dict[str, Any]:
        try:
            message = RecordChanged.model_validate_json(record.body)
        except ValidationError as exc:  # not from our ingress or poll, which validate: park it for a look
            return self._park(record, ("message", record.message_id),
                              f"not a push message: {validation_reason(exc)}", {})
        logger.thread_safe_append_keys(correlation_id=message.id)  # this group's thread only
        if message.source == "webhook":
            self._deps.state.record_heartbeat(WEBHOOK_HEARTBEAT)  # `sos-wiz-ops doctor`: webhooks arrive
            if message.auth:  # WC-A6: the form the ingress verified, recorded at the first delivery
                self._deps.first_use("WC-A6", WEBHOOK_AUTH_READINGS[message.auth],
                                     f"webhook {message.id} ({message.event}) verified by {message.auth}")
        if message.entity == "address":
            return self._note(message)
        key = record_key(message)
        try:
            outcome = self._apply(message=message)
        except WAITS:
            raise
        except Exception as exc:
            reason = push_failure_reason(exc)
            details = {"message_id": message.id, "trigger": message.event or message.source}
            if is_permanent(exc):
                lines = exc.details() if isinstance(exc, PermanentPushFailure) else {}
                return self._park(record, key, reason, {**details, **lines})
            self._deps.state.record_failure(*key, reason=reason, details={**details, "disposition": "retrying"})
            logger.warning("push failed; SQS retries it", extra={"entity": key[0], "wc_id": key[1], "reason": reason})
            add_metric("PushRetried")
            raise
        logger.info("push applied", extra=outcome.model_dump())
        add_metric("PushIgnored" if outcome.status == "ignored" else "PushApplied")
        return outcome.model_dump()

    def _note(self, message: RecordChanged) -> dict[str, Any]:
        """An address event (WC-A7): it names no customer, so nothing is pushed; that such events
        arrive under these names is recorded the first time. No idempotency record: noting twice
        changes nothing (the recorder writes once)."""
        self._deps.first_use("WC-A7", "delivered", f"webhook {message.id} named {message.event}")
        logger.info("webhook noted", extra={"event": message.event, "wc_id": message.wc_id})
        add_metric("PushNoted")
        return {"entity": message.entity, "wc_id": message.wc_id, "status": "noted", "reason": NOTED_REASON}

    def _park(self, record: SQSRecord, key: tuple[str, str], reason: str, details: dict[str, Any]) -> dict[str, Any]:
        # parked in the DLQ either way (its alarm); a failure may name its own kind (cancel-blocked)
        self._deps.state.record_failure(*key, reason=reason, details={"disposition": "parked-in-dlq", **details})
        self._parking.park(record, reason)
        logger.warning("push parked in the DLQ", extra={"entity": key[0], "wc_id": key[1], "reason": reason})
        add_metric("PushParked")
        return {"entity": key[0], "wc_id": key[1], "status": "parked", "reason": reason}
