"""Functions in containers (`LocalRuntime(containers=True)`): each container a process of its own
with its warm state, up to the function's concurrency at once, SQS batches delivered in
parallel, FIFO message groups one batch at a time, a timeout killing its container.

Time is never asserted as a duration: the recorder fixture writes when each invocation ran, and
the tests compare those intervals (overlapping or not)."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest

from local.runner import FunctionTimeout, HandlerError, LocalRuntime

RECORDER_TEMPLATE = """
Resources:
  Queue:
    Type: AWS::SQS::Queue
  GroupedQueue:
    Type: AWS::SQS::Queue
    Properties: {{FifoQueue: true}}
  Recorder:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/recorder/
      Handler: app.handler
      Runtime: python3.13
      Timeout: 20
      Environment:
        Variables: {{RECORD_FOLDER: '{folder}', RENDEZVOUS_SECONDS: '{rendezvous}'}}
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt {queue}.Arn
            BatchSize: {batch_size}
            ScalingConfig: {{MaximumConcurrency: 2}}
"""


def recorder(make_runtime, write_template, tmp_path: Path, *, queue: str = "Queue", batch_size: int = 1,
             rendezvous: float = 2.0) -> LocalRuntime:
    """A runtime whose Recorder function takes `queue` two batches at a time; four containers
    would be allowed without its ScalingConfig (the default concurrency)."""
    folder = tmp_path / "records"
    folder.mkdir()
    template = write_template(RECORDER_TEMPLATE.format(folder=folder, rendezvous=rendezvous, queue=queue,
                                                       batch_size=batch_size))
    return make_runtime(template, containers=True, default_concurrency=4)


def records(runtime: LocalRuntime) -> list[dict]:
    folder = Path(runtime.functions["Recorder"].environment["RECORD_FOLDER"])
    return sorted((json.loads(path.read_text()) for path in folder.glob("*.json")), key=lambda r: r["start"])


def overlap(first: dict, second: dict) -> bool:
    return first["start"] < second["end"] and second["start"] < first["end"]


def most_at_once(runs: list[dict]) -> int:
    edges = sorted([(run["start"], 1) for run in runs] + [(run["end"], -1) for run in runs])
    running = peak = 0
    for _, step in edges:  # an end sorts before a start at the same instant
        running += step
        peak = max(peak, running)
    return peak


def send(runtime: LocalRuntime, queue: str, bodies: list[dict], group: str | None = None) -> None:
    for body in bodies:
        request = {"QueueUrl": runtime.ref(queue), "MessageBody": json.dumps(body)}
        if group:
            request.update(MessageGroupId=group, MessageDeduplicationId=uuid.uuid4().hex)
        runtime.sqs.send_message(**request)


def test_two_containers_of_one_function_process_batches_at_the_same_time_and_never_more(
        make_runtime, write_template, tmp_path):
    runtime = recorder(make_runtime, write_template, tmp_path)
    send(runtime, "Queue", [{"seq": n} for n in range(8)])
    # When the queue is drained by the function's event source (MaximumConcurrency 2)
    result = runtime.drain("Queue")
    # Then every message was handled once, by two processes, whose invocations overlapped in
    # time, and never more than two ran at once (four were allowed without ScalingConfig)
    runs = records(runtime)
    assert (result.received, result.deleted, result.errors) == (8, 8, [])
    assert sorted(body["seq"] for run in runs for body in run["bodies"]) == list(range(8))
    assert len({run["pid"] for run in runs}) == 2 and os.getpid() not in {run["pid"] for run in runs}
    assert any(overlap(a, b) for a in runs for b in runs if a["pid"] != b["pid"])
    assert most_at_once(runs) == 2


def test_the_pollers_run_the_same_batches_in_parallel(make_runtime, write_template, tmp_path):
    runtime = recorder(make_runtime, write_template, tmp_path)
    send(runtime, "Queue", [{"seq": n} for n in range(4)])
    runtime.start_pollers(interval_seconds=0.02)
    try:
        all_handled = wait_for(lambda: len(records(runtime)) == 4)
    finally:
        runtime.stop_pollers()
    assert all_handled and most_at_once(records(runtime)) == 2


def wait_for(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_warm_container_serves_the_next_invocations_until_it_is_recycled(make_runtime, write_template, tmp_path):
    runtime = recorder(make_runtime, write_template, tmp_path, rendezvous=0)
    for _ in range(3):
        runtime.invoke("Recorder", {})
    runtime.recycle("Recorder")
    runtime.invoke("Recorder", {})
    runs = records(runtime)
    # One process served the first three (its cold start once), a new one after the recycle
    assert [run["cold"] for run in runs] == [True, False, False, True]
    assert len({run["pid"] for run in runs[:3]}) == 1 and runs[3]["pid"] != runs[0]["pid"]


def test_a_fifo_group_is_handed_out_one_batch_at_a_time_in_order_while_groups_run_in_parallel(
        make_runtime, write_template, tmp_path):
    runtime = recorder(make_runtime, write_template, tmp_path, queue="GroupedQueue", batch_size=2)
    for group in ("a", "b"):
        send(runtime, "GroupedQueue", [{"group": group, "seq": n} for n in range(6)], group=group)
    result = runtime.drain("GroupedQueue")
    runs = records(runtime)
    assert (result.received, result.deleted, result.errors) == (12, 12, [])
    by_group = {group: [run for run in runs if run["bodies"][0]["group"] == group] for group in ("a", "b")}
    for group, group_runs in by_group.items():
        # A batch holds one group (here: its receive saw no other), and the group's batches ran
        # one after the other, in the order the messages were sent, each message received once
        assert all({body["group"] for body in run["bodies"]} == {group} for run in group_runs)
        assert not any(overlap(a, b) for a in group_runs for b in group_runs if a is not b), group
        assert [body["seq"] for run in group_runs for body in run["bodies"]] == list(range(6)), group
        assert {count for run in group_runs for count in run["receive_counts"]} == {"1"}
    # ... while the two groups were processed at the same time
    assert any(overlap(a, b) for a in by_group["a"] for b in by_group["b"])


def test_a_handler_running_past_its_timeout_has_its_container_killed(make_runtime, write_template, tmp_path):
    runtime = recorder(make_runtime, write_template, tmp_path, rendezvous=0)
    folder = Path(runtime.functions["Recorder"].environment["RECORD_FOLDER"])
    with pytest.raises(FunctionTimeout, match="Task timed out after 1 seconds"):
        runtime.invoke("Recorder", {"sleep": 30}, timeout_seconds=1)
    [running] = folder.glob("*.running")  # it never got to the end
    with pytest.raises(ProcessLookupError):
        os.kill(int(running.read_text()), 0)
    # The next invocation is a cold start in a new container
    runtime.invoke("Recorder", {})
    [run] = records(runtime)
    assert run["cold"] and run["pid"] != int(running.read_text())


def test_a_handler_error_comes_back_with_its_type_and_message(make_runtime):
    runtime = make_runtime(containers=True)
    send(runtime, "WorkQueue", [{"id": "boom", "action": "raise"}], group="g")
    result = runtime.drain("WorkQueue", max_batches=1)
    [error] = result.errors
    assert isinstance(error, HandlerError)
    assert (error.error_type, error.error_message) == ("RuntimeError", "the whole batch fails")
    assert any("raise RuntimeError" in line for line in error.stack_trace)


def test_a_containers_log_lines_are_on_stdout_before_its_invocation_returns(make_runtime, write_template,
                                                                            tmp_path, capsys):
    runtime = recorder(make_runtime, write_template, tmp_path, rendezvous=0)
    heard = []
    runtime.output_listeners.append(heard.append)
    runtime.invoke("Recorder", {})
    [pid] = {run["pid"] for run in records(runtime)}
    line = json.dumps({"level": "INFO", "message": "recording", "pid": pid}) + "\n"
    assert line in capsys.readouterr().out
    assert line in heard
