"""Key references: a key pasted where a reference belongs is refused, and no reference that could be a key is
ever shown: not in a configuration error, a check failure, an alert, a log line or the CLI's output."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.config import ConfigError, load_provider_settings
from shared.in_memory import MemoryPublisher, MemoryStateStore
from shared.key_references import EnvKey, SecretsManagerKey, SsmKey, describe_key
from shared.models import AlertKind, FailureReason
from shared.runner import Dependencies, run_provider
from tests.conftest import FakeLambdaContext
from tests.unit.memory import captured_logs, stubbed_parameters
from tests.unit.test_cli import accounts_file, check

# Keys as people paste them: a prefixed key, a UUID and a hex key.
PASTED_KEYS = [
    pytest.param("sk_live_4eC39HqLyjWDarjtT1zdp7dc", id="sk_live"),
    pytest.param("3f2b8c1e-9d4a-4b7e-a1c2-5e6f7a8b9c0d", id="uuid"),
    pytest.param("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", id="hex"),
]
SOURCES = ["env", "ssm", "secret"]
UNION_ERROR = 'ACCOUNTS[0].api_key: must be {"ssm": NAME}, {"secret": ID} or {"env": VAR}'


def environ(api_key: Any, **extra: str) -> dict[str, str]:
    account = {"name": "main", "base_url": "http://127.0.0.1:9", "api_key": api_key}
    return {
        "STATE_TABLE_NAME": "t",
        "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t",
        "ACCOUNTS": json.dumps([account]),
        **extra,
    }


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("key", PASTED_KEYS)
def test_a_key_pasted_into_a_reference_is_a_config_error_naming_the_field(source: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_provider_settings(environ({source: key}))
    message = str(caught.value)
    assert message.startswith(f"ACCOUNTS[0].api_key.{source}: must be ")
    assert ";" not in message  # one problem, not one per member of the union
    assert key not in message


@pytest.mark.parametrize(
    "api_key",
    [
        pytest.param("sk_live_4eC39HqLyjWDarjtT1zdp7dc", id="a_bare_key"),
        pytest.param({"token": "sk_live_4eC39HqLyjWDarjtT1zdp7dc"}, id="unknown_source"),
        pytest.param({"ssm": "/quota-sentinel/flashback/main", "env": "KEY"}, id="two_sources"),
        pytest.param({}, id="empty"),
    ],
)
def test_the_api_key_union_error_is_one_sentence(api_key: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        load_provider_settings(environ(api_key))
    assert str(caught.value) == UNION_ERROR


@pytest.mark.parametrize(
    "api_key",
    [
        {"env": "FLASHBACK_KEY"},
        {"env": "_K2"},
        {"ssm": "/quota-sentinel/flashback/main"},
        {"ssm": "arn:aws:ssm:eu-west-1:123456789012:parameter/quota-sentinel/flashback/main"},
        {"secret": "quota-sentinel/flashback/main"},
        {"secret": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:quota-sentinel/flashback/main-AbCdEf"},
    ],
)
def test_references_of_the_documented_shapes_are_accepted(api_key: dict[str, str]) -> None:
    settings = load_provider_settings(environ(api_key))
    assert settings.accounts is not None
    assert settings.accounts[0].api_key.reference == next(iter(api_key.values()))


def test_a_lower_case_variable_name_is_refused_as_the_contract_says() -> None:
    with pytest.raises(ConfigError, match=r"ACCOUNTS\[0\]\.api_key\.env: must be an environment variable name"):
        load_provider_settings(environ({"env": "flashback_key"}))


@pytest.mark.parametrize(
    ("ref", "shown"),
    [
        (EnvKey(env="FLASHBACK_KEY"), "environment variable FLASHBACK_KEY"),
        (SsmKey(ssm="/quota-sentinel/flashback/main"), "SSM parameter /quota-sentinel/flashback/main"),
        (SsmKey(ssm="/quota-sentinel/bigdata/main"), "the SSM parameter named in ACCOUNTS[2].api_key.ssm"),
        (SsmKey(ssm="/team/keys/flashback"), "the SSM parameter named in ACCOUNTS[2].api_key.ssm"),
        (
            SsmKey(ssm="arn:aws:ssm:eu-west-1:123456789012:parameter/quota-sentinel/flashback/main"),
            "SSM parameter arn:aws:ssm:eu-west-1:123456789012:parameter/quota-sentinel/flashback/main",
        ),
        (SecretsManagerKey(secret="quota-sentinel/flashback/main"), "Secrets Manager secret quota-sentinel/flashback/main"),
        (SecretsManagerKey(secret="Zm9vYmFy/c2VjcmV0a2V5"), "the Secrets Manager secret named in ACCOUNTS[2].api_key.secret"),
    ],
)  # fmt: skip
def test_a_reference_is_shown_only_when_it_is_a_variable_name_or_under_the_functions_prefix(
    ref: EnvKey | SsmKey | SecretsManagerKey, shown: str
) -> None:
    assert describe_key(ref, "flashback", "ACCOUNTS[2]") == shown


# Keys that pass the shape rule by accident (base64 has "/"; a key may start with "/"): they get past the
# configuration, so the check, the alert and the logs must not show them either.
SHAPED_KEYS = [
    pytest.param("ssm", "/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b", "get_parameter", "ParameterNotFound", id="ssm"),
    pytest.param(
        "secret", "Zm9vYmFy/c2VjcmV0+a2V5MTIz==", "get_secret_value", "ResourceNotFoundException", id="secret"
    ),
]


@pytest.mark.parametrize(("source", "key", "operation", "code"), SHAPED_KEYS)
def test_an_unreadable_reference_is_an_auth_failure_that_says_so_and_never_shows_the_value(
    source: str, key: str, operation: str, code: str
) -> None:
    store, publisher = MemoryStateStore(), MemoryPublisher()
    kind = "ssm" if source == "ssm" else "secrets"
    now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    with captured_logs() as logs, stubbed_parameters(kind, operation, code):
        summary = run_provider(
            "flashback",
            {},
            FakeLambdaContext(),
            dependencies=Dependencies(store=store, publisher=publisher, clock=lambda: now),
            environ=environ({source: key}),
        )
    [account] = summary["accounts"]
    kind_name = "SSM parameter" if source == "ssm" else "Secrets Manager secret"
    assert account["error"] == (
        f"auth: the {kind_name} named in ACCOUNTS[0].api_key.{source} could not be read: not found ({code})"
    )
    [document] = publisher.documents
    [alert] = document.alerts
    assert (alert.kind, alert.reason) == (AlertKind.CHECK_FAILED, FailureReason.AUTH)
    assert alert.message.startswith("Quota check failed: API key could not be read.")
    assert "rejected" not in alert.message
    assert alert.hint == (
        f"Check that the {kind_name} named in ACCOUNTS[0].api_key.{source} exists "
        "and that the function may read and decrypt it."
    )
    logged = logs.getvalue()
    assert '"message":"quota check failed"' in logged
    for text in [json.dumps(summary), *publisher.texts(), logged, store.state("flashback", "main").model_dump_json()]:
        assert key not in text


def test_a_missing_variable_is_named_because_a_variable_name_is_no_key() -> None:
    store, publisher = MemoryStateStore(), MemoryPublisher()
    summary = run_provider(
        "flashback",
        {},
        FakeLambdaContext(),
        dependencies=Dependencies(store=store, publisher=publisher),
        environ=environ({"env": "FLASHBACK_KEY"}),
    )
    assert summary["accounts"][0]["error"] == "auth: environment variable FLASHBACK_KEY is not set"
    assert publisher.documents[0].alerts[0].message == (
        "Quota check failed: API key could not be read. Environment variable FLASHBACK_KEY is not set."
    )


@pytest.mark.parametrize("source", ["env", "ssm"])
@pytest.mark.parametrize("key", PASTED_KEYS)
def test_the_cli_check_names_the_field_and_never_prints_a_pasted_key(tmp_path: Path, source: str, key: str) -> None:
    path = accounts_file(tmp_path, [{"name": "main", "api_key": {source: key}}])
    code, out, err = check(tmp_path, path)
    assert code == 3
    assert f"[0].api_key.{source}: must be " in err
    assert key not in out + err
