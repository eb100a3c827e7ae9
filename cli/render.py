"""What the terminal shows, with rich: alerts as email and Slack show them, the status table, progress.

Numbers, percentages and bars come from ``shared.formatting``, the words from ``shared.wording``: what the
terminal shows is what the channels get. rich measures cells, so emoji and wide characters stay aligned;
it writes no colour when the output is not a terminal or when ``NO_COLOR`` is set.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from rich import box
from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cli.forecast_view import runs_out, segment_sparkline
from shared.formatting import format_percent, format_usage, progress_bar
from shared.models import AccountState, AlertDocument, Level
from shared.wording.email import email_body, email_subject
from shared.wording.words import ACCOUNT_CHECK, failing_note, metric_title

LEVEL_STYLE = {"ok": "green", "warning": "yellow", "critical": "red", "exhausted": "magenta", "failing": "red"}
# Wide enough for the status table when the output is a file or a pipe (rich would assume 80 columns).
PIPE_WIDTH = 200


class Terminal:
    """Where the CLI writes: a rich console, flushed line by line so progress shows while the stack works."""

    def __init__(self, stream: TextIO, no_color: bool = False) -> None:
        isatty = getattr(stream, "isatty", None)
        is_terminal = bool(isatty and isatty())
        self.console = Console(
            file=stream,
            no_color=no_color or None,
            color_system="auto" if not no_color else None,
            highlight=False,
            emoji=False,
            width=None if is_terminal else PIPE_WIDTH,
        )
        self.interactive = is_terminal
        self.no_color = no_color

    def line(self, *parts: str | Text | tuple[str, str]) -> None:
        """One line from plain strings, Texts and (text, style) pairs; nothing is read as markup."""
        self.console.print(Text.assemble(*parts), markup=False, soft_wrap=True)

    def write(self, *parts: str | Text | tuple[str, str]) -> None:
        """The same, without the line break (a line told in steps)."""
        self.console.print(Text.assemble(*parts), markup=False, end="", soft_wrap=True)
        self.console.file.flush()

    def show(self, renderable: RenderableType) -> None:
        if self.interactive:
            self.console.print(renderable)
            return
        # Piped or to a file: the same cells, without the padding rich adds to the right of each line.
        with self.console.capture() as captured:
            self.console.print(renderable)
        self.console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))

    @contextmanager
    def waiting(self, message: str) -> Iterator[None]:
        """A spinner while something slow runs (a terminal only; a pipe gets nothing)."""
        if not self.interactive:
            yield
            return
        with self.console.status(message, spinner="dots"):
            yield


def level_text(level: str, text: str | None = None) -> Text:
    return Text(text if text is not None else level, style=LEVEL_STYLE.get(level, "cyan"))


def framed(title: str, lines: Iterable[str | Text]) -> Padding:
    """A titled panel around the lines of an email or a Slack message, indented under its arrival line."""
    body = Text("\n").join(line if isinstance(line, Text) else Text(line) for line in lines)
    panel = Panel(body, title=title, title_align="left", box=box.ROUNDED, expand=False, padding=(0, 1))
    return Padding(panel, (0, 0, 0, 5), expand=False)


# ------------------------------------------------------------------------------------------ email


def email_lines(document: AlertDocument) -> list[str]:
    """The email as SNS sends it: the subject, a blank line, the plain-text body."""
    return [f"Subject: {email_subject(document)}", "", *email_body(document).splitlines()]


# ------------------------------------------------------------------------------------------ Slack

_BOLD = re.compile(r"\*([^*\n]+)\*")
_CODE = re.compile(r"`([^`\n]+)`")
_ITALIC = re.compile(r"(?<!\w)_([^_\n]+)_(?!\w)")


def mrkdwn_to_text(text: str) -> Text:
    """Slack mrkdwn as a terminal shows it: *bold* bold, `code` and _italic_ plain, entities decoded."""
    text = _CODE.sub(lambda match: match[1], text)
    text = _ITALIC.sub(lambda match: match[1], text)
    out = Text()
    position = 0
    for match in _BOLD.finditer(text):
        out.append(html.unescape(text[position : match.start()]))
        out.append(html.unescape(match[1]), style="bold")
        position = match.end()
    out.append(html.unescape(text[position:]))
    return out


def _block_text(block: dict[str, Any]) -> str:
    text = block.get("text")
    if isinstance(text, dict):
        return str(text.get("text", ""))
    return ""


def slack_lines(payload: dict[str, Any]) -> list[Text]:
    """A Block Kit message (header, sections, buttons, context, dividers) as the lines a Slack client shows."""
    blocks = payload.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        return [mrkdwn_to_text(str(payload.get("text", "")))]
    lines: list[Text] = []
    for block in blocks:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "header":
            lines.append(Text(_block_text(block), style="bold"))
        elif kind == "section":
            lines.extend(mrkdwn_to_text(_block_text(block)).split("\n"))
            for field_item in block.get("fields", []) or []:
                lines.append(mrkdwn_to_text(str(field_item.get("text", ""))))
        elif kind == "context":
            texts = [str(element.get("text", "")) for element in block.get("elements", []) if isinstance(element, dict)]
            context = mrkdwn_to_text(" ".join(texts))
            context.stylize("dim")
            lines.append(context)
        elif kind == "actions":
            buttons = [element for element in block.get("elements", []) if isinstance(element, dict)]
            lines.append(Text("  ".join(f"[{_block_text(button)}] {button.get('url', '')}" for button in buttons)))
        elif kind == "divider":
            lines.append(Text("─" * 40, style="dim"))
    return lines


# ------------------------------------------------------------------------------------------ status


@dataclass(frozen=True)
class StatusRow:
    """One line of the status table: a metric, or an account whose last check failed."""

    provider: str
    account: str
    name: str
    level: str  # a Level value, or "failing" for a failed check
    metric_id: str = ""
    percent: float | None = None
    usage: str = ""
    note: str = ""
    checked_at: datetime | None = None
    runs_out: str = ""  # when it runs out at the current rate, from the forecast state
    trend: str = ""  # a sparkline of the current segment

    @property
    def where(self) -> str:
        return f"{self.provider}/{self.account}"

    def as_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "account": self.account,
            "metric": self.metric_id or None,
            "name": self.name,
            "level": self.level,
            "percent": self.percent,
            "usage": self.usage,
            "note": self.note,
            "last_checked": self.checked_at.isoformat() if self.checked_at else None,
            "runs_out": self.runs_out or None,
            "trend": self.trend or None,
        }


def status_rows(provider: str, account: str, state: AccountState) -> list[StatusRow]:
    """The account's failure (if its last check failed), then its metrics by name."""
    rows = []
    checked = state.checked_at
    if state.failure is not None:
        failure = state.failure
        rows.append(
            StatusRow(
                provider, account, ACCOUNT_CHECK, "failing", checked_at=checked,
                note=failing_note(failure.reason, failure.consecutive, failure.since),
            )
        )  # fmt: skip
    for metric_id in sorted(state.metrics, key=lambda key: (state.metrics[key].name.lower(), key)):
        metric = state.metrics[metric_id]
        rows.append(
            StatusRow(
                provider=provider,
                account=account,
                name=metric_title(metric.name),
                level=metric.level.value,
                metric_id=metric_id,
                percent=metric.percent,
                usage=format_usage(metric.used, metric.limit, metric.unit),
                note=f"{metric.period}" if metric.period else "",
                checked_at=checked,
                runs_out=runs_out(metric, checked),
                trend=segment_sparkline(metric),
            )
        )
    return rows


def _checked(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else "never"


def status_table(rows: Sequence[StatusRow]) -> Table:
    """Every metric with a usage bar; rows sorted by provider, account, then failure and metric name."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for header, justify in (
        ("PROVIDER/ACCOUNT", "left"), ("METRIC", "left"), ("USAGE", "left"), ("", "right"), ("USED", "left"),
        ("LEVEL", "left"), ("TREND", "left"), ("RUNS OUT (UTC)", "left"), ("LAST CHECKED (UTC)", "left"),
        ("", "left"),
    ):  # fmt: skip
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    previous = ""
    for row in sorted(rows, key=lambda r: (r.provider, r.account, r.level != "failing", r.name.lower(), r.metric_id)):
        failing = row.level == "failing"
        percent = format_percent(row.percent) if row.percent is not None else ("" if failing else "n/a")
        table.add_row(
            row.where if row.where != previous else "",
            row.name,
            level_text(row.level, progress_bar(row.percent) if not failing else ""),
            percent,
            row.usage,
            level_text(row.level),
            Text(row.trend, style="dim"),
            row.runs_out,
            _checked(row.checked_at),
            Text(row.note, style="dim"),
        )
        previous = row.where
    return table


def overall_level(states: Iterable[AccountState]) -> tuple[Level, int]:
    """The highest metric level over the accounts, and how many accounts' last check failed."""
    states = list(states)
    levels = [metric.level for state in states for metric in state.metrics.values()]
    failing = sum(state.failure is not None for state in states)
    return max(levels, key=lambda level: level.rank, default=Level.OK), failing
