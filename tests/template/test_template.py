"""template.yaml, parsed: the contract's resources and the deploy rules hold."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from local import REPO_ROOT
from shared import observability, runner
from shared.providers import PROVIDER_IDS

PROVIDER_FUNCTIONS = {
    "flashback": "FlashbackFunction",
    "bigdata": "BigdataFunction",
    "templatedocs": "TemplatedocsFunction",
    "chatdoc": "ChatdocFunction",
    "onlyoffice": "OnlyofficeFunction",
}
ALL_FUNCTIONS = [*PROVIDER_FUNCTIONS.values(), "SlackNotifierFunction"]
SEVERITIES = ["ok", "warning", "critical", "exhausted"]
PSEUDO_PARAMETERS = {
    "AWS::AccountId",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackName",
    "AWS::URLSuffix",
    "AWS::NoValue",
}


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


def function(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """A function's properties with Globals applied (environment variables merged, as SAM does)."""
    defaults = template["Globals"]["Function"]
    properties = template["Resources"][logical_id]["Properties"]
    merged = {**defaults, **properties}
    merged["Environment"] = {
        "Variables": {**defaults["Environment"]["Variables"], **properties.get("Environment", {}).get("Variables", {})}
    }
    merged["EventInvokeConfig"] = {**defaults.get("EventInvokeConfig", {}), **properties.get("EventInvokeConfig", {})}
    return merged


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair anywhere in the template."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def is_dead_letter_queue(value: Any) -> bool:
    return value in ({"Fn::GetAtt": "DeadLetterQueue.Arn"}, {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]})


# ---------------------------------------------------------------------------------------- resources


def test_every_contract_resource_exists(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    for logical_id in [*ALL_FUNCTIONS, "StateTable", "AlertTopic", "OpsTopic", "DeadLetterQueue", "SharedLayer"]:
        assert logical_id in resources, logical_id
    assert resources["StateTable"]["Type"] == "AWS::DynamoDB::Table"
    assert resources["AlertTopic"]["Type"] == "AWS::SNS::Topic"
    assert set(PROVIDER_FUNCTIONS) == set(PROVIDER_IDS)


def test_every_handler_folder_has_a_function_resource(template: dict[str, Any]) -> None:
    code_uris = {
        function(template, f)["CodeUri"].rstrip("/") for f in resources_of_type(template, "AWS::Serverless::Function")
    }
    for app in sorted((REPO_ROOT / "functions").glob("*/app.py")):
        assert f"functions/{app.parent.name}" in code_uris, f"{app.parent.name} has no function in template.yaml"


def test_every_reference_names_something_that_exists(template: dict[str, Any]) -> None:
    known = set(template["Resources"]) | set(template["Parameters"]) | PSEUDO_PARAMETERS
    for key, value in walk(template):
        if key == "Ref":
            assert value in known, f"Ref {value}"
        elif key == "Fn::GetAtt":
            name = value[0] if isinstance(value, list) else value.split(".")[0]
            assert name in template["Resources"], f"GetAtt {value}"
        elif key == "Fn::Sub":
            text = value if isinstance(value, str) else value[0]
            local = set() if isinstance(value, str) else set(value[1])
            for name in re.findall(r"\$\{([^}!.]+)", text):
                assert name in known | local, f"Sub ${{{name}}}"
        elif key in ("Condition", "Fn::If") and isinstance(value, (str, list)):
            name = value if isinstance(value, str) else value[0]
            assert name in template["Conditions"], f"condition {name}"


def test_functions_are_arm64_python313_with_the_shared_layer(template: dict[str, Any]) -> None:
    for logical_id in ALL_FUNCTIONS:
        properties = function(template, logical_id)
        assert properties["Runtime"] == "python3.13"
        assert properties["Architectures"] == ["arm64"]
        assert properties["Handler"] == "app.handler"
        assert {"Ref": "SharedLayer"} in properties["Layers"]
        metadata = template["Resources"][logical_id]["Metadata"]
        assert metadata == {"BuildMethod": "makefile", "ContextPath": "infra/layer"}
    layer = template["Resources"]["SharedLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Metadata"]["BuildArchitecture"] == "arm64"
    assert layer["Properties"]["ContentUri"] == "shared/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


# ---------------------------------------------------------------------------------------- providers


@pytest.mark.parametrize(("provider", "logical_id"), PROVIDER_FUNCTIONS.items())
def test_provider_function_has_its_schedule_with_a_small_retry_and_a_dead_letter_queue(
    template: dict[str, Any], provider: str, logical_id: str
) -> None:
    properties = function(template, logical_id)
    assert properties["CodeUri"] == f"functions/{provider}/"
    schedules = [e for e in properties["Events"].values() if e["Type"] in ("Schedule", "ScheduleV2")]
    assert len(schedules) == 1
    schedule = schedules[0]["Properties"]
    assert schedules[0]["Type"] == "ScheduleV2"
    parameter = f"{logical_id.removesuffix('Function')}Schedule"
    assert parameter in template["Parameters"]
    assert ("Ref", parameter) in walk(schedule)
    assert "<aws.scheduler.scheduled-time>" in schedule["Input"]
    assert "<aws.scheduler.execution-id>" in schedule["Input"]
    assert '"scheduled_time"' in schedule["Input"] and '"execution_id"' in schedule["Input"]
    assert 0 < schedule["RetryPolicy"]["MaximumRetryAttempts"] <= 3
    assert is_dead_letter_queue(schedule["DeadLetterConfig"]["Arn"])
    invoke_config = properties["EventInvokeConfig"]
    assert invoke_config["MaximumRetryAttempts"] <= 2
    assert invoke_config["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
    assert is_dead_letter_queue(invoke_config["DestinationConfig"]["OnFailure"]["Destination"])


@pytest.mark.parametrize(("provider", "logical_id"), PROVIDER_FUNCTIONS.items())
def test_provider_function_environment_and_least_privilege(
    template: dict[str, Any], provider: str, logical_id: str
) -> None:
    properties = function(template, logical_id)
    variables = properties["Environment"]["Variables"]
    assert variables["STATE_TABLE_NAME"] == {"Ref": "StateTable"}
    assert variables["ALERT_TOPIC_ARN"] == {"Ref": "AlertTopic"}
    accounts_parameter = f"{logical_id.removesuffix('Function')}AccountsParameter"
    assert variables["ACCOUNTS_PARAMETER"] == {"Ref": accounts_parameter}
    assert template["Parameters"][accounts_parameter]["Default"] == f"/quota-sentinel/{provider}/accounts"
    assert template["Parameters"][accounts_parameter]["AllowedPattern"].startswith(f"^/quota-sentinel/{provider}/")
    for name in ("WARNING_PERCENT", "CRITICAL_PERCENT", "HYSTERESIS_PERCENT", "RENOTIFY_SECONDS"):
        assert name in variables
    policies = {next(iter(p)): next(iter(p.values())) for p in properties["Policies"]}
    assert policies["DynamoDBCrudPolicy"] == {"TableName": {"Ref": "StateTable"}}
    assert policies["SNSPublishMessagePolicy"] == {"TopicName": {"Fn::GetAtt": "AlertTopic.TopicName"}}
    assert policies["SSMParameterReadPolicy"] == {"ParameterName": f"quota-sentinel/{provider}/*"}


def test_powertools_names_match_the_code(template: dict[str, Any]) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == observability.SERVICE
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == observability.NAMESPACE
    assert variables["POWERTOOLS_TRACE_DISABLED"] == {"Fn::If": ["TracingActive", "false", "true"]}
    assert template["Globals"]["Function"]["Tracing"] == {"Ref": "Tracing"}


# ---------------------------------------------------------------------------------------- storage and topics


def test_state_table_keys_ttl_pitr_sse_on_demand(template: dict[str, Any]) -> None:
    table = template["Resources"]["StateTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert template["Resources"]["StateTable"]["DeletionPolicy"] == "Retain"


def test_topics_are_encrypted_and_cloudwatch_may_use_the_ops_key(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    assert resources["AlertTopic"]["Properties"]["KmsMasterKeyId"]
    assert resources["OpsTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "OpsTopicKey"}
    statements = resources["OpsTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in statements if s["Principal"].get("Service") == "cloudwatch.amazonaws.com"]
    assert len(cloudwatch) == 1
    assert set(cloudwatch[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


def test_no_statement_allows_every_action(template: dict[str, Any]) -> None:
    for key, value in walk(template):
        if key in ("Action", "NotAction"):
            actions = value if isinstance(value, list) else [value]
            assert "*" not in actions and "*:*" not in actions, f"{key}: {value}"


def test_severity_filters_list_every_level_from_the_minimum_up(template: dict[str, Any]) -> None:
    mapping = template["Mappings"]["SeverityAtLeast"]
    assert set(mapping) == set(SEVERITIES)
    for index, minimum in enumerate(SEVERITIES):
        assert mapping[minimum]["Levels"] == SEVERITIES[index:]
    for parameter in ("EmailMinSeverity", "SlackMinSeverity"):
        assert template["Parameters"][parameter]["AllowedValues"] == SEVERITIES
    email = template["Resources"]["AlertEmailSubscription"]
    assert email["Condition"] == "HasAlertEmail"
    assert email["Properties"]["FilterPolicy"] == {
        "severity": {"Fn::FindInMap": ["SeverityAtLeast", {"Ref": "EmailMinSeverity"}, "Levels"]}
    }
    slack = function(template, "SlackNotifierFunction")["Events"]["Alerts"]["Properties"]
    assert slack["FilterPolicy"] == {
        "severity": {"Fn::FindInMap": ["SeverityAtLeast", {"Ref": "SlackMinSeverity"}, "Levels"]}
    }


def test_email_and_slack_subscribe_to_both_topics(template: dict[str, Any]) -> None:
    subscriptions = resources_of_type(template, "AWS::SNS::Subscription").values()
    email_topics = [s["Properties"]["TopicArn"] for s in subscriptions if s["Properties"]["Protocol"] == "email"]
    assert sorted(t["Ref"] for t in email_topics) == ["AlertTopic", "OpsTopic"]
    assert all(s["Condition"] == "HasAlertEmail" for s in subscriptions)
    notifier = function(template, "SlackNotifierFunction")
    sns_topics = [e["Properties"]["Topic"]["Ref"] for e in notifier["Events"].values() if e["Type"] == "SNS"]
    assert sorted(sns_topics) == ["AlertTopic", "OpsTopic"]
    assert set(notifier["Environment"]["Variables"]) >= {"SLACK_WEBHOOK_PARAMETER", "STATE_TABLE_NAME"}
    assert is_dead_letter_queue(notifier["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"])


# ---------------------------------------------------------------------------------------- alarms and logs


def test_alarms_publish_to_the_ops_topic_only(template: dict[str, Any]) -> None:
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "OpsTopic"}], name
    errors = {
        a["Properties"]["Dimensions"][0]["Value"]["Ref"]
        for a in alarms.values()
        if a["Properties"]["MetricName"] == "Errors"
    }
    assert errors == set(ALL_FUNCTIONS)
    depth = [a for a in alarms.values() if a["Properties"]["Namespace"] == "AWS/SQS"]
    assert depth[0]["Properties"]["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": "DeadLetterQueue.QueueName"}}
    ]


def test_dead_mans_switch_per_provider_reads_the_runners_metric(template: dict[str, Any]) -> None:
    assert 'name="SuccessfulChecks"' in inspect.getsource(runner.run_provider)
    assert 'add_dimension("provider", provider)' in inspect.getsource(runner.run_provider)
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm").values()
    switches = {}
    for alarm in alarms:
        properties = alarm["Properties"]
        if properties["MetricName"] == "SuccessfulChecks":
            dimensions = {d["Name"]: d["Value"] for d in properties["Dimensions"]}
            switches[dimensions["provider"]] = (alarm, dimensions)
    assert set(switches) == set(PROVIDER_IDS)
    for provider, (alarm, dimensions) in switches.items():
        properties = alarm["Properties"]
        assert properties["Namespace"] == observability.NAMESPACE
        assert dimensions == {"provider": provider, "service": observability.SERVICE}
        assert properties["TreatMissingData"] == "breaching"
        assert properties["ComparisonOperator"] == "LessThanThreshold"
        assert properties["Threshold"] == 1
        assert properties["EvaluationPeriods"] == {"Ref": "DeadMansSwitchPeriods"}
        assert alarm["Condition"] == f"{PROVIDER_FUNCTIONS[provider].removesuffix('Function')}Scheduled"


def test_every_function_logs_to_a_log_group_with_retention(template: dict[str, Any]) -> None:
    for logical_id in ALL_FUNCTIONS:
        group = function(template, logical_id)["LoggingConfig"]["LogGroup"]["Ref"]
        properties = template["Resources"][group]["Properties"]
        assert properties["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_env_json_sets_only_variables_the_functions_declare(template: dict[str, Any]) -> None:
    """`sam local invoke --env-vars` overrides declared variables only; anything else there would be ignored."""
    overrides = json.loads((REPO_ROOT / "infra" / "env.json").read_text())
    declared_anywhere = set()
    for logical_id in ALL_FUNCTIONS:
        variables = set(function(template, logical_id)["Environment"]["Variables"])
        declared_anywhere |= variables
        assert set(overrides.get(logical_id, {})) <= variables, logical_id
    assert set(overrides) - {"Parameters"} <= set(ALL_FUNCTIONS)
    assert set(overrides.get("Parameters", {})) <= declared_anywhere


# ---------------------------------------------------------------------------------------- parameters, outputs


def test_parameters_are_described_and_constrained(template: dict[str, Any]) -> None:
    for name, parameter in template["Parameters"].items():
        assert parameter.get("Description"), name
        constraints = {"AllowedValues", "AllowedPattern", "MinValue", "MaxValue"} & set(parameter)
        assert constraints, f"{name} has no allowed values"


def test_deploy_docs_document_every_parameter(template: dict[str, Any]) -> None:
    deploy = (REPO_ROOT / "docs" / "deploy.md").read_text()
    section = deploy[deploy.index("<!-- deploy:start -->") : deploy.index("<!-- deploy:end -->")]
    for name in template["Parameters"]:
        assert f"| `{name}` |" in section, name


def test_outputs_are_described(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert {"StateTableName", "AlertTopicArn", "OpsTopicArn", "DeadLetterQueueUrl"} <= set(outputs)
    assert all(output.get("Description") for output in outputs.values())
