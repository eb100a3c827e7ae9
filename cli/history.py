"""``quota-sentinel history PROVIDER/ACCOUNT [METRIC] [--csv]``: the usage samples a metric's forecast keeps.

The samples are the forecast history that ``check`` stores in the account's state item: recent raw samples,
then one an hour, then one a day (see ``shared.history``). ``--csv`` prints ``metric,time,used`` rows.
"""

from __future__ import annotations

import argparse
import csv
import io
import time
from pathlib import Path

from rich import box
from rich.table import Table

from cli.common import ExitStatus, UsageError, display_path, state_lock
from cli.forecast_view import forecast_state, runs_out
from cli.render import Terminal
from local.provision import TABLE_NAME
from local.stack import activated, running_local_stack
from shared.formatting import format_amount
from shared.models import AccountState
from shared.providers import PROVIDER_IDS
from shared.state_store import DynamoStateStore


def parse_target(value: str) -> tuple[str, str]:
    """``flashback/main`` -> (provider, account); the error names what is wrong."""
    provider, slash, account = value.partition("/")
    if not slash or not provider or not account:
        raise UsageError(f"expected PROVIDER/ACCOUNT (for example flashback/main), got {value!r}")
    if provider not in PROVIDER_IDS:
        raise UsageError(f"unknown provider {provider!r}; one of {', '.join(PROVIDER_IDS)}")
    return provider, account


def sample_rows(state: AccountState, metric_id: str | None) -> list[tuple[str, str, float]]:
    """(metric id, ISO time, used) for every kept sample, metric by metric, oldest first."""
    if metric_id is not None and metric_id not in state.metrics:
        known = ", ".join(sorted(state.metrics)) or "none"
        raise UsageError(f"no metric {metric_id!r} in this account; its metrics: {known}")
    rows = []
    for each in sorted(state.metrics) if metric_id is None else [metric_id]:
        forecast = forecast_state(state.metrics[each])
        if forecast is None:
            continue
        rows += [(each, moment.strftime("%Y-%m-%dT%H:%M:%SZ"), used) for moment, used in forecast.history.samples()]
    return rows


def csv_text(rows: list[tuple[str, str, float]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["metric", "time", "used"])
    writer.writerows((metric, moment, f"{used:.10g}") for metric, moment, used in rows)
    return out.getvalue()


def print_history(terminal: Terminal, state: AccountState, metric_id: str | None, as_csv: bool) -> ExitStatus:
    rows = sample_rows(state, metric_id)
    if as_csv:
        terminal.console.file.write(csv_text(rows))
        return ExitStatus.OK
    if not rows:
        terminal.line("No samples kept yet: a forecast history starts with the next successful check.")
        return ExitStatus.OK
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for header in ("METRIC", "TIME (UTC)", "USED"):
        table.add_column(header, no_wrap=True)
    previous = ""
    for metric, moment, used in rows:
        unit = state.metrics[metric].unit
        table.add_row(
            metric if metric != previous else "", moment.replace("T", " ").rstrip("Z"), format_amount(used, unit)
        )
        previous = metric
    terminal.show(table)
    for each in sorted({metric for metric, _, _ in rows}):
        when = runs_out(state.metrics[each], state.checked_at)
        if when:
            terminal.line(f"{each} runs out in {when} at the current rate")
    return ExitStatus.OK


def command_history(args: argparse.Namespace, terminal: Terminal) -> int:
    provider, account = parse_target(args.target)
    state_dir: Path = args.state_dir
    db_path = state_dir / "dynamodb"
    if not any(db_path.glob("*.db")):
        terminal.line(f"No state yet in {display_path(db_path)}: run `quota-sentinel check ...` first.")
        return ExitStatus.UNKNOWN
    with (
        state_lock(state_dir),
        terminal.waiting("Starting DynamoDB Local to read the state ..."),
        running_local_stack(db_path=db_path, with_moto=False) as stack,
        activated(stack),
    ):
        state = DynamoStateStore(TABLE_NAME).load(provider, account, time.time()).state
    if state is None:
        terminal.line(f"No state for {provider}/{account}: run `quota-sentinel check --provider {provider} ...` first.")
        return ExitStatus.UNKNOWN
    return print_history(terminal, state, args.metric, args.csv)
