"""Golden files of what people read: the real adapters read the fixture bodies, the real evaluator walks
usage sequences that produce every alert kind, and email (shared.messages) and Slack (shared.slack) render
the documents. The output must match tests/golden/ byte for byte.

A wording change is then a reviewed diff of tests/golden/, never a surprise. Regenerate on purpose with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_golden_messages.py

and read the diff before committing it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.config import AccountConfig, Policy
from shared.evaluation import AccountRef, evaluate
from shared.http import HttpResult
from shared.key_references import EnvKey
from shared.messages import email_body, email_subject
from shared.models import AccountState, Alert, AlertDocument, ProviderError, QuotaMetric
from shared.providers import get_adapter, interpret
from shared.runner import Dependencies, run_provider
from shared.slack import render_alert_document
from tests.conftest import FakeLambdaContext, load_fixture

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
# A fixed clock: every id, time and "resets in" in the messages is stable.
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
POLICY = Policy().for_account(AccountConfig(name="golden", api_key=EnvKey(env="GOLDEN_KEY")), "golden")

Outcome = list[QuotaMetric] | ProviderError


def read(provider: str, fixture: str, status: int = 200, body: Any = None) -> Outcome:
    """What the real adapter makes of a fixture body (or ``body``) answered with ``status``."""
    answer = load_fixture(fixture) if body is None else body
    try:
        return interpret(get_adapter(provider), HttpResult(status, answer, json.dumps(answer), "application/json"), [])
    except ProviderError as error:
        return error


def _amount(metric: QuotaMetric, used: float) -> float:
    """Counts stay whole, as a provider reports them."""
    return float(round(used)) if metric.unit == "count" else used


def at(percent: float, *metric_ids: str) -> Callable[[Outcome], Outcome]:
    """The adapter's metrics with ``metric_ids`` (all when none named) set to ``percent`` of their limit."""

    def scale(outcome: Outcome) -> Outcome:
        assert isinstance(outcome, list), outcome
        return [
            m.model_copy(update={"used": _amount(m, m.limit * percent / 100)})
            if m.limit and (not metric_ids or m.metric_id in metric_ids)
            else m
            for m in outcome
        ]

    return scale


def walk(provider: str, account: str, steps: list[Outcome], state: AccountState | None = None) -> AlertDocument:
    """The evaluator over ``steps``, an hour apart, ending at NOW; the last step's alerts as a document."""
    ref = AccountRef(provider, account, key_source=f"SSM parameter /quota-sentinel/{provider}/{account}")
    alerts: list[Alert] = []
    for hour, outcome in enumerate(steps):
        now = NOW - timedelta(hours=len(steps) - 1 - hour)
        evaluation = evaluate(outcome, state, POLICY, ref, now)
        state, alerts = evaluation.state, evaluation.alerts
    assert alerts, f"{provider}/{account}: the sequence gave no alert"
    return AlertDocument.build(provider, account, NOW, alerts)


def flashback(percent: float) -> Outcome:
    return at(percent, "EGRESS_MONTHLY_BYTES")(read("flashback", "provider_flashback_ok.json"))


def chatdoc(percent: float) -> Outcome:
    return at(percent, "question")(read("chatdoc", "provider_chatdoc_ok.json"))


def onlyoffice_full(percent: float) -> Outcome:
    return at(percent)(read("onlyoffice", "provider_onlyoffice_ok.json"))


def the_test_alert() -> AlertDocument:
    """The test alert as the runner publishes it for {"test_alert": true}."""

    class Collect:
        documents: list[AlertDocument] = []  # noqa: RUF012 - one run

        def publish(self, document: AlertDocument) -> str:
            self.documents.append(document)
            return "golden"

    class NoStore:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"the test alert must not touch the state ({name})")

    publisher = Collect()
    environ = {
        "STATE_TABLE_NAME": "golden",
        "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:golden",
        "ACCOUNTS": json.dumps([{"name": "main", "api_key": {"env": "GOLDEN_KEY"}}]),
        "GOLDEN_KEY": "golden-key",
    }
    deps = Dependencies(store=NoStore(), publisher=publisher, clock=lambda: NOW)  # type: ignore[arg-type]
    run_provider("flashback", {"test_alert": True}, FakeLambdaContext(), dependencies=deps, environ=environ)
    [document] = publisher.documents
    return document


def documents() -> dict[str, AlertDocument]:
    """One document per alert kind (and a few that carry several), from the real adapters and evaluator."""
    bigdata_401 = read(
        "bigdata", "edge_bigdata_error_bodies.json", 401, load_fixture("edge_bigdata_error_bodies.json")["401"]
    )
    templatedocs_429 = read("templatedocs", "provider_templatedocs_429.json", 429)
    # Warned two days ago and still at warning: due to be told again (RENOTIFY_SECONDS, one day).
    warned = evaluate(chatdoc(85), None, POLICY, AccountRef("chatdoc", "support"), NOW - timedelta(days=2)).state
    return {
        "triggered": walk("flashback", "main", [flashback(50), flashback(85)]),
        "escalated": walk("flashback", "main", [flashback(85), flashback(97)]),
        "escalated_exhausted": walk("flashback", "main", [flashback(97), flashback(100)]),
        "improved": walk("flashback", "main", [flashback(97), flashback(78)]),
        "resolved": walk("flashback", "main", [flashback(85), flashback(40)]),
        "resolved_no_longer_reported": walk(
            "onlyoffice",
            "portal",
            [onlyoffice_full(85), read("onlyoffice", "provider_onlyoffice_user_role_trial.json")],
        ),
        "renotify": walk("chatdoc", "support", [chatdoc(86)], state=warned),
        "check_failed_auth": walk(
            "bigdata", "research", [read("bigdata", "provider_bigdata_credits_ok.json"), bigdata_401]
        ),
        "check_failed_rate_limited": walk(
            "templatedocs",
            "docs-team",
            [
                read("templatedocs", "provider_templatedocs_ok.json"),
                templatedocs_429,
                templatedocs_429,
                templatedocs_429,
            ],
        ),
        "check_recovered": walk(
            "bigdata",
            "research",
            [
                read("bigdata", "provider_bigdata_credits_ok.json"),
                bigdata_401,
                read("bigdata", "provider_bigdata_credits_ok.json"),
            ],
        ),
        "several": walk("onlyoffice", "portal", [onlyoffice_full(50), onlyoffice_full(96)]),
        "test": the_test_alert(),
    }


DOCUMENTS = documents()


def rendered(document: AlertDocument) -> dict[str, str]:
    return {
        "email": f"Subject: {email_subject(document)}\n\n{email_body(document)}\n",
        "slack": json.dumps(render_alert_document(document), ensure_ascii=False, indent=2) + "\n",
    }


def test_the_sequences_produce_every_alert_kind() -> None:
    kinds = {alert.kind.value for document in DOCUMENTS.values() for alert in document.alerts}
    assert kinds == {
        "triggered", "escalated", "improved", "resolved", "renotify", "check_failed", "check_recovered", "test",
    }  # fmt: skip
    gone = DOCUMENTS["resolved_no_longer_reported"].alerts
    assert any("no longer reported" in alert.message for alert in gone), [a.message for a in gone]


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
@pytest.mark.parametrize("channel", ["email", "slack"])
def test_what_people_read_matches_the_golden_file(name: str, channel: str) -> None:
    path = GOLDEN / channel / f"{name}.{'txt' if channel == 'email' else 'json'}"
    text = rendered(DOCUMENTS[name])[channel]
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 and review the new file"
    assert text == path.read_text(encoding="utf-8"), f"{path} differs: review, then UPDATE_GOLDEN=1 to accept"


def test_no_golden_file_is_left_over() -> None:
    expected = {f"email/{n}.txt" for n in DOCUMENTS} | {f"slack/{n}.json" for n in DOCUMENTS}
    found = {str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*") if p.is_file()}
    assert found == expected
