"""template.yaml loaded, and its intrinsic functions resolved for local use: one loader and one resolver
for the CLI, the local invoke, the bench and the tests.

``load_template`` parses it with intrinsics kept as
``{"Ref": ...}`` and ``{"Fn::X": ...}`` values. A parameter resolves to its override, else its
``Default``; a pseudo parameter to a local value; a resource to the local name the caller supplies.
``Fn::If``, the condition functions, ``Fn::FindInMap``, ``Fn::Sub``, ``Fn::Join`` and ``Fn::Select``
are evaluated; ``!Ref AWS::NoValue`` drops the value, as in CloudFormation. Whatever has no local
value (``Fn::GetAtt``, a resource without a local name, a missing mapping entry, a malformed
argument) raises ``Unresolved``: a caller that must tolerate a template being edited catches it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import yaml

from local import REPO_ROOT

TEMPLATE_PATH = REPO_ROOT / "template.yaml"

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
STACK_NAME = "quota-sentinel"
CONDITION_FUNCTIONS = ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition")
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads template.yaml, keeping intrinsic functions (!Ref, !GetAtt, ...) as plain values.

    cfn-lint's decoder does the same, but importing it costs about a second: too much for every CLI start.
    """


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open() as handle:
        template: dict[str, Any] = yaml.load(handle, Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    return template


class Unresolved(ValueError):
    """A value of the template that has no local value; the message says which and why."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"

    def __bool__(self) -> bool:
        return False


NO_VALUE: Final = _NoValue()  # what !Ref AWS::NoValue resolves to; dropped from lists, mappings, environments


def pseudo_parameters(region: str = REGION) -> dict[str, str]:
    """The AWS:: pseudo parameters, with local values."""
    return {
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Partition": "aws",
        "AWS::Region": region,
        "AWS::StackName": STACK_NAME,
        "AWS::URLSuffix": "amazonaws.com",
    }


def text(value: Any) -> str:
    """A resolved scalar as CloudFormation writes it into a string: booleans lower case."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _mapping(value: Any) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


def function_variables(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """Globals.Function's Environment.Variables merged with the function's own (which win), unresolved."""
    sources = (
        _mapping(_mapping(template.get("Globals")).get("Function")),
        _mapping(_mapping(_mapping(template.get("Resources")).get(logical_id)).get("Properties")),
    )
    variables: dict[str, Any] = {}
    for source in sources:
        variables.update(_mapping(_mapping(source.get("Environment")).get("Variables")))
    return variables


class Resolver:
    """Resolves the intrinsic functions of a parsed template with local values.

    ``parameters`` override the template's ``Parameters`` defaults; ``refs`` give ``Ref`` of a
    resource (its local name or ARN); ``region`` is ``AWS::Region``. Every failure is ``Unresolved``.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, Any] | None = None,
        refs: Mapping[str, str] | None = None,
        region: str = REGION,
    ) -> None:
        self.template = template
        defaults = {
            str(name): text(spec["Default"])
            for name, spec in self._section("Parameters").items()
            if isinstance(spec, Mapping) and "Default" in spec
        }
        overrides = {str(name): text(value) for name, value in (parameters or {}).items()}
        self.values = {**defaults, **pseudo_parameters(region), **(refs or {}), **overrides}
        self._evaluating: list[str] = []  # conditions being evaluated, to catch a cycle

    def _section(self, name: str) -> Mapping[Any, Any]:
        return _mapping(self.template.get(name))

    # -- values

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function in it resolved; ``NO_VALUE`` for ``!Ref AWS::NoValue``."""
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item is not NO_VALUE]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref" or str(name).startswith("Fn::"):
                with _malformed(name, argument):
                    return self._intrinsic(name, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _intrinsic(self, name: str, argument: Any) -> Any:
        if name == "Ref":
            return self.lookup(argument)
        if name == "Fn::If":
            condition, if_true, if_false = argument
            return self.resolve(if_true if self.condition(condition) else if_false)
        if name == "Fn::FindInMap":
            mapping, first, second = (self.resolve(part) for part in argument)
            top = _entry(_entry(self._section("Mappings"), mapping, "Mappings"), first, mapping)
            return self.resolve(_entry(top, second, f"{mapping}.{first}"))
        if name == "Fn::Sub":
            source, variables = (argument, {}) if isinstance(argument, str) else argument
            return self._substitute(source, _mapping(variables))
        if name == "Fn::Join":
            separator, parts = argument
            parts = self.resolve(parts)
            if not isinstance(parts, list):
                raise Unresolved(f"Fn::Join needs a list, not {parts!r}")
            return str(separator).join(text(part) for part in parts)
        if name == "Fn::Select":
            index, items = (self.resolve(part) for part in argument)
            if not isinstance(items, list):
                raise Unresolved(f"Fn::Select needs a list, not {items!r}")
            return items[int(index)]
        if name in CONDITION_FUNCTIONS:
            raise Unresolved(f"{name} belongs in Conditions or Fn::If, not in a value")
        raise Unresolved(f"{name} has no local value")

    def lookup(self, name: Any) -> Any:
        """What ``Ref name`` gives here."""
        if name == "AWS::NoValue":
            return NO_VALUE
        if not isinstance(name, str):
            raise Unresolved(f"Ref needs a name, not {name!r}")
        if name in self.values:
            return self.values[name]
        if name in self._section("Parameters"):
            raise Unresolved(f"Ref {name}: the parameter has no Default and no override")
        if name in self._section("Resources"):
            raise Unresolved(f"Ref {name}: the resource has no local name")
        raise Unresolved(f"Ref {name}: no such parameter, pseudo parameter or resource")

    def _substitute(self, source: Any, variables: Mapping[Any, Any]) -> str:
        if not isinstance(source, str):
            raise Unresolved(f"Fn::Sub needs a string, not {source!r}")

        def replace(match: re.Match[str]) -> str:
            name = match[1].strip()
            if name.startswith("!"):  # ${!Literal} is written as ${Literal}
                return f"${{{name[1:]}}}"
            if name in variables:
                return text(self.resolve(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                raise Unresolved(f"Fn::Sub ${{{name}}} is Fn::GetAtt, which has no local value")
            return text(self.lookup(name))

        return _SUB_VARIABLE.sub(replace, source)

    # -- conditions

    def condition(self, name: Any) -> bool:
        """The value of the condition ``name`` of the template's Conditions."""
        conditions = self._section("Conditions")
        if not isinstance(name, str) or name not in conditions:
            raise Unresolved(f"Condition {name!r} is not defined in Conditions")
        if name in self._evaluating:
            raise Unresolved(f"Condition {name} refers to itself: {' -> '.join([*self._evaluating, name])}")
        self._evaluating.append(name)
        try:
            with _malformed("Condition", name):
                return self.evaluate(conditions[name])
        finally:
            self._evaluating.pop()

    def evaluate(self, expression: Any) -> bool:
        """The value of a condition expression (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition)."""
        if not (isinstance(expression, Mapping) and len(expression) == 1):
            raise Unresolved(f"{expression!r} is not a condition function")
        ((name, argument),) = expression.items()
        with _malformed(name, argument):
            if name == "Fn::Equals":
                first, second = argument
                return text(self.resolve(first)) == text(self.resolve(second))
            if name == "Fn::Not":
                (inner,) = argument
                return not self.evaluate(inner)
            if name == "Fn::And":
                return all(self.evaluate(part) for part in argument)
            if name == "Fn::Or":
                return any(self.evaluate(part) for part in argument)
            if name == "Condition":
                return self.condition(argument)
        raise Unresolved(f"{name} is not a condition function")

    # -- environments

    def environment(
        self, variables: Mapping[Any, Any], on_unresolved: Callable[[str, Unresolved], None] | None = None
    ) -> dict[str, str]:
        """``variables`` resolved to strings; those resolving to ``AWS::NoValue`` left out.

        A variable without a local value raises ``Unresolved`` naming it; with ``on_unresolved``, it is
        reported there and left out instead.
        """
        environment: dict[str, str] = {}
        for name, value in variables.items():
            try:
                resolved = self.resolve(value)
            except Unresolved as error:
                if on_unresolved is None:
                    raise Unresolved(f"{name}: {error}") from error
                on_unresolved(str(name), error)
                continue
            if resolved is not NO_VALUE:
                environment[str(name)] = text(resolved)
        return environment

    def function_environment(
        self, logical_id: str, on_unresolved: Callable[[str, Unresolved], None] | None = None
    ) -> dict[str, str]:
        """The function's Environment.Variables as Lambda gets them: Globals.Function's and its own, resolved."""
        return self.environment(function_variables(self.template, logical_id), on_unresolved)


def _entry(mapping: Any, key: Any, where: Any) -> Any:
    """``mapping[key]``, keys compared as text (YAML may have parsed a key as a number)."""
    for candidate, value in _mapping(mapping).items():
        if text(candidate) == text(key):
            return value
    raise Unresolved(f"Fn::FindInMap: {where} has no entry {key!r}")


@contextlib.contextmanager
def _malformed(name: Any, argument: Any) -> Iterator[None]:
    """Turns an argument of the wrong shape (a half-edited template) into ``Unresolved``."""
    try:
        yield
    except Unresolved:
        raise
    except (LookupError, TypeError, ValueError, AttributeError) as error:
        raise Unresolved(f"{name} {argument!r}: malformed ({type(error).__name__}: {error})") from error
