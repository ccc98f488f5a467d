"""EventBridge Scheduler: a schedule fires by sending its Target.Input to its queue."""

from __future__ import annotations

import json
from datetime import datetime, timezone

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
