"""Slack Block Kit for alert documents and CloudWatch alarms, within Slack's limits. Pure: no I/O.

A single alert's headline is the header; several alerts are named by the worst current one, and each
gets a section. Links are buttons; alert ids sit only in a small context line.
"""

from __future__ import annotations

from typing import Any

from shared.formatting import progress_bar, truncate
from shared.models import Alert, AlertDocument, AlertKind, Level
from shared.wording.words import (
    change,
    checked,
    detail_label,
    forecast_rest,
    format_detail,
    headline,
    is_failure,
    lead_alert,
    projection,
    short_headline,
)

MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION = 3000
MAX_FALLBACK_TEXT = 3000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_URL = 3000
MAX_ACTIONS = 25

LEVEL_EMOJI = {Level.OK: "✅", Level.WARNING: "🟠", Level.CRITICAL: "🔴", Level.EXHAUSTED: "🛑"}


def alert_emoji(alert: Alert) -> str:
    if alert.test:
        return "🧪"
    if is_failure(alert):
        return "❌"
    if alert.kind is AlertKind.FORECAST:
        return "📈"
    if alert.kind is AlertKind.FORECAST_CLEARED:
        return "📉"
    return LEVEL_EMOJI[alert.level]


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION)}}


def escape(text: str) -> str:
    """Slack mrkdwn control characters in provider-supplied text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _has_usage_line(alert: Alert) -> bool:
    return alert.metric is not None and alert.used is not None and alert.kind is not AlertKind.FORECAST_CLEARED


def alert_section_text(alert: Alert, document: AlertDocument, *, headline_shown: bool = False) -> str:
    """The alert's lines; when the header already carries its headline, its numbers are not repeated."""
    if not headline_shown:
        lines = [f"{alert_emoji(alert)} {escape(alert.message)}"]
    elif alert.kind is AlertKind.FORECAST and (projected := projection(alert)):
        lines = [forecast_rest(alert, projected) + " " + (change(alert) or "")]
    elif _has_usage_line(alert):
        bar = f"`{progress_bar(alert.percent)}` " if alert.limit is not None else ""
        lines = [bar + (change(alert) or "")]
    else:
        lines = [escape(alert.message)]
    for key, value in alert.details.items():
        lines.append(f"{escape(detail_label(key))}: {escape(format_detail(value, document.checked_at))}")
    if alert.hint:
        lines.append(f"👉 {escape(alert.hint)}")
    return "\n".join(line.strip() for line in lines if line.strip())


def _more(count: int) -> str:
    return f" (+{count} more change{'' if count == 1 else 's'})" if count else ""


def _where(document: AlertDocument) -> str:
    return f"{document.provider_name or document.provider} {document.account}"


def header_text(document: AlertDocument) -> str:
    lead = lead_alert(document.alerts)
    test = "TEST " if lead.test else ""
    more = len(document.alerts) - 1
    words = headline(lead, document.checked_at) if not more else short_headline(lead)
    return f"{alert_emoji(lead)} {test}{_where(document)}: {words}{_more(more)}"


def fallback_text(document: AlertDocument) -> str:
    """The notification text (and what clients without Block Kit show)."""
    lead = lead_alert(document.alerts)
    test = "TEST " if lead.test else ""
    more = _more(len(document.alerts) - 1)
    return truncate(f"{test}{_where(document)}: {headline(lead, document.checked_at)}{more}", MAX_FALLBACK_TEXT)


def _buttons(document: AlertDocument) -> list[dict[str, Any]]:
    seen: dict[str, str] = {}
    for alert in document.alerts:
        for link in alert.links:
            if len(link.url) <= MAX_BUTTON_URL:
                seen.setdefault(link.url, link.text)
    return [
        {"type": "button", "text": _plain(text, MAX_BUTTON_TEXT), "url": url}
        for url, text in list(seen.items())[:MAX_ACTIONS]
    ]


def render_alert_document(document: AlertDocument) -> dict[str, Any]:
    """One Block Kit message for one alert document, within Slack's limits."""
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(header_text(document), MAX_HEADER)}]
    buttons = _buttons(document)
    room = MAX_BLOCKS - 2 - (1 if buttons else 0)  # the header, the context and the buttons
    alerts = document.alerts
    single = len(alerts) == 1
    shown = alerts if len(alerts) <= room else alerts[: room - 1]
    for alert in shown:
        text = alert_section_text(alert, document, headline_shown=single)
        if text:
            blocks.append(_section(text))
    if len(shown) < len(alerts):
        blocks.append(_section(f"+{len(alerts) - len(shown)} more"))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    ids = ", ".join(alert.id for alert in alerts[:3]) + (" …" if len(alerts) > 3 else "")
    context = f"Checked {checked(document.checked_at)} · {escape(ids)}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(context, MAX_SECTION)}]})
    return {"text": fallback_text(document), "blocks": blocks}
