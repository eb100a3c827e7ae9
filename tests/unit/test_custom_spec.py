"""Custom provider entries: every field validated once, every refusal naming its field, no value echoed."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from shared.config import ConfigError
from shared.custom import (
    MAX_EXPRESSION_CHARS,
    PERIODS,
    parse_custom_provider_parameters,
    parse_custom_providers,
    validate_entry,
)
from shared.custom.spec import BasicAuth, BearerAuth, HeaderAuth

ENTRY: dict[str, Any] = {
    "id": "acme",
    "name": "Acme Cloud",
    "manage_url": "https://console.acme.example/billing",
    "request": {
        "path": "/v2/usage",
        "default_base_url": "https://api.acme.example",
        "query": {"view": "quota"},
        "auth": {"type": "bearer"},
    },
    "metrics": [
        {
            "each": "data.quotas[]",
            "id": "key",
            "name": "label",
            "used": "consumed",
            "limit": "allowed",
            "unit": "count",
            "period": "monthly",
            "resets_at": "window.ends",
            "unlimited_when": "allowed == `-1`",
        }
    ],
    "errors": [{"when": "error.code == 'PLAN_EXPIRED'", "reason": "no_subscription"}],
    "accounts": [{"name": "main", "api_key": {"ssm": "/quota-sentinel/custom/acme/main"}}],
}


def changed(path: str, value: Any, entry: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of the entry with the dotted ``path`` set to ``value`` (or removed when value is ...)."""
    result = copy.deepcopy(ENTRY if entry is None else entry)
    node: Any = result
    parts = [int(part) if part.isdigit() else part for part in path.split(".")]
    for part in parts[:-1]:
        node = node[part]
    if value is ...:
        del node[parts[-1]]
    else:
        node[parts[-1]] = value
    return result


def refusal(entries: list[dict[str, Any]]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_custom_providers(json.dumps(entries))
    return str(caught.value)


# --- the contract's example ------------------------------------------------------------------------


def test_the_contracts_example_entry_is_valid_and_keeps_every_field() -> None:
    [entry] = parse_custom_providers(json.dumps([ENTRY]))
    assert (entry.id, entry.name, entry.manage_url) == ("acme", "Acme Cloud", "https://console.acme.example/billing")
    assert entry.request.path == "/v2/usage"
    assert entry.request.default_base_url == "https://api.acme.example"
    assert entry.request.query == {"view": "quota"}
    assert isinstance(entry.request.auth, BearerAuth)
    metric = entry.metrics[0]
    assert metric.each is not None and metric.each.source == "data.quotas[]"
    assert (metric.unit, metric.period) == ("count", "monthly")
    assert metric.unlimited_when is not None and metric.unlimited_when.source == "allowed == `-1`"
    assert entry.errors[0].reason == "no_subscription"
    assert entry.accounts[0].name == "main"
    assert entry.ssm_prefix() == "/quota-sentinel/custom/acme/"
    assert entry.secret_prefix() == "quota-sentinel/custom/acme/"


def test_optional_fields_have_their_defaults() -> None:
    minimal = {
        "id": "mini",
        "name": "Mini",
        "request": {"path": "/usage", "default_base_url": "https://mini.example"},
        "metrics": [{"id": "'calls'", "used": "used", "limit": "limit"}],
        "accounts": [{"name": "main", "api_key": {"env": "MINI_KEY"}}],
    }
    entry = validate_entry(minimal, "X")
    assert isinstance(entry.request.auth, BearerAuth)
    assert entry.request.query == {}
    assert entry.manage_url is None
    assert (entry.names, entry.errors) == ({}, [])
    metric = entry.metrics[0]
    assert (metric.each, metric.name, metric.unit, metric.period, metric.resets_at, metric.unlimited_when) == (
        None,
        None,
        "count",
        None,
        None,
        None,
    )


def test_auth_header_and_basic_forms() -> None:
    header = validate_entry(changed("request.auth", {"type": "header", "name": "X-API-KEY"}), "X").request.auth
    assert isinstance(header, HeaderAuth) and header.name == "X-API-KEY"
    basic = validate_entry(changed("request.auth", {"type": "basic", "username": "api"}), "X").request.auth
    assert isinstance(basic, BasicAuth) and basic.username == "api"


@pytest.mark.parametrize("period", PERIODS)
def test_every_known_period_is_accepted(period: str) -> None:
    assert validate_entry(changed("metrics.0.period", period), "X").metrics[0].period == period


def test_remaining_may_replace_used() -> None:
    entry = changed("metrics.0.used", ...)
    entry["metrics"][0]["remaining"] = "left"
    metric = validate_entry(entry, "X").metrics[0]
    assert metric.used is None and metric.remaining is not None


# --- refusals, each naming its field ---------------------------------------------------------------

REFUSALS = [
    # (path, value, the field named, words in the message)
    ("id", "Acme", "CUSTOM_PROVIDERS[0].id", "should match pattern"),
    ("id", "acme-cloud", "CUSTOM_PROVIDERS[0].id", "should match pattern"),
    ("id", "", "CUSTOM_PROVIDERS[0].id", "at least 1"),
    ("id", "custom", "CUSTOM_PROVIDERS[0].id", "reserved"),
    ("id", "flashback", "CUSTOM_PROVIDERS[0].id", "reserved"),
    ("id", "chatdoc", "CUSTOM_PROVIDERS[0].id", "reserved"),
    ("id", ..., "CUSTOM_PROVIDERS[0].id", "Field required"),
    ("id", 7, "CUSTOM_PROVIDERS[0].id", "valid string"),
    ("name", "", "CUSTOM_PROVIDERS[0].name", "at least 1"),
    ("name", ..., "CUSTOM_PROVIDERS[0].name", "Field required"),
    ("manage_url", "http://console.acme.example", "CUSTOM_PROVIDERS[0].manage_url", "https"),
    ("manage_url", "https://user:pw@console.acme.example", "CUSTOM_PROVIDERS[0].manage_url", "credentials"),
    ("manage_url", "javascript:alert(1)", "CUSTOM_PROVIDERS[0].manage_url", "https"),
    ("request", ..., "CUSTOM_PROVIDERS[0].request", "Field required"),
    ("request.path", "v2/usage", "CUSTOM_PROVIDERS[0].request.path", "should match pattern"),
    ("request.path", "/v2/usage?key=1", "CUSTOM_PROVIDERS[0].request.path", "should match pattern"),
    ("request.path", "/v2 usage", "CUSTOM_PROVIDERS[0].request.path", "should match pattern"),
    ("request.path", ..., "CUSTOM_PROVIDERS[0].request.path", "Field required"),
    ("request.default_base_url", "http://api.acme.example", "CUSTOM_PROVIDERS[0].request.default_base_url", "https"),
    ("request.default_base_url", "ftp://x", "CUSTOM_PROVIDERS[0].request.default_base_url", "https"),
    ("request.query", {"view": 3}, "CUSTOM_PROVIDERS[0].request.query.view", "valid string"),
    ("request.query", [], "CUSTOM_PROVIDERS[0].request.query", "valid dictionary"),
    ("request.auth", {"type": "oauth"}, "CUSTOM_PROVIDERS[0].request.auth", "does not match any of the expected tags"),
    ("request.auth", {"type": "header"}, "CUSTOM_PROVIDERS[0].request.auth.header.name", "Field required"),
    (
        "request.auth",
        {"type": "header", "name": "X Key"},
        "CUSTOM_PROVIDERS[0].request.auth.header.name",
        "should match pattern",
    ),
    ("request.auth", {"type": "header", "name": "Host"}, "CUSTOM_PROVIDERS[0].request.auth.header.name", "transport"),
    ("request.auth", {"type": "basic"}, "CUSTOM_PROVIDERS[0].request.auth.basic.username", "Field required"),
    (
        "request.auth",
        {"type": "basic", "username": "a:b"},
        "CUSTOM_PROVIDERS[0].request.auth.basic.username",
        "should match pattern",
    ),
    (
        "request.auth",
        {"type": "bearer", "token": "x"},
        "CUSTOM_PROVIDERS[0].request.auth.bearer.token",
        "Extra inputs",
    ),
    ("metrics", [], "CUSTOM_PROVIDERS[0].metrics", "at least 1"),
    ("metrics.0.id", ..., "CUSTOM_PROVIDERS[0].metrics[0].id", "Field required"),
    ("metrics.0.id", "a[", "CUSTOM_PROVIDERS[0].metrics[0].id", "not a valid JMESPath expression"),
    ("metrics.0.each", "data.[", "CUSTOM_PROVIDERS[0].metrics[0].each", "not a valid JMESPath expression"),
    ("metrics.0.name", "label |", "CUSTOM_PROVIDERS[0].metrics[0].name", "not a valid JMESPath expression"),
    ("metrics.0.used", "a[", "CUSTOM_PROVIDERS[0].metrics[0].used", "not a valid JMESPath expression"),
    ("metrics.0.used", "", "CUSTOM_PROVIDERS[0].metrics[0].used", "not a valid JMESPath expression"),
    ("metrics.0.used", 5, "CUSTOM_PROVIDERS[0].metrics[0].used", "valid string"),
    ("metrics.0.used", ..., "CUSTOM_PROVIDERS[0].metrics[0]", "exactly one of used and remaining"),
    ("metrics.0.limit", "(", "CUSTOM_PROVIDERS[0].metrics[0].limit", "not a valid JMESPath expression"),
    ("metrics.0.limit", ..., "CUSTOM_PROVIDERS[0].metrics[0].limit", "Field required"),
    ("metrics.0.resets_at", "window.", "CUSTOM_PROVIDERS[0].metrics[0].resets_at", "not a valid JMESPath expression"),
    ("metrics.0.unlimited_when", "==", "CUSTOM_PROVIDERS[0].metrics[0].unlimited_when", "not a valid JMESPath"),
    ("metrics.0.used", "lower(name)", "CUSTOM_PROVIDERS[0].metrics[0].used", "unknown function lower()"),
    ("metrics.0.used", "items(a, b)", "CUSTOM_PROVIDERS[0].metrics[0].used", "items() takes 1 argument(s), not 2"),
    ("metrics.0.used", "max_by(a)", "CUSTOM_PROVIDERS[0].metrics[0].used", "max_by() takes 2 argument(s), not 1"),
    ("metrics.0.used", "merge()", "CUSTOM_PROVIDERS[0].metrics[0].used", "merge() takes at least 1 argument(s)"),
    (
        "metrics.0.used",
        "a" * (MAX_EXPRESSION_CHARS + 1),
        "CUSTOM_PROVIDERS[0].metrics[0].used",
        f"longer than {MAX_EXPRESSION_CHARS} characters",
    ),
    ("metrics.0.unit", "Bytes", "CUSTOM_PROVIDERS[0].metrics[0].unit", "should match pattern"),
    ("metrics.0.unit", "`count`", "CUSTOM_PROVIDERS[0].metrics[0].unit", "should match pattern"),
    ("metrics.0.period", "fortnightly", "CUSTOM_PROVIDERS[0].metrics[0].period", "'monthly'"),
    ("metrics.0.period", 30, "CUSTOM_PROVIDERS[0].metrics[0].period", "'monthly'"),
    ("metrics.0.colour", "red", "CUSTOM_PROVIDERS[0].metrics[0].colour", "Extra inputs"),
    ("names", {"docs": ""}, "CUSTOM_PROVIDERS[0].names.docs", "at least 1"),
    ("names", ["docs"], "CUSTOM_PROVIDERS[0].names", "valid dictionary"),
    ("errors", [{"when": "a =", "reason": "auth"}], "CUSTOM_PROVIDERS[0].errors[0].when", "not a valid JMESPath"),
    ("errors", [{"when": "a", "reason": "broken"}], "CUSTOM_PROVIDERS[0].errors[0].reason", "'no_subscription'"),
    ("errors", [{"when": "a"}], "CUSTOM_PROVIDERS[0].errors[0].reason", "Field required"),
    ("errors", [{"reason": "auth"}], "CUSTOM_PROVIDERS[0].errors[0].when", "Field required"),
    ("accounts", [], "CUSTOM_PROVIDERS[0].accounts", "at least 1"),
    ("accounts", ..., "CUSTOM_PROVIDERS[0].accounts", "Field required"),
    ("accounts.0.name", "", "CUSTOM_PROVIDERS[0].accounts[0].name", "at least 1"),
    ("accounts.0.base_url", "http://quota.acme.example", "CUSTOM_PROVIDERS[0].accounts[0].base_url", "https"),
    (
        "accounts.0.thresholds",
        {"warning": 0},
        "CUSTOM_PROVIDERS[0].accounts[0].thresholds.warning",
        "greater than or equal to 1",
    ),
    ("shape", "round", "CUSTOM_PROVIDERS[0].shape", "Extra inputs"),
]


@pytest.mark.parametrize(("path", "value", "field", "words"), REFUSALS, ids=[f"{r[0]}={r[1]!r}"[:60] for r in REFUSALS])
def test_malformed_entry_is_refused_naming_the_field(path: str, value: Any, field: str, words: str) -> None:
    message = refusal([changed(path, value)])
    assert f"{field}: " in message or f"{field}." in message
    assert words in message


def test_a_value_is_never_echoed() -> None:
    key = "sk_live_51Habcdefghijklmnop"
    entry = changed("metrics.0.used", key + "[")
    entry["request"]["auth"] = {"type": "header", "name": key + " x"}
    entry["manage_url"] = f"http://{key}.example"
    message = refusal([entry])
    assert key not in message
    assert "CUSTOM_PROVIDERS[0].metrics[0].used" in message


def test_every_problem_of_an_entry_is_listed() -> None:
    entry = changed("metrics.0.used", "a[")
    entry["metrics"][0]["period"] = "fortnightly"
    message = refusal([changed("id", "custom", entry)])
    assert "CUSTOM_PROVIDERS[0].id" in message
    assert "CUSTOM_PROVIDERS[0].metrics[0].used" in message
    assert "CUSTOM_PROVIDERS[0].metrics[0].period" in message


def test_more_than_100_metric_entries_is_refused() -> None:
    entry = changed("metrics", [ENTRY["metrics"][0]] * 101)
    assert "CUSTOM_PROVIDERS[0].metrics: List should have at most 100 items" in refusal([entry])


def test_duplicate_account_names_are_refused() -> None:
    accounts = [ENTRY["accounts"][0], ENTRY["accounts"][0]]
    assert "CUSTOM_PROVIDERS[0]: duplicate account name(s) main" in refusal([changed("accounts", accounts)])


def test_an_account_needs_a_base_url_when_the_entry_has_no_default() -> None:
    entry = changed("request.default_base_url", ...)
    entry["accounts"].append({"name": "eu", "base_url": "https://eu.acme.example", "api_key": {"env": "EU"}})
    message = refusal([entry])
    assert "CUSTOM_PROVIDERS[0]: accounts[0] need a base_url" in message
    assert "accounts[1]" not in message
    entry["accounts"][0]["base_url"] = "https://api.acme.example"
    assert validate_entry(entry, "X").request.default_base_url is None


def test_ids_must_be_unique_among_entries() -> None:
    second = changed("name", "Acme again")
    assert refusal([ENTRY, second]) == (
        "CUSTOM_PROVIDERS[1].id: the same id as CUSTOM_PROVIDERS[0]; ids must be unique"
    )


def test_the_second_entry_is_named_by_its_index() -> None:
    assert "CUSTOM_PROVIDERS[1].metrics[0].used: not a valid JMESPath expression" in refusal(
        [ENTRY, changed("metrics.0.used", "a[", changed("id", "other"))]
    )


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("", "CUSTOM_PROVIDERS: not valid JSON (line 1, column 1)"),
        ("{", "CUSTOM_PROVIDERS: not valid JSON"),
        ("[]", "CUSTOM_PROVIDERS: lists no provider entries"),
        ("{}", "CUSTOM_PROVIDERS: must be a JSON list of provider entries"),
        ("[3]", "CUSTOM_PROVIDERS[0]: Input should be a valid dictionary"),
        ("[" * 100_000, "CUSTOM_PROVIDERS: "),
    ],
)
def test_malformed_json_is_a_configuration_error(raw: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_custom_providers(raw)
    assert words in str(caught.value)


def test_source_names_where_the_json_came_from() -> None:
    with pytest.raises(ConfigError, match=r"^CUSTOM_PROVIDERS_PARAMETER \(/qs/p\)\[0\]\.id"):
        parse_custom_providers(json.dumps([changed("id", "Bad")]), "CUSTOM_PROVIDERS_PARAMETER (/qs/p)")


# --- the path form: one entry (or a list) per parameter --------------------------------------------


def test_parameters_under_a_path_each_hold_an_entry_or_a_list() -> None:
    entries = parse_custom_provider_parameters(
        {
            "/quota-sentinel/custom/providers/b": json.dumps([changed("id", "beta"), changed("id", "gamma")]),
            "/quota-sentinel/custom/providers/a": json.dumps(ENTRY),
        }
    )
    assert [entry.id for entry in entries] == ["acme", "beta", "gamma"]


def test_parameter_errors_name_the_parameter() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_custom_provider_parameters({"/p/acme": json.dumps(changed("metrics.0.limit", "("))})
    assert str(caught.value).startswith("CUSTOM_PROVIDERS_PARAMETER (/p/acme).metrics[0].limit: not a valid JMESPath")


def test_ids_are_unique_across_parameters() -> None:
    with pytest.raises(ConfigError, match=r"\(/p/b\)\.id: the same id as CUSTOM_PROVIDERS_PARAMETER \(/p/a\)"):
        parse_custom_provider_parameters({"/p/a": json.dumps(ENTRY), "/p/b": json.dumps(ENTRY)})


def test_an_empty_path_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="no parameters under this path"):
        parse_custom_provider_parameters({})
