"""shared.secrets is the one door to SSM and Secrets Manager; config.py reads no secret."""

from __future__ import annotations

import ast
import threading
import time
from pathlib import Path

import boto3
import pytest

from shared import secrets
from shared.config import load_provider_settings
from shared.key_references import EnvKey

ROOT = Path(__file__).resolve().parents[2]


def test_env_keys_are_read_through_the_injected_lookup_and_never_from_os_environ(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLASHBACK_KEY", "from-os-environ")
    looked_up: list[str] = []

    def lookup(name: str) -> str | None:
        looked_up.append(name)
        return {"FLASHBACK_KEY": "from-the-lookup"}.get(name)

    assert secrets.read_api_key(EnvKey(env="FLASHBACK_KEY"), lookup).get_secret_value() == "from-the-lookup"
    assert looked_up == ["FLASHBACK_KEY"]


def test_an_unset_env_key_is_a_permanent_failure_naming_the_variable() -> None:
    with pytest.raises(secrets.SecretUnavailable, match=r"^environment variable OTHER_KEY is not set$") as caught:
        secrets.read_api_key(EnvKey(env="OTHER_KEY"), {"FLASHBACK_KEY": "k"}.get)
    assert caught.value.permanent


def test_the_settings_carry_no_copy_of_the_environment() -> None:
    accounts = '[{"name": "main", "api_key": {"env": "FLASHBACK_KEY"}}]'
    environ = {"STATE_TABLE_NAME": "t", "ALERT_TOPIC_ARN": "arn", "ACCOUNTS": accounts, "FLASHBACK_KEY": "secret-k"}
    settings = load_provider_settings(environ)
    assert "env" not in type(settings).model_fields
    assert "secret-k" not in repr(settings) and "secret-k" not in settings.model_dump_json()


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return names | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}


def test_only_shared_secrets_uses_powertools_parameters_and_config_reads_no_secret() -> None:
    users = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "shared").rglob("*.py")
        if any("parameters" in module for module in _imported_modules(path))
    )
    assert users == ["shared/secrets.py"]
    assert not {"boto3", "botocore"} & {module.split(".")[0] for module in _imported_modules(ROOT / "shared/config.py")}


def test_threads_reading_at_once_create_one_default_provider_on_one_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """The race the lock fixed: accounts checked concurrently each built a provider (and a client) of their own."""
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    created: list[object] = []

    def slow_client(service: str) -> object:
        time.sleep(0.02)  # widen the window in which an unlocked check-then-create races
        created.append(object())
        return created[-1]

    monkeypatch.setattr(boto3, "client", slow_client)
    monkeypatch.delitem(DEFAULT_PROVIDERS, "ssm", raising=False)
    start = threading.Barrier(8)

    def first_use() -> None:
        start.wait()
        secrets._parameters("ssm")

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(created) == 1
        assert DEFAULT_PROVIDERS["ssm"].client is created[0]
    finally:
        DEFAULT_PROVIDERS.pop("ssm", None)
