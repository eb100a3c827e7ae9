"""Slack: Block Kit for alert documents and CloudWatch alarms, and delivery to an incoming webhook.

Rendering is pure. Delivery honours 429 ``Retry-After`` within the time left, raises on 5xx (so the
SNS→Lambda retry and the DLQ apply) and reports a permanent 4xx with Slack's error string.
The webhook URL is a secret: it never appears in a log line or an error message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from shared.formatting import (
    detail_label,
    format_amount,
    format_detail,
    format_percent,
    format_remaining,
    format_time,
    progress_bar,
    truncate,
)
from shared.messages import alert_headline
from shared.models import Alert, AlertDocument, AlertKind, Level

MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION = 3000
MAX_FALLBACK_TEXT = 3000

LEVEL_EMOJI = {Level.OK: "✅", Level.WARNING: "🟠", Level.CRITICAL: "🔴", Level.EXHAUSTED: "🛑"}
KIND_TITLE = {
    AlertKind.TRIGGERED: "Triggered",
    AlertKind.ESCALATED: "Escalated",
    AlertKind.IMPROVED: "Improved",
    AlertKind.RESOLVED: "Resolved",
    AlertKind.RENOTIFY: "Still",
    AlertKind.CHECK_FAILED: "Check failed",
    AlertKind.CHECK_RECOVERED: "Check recovered",
    AlertKind.TEST: "Test",
    AlertKind.FORECAST: "Forecast",
    AlertKind.FORECAST_CLEARED: "Forecast cleared",
}


def alert_emoji(alert: Alert) -> str:
    if alert.test:
        return "🧪"
    if alert.kind is AlertKind.CHECK_FAILED or (alert.kind is AlertKind.RENOTIFY and alert.metric is None):
        return "❌"
    return LEVEL_EMOJI[alert.level]


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION)}}


def _escape(text: str) -> str:
    """Slack mrkdwn control characters in provider-supplied text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def alert_section_text(alert: Alert) -> str:
    title = KIND_TITLE[alert.kind]
    if alert.kind is AlertKind.RENOTIFY and alert.metric is not None:
        title = f"Still {alert.level.value}"
    change = "" if alert.metric is None else f" · {alert.previous_level.value} → {alert.level.value}"
    lines = [f"{alert_emoji(alert)} *{_escape(alert.name)}* — {title}{change}"]
    if alert.metric is not None and alert.used is not None:
        if alert.limit is None:
            lines.append(f"{format_amount(alert.used, alert.unit)} used (unlimited)")
        else:
            left = format_remaining(alert.used, alert.limit, alert.unit)
            lines.append(
                f"`{progress_bar(alert.percent)}` *{format_percent(alert.percent)}* · "
                f"{format_amount(alert.used, alert.unit)} of {format_amount(alert.limit, alert.unit)} · {left} left"
            )
    else:
        lines.append(_escape(alert.message))
    when = [f"Period: {alert.period}"] if alert.period else []
    if alert.resets_at:
        when.append(f"resets {format_time(alert.resets_at)}")
    if when:
        lines.append(" · ".join(when))
    if alert.hint:
        lines.append(f"👉 {_escape(alert.hint)}")
    for key, value in alert.details.items():
        lines.append(f"{_escape(detail_label(key))}: {_escape(format_detail(value))}")
    return "\n".join(lines)


def _header_text(document: AlertDocument) -> str:
    where = f"{document.provider}/{document.account}"
    alerts = document.alerts
    if len(alerts) == 1:
        return f"{alert_emoji(alerts[0])} {where}: {alert_headline(alerts[0])}"
    current = max((alert.level for alert in alerts), key=lambda level: level.rank)
    return f"{LEVEL_EMOJI[current]} {where}: {len(alerts)} quota changes"


def fallback_text(document: AlertDocument) -> str:
    """The notification text (and what clients without Block Kit show)."""
    headlines = "; ".join(alert_headline(alert) for alert in document.alerts)
    return truncate(f"{document.provider}/{document.account}: {headlines}", MAX_FALLBACK_TEXT)


def render_alert_document(document: AlertDocument) -> dict[str, Any]:
    """One Block Kit message for one alert document, within Slack's limits."""
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(_header_text(document), MAX_HEADER)}]
    room = MAX_BLOCKS - 2  # the header and the closing context
    alerts = document.alerts
    shown = alerts if len(alerts) <= room else alerts[: room - 1]
    blocks.extend(_section(alert_section_text(alert)) for alert in shown)
    if len(shown) < len(alerts):
        blocks.append(_section(f"+{len(alerts) - len(shown)} more"))
    ids = ", ".join(alert.id for alert in alerts[:3]) + (" …" if len(alerts) > 3 else "")
    context = f"Checked {format_time(document.checked_at)} · severity {document.severity.value} · {ids}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(context, MAX_SECTION)}]})
    return {"text": fallback_text(document), "blocks": blocks}


_ALARM_EMOJI = {"ALARM": "🚨", "OK": "✅", "INSUFFICIENT_DATA": "❔"}


def render_cloudwatch_alarm(alarm: dict[str, Any]) -> dict[str, Any]:
    """A CloudWatch alarm notification from the ops topic, as a readable ops alert."""
    name = str(alarm.get("AlarmName", "CloudWatch alarm"))
    state = str(alarm.get("NewStateValue", "UNKNOWN"))
    old_state = str(alarm.get("OldStateValue", "UNKNOWN"))
    emoji = _ALARM_EMOJI.get(state, "❔")
    header = f"{emoji} Ops: {name} is {state}"
    lines = [f"*{_escape(name)}*: {old_state} → {state}"]
    if alarm.get("AlarmDescription"):
        lines.append(_escape(str(alarm["AlarmDescription"])))
    if alarm.get("NewStateReason"):
        lines.append(f"_{_escape(str(alarm['NewStateReason']))}_")
    trigger = alarm.get("Trigger")
    if isinstance(trigger, dict) and trigger.get("MetricName"):
        lines.append(f"Metric: {trigger.get('Namespace', '')}/{trigger['MetricName']}")
    context = f"{alarm.get('Region', '')} · {alarm.get('StateChangeTime', '')} · {alarm.get('AWSAccountId', '')}"
    return {
        "text": truncate(f"{name} is {state}: {alarm.get('NewStateReason', '')}", MAX_FALLBACK_TEXT),
        "blocks": [
            {"type": "header", "text": _plain(header, MAX_HEADER)},
            _section("\n".join(lines)),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(context, MAX_SECTION)}]},
        ],
    }


class SlackDeliveryError(Exception):
    """Slack could not take the message now (5xx, 429 beyond the time left, network): retry later."""


@dataclass(frozen=True)
class SlackResult:
    delivered: bool
    status: int
    error: str | None = None  # Slack's error string for a permanent 4xx


class SlackWebhook:
    """Posts to one incoming webhook. The URL is a secret and is never logged or put in an error."""

    def __init__(
        self,
        url: str,
        *,
        timeout: tuple[float, float] = (3.0, 10.0),
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 3,
    ) -> None:
        self._url = url
        self.timeout = timeout
        self.sleep = sleep
        self.max_attempts = max_attempts

    def __repr__(self) -> str:
        return "SlackWebhook(url=***)"

    def post(self, payload: dict[str, Any], seconds_left: Callable[[], float]) -> SlackResult:
        for _attempt in range(self.max_attempts):
            try:
                response = requests.post(self._url, json=payload, timeout=self.timeout, allow_redirects=False)
            except requests.RequestException as error:
                raise SlackDeliveryError(f"Slack webhook unreachable ({type(error).__name__})") from None
            status, body = response.status_code, response.text[:200]
            if 200 <= status < 300:
                return SlackResult(delivered=True, status=status)
            if status == 429:
                wait = _retry_after(response.headers.get("Retry-After"))
                if wait + 1 > seconds_left():
                    raise SlackDeliveryError(f"Slack rate limited (Retry-After {wait:g}s exceeds the time left)")
                self.sleep(wait)
                continue
            if status >= 500:
                raise SlackDeliveryError(f"Slack answered HTTP {status}")
            return SlackResult(delivered=False, status=status, error=body.strip() or f"HTTP {status}")
        raise SlackDeliveryError(f"Slack still rate limited after {self.max_attempts} attempts")


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 1.0
    except ValueError:
        return 1.0
