"""``quota-sentinel simulate`` (``make run``): the whole system on the embedded local stack.

DynamoDB Local, moto server (SNS, SQS, SSM) and a simulator of the five providers' APIs and of one custom
provider's (a JSON endpoint described in data, checked by ``functions/custom/app.py``). The table, the
alert topic, the subscriptions' filter policies and the SSM parameters come from template.yaml's own
definitions; the real handlers (``functions/<provider>/app.py``) run for a number of ticks; every alert is
printed as it arrives (the email text, and Slack as delivered by the real Slack notifier); a status table
ends it. With ``SLACK_WEBHOOK_URL`` set, the notifier posts to that real webhook. Exits 0 when the demo
ran, whatever the simulated quotas say.

The handlers run on a simulated wall clock (``shared.runner.clock``): each tick is half an hour later than the
one before, so a few ticks hold the evidence a forecast needs (6 samples over 2 hours).
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from cli.common import ExitStatus, display_path, slack_target
from cli.delivery import AlertPrinter
from cli.render import Terminal
from cli.status import print_status, read_states
from local.custom_demo import CUSTOM_ACCOUNT, CUSTOM_ID, custom_entry
from local.functions import FunctionRunner, scheduler_event
from local.provision import (
    TABLE_NAME,
    TOPIC_ARN,
    TemplateView,
    ensure_table,
    function_logical_id,
    provision_alert_topic,
    provision_custom_provider,
    provision_notifier,
    provision_provider,
)
from local.simulator import ACCOUNTS, SIMULATED, ProviderSimulator, SlackReceiver, tick_notes
from local.stack import activated, running_local_stack
from shared import runner as provider_runner
from shared.custom import CUSTOM_PROVIDER
from shared.providers import PROVIDER_IDS
from shared.state_store import CUSTOM_PARTITION

TICK_MINUTES = 30  # simulated time between scheduled runs


@dataclass
class SimulatedClock:
    """The demo's wall clock: tick 1 is when the demo started, each later tick TICK_MINUTES on."""

    start: datetime
    tick: int = 1

    def now(self) -> datetime:
        return self.start + timedelta(minutes=TICK_MINUTES * (self.tick - 1))


@contextlib.contextmanager
def handlers_on(clock: SimulatedClock) -> Iterator[None]:
    """Every run in this process reads ``clock`` instead of the wall clock, until the demo ends."""
    previous = provider_runner.clock
    provider_runner.clock = clock.now
    try:
        yield
    finally:
        provider_runner.clock = previous


def _check_summary(provider: str, result: Any) -> list[str | tuple[str, str]]:
    provider = CUSTOM_ID if provider == CUSTOM_PROVIDER else provider
    accounts = result.get("accounts", []) if isinstance(result, dict) else []
    if accounts and all(account.get("ok") for account in accounts):
        metrics = sum(int(account.get("metrics", 0)) for account in accounts)
        return [f"{provider} ", ("✓", "green"), f" {metrics} metric{'s' if metrics != 1 else ''}"]
    reasons = {str(account.get("error") or "failed").split(":", 1)[0] for account in accounts if not account.get("ok")}
    return [f"{provider} ", ("✗", "red"), f" {', '.join(sorted(reasons)) or 'failed'}"]


@dataclass
class SimulatedSystem:
    """Everything simulate started and provisioned."""

    simulator: ProviderSimulator
    environments: dict[str, dict[str, str]]
    timeouts: dict[str, float]
    printer: AlertPrinter
    runner: FunctionRunner


def _provision(
    terminal: Terminal, stack: contextlib.ExitStack, log: TextIO, slack_url: str | None, clock: SimulatedClock
) -> SimulatedSystem:
    keys = {provider: f"sim-{provider}-{secrets.token_hex(12)}" for provider in SIMULATED}
    simulator = stack.enter_context(ProviderSimulator(keys, clock=clock.now))
    terminal.line(
        f"  provider simulator      {simulator.url}/<provider>  the five quota APIs and custom/{CUSTOM_ID}, scripted"
    )
    receiver: SlackReceiver | None = None
    if slack_url is None:
        receiver = stack.enter_context(SlackReceiver())
        terminal.line(f"  Slack webhook receiver  {receiver.webhook_url}  (SLACK_WEBHOOK_URL posts to a real channel)")
    else:
        terminal.line("  Slack                   your SLACK_WEBHOOK_URL (a real channel)")

    import boto3

    template = TemplateView.load({"StateTable": TABLE_NAME, "AlertTopic": TOPIC_ARN})
    terminal.line()
    terminal.line(("Provisioning from template.yaml", "bold"))
    source = ensure_table(boto3.client("dynamodb"))
    terminal.line(
        f"  StateTable              table {TABLE_NAME} ({source if source == 'exists' else 'from ' + source})"
    )
    channels = provision_alert_topic(template)
    for note in channels.notes:
        terminal.line(f"  {note}")
    environments: dict[str, dict[str, str]] = {}
    timeouts: dict[str, float] = {}
    for provider in PROVIDER_IDS:
        logical_id = function_logical_id(provider)
        account = ACCOUNTS[provider]
        environment, parameter, key_parameter = provision_provider(
            template, provider, account, simulator.base_url(provider), keys[provider]
        )
        environments[provider] = environment
        timeouts[provider] = template.function_timeout(logical_id)
        terminal.line(f"  {logical_id:<23} {parameter} → account {account!r}, key in SecureString {key_parameter}")
    key_parameter = f"/quota-sentinel/custom/{CUSTOM_ID}/{CUSTOM_ACCOUNT}"
    entry = custom_entry(simulator.base_url(CUSTOM_PROVIDER), {"ssm": key_parameter})
    environments[CUSTOM_PROVIDER], parameter = provision_custom_provider(
        template, entry, key_parameter, keys[CUSTOM_PROVIDER]
    )
    timeouts[CUSTOM_PROVIDER] = template.function_timeout("CustomFunction")
    terminal.line(
        f"  {'CustomFunction':<23} {parameter} → custom provider {CUSTOM_ID!r} (no code), account {CUSTOM_ACCOUNT!r}, "
        f"key in SecureString {key_parameter}"
    )
    notifier_environment, parameter = provision_notifier(
        template, slack_url or (receiver.webhook_url if receiver else "")
    )
    terminal.line(f"  SlackNotifierFunction   webhook URL in SecureString {parameter}")
    for note in dict.fromkeys(template.notes):
        terminal.line((f"  note: {note}", "dim"))
    runner = FunctionRunner(log)
    printer = AlertPrinter(
        terminal, channels, runner, notifier_environment, template.function_timeout("SlackNotifierFunction"), receiver
    )
    return SimulatedSystem(simulator, environments, timeouts, printer, runner)


def _run_tick(terminal: Terminal, system: SimulatedSystem, clock: SimulatedClock, tick: int, ticks: int) -> None:
    system.simulator.tick = clock.tick = tick
    notes = tick_notes(tick)
    terminal.line()
    terminal.line(
        (f"━━ tick {tick}/{ticks}", "bold"),
        (f" · scheduled run {tick} at {clock.now():%H:%M} UTC (simulated, {TICK_MINUTES} min per tick)", "dim"),
        f" · simulator: {'; '.join(notes)}" if notes else "",
    )  # fmt: skip
    started = time.monotonic()
    parts: list[str | tuple[str, str]] = ["   checks: "]
    with terminal.waiting(f"tick {tick}: running the five provider handlers and the custom one ..."):
        for provider in SIMULATED:
            try:
                result = system.runner.invoke(
                    provider,
                    function_logical_id(provider),
                    scheduler_event(),
                    system.environments[provider],
                    system.timeouts[provider],
                )
                parts += _check_summary(provider, result)
            except Exception as error:  # as Lambda would report it; the next tick runs again
                parts += [f"{provider} ", ("✗", "red"), f" the function raised {type(error).__name__}"]
            parts.append("  " if provider != SIMULATED[-1] else "")
    terminal.line(*parts, (f"   ({time.monotonic() - started:.1f} s)", "dim"))
    system.printer.deliver_pending()


def command_simulate(args: argparse.Namespace, terminal: Terminal) -> int:
    slack_url = slack_target()
    ticks: int = args.ticks
    state_dir: Path = args.state_dir
    started = time.monotonic()
    terminal.line(("Quota Sentinel · the whole system on the embedded local stack", "bold"))
    terminal.line(
        "No AWS account and no real provider: DynamoDB Local, moto server and a provider simulator on loopback."
    )
    terminal.line()
    terminal.line(("Starting", "bold"))
    log_path = state_dir / "logs" / "simulate.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log, contextlib.ExitStack() as stack:
        with terminal.waiting("Starting DynamoDB Local and moto server ..."):
            local = stack.enter_context(running_local_stack())
        dynamodb, moto = local.dynamodb, local.moto
        pid = dynamodb.process.pid if dynamodb.process is not None else "?"
        terminal.line(
            f"  DynamoDB Local          {dynamodb.endpoint}  pid {pid}, in memory, "
            f"ready in {dynamodb.ready_seconds:.1f} s"
        )
        terminal.line(f"  moto server             {moto.endpoint if moto else '-'}  SNS, SQS, SSM")
        stack.enter_context(activated(local))
        clock = SimulatedClock(datetime.now(UTC).replace(second=0, microsecond=0))
        system = _provision(terminal, stack, log, slack_url, clock)
        stack.enter_context(handlers_on(clock))
        terminal.line()
        terminal.line(
            (f"Running the five provider handlers and the custom one for {ticks} ticks", "bold"),
            f" (functions/<provider>/app.py, functions/custom/app.py; function logs in {display_path(log_path)})",
        )
        for tick in range(1, ticks + 1):
            _run_tick(terminal, system, clock, tick, ticks)
        terminal.line()
        terminal.line((f"Status · every metric in DynamoDB table {TABLE_NAME}", "bold"))
        states = read_states(PROVIDER_IDS) | read_states([CUSTOM_ID], CUSTOM_PARTITION)
        print_status(terminal, states, set())
        delivery = system.printer.delivery
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(delivery.kinds.items()))
        terminal.line(
            f"Alerts: {delivery.messages} messages, {sum(delivery.kinds.values())} alerts ({kinds}) "
            f"from {len(delivery.providers)} providers ({', '.join(sorted(delivery.providers))})"
        )
        terminal.line(
            f"Slack: {delivery.slack_delivered} delivered, {delivery.slack_duplicates} duplicates skipped, "
            f"{delivery.slack_failed} failed"
        )
        terminal.write("Stopping the provider simulator, the Slack receiver, moto server and DynamoDB Local ... ")
    terminal.line(f"stopped. Done in {time.monotonic() - started:.0f} s.")
    return ExitStatus.OK
