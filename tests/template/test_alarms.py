"""template.yaml's CloudWatch side: an alarm on every DLQ, on failed records and errored pull
runs, on the ingress's 4xx/5xx rates, all notifying one SNS topic; and the dashboard."""

from __future__ import annotations

import json
import re

import pytest

from test_template import function_env, parameter_default, props, ref, resources, template

DEAD_LETTER_QUEUES = ("PushDLQ", "PullDLQ", "InventoryHookDLQ")


def alarms() -> dict[str, dict]:
    return resources("AWS::CloudWatch::Alarm")


def alarm_on(namespace: str, metric: str) -> dict[str, dict]:
    """Alarms whose metric, or one of whose math inputs, is `metric` in `namespace`."""
    found = {}
    for name, alarm in alarms().items():
        p = alarm["Properties"]
        stats = [m["MetricStat"]["Metric"] for m in p.get("Metrics", []) if "MetricStat" in m]
        if (p.get("Namespace"), p.get("MetricName")) == (namespace, metric) or any(
                (s["Namespace"], s["MetricName"]) == (namespace, metric) for s in stats):
            found[name] = p
    return found


@pytest.mark.parametrize("dlq", DEAD_LETTER_QUEUES)
def test_every_dead_letter_queue_alarms_on_its_first_message(dlq):
    [(name, alarm)] = [(n, p) for n, p in alarm_on("AWS/SQS", "ApproximateNumberOfMessagesVisible").items()
                       if p["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}]]
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["Statistic"]) == (
        "GreaterThanThreshold", 0, "Maximum")
    # An alarm on a queue that the hook switch leaves out must go with it.
    assert template()["Resources"][name].get("Condition") == template()["Resources"][dlq].get("Condition")


def test_failed_records_alarm_reads_the_engines_metric_where_powertools_puts_it():
    [query] = [m["Expression"] for m in props("PullFailedRecordsAlarm")["Metrics"]]
    env = function_env("PullFunction")
    match = re.fullmatch(r'SELECT SUM\(Failed\) FROM SCHEMA\("([^"]+)", service, stream\) '
                         r"WHERE service = '([^']+)'", query)
    assert match, query
    assert match.groups() == (env["POWERTOOLS_METRICS_NAMESPACE"], env["POWERTOOLS_SERVICE_NAME"])
    assert props("PullFailedRecordsAlarm")["Threshold"] == 0


def test_the_ledger_alarms_on_one_unaccounted_record_where_powertools_puts_the_metric():
    """R-OPS-4: the pull function's ledger job publishes `Unaccounted` (Powertools: namespace
    POWERTOOLS_METRICS_NAMESPACE, dimension service); the alarm fires on the first record."""
    [alarm] = alarm_on(function_env("PullFunction")["POWERTOOLS_METRICS_NAMESPACE"], "Unaccounted").values()
    assert alarm["Dimensions"] == [{"Name": "service", "Value": function_env("PullFunction")["POWERTOOLS_SERVICE_NAME"]}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["Statistic"]) == (
        "GreaterThanThreshold", 0, "Maximum")
    assert alarm["Period"] >= 86400 // 2  # a daily metric: the alarm stays until the next ledger


def test_a_pull_run_that_raised_alarms():
    [alarm] = alarm_on("AWS/Lambda", "Errors").values()
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": ref("PullFunction")}]


@pytest.mark.parametrize("status", ["4xx", "5xx"])
def test_ingress_error_rates_are_errors_per_request_of_the_http_api(status):
    [alarm] = alarm_on("AWS/ApiGateway", status).values()
    inputs = {m["Id"]: m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m}
    [rate] = [m for m in alarm["Metrics"] if m.get("ReturnData", True)]
    errors = next(i for i, metric in inputs.items() if metric["MetricName"] == status)
    requests = next(i for i, metric in inputs.items() if metric["MetricName"] == "Count")
    assert f"100 * {errors} / {requests}" in rate["Expression"]
    assert all(metric["Dimensions"] == [{"Name": "ApiId", "Value": ref("HttpApi")}] for metric in inputs.values())


def test_every_alarm_notifies_the_topic_when_it_fires_and_when_it_clears():
    assert len(alarms()) == 8  # and the ledger's (R-OPS-4)
    for name, alarm in alarms().items():
        p = alarm["Properties"]
        assert p["AlarmActions"] == [ref("AlarmTopic")] == p["OKActions"], name
        assert p["TreatMissingData"] == "notBreaching", name  # no data is no failure


def test_the_email_subscription_exists_only_when_an_address_is_given():
    [subscription] = resources("AWS::SNS::Subscription").values()
    assert parameter_default("AlarmEmail") == ""
    assert subscription["Condition"] == "AlarmEmailGiven"
    assert template()["Conditions"]["AlarmEmailGiven"] == {"Fn::Not": [{"Fn::Equals": [ref("AlarmEmail"), ""]}]}
    assert subscription["Properties"]["Endpoint"] == ref("AlarmEmail")


def test_the_dashboard_shows_each_streams_outcomes_and_each_queues_age():
    body_template, variables = props("Dashboard")["DashboardBody"]["Fn::Sub"]
    body = json.loads(re.sub(r"\$\{[^}]+\}", "x", body_template))  # valid JSON once substituted
    lines = [line for widget in body["widgets"] for line in widget["properties"]["metrics"]]
    searches = [line[0]["expression"] for line in lines if isinstance(line[0], dict)]
    namespace = function_env("PullFunction")["POWERTOOLS_METRICS_NAMESPACE"]
    for outcome in ("Changed", "Skipped", "Failed"):
        assert any(f"{{{namespace},service,stream}} MetricName=\"{outcome}\"" in s for s in searches), outcome
    assert re.search(r'"ApproximateAgeOfOldestMessage", "QueueName", "\$\{PushQueue\.QueueName\}"\],\s*'
                     r'\["\.\.\.", "\$\{PullQueue\.QueueName\}"\], \["\.\.\.", "\$\{HookQueueName\}"\]', body_template)
    assert variables["HookQueueName"]["Fn::If"][:2] == ["HookEnabled", {"Fn::GetAtt": ["InventoryHookQueue",
                                                                                       "QueueName"]}]
