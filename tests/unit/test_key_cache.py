"""API keys are cached for an hour (each SecureString read is a KMS decrypt), and dropped at once when the
provider rejects the key, so that a rotated key is used on the very next check."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from botocore.stub import Stubber

from shared import runner, secrets
from shared.key_references import SsmKey
from shared.models import FailureReason, ProviderError
from shared.secrets import API_KEY_CACHE_SECONDS, forget_api_key, read_api_key

NAME = "/quota-sentinel/flashback/main"


def _answer(value: str) -> dict[str, Any]:
    return {"Parameter": {"Name": NAME, "Type": "SecureString", "Value": value, "Version": 1}}


@pytest.fixture
def ssm() -> Iterator[Stubber]:
    client: Any = boto3.client("ssm", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    DEFAULT_PROVIDERS["ssm"] = parameters.SSMProvider(boto3_client=client)
    secrets._rejected_keys.clear()
    with stubber:
        yield stubber
    DEFAULT_PROVIDERS.pop("ssm", None)
    secrets._rejected_keys.clear()


def _expect_read(stubber: Stubber, value: str) -> None:
    stubber.add_response("get_parameter", _answer(value), {"Name": NAME, "WithDecryption": True})


def test_the_key_cache_lasts_an_hour() -> None:
    assert API_KEY_CACHE_SECONDS == 3600


def test_a_cached_key_is_not_read_again(ssm: Stubber) -> None:
    ref = SsmKey(ssm=NAME)
    _expect_read(ssm, "key-one")
    assert read_api_key(ref, lambda _: None).get_secret_value() == "key-one"
    assert read_api_key(ref, lambda _: None).get_secret_value() == "key-one"  # no second SSM call
    ssm.assert_no_pending_responses()


def test_a_rejected_key_is_read_afresh_once(ssm: Stubber) -> None:
    ref = SsmKey(ssm=NAME)
    _expect_read(ssm, "key-one")
    _expect_read(ssm, "key-rotated")
    assert read_api_key(ref, lambda _: None).get_secret_value() == "key-one"
    forget_api_key(ref)  # the provider answered 401
    assert read_api_key(ref, lambda _: None).get_secret_value() == "key-rotated"
    assert read_api_key(ref, lambda _: None).get_secret_value() == "key-rotated"  # cached again
    ssm.assert_no_pending_responses()


def test_the_runner_forgets_the_key_on_an_auth_failure_only(monkeypatch: pytest.MonkeyPatch) -> None:
    forgotten: list[object] = []
    monkeypatch.setattr(runner, "forget_api_key", forgotten.append)
    monkeypatch.setattr(runner, "read_api_key", lambda *_: "key")
    plan: Any = SimpleNamespace(
        config=SimpleNamespace(api_key="REF"), ref=SimpleNamespace(key_source=""), base_url="", adapter=None
    )
    deps = SimpleNamespace(monotonic=lambda: 0.0, http_client=lambda: None)
    run: Any = SimpleNamespace(deadline=1e18, deps=deps, env=None, adapter=None)
    for reason in (FailureReason.UNAVAILABLE, FailureReason.RATE_LIMITED, FailureReason.AUTH):

        def failing(*_: object, reason: FailureReason = reason) -> None:
            raise ProviderError(reason, "no")

        monkeypatch.setattr(runner, "check", failing)
        assert runner._fetch(plan, run).reason is reason
    assert forgotten == ["REF"]
