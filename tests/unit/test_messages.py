"""Formatting of numbers and units, the words of alerts (shared.wording), the email and the SNS message parts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.formatting import format_amount, format_percent, progress_bar
from shared.models import Alert, AlertDocument, AlertFacts, AlertKind, FailureReason, Forecast, Level
from shared.notify import message_attributes, message_bodies
from shared.wording import words
from shared.wording.document import compose, links
from shared.wording.email import SUBJECT_MAX, email_body, email_subject
from shared.wording.slack import alert_section_text, render_alert_document

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
        "kind": kind, "metric": metric, "name": "Monthly egress in bytes", "level": Level.CRITICAL,
        "previous_level": Level.WARNING, "used": 2100000000, "limit": 2147483648, "percent": 97.79, "unit": "bytes",
        "period": "monthly", "resets_at": datetime(2026, 12, 1, tzinfo=UTC),
        "id": f"flashback/main/{metric}/2026-11-22T10:00:00.000Z",
    }  # fmt: skip
    fields.update(extra)
    return Alert.model_validate(fields)


def document(*alerts: Alert, runbook: str | None = None) -> AlertDocument:
    return compose(
        "flashback", "main", CHECKED_AT, list(alerts), provider_name="Flashback",
        key_source="SSM parameter /qs/flashback/main", links=links("Flashback", "https://flashback.tech", runbook),
    )  # fmt: skip


def test_the_headline_carries_everything_without_unit_words_in_the_name() -> None:
    assert words.headline(alert(), CHECKED_AT) == (
        "Monthly egress 98% used — 45.3 MiB of 2 GiB left, resets in 9 days (Tue 1 Dec 00:00 UTC)"
    )


@pytest.mark.parametrize(
    ("name", "title"),
    [("Monthly egress in bytes", "Monthly egress"), ("Total storage available in bytes", "Total storage available"),
     ("Storage (GB)", "Storage"), ("Questions", "Questions"), ("in bytes", "in bytes")],
)  # fmt: skip
def test_unit_words_are_dropped_from_names(name: str, title: str) -> None:
    assert words.metric_title(name) == title


def test_resets_read_relative_and_absolute_in_utc_and_all_time_reads_no_reset() -> None:
    assert words.reset_phrase(alert(), CHECKED_AT) == "resets in 9 days (Tue 1 Dec 00:00 UTC)"
    assert words.reset_phrase(alert(resets_at=None, period="all_time"), CHECKED_AT) == "no reset"
    assert words.reset_phrase(alert(resets_at=None, period="monthly"), CHECKED_AT) == "resets monthly"
    assert words.reset_phrase(alert(resets_at=None, period=None), CHECKED_AT) is None
    soon = alert(resets_at=CHECKED_AT + timedelta(hours=5))
    assert words.reset_phrase(soon, CHECKED_AT) == "resets in 5 hours (Sun 22 Nov 15:00 UTC)"
    next_year = alert(resets_at=datetime(2027, 1, 1, tzinfo=UTC))
    assert words.reset_phrase(next_year, CHECKED_AT) == "resets in 40 days (Fri 1 Jan 2027 00:00 UTC)"


def test_a_provider_date_without_a_zone_is_stated_as_the_providers() -> None:
    text = words.format_detail("2027-06-17T00:00:00", CHECKED_AT)
    assert text == "Thu 17 Jun 2027 00:00 (provider's time zone), in 7 months"
    assert words.format_detail("2027-06-17T00:00:00Z", CHECKED_AT).startswith("Thu 17 Jun 2027 00:00 UTC")
    assert words.detail_label("plan_due_date") == "Plan renews"


def test_single_alert_subject_reads_at_a_glance() -> None:
    assert email_subject(document(alert())) == "[CRITICAL] flashback/main: Monthly egress 98% used"


def test_several_alerts_subject_names_the_worst_current_item_and_counts_the_rest() -> None:
    resolved = alert(AlertKind.RESOLVED, "STORAGE", level=Level.OK, previous_level=Level.EXHAUSTED, id="s")
    warned = alert(AlertKind.TRIGGERED, "Q", name="Questions", level=Level.WARNING, previous_level=Level.OK, id="q")
    subject = email_subject(document(resolved, warned, alert()))
    assert subject == "[CRITICAL] flashback/main: Monthly egress 98% used (+2 more changes)"


def test_resolved_subject_is_good_news() -> None:
    resolved = alert(AlertKind.RESOLVED, level=Level.OK, previous_level=Level.CRITICAL, percent=40.0)
    assert email_subject(document(resolved)) == "[RESOLVED] flashback/main: Monthly egress back to 40% used"


def failed(**facts: object) -> Alert:
    return alert(
        AlertKind.CHECK_FAILED, None, name="Quota check", level=Level.CRITICAL, previous_level=Level.OK,
        used=None, limit=None, percent=None, unit=None, period=None, resets_at=None, reason=FailureReason.AUTH,
        facts=AlertFacts.model_validate(facts),
    )  # fmt: skip


def test_check_failed_says_the_reason_the_streak_and_what_to_do() -> None:
    [worded] = document(failed(failed_checks=3, error_message="HTTP 401: bad key")).alerts
    assert worded.message == "Quota check failed: API key rejected (3 checks in a row). HTTP 401: bad key."
    assert worded.hint == "Check or rotate the API key in SSM parameter /qs/flashback/main."
    assert email_subject(document(failed())) == "[CRITICAL] flashback/main: quota check failed: API key rejected"


def test_an_unreadable_key_names_where_it_lives_never_the_key() -> None:
    [worded] = document(failed(key_unreadable=True, error_message="not found")).alerts
    assert worded.message.startswith("Quota check failed: API key could not be read.")
    assert worded.hint == (
        "Check that SSM parameter /qs/flashback/main exists and that the function may read and decrypt it."
    )


def test_subject_is_short_ascii_and_single_line() -> None:
    long_name = "Très long nom de métrique\nqui continue " + "x" * 200
    subject = email_subject(document(alert(name=long_name)))
    assert len(subject) <= SUBJECT_MAX
    assert subject.isascii()
    assert "\n" not in subject
    assert subject.endswith("...")


def test_email_body_states_each_number_once_and_no_id_severity_or_footer() -> None:
    body = email_body(document(alert(), runbook="https://wiki.example.com/qs"))
    assert body.splitlines() == [
        "Flashback main, checked Sun 22 Nov 2026 10:00 UTC",
        "",
        "Monthly egress 98% used — 45.3 MiB of 2 GiB left, resets in 9 days (Tue 1 Dec 00:00 UTC). "
        "Now critical, was warning.",
        "",
        "Open Flashback: https://flashback.tech",
        "Runbook: https://wiki.example.com/qs",
    ]


def test_sns_message_carries_the_document_by_default_and_text_for_email() -> None:
    doc = document(alert())
    bodies = json.loads(message_bodies(doc))
    assert set(bodies) == {"default", "email"}
    sent = json.loads(bodies["default"])
    assert sent["version"] == 1
    assert (sent["provider"], sent["account"], sent["severity"]) == ("flashback", "main", "critical")
    assert sent["provider_name"] == "Flashback"
    assert sent["checked_at"] == "2026-11-22T10:00:00.000Z"
    [sent_alert] = sent["alerts"]
    assert sent_alert["id"] == "flashback/main/EGRESS_MONTHLY_BYTES/2026-11-22T10:00:00.000Z"
    assert sent_alert["links"] == [{"text": "Open Flashback", "url": "https://flashback.tech"}]
    assert sent_alert["message"].startswith("Monthly egress 98% used")
    assert "facts" not in sent_alert  # the words' raw material stays out of the document
    assert bodies["email"] == email_body(doc)
    assert AlertDocument.model_validate_json(bodies["default"]).alerts[0].message == sent_alert["message"]


def test_severity_counts_previous_levels_and_check_failed_as_critical() -> None:
    resolved = alert(AlertKind.RESOLVED, level=Level.OK, previous_level=Level.EXHAUSTED)
    assert message_attributes(document(resolved))["severity"]["StringValue"] == "exhausted"
    assert message_attributes(document(failed())) == {
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
    assert "  Trial plan: yes" in body


def forecast_alert(hours: float, rate: float, **extra: object) -> Alert:
    forecast = Forecast(
        runs_out_at=CHECKED_AT + timedelta(hours=hours), hours_left=hours, rate_per_hour=rate, samples=24,
        resets_at_estimated=extra.pop("estimated", None),
    )  # fmt: skip
    return alert(AlertKind.FORECAST, level=Level.WARNING, previous_level=Level.OK, forecast=forecast, **extra)


def test_forecast_words_say_rate_when_and_how_long_before_the_reset() -> None:
    gib_a_day = 1.2 * 1024**3 / 24
    runs_out = forecast_alert(52, gib_a_day, resets_at=CHECKED_AT + timedelta(hours=52 + 9 * 24))
    assert words.message(runs_out, CHECKED_AT) == (
        "At the current rate (about 1.2 GiB a day) Monthly egress runs out in about 2 days, "
        "on Tue 24 Nov 14:00 UTC, 9 days before it resets. Now 98% used. Forecast warning."
    )
    assert words.headline(runs_out, CHECKED_AT) == (
        "Monthly egress runs out in about 2 days (Tue 24 Nov 14:00 UTC), 9 days before it resets"
    )


def test_forecast_without_a_reset_bound_says_so_and_an_estimated_reset_is_marked() -> None:
    unknown = forecast_alert(20, 5.0, resets_at=None, unit="count")
    assert "; the reset time is unknown." in words.message(unknown, CHECKED_AT)
    assert "(about 5 an hour)" in words.message(unknown, CHECKED_AT)
    estimated = forecast_alert(52, 1000.0, estimated=True)
    assert "before it resets (estimated)." in words.message(estimated, CHECKED_AT)


def test_a_cleared_forecast_says_why_and_where_the_metric_stands() -> None:
    # The quota reset: the forecast core has no rate left to project, only the reason.
    cleared = alert(
        AlertKind.FORECAST_CLEARED, level=Level.OK, previous_level=Level.CRITICAL,
        forecast=Forecast(cleared_because="quota_reset"),
    )  # fmt: skip
    text = document(cleared).alerts[0].message
    assert text.startswith("Monthly egress is no longer forecast to run out: the quota reset. It stands at 98% used")
    assert text.endswith("The forecast was critical.")
    assert email_subject(document(cleared)).startswith("[FORECAST CLEARED] ")
    unlimited = cleared.model_copy(update={"forecast": Forecast(cleared_because="no_limit")})
    assert "run out: it has no limit now." in document(unlimited).alerts[0].message
    payload = render_alert_document(document(cleared))
    assert payload["blocks"][0]["text"]["text"].startswith("📉 Flashback main: Monthly egress no longer forecast")


def test_slack_single_alert_header_carries_the_headline_and_the_section_does_not_repeat_it() -> None:
    payload = render_alert_document(document(alert()))
    header = payload["blocks"][0]["text"]["text"]
    assert (
        header
        == "🔴 Flashback main: Monthly egress 98% used — 45.3 MiB of 2 GiB left, resets in 9 days (Tue 1 Dec 00:00 UTC)"
    )
    section = payload["blocks"][1]["text"]["text"]
    assert section == "`█████████░` Now critical, was warning."
    assert payload["blocks"][2] == {
        "type": "actions",
        "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open Flashback", "emoji": True},
                      "url": "https://flashback.tech"}],
    }  # fmt: skip
    assert payload["blocks"][-1]["elements"][0]["text"].endswith(
        "flashback/main/EGRESS_MONTHLY_BYTES/2026-11-22T10:00:00.000Z"
    )
    assert "severity" not in json.dumps(payload)


def test_provider_text_is_escaped_for_mrkdwn() -> None:
    doc = document(alert(name="<!channel> & co"))
    assert "&lt;!channel&gt; &amp; co" in alert_section_text(doc.alerts[0], doc)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(minutes=30), "in 30 minutes"),
        (timedelta(seconds=10), "in 1 minute"),
        (timedelta(minutes=80), "in 80 minutes"),
        (timedelta(minutes=100), "in 2 hours"),
        (timedelta(hours=35), "in 35 hours"),
        (timedelta(hours=47), "in 2 days"),
        (timedelta(hours=52), "in 2 days"),
        (timedelta(days=-3), "3 days ago"),
        (timedelta(days=130), "in 4 months"),
    ],
)
def test_relative_times_use_the_largest_unit_that_counts_two(delta: timedelta, text: str) -> None:
    assert words.relative(CHECKED_AT + delta, CHECKED_AT) == text


def test_a_cleared_forecast_marks_an_estimated_next_reset() -> None:
    estimated = Forecast(cleared_because="quota_reset", resets_at_estimated=True)
    cleared = alert(
        AlertKind.FORECAST_CLEARED, level=Level.OK, previous_level=Level.WARNING,
        resets_at=CHECKED_AT + timedelta(days=30), forecast=estimated,
    )  # fmt: skip
    assert "resets in 30 days (Tue 22 Dec 10:00 UTC) (estimated)." in words.message(cleared, CHECKED_AT)
    dated = cleared.model_copy(update={"forecast": Forecast(cleared_because="quota_reset")})
    assert "resets in 30 days (Tue 22 Dec 10:00 UTC)." in words.message(dated, CHECKED_AT)
