"""The template's tables, queues and secrets exist in moto with the template's properties."""

from __future__ import annotations

import json

import pytest

from local.template import TemplateError


def attributes(runtime, queue_id):
    return runtime.sqs.get_queue_attributes(QueueUrl=runtime.ref(queue_id), AttributeNames=["All"])["Attributes"]


def test_table_has_key_schema_gsi_and_ttl(runtime):
    name = runtime.ref("StateTable")
    table = runtime.dynamodb.describe_table(TableName=name)["Table"]
    assert name == f"{runtime.template.stack_name}-StateTable"
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"},
                                  {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    [index] = table["GlobalSecondaryIndexes"]
    assert (index["IndexName"], index["Projection"]) == ("gsi1", {"ProjectionType": "ALL"})
    ttl = runtime.dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}


def test_queues_have_fifo_delay_and_redrive_attributes(make_runtime):
    runtime = make_runtime(parameters={"CoalesceWindowSeconds": 7, "MaxReceiveCount": 4})
    work = attributes(runtime, "WorkQueue")
    assert work["FifoQueue"] == "true" and work["ContentBasedDeduplication"] == "true"
    assert work["VisibilityTimeout"] == "60"
    assert json.loads(work["RedrivePolicy"]) == {"deadLetterTargetArn": runtime.queues["WorkDLQ"].arn,
                                                 "maxReceiveCount": 4}
    assert runtime.queues["WorkQueue"].name == f"{runtime.template.stack_name}-WorkQueue.fifo"
    dlq = attributes(runtime, "WorkDLQ")
    assert dlq["MessageRetentionPeriod"] == "1209600"
    hooks = attributes(runtime, "HookQueue")
    assert hooks["DelaySeconds"] == "7"
    assert runtime.queues["HookQueue"].name == f"{runtime.template.stack_name}-hooks"


@pytest.mark.parametrize("policy", ["{redrivePermission: denyAll}",
                                    "{redrivePermission: byQueue, sourceQueueArns: [arn:aws:sqs:us-east-1:1:other]}"])
def test_a_dlq_whose_redrive_allow_policy_excludes_the_source_fails(make_runtime, write_template, policy):
    path = write_template(f"""
Resources:
  DLQ:
    Type: AWS::SQS::Queue
    Properties: {{RedriveAllowPolicy: {policy}}}
  Source:
    Type: AWS::SQS::Queue
    Properties: {{RedrivePolicy: {{deadLetterTargetArn: !GetAtt DLQ.Arn, maxReceiveCount: 3}}}}
""")
    with pytest.raises(TemplateError, match="Source.Properties.RedrivePolicy: the RedriveAllowPolicy of DLQ"):
        make_runtime(path)


def test_secrets_take_given_values_or_generate_the_requested_shape(make_runtime):
    runtime = make_runtime(secret_values={"CredentialsSecret": {"api_key": "k"}})
    given = runtime.secretsmanager.get_secret_value(SecretId=runtime.ref("CredentialsSecret"))
    assert given["Name"] == f"{runtime.template.stack_name}/credentials"
    assert json.loads(given["SecretString"]) == {"api_key": "k"}
    generated = json.loads(runtime.secretsmanager.get_secret_value(SecretId=runtime.ref("ApiSecret"))["SecretString"])
    assert generated["user"] == "fixture"
    assert len(generated["token"]) == 24 and generated["token"].isalnum()


def test_secret_values_for_an_unknown_secret_fail(make_runtime):
    with pytest.raises(TemplateError, match="no AWS::SecretsManager::Secret named WizSecret"):
        make_runtime(secret_values={"WizSecret": {}})


def test_outputs_name_every_resource(runtime):
    outputs = runtime.outputs()
    assert set(outputs) == {"StateTable", "WorkDLQ", "WorkQueue", "HookQueue", "ApiSecret", "CredentialsSecret"}
    assert outputs["WorkQueue"] == runtime.queues["WorkQueue"].url
    assert outputs["ApiSecret"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:")
    url = runtime.start_http()
    assert runtime.outputs()["HttpApiUrl"] == url


def test_functions_routes_and_triggers_come_from_the_template(runtime):
    echo = runtime.functions["EchoFunction"]
    assert (echo.timeout, echo.memory_mb, echo.handler) == (5, 256, "app.handler")
    assert echo.environment == {"STATE_TABLE": runtime.ref("StateTable"), "POWERTOOLS_SERVICE_NAME": "fixture",
                                "ECHO_PREFIX": "local", "WORK_QUEUE_URL": runtime.ref("WorkQueue"),
                                "API_SECRET_ID": runtime.ref("ApiSecret")}
    assert [(route.route_key, route.function_id) for route in runtime.routes] == [
        ("POST /echo/{token}", "EchoFunction"), ("POST /echo/fixed", "EchoFunction")]
    [trigger] = runtime.triggers
    assert (trigger.queue_id, trigger.function_id, trigger.batch_size, trigger.report_batch_item_failures) == (
        "WorkQueue", "WorkerFunction", 10, True)


def test_a_second_runtime_with_the_same_stack_name_is_refused(runtime, moto_endpoint):
    from local.runner import LocalRuntime

    twin = LocalRuntime(runtime.template.path, runtime.project_root, endpoint_url=moto_endpoint,
                        stack_name=runtime.template.stack_name)
    with pytest.raises(RuntimeError, match="already exists in moto"):
        twin.start()
