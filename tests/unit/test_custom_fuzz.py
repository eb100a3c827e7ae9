"""Fuzz: any body against a few specs raises only ProviderError; any malformed spec raises only ConfigError;
and specs made of generated expressions, once valid, read any body with nothing but ProviderError."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared.config import ConfigError
from shared.custom import CustomAdapter, ProviderEntry, adapter_for, parse_custom_providers, validate_entry
from shared.models import ProviderError, QuotaMetric
from shared.providers import interpret
from tests.fuzzing import answer, assert_reaches_metrics, fuzz, json_values, mutated
from tests.unit.test_custom_adapter import BODY
from tests.unit.test_custom_spec import ENTRY

SPECS = Path(__file__).parents[2] / "docs" / "providers"
ADAPTERS = [adapter_for(validate_entry(ENTRY, "ENTRY"))] + [
    adapter_for(validate_entry(json.loads(path.read_text()), path.name)) for path in sorted(SPECS.glob("*.json"))
]
VOCABULARY = [
    "data", "quotas", "key", "label", "consumed", "allowed", "window", "ends", "error", "code", "package",
    "used_count", "max_count", "status", "allocated", "remaining", "total", "docs", "templates", "resources",
    "core", "limit", "used", "reset", "character_count", "character_limit",
]  # fmt: skip
KEYS = st.sampled_from(VOCABULARY) | st.text(max_size=8)
BODIES = json_values(max_leaves=25, keys=KEYS)
STATUS = st.sampled_from([200, 204, 301, 400, 401, 402, 403, 404, 429, 500, 502])


def read_answer(adapter: CustomAdapter, status: int, body: Any) -> None:
    """interpret() gives at most 100 sound metrics or raises ProviderError; anything else fails the test."""
    try:
        metrics = interpret(adapter, answer(status, body), secrets=["k3y"])
    except ProviderError as error:
        assert error.message
        assert error.status == status
        return
    assert 200 <= status < 300
    assert len(metrics) <= 100
    assert all(isinstance(metric, QuotaMetric) for metric in metrics)
    assert len({metric.metric_id for metric in metrics}) == len(metrics)


@fuzz
@given(st.sampled_from(ADAPTERS), STATUS, BODIES)
def test_any_body_against_the_specs_gives_metrics_or_provider_error(
    adapter: CustomAdapter, status: int, body: Any
) -> None:
    read_answer(adapter, status, body)


def test_near_valid_bodies_reach_metrics_so_the_body_fuzz_is_not_only_refusals() -> None:
    assert_reaches_metrics(ADAPTERS[0], mutated(st.just(BODY), junk=json_values(max_leaves=4)))


# --- malformed specs -------------------------------------------------------------------------------

SPEC_JUNK = json_values(max_leaves=6) | st.sampled_from(
    ["", "a[", "items(a, b)", "lower(x)", "x" * 1001, "bearer", "monthly", "/p", "https://x.example", "custom"]
)
SPEC_KEYS = st.sampled_from(
    ["id", "name", "request", "path", "auth", "type", "metrics", "each", "used", "limit", "errors", "accounts"]
) | st.text(max_size=6)


@fuzz
@given(mutated(st.just(ENTRY), junk=SPEC_JUNK) | json_values(max_leaves=10, keys=SPEC_KEYS))
def test_any_malformed_spec_gives_an_entry_or_a_configuration_error(entry: Any) -> None:
    try:
        entries = parse_custom_providers(json.dumps([entry]))
    except ConfigError as error:
        assert str(error).startswith("CUSTOM_PROVIDERS")
        return
    assert all(isinstance(item, ProviderEntry) for item in entries)


# --- generated expressions -------------------------------------------------------------------------

FIELD = st.sampled_from([*VOCABULARY[:12], "@", "value", "`-1`", "`0`", "'x'", '`"3"`'])


def _compose(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.sampled_from([".", " || ", " && ", " == ", " != ", " > ", " <= ", " | "])
    function = st.sampled_from(
        ["items", "length", "keys", "values", "to_number", "to_string", "type", "sum", "max", "abs", "ceil", "not_null"]
    )
    return (
        st.builds(lambda a, op, b: f"{a}{op}{b}", children, binary, children)
        | st.builds(lambda f, a: f"{f}({a})", function, children)
        | st.builds(lambda a: f"{a}[]", children)
        | st.builds(lambda a, b: f"{a}[?{b}]", children, children)
        | st.builds(lambda a: f"!{a}", children)
        | st.builds(lambda a, b: f"[{a}, {b}]", children, children)
        | st.builds(lambda a: f"({a})", children)
    )


# Through a lambda: Hypothesis cannot see that _compose uses its argument and warns that it cannot recurse.
EXPRESSIONS = st.recursive(FIELD, lambda children: _compose(children), max_leaves=6)  # noqa: PLW0108


@st.composite
def generated_entries(draw: st.DrawFn) -> Any:
    entry = copy.deepcopy(ENTRY)
    metric = entry["metrics"][0]
    for field in ("each", "id", "name", "used", "limit", "resets_at", "unlimited_when"):
        if draw(st.booleans()):
            metric[field] = draw(EXPRESSIONS)
    if draw(st.booleans()):
        metric["remaining"] = metric.pop("used")
    entry["errors"][0]["when"] = draw(EXPRESSIONS)
    return entry


@fuzz
@given(generated_entries(), STATUS, BODIES)
def test_specs_of_generated_expressions_read_any_body_with_provider_error_only(
    entry: Any, status: int, body: Any
) -> None:
    try:
        adapter = adapter_for(validate_entry(entry, "GENERATED"))
    except ConfigError:
        return
    read_answer(adapter, status, body)
