"""The pull function's logic: one SQS message (from the Scheduler or a continuation) runs one
stream on the engine."""

from __future__ import annotations

from typing import Any

import boto3
from pydantic import BaseModel, Field

from ..config import PullSettings, SosApiSettings, TablesSettings, WizApiSettings
from ..secrets import SecretStore
from ..store.leases import Leases
from ..store.mappings import Mappings
from ..store.state import SyncState
from ..wiring import build_sos_client, build_wiz_client
from .engine import LambdaContext, SyncEngine, continuation_message
from .first_sync import FIRST_SYNC, FirstSync
from .first_sync_gate import first_sync_before
from .streams import PullDeps, build_streams


class PullRequest(BaseModel):
    """What the Scheduler sends ({"stream"}) or a run sends itself to continue ({"stream", "run_id"})."""

    stream: str = Field(min_length=1)
    run_id: str | None = None


class PullRuntime:
    """Built once per cold start from the function's environment."""

    def __init__(self) -> None:
        tables = TablesSettings()
        pull = PullSettings()
        wiz_api = WizApiSettings()
        secrets = SecretStore()
        state = SyncState(tables.state_table)
        sos = build_sos_client(SosApiSettings(), state_table=tables.state_table, secrets=secrets)
        wiz = build_wiz_client(wiz_api, secrets=secrets)
        sqs = boto3.client("sqs")

        def continue_run(stream: str, run_id: str) -> None:
            sqs.send_message(QueueUrl=pull.pull_queue_url, MessageBody=continuation_message(stream, run_id))

        def enqueue_push(body: str, group: str, dedup: str) -> None:
            sqs.send_message(QueueUrl=pull.push_queue_url, MessageBody=body, MessageGroupId=group,
                             MessageDeduplicationId=dedup)

        def enqueue_inventory_recheck(message: dict[str, str]) -> None:
            sqs.send_message(QueueUrl=pull.inventory_hook_queue_url, **message)

        leases = Leases(tables.state_table)
        self.deps = PullDeps(sos=sos, wiz=wiz, state=state, wiz_concurrency=wiz_api.wiz_max_concurrency,
                             mappings=Mappings(tables.mappings_table), order_number_prefix=pull.order_number_prefix,
                             order_number_suffix=pull.order_number_suffix,
                             enqueue_push=enqueue_push if pull.push_queue_url else None,
                             enqueue_inventory_recheck=(enqueue_inventory_recheck if pull.inventory_hook_queue_url
                                                        else None),
                             reconciliation_lag_seconds=pull.reconciliation_lag_seconds,
                             payment_route=pull.payment_route)
        self.streams = build_streams(self.deps)
        self.engine = SyncEngine(sos=sos, wiz=wiz, state=state, leases=leases,
                                 continue_run=continue_run, concurrency=wiz_api.wiz_max_concurrency,
                                 time_reserve_ms=pull.pull_time_reserve_ms)
        # R-TIME-2: a one-time job, not a stream; it continues itself with {"stream": "first-sync"}.
        self.first_sync = FirstSync(self.deps, leases=leases, time_reserve_ms=pull.pull_time_reserve_ms,
                                    continue_run=lambda: sqs.send_message(
                                        QueueUrl=pull.pull_queue_url, MessageBody=PullRequest(
                                            stream=FIRST_SYNC).model_dump_json(exclude_none=True)))

    def handle(self, body: str, context: LambdaContext) -> dict[str, Any]:
        request = PullRequest.model_validate_json(body)
        if request.stream == FIRST_SYNC:
            return self.first_sync.run(context)
        stream = self.streams.get(request.stream)
        if stream is None:
            raise ValueError(f"unknown pull stream {request.stream!r}; known: {sorted(self.streams)}")
        first_sync = None if request.run_id else first_sync_before(stream, self.deps, self.first_sync, context)
        report = self.engine.run(stream, context, run_id=request.run_id)
        return {**report, "first_sync": first_sync} if first_sync else report
