"""EventBridge Scheduler: a schedule fires by sending its Target.Input to its queue, or by
invoking its function with it; `rate(...)` schedules fire on their own once the scheduler runs."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import boto3
from boto3.dynamodb.conditions import Key

import pytest

from local.template import TemplateError


def test_firing_sends_the_input_with_context_attributes_to_the_target_queue(runtime):
    at = datetime(2026, 3, 1, 20, 0, tzinfo=timezone.utc)
    message_id = runtime.fire_schedule("WorkSchedule", scheduled_time=at)
    [message] = runtime.sqs.receive_message(QueueUrl=runtime.ref("WorkQueue"), MessageSystemAttributeNames=["All"],
                                            VisibilityTimeout=0)["Messages"]
    assert message["MessageId"] == message_id
    assert json.loads(message["Body"]) == {"id": "scheduled", "action": "ok", "at": "2026-03-01T20:00:00Z"}
    assert message["Attributes"]["MessageGroupId"] == "schedule"
    assert runtime.drain("WorkQueue").deleted == 1


def test_a_disabled_schedule_does_not_fire(make_runtime):
    runtime = make_runtime(parameters={"Stage": "prod"})  # State: !If [IsProd, DISABLED, ENABLED]
    with pytest.raises(RuntimeError, match="WorkSchedule: State is DISABLED"):
        runtime.fire_schedule("WorkSchedule")


def test_a_schedule_whose_condition_is_false_does_not_exist(make_runtime):
    runtime = make_runtime(parameters={"EnableWork": "false"})
    assert runtime.schedules == {}
    with pytest.raises(KeyError, match="no schedule 'WorkSchedule'"):
        runtime.fire_schedule("WorkSchedule")


def test_a_fifo_target_needs_a_message_group(make_runtime, write_template):
    path = write_template("""
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {FifoQueue: true, ContentBasedDeduplication: true}
  Every:
    Type: AWS::Scheduler::Schedule
    Properties:
      ScheduleExpression: rate(1 hour)
      FlexibleTimeWindow: {Mode: 'OFF'}
      Target: {Arn: !GetAtt Queue.Arn, RoleArn: arn:aws:iam::123456789012:role/x, Input: '{}'}
""")
    with pytest.raises(TemplateError, match="Every.Properties.Target: a FIFO queue target needs SqsParameters"):
        make_runtime(path)


def ticks(runtime) -> list[str]:
    table = boto3.resource("dynamodb", endpoint_url=runtime.endpoint_url).Table(runtime.ref("StateTable"))
    return [item["sk"] for item in table.query(KeyConditionExpression=Key("pk").eq("SEEN#tick"))["Items"]]


def test_a_function_target_is_invoked_with_the_input_and_the_execution_id_is_returned(runtime):
    execution_id = runtime.fire_schedule("TickSchedule")
    assert ticks(runtime) == [execution_id]


def test_the_scheduler_fires_rate_schedules_on_their_interval_compressed_for_tests(runtime):
    runtime.start_scheduler(seconds_per_minute=0.2)  # rate(1 minute) every 0.2 s
    time.sleep(1.1)
    runtime.stop_scheduler()
    fired = len(ticks(runtime))
    assert 3 <= fired <= 6
    assert runtime.sqs.receive_message(QueueUrl=runtime.ref("WorkQueue")).get("Messages") is None  # cron: by hand
    time.sleep(0.5)
    assert len(ticks(runtime)) == fired  # stopped
