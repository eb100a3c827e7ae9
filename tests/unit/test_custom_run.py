"""CustomFunction's configuration and its run over several entries, without sockets (the provider calls,
DynamoDB and SNS are in-memory stand-ins)."""

from __future__ import annotations

import contextlib
import json
import threading
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from botocore.stub import Stubber

from shared import state_store
from shared.config import ConfigError
from shared.custom.run import plan_custom_accounts, run_custom
from shared.custom.settings import load_custom_providers, load_custom_settings
from shared.in_memory import MemoryPublisher, MemoryStateStore
from shared.models import FailureReason, ProviderError, QuotaMetric
from shared.runner import Dependencies
from tests.conftest import FakeLambdaContext


def entry(provider_id: str, *accounts: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": provider_id,
        "name": provider_id.title(),
        "request": {"path": "/usage", "default_base_url": f"https://{provider_id}.example"},
        "metrics": [{"id": "'calls'", "used": "used", "limit": "limit"}],
        "accounts": [{"name": name, "api_key": {"env": "K"}} for name in accounts],
        **extra,
    }


def environ(*entries: dict[str, Any], **extra: str) -> dict[str, str]:
    return {"STATE_TABLE_NAME": "t", "ALERT_TOPIC_ARN": "a", "CUSTOM_PROVIDERS": json.dumps(entries), "K": "v", **extra}


def test_settings_take_one_source_of_entries_and_the_shared_variables() -> None:
    settings = load_custom_settings(environ(entry("acme", "main"), WARNING_PERCENT="70", MAX_CONCURRENCY="3"))
    assert [e.id for e in settings.custom_providers or []] == ["acme"]
    assert (settings.policy.warning_percent, settings.max_concurrency) == (70, 3)
    both = environ(entry("acme", "main"), CUSTOM_PROVIDERS_PARAMETER="/quota-sentinel/custom/providers/")
    with pytest.raises(
        ConfigError, match=r"^environment: .*set CUSTOM_PROVIDERS or CUSTOM_PROVIDERS_PARAMETER, not both"
    ):
        load_custom_settings(both)
    neither = {"STATE_TABLE_NAME": "t", "ALERT_TOPIC_ARN": "a", "ACCOUNTS": "[]"}
    with pytest.raises(ConfigError, match=r"set CUSTOM_PROVIDERS or CUSTOM_PROVIDERS_PARAMETER$"):
        load_custom_settings(neither)
    with pytest.raises(ConfigError, match=r"^WARNING_PERCENT: "):
        load_custom_settings(environ(entry("acme", "main"), WARNING_PERCENT="0"))


def test_a_bad_entry_or_parameter_name_is_named_and_never_echoed() -> None:
    bad = entry("acme", "main")
    bad["metrics"][0]["limit"] = "limit[?"
    with pytest.raises(ConfigError, match=r"^CUSTOM_PROVIDERS\[1\]\.metrics\[0\]\.limit: not a valid JMESPath"):
        load_custom_settings(environ(entry("beta", "main"), bad))
    secret = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
    env = {**environ(), "CUSTOM_PROVIDERS": "", "CUSTOM_PROVIDERS_PARAMETER": secret}
    with pytest.raises(ConfigError) as caught:
        load_custom_settings(env)
    assert str(caught.value) == (
        "CUSTOM_PROVIDERS_PARAMETER: must be an SSM parameter name starting with /, a path ending in /, or an ARN"
    )
    duplicate = environ(entry("acme", "main"), entry("acme", "other"))
    with pytest.raises(ConfigError, match=r"^CUSTOM_PROVIDERS\[1\]\.id: the same id as CUSTOM_PROVIDERS\[0\]"):
        load_custom_settings(duplicate)


def _stub_ssm() -> tuple[Any, Stubber]:
    client: Any = boto3.client("ssm", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    DEFAULT_PROVIDERS["ssm"] = parameters.SSMProvider(boto3_client=client)
    return client, Stubber(client)


def _path_env(path: str) -> dict[str, str]:
    return {"STATE_TABLE_NAME": "t", "ALERT_TOPIC_ARN": "a", "CUSTOM_PROVIDERS_PARAMETER": path}


def test_entries_from_a_path_one_entry_or_a_list_per_parameter_decrypted() -> None:
    _, stubber = _stub_ssm()
    stubber.add_response(
        "get_parameters_by_path",
        {
            "Parameters": [
                {"Name": "/quota-sentinel/custom/providers/b", "Value": json.dumps([entry("beta", "x"), entry("gamma", "y")])},
                {"Name": "/quota-sentinel/custom/providers/a", "Value": json.dumps(entry("acme", "main")), "Type": "SecureString"},
            ]
        },
        {"Path": "/quota-sentinel/custom/providers", "Recursive": True, "WithDecryption": True},
    )  # fmt: skip
    with stubber:
        located = load_custom_providers(load_custom_settings(_path_env("/quota-sentinel/custom/providers/")))
    assert [(item.entry.id, item.location) for item in located] == [
        ("acme", "CUSTOM_PROVIDERS_PARAMETER (acme)"),
        ("beta", "CUSTOM_PROVIDERS_PARAMETER (beta)"),
        ("gamma", "CUSTOM_PROVIDERS_PARAMETER (gamma)"),
    ]


def test_a_bad_entry_under_a_path_names_the_parameter_only_under_the_functions_prefix() -> None:
    bad = entry("acme", "main")
    del bad["metrics"]
    for path, where in [
        ("/quota-sentinel/custom/providers/", "CUSTOM_PROVIDERS_PARAMETER (/quota-sentinel/custom/providers/acme)"),
        ("/team/secret-place/", "CUSTOM_PROVIDERS_PARAMETER (#0)"),
    ]:
        _, stubber = _stub_ssm()
        stubber.add_response(
            "get_parameters_by_path", {"Parameters": [{"Name": f"{path}acme", "Value": json.dumps(bad)}]}
        )
        with stubber, pytest.raises(ConfigError) as caught:
            load_custom_providers(load_custom_settings(_path_env(path)))
        assert str(caught.value) == f"{where}.metrics: Field required"
        parameters.clear_caches()


def test_one_parameter_holding_the_list_and_an_unreadable_one() -> None:
    _, stubber = _stub_ssm()
    name = "/quota-sentinel/custom/providers"
    stubber.add_response("get_parameter", {"Parameter": {"Name": name, "Value": json.dumps([entry("acme", "a")])}})
    stubber.add_client_error("get_parameter", "ParameterNotFound")
    with stubber:
        [located] = load_custom_providers(load_custom_settings(_path_env(name)))
        assert located.location == f"CUSTOM_PROVIDERS_PARAMETER ({name})[0]"
        with pytest.raises(ConfigError) as caught:
            load_custom_providers(load_custom_settings(_path_env("/elsewhere/providers")))
    assert str(caught.value) == (
        "CUSTOM_PROVIDERS_PARAMETER: the SSM parameter in CUSTOM_PROVIDERS_PARAMETER could not be read "
        "(not found (ParameterNotFound))"
    )


def test_plans_name_keys_under_each_entrys_own_prefix() -> None:
    acme = entry("acme", "main")
    acme["accounts"] = [
        {"name": "own", "api_key": {"ssm": "/quota-sentinel/custom/acme/own"}},
        {"name": "other", "api_key": {"ssm": "/quota-sentinel/custom/beta/key"}},
        {"name": "secret", "api_key": {"secret": "quota-sentinel/custom/acme/key"}},
    ]
    _, plans = plan_custom_accounts(environ(acme))
    assert [plan.ref.key_source for plan in plans] == [
        "SSM parameter /quota-sentinel/custom/acme/own",
        "the SSM parameter named in CUSTOM_PROVIDERS[0].accounts[1].api_key.ssm",
        "Secrets Manager secret quota-sentinel/custom/acme/key",
    ]
    thresholds = entry("acme", "main")
    thresholds["accounts"][0]["thresholds"] = {"warning": 90, "critical": 80}
    with pytest.raises(ConfigError, match=r"^CUSTOM_PROVIDERS\[0\]\.accounts\[0\]\.thresholds: warning \(90\)"):
        plan_custom_accounts(environ(thresholds))


def test_every_account_of_every_entry_is_checked_and_one_entrys_failure_stops_no_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, str]] = []

    def fake_check(adapter: Any, base_url: str, key: Any, deadline: float, client: Any) -> list[QuotaMetric]:
        calls.append((adapter.provider_id, base_url))
        if adapter.provider_id == "down":
            raise ProviderError(FailureReason.UNAVAILABLE, "HTTP 503", 503)
        if adapter.provider_id == "buggy":
            raise RuntimeError("a bug")
        return [QuotaMetric(metric_id="calls", name="Calls", used=97, limit=100)]

    monkeypatch.setattr("shared.runner.check", fake_check)
    store, publisher = MemoryStateStore(state_store.CUSTOM_PARTITION), MemoryPublisher()
    env = environ(entry("acme", "a", "b"), entry("down", "a"), entry("buggy", "a"), entry("zeta", "a"))
    with pytest.raises(Exception, match=r"^custom: 1 account\(s\) failed to persist or publish: buggy/a: unexpected"):
        run_custom({}, FakeLambdaContext(), dependencies=Dependencies(store=store, publisher=publisher), environ=env)
    assert sorted(calls) == [
        ("acme", "https://acme.example"), ("acme", "https://acme.example"), ("buggy", "https://buggy.example"),
        ("down", "https://down.example"), ("zeta", "https://zeta.example"),
    ]  # fmt: skip
    assert sorted(store.items) == [
        ("custom#acme", "a"),
        ("custom#acme", "b"),
        ("custom#down", "a"),
        ("custom#zeta", "a"),
    ]
    assert store.state("down", "a").failure is not None
    assert sorted((d.provider, d.account, d.alerts[0].kind.value) for d in publisher.documents) == [
        ("acme", "a", "triggered"), ("acme", "b", "triggered"), ("zeta", "a", "triggered"),
    ]  # fmt: skip
    assert all(d.alerts[0].id.startswith(f"{d.provider}/{d.account}/calls/") for d in publisher.documents)


def test_the_summary_names_each_accounts_provider_and_the_pool_is_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    lock = threading.Lock()
    running, peak = 0, 0
    gate = threading.Barrier(3, timeout=0.3)

    def counting_check(*_: Any) -> list[QuotaMetric]:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        with contextlib.suppress(threading.BrokenBarrierError):
            gate.wait()
        with lock:
            running -= 1
        return [QuotaMetric(metric_id="calls", name="Calls", used=1, limit=100)]

    monkeypatch.setattr("shared.runner.check", counting_check)
    deps = Dependencies(store=MemoryStateStore(state_store.CUSTOM_PARTITION), publisher=MemoryPublisher())
    env = environ(entry("acme", "a", "b", "c"), entry("beta", "a", "b", "c"), MAX_CONCURRENCY="2")
    summary = run_custom({}, FakeLambdaContext(), dependencies=deps, environ=env)
    assert peak == 2
    assert summary["provider"] == "custom"
    assert [(a["provider"], a["account"], a["ok"], a["metrics"]) for a in summary["accounts"]] == [
        (p, n, True, 1) for p in ("acme", "beta") for n in "abc"
    ]


def test_the_state_of_a_custom_provider_lives_under_its_own_partition_prefix() -> None:
    assert state_store.account_key("acme", "main", state_store.CUSTOM_PARTITION) == {
        "pk": {"S": "custom#acme"}, "sk": {"S": "account#main"},
    }  # fmt: skip
    assert state_store.account_key("flashback", "main")["pk"] == {"S": "provider#flashback"}
    client: Any = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    key = {"pk": {"S": "custom#acme"}, "sk": {"S": "account#main"}}
    stubber.add_response("get_item", {}, {"TableName": "t", "Key": key, "ConsistentRead": True})
    with stubber:
        stored = state_store.DynamoStateStore("t", client=client, partition_prefix="custom#").load("acme", "main", 0)
    assert stored.state is None


def test_the_adapter_declares_the_entrys_display_name_and_manage_url_for_alerts() -> None:
    from shared.custom import adapter_for, validate_entry

    adapter = adapter_for(validate_entry(entry("acme", "main", manage_url="https://acme.example/billing"), "E"))
    assert (adapter.provider_id, adapter.display_name, adapter.manage_url) == (
        "acme", "Acme", "https://acme.example/billing",
    )  # fmt: skip
