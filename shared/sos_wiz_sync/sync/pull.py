"""The pull function's logic: one SQS message (from the Scheduler or a continuation) runs one
stream on the engine."""

from __future__ import annotations

from typing import Any

import boto3
from pydantic import BaseModel, Field

from ..config import PullSettings, SosApiSettings, TablesSettings, WizApiSettings
from ..secrets import SecretStore
from ..store.leases import Leases
from ..store.state import SyncState
from ..wiring import build_sos_client, build_wiz_client
from .engine import LambdaContext, SyncEngine, continuation_message
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

        self.streams = build_streams(PullDeps(sos=sos, wiz=wiz, state=state,
                                              wiz_concurrency=wiz_api.wiz_max_concurrency))
        self.engine = SyncEngine(sos=sos, wiz=wiz, state=state, leases=Leases(tables.state_table),
                                 continue_run=continue_run, concurrency=wiz_api.wiz_max_concurrency,
                                 time_reserve_ms=pull.pull_time_reserve_ms)

    def handle(self, body: str, context: LambdaContext) -> dict[str, Any]:
        request = PullRequest.model_validate_json(body)
        stream = self.streams.get(request.stream)
        if stream is None:
            raise ValueError(f"unknown pull stream {request.stream!r}; known: {sorted(self.streams)}")
        return self.engine.run(stream, context, run_id=request.run_id)
