"""Formatting of numbers and units, the email subject and body, and the SNS message parts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.formatting import format_amount, format_percent, progress_bar
from shared.messages import SUBJECT_MAX, email_body, email_subject
from shared.models import Alert, AlertDocument, AlertKind, FailureReason, Level
from shared.notify import message_attributes, message_bodies

CHECKED_AT = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (2147483648, "bytes", "2 GiB"),
        (2100000000, "bytes", "1.96 GiB"),
        (512, "bytes", "512 B"),
        (1536, "bytes", "1.5 KiB"),
        (10 * 1024**4, "bytes", "10 TiB"),
        (1234567, "count", "1,234,567"),
        (12.5, "count", "12.5"),
        (123456, "usd_cents", "$1,234.56"),
        (1500, "units", "1,500 units"),
        (None, "count", "unlimited"),
    ],
)
def test_amounts_read_in_human_units(value: float | None, unit: str, text: str) -> None:
    assert format_amount(value, unit) == text


@pytest.mark.parametrize(("percent", "text"), [(97.79, "98%"), (99.6, "99.6%"), (100.0, "100%"), (5.0, "5%")])
def test_percent_never_rounds_up_to_100_while_quota_is_left(percent: float, text: str) -> None:
    assert format_percent(percent) == text


def test_progress_bar_fills_with_the_percent() -> None:
    assert progress_bar(50) == "█████░░░░░"
    assert progress_bar(140) == "██████████"


def alert(kind: AlertKind = AlertKind.ESCALATED, metric: str | None = "EGRESS_MONTHLY_BYTES", **extra: object) -> Alert:
    fields: dict[str, object] = {
        "kind": kind, "metric": metric, "name": "Monthly egress", "level": Level.CRITICAL,
        "previous_level": Level.WARNING, "used": 2100000000, "limit": 2147483648, "percent": 97.79, "unit": "bytes",
        "period": "monthly", "resets_at": datetime(2026, 12, 1, tzinfo=UTC),
        "id": f"flashback/main/{metric}/2026-11-22T10:00:00.000Z", "message": "Monthly egress escalated to critical",
    }  # fmt: skip
    fields.update(extra)
    return Alert.model_validate(fields)


def document(*alerts: Alert) -> AlertDocument:
    return AlertDocument.build("flashback", "main", CHECKED_AT, list(alerts))


def test_single_alert_subject_reads_at_a_glance() -> None:
    assert email_subject(document(alert())) == "[CRITICAL] flashback/main: Monthly egress at 98% of 2 GiB"


def test_several_alerts_subject_names_the_highest_level_and_count() -> None:
    resolved = alert(AlertKind.RESOLVED, "STORAGE", level=Level.OK, previous_level=Level.EXHAUSTED, id="s")
    subject = email_subject(document(alert(), resolved))
    assert subject == "[CRITICAL] flashback/main: 2 changes, highest critical: Monthly egress at 98% of 2 GiB"


def test_resolved_subject_is_good_news() -> None:
    resolved = alert(AlertKind.RESOLVED, level=Level.OK, previous_level=Level.CRITICAL, percent=40.0)
    assert email_subject(document(resolved)) == "[RESOLVED] flashback/main: Monthly egress back to ok at 40% of 2 GiB"


def test_check_failed_subject_says_the_reason() -> None:
    failed = alert(
        AlertKind.CHECK_FAILED, None, name="Quota check", level=Level.CRITICAL, previous_level=Level.OK,
        used=None, limit=None, percent=None, unit=None, reason=FailureReason.AUTH,
    )  # fmt: skip
    assert email_subject(document(failed)) == "[CRITICAL] flashback/main: quota check failed (API key rejected)"


def test_subject_is_short_ascii_and_single_line() -> None:
    long_name = "Très long nom de métrique\nqui continue " + "x" * 200
    subject = email_subject(document(alert(name=long_name)))
    assert len(subject) <= SUBJECT_MAX
    assert subject.isascii()
    assert "\n" not in subject
    assert subject.endswith("...")


def test_email_body_is_plain_text_with_the_facts() -> None:
    body = email_body(document(alert(hint="Raise the plan")))
    assert "ESCALATED (warning -> critical): Monthly egress" in body
    assert "Used:     1.96 GiB of 2 GiB (98%)" in body
    assert "Left:     45.3 MiB" in body
    assert "Period:   monthly, resets 2026-12-01 00:00 UTC" in body
    assert "To do:    Raise the plan" in body
    assert "{" not in body


def test_sns_message_carries_the_document_by_default_and_text_for_email() -> None:
    doc = document(alert())
    bodies = json.loads(message_bodies(doc))
    assert set(bodies) == {"default", "email"}
    sent = json.loads(bodies["default"])
    assert sent["version"] == 1
    assert (sent["provider"], sent["account"], sent["severity"]) == ("flashback", "main", "critical")
    assert sent["checked_at"] == "2026-11-22T10:00:00.000Z"
    assert sent["alerts"][0]["id"] == "flashback/main/EGRESS_MONTHLY_BYTES/2026-11-22T10:00:00.000Z"
    assert bodies["email"] == email_body(doc)


def test_severity_counts_previous_levels_and_check_failed_as_critical() -> None:
    resolved = alert(AlertKind.RESOLVED, level=Level.OK, previous_level=Level.EXHAUSTED)
    assert message_attributes(document(resolved))["severity"]["StringValue"] == "exhausted"
    failed = alert(AlertKind.CHECK_FAILED, None, level=Level.CRITICAL, previous_level=Level.OK)
    assert message_attributes(document(failed)) == {
        "provider": {"DataType": "String", "StringValue": "flashback"},
        "account": {"DataType": "String", "StringValue": "main"},
        "severity": {"DataType": "String", "StringValue": "critical"},
    }


def test_provider_details_read_as_words_and_money() -> None:
    consumers = [
        {"id": "a", "name": "Premium news", "usage": 5.0, "cost_cents": 258000.0},
        {"id": "b", "cost_cents": 12},
    ]
    body = email_body(document(alert(details={"top_consumers": consumers, "plan_trial": True})))
    assert "  Top consumers: Premium news ($2,580.00), b ($0.12)" in body
    assert "  Plan trial: yes" in body


def test_reset_without_a_period_reads_cleanly_in_slack() -> None:
    from shared.slack import alert_section_text

    text = alert_section_text(alert(period=None))
    assert "resets 2026-12-01 00:00 UTC" in text.splitlines()[2]
    assert "Period" not in text
