"""sos-wiz-ops pieces that need no AWS: where the names come from, what a parked message is about,
the progress bar."""

import io
import json
from types import SimpleNamespace

import pytest

from sos_wiz_sync.ops.cli import main
from sos_wiz_sync.ops.dead_letters import describe
from sos_wiz_sync.ops.render import ProgressBar
from sos_wiz_sync.ops.targets import OpsTargets, TargetsError, stack_values


def test_a_stack_gives_its_outputs_and_the_pull_functions_environment():
    cloudformation = SimpleNamespace(
        describe_stacks=lambda StackName: {"Stacks": [{"Outputs": [
            {"OutputKey": "StateTableName", "OutputValue": "state-from-output"},
            {"OutputKey": "PushDLQUrl", "OutputValue": "https://sqs/push-dlq.fifo"},
            {"OutputKey": "WebhookUrl", "OutputValue": "https://api/webhooks/wizcommerce"}]}]},
        describe_stack_resource=lambda StackName, LogicalResourceId: {
            "StackResourceDetail": {"PhysicalResourceId": f"{StackName}-{LogicalResourceId}-x1"}})
    functions = {"sos-wiz-sync-PullFunction-x1": {"Environment": {"Variables": {
        "STATE_TABLE": "state-from-function", "SOS_SECRET_ID": "arn:sos", "PULL_QUEUE_URL": "https://sqs/pull"}}}}
    lambda_client = SimpleNamespace(get_function_configuration=lambda FunctionName: functions[FunctionName])

    values = stack_values(cloudformation, lambda_client, "sos-wiz-sync")

    assert values == {"STATE_TABLE": "state-from-output", "PUSH_DLQ_URL": "https://sqs/push-dlq.fifo",
                      "WEBHOOK_URL": "https://api/webhooks/wizcommerce", "SOS_SECRET_ID": "arn:sos",
                      "PULL_QUEUE_URL": "https://sqs/pull"}


def test_dead_letter_queues_are_those_configured_and_asking_for_a_missing_one_names_it():
    targets = OpsTargets({"PUSH_DLQ_URL": "u1.fifo", "PUSH_QUEUE_URL": "u0.fifo", "PULL_DLQ_URL": "u3",
                          "PULL_QUEUE_URL": "u2"})
    assert [(q.name, q.url, q.source_url) for q in targets.dead_letter_queues()] == [
        ("push", "u1.fifo", "u0.fifo"), ("pull", "u3", "u2")]
    with pytest.raises(TargetsError, match="INVENTORY_HOOK_DLQ_URL"):
        targets.dead_letter_queues("inventory-hook")
    with pytest.raises(TargetsError, match="STATE_TABLE"):
        _ = targets.state_table


def sqs_message(body: str, **attributes: str) -> dict:
    return {"MessageId": "m-1", "Body": body, "Attributes": {"SentTimestamp": "1767225600000",
                                                             "ApproximateReceiveCount": "5"},
            "MessageAttributes": {name: {"DataType": "String", "StringValue": value}
                                  for name, value in attributes.items()}}


def test_a_parked_message_says_which_record_it_is_about_and_why():
    push = describe("push", sqs_message(json.dumps(
        {"id": "webhook_1", "entity": "customer", "wc_id": "cust_7", "source": "webhook", "event": "customer.updated"}),
        failure_reason="SOS answered 400: customer missing"))
    assert (push.entity, push.record_id, push.change_id, push.trigger, push.reason) == (
        "customer", "cust_7", "webhook_1", "customer.updated", "SOS answered 400: customer missing")
    assert push.sent_at.startswith("2026-01-01T00:00:00") and push.receive_count == 5
    assert push.matches("cust_7") and push.matches("webhook_1") and push.matches("m-1") and not push.matches("ord_2")
    polled = describe("push", sqs_message(json.dumps(
        {"id": "poll:order:ord_2:2026-01-01T00:00:00Z", "entity": "order", "wc_id": "ord_2", "source": "poll"})))
    assert (polled.entity, polled.record_id, polled.trigger) == ("order", "ord_2", "poll")

    assert (describe("pull", sqs_message('{"stream": "orders"}')).entity,
            describe("inventory-hook", sqs_message('{"item_id": 42}')).record_id) == ("stream", "42")
    unknown = describe("push", sqs_message("not json"))
    assert (unknown.entity, unknown.record_id, unknown.reason) == (None, None, None)


def test_the_progress_bar_fills_in_proportion_and_ends_its_line():
    out = io.StringIO()
    bar = ProgressBar(out, width=10)
    bar(200, 800)
    bar(900, 800)  # rows changed during the run: more than SOS counted at the start
    bar.close()
    assert out.getvalue() == "\r[##........]     200/800 rows\r[##########]     900/900 rows\n"
    ProgressBar(out).close()  # never drawn: nothing to end
    assert out.getvalue().count("\n") == 1


def test_a_name_nobody_gave_is_an_error_that_says_how_to_give_it(capsys):
    assert main(["reports"], environ={}) == 2
    assert "STATE_TABLE is not set: pass --stack, the matching flag, or export STATE_TABLE" in capsys.readouterr().err
