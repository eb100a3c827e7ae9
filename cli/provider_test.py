"""``quota-sentinel provider test FILE [--account NAME]``: one custom provider entry against its API, once.

It prints the raw answer (capped, the key redacted), every metric the entry extracts with its level under
the account's thresholds, and the reason an error maps to (an ``errors`` rule or the status code). Nothing
is stored or published. A bad entry prints the configuration error, naming the field, and exits 3.
Exit codes otherwise follow ``check``: 0 ok, 1 warning, 2 critical or exhausted, 3 a failed check.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from cli.common import CliError, ExitStatus
from cli.render import Terminal, level_text
from shared.config import AccountConfig, AccountPolicy, ConfigError, Policy
from shared.custom import ProviderEntry, adapter_for, validate_entry
from shared.evaluation import level_for
from shared.formatting import format_percent, format_usage
from shared.http import HttpResult, ProviderHttpClient, redact
from shared.key_references import describe_key
from shared.models import Level, ProviderError, QuotaMetric
from shared.providers import interpret
from shared.secrets import SecretUnavailable, read_api_key
from shared.wording.words import when

RAW_ANSWER_CHARS = 2000
RUN_SECONDS = 30.0

_EXIT_FOR_LEVEL = {
    Level.OK: ExitStatus.OK,
    Level.WARNING: ExitStatus.WARNING,
    Level.CRITICAL: ExitStatus.CRITICAL,
    Level.EXHAUSTED: ExitStatus.CRITICAL,
}


def read_entry(path: Path) -> ProviderEntry:
    """The entry in ``path``, validated; errors name the file and the field, never a value."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"provider file {path}: not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"provider file {path}: cannot be read ({type(error).__name__})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(f"{path}: not valid JSON (line {error.lineno}, column {error.colno})") from None
    except RecursionError:
        raise CliError(f"{path}: JSON nested too deeply") from None
    if isinstance(data, list):  # a CUSTOM_PROVIDERS list of one entry is accepted as well
        if len(data) != 1:
            raise CliError(f"{path}: holds {len(data)} entries; put the one to test in a file of its own")
        data = data[0]
    try:
        return validate_entry(data, str(path))
    except ConfigError as error:
        raise CliError(f"configuration error: {error}") from None


def _account(entry: ProviderEntry, name: str | None, path: Path) -> tuple[int, AccountConfig]:
    if name is None:
        return 0, entry.accounts[0]
    for index, account in enumerate(entry.accounts):
        if account.name == name:
            return index, account
    names = ", ".join(account.name for account in entry.accounts)
    raise CliError(f"{path}: no account named {name!r} (accounts: {names})")


def _raw_answer(result: HttpResult, secrets: list[str]) -> str:
    text = redact(result.text, secrets)
    if result.body is not None:
        text = redact(json.dumps(result.body, indent=2, ensure_ascii=False), secrets)
    if len(text) > RAW_ANSWER_CHARS:
        return text[:RAW_ANSWER_CHARS] + f"\n... ({len(text) - RAW_ANSWER_CHARS} more characters not shown)"
    return text or "(empty body)"


def _metric_line(terminal: Terminal, metric: QuotaMetric, level: Level) -> None:
    usage = format_usage(metric.used, metric.limit, metric.unit)
    percent = f" ({format_percent(metric.percent)})" if metric.limit is not None else ""
    extras = [f"period {metric.period}"] if metric.period else []
    if metric.resets_at is not None:
        extras.append(f"resets {when(metric.resets_at, datetime.now(UTC))}")
    tail = f"; {', '.join(extras)}" if extras else ""
    terminal.line("  ", level_text(level.value, f"{level.value:<9}"), f" {metric.metric_id}: {metric.name}")
    terminal.line(f"            {usage}{percent}{tail}")


def _failure(terminal: Terminal, error: ProviderError, rule_matched: bool) -> int:
    status = f"HTTP {error.status}, " if error.status is not None else ""
    source = "an errors rule" if rule_matched else "the status code rules" if error.status else "the client"
    terminal.line(level_text("critical", "Check failed"), f": reason {error.reason.value} ({status}by {source})")
    terminal.line(f"  {error.message}")
    return ExitStatus.UNKNOWN


def provider_test(
    path: Path, account_name: str | None, terminal: Terminal, environ: Mapping[str, str] | None = None
) -> int:
    entry = read_entry(path)
    index, account = _account(entry, account_name, path)
    env = dict(os.environ if environ is None else environ)
    location = f"{path}.accounts[{index}]"
    label = describe_key(account.api_key, entry.id, location, entry.ssm_prefix().strip("/"))
    try:
        api_key = read_api_key(account.api_key, env.get, label)
    except SecretUnavailable as error:
        raise CliError(str(error)) from None
    base_url = account.base_url or entry.request.default_base_url
    assert base_url is not None  # the entry's validation guarantees one
    adapter = adapter_for(entry)
    policy = Policy().for_account(account, location)
    secrets = [api_key.get_secret_value()]
    url = base_url.rstrip("/") + adapter.endpoint_path
    terminal.line(f"Provider {entry.id} ({entry.name}), account {account.name}")
    terminal.line(f"GET {url}" + (f" with query {dict(entry.request.query)}" if entry.request.query else ""))

    client = ProviderHttpClient()
    deadline = client.clock() + RUN_SECONDS
    try:
        result = client.get(url, adapter.request_headers(api_key), adapter.query_params(), deadline, secrets)
    except ProviderError as error:
        return _failure(terminal, error, rule_matched=False)
    terminal.line(f"Answer: HTTP {result.status}, {result.content_type or 'no content type'}")
    terminal.line(_raw_answer(result, secrets))
    terminal.line("")
    try:
        metrics = interpret(adapter, result, secrets)
    except ProviderError as error:
        rule_matched = adapter.matched_error(result.body) is not None or (
            not 200 <= result.status < 300 and adapter.classify_error(result.status, result.body) is not None
        )
        return _failure(terminal, error, rule_matched)
    return _print_metrics(terminal, metrics, policy)


def _print_metrics(terminal: Terminal, metrics: list[QuotaMetric], policy: AccountPolicy) -> int:
    terminal.line(f"{len(metrics)} metric(s) extracted:" if metrics else "No metrics extracted (an empty answer).")
    worst = Level.OK
    for metric in metrics:
        if metric.metric_id in policy.ignore:
            terminal.line("  ", level_text("ok", "ignored  "), f" {metric.metric_id}")
            continue
        if metric.limit == 0:
            terminal.line("  ", level_text("ok", "skipped  "), f" {metric.metric_id}: limit 0 (not in the plan)")
            continue
        warning, critical = policy.thresholds_for(metric.metric_id)
        level = level_for(metric, Level.OK, warning, critical, policy.base.hysteresis_percent)
        worst = max(worst, level, key=lambda item: item.rank)
        _metric_line(terminal, metric, level)
    return int(_EXIT_FOR_LEVEL[worst])


def command_provider_test(args: argparse.Namespace, terminal: Terminal) -> int:
    started = time.monotonic()
    status = provider_test(args.file, args.account, terminal)
    terminal.line(f"(one request, {time.monotonic() - started:.1f} s; nothing stored or published)")
    return status
