"""The provider base written once: LenientModel, parse_model and off_schema."""

from __future__ import annotations

import json

import pytest
from pydantic import Field

from shared.models import FailureReason, ProviderError, QuotaMetric
from shared.providers import LenientModel, get_adapter, off_schema, parse_model


class Usage(LenientModel):
    used: float
    limit: float = Field(ge=0)


def test_unknown_keys_are_ignored_and_types_are_strict() -> None:
    assert parse_model(Usage, {"used": 3, "limit": 10, "added_later": "x"}) == Usage(used=3, limit=10)
    with pytest.raises(ProviderError) as caught:
        parse_model(Usage, {"used": "3", "limit": True})
    assert caught.value.reason is FailureReason.BAD_RESPONSE
    assert caught.value.message.startswith("body is not the documented schema (used: ")
    assert "limit: " in caught.value.message


def test_non_finite_numbers_are_refused_at_the_door() -> None:
    body = json.loads('{"used": NaN, "limit": Infinity}')  # json.loads accepts them
    with pytest.raises(ProviderError, match=r"used: .*; limit: "):
        parse_model(Usage, body)


def test_an_error_never_echoes_the_value() -> None:
    with pytest.raises(ProviderError) as caught:
        parse_model(Usage, {"used": "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "limit": 1})
    assert "sk_live" not in caught.value.message


def test_off_schema_turns_a_metric_that_fails_validation_into_bad_response() -> None:
    with pytest.raises(ProviderError) as caught, off_schema():
        QuotaMetric(metric_id="X", name="X", used=1, limit=-1)
    assert caught.value.reason is FailureReason.BAD_RESPONSE
    assert "limit: " in caught.value.message


def test_flashback_still_reads_a_max_of_minus_infinity_as_unlimited() -> None:
    """The one adapter that lets non-finite numbers through to QuotaMetric, as before the base was shared."""
    body = {"success": True, "quotaUsage": [{"capability": {"code": "API_CALLS"}, "usage": {"current": 5}}]}
    body["quotaUsage"][0]["usage"]["max"] = float("-inf")
    [metric] = get_adapter("flashback").parse(body)
    assert metric.limit is None
