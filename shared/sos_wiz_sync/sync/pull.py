"""The pull function's logic: one SQS message (from the Scheduler or a continuation) runs one
stream on the engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, Field

from .deps import PullDeps, pull_environment
from .engine import LambdaContext, SyncEngine, continuation_message
from .first_sync import FIRST_SYNC, first_sync_of
from .first_sync_gate import first_sync_before
from .streams import build_streams


class PullRequest(BaseModel):
    """What the Scheduler sends ({"stream"}) or a run sends itself to continue ({"stream", "run_id"})."""

    stream: str = Field(min_length=1)
    run_id: str | None = None


class PullRuntime:
    """Built once per cold start from the function's environment. `jobs`: requests that are not
    pull streams, by name, each run with the runtime's clients and tables (the daily ledger,
    R-OPS-4: the function composes it in, as sync/ does not know the ops layer)."""

    def __init__(self, jobs: Mapping[str, Callable[[PullDeps], dict[str, Any]]] | None = None) -> None:
        self.jobs = dict(jobs or {})
        environment = pull_environment()
        self.deps = environment.deps
        self.contract = environment.contract
        self.streams = build_streams(self.deps)
        self.engine = SyncEngine(sos=self.deps.sos, wiz=self.deps.wiz, state=self.deps.state,
                                 leases=environment.leases,
                                 continue_run=lambda stream, run_id: environment.send_to_pull_queue(
                                     continuation_message(stream, run_id)),
                                 concurrency=self.deps.wiz_concurrency,
                                 time_reserve_ms=environment.settings.pull_time_reserve_ms)
        # R-TIME-2: a one-time job, not a stream; it continues itself with {"stream": "first-sync"}.
        self.first_sync = first_sync_of(environment)

    def handle(self, body: str, context: LambdaContext) -> dict[str, Any]:
        request = PullRequest.model_validate_json(body)
        # R-OPS-5: a reading doctor or the first sync stored since this container started is
        # followed from this run on (one Query of the CONTRACT# items per invocation)
        self.contract.follow()
        if request.stream == FIRST_SYNC:
            return self.first_sync.run(context)
        if request.stream in self.jobs:
            return self.jobs[request.stream](self.deps)
        stream = self.streams.get(request.stream)
        if stream is None:
            raise ValueError(f"unknown pull stream {request.stream!r}; known: {sorted(self.streams)}")
        first_sync = None if request.run_id else first_sync_before(stream, self.deps, self.first_sync, context)
        report = self.engine.run(stream, context, run_id=request.run_id)
        return {**report, "first_sync": first_sync} if first_sync else report
