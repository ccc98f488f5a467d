"""Real handlers invoked in-process (and, where marked, in containers): HTTP API events, exact
environments, context, failures."""

from __future__ import annotations

import importlib
import json
import os
import sys
import urllib.request
from urllib.error import HTTPError

import pytest

from conftest import FIXTURES

from local.runner import FunctionTimeout, HandlerImportError
from local.template import TemplateError

FUNCTION_TEMPLATE = """
Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {{ContentUri: shared/}}
    Metadata: {{BuildMethod: python3.13}}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {code_uri}
      Handler: {handler}
      Runtime: python3.13
      Layers: [!Ref SharedLayer]
"""


def test_http_api_route_gets_a_payload_2_event(runtime):
    response = runtime.invoke_http("POST", "/echo/abc%20d?x=1&x=2&y=", body={"hello": "world"},
                                   headers={"X-Wiz-Signature": "sig", "Cookie": "a=1; b=2"})
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    event = response.json()["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /echo/{token}"
    assert event["rawPath"] == "/echo/abc%20d"
    assert event["rawQueryString"] == "x=1&x=2&y="
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["pathParameters"] == {"token": "abc d"}
    assert event["headers"]["x-wiz-signature"] == "sig"
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["stage"] == "$default"
    assert (event["body"], event["isBase64Encoded"]) == ('{"hello": "world"}', False)


def test_exact_routes_win_over_path_parameters(runtime):
    assert runtime.invoke_http("POST", "/echo/fixed").json()["event"]["routeKey"] == "POST /echo/fixed"


def test_binary_bodies_arrive_base64_encoded(runtime):
    event = runtime.invoke_http("POST", "/echo/t", body=b"\x00\x01",
                                headers={"content-type": "application/octet-stream"}).json()["event"]
    assert (event["body"], event["isBase64Encoded"]) == ("AAE=", True)


@pytest.mark.parametrize("method, path", [("GET", "/echo/abc"), ("POST", "/nowhere"), ("POST", "/echo/a/b")])
def test_unmatched_routes_are_404_like_api_gateway(runtime, method, path):
    response = runtime.invoke_http(method, path)
    assert (response.status, response.json()) == (404, {"message": "Not Found"})


def test_the_http_front_serves_real_requests(runtime):
    base_url = runtime.start_http()
    request = urllib.request.Request(f"{base_url}/echo/live", data=b'{"a": 1}', method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        event = json.loads(response.read())["event"]
    assert (event["pathParameters"], event["body"]) == ({"token": "live"}, '{"a": 1}')
    with pytest.raises(HTTPError) as not_found:
        urllib.request.urlopen(f"{base_url}/missing", timeout=5)
    assert not_found.value.code == 404


def test_each_function_sees_exactly_its_own_environment(runtime, monkeypatch):
    monkeypatch.setenv("HOST_ONLY", "leaks?")
    monkeypatch.setenv("ECHO_PREFIX", "from the host")
    before = dict(os.environ)
    echo = json.loads(runtime.invoke("EchoFunction", {})["body"])
    state_table = runtime.ref("StateTable")
    assert echo["function_name"] == f"{runtime.template.stack_name}-EchoFunction"
    assert echo["env"] == {
        "ECHO_PREFIX": "local", "WORKER_ONLY": None, "STATE_TABLE": state_table, "OPTIONAL": None,
        "HOST_ONLY": None, "AWS_LAMBDA_FUNCTION_NAME": f"{runtime.template.stack_name}-EchoFunction"}
    assert dict(os.environ) == before


def test_each_function_has_its_own_copy_of_the_shared_modules(runtime):
    runtime.invoke("EchoFunction", {})
    runtime.sqs.send_message(QueueUrl=runtime.ref("WorkQueue"), MessageBody='{"id": "m", "action": "ok"}',
                             MessageGroupId="g")
    runtime.drain("WorkQueue")
    again = json.loads(runtime.invoke("EchoFunction", {})["body"])
    item = runtime.dynamodb.get_item(TableName=runtime.ref("StateTable"),
                                     Key={"pk": {"S": "SEEN#m"}, "sk": {"S": "1"}})["Item"]
    stack = runtime.template.stack_name
    assert again["lib_loaded_for"] == f"{stack}-EchoFunction"
    assert item["lib_loaded_for"]["S"] == f"{stack}-WorkerFunction"
    assert "fixture_lib" not in sys.modules  # the test process never sees a function's modules


def test_parameters_and_conditions_reach_the_environment(make_runtime):
    runtime = make_runtime(parameters={"Stage": "prod"})
    env = json.loads(runtime.invoke("EchoFunction", {})["body"])["env"]
    assert (env["ECHO_PREFIX"], env["OPTIONAL"]) == ("prod", "set")


def test_context_counts_down_from_the_timeout_or_its_override(make_runtime):
    runtime = make_runtime(timeouts={"EchoFunction": 2})
    assert 1500 < json.loads(runtime.invoke("EchoFunction", {})["body"])["remaining_ms"] <= 2000
    near_limit = json.loads(runtime.invoke("EchoFunction", {}, timeout_seconds=0.5)["body"])
    assert 0 < near_limit["remaining_ms"] <= 500


@pytest.mark.parametrize("containers", [False, True], ids=["in-process", "containers"])
def test_a_handler_that_overruns_its_timeout_fails(make_runtime, containers):
    runtime = make_runtime(containers=containers)
    runtime.invoke("EchoFunction", {})  # warm: the cold start does not count towards the timeout
    with pytest.raises(FunctionTimeout, match="Task timed out after 0.05 seconds"):
        runtime.invoke("EchoFunction", {"sleep": 0.1}, timeout_seconds=0.05)


def test_a_wrong_handler_file_fails_at_start(make_runtime, write_template):
    path = write_template(FUNCTION_TEMPLATE.format(code_uri="functions/echo/", handler="main.handler"))
    with pytest.raises(TemplateError, match=r"Fn\.Properties\.Handler: 'main\.handler' needs functions/echo/main\.py"):
        make_runtime(path)


def test_a_wrong_code_uri_fails_at_start(make_runtime, write_template):
    path = write_template(FUNCTION_TEMPLATE.format(code_uri="functions/missing/", handler="app.handler"))
    with pytest.raises(TemplateError, match=r"Fn\.Properties\.CodeUri: 'functions/missing/' is not a folder"):
        make_runtime(path)


@pytest.mark.parametrize("containers", [False, True], ids=["in-process", "containers"])
def test_a_wrong_handler_function_fails_at_the_cold_start(make_runtime, write_template, containers):
    path = write_template(FUNCTION_TEMPLATE.format(code_uri="functions/echo/", handler="app.main"))
    runtime = make_runtime(path, containers=containers)
    with pytest.raises(HandlerImportError, match=r"Handler 'app\.main': functions/echo/app\.py has no function 'main'"):
        runtime.invoke("Fn", {})


@pytest.mark.parametrize("containers", [False, True], ids=["in-process", "containers"])
def test_a_function_without_the_layer_cannot_import_it(make_runtime, write_template, monkeypatch, containers):
    path = write_template(FUNCTION_TEMPLATE.format(code_uri="functions/worker/", handler="app.handler")
                          .replace("      Layers: [!Ref SharedLayer]\n", ""))
    runtime = make_runtime(path, containers=containers)
    # The test process can import the layer's package; the function, as on Lambda, cannot.
    monkeypatch.syspath_prepend(str(FIXTURES / "shared"))
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "the test process")
    importlib.import_module("fixture_lib")
    try:
        with pytest.raises(HandlerImportError, match=r"Fn: Runtime\.ImportModuleError in functions/worker/app\.py: "
                                                     r"ModuleNotFoundError: No module named 'fixture_lib'"):
            runtime.invoke("Fn", {"Records": []})
    finally:
        del sys.modules["fixture_lib"]


def test_a_queue_visibility_shorter_than_the_function_timeout_fails_at_start(make_runtime, write_template):
    path = write_template("""
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {VisibilityTimeout: 5}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/worker/
      Handler: app.handler
      Timeout: 30
      Events:
        Work: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn}}
""")
    with pytest.raises(TemplateError, match="VisibilityTimeout 5s is less than the function Timeout 30s"):
        make_runtime(path)


def test_reserved_variables_in_the_template_fail_at_start(make_runtime, write_template):
    path = write_template(FUNCTION_TEMPLATE.format(code_uri="functions/echo/", handler="app.handler")
                          + "      Environment: {Variables: {AWS_REGION: eu-west-1}}\n")
    with pytest.raises(TemplateError, match="AWS_REGION reserved by Lambda"):
        make_runtime(path)
