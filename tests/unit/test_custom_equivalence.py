"""Proof of expressiveness: the TemplateDocs and ChatDOC specs in docs/providers/ read every body as the
Python adapters do, the fixtures and generated bodies of the same schema alike.

Both sides go through ``interpret`` (status first, then the body), and agree on the metrics (every field)
or on the failure's reason and status. The one difference is the contract's: an ``errors`` rule is checked
on every body whatever the status, so ChatDOC's ``package: null`` rule also fires on a non-2xx answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.custom import CustomAdapter, adapter_for, validate_entry
from shared.http import HttpResult
from shared.models import FailureReason, ProviderError, QuotaMetric
from shared.providers import ProviderAdapter, get_adapter, interpret
from tests.conftest import FIXTURES
from tests.fuzzing import answer, fuzz, json_values, mutated, perturbed

SPECS = Path(__file__).parents[2] / "docs" / "providers"


def spec_adapter(name: str) -> CustomAdapter:
    return adapter_for(validate_entry(json.loads((SPECS / f"{name}.json").read_text()), name))


PAIRS = {name: (get_adapter(name), spec_adapter(name)) for name in ("templatedocs", "chatdoc")}


def fixture_bodies() -> list[tuple[str, Any]]:
    """Every body in the fixtures, the cases of the multi-case files included."""
    bodies: list[tuple[str, Any]] = []
    for path in sorted(FIXTURES.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        bodies.append((path.name, data))
        if path.name.endswith("_invalid_bodies.json"):
            bodies += [(f"{path.name}:{case}", item["body"]) for case, item in data.items()]
        elif path.name.endswith("_error_bodies.json"):
            bodies += [(f"{path.name}:{case}", item) for case, item in data.items()]
    return bodies


BODIES = fixture_bodies()
STATUSES = (200, 201, 302, 400, 401, 402, 403, 404, 429, 500, 503)

Outcome = list[QuotaMetric] | tuple[FailureReason, int | None]


def outcome(adapter: ProviderAdapter, result: HttpResult) -> Outcome:
    try:
        return interpret(adapter, result, secrets=[])
    except ProviderError as error:
        assert error.message  # a failure always says something
        return (error.reason, error.status)


def the_contracts_difference(name: str, status: int, body: Any) -> bool:
    """ChatDOC's no_subscription rule matches ``data.package: null`` on any status (the contract's rule)."""
    return (
        name == "chatdoc"
        and not 200 <= status < 300
        and isinstance(body, dict)
        and isinstance(body.get("data"), dict)
        and "package" in body["data"]
        and body["data"]["package"] is None
    )


def test_every_fixture_file_is_read() -> None:
    names = {name.split(":")[0] for name, _ in BODIES}
    assert len(names) == len(list(FIXTURES.glob("*.json"))) > 50
    assert {"provider_templatedocs_ok.json", "provider_chatdoc_ok.json", "edge_chatdoc_string_count.json"} <= names


@pytest.mark.parametrize("name", sorted(PAIRS))
@pytest.mark.parametrize("status", STATUSES)
def test_spec_and_adapter_agree_on_every_fixture_body(name: str, status: int) -> None:
    python, spec = PAIRS[name]
    differences = []
    for body_name, body in BODIES:
        expected, got = outcome(python, answer(status, body)), outcome(spec, answer(status, body))
        if the_contracts_difference(name, status, body):
            assert got == (FailureReason.NO_SUBSCRIPTION, status)
        elif got != expected:
            differences.append(f"{body_name}: adapter {expected!r}, spec {got!r}")
    assert differences == []


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_the_fixtures_reach_metrics_and_failures_alike(name: str) -> None:
    # The comparison above is not vacuous: both read real metrics and refuse real bodies.
    python, _ = PAIRS[name]
    outcomes = [outcome(python, answer(200, body)) for _, body in BODIES]
    assert any(isinstance(o, list) and o for o in outcomes)
    assert any(o == (FailureReason.BAD_RESPONSE, 200) for o in outcomes)


def test_templatedocs_sample_through_the_spec() -> None:
    _, spec = PAIRS["templatedocs"]
    metrics = spec.parse(json.loads((FIXTURES / "provider_templatedocs_ok.json").read_text()))
    assert [(m.metric_id, m.name, m.used, m.limit, m.unit, m.period) for m in metrics] == [
        ("docs", "Document generations", 388, 1500, "count", "monthly"),
        ("templates", "Templates", 12, 50, "count", None),
    ]


def test_chatdoc_sample_through_the_spec() -> None:
    _, spec = PAIRS["chatdoc"]
    metrics = spec.parse(json.loads((FIXTURES / "provider_chatdoc_partial_nulls.json").read_text()))
    assert [(m.metric_id, m.name, m.used, m.limit, m.unit, m.period) for m in metrics] == [
        ("elite_page", "Elite pages", 500, 500, "count", None),
        ("question", "Questions", 37, 1000, "count", None),
        ("gpt4o_question", "GPT-4o questions", 0, 100, "count", None),
    ]
    with pytest.raises(ProviderError) as caught:
        spec.parse(json.loads((FIXTURES / "provider_chatdoc_package_null.json").read_text()))
    assert caught.value.reason is FailureReason.NO_SUBSCRIPTION


# --- generated bodies of the same schema -----------------------------------------------------------

COUNT = st.integers(0, 10**7) | st.floats(0, 1e12) | st.sampled_from([0, 0.0])
NEAR = st.sampled_from([None, True, False, 0, -1, -0.5, 0.5, 1e308, 2**64, 10**400, "", "10", "ok", "error", [], {}])
JUNK = json_values(max_leaves=6)


def _side() -> st.SearchStrategy[dict[str, Any]]:
    counts = st.fixed_dictionaries({"docs": COUNT, "templates": COUNT})
    return st.fixed_dictionaries({"total": counts}, optional={"subscriptions": counts, "credits": counts})


TEMPLATEDOCS_KEYS = st.sampled_from(["allocated", "remaining", "total", "docs", "templates", "error"]) | st.text(
    max_size=6
)
TEMPLATEDOCS_VALID = st.fixed_dictionaries({"allocated": _side(), "remaining": _side()})
TEMPLATEDOCS_BODIES = (
    TEMPLATEDOCS_VALID
    | mutated(TEMPLATEDOCS_VALID, junk=JUNK | NEAR)
    | perturbed(TEMPLATEDOCS_VALID, keys=TEMPLATEDOCS_KEYS, near_scalars=NEAR, numbers=COUNT, near_percent=6)
)

CHATDOC_ITEM = st.none() | st.fixed_dictionaries({"max_count": COUNT, "used_count": COUNT | st.integers(-5, 0)})
CHATDOC_KEYS = st.sampled_from(["basic_page", "question", "gpt4_question", "page", "foo__bar", " x "]) | st.text(
    max_size=8
)
CHATDOC_VALID = st.fixed_dictionaries(
    {"data": st.fixed_dictionaries({"package": st.none() | st.dictionaries(CHATDOC_KEYS, CHATDOC_ITEM, max_size=8)})},
    optional={"status": st.sampled_from(["ok", "error", None])},
)
CHATDOC_BODIES = (
    CHATDOC_VALID
    | mutated(CHATDOC_VALID, junk=JUNK | NEAR)
    | perturbed(CHATDOC_VALID, keys=CHATDOC_KEYS | st.just("status"), near_scalars=NEAR, numbers=COUNT)
)


def assert_same_at_200(name: str, body: Any) -> None:
    python, spec = PAIRS[name]
    assert outcome(spec, answer(200, body)) == outcome(python, answer(200, body))


@fuzz
@given(TEMPLATEDOCS_BODIES)
def test_templatedocs_spec_matches_the_adapter_on_generated_bodies(body: Any) -> None:
    assert_same_at_200("templatedocs", body)


@fuzz
@given(CHATDOC_BODIES)
def test_chatdoc_spec_matches_the_adapter_on_generated_bodies(body: Any) -> None:
    assert_same_at_200("chatdoc", body)


@fuzz
@given(st.sampled_from(sorted(PAIRS)), json_values(max_leaves=20))
def test_specs_match_the_adapters_on_arbitrary_json(name: str, body: Any) -> None:
    assert_same_at_200(name, body)
