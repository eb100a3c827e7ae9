"""JMESPath expressions of custom provider entries: compiled and checked once, evaluated safely.

Expressions are plain JMESPath plus one function, ``items(obj)``, which pairs an object's keys with
their values (``[{"key": k, "value": v}, ...]``): plain JMESPath cannot, and some providers report
their metrics as the keys of an object.
"""

from __future__ import annotations

from typing import Any

import jmespath
from jmespath import functions
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult
from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

MAX_EXPRESSION_CHARS = 1000


class _Functions(functions.Functions):
    """JMESPath's built-in functions plus ``items``."""

    @functions.signature({"types": ["object"]})
    def _func_items(self, value: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"key": key, "value": item} for key, item in value.items()]


_OPTIONS = jmespath.Options(custom_functions=_Functions())
_FUNCTION_TABLE: dict[str, dict[str, Any]] = _Functions.FUNCTION_TABLE
FUNCTION_NAMES = frozenset(_FUNCTION_TABLE)


class ExpressionFailed(Exception):
    """An expression could not be evaluated on this data (a type error inside JMESPath, for instance)."""


def _check_functions(node: Any) -> None:
    """Unknown functions and wrong argument counts are found at validation, not on the first body."""
    if not isinstance(node, dict):
        return
    if node.get("type") == "function_expression":
        name = node.get("value")
        spec = _FUNCTION_TABLE.get(str(name))
        if spec is None:
            raise PydanticCustomError("jmespath", "unknown function {name}()", {"name": str(name)[:40]})
        signature = spec["signature"]
        given = len(node.get("children", []))
        variadic = bool(signature) and signature[-1].get("variadic", False)
        if given < len(signature) or (not variadic and given != len(signature)):
            expected = f"at least {len(signature)}" if variadic else str(len(signature))
            raise PydanticCustomError(
                "jmespath",
                "{name}() takes {expected} argument(s), not {given}",
                {"name": name, "expected": expected, "given": given},
            )
    for child in node.get("children", []):
        _check_functions(child)


class Expression:
    """A JMESPath expression, compiled once when the entry is validated."""

    __slots__ = ("_parsed", "source")

    def __init__(self, source: str) -> None:
        if not source.strip():
            raise PydanticCustomError("jmespath", "not a valid JMESPath expression (it is empty)")
        if len(source) > MAX_EXPRESSION_CHARS:
            raise PydanticCustomError(
                "jmespath", "expression longer than {limit} characters", {"limit": MAX_EXPRESSION_CHARS}
            )
        try:
            parsed = jmespath.compile(source)
            _check_functions(parsed.parsed)
        except JMESPathError as error:
            position = getattr(error, "lex_position", None)
            where = f" at character {position}" if isinstance(position, int) else ""
            raise PydanticCustomError("jmespath", "not a valid JMESPath expression" + where) from None
        except RecursionError:
            raise PydanticCustomError("jmespath", "not a valid JMESPath expression (nested too deeply)") from None
        self.source = source
        self._parsed: ParsedResult = parsed

    def search(self, data: Any) -> Any:
        """The expression's value on ``data``. Raises ExpressionFailed and nothing else."""
        try:
            return self._parsed.search(data, options=_OPTIONS)
        # The expression is the operator's and the data the provider's: whatever JMESPath raises on this
        # pairing (type errors, comparisons of a string with a number, recursion) means "does not fit".
        except Exception as error:
            raise ExpressionFailed(type(error).__name__) from None

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    @classmethod
    def __get_pydantic_core_schema__(cls, source_type: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls,
            core_schema.str_schema(strict=True),
            serialization=core_schema.plain_serializer_function_ser_schema(lambda value: value.source),
        )


def truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null and empty strings, lists and objects are false; 0 is true."""
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True
