"""The words of one alert: titles, reasons, hints, times, headlines and the document's ``message``.

Everything here reads only the alert's own fields (and, when the document is built, its facts), so
email, Slack and the terminal say the same thing. Human text speaks of current levels only; a
previous level appears only as "was <level>". The routing severity is never put into words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.formatting import format_amount, format_percent, format_remaining, format_usd_cents
from shared.models import Alert, AlertKind, FailureReason, Level

ACCOUNT_CHECK = "Quota check"
TEST_NAME = "Test alert"

REASON_TEXT = {
    FailureReason.AUTH: "API key rejected",
    FailureReason.NO_SUBSCRIPTION: "no active subscription",
    FailureReason.RATE_LIMITED: "rate limited by the provider",
    FailureReason.UNAVAILABLE: "provider unavailable",
    FailureReason.BAD_RESPONSE: "unexpected response from the provider",
}
KEY_UNREADABLE_TEXT = "API key could not be read"

KIND_TITLE = {
    AlertKind.TRIGGERED: "New",
    AlertKind.ESCALATED: "Worse",
    AlertKind.IMPROVED: "Better",
    AlertKind.RESOLVED: "Resolved",
    AlertKind.RENOTIFY: "Still",
    AlertKind.CHECK_FAILED: "Check failed",
    AlertKind.CHECK_RECOVERED: "Check recovered",
    AlertKind.TEST: "Test",
    AlertKind.FORECAST: "Forecast",
    AlertKind.FORECAST_CLEARED: "Forecast cleared",
}

# Unit words that a provider puts in a metric's name; the numbers carry their unit already.
_UNIT_WORDS = re.compile(
    r"\s*(?:\((?:in\s+)?(?:bytes|[KMGT]i?B|count)\)|\bin\s+(?:bytes|[KMGT]i?B|megabytes|gigabytes))\s*$", re.IGNORECASE
)


def metric_title(name: str) -> str:
    """``Monthly egress in bytes`` → ``Monthly egress``."""
    return _UNIT_WORDS.sub("", name).strip() or name


def unknown_metric_warning(metric_id: str) -> str:
    """The run summary's warning for a metric id in thresholds.metrics or ignore that the provider lacks."""
    return f"metric {metric_id} is configured (thresholds.metrics or ignore) but not reported by the provider"


def failing_note(reason: FailureReason, consecutive: int, since: datetime) -> str:
    """The terminal's note on a failing account: ``API key rejected, 3 check(s) since 2026-11-22 10:00 UTC``."""
    return f"{REASON_TEXT[reason]}, {consecutive} check(s) since {since.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def is_failure(alert: Alert) -> bool:
    return alert.kind is AlertKind.CHECK_FAILED or (alert.kind is AlertKind.RENOTIFY and alert.metric is None)


def is_good_news(alert: Alert) -> bool:
    return alert.kind in (AlertKind.RESOLVED, AlertKind.CHECK_RECOVERED, AlertKind.FORECAST_CLEARED)


def tag(alert: Alert) -> str:
    """The bracketed word of an email subject: the alert's current state, never the routing severity."""
    if alert.test:
        return "TEST"
    if alert.kind is AlertKind.FORECAST_CLEARED:
        return "FORECAST CLEARED"
    if alert.kind is AlertKind.CHECK_RECOVERED:
        return "RECOVERED"
    if alert.kind is AlertKind.RESOLVED:
        return "RESOLVED"
    if alert.kind is AlertKind.FORECAST:
        return f"FORECAST {alert.level.value.upper()}"
    return alert.level.value.upper()


# Times --------------------------------------------------------------------------------------------


_SPAN_UNITS = ((86400 * 30, "month"), (86400, "day"), (3600, "hour"))


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _span(delta: timedelta) -> str:
    """``2 days``, ``5 hours``, ``40 minutes``: the largest unit that counts at least two."""
    seconds = abs(delta.total_seconds())
    for size, unit in _SPAN_UNITS:
        if round(seconds / size) >= 2:
            return _plural(round(seconds / size), unit)
    return _plural(max(1, round(seconds / 60)), "minute")


def relative(moment: datetime, now: datetime) -> str:
    """``in 2 days`` or ``4 months ago``."""
    delta = _as_utc(moment) - _as_utc(now)
    return f"in {_span(delta)}" if delta >= timedelta(0) else f"{_span(delta)} ago"


def _as_utc(moment: datetime) -> datetime:
    # A provider time without a zone is compared as if it were UTC: the relative words are "about" anyway.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def absolute(moment: datetime, now: datetime | None = None) -> str:
    """``Tue 1 Dec 00:00 UTC``; the year when it is not ``now``'s; a time without a zone is the provider's."""
    local = moment if moment.tzinfo is None else moment.astimezone(UTC)
    year = "" if now is not None and local.year == _as_utc(now).year else f" {local.year}"
    zone = " (provider's time zone)" if moment.tzinfo is None else " UTC"
    return f"{local:%a} {local.day} {local:%b}{year} {local:%H:%M}{zone}"


def when(moment: datetime, now: datetime) -> str:
    """``in 2 days (Tue 1 Dec 00:00 UTC)``."""
    return f"{relative(moment, now)} ({absolute(moment, now)})"


def checked(moment: datetime) -> str:
    """``Sun 22 Nov 2026 10:00 UTC``: when the check ran."""
    utc = moment.astimezone(UTC)
    return f"{utc:%a} {utc.day} {utc:%b %Y %H:%M} UTC"


def reset_phrase(alert: Alert, now: datetime) -> str | None:
    """``resets in 9 days (Tue 1 Dec 00:00 UTC)``, ``no reset``, ``resets monthly``, or nothing known."""
    if alert.resets_at is not None:
        estimated = alert.forecast is not None and alert.forecast.resets_at_estimated
        return f"resets {when(alert.resets_at, now)}" + (" (estimated)" if estimated else "")
    if alert.period == "all_time":
        return "no reset"
    if alert.period:
        return f"resets {alert.period.replace('_', ' ')}"
    return None


# Details ------------------------------------------------------------------------------------------

_DETAIL_LABELS = {
    "http_status": "HTTP status",
    "plan_due_date": "Plan renews",
    "plan_trial": "Trial plan",
    "top_consumers": "Top consumers",
}


def detail_label(key: str) -> str:
    """``plan_due_date`` → ``Plan renews``; an unknown key reads as words (``top_units`` → ``Top units``)."""
    if key in _DETAIL_LABELS:
        return _DETAIL_LABELS[key]
    words = key.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _provider_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def format_detail(value: object, now: datetime | None = None) -> str:
    """A provider extra for people: top consumers read as ``name ($12.34)``, dates as dates, lists joined."""
    if isinstance(value, list):
        return ", ".join(format_detail(item, now) for item in value)
    if isinstance(value, dict):
        name = value.get("name") or value.get("id")
        if name is not None and isinstance(value.get("cost_cents"), int | float):
            return f"{name} ({format_usd_cents(value['cost_cents'])})"
        return ", ".join(f"{key}: {format_detail(item, now)}" for key, item in value.items())
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and now is not None and "T" in value and (moment := _provider_time(value)):
        return f"{absolute(moment, now)}, {relative(moment, now)}"
    return str(value)


# Headlines and messages ---------------------------------------------------------------------------


def short_headline(alert: Alert) -> str:
    """What changed, in a few words: ``Questions 97% used``."""
    name = metric_title(alert.name)
    if alert.test:
        return "test alert, delivery works"
    if is_failure(alert):
        return f"quota check failed: {failure_text(alert)}"
    if alert.kind is AlertKind.CHECK_RECOVERED:
        return "quota check works again"
    if alert.kind is AlertKind.FORECAST and (projected := projection(alert)):
        return f"{name} runs out in about {_span(timedelta(hours=projected.hours_left))}"
    if alert.kind is AlertKind.FORECAST_CLEARED:
        return f"{name} no longer forecast to run out"
    if alert.used is None:
        return f"{name} no longer tracked"
    if alert.limit is None:
        return f"{name} {format_amount(alert.used, alert.unit)} used (unlimited)"
    if alert.kind is AlertKind.RESOLVED:
        return f"{name} back to {format_percent(alert.percent)} used"
    return f"{name} {format_percent(alert.percent)} used"


def failure_text(alert: Alert) -> str:
    if alert.facts.key_unreadable:
        return KEY_UNREADABLE_TEXT
    return REASON_TEXT.get(alert.reason, "failed") if alert.reason else "failed"


def _usage_clause(alert: Alert, now: datetime) -> str:
    """``30 of 1,000 left, resets in 2 days (Tue 1 Dec 00:00 UTC)``."""
    parts = []
    if alert.used is not None and alert.limit is not None:
        parts.append(
            f"{format_remaining(alert.used, alert.limit, alert.unit)} of {format_amount(alert.limit, alert.unit)} left"
        )
    reset = reset_phrase(alert, now)
    if reset:
        parts.append(reset)
    return ", ".join(parts)


def headline(alert: Alert, now: datetime) -> str:
    """Everything at a glance: ``Questions 97% used — 30 of 1,000 left, resets in 2 days (Tue 1 Dec 00:00 UTC)``."""
    if alert.kind is AlertKind.FORECAST and (projected := projection(alert)):
        return forecast_headline(alert, projected, now)
    short = short_headline(alert)
    if alert.kind is AlertKind.FORECAST_CLEARED or alert.used is None or alert.metric is None:
        return short
    usage = _usage_clause(alert, now)
    return f"{short} — {usage}" if usage else short


def change(alert: Alert) -> str | None:
    """Where the level stands now and where it was: ``Now warning, was critical.``"""
    now, was = alert.level.value, alert.previous_level.value
    kind = alert.kind
    if alert.test or alert.metric is None:
        return None
    if kind is AlertKind.RENOTIFY:
        return f"Still {now}."
    if kind is AlertKind.FORECAST:
        return f"Forecast {now}." if alert.previous_level is Level.OK else f"Forecast now {now}, was {was}."
    if kind is AlertKind.FORECAST_CLEARED:
        return f"The forecast was {was}."
    if kind is AlertKind.TRIGGERED:
        return f"Now {now}."
    return f"Now {now}, was {was}."


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def message(alert: Alert, now: datetime, subject: str = "") -> str:
    """The alert document's ``message``: the headline, then the level change, as sentences."""
    if alert.test:
        return f"Test alert from Quota Sentinel for {subject}: this channel receives alerts."
    if is_failure(alert):
        streak = alert.facts.failed_checks or 1
        in_a_row = f" ({streak} checks in a row)" if streak > 1 else ""
        said = f" {_sentence(alert.facts.error_message)}" if alert.facts.error_message else ""
        return f"Quota check failed: {failure_text(alert)}{in_a_row}.{said}"
    if alert.kind is AlertKind.CHECK_RECOVERED:
        count = alert.facts.failed_checks
        after = f" after {count} failed check{'' if count == 1 else 's'}" if count else ""
        return f"Quota check works again{after}."
    if alert.kind is AlertKind.FORECAST and (projected := projection(alert)):
        return f"{forecast_sentence(alert, projected, now)} {change(alert)}"
    if alert.kind is AlertKind.FORECAST_CLEARED:
        return forecast_cleared_sentence(alert, now)
    name = metric_title(alert.name)
    if alert.used is None:
        where = "offered by the plan" if alert.facts.gone == "no_longer_offered" else "reported by the provider"
        at = f" at {format_percent(alert.facts.previous_percent)} used" if alert.facts.previous_percent else ""
        return f"{name} is no longer {where}; it was {alert.previous_level.value}{at}."
    return f"{_sentence(headline(alert, now))} {change(alert)}"


def hint(alert: Alert, key_source: str, provider: str, account: str) -> str | None:
    """What to do. ``key_source`` is what shared.key_references allows to be shown (never a key)."""
    if alert.test:
        return "Nothing to do. Real alerts look like this one."
    if not is_failure(alert):
        return None
    if alert.facts.key_unreadable:
        return f"Check that {key_source} exists and that the function may read and decrypt it."
    return failure_hint(alert.reason, key_source, provider, account)


def failure_hint(reason: FailureReason | None, key_source: str, provider: str, account: str) -> str:
    if reason is FailureReason.AUTH:
        return f"Check or rotate the API key in {key_source}."
    if reason is FailureReason.NO_SUBSCRIPTION:
        return f"Renew or activate the {provider} subscription for account {account}."
    if reason is FailureReason.RATE_LIMITED:
        return "Lower the check frequency or ask the provider for a higher rate limit."
    if reason is FailureReason.UNAVAILABLE:
        return "Usually transient; check the provider's status page if it persists."
    return "The provider's API may have changed; check the base URL and the provider's API notes."


# Forecasts ----------------------------------------------------------------------------------------

_RATE_UNITS = ((1, "an hour"), (24, "a day"), (24 * 7, "a week"))


def rate_phrase(rate_per_hour: float, unit: str | None, hours_left: float) -> str:
    """``about 1.2 GiB a day``: per hour when it runs out within two days and reads as a whole amount."""
    if hours_left < 48 and rate_per_hour >= 1:
        hours, per = _RATE_UNITS[0]
    elif rate_per_hour * 24 >= 1 or unit == "bytes":
        hours, per = _RATE_UNITS[1]
    else:
        hours, per = _RATE_UNITS[2]
    amount = rate_per_hour * hours
    text = format_amount(amount, unit) if unit == "bytes" or amount >= 10 else format_amount(round(amount, 1), unit)
    return f"about {text} {per}"


@dataclass(frozen=True)
class Projection:
    runs_out_at: datetime
    hours_left: float
    rate_per_hour: float


def projection(alert: Alert) -> Projection | None:
    """The alert's projection, when its forecast has one (a cleared forecast may not)."""
    forecast = alert.forecast
    if forecast is None or forecast.runs_out_at is None or forecast.hours_left is None:
        return None
    if forecast.rate_per_hour is None:
        return None
    return Projection(forecast.runs_out_at, forecast.hours_left, forecast.rate_per_hour)


def _reset_bound(alert: Alert, runs_out_at: datetime) -> str:
    estimated = " (estimated)" if alert.forecast is not None and alert.forecast.resets_at_estimated else ""
    if alert.resets_at is None:
        return "; the reset time is unknown"
    if alert.resets_at <= runs_out_at:
        return f", but it resets first{estimated}"
    return f", {_span(alert.resets_at - runs_out_at)} before it resets{estimated}"


def forecast_headline(alert: Alert, projected: Projection, now: datetime) -> str:
    """``Monthly egress runs out in about 2 days (Tue 1 Dec 14:00 UTC), 9 days before it resets``."""
    runs_out_at = projected.runs_out_at
    when_text = f"in about {_span(runs_out_at - now)} ({absolute(runs_out_at, now)})"
    return f"{metric_title(alert.name)} runs out {when_text}{_reset_bound(alert, runs_out_at)}"


def forecast_sentence(alert: Alert, projected: Projection, now: datetime) -> str:
    """``At the current rate (about 1.2 GiB a day) Monthly egress runs out in about 2 days, on Tue 1 Dec
    14:00 UTC, 9 days before it resets.``"""
    rate = rate_phrase(projected.rate_per_hour, alert.unit, projected.hours_left)
    runs_out_at = projected.runs_out_at
    runs_out = f"in about {_span(runs_out_at - now)}, on {absolute(runs_out_at, now)}"
    bound = _reset_bound(alert, runs_out_at)
    usage = ""
    if alert.used is not None and alert.limit is not None:
        usage = f" Now {format_percent(alert.percent)} used."
    return f"At the current rate ({rate}) {metric_title(alert.name)} runs out {runs_out}{bound}.{usage}"


def forecast_rest(alert: Alert, projected: Projection) -> str:
    """What a forecast's headline leaves out: ``At the current rate, about 284 MiB a day. Now 70% used.``"""
    rate = rate_phrase(projected.rate_per_hour, alert.unit, projected.hours_left)
    now = f" Now {format_percent(alert.percent)} used." if alert.limit is not None and alert.used is not None else ""
    return f"At the current rate, {rate}.{now}"


def forecast_cleared_sentence(alert: Alert, now: datetime) -> str:
    """Why the forecast cleared and where the metric stands now, without sounding like an all-clear."""
    why = {"usage_slowed": "usage slowed", "quota_reset": "the quota reset", "no_limit": "it has no limit now"}
    because = why.get(alert.forecast.cleared_because or "", "") if alert.forecast else ""
    reason = f": {because}" if because else ""
    stands = ""
    if alert.used is not None and alert.limit is not None:
        stands = f" It stands at {format_percent(alert.percent)} used — {_usage_clause(alert, now)}."
    return f"{metric_title(alert.name)} is no longer forecast to run out{reason}.{stands} {change(alert)}"


def lead_alert(alerts: list[Alert]) -> Alert:
    """The alert a multi-alert message is named by: the worst current level; the first of equals."""
    return max(alerts, key=lambda alert: (not is_good_news(alert), alert.level.rank, -alerts.index(alert)))
