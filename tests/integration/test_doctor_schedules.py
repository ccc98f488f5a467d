"""doctor's schedules check on AWS: the stack's AWS::Scheduler::Schedule resources read back from
EventBridge Scheduler (moto server), created as CloudFormation creates them from template.yaml.
moto's CloudFormation has no AWS::Scheduler::Schedule, so the stack's resource list and
parameters are given as CloudFormation's describe calls return them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import boto3

from local.template import Template
from sos_wiz_sync.ops.doctor import DoctorContext, aws_schedule_view, check_schedules

ROOT = Path(__file__).resolve().parents[2]
SCHEDULE = "AWS::Scheduler::Schedule"


def deployed_schedules(scheduler, parameters: dict[str, str]) -> SimpleNamespace:
    """template.yaml's schedules created in EventBridge Scheduler; a CloudFormation stand-in naming them."""
    template = Template(ROOT / "template.yaml", parameters=parameters, stack_name="prod")
    resources = []
    for logical_id in template.resources(SCHEDULE):
        name = f"prod-{logical_id}-X1"
        scheduler.create_schedule(
            Name=name, ScheduleExpression=template.prop(logical_id, "ScheduleExpression"),
            FlexibleTimeWindow={"Mode": "OFF"}, State=template.prop(logical_id, "State"),
            Target={"Arn": "arn:aws:sqs:us-east-1:123456789012:prod-PullQueue", "RoleArn":
                    "arn:aws:iam::123456789012:role/prod-SchedulerRole",
                    "Input": template.prop(logical_id, "Target", "Input")})
        resources.append({"ResourceType": SCHEDULE, "PhysicalResourceId": name, "LogicalResourceId": logical_id})
    stack_parameters = [{"ParameterKey": key, "ParameterValue": value} for key, value in template.parameters.items()
                        if isinstance(value, str)]
    return SimpleNamespace(
        describe_stacks=lambda StackName: {"Stacks": [{"Parameters": stack_parameters}]},
        describe_stack_resources=lambda StackName: {"StackResources": resources})


def test_schedules_as_deployed_are_green_and_one_disabled_in_the_console_is_red(moto_endpoint):
    scheduler = boto3.client("scheduler")
    cloudformation = deployed_schedules(scheduler, {"EnableProductsPull": "false"})
    ctx = DoctorContext(values={}, secretsmanager=None, sqs=None, state=None, dead_letter_queues=[],
                        schedules=lambda: aws_schedule_view(cloudformation, scheduler, "prod"), stack="prod")

    [check] = check_schedules(ctx)
    assert check.ok, check
    assert "enabled (EventBridge Scheduler); off by parameter: products" in check.detail
    assert "products" not in ctx.scheduled_streams and "inventory" in ctx.scheduled_streams

    # Someone disables the orders schedule in the console
    orders = scheduler.get_schedule(Name="prod-OrdersPullSchedule-X1")
    scheduler.update_schedule(Name=orders["Name"], ScheduleExpression=orders["ScheduleExpression"],
                              FlexibleTimeWindow=orders["FlexibleTimeWindow"], Target=orders["Target"],
                              State="DISABLED")
    [check] = check_schedules(ctx)
    assert not check.ok and "prod-OrdersPullSchedule-X1" in check.detail
    assert check.fix.startswith("EventBridge console → Scheduler → Schedules → prod-OrdersPullSchedule-X1 → Enable")
    for schedule in scheduler.list_schedules()["Schedules"]:
        scheduler.delete_schedule(Name=schedule["Name"])
