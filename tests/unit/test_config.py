"""Configuration: the contract's variables, defaults, the accounts JSON and its errors."""

from __future__ import annotations

import json

import pytest

from shared.config import AccountConfig, ConfigError, Policy, load_provider_settings
from shared.key_references import EnvKey, SsmKey

BASE_ENV = {"STATE_TABLE_NAME": "t", "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:1:t"}
ACCOUNT = {"name": "main", "api_key": {"ssm": "/quota-sentinel/flashback/main"}}


def env_with(**extra: str) -> dict[str, str]:
    return {**BASE_ENV, **extra}


def test_defaults_match_the_contract() -> None:
    settings = load_provider_settings(env_with(ACCOUNTS=json.dumps([ACCOUNT])))
    policy = settings.policy
    assert (policy.warning_percent, policy.critical_percent, policy.hysteresis_percent) == (80, 95, 5)
    assert (policy.renotify_seconds, policy.failure_alert_after, settings.state_ttl_days) == (86400, 3, 30)
    [account] = settings.accounts or []
    assert account.api_key == SsmKey(ssm="/quota-sentinel/flashback/main")
    assert account.base_url is None


def test_every_variable_is_read() -> None:
    settings = load_provider_settings(
        env_with(
            ACCOUNTS_PARAMETER="/qs/accounts", WARNING_PERCENT="70", CRITICAL_PERCENT="90", HYSTERESIS_PERCENT="2",
            RENOTIFY_SECONDS="0", FAILURE_ALERT_AFTER="5", STATE_TTL_DAYS="7",
        )
    )  # fmt: skip
    assert settings.accounts_parameter == "/qs/accounts"
    assert settings.policy == Policy(
        warning_percent=70, critical_percent=90, hysteresis_percent=2, renotify_seconds=0, failure_alert_after=5
    )
    assert settings.state_ttl_days == 7


def test_contract_example_account_parses() -> None:
    example = {
        "name": "main", "base_url": "https://backend.flashback.tech/", "api_key": {"ssm": "/quota-sentinel/flashback/main"},
        "thresholds": {"warning": 70, "critical": 90, "metrics": {"EGRESS_MONTHLY_BYTES": {"warning": 50, "critical": 85}}},
        "ignore": ["STORAGE_TOTAL_BYTES"],
    }  # fmt: skip
    [account] = load_provider_settings(env_with(ACCOUNTS=json.dumps([example]))).accounts or []
    assert account.base_url == "https://backend.flashback.tech"
    assert account.ignore == frozenset({"STORAGE_TOTAL_BYTES"})
    policy = Policy().for_account(account, "ACCOUNTS[0]")
    assert policy.thresholds_for("EGRESS_MONTHLY_BYTES") == (50, 85)
    assert policy.thresholds_for("OTHER") == (70, 90)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param({"ALERT_TOPIC_ARN": "a", "ACCOUNTS": json.dumps([ACCOUNT])}, "STATE_TABLE_NAME", id="missing_table"),
        pytest.param(env_with(), "set ACCOUNTS or ACCOUNTS_PARAMETER", id="no_accounts"),
        pytest.param(
            env_with(ACCOUNTS=json.dumps([ACCOUNT]), ACCOUNTS_PARAMETER="/x"), "not both", id="both_account_sources"
        ),
        pytest.param(env_with(ACCOUNTS="[{"), "ACCOUNTS: not valid JSON", id="bad_json"),
        pytest.param(env_with(ACCOUNTS="[]"), "ACCOUNTS: lists no accounts", id="empty_list"),
        pytest.param(env_with(ACCOUNTS=json.dumps([{"name": "m"}])), "ACCOUNTS[0].api_key", id="missing_key"),
        pytest.param(
            env_with(ACCOUNTS=json.dumps([{**ACCOUNT, "base_url": "http://example.com"}])),
            "ACCOUNTS[0].base_url", id="plain_http_to_a_remote_host",
        ),
        pytest.param(
            env_with(ACCOUNTS=json.dumps([ACCOUNT, ACCOUNT])), "duplicate account name(s) main", id="duplicate_names"
        ),
        pytest.param(env_with(ACCOUNTS=json.dumps([ACCOUNT]), WARNING_PERCENT="abc"), "WARNING_PERCENT", id="nan"),
        pytest.param(
            env_with(ACCOUNTS=json.dumps([ACCOUNT]), WARNING_PERCENT="96"), "WARNING_PERCENT must be below", id="order"
        ),
        pytest.param(env_with(ACCOUNTS=json.dumps([ACCOUNT]), FAILURE_ALERT_AFTER="0"), "FAILURE_ALERT_AFTER", id="zero"),
        pytest.param(
            env_with(ACCOUNTS=json.dumps([{**ACCOUNT, "api_key": {"ssm": "/x", "extra": 1}}])),
            "ACCOUNTS[0].api_key", id="unknown_key_source_field",
        ),
    ],
)  # fmt: skip
def test_invalid_configuration_names_the_field(environ: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_provider_settings(environ)
    assert expected in str(caught.value)


def test_errors_never_echo_values() -> None:
    secret = "sk-live-very-secret-value"
    accounts = json.dumps([{"name": "main", "api_key": secret, "base_url": f"ftp://{secret}"}])
    with pytest.raises(ConfigError) as caught:
        load_provider_settings(env_with(ACCOUNTS=accounts, WARNING_PERCENT=secret))
    message = str(caught.value)
    assert "ACCOUNTS[0].api_key" in message
    assert secret not in message


@pytest.mark.parametrize(
    "url", ["http://localhost:8080", "http://127.0.0.5/api", "http://[::1]:9000", "https://api.example.com/v2/"]
)
def test_https_or_loopback_base_urls_are_accepted(url: str) -> None:
    account = AccountConfig(name="a", base_url=url, api_key=EnvKey(env="K"))
    assert account.base_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1", "http://example.com", "ftp://localhost", "https://user:pw@example.com", "/relative"]
)
def test_other_base_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        AccountConfig(name="a", base_url=url, api_key=EnvKey(env="K"))


def test_per_metric_warning_above_critical_names_the_metric() -> None:
    account = AccountConfig.model_validate({**ACCOUNT, "thresholds": {"metrics": {"EGRESS": {"warning": 99}}}})
    with pytest.raises(ConfigError, match=r"ACCOUNTS\[2\]\.thresholds\.metrics\.EGRESS: warning \(99\)"):
        Policy().for_account(account, "ACCOUNTS[2]")
