"""Alerts and quota status as a terminal shows them: email text, Slack Block Kit as plain lines, a table.

Pure functions from documents and payloads to lines; the CLI prints them. Numbers, percentages and
bars come from ``shared.formatting``, the email from ``shared.messages``: what the terminal shows is
what the channels get.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from shared.formatting import format_percent, format_time, format_usage, progress_bar
from shared.messages import REASON_TEXT, email_body, email_subject
from shared.models import AccountState, AlertDocument, Level

_RESET = "\033[0m"
_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "magenta": "35", "cyan": "36"}
_LEVEL_COLOR = {"ok": "green", "warning": "yellow", "critical": "red", "exhausted": "magenta", "failing": "red"}


def wants_color(stream: TextIO, disabled: bool = False) -> bool:
    """ANSI colours only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if disabled or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@dataclass(frozen=True)
class Style:
    color: bool = False

    def paint(self, text: str, *styles: str) -> str:
        if not self.color or not styles or not text:
            return text
        return "\033[" + ";".join(_CODES[name] for name in styles) + "m" + text + _RESET

    def bold(self, text: str) -> str:
        return self.paint(text, "bold")

    def dim(self, text: str) -> str:
        return self.paint(text, "dim")

    def level(self, level: str, text: str | None = None) -> str:
        return self.paint(text if text is not None else level, _LEVEL_COLOR.get(level, "cyan"))


class Console:
    """Where the CLI writes: every line flushed at once, so progress shows while the stack works."""

    def __init__(self, stream: TextIO, style: Style) -> None:
        self.stream = stream
        self.style = style

    def write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def line(self, text: str = "") -> None:
        self.write(text + "\n")

    def lines(self, lines: Iterable[str]) -> None:
        self.write("".join(line + "\n" for line in lines))


def framed(title: str, lines: Iterable[str], style: Style, indent: str = "     ") -> list[str]:
    """A titled block with a rule on its left: ``╭─ title`` then ``│ line`` ... then ``╰─``."""
    rule = style.dim("│")
    out = [f"{indent}{style.dim('╭─')} {title}"]
    out += [f"{indent}{rule} {line}".rstrip() for line in lines]
    out.append(f"{indent}{style.dim('╰─')}")
    return out


# ------------------------------------------------------------------------------------------ email


def email_lines(document: AlertDocument) -> list[str]:
    """The email as SNS sends it: the subject, a blank line, the plain-text body."""
    return [f"Subject: {email_subject(document)}", "", *email_body(document).splitlines()]


# ------------------------------------------------------------------------------------------ Slack

_BOLD = re.compile(r"\*([^*\n]+)\*")
_CODE = re.compile(r"`([^`\n]+)`")
_ITALIC = re.compile(r"(?<!\w)_([^_\n]+)_(?!\w)")


def mrkdwn_to_text(text: str, style: Style) -> str:
    """Slack mrkdwn as a terminal shows it: *bold* bold, `code` and _italic_ plain, entities decoded."""
    text = _CODE.sub(lambda match: match[1], text)
    text = _BOLD.sub(lambda match: style.bold(match[1]), text)
    text = _ITALIC.sub(lambda match: match[1], text)
    return html.unescape(text)


def _block_text(block: dict[str, Any]) -> str:
    text = block.get("text")
    if isinstance(text, dict):
        return str(text.get("text", ""))
    return ""


def slack_lines(payload: dict[str, Any], style: Style) -> list[str]:
    """A Block Kit message (header, sections, context, dividers) as the lines a Slack client shows."""
    blocks = payload.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        return [mrkdwn_to_text(str(payload.get("text", "")), style)]
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "header":
            lines.append(style.bold(_block_text(block)))
        elif kind == "section":
            lines.extend(mrkdwn_to_text(_block_text(block), style).splitlines())
            for field_item in block.get("fields", []) or []:
                lines.append(mrkdwn_to_text(str(field_item.get("text", "")), style))
        elif kind == "context":
            texts = [str(element.get("text", "")) for element in block.get("elements", []) if isinstance(element, dict)]
            lines.append(style.dim(mrkdwn_to_text(" ".join(texts), style)))
        elif kind == "divider":
            lines.append(style.dim("─" * 40))
    return lines


# ------------------------------------------------------------------------------------------ status


@dataclass(frozen=True)
class StatusRow:
    """One line of the status table: a metric, or an account whose last check failed."""

    provider: str
    account: str
    name: str
    level: str  # a Level value, or "failing" for a failed check
    percent: float | None = None
    usage: str = ""
    note: str = ""


def status_rows(provider: str, account: str, state: AccountState) -> list[StatusRow]:
    rows = []
    if state.failure is not None:
        failure = state.failure
        reason = REASON_TEXT.get(failure.reason.value, failure.reason.value)
        rows.append(
            StatusRow(
                provider, account, "Quota check", "failing",
                note=f"{reason}, {failure.consecutive} check(s) since {format_time(failure.since)}",
            )
        )  # fmt: skip
    for metric_id in sorted(state.metrics, key=lambda key: state.metrics[key].name.lower()):
        metric = state.metrics[metric_id]
        rows.append(
            StatusRow(
                provider=provider,
                account=account,
                name=metric.name,
                level=metric.level.value,
                percent=metric.percent,
                usage=format_usage(metric.used, metric.limit, metric.unit),
                note=f"{metric.period}" if metric.period else "",
            )
        )
    return rows


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - len(text))


def status_table(rows: Sequence[StatusRow], style: Style) -> list[str]:
    """Every metric with a usage bar, aligned; colours never change the alignment."""
    headers = ("PROVIDER/ACCOUNT", "METRIC", "USAGE", "", "USED", "LEVEL", "")
    cells = [
        (
            f"{row.provider}/{row.account}",
            row.name,
            progress_bar(row.percent) if row.level != "failing" else "",
            format_percent(row.percent) if row.percent is not None else ("" if row.level == "failing" else "n/a"),
            row.usage,
            row.level,
            row.note,
        )
        for row in rows
    ]
    widths = [max([len(header)] + [len(cell[index]) for cell in cells]) for index, header in enumerate(headers)]
    lines = [style.bold("  ".join(_pad(header, widths[index]) for index, header in enumerate(headers)).rstrip())]
    previous = ""
    for row, cell in zip(rows, cells, strict=True):
        where = cell[0] if cell[0] != previous else ""
        previous = cell[0]
        parts = [
            _pad(where, widths[0]),
            _pad(cell[1], widths[1]),
            style.level(row.level, _pad(cell[2], widths[2])),
            cell[3].rjust(widths[3]),
            _pad(cell[4], widths[4]),
            style.level(row.level, _pad(cell[5], widths[5]) if cell[6] else cell[5]),
            style.dim(cell[6]),
        ]
        lines.append("  ".join(parts).rstrip())
    return lines


def overall_level(states: Iterable[AccountState]) -> tuple[Level, int]:
    """The highest metric level over the accounts, and how many accounts' last check failed."""
    states = list(states)
    levels = [metric.level for state in states for metric in state.metrics.values()]
    failing = sum(state.failure is not None for state in states)
    return max(levels, key=lambda level: level.rank, default=Level.OK), failing
