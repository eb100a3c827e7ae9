"""How alerts read: headlines, the email subject and the plain-text email body.

Numbers and units come from ``shared.formatting``; Slack renders the same facts in Block Kit.
"""

from __future__ import annotations

import unicodedata

from shared.formatting import (
    detail_label,
    format_amount,
    format_detail,
    format_percent,
    format_remaining,
    format_time,
    format_usage,
    truncate,
)
from shared.models import Alert, AlertDocument, AlertKind, Level

SUBJECT_MAX = 99  # SNS: under 100 characters, ASCII, no line breaks

_GOOD_NEWS = (AlertKind.RESOLVED, AlertKind.CHECK_RECOVERED)

REASON_TEXT = {
    "auth": "API key rejected",
    "no_subscription": "no active subscription",
    "rate_limited": "rate limited",
    "unavailable": "provider unavailable",
    "bad_response": "unexpected response",
}


def alert_tag(alert: Alert) -> str:
    if alert.test:
        return "TEST"
    if alert.kind in _GOOD_NEWS:
        return "RESOLVED"
    return alert.level.value.upper()


def alert_headline(alert: Alert) -> str:
    """One short line about one alert, e.g. ``Monthly egress at 98% of 2 GiB``."""
    if alert.test:
        return "test alert: delivery works"
    if alert.kind is AlertKind.CHECK_FAILED or (alert.kind is AlertKind.RENOTIFY and alert.metric is None):
        reason = REASON_TEXT.get(alert.reason.value if alert.reason else "", "failed")
        return f"quota check failed ({reason})"
    if alert.kind is AlertKind.CHECK_RECOVERED:
        return "quota check recovered"
    if alert.kind is AlertKind.FORECAST and alert.forecast is not None and alert.forecast.runs_out_at is not None:
        return f"{alert.name} forecast to run out {format_time(alert.forecast.runs_out_at)}"
    if alert.kind is AlertKind.FORECAST_CLEARED:
        return f"{alert.name} no longer forecast to run out"
    if alert.used is None:  # a metric that is no longer reported has no current usage
        return f"{alert.name} no longer reported"
    if alert.limit is None:
        return f"{alert.name} at {format_amount(alert.used, alert.unit)} (unlimited)"
    state = "back to ok at " if alert.kind is AlertKind.RESOLVED else "at "
    return f"{alert.name} {state}{format_percent(alert.percent)} of {format_amount(alert.limit, alert.unit)}"


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(folded.split())  # also drops line breaks and control whitespace


def email_subject(document: AlertDocument) -> str:
    where = f"{document.provider}/{document.account}"
    alerts = document.alerts
    if len(alerts) == 1:
        subject = f"[{alert_tag(alerts[0])}] {where}: {alert_headline(alerts[0])}"
    else:
        # The tag and the text both speak of where things stand now; the lead alert is the worst of them.
        lead = max(alerts, key=lambda alert: (alert.level.rank, alert.previous_level.rank))
        tag = "RESOLVED" if lead.level is Level.OK else lead.level.value.upper()
        subject = f"[{tag}] {where}: {len(alerts)} changes, highest {lead.level.value}: {alert_headline(lead)}"
    return truncate(_ascii(subject), SUBJECT_MAX, "...")


_KIND_TITLE = {
    AlertKind.TRIGGERED: "TRIGGERED",
    AlertKind.ESCALATED: "ESCALATED",
    AlertKind.IMPROVED: "IMPROVED",
    AlertKind.RESOLVED: "RESOLVED",
    AlertKind.RENOTIFY: "STILL ACTIVE",
    AlertKind.CHECK_FAILED: "CHECK FAILED",
    AlertKind.CHECK_RECOVERED: "CHECK RECOVERED",
    AlertKind.TEST: "TEST",
    AlertKind.FORECAST: "FORECAST",
    AlertKind.FORECAST_CLEARED: "FORECAST CLEARED",
}


def _alert_lines(alert: Alert) -> list[str]:
    title = _KIND_TITLE[alert.kind]
    if alert.metric is None:
        lines = [f"{title}: {alert_headline(alert)}"]
    else:
        lines = [f"{title} ({alert.previous_level.value} -> {alert.level.value}): {alert.name}"]
    lines.append(f"  {alert.message}")
    if alert.metric is not None and alert.used is not None:
        usage = format_usage(alert.used, alert.limit, alert.unit)
        percent = f" ({format_percent(alert.percent)})" if alert.limit is not None else ""
        lines.append(f"  Used:     {usage}{percent}")
        left = format_remaining(alert.used, alert.limit, alert.unit)
        if left:
            lines.append(f"  Left:     {left}")
    if alert.forecast is not None and alert.forecast.runs_out_at is not None:
        lines.append(f"  Runs out: {format_time(alert.forecast.runs_out_at)} at the current rate")
    if alert.period or alert.resets_at:
        resets = f", resets {format_time(alert.resets_at)}" if alert.resets_at else ""
        lines.append(f"  Period:   {alert.period or 'current period'}{resets}")
    if alert.hint:
        lines.append(f"  To do:    {alert.hint}")
    for key, value in alert.details.items():
        lines.append(f"  {detail_label(key) + ':':<9} {format_detail(value)}")
    lines.append(f"  Alert id: {alert.id}")
    return lines


def email_body(document: AlertDocument) -> str:
    lines = [
        f"Quota Sentinel: {document.provider} / {document.account}",
        f"Checked at {format_time(document.checked_at)}; severity {document.severity.value}",
        "",
    ]
    for alert in document.alerts:
        lines.extend(_alert_lines(alert))
        lines.append("")
    lines.append("You get one message per change. Resolved alerts follow when usage falls back.")
    return "\n".join(lines)
