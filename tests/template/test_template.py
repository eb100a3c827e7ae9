"""template.yaml, parsed: the contract's resources and the deploy rules hold."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from local import REPO_ROOT
from shared import observability, runner, state_store
from shared.custom import CUSTOM_PROVIDER
from shared.providers import PROVIDER_IDS

PROVIDER_FUNCTIONS = {
    "flashback": "FlashbackFunction",
    "bigdata": "BigdataFunction",
    "templatedocs": "TemplatedocsFunction",
    "chatdoc": "ChatdocFunction",
    "onlyoffice": "OnlyofficeFunction",
}
# Every function on a schedule: the built-in providers' and the custom providers' (CUSTOM_PROVIDER).
SCHEDULED_FUNCTIONS = {**PROVIDER_FUNCTIONS, CUSTOM_PROVIDER: "CustomFunction"}
ALL_FUNCTIONS = [*SCHEDULED_FUNCTIONS.values(), "SlackNotifierFunction"]
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


@pytest.mark.parametrize(("provider", "logical_id"), SCHEDULED_FUNCTIONS.items())
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
    assert variables["FORECAST_WARNING_HOURS"] == {"Ref": "ForecastWarningHours"}
    assert variables["FORECAST_CRITICAL_HOURS"] == {"Ref": "ForecastCriticalHours"}
    assert variables["MAX_CONCURRENCY"] == {"Ref": "MaxConcurrency"}
    assert variables["RUNBOOK_URL"] == {"Ref": "RunbookUrl"}
    assert properties["Timeout"] == {"Ref": "FunctionTimeout"}
    # Only inline statements: SAM's policy templates grant Scan, DeleteItem and DescribeParameters on "*".
    [policy] = properties["Policies"]
    statements = {s["Sid"]: s for s in statements_of(policy)}
    state = statements["OwnStatePartition"]
    assert sorted(state["Action"]) == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert state["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [f"provider#{provider}"]},
        "Null": {"dynamodb:LeadingKeys": "false"},
    }
    assert f"/quota-sentinel/{provider}/*" in statements["ReadOwnParameters"]["Resource"]["Fn::Sub"]
    assert f":secret:quota-sentinel/{provider}/*" in statements["ReadOwnSecrets"]["Resource"]["Fn::Sub"]
    for sid in ("DecryptOwnParameters", "DecryptOwnSecrets"):
        assert statements[sid]["Resource"] == {"Ref": "SecretsKmsKeyArn"}, "decrypt only with the named key"


def test_custom_function_environment_and_least_privilege(template: dict[str, Any]) -> None:
    properties = function(template, "CustomFunction")
    variables = properties["Environment"]["Variables"]
    assert variables["CUSTOM_PROVIDERS_PARAMETER"] == {"Ref": "CustomProvidersParameter"}
    assert "ACCOUNTS_PARAMETER" not in variables and "CUSTOM_PROVIDERS" not in variables
    assert variables["FORECAST_WARNING_HOURS"] == {"Ref": "ForecastWarningHours"}
    assert variables["FORECAST_CRITICAL_HOURS"] == {"Ref": "ForecastCriticalHours"}
    parameter = template["Parameters"]["CustomProvidersParameter"]
    assert parameter["Default"] == "/quota-sentinel/custom/providers/"
    assert parameter["AllowedPattern"].startswith("^/quota-sentinel/custom/")
    assert variables["MAX_CONCURRENCY"] == {"Ref": "MaxConcurrency"}
    [policy] = properties["Policies"]
    statements = {s["Sid"]: s for s in statements_of(policy)}
    state = statements["CustomStatePartitions"]
    assert sorted(state["Action"]) == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert state["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{state_store.CUSTOM_PARTITION}*"]},
        "Null": {"dynamodb:LeadingKeys": "false"},
    }
    assert statements["ReadOwnParameters"]["Resource"]["Fn::Sub"].endswith(":parameter/quota-sentinel/custom/*")
    assert statements["ReadOwnSecrets"]["Resource"]["Fn::Sub"].endswith(":secret:quota-sentinel/custom/*")
    for sid in ("DecryptOwnParameters", "DecryptOwnSecrets"):
        assert statements[sid]["Resource"] == {"Ref": "SecretsKmsKeyArn"}, "decrypt only with the named key"


def statements_of(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """A policy's statements, each `!If [HasX, statement, !Ref AWS::NoValue]` taken as its statement."""
    statements = []
    for entry in policy["Statement"]:
        statement = entry
        if "Fn::If" in entry:
            _condition, statement, otherwise = entry["Fn::If"]
            assert otherwise == {"Ref": "AWS::NoValue"}
        statements.append(statement)
    return statements


def test_slack_notifier_exists_only_with_a_webhook_and_reads_only_its_records(template: dict[str, Any]) -> None:
    assert template["Parameters"]["SlackWebhookParameter"]["Default"] == ""
    assert template["Conditions"]["HasSlackWebhook"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "SlackWebhookParameter"}, ""]}]
    }
    for logical_id in ("SlackNotifierFunction", "SlackNotifierLogGroup", "SlackNotifierErrorsAlarm"):
        assert template["Resources"][logical_id]["Condition"] == "HasSlackWebhook", logical_id
    [policy] = template["Resources"]["SlackNotifierFunction"]["Properties"]["Policies"]
    statements = {s["Sid"]: s for s in statements_of(policy)}
    records = statements["OwnIdempotencyRecords"]
    assert records["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["idempotency#*"]},
        "Null": {"dynamodb:LeadingKeys": "false"},
    }
    assert state_store.IDEMPOTENCY_PARTITION.startswith("idempotency#")
    assert statements["ReadWebhookParameter"]["Action"] == "ssm:GetParameter"
    assert statements["ReadWebhookParameter"]["Resource"]["Fn::Sub"].endswith(":parameter${SlackWebhookParameter}")


def test_schedules_come_from_a_fixed_list_and_the_switch_window_from_the_schedule(template: dict[str, Any]) -> None:
    intervals = template["Mappings"]["ScheduleInterval"]
    allowed = ["off", "5-minutes", "10-minutes", "15-minutes", "30-minutes", "1-hour", "6-hours", "12-hours", "1-day"]
    assert list(intervals) == allowed
    unit_seconds = {"minute": 60, "hour": 3600, "day": 86400}
    for name, entry in intervals.items():
        match = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", entry["Expression"])
        assert match, entry
        seconds = int(match[1]) * unit_seconds[match[2]]
        assert seconds >= 300, f"{name}: nothing under 5 minutes"
        assert entry["Seconds"] == seconds, f"{name}: the switch's period is the schedule's interval"
        periods = template["Parameters"]["DeadMansSwitchPeriods"]
        limit = 604800 if seconds >= 3600 else 86400  # CloudWatch's longest evaluation range
        assert seconds * periods["MaxValue"] <= limit, name
    assert template["Parameters"]["DeadMansSwitchPeriods"]["MinValue"] >= 2
    for logical_id in SCHEDULED_FUNCTIONS.values():
        name = logical_id.removesuffix("Function")
        assert template["Parameters"][f"{name}Schedule"]["AllowedValues"] == allowed
        assert template["Parameters"][f"{name}Schedule"]["Default"] == "off"
        schedule = function(template, logical_id)["Events"]["Schedule"]["Properties"]
        assert schedule["ScheduleExpression"] == {
            "Fn::FindInMap": ["ScheduleInterval", {"Ref": f"{name}Schedule"}, "Expression"]
        }
        assert schedule["RoleArn"] == {"Fn::GetAtt": "SchedulerRole.Arn"}
        switch = template["Resources"][f"{name}DeadMansSwitchAlarm"]["Properties"]
        assert switch["Period"] == {"Fn::FindInMap": ["ScheduleInterval", {"Ref": f"{name}Schedule"}, "Seconds"]}


def test_the_scheduler_role_trusts_only_this_account(template: dict[str, Any]) -> None:
    role = template["Resources"]["SchedulerRole"]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    [policy] = role["Policies"]
    invoke = policy["PolicyDocument"]["Statement"][0]
    assert invoke["Action"] == "lambda:InvokeFunction"
    assert invoke["Resource"] == [{"Fn::GetAtt": f"{f}.Arn"} for f in SCHEDULED_FUNCTIONS.values()]


def test_reserved_concurrency_is_optional_and_off_by_default(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["ProviderReservedConcurrency"]
    assert parameter["Default"] == 0
    for logical_id in SCHEDULED_FUNCTIONS.values():
        assert function(template, logical_id)["ReservedConcurrentExecutions"] == {
            "Fn::If": ["HasReservedConcurrency", {"Ref": "ProviderReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
        }
    concurrency = template["Parameters"]["MaxConcurrency"]
    assert (concurrency["Default"], concurrency["MinValue"], concurrency["MaxValue"]) == (16, 1, 64)


def test_a_test_alert_command_per_scheduled_provider(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert "TestAlertCommand" not in outputs
    for logical_id in SCHEDULED_FUNCTIONS.values():
        name = logical_id.removesuffix("Function")
        output = outputs[f"{name}TestAlertCommand"]
        assert output["Condition"] == f"{name}Scheduled"
        assert f"${{{logical_id}}}" in output["Value"]["Fn::Sub"]
        assert '{"test_alert": true}' in output["Value"]["Fn::Sub"]
    assert {"AlertChannels", "SubscribeOtherChannels"} <= set(outputs)


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


def test_state_table_is_never_replaced_silently(template: dict[str, Any]) -> None:
    """Changing a key, naming the table or adding a local index makes CloudFormation REPLACE the table:
    the stack would move to an empty table (every alert fires again) and orphan the old one. If this test
    fails, the change needs a migration plan, not an edit of this test."""
    resource = template["Resources"]["StateTable"]
    table = resource["Properties"]
    assert table["KeySchema"] == [
        {"AttributeName": state_store.PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": state_store.SORT_KEY, "KeyType": "RANGE"},
    ]
    keys = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert {name: keys[name] for name in ("pk", "sk")} == {"pk": "S", "sk": "S"}
    assert "TableName" not in table and "LocalSecondaryIndexes" not in table
    assert resource["DeletionPolicy"] == "Retain" and resource["UpdateReplacePolicy"] == "Retain"
    assert table["DeletionProtectionEnabled"] == {"Fn::If": ["StateTableProtected", True, False]}
    assert template["Parameters"]["StateTableDeletionProtection"]["Default"] == "enabled"


def test_dead_letter_queue_and_log_groups_have_explicit_deletion_policies(template: dict[str, Any]) -> None:
    for logical_id in ["DeadLetterQueue", *resources_of_type(template, "AWS::Logs::LogGroup")]:
        resource = template["Resources"][logical_id]
        assert resource["DeletionPolicy"] in ("Delete", "Retain"), logical_id
        assert resource["UpdateReplacePolicy"] == "Retain", logical_id


def test_topics_are_encrypted_and_cloudwatch_may_use_the_ops_key(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    assert resources["AlertTopic"]["Properties"]["KmsMasterKeyId"]
    assert resources["OpsTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "OpsTopicKey"}
    statements = resources["OpsTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in statements if s["Principal"].get("Service") == "cloudwatch.amazonaws.com"]
    assert len(cloudwatch) == 1
    assert set(cloudwatch[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cloudwatch[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert ":alarm:*" in cloudwatch[0]["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]


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
        if a["Properties"].get("MetricName") == "Errors"
    }
    assert errors == set(ALL_FUNCTIONS)
    depth = [a for a in alarms.values() if a["Properties"].get("Namespace") == "AWS/SQS"]
    throttled = [
        m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"]
        for m in statements_of({"Statement": alarms["ThrottlesAlarm"]["Properties"]["Metrics"]})
        if "MetricStat" in m
    ]
    assert sorted(throttled) == sorted(ALL_FUNCTIONS)
    assert depth[0]["Properties"]["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": "DeadLetterQueue.QueueName"}}
    ]


def test_dead_mans_switch_per_provider_reads_the_runners_metric(template: dict[str, Any]) -> None:
    assert 'name="SuccessfulChecks"' in inspect.getsource(runner.check_accounts)
    assert 'add_dimension("provider", provider)' in inspect.getsource(runner.check_accounts)
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm").values()
    switches = {}
    for alarm in alarms:
        properties = alarm["Properties"]
        if properties.get("MetricName") == "SuccessfulChecks":
            dimensions = {d["Name"]: d["Value"] for d in properties["Dimensions"]}
            switches[dimensions["provider"]] = (alarm, dimensions)
    assert set(switches) == {*PROVIDER_IDS, CUSTOM_PROVIDER}
    for provider, (alarm, dimensions) in switches.items():
        properties = alarm["Properties"]
        assert properties["Namespace"] == observability.NAMESPACE
        assert dimensions == {"provider": provider, "service": observability.SERVICE}
        assert properties["TreatMissingData"] == "breaching"
        assert properties["ComparisonOperator"] == "LessThanThreshold"
        assert properties["Threshold"] == 1
        assert properties["EvaluationPeriods"] == {"Ref": "DeadMansSwitchPeriods"}
        assert alarm["Condition"] == f"{SCHEDULED_FUNCTIONS[provider].removesuffix('Function')}Scheduled"


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


def test_deploy_guide_documents_every_parameter(template: dict[str, Any]) -> None:
    guide = (REPO_ROOT / "docs" / "deploy.md").read_text()
    for name in template["Parameters"]:
        assert f"| `{name}` |" in guide, name


def test_outputs_are_described(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert {"StateTableName", "AlertTopicArn", "OpsTopicArn", "DeadLetterQueueUrl"} <= set(outputs)
    assert all(output.get("Description") for output in outputs.values())


def test_every_alarm_says_what_to_check_next(template: dict[str, Any]) -> None:
    """Email subscribers of the ops topic read CloudWatch's own message: only AlarmDescription can hold a next step."""
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    assert alarms
    for logical_id, alarm in alarms.items():
        description = alarm["Properties"]["AlarmDescription"]
        text = description["Fn::Sub"] if isinstance(description, dict) else description
        assert "Next: " in text, logical_id
        assert len(text) <= 1024, logical_id  # CloudWatch's limit, before substitution grows it a little
        if "DeadMansSwitch" in logical_id or ("Errors" in logical_id and "SlackNotifier" not in logical_id):
            function = logical_id.replace("DeadMansSwitchAlarm", "Function").replace("ErrorsAlarm", "Function")
            assert f"sam logs -n {function} --stack-name ${{AWS::StackName}}" in text, logical_id
    dead_letters = alarms["DeadLetterQueueDepthAlarm"]["Properties"]["AlarmDescription"]["Fn::Sub"]
    assert "--queue-url ${DeadLetterQueue}" in dead_letters and "redrive" in dead_letters
