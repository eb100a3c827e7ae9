"""local.template: the one resolver of template.yaml's intrinsic functions, on small templates and the real one."""

from __future__ import annotations

from typing import Any

import pytest

from local.invoke import function_environment, function_specs
from local.provision import TemplateView
from local.template import NO_VALUE, Resolver, Unresolved, function_variables, load_template

TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Stage": {"Type": "String", "Default": "dev"},
        "Required": {"Type": "String"},
        "Percent": {"Type": "Number", "Default": 80},
        "Email": {"Type": "String", "Default": ""},
        "Minimum": {"Type": "String", "AllowedValues": ["warning", "critical"], "Default": "warning"},
    },
    "Mappings": {
        "Levels": {"warning": {"At": ["warning", "critical"]}, "critical": {"At": ["critical"]}},
        "Periods": {900: {"Label": "quarter"}},
    },
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "HasEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Email"}, ""]}]},
        "ProdWithEmail": {"Fn::And": [{"Condition": "IsProd"}, {"Condition": "HasEmail"}]},
        "ProdOrEmail": {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "HasEmail"}]},
        "Loop": {"Fn::Not": [{"Condition": "Loop"}]},
        "Broken": {"Fn::Equals": ["only one"]},
    },
    "Globals": {
        "Function": {
            "Environment": {"Variables": {"STAGE": {"Ref": "Stage"}, "SHARED": "global", "FLAG": True}},
        }
    },
    "Resources": {
        "Table": {"Type": "AWS::DynamoDB::Table"},
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Function": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Environment": {
                    "Variables": {
                        "SHARED": "own",
                        "TABLE": {"Ref": "Table"},
                        "OPTIONAL": {"Fn::If": ["IsProd", "yes", {"Ref": "AWS::NoValue"}]},
                        "QUEUE_ARN": {"Fn::GetAtt": ["Queue", "Arn"]},
                    }
                }
            },
        },
    },
}
REFS = {"Table": "local-table"}


def resolve(value: Any, **parameters: str) -> Any:
    return Resolver(TEMPLATE, parameters=parameters, refs=REFS).resolve(value)


def test_ref_gives_parameters_overrides_pseudo_parameters_and_local_resource_names() -> None:
    assert resolve({"Ref": "Stage"}) == "dev"
    assert resolve({"Ref": "Percent"}) == "80"  # parameters are text, as CloudFormation passes them
    assert resolve({"Ref": "Stage"}, Stage="prod") == "prod"
    assert resolve({"Ref": "Required"}, Required="given") == "given"
    assert resolve({"Ref": "Table"}) == "local-table"
    assert resolve({"Ref": "AWS::Region"}) == "us-east-1"
    assert Resolver(TEMPLATE, region="eu-west-1").resolve({"Ref": "AWS::Region"}) == "eu-west-1"
    assert resolve([{"Ref": "AWS::AccountId"}, {"Ref": "AWS::Partition"}, {"Ref": "AWS::StackName"}]) == [
        "123456789012",
        "aws",
        "quota-sentinel",
    ]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Required", "the parameter has no Default and no override"),
        ("Queue", "the resource has no local name"),
        ("Nothing", "no such parameter, pseudo parameter or resource"),
    ],
)
def test_a_ref_without_a_local_value_is_unresolved_and_says_why(name: str, reason: str) -> None:
    with pytest.raises(Unresolved, match=f"Ref {name}: {reason}"):
        resolve({"Ref": name})


def test_conditions_equals_not_and_or_and_condition() -> None:
    dev, prod = Resolver(TEMPLATE), Resolver(TEMPLATE, parameters={"Stage": "prod", "Email": "a@b.c"})
    assert [dev.condition(name) for name in ("IsProd", "HasEmail", "ProdWithEmail", "ProdOrEmail")] == [False] * 4
    assert [prod.condition(name) for name in ("IsProd", "HasEmail", "ProdWithEmail", "ProdOrEmail")] == [True] * 4
    assert Resolver(TEMPLATE, parameters={"Email": "a@b.c"}).condition("ProdOrEmail") is True
    assert dev.evaluate({"Fn::Equals": [{"Ref": "Percent"}, 80]}) is True  # compared as text


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("Missing", "Condition 'Missing' is not defined"),
        ("Loop", "Condition Loop refers to itself: Loop -> Loop"),
        ("Broken", "Fn::Equals .*malformed"),
    ],
)
def test_an_unknown_cyclic_or_malformed_condition_is_unresolved(condition: str, message: str) -> None:
    with pytest.raises(Unresolved, match=message):
        Resolver(TEMPLATE).condition(condition)


def test_condition_functions_outside_conditions_are_unresolved() -> None:
    with pytest.raises(Unresolved, match="Fn::Equals belongs in Conditions or Fn::If"):
        resolve({"Fn::Equals": ["a", "a"]})
    with pytest.raises(Unresolved, match="is not a condition function"):
        Resolver(TEMPLATE).evaluate({"Fn::Join": ["", []]})


def test_fn_if_picks_a_branch_and_aws_novalue_drops_the_value() -> None:
    value = {"Fn::If": ["IsProd", {"Ref": "Stage"}, "not prod"]}
    assert resolve(value) == "not prod"
    assert resolve(value, Stage="prod") == "prod"
    dropped = {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]}
    assert resolve(dropped) is NO_VALUE
    assert resolve({"kept": 1, "dropped": dropped}) == {"kept": 1}
    assert resolve(["a", dropped, "b"]) == ["a", "b"]


def test_fn_findinmap_with_resolved_keys_and_keys_parsed_as_numbers() -> None:
    assert resolve({"Fn::FindInMap": ["Levels", {"Ref": "Minimum"}, "At"]}) == ["warning", "critical"]
    assert resolve({"Fn::FindInMap": ["Levels", {"Ref": "Minimum"}, "At"]}, Minimum="critical") == ["critical"]
    assert resolve({"Fn::FindInMap": ["Periods", "900", "Label"]}) == "quarter"
    with pytest.raises(Unresolved, match="Fn::FindInMap: Levels has no entry 'ok'"):
        resolve({"Fn::FindInMap": ["Levels", "ok", "At"]})
    with pytest.raises(Unresolved, match="malformed"):
        resolve({"Fn::FindInMap": ["Levels", "warning"]})


def test_fn_sub_string_form() -> None:
    assert resolve({"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${Stage}"}) == (
        "arn:aws:sqs:us-east-1:123456789012:dev"
    )
    assert resolve({"Fn::Sub": "${Table}-${ Stage }"}) == "local-table-dev"
    assert resolve({"Fn::Sub": "keep ${!Literal} as written"}) == "keep ${Literal} as written"
    with pytest.raises(Unresolved, match=r"Fn::Sub \$\{Queue.Arn\} is Fn::GetAtt"):
        resolve({"Fn::Sub": "${Queue.Arn}"})
    with pytest.raises(Unresolved, match="Ref Nothing"):
        resolve({"Fn::Sub": "${Nothing}"})


def test_fn_sub_list_form_with_variables_that_are_intrinsics() -> None:
    value = {"Fn::Sub": ["${Name}/${Stage}/${Level}", {"Name": "app", "Level": {"Fn::If": ["IsProd", "hi", "lo"]}}]}
    assert resolve(value) == "app/dev/lo"
    assert resolve(value, Stage="prod") == "app/prod/hi"


def test_fn_join_and_fn_select() -> None:
    assert resolve({"Fn::Join": ["-", ["a", {"Ref": "Stage"}, {"Ref": "Percent"}, True]]}) == "a-dev-80-true"
    assert resolve({"Fn::Join": [",", {"Fn::FindInMap": ["Levels", "warning", "At"]}]}) == "warning,critical"
    assert resolve({"Fn::Select": [1, ["a", {"Ref": "Stage"}]]}) == "dev"
    assert resolve({"Fn::Select": ["0", {"Fn::FindInMap": ["Levels", "warning", "At"]}]}) == "warning"
    with pytest.raises(Unresolved, match="malformed"):
        resolve({"Fn::Select": [5, ["a"]]})
    with pytest.raises(Unresolved, match="Fn::Join needs a list"):
        resolve({"Fn::Join": ["-", "abc"]})


def test_nested_values_are_resolved_and_literals_left_alone() -> None:
    value = {"Name": {"Ref": "Stage"}, "Tags": [{"Key": "k", "Value": {"Fn::Sub": "${Stage}!"}}], "Count": 3}
    assert resolve(value) == {"Name": "dev", "Tags": [{"Key": "k", "Value": "dev!"}], "Count": 3}
    assert resolve("plain") == "plain"
    assert resolve(None) is None


@pytest.mark.parametrize(
    "value",
    [
        {"Fn::GetAtt": ["Queue", "Arn"]},
        {"Fn::ImportValue": "elsewhere"},
        {"Fn::If": ["IsProd", "only two"]},
        {"Fn::Sub": 42},
        {"Ref": ["not", "a", "name"]},
    ],
)
def test_whatever_has_no_local_value_raises_unresolved_a_value_error(value: Any) -> None:
    with pytest.raises(Unresolved) as raised:
        resolve(value)
    assert isinstance(raised.value, ValueError)


def test_function_variables_merge_globals_with_the_function_s_own() -> None:
    assert function_variables(TEMPLATE, "Function") == {
        "STAGE": {"Ref": "Stage"},
        "SHARED": "own",
        "FLAG": True,
        "TABLE": {"Ref": "Table"},
        "OPTIONAL": {"Fn::If": ["IsProd", "yes", {"Ref": "AWS::NoValue"}]},
        "QUEUE_ARN": {"Fn::GetAtt": ["Queue", "Arn"]},
    }
    assert function_variables({"Globals": "half-edited", "Resources": None}, "Function") == {}


def test_function_environment_is_strict_unless_told_what_to_do_with_unresolved_variables() -> None:
    resolver = Resolver(TEMPLATE, refs=REFS)
    with pytest.raises(Unresolved, match="QUEUE_ARN: Fn::GetAtt has no local value"):
        resolver.function_environment("Function")
    unresolved: list[str] = []
    environment = resolver.function_environment("Function", on_unresolved=lambda name, _: unresolved.append(name))
    # text as Lambda gets it (a YAML true is "true"); AWS::NoValue leaves the variable out
    assert environment == {"STAGE": "dev", "SHARED": "own", "FLAG": "true", "TABLE": "local-table"}
    assert unresolved == ["QUEUE_ARN"]
    prod = Resolver(TEMPLATE, parameters={"Stage": "prod"}, refs={**REFS, "Queue": "q"})
    assert prod.environment({"OPTIONAL": function_variables(TEMPLATE, "Function")["OPTIONAL"]}) == {"OPTIONAL": "yes"}


# ------------------------------------------------------------------------------------------ the real template


LOCAL_REFS = {"StateTable": "quota-sentinel-state", "AlertTopic": "arn:aws:sns:us-east-1:123456789012:alerts"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_the_slack_and_email_filter_policies_follow_their_minimum_severity(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    slack = resources["SlackNotifierFunction"]["Properties"]["Events"]["Alerts"]["Properties"]["FilterPolicy"]
    email = resources["AlertEmailSubscription"]["Properties"]["FilterPolicy"]
    critical = Resolver(template, parameters={"SlackMinSeverity": "critical"})
    assert critical.resolve(slack) == {"severity": ["critical", "exhausted"]}
    assert critical.resolve(email) == {"severity": ["warning", "critical", "exhausted"]}  # the default, warning


def test_the_real_function_environments_resolve(template: dict[str, Any]) -> None:
    resolver = Resolver(template, refs=LOCAL_REFS)
    flashback = resolver.function_environment("FlashbackFunction")
    assert flashback["STATE_TABLE_NAME"] == "quota-sentinel-state"
    assert flashback["ACCOUNTS_PARAMETER"] == "/quota-sentinel/flashback/accounts"
    assert flashback["ALERT_TOPIC_ARN"] == LOCAL_REFS["AlertTopic"]
    assert flashback["POWERTOOLS_TRACE_DISABLED"] == "true"  # Tracing defaults to Disabled
    assert flashback["WARNING_PERCENT"] == "80"
    traced = Resolver(template, parameters={"Tracing": "Active"}, refs=LOCAL_REFS)
    assert traced.function_environment("FlashbackFunction")["POWERTOOLS_TRACE_DISABLED"] == "false"
    for logical_id in function_specs(template):
        assert resolver.function_environment(logical_id)["POWERTOOLS_SERVICE_NAME"] == "quota-sentinel"


def test_the_real_conditions_and_subs(template: dict[str, Any]) -> None:
    resolver = Resolver(template, parameters={"FlashbackSchedule": "5-minutes"}, region="eu-central-1")
    assert resolver.condition("FlashbackScheduled") is True
    assert resolver.condition("BigdataScheduled") is False
    assert resolver.condition("HasAlertEmail") is False
    resources = template["Resources"]
    assert resolver.resolve(resources["OpsTopicKeyAlias"]["Properties"]["AliasName"]) == "alias/quota-sentinel-ops"
    schedule = resources["FlashbackFunction"]["Properties"]["Events"]["Schedule"]["Properties"]
    assert resolver.resolve(schedule["ScheduleExpression"]) == "rate(5 minutes)"
    assert resolver.resolve(schedule["State"]) == "ENABLED"
    statement = resources["FlashbackFunction"]["Properties"]["Policies"][-1]["Statement"][2]
    assert resolver.resolve(statement["Resource"]) == (
        "arn:aws:ssm:eu-central-1:123456789012:parameter/quota-sentinel/flashback/*"
    )
    with pytest.raises(Unresolved, match="Fn::GetAtt"):
        resolver.resolve(schedule["DeadLetterConfig"])


def test_the_cli_and_the_local_invoke_see_the_same_environments(template: dict[str, Any]) -> None:
    view = TemplateView(template, LOCAL_REFS)
    refs = {**{logical_id: f"local-{logical_id}" for logical_id in template["Resources"]}, **LOCAL_REFS}
    for logical_id, spec in function_specs(template).items():
        invoked = function_environment(spec, template, refs, "us-east-1", env_file=None)
        assert view.function_environment(logical_id) == invoked, logical_id
    assert view.notes == []
