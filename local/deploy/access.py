"""A small IAM evaluator over identity policies: is one request allowed?

It follows AWS's rules for what our policies use: an explicit Deny wins over any Allow, and nothing is
allowed without a matching Allow; ``Action``/``NotAction`` match case-insensitively with ``*`` and ``?``,
``Resource``/``NotResource`` case-sensitively; every condition operator in a statement and every key
under it must hold (values of one key are ORed). ``ForAllValues:`` holds when the request has no such
key, as in AWS; a plain operator on a missing key does not. An operator it does not know raises: an
evaluator that guessed could pass a policy falsely.

AWS managed policies are expanded from the documents vendored in ``managed_policies/``; a managed
policy without a vendored document raises, for the same reason.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

MANAGED_POLICY_DIR = Path(__file__).resolve().parent / "managed_policies"


class UnknownPolicyElement(ValueError):
    """A policy uses an operator or a managed policy that this evaluator cannot judge."""


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, Sequence[str]] = field(default_factory=dict)  # condition keys, each a list of values


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@cache
def _pattern(wildcard: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(wildcard), re.IGNORECASE if ignore_case else 0)


def wildcard_match(wildcard: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's ``*`` (any run of characters, none included) and ``?`` (one character); no other metacharacter."""
    escaped = wildcard.replace("[", "[[]")
    return _pattern(escaped, ignore_case).match(value) is not None


def _matches_any(patterns: Any, value: str, ignore_case: bool) -> bool:
    return any(wildcard_match(str(pattern), value, ignore_case) for pattern in _as_list(patterns))


def _compare(operator: str, expected: str, actual: str) -> bool:
    if operator in ("StringEquals", "ArnEquals"):
        return actual == expected
    if operator == "StringEqualsIgnoreCase":
        return actual.lower() == expected.lower()
    if operator in ("StringLike", "ArnLike"):
        return wildcard_match(expected, actual)
    raise UnknownPolicyElement(f"condition operator {operator} is not supported by the evaluator")


NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals",
           "ArnNotLike": "ArnLike"}  # fmt: skip


def _condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, Sequence[str]]) -> bool:
    expected_values = [str(value) for value in _as_list(expected)]
    actual = context.get(key)
    if operator == "Null":
        wanted_missing = expected_values[0].lower() == "true"
        return (actual is None) == wanted_missing
    if operator == "Bool":
        return actual is not None and any(a.lower() == e.lower() for a in actual for e in expected_values)
    qualifier, _, base = operator.rpartition(":")
    if qualifier == "ForAllValues":
        # Every value of the request matches one of the policy's; vacuously true with no values (AWS semantics).
        return all(any(_compare(base, e, a) for e in expected_values) for a in (actual or []))
    if qualifier == "ForAnyValue":
        return any(_compare(base, e, a) for a in (actual or []) for e in expected_values)
    if qualifier:
        raise UnknownPolicyElement(f"condition qualifier {qualifier} is not supported by the evaluator")
    if base in NEGATED:
        return actual is None or not any(_compare(NEGATED[base], e, a) for a in actual for e in expected_values)
    if actual is None:
        return False
    return any(_compare(base, e, a) for a in actual for e in expected_values)


def _element_matches(statement: Mapping[str, Any], element: str, value: str, *, ignore_case: bool) -> bool:
    """``Action``/``Resource`` must match ``value``; their ``Not`` forms must not; a statement has one or the other."""
    if element in statement:
        return _matches_any(statement[element], value, ignore_case=ignore_case)
    if f"Not{element}" in statement:
        return not _matches_any(statement[f"Not{element}"], value, ignore_case=ignore_case)
    raise UnknownPolicyElement(f"statement without {element} or Not{element}: {statement}")


def statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    if not _element_matches(statement, "Action", request.action, ignore_case=True):
        return False
    if not _element_matches(statement, "Resource", request.resource, ignore_case=False):
        return False
    for operator, keys in statement.get("Condition", {}).items():
        for key, expected in keys.items():
            if not _condition_holds(operator, key, expected, request.context):
                return False
    return True


def is_allowed(statements: Iterable[Mapping[str, Any]], request: Request) -> bool:
    """Deny wins; otherwise allowed only if some Allow statement applies."""
    allowed = False
    for statement in statements:
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise UnknownPolicyElement(f"statement Effect must be Allow or Deny: {statement}")
        if statement_applies(statement, request):
            if effect == "Deny":
                return False
            allowed = True
    return allowed


@cache
def managed_policies() -> dict[str, list[dict[str, Any]]]:
    """The vendored AWS managed policy documents' statements, by ARN."""
    policies = {}
    for path in sorted(MANAGED_POLICY_DIR.glob("*.json")):
        policy = json.loads(path.read_text())
        policies[policy["Arn"]] = _as_list(policy["Document"]["Statement"])
    return policies


def role_statements(role_properties: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every statement a role grants: its inline policies and its managed policies, expanded."""
    statements: list[dict[str, Any]] = []
    for policy in role_properties.get("Policies", []):
        statements.extend(_as_list(policy["PolicyDocument"]["Statement"]))
    for arn in role_properties.get("ManagedPolicyArns", []):
        if arn not in managed_policies():
            raise UnknownPolicyElement(f"managed policy {arn} has no vendored document in {MANAGED_POLICY_DIR}")
        statements.extend(managed_policies()[arn])
    return statements
