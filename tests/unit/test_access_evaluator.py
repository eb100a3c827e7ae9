"""The IAM evaluator behind the deploy check's access matrix: it must be able to say no, and yes."""

from __future__ import annotations

import pytest

from local.deploy.access import Request, UnknownPolicyElement, is_allowed, role_statements, wildcard_match

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/state"
OWN_PARTITION = {
    "Effect": "Allow",
    "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
    "Resource": TABLE,
    "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["provider#flashback"]}},
}


def keys(*values: str) -> dict[str, list[str]]:
    return {"dynamodb:LeadingKeys": list(values)}


def test_leading_keys_admit_only_the_own_partition() -> None:
    assert is_allowed([OWN_PARTITION], Request("dynamodb:PutItem", TABLE, keys("provider#flashback")))
    assert not is_allowed([OWN_PARTITION], Request("dynamodb:PutItem", TABLE, keys("provider#bigdata")))
    assert not is_allowed([OWN_PARTITION], Request("dynamodb:Scan", TABLE))


def test_for_all_values_holds_without_keys_as_in_aws_unless_null_forbids_it() -> None:
    assert is_allowed([OWN_PARTITION], Request("dynamodb:GetItem", TABLE))
    guarded = {**OWN_PARTITION, "Condition": {**OWN_PARTITION["Condition"], "Null": {"dynamodb:LeadingKeys": "false"}}}
    assert not is_allowed([guarded], Request("dynamodb:GetItem", TABLE))
    assert is_allowed([guarded], Request("dynamodb:GetItem", TABLE, keys("provider#flashback")))


def test_deny_wins_and_nothing_is_allowed_by_default() -> None:
    deny = {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"}
    assert not is_allowed([OWN_PARTITION, deny], Request("dynamodb:GetItem", TABLE, keys("provider#flashback")))
    assert not is_allowed([], Request("sns:Publish", "arn:aws:sns:us-east-1:123456789012:t"))


def test_actions_match_case_insensitively_resources_case_sensitively() -> None:
    statement = {"Effect": "Allow", "Action": "SSM:Get*", "Resource": "arn:aws:ssm:*:*:parameter/quota-sentinel/a/*"}
    assert is_allowed([statement], Request("ssm:GetParameter", "arn:aws:ssm:r:1:parameter/quota-sentinel/a/key"))
    assert not is_allowed([statement], Request("ssm:GetParameter", "arn:aws:ssm:r:1:parameter/quota-sentinel/A/key"))
    assert not is_allowed([statement], Request("ssm:GetParameter", "arn:aws:ssm:r:1:parameter/quota-sentinel/b/key"))
    assert wildcard_match("a?c", "abc") and not wildcard_match("a?c", "abbc") and wildcard_match("x[1]", "x[1]")


def test_not_action_and_string_like_conditions() -> None:
    statement = {
        "Effect": "Allow",
        "NotAction": "kms:Encrypt",
        "Resource": "*",
        "Condition": {"StringLike": {"kms:EncryptionContext:PARAMETER_ARN": "arn:*:parameter/quota-sentinel/a/*"}},
    }
    context = {"kms:EncryptionContext:PARAMETER_ARN": ["arn:aws:ssm:r:1:parameter/quota-sentinel/a/k"]}
    assert is_allowed([statement], Request("kms:Decrypt", "key", context))
    assert not is_allowed([statement], Request("kms:Encrypt", "key", context))
    assert not is_allowed([statement], Request("kms:Decrypt", "key"))  # a plain operator on a missing key fails


def test_an_operator_it_cannot_judge_raises_instead_of_guessing() -> None:
    statement = {**OWN_PARTITION, "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
    with pytest.raises(UnknownPolicyElement, match="IpAddress"):
        is_allowed([statement], Request("dynamodb:GetItem", TABLE, {"aws:SourceIp": ["10.0.0.1"]}))


def test_managed_policies_are_expanded_and_an_unknown_one_raises() -> None:
    basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    statements = role_statements({"ManagedPolicyArns": [basic]})
    assert is_allowed(statements, Request("logs:PutLogEvents", "arn:aws:logs:us-east-1:1:log-group:x"))
    assert not is_allowed(statements, Request("dynamodb:Scan", TABLE))
    with pytest.raises(UnknownPolicyElement, match="AdministratorAccess"):
        role_statements({"ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]})
