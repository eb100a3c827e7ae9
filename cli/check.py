"""``quota-sentinel check``: one provider's handler against its real API, keys from environment variables.

State is kept in a file-backed DynamoDB Local under ``--state-dir``, so a second check alerts on changes
only and ``status`` shows it. ``--dry-run`` keeps and publishes nothing: it prints the alerts a first check
would send. The functions' logs go to ``<state-dir>/logs/check.log``, rotated.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from cli.common import CliError, RotatingLog, display_path, slack_target, state_lock
from cli.delivery import AlertPrinter, print_document_offline
from cli.render import Terminal, level_text
from cli.status import Thresholds, print_status
from local.functions import CONTRACT_SOURCES, FunctionRunner, LocalContext, captured_output, scheduler_event
from local.provision import (
    TABLE_NAME,
    TOPIC_ARN,
    TemplateView,
    ensure_table,
    function_logical_id,
    provision_alert_topic,
    provision_notifier,
)
from local.simulator import SlackReceiver
from local.stack import activated, running_local_stack
from shared.config import AccountConfig, AccountPolicy, ConfigError, load_provider_settings, parse_accounts
from shared.key_references import EnvKey
from shared.models import AccountState, AlertDocument
from shared.providers import get_adapter
from shared.state_store import DynamoStateStore

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def read_accounts_file(path: Path) -> tuple[str, list[AccountConfig]]:
    """The accounts file's text and its validated accounts; errors name the file and the field."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise CliError(f"accounts file {path}: not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"accounts file {path}: cannot be read ({type(error).__name__})") from None
    try:
        return text, parse_accounts(text, str(path))
    except ConfigError as error:
        raise CliError(str(error)) from None


def validate_check(
    provider: str, path: Path, accounts: list[AccountConfig], environ: Mapping[str, str]
) -> dict[str, AccountPolicy]:
    """What the handler would only find out per account, told up front: keys, base URLs, thresholds.

    Returns each account's thresholds, for the perfdata.
    """
    adapter = get_adapter(provider)
    try:
        settings = load_provider_settings(environ)
    except ConfigError as error:
        raise CliError(str(error)) from None
    policies = {}
    for index, account in enumerate(accounts):
        where = f"{path}[{index}] ({account.name})"
        key = account.api_key
        if not isinstance(key, EnvKey):
            raise CliError(
                f"{where}.api_key: a local check reads the key from an environment variable; "
                f'use {{"env": "VARIABLE"}} (ssm and secret keys are for the deployed functions)'
            )
        if not environ.get(key.env, "").strip():
            raise CliError(
                f"{where}: the API key is read from the environment variable {key.env}, which is not set. "
                f"Set it first, e.g. `export {key.env}=...`"
            )
        if account.base_url is None and adapter.default_base_url is None:
            raise CliError(f"{where}.base_url: required for provider {provider} (your portal URL, https://...)")
        try:
            policies[account.name] = settings.policy.for_account(account, f"{path}[{index}]")
        except ConfigError as error:
            raise CliError(str(error)) from None
    return policies


def check_environment(text: str) -> dict[str, str]:
    """The handler's environment: the user's (API key and threshold variables) with the accounts file.

    AWS variables are left out: the local stack sets its own, and a stale endpoint must not win.
    """
    environ = {
        name: value
        for name, value in os.environ.items()
        if name not in CONTRACT_SOURCES and not name.startswith("AWS_")
    }
    return environ | {"STATE_TABLE_NAME": TABLE_NAME, "ALERT_TOPIC_ARN": TOPIC_ARN, "ACCOUNTS": text}


def print_run_summary(terminal: Terminal, provider: str, summary: Any) -> set[tuple[str, str]]:
    """One line per account; returns the accounts whose check failed in this run."""
    failed = set()
    for account in summary.get("accounts", []) if isinstance(summary, dict) else []:
        name = str(account.get("account"))
        if account.get("ok"):
            terminal.line(
                f"  {provider}/{name}: ",
                level_text("ok", "✓"),
                f" {account.get('metrics')} metric(s), {account.get('alerts')} alert(s)",
            )
            for warning in account.get("warnings", []):  # e.g. a metric id in thresholds that the provider lacks
                terminal.line("    ", level_text("warning", "warning"), f": {warning}")
        else:
            failed.add((provider, name))
            terminal.line(
                f"  {provider}/{name}: ", level_text("critical", "✗"), f" check failed: {account.get('error')}"
            )
    return failed


def _thresholds(policies: Mapping[str, AccountPolicy]) -> Thresholds:
    def thresholds(provider: str, account: str, metric_id: str) -> tuple[float, float]:
        return policies[account].thresholds_for(metric_id)

    return thresholds


def _dry_run(
    terminal: Terminal, provider: str, environ: dict[str, str], log: TextIO
) -> tuple[dict[tuple[str, str], AccountState], set[tuple[str, str]], list[AlertDocument]]:
    from shared.in_memory import MemoryPublisher, MemoryStateStore
    from shared.observability import metrics
    from shared.runner import Dependencies, run_provider

    store, publisher = MemoryStateStore(), MemoryPublisher()  # nothing kept: evaluated as a first check
    context = LocalContext(function_name=function_logical_id(provider))
    try:
        with captured_output(log):
            summary = run_provider(
                provider,
                scheduler_event(),
                cast("LambdaContext", context),
                dependencies=Dependencies(store=store, publisher=publisher),
                environ=environ,
            )
    except ConfigError as error:
        raise CliError(str(error)) from None
    finally:
        metrics.clear_metrics()
    failed = print_run_summary(terminal, provider, summary)
    states = {(provider, name): state for name, state in store.list_accounts(provider, time.time()).items()}
    return states, failed, publisher.documents


def _real_check(
    terminal: Terminal,
    provider: str,
    environ: dict[str, str],
    accounts: list[AccountConfig],
    state_dir: Path,
    log: TextIO,
) -> tuple[dict[tuple[str, str], AccountState], set[tuple[str, str]]]:
    slack_url = slack_target()
    with state_lock(state_dir, terminal.console.file), contextlib.ExitStack() as stack:
        with terminal.waiting("Starting DynamoDB Local and moto server ..."):
            local = stack.enter_context(running_local_stack(db_path=state_dir / "dynamodb"))
            stack.enter_context(activated(local))
        receiver: SlackReceiver | None = None
        if slack_url is None:
            receiver = stack.enter_context(SlackReceiver())
        template = TemplateView.load({"StateTable": TABLE_NAME, "AlertTopic": TOPIC_ARN})
        terminal.line(("Provisioning from template.yaml", "bold"))
        source = ensure_table(_client("dynamodb"))
        terminal.line(
            f"  StateTable              table {TABLE_NAME} ({source if source == 'exists' else 'from ' + source})"
        )
        channels = provision_alert_topic(template)
        for note in channels.notes:
            terminal.line(f"  {note}")
        notifier_environment, parameter = provision_notifier(
            template, slack_url or (receiver.webhook_url if receiver else "")
        )
        terminal.line(f"  SlackNotifierFunction   webhook URL in SecureString {parameter}")
        runner = FunctionRunner(log)
        printer = AlertPrinter(
            terminal,
            channels,
            runner,
            notifier_environment,
            template.function_timeout("SlackNotifierFunction"),
            receiver,
        )
        logical_id = function_logical_id(provider)
        powertools = {k: v for k, v in template.function_environment(logical_id).items() if k.startswith("POWERTOOLS_")}
        try:
            with terminal.waiting(f"Checking {provider} against its real API ..."):
                summary = runner.invoke(
                    provider,
                    logical_id,
                    scheduler_event(),
                    {**powertools, **environ},
                    template.function_timeout(logical_id),
                )
        except ConfigError as error:
            raise CliError(str(error)) from None
        except Exception as error:  # RunFailed and the like: state or alerts could not be kept
            path = getattr(log, "path", None)
            where = f" (details in {display_path(path)})" if isinstance(path, Path) else ""
            raise CliError(f"the {provider} run failed: {error}{where}") from None
        failed = print_run_summary(terminal, provider, summary)
        printer.deliver_pending()
        store = DynamoStateStore(TABLE_NAME)
        now = time.time()
        states = {}
        for account in accounts:
            state = store.load(provider, account.name, now).state
            if state is not None:
                states[(provider, account.name)] = state
        return states, failed


def _client(service: str) -> Any:
    import boto3

    return boto3.client(service)  # type: ignore[call-overload]


def command_check(args: argparse.Namespace, terminal: Terminal) -> int:
    """The plugin line first when piped (a monitoring system reads only the first line), then the table,
    then what happened on the way. On a terminal the progress shows as it happens, the verdict last.
    """
    provider: str = args.provider
    path: Path = args.accounts
    as_json: bool = args.json
    text, accounts = read_accounts_file(path)
    environ = check_environment(text)
    policies = validate_check(provider, path, accounts, environ)
    state_dir: Path = args.state_dir
    buffer = io.StringIO()
    details = terminal if terminal.interactive and not as_json else Terminal(buffer, no_color=terminal.no_color)
    with RotatingLog(state_dir / "logs" / "check.log") as rotating:
        log = cast("TextIO", rotating)
        if args.dry_run:
            details.line((f"Checking {provider} against its real API (dry run: nothing sent or kept)", "bold"))
            states, failed, documents = _dry_run(details, provider, environ, log)
            for document in documents:
                print_document_offline(details, document)
        else:
            details.line((f"Checking {provider} against its real API; state in {display_path(state_dir)}", "bold"))
            states, failed = _real_check(details, provider, environ, accounts, state_dir, log)
    status = print_status(terminal, states, failed, _thresholds(policies), as_json=as_json)
    if details is not terminal and not as_json:
        terminal.console.file.write("\n" + buffer.getvalue())
    return status
