"""Specs of real providers the team had never used, written from their public API docs only (GitHub's
``GET /rate_limit``, DeepL's ``GET /v2/usage``), against hand-written bodies that follow those docs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from shared.custom import CustomAdapter, adapter_for, validate_entry
from shared.models import FailureReason
from shared.providers import check
from tests.fuzzing import answer
from tests.provider_contract import interpret_error, rows
from tests.unit.test_custom_adapter import RecordingClient

ROOT = Path(__file__).parents[2]


def spec(name: str) -> CustomAdapter:
    return adapter_for(validate_entry(json.loads((ROOT / "docs" / "providers" / f"{name}.json").read_text()), name))


def sample(name: str) -> Any:
    return json.loads((ROOT / "tests" / "fixtures" / "custom" / name).read_text())


GITHUB = spec("github")
DEEPL = spec("deepl")


# --- GitHub REST: GET /rate_limit ------------------------------------------------------------------


def test_github_reports_every_resource_with_its_reset_time() -> None:
    metrics = GITHUB.parse(sample("github_rate_limit.json"))
    assert rows(metrics)[:3] == [
        ("core", "REST API requests this hour", 4650, 5000, "requests", None),
        ("search", "Search requests this minute", 12, 30, "requests", None),
        ("graphql", "GraphQL points this hour", 7, 5000, "requests", None),
    ]
    assert len(metrics) == 10
    assert metrics[0].resets_at == datetime.fromtimestamp(1691591363, UTC)
    # A resource the names map does not know is named from its key; the deprecated top-level "rate" is not read.
    assert ("source_import", "Source import") in [(m.metric_id, m.name) for m in metrics]
    assert "rate" not in [m.metric_id for m in metrics]


def test_github_request_is_a_bearer_get_of_rate_limit() -> None:
    client = RecordingClient(answer(200, sample("github_rate_limit.json")))
    check(GITHUB, GITHUB.default_base_url or "", SecretStr("ghp_x"), 10.0, client)
    url, headers, params, _, _ = client.calls[0]
    assert (url, headers, params) == ("https://api.github.com/rate_limit", {"Authorization": "Bearer ghp_x"}, {})


def test_github_enterprise_server_is_a_base_url_with_a_path() -> None:
    client = RecordingClient(answer(200, sample("github_rate_limit.json")))
    check(GITHUB, "https://ghe.example.com/api/v3", SecretStr("ghp_x"), 10.0, client)
    assert client.calls[0][0] == "https://ghe.example.com/api/v3/rate_limit"


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, FailureReason.AUTH),
        # GitHub answers a primary rate limit with 403 (or 429): the rule makes it rate_limited, not auth.
        (
            403,
            {"message": "API rate limit exceeded for user ID 1.", "documentation_url": "x"},
            FailureReason.RATE_LIMITED,
        ),
        (403, {"message": "Resource not accessible by integration"}, FailureReason.AUTH),
        (404, {"message": "Rate limiting is not enabled."}, FailureReason.NO_SUBSCRIPTION),
        (503, {"message": "Service unavailable"}, FailureReason.UNAVAILABLE),
    ],
)
def test_github_errors(status: int, body: Any, reason: FailureReason) -> None:
    assert interpret_error(GITHUB, answer(status, body)).reason is reason


# --- DeepL: GET /v2/usage --------------------------------------------------------------------------


def test_deepl_free_plan_reports_characters() -> None:
    metrics = DEEPL.parse({"character_count": 180118, "character_limit": 500000})
    assert rows(metrics) == [
        ("characters", "Characters translated this billing period", 180118, 500000, "characters", "monthly")
    ]


def test_deepl_plan_with_documents_reports_them_too() -> None:
    body = {"character_count": 10, "character_limit": 1000000, "document_count": 9, "document_limit": 10}
    assert [m.metric_id for m in DEEPL.parse(body)] == ["characters", "documents"]


def test_deepl_key_goes_in_the_authorization_header_as_stored() -> None:
    # DeepL wants "Authorization: DeepL-Auth-Key <key>"; the format has no scheme field, so the stored
    # value carries the scheme (see docs/custom-providers.md).
    headers = DEEPL.request_headers(SecretStr("DeepL-Auth-Key 0000:fx"))
    assert headers == {"Authorization": "DeepL-Auth-Key 0000:fx"}


def test_deepl_403_is_auth() -> None:
    assert interpret_error(DEEPL, answer(403, {"message": "Wrong endpoint"})).reason is FailureReason.AUTH
