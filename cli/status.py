"""``quota-sentinel status``: the last state of every metric that ``check`` has seen, and the plugin verdict.

The first line is the monitoring-plugin status line with perfdata (Nagios and Icinga read only the first
line); the table follows. ``--json`` prints the same as one JSON document for scripts.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from cli.common import ExitStatus, display_path, state_lock
from cli.render import StatusRow, Terminal, level_text, overall_level, status_rows, status_table
from local.provision import TABLE_NAME
from local.stack import activated, running_local_stack
from shared.models import AccountState, Level
from shared.providers import PROVIDER_IDS
from shared.state_store import PROVIDER_PARTITION, DynamoStateStore, StateStoreError

# (provider, account, metric id) -> (warning, critical) percent, for the perfdata.
Thresholds = Callable[[str, str, str], tuple[float, float]]

_STATUS_LEVEL = {
    ExitStatus.OK: "ok",
    ExitStatus.WARNING: "warning",
    ExitStatus.CRITICAL: "critical",
    ExitStatus.UNKNOWN: "failing",
}


def default_thresholds(environ: Mapping[str, str] = os.environ) -> Thresholds:
    """The thresholds a function uses without per-account ones: WARNING_PERCENT and CRITICAL_PERCENT or 80/95."""

    def number(name: str, default: float) -> float:
        try:
            return float(environ.get(name, default))
        except ValueError:
            return default

    warning, critical = number("WARNING_PERCENT", 80), number("CRITICAL_PERCENT", 95)
    return lambda provider, account, metric_id: (warning, critical)


def plugin_status(states: Iterable[AccountState], failed_accounts: int) -> ExitStatus:
    """Critical wins; then a failed check (unknown); then warning; else ok."""
    level, _ = overall_level(states)
    if level in (Level.CRITICAL, Level.EXHAUSTED):
        return ExitStatus.CRITICAL
    if failed_accounts:
        return ExitStatus.UNKNOWN
    return ExitStatus.WARNING if level is Level.WARNING else ExitStatus.OK


def _label(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def perfdata(states: Mapping[tuple[str, str], AccountState], thresholds: Thresholds) -> str:
    """``'flashback/main EGRESS_MONTHLY_BYTES'=97%;80;95;0;100`` for every metric with a percentage, sorted."""
    items = []
    for (provider, account), state in sorted(states.items()):
        for metric_id, metric in sorted(state.metrics.items()):
            if metric.percent is None:
                continue
            warning, critical = thresholds(provider, account, metric_id)
            items.append(
                f"{_label(f'{provider}/{account} {metric_id}')}={round(metric.percent, 2):g}%;"
                f"{warning:g};{critical:g};0;100"
            )
    return " ".join(items)


def plugin_line(status: ExitStatus, rows: Sequence[StatusRow], failed_accounts: int, perf: str = "") -> str:
    """The first line a monitoring system reads: ``QUOTA WARNING - ... | perfdata``."""
    above = [row for row in rows if row.level not in ("ok", "failing")]
    metrics = sum(row.level != "failing" for row in rows)
    parts = [f"{len(above)} of {metrics} metric(s) above ok"]
    if above:
        worst = sorted(above, key=lambda row: (-Level(row.level).rank, row.where, row.name))[:3]
        parts.append(", ".join(f"{row.where} {row.name} {row.level}" for row in worst))
    if failed_accounts:
        parts.append(f"{failed_accounts} check(s) failing")
    line = f"QUOTA {status.name} - " + "; ".join(parts)
    return f"{line} | {perf}" if perf else line


def print_status(
    terminal: Terminal,
    states: Mapping[tuple[str, str], AccountState],
    failed: set[tuple[str, str]],
    thresholds: Thresholds | None = None,
    as_json: bool = False,
) -> ExitStatus:
    """The plugin line first, then the table (or one JSON document); returns the exit status."""
    rows = [row for (provider, account), state in states.items() for row in status_rows(provider, account, state)]
    failing = {key for key, state in states.items() if state.failure is not None} | failed
    status = plugin_status(states.values(), len(failing))
    line = plugin_line(status, rows, len(failing), perfdata(states, thresholds or default_thresholds()))
    if as_json:
        rows.sort(key=lambda r: (r.provider, r.account, r.level != "failing", r.name.lower(), r.metric_id))
        document = {
            "status": status.name,
            "exit_code": int(status),
            "summary": line,
            "failing_accounts": sorted(f"{provider}/{account}" for provider, account in failing),
            "metrics": [row.as_json() for row in rows],
        }
        terminal.console.file.write(json.dumps(document, indent=2) + "\n")
        return status
    terminal.line(level_text(_STATUS_LEVEL[status], line))
    if rows:
        terminal.show(status_table(rows))
        terminal.line()
    return status


def read_states(
    providers: Iterable[str], partition_prefix: str = PROVIDER_PARTITION, table_name: str = TABLE_NAME
) -> dict[tuple[str, str], AccountState]:
    """The state of every account of ``providers`` (custom providers: their ids, with ``custom#``)."""
    store = DynamoStateStore(table_name, partition_prefix=partition_prefix)
    now = time.time()
    states = {}
    for provider in providers:
        for account, state in sorted(store.list_accounts(provider, now).items()):
            states[(provider, account)] = state
    return states


def _unknown(terminal: Terminal, message: str, as_json: bool) -> ExitStatus:
    """Nothing to judge: exit 3, with the reason as the plugin line (or the JSON summary)."""
    if as_json:
        terminal.console.file.write(json.dumps({"status": "UNKNOWN", "exit_code": 3, "summary": message}) + "\n")
    else:
        terminal.line(f"QUOTA UNKNOWN - {message}")
    return ExitStatus.UNKNOWN


def _deployed_status(args: argparse.Namespace, terminal: Terminal, providers: list[str]) -> int:
    """``status --table NAME``: a deployed stack's table, read (Query only) with the user's AWS credentials."""
    try:
        with terminal.waiting(f"Reading DynamoDB table {args.table} ..."):
            states = read_states(providers, table_name=args.table)
    except StateStoreError as error:
        return _unknown(terminal, f"Could not read table {args.table}: {error}", args.json)
    if not states:
        return _unknown(terminal, f"No account state in table {args.table} yet.", args.json)
    return print_status(terminal, states, set(), as_json=args.json)


def command_status(args: argparse.Namespace, terminal: Terminal) -> int:
    state_dir: Path = args.state_dir
    db_path = state_dir / "dynamodb"
    as_json: bool = args.json
    if args.table:
        return _deployed_status(args, terminal, [args.provider] if args.provider else list(PROVIDER_IDS))
    if not any(db_path.glob("*.db")):
        return _unknown(
            terminal, f"No state yet in {display_path(db_path)}: run `quota-sentinel check ...` first.", as_json
        )
    providers = [args.provider] if args.provider else list(PROVIDER_IDS)
    with (
        state_lock(state_dir),
        terminal.waiting("Starting DynamoDB Local to read the state ..."),
        running_local_stack(db_path=db_path, with_moto=False) as stack,
        activated(stack),
    ):
        states = read_states(providers)
    if not states:
        return _unknown(
            terminal, f"No accounts checked yet{' for ' + args.provider if args.provider else ''}.", as_json
        )
    return print_status(terminal, states, set(), as_json=as_json)
