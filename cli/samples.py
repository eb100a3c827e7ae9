"""What people read, made by the real pipeline: the real adapters read the fixture bodies, the real evaluator
walks usage sequences to every alert kind, and the runner's own document building adds the words and links.

`make preview` and the golden test (tests/unit/test_golden_messages.py) both render these, so what you
look at is what users get.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.config import AccountConfig, Policy
from shared.evaluation import AccountRef, evaluate
from shared.http import HttpResult
from shared.key_references import EnvKey
from shared.models import Alert, AlertDocument, AlertKind, Level, ProviderError, QuotaMetric, iso_utc
from shared.providers import get_adapter, interpret
from shared.wording.document import compose, links

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "providers"
TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"
# A fixed clock: every id, time and "resets in" in the messages is stable.
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
RUNBOOK_URL = "https://wiki.example.com/runbooks/quota-sentinel"
POLICY = Policy().for_account(AccountConfig(name="golden", api_key=EnvKey(env="GOLDEN_KEY")), "golden")

Outcome = list[QuotaMetric] | ProviderError


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


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


def ref_of(provider: str, account: str) -> AccountRef:
    return AccountRef(provider, account, key_source=f"SSM parameter /quota-sentinel/{provider}/{account}")


def document(provider: str, account: str, alerts: list[Alert]) -> AlertDocument:
    """The document as the runner builds it: words, the provider's name and its links (and the runbook)."""
    adapter = get_adapter(provider)
    return compose(
        provider,
        account,
        NOW,
        alerts,
        provider_name=adapter.display_name,
        key_source=ref_of(provider, account).key_source,
        links=links(adapter.display_name, adapter.manage_url, RUNBOOK_URL),
    )


def walk(provider: str, account: str, steps: list[Outcome], state: Any = None) -> AlertDocument:
    """The evaluator over ``steps``, an hour apart, ending at NOW; the last step's alerts as a document."""
    alerts: list[Alert] = []
    for hour, outcome in enumerate(steps):
        now = NOW - timedelta(hours=len(steps) - 1 - hour)
        evaluation = evaluate(outcome, state, POLICY, ref_of(provider, account), now)
        state, alerts = evaluation.state, evaluation.alerts
    assert alerts, f"{provider}/{account}: the sequence gave no alert"
    return document(provider, account, alerts)


def flashback(percent: float) -> Outcome:
    return at(percent, "EGRESS_MONTHLY_BYTES")(read("flashback", "provider_flashback_ok.json"))


def chatdoc(percent: float, *metric_ids: str) -> Outcome:
    return at(percent, *(metric_ids or ("question",)))(read("chatdoc", "provider_chatdoc_ok.json"))


def onlyoffice_full(percent: float) -> Outcome:
    return at(percent)(read("onlyoffice", "provider_onlyoffice_ok.json"))


def the_test_alert() -> AlertDocument:
    """The test alert as the runner publishes it for {"test_alert": true}."""
    from shared.in_memory import MemoryPublisher
    from shared.runner import Dependencies, run_provider

    class NoStore:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"the test alert must not touch the state ({name})")

    publisher = MemoryPublisher()
    environ = {
        "STATE_TABLE_NAME": "sample",
        "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:sample",
        "ACCOUNTS": json.dumps([{"name": "main", "api_key": {"env": "SAMPLE_KEY"}}]),
        "RUNBOOK_URL": RUNBOOK_URL,
    }
    deps = Dependencies(store=NoStore(), publisher=publisher, clock=lambda: NOW)
    run_provider("flashback", {"test_alert": True}, None, dependencies=deps, environ=environ)
    [published] = publisher.documents
    return published


def _egress_at(percent: float) -> QuotaMetric:
    return _metric(flashback(percent), "EGRESS_MONTHLY_BYTES")


def _metric(outcome: Outcome, metric_id: str) -> QuotaMetric:
    assert isinstance(outcome, list), outcome
    [metric] = [m for m in outcome if m.metric_id == metric_id]
    return metric


def _until(provider: str, account: str, steps: list[Outcome], kind: AlertKind, level: Level) -> list[Outcome]:
    """``steps`` up to the first check whose alerts include a ``kind`` alert at ``level`` (hourly checks)."""
    state = None
    for hour, outcome in enumerate(steps):
        evaluation = evaluate(outcome, state, POLICY, ref_of(provider, account), NOW + timedelta(hours=hour))
        state = evaluation.state
        if any(alert.kind is kind and alert.level is level for alert in evaluation.alerts):
            return steps[: hour + 1]
    raise AssertionError(f"{provider}/{account}: the sequence gave no {kind.value} at {level.value}")


def forecasts() -> dict[str, AlertDocument]:
    """Forecast alerts from usage the real evaluator watches hour by hour, as a deployed function would."""
    # Monthly egress resets (used falls below half), then burns 1% of its limit an hour: the next reset is
    # estimated one period after the one seen, and the quota runs out days before it.
    after_reset = [flashback(60)] * 3 + [flashback(5 + hour) for hour in range(24)]
    # Questions burn 2% an hour and ChatDOC names no reset: the forecast says the reset time is unknown.
    questions = [chatdoc(40 + 2 * hour) for hour in range(24)]
    # A fast burn crosses the warning threshold, then stops: the forecast clears while usage stays at warning.
    burn_then_flat = [flashback(70 + hour) for hour in range(17)] + [flashback(86)] * 40
    return {
        "forecast": walk(
            "flashback", "main", _until("flashback", "main", after_reset, AlertKind.FORECAST, Level.WARNING)
        ),
        "forecast_unknown_reset": walk(
            "chatdoc", "support", _until("chatdoc", "support", questions, AlertKind.FORECAST, Level.CRITICAL)
        ),
        "forecast_cleared": walk(
            "flashback", "main", _until("flashback", "main", burn_then_flat, AlertKind.FORECAST_CLEARED, Level.OK)
        ),
    }


def documents() -> dict[str, AlertDocument]:
    """One document per alert kind (and a few that carry several), from the real adapters and evaluator."""
    bigdata_401 = read(
        "bigdata", "edge_bigdata_error_bodies.json", 401, load_fixture("edge_bigdata_error_bodies.json")["401"]
    )
    templatedocs_429 = read("templatedocs", "provider_templatedocs_429.json", 429)
    # Warned two days ago and still at warning: due to be told again (RENOTIFY_SECONDS, one day).
    warned = evaluate(chatdoc(85), None, POLICY, ref_of("chatdoc", "support"), NOW - timedelta(days=2)).state
    bigdata_ok = read("bigdata", "provider_bigdata_credits_ok.json")
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
        "check_failed": walk("bigdata", "research", [bigdata_ok, bigdata_401]),
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
        "check_recovered": walk("bigdata", "research", [bigdata_ok, bigdata_401, bigdata_ok]),
        "two_changes": walk(
            "chatdoc", "support", [chatdoc(50, "question", "gpt4_question"), at(85, "gpt4_question")(chatdoc(97))]
        ),
        "several": walk("onlyoffice", "portal", [onlyoffice_full(50), onlyoffice_full(96)]),
        "test": the_test_alert(),
        **forecasts(),
    }


def _own_minute(document: AlertDocument, minutes: int) -> AlertDocument:
    """The document as checked ``minutes`` after NOW, so that each sample's alert ids are its own."""
    checked_at = NOW + timedelta(minutes=minutes)
    stamp, own = iso_utc(NOW), iso_utc(checked_at)
    alerts = [alert.model_copy(update={"id": alert.id.replace(stamp, own)}) for alert in document.alerts]
    return document.model_copy(update={"checked_at": checked_at, "alerts": alerts})


def sample_documents() -> dict[str, AlertDocument]:
    """Every sample, each checked a minute after the one before: distinct alert ids, as real runs have."""
    return {name: _own_minute(document, minutes) for minutes, (name, document) in enumerate(documents().items())}


def _alarm_description(logical_id: str) -> str:
    """The AlarmDescription of ``logical_id`` in template.yaml, resolved for a stack named quota-sentinel."""
    from local.template import Resolver, load_template

    template = load_template(TEMPLATE)
    refs = {
        "FlashbackFunction": "quota-sentinel-FlashbackFunction-AbC123",
        "DeadLetterQueue": "https://sqs.eu-west-1.amazonaws.com/123456789012/quota-sentinel-DeadLetterQueue-XyZ",
    }
    resolver = Resolver(template, parameters={"FlashbackSchedule": "rate(15 minutes)"}, refs=refs)
    description = resolver.resolve(template["Resources"][logical_id]["Properties"]["AlarmDescription"])
    return str(description)


def sample_alarms() -> dict[str, dict[str, Any]]:
    """CloudWatch alarm notifications as SNS delivers them from the ops topic, described as the template says."""
    base = {"AWSAccountId": "123456789012", "Region": "EU (Ireland)", "OldStateValue": "OK", "NewStateValue": "ALARM"}
    return {
        "alarm_dead_mans_switch": {
            **base,
            "AlarmName": "quota-sentinel-FlashbackDeadMansSwitchAlarm-1A2B3C",
            "AlarmDescription": _alarm_description("FlashbackDeadMansSwitchAlarm"),
            "NewStateReason": "Threshold Crossed: no datapoints were received for 3 periods (treated as breaching).",
            "StateChangeTime": "2026-11-22T10:15:00.000+0000",
            "Trigger": {
                "MetricName": "SuccessfulChecks",
                "Namespace": "QuotaSentinel",
                "Statistic": "SUM",
                "Dimensions": [
                    {"value": "flashback", "name": "provider"},
                    {"value": "quota-sentinel", "name": "service"},
                ],
            },
        },
        "alarm_dead_letter_queue": {
            **base,
            "AlarmName": "quota-sentinel-DeadLetterQueueDepthAlarm-4D5E6F",
            "AlarmDescription": _alarm_description("DeadLetterQueueDepthAlarm"),
            "NewStateReason": "Threshold Crossed: 1 datapoint [2.0] was greater than or equal to the threshold (1.0).",
            "StateChangeTime": "2026-11-22T10:20:00.000+0000",
            "Trigger": {
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Namespace": "AWS/SQS",
                "Statistic": "MAXIMUM",
                "Dimensions": [{"value": "quota-sentinel-DeadLetterQueue-XyZ", "name": "QueueName"}],
            },
        },
    }


def sample_cloudwatch_alarm() -> dict[str, Any]:
    """The dead-man's switch, as the ops topic delivers it."""
    return sample_alarms()["alarm_dead_mans_switch"]
