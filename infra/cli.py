"""Quota Sentinel from the command line: the local demo, checks against the real provider APIs, the status.

    python -m infra.cli simulate [--ticks N]
    python -m infra.cli check --provider flashback --accounts accounts.json [--dry-run]
    python -m infra.cli status [--provider flashback]

``simulate`` runs the whole system on the embedded local stack: DynamoDB Local, moto server (SNS,
SQS, SSM) and a simulator of the five providers' APIs. It provisions the table, the alert topic,
the subscriptions' filter policies and the SSM parameters from template.yaml's own definitions,
runs the real handlers (``functions/<provider>/app.py``) for a number of ticks, prints every alert
as it arrives (the email text, and Slack as delivered by the real Slack notifier), and ends with a
status table. With ``SLACK_WEBHOOK_URL`` set, the notifier posts to that real webhook.

``check`` runs one provider's handler against its real API, with the API keys in environment
variables (``{"env": "VAR"}`` in the accounts file). Its state is kept in a file-backed DynamoDB
Local under ``.local/`` (``--state-dir``), so a second check alerts only on changes, and ``status``
shows it. ``--dry-run`` keeps nothing and publishes nothing: it prints the alerts a first check
would send.

Exit codes follow the monitoring-plugin convention: 0 ok, 1 warning, 2 critical or exhausted,
3 unknown (a failed check, a configuration error or a usage error). ``simulate`` exits 0 when the
demo ran, whatever the simulated quotas say.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.util
import io
import json
import logging
import os
import secrets
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, cast

from infra.local_stack import (
    REPO_ROOT,
    DynamoDBLocal,
    MotoServer,
    create_table_from_template,
    load_template,
)
from infra.simulator import ACCOUNTS, TICKS, ProviderSimulator, SlackReceiver, tick_notes
from infra.template import ACCOUNT_ID, REGION, Resolver, Unresolved
from infra.terminal import (
    Console,
    StatusRow,
    Style,
    email_lines,
    framed,
    overall_level,
    slack_lines,
    status_rows,
    status_table,
    wants_color,
)
from shared.config import AccountConfig, ConfigError, EnvKey, load_provider_settings, parse_accounts, validate_base_url
from shared.models import AccountState, AlertDocument, Level
from shared.providers import PROVIDER_IDS, get_adapter
from shared.state_store import StateStore

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

DEFAULT_STATE_DIR = REPO_ROOT / ".local"
TABLE_NAME = "quota-sentinel-state"
TOPIC_NAME = "quota-sentinel-alerts"
DEFAULT_TIMEOUT_SECONDS = 60.0
# What a provider function's environment may hold from the contract; the CLI sets these itself.
CONTRACT_SOURCES = ("STATE_TABLE_NAME", "ALERT_TOPIC_ARN", "ACCOUNTS", "ACCOUNTS_PARAMETER")


class ExitStatus(IntEnum):
    """The monitoring-plugin convention (Nagios, Icinga, Sensu)."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


class CliError(Exception):
    """A configuration or usage problem, told in one clear sentence. Exit 3."""


class UsageError(CliError):
    """The command line itself is wrong."""


class Terminated(BaseException):
    """SIGTERM: unwinds like Ctrl-C, so every ``finally`` stops what it started."""


def function_logical_id(provider: str) -> str:
    return f"{provider.capitalize()}Function"


# ---------------------------------------------------------------------------------------- environment


@contextlib.contextmanager
def patched_environ(values: Mapping[str, str], remove: Iterable[str] = ()) -> Iterator[None]:
    """``os.environ`` with ``remove`` taken out and ``values`` set, restored afterwards."""
    saved = dict(os.environ)
    try:
        for name in remove:
            os.environ.pop(name, None)
        os.environ.update(values)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def reset_aws_clients() -> None:
    """Forget cached boto3 clients and parameter values, so they are made again for the current endpoints."""
    from aws_lambda_powertools.utilities import parameters

    from shared import notify, slack_notifier, state_store

    state_store.default_client.cache_clear()
    notify.default_client.cache_clear()
    slack_notifier._idempotent_delivery.cache_clear()
    parameters.clear_caches()  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def captured_output(log: TextIO) -> Iterator[None]:
    """Send the handlers' structured logs and EMF metrics to ``log``: the terminal shows the alerts."""
    from shared.observability import logger

    handler = logger.registered_handler
    previous = handler.setStream(log) if isinstance(handler, logging.StreamHandler) else None
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            yield
    finally:
        if isinstance(handler, logging.StreamHandler) and previous is not None:
            handler.setStream(previous)
        log.flush()


# ---------------------------------------------------------------------------------------- local stack


def _quiet_servers() -> None:
    # moto server runs on werkzeug, which logs every request to stderr at INFO.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


@contextlib.contextmanager
def local_stack(console: Console, db_path: Path | None, with_moto: bool = True) -> Iterator[dict[str, str]]:
    """DynamoDB Local (in memory, or in ``db_path``) and moto server; yields the AWS environment.

    While it runs, ``os.environ`` points boto3 at the stack only: dummy credentials, no profile, and
    no config file, so nothing can reach real AWS.
    """
    _quiet_servers()
    dynamodb = DynamoDBLocal(db_path=db_path)
    moto = MotoServer() if with_moto else None
    moto_started = False
    try:
        started = time.monotonic()
        where = f"data in {_display_path(db_path)}" if db_path is not None else "in memory"
        console.write(f"  DynamoDB Local          {dynamodb.endpoint}  ")
        try:
            dynamodb.start()
        except (RuntimeError, TimeoutError) as error:
            raise CliError(str(error)) from None
        pid = dynamodb.process.pid if dynamodb.process is not None else "?"
        console.line(f"pid {pid}, {where}, ready in {time.monotonic() - started:.1f} s")
        environment = {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_ENDPOINT_URL": dynamodb.endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb.endpoint,
        }
        if moto is not None:
            started = time.monotonic()
            console.write(f"  moto server             {moto.endpoint}  ")
            moto.start()
            moto_started = True
            console.line(f"SNS, SQS, SSM; ready in {time.monotonic() - started:.1f} s")
            environment["AWS_ENDPOINT_URL"] = moto.endpoint
        foreign = [
            name
            for name in os.environ
            if name.startswith(("AWS_ENDPOINT_URL_", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION"))
        ]
        with patched_environ(environment, remove=foreign):
            reset_aws_clients()
            try:
                yield environment
            finally:
                reset_aws_clients()
    finally:
        if moto is not None and moto_started:
            moto.stop()
        dynamodb.stop()


@contextlib.contextmanager
def state_lock(state_dir: Path, console: Console) -> Iterator[None]:
    """One command at a time on the file-backed state: DynamoDB Local holds its database file open."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            console.line(f"Waiting for another quota-sentinel command that uses {_display_path(state_dir)} ...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _display_path(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)


def ensure_table(console: Console) -> None:
    """The state table, created from template.yaml's StateTable (the contract's schema if it cannot be read)."""
    import boto3

    client = boto3.client("dynamodb")
    if TABLE_NAME in client.list_tables()["TableNames"]:
        console.line(f"  StateTable              table {TABLE_NAME} (exists)")
        return
    try:
        create_table_from_template(TABLE_NAME, client=client)
        source = "template.yaml StateTable"
    except Exception as error:  # a template being edited: the contract's schema is enough locally
        source = f"the contract's schema; template.yaml StateTable unreadable ({type(error).__name__})"
        client.create_table(
            TableName=TABLE_NAME,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.get_waiter("table_exists").wait(TableName=TABLE_NAME)
        client.update_time_to_live(
            TableName=TABLE_NAME, TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True}
        )
    console.line(f"  StateTable              table {TABLE_NAME} (from {source})")


# ---------------------------------------------------------------------------------------- the template


class TemplateView:
    """template.yaml, read defensively: what cannot be read or resolved locally falls back to defaults."""

    def __init__(self, template: Mapping[str, Any], refs: Mapping[str, str]) -> None:
        self.template = template
        self.resolver = Resolver(template, refs=refs, region=REGION)
        self.notes: list[str] = []

    @classmethod
    def load(cls, refs: Mapping[str, str]) -> TemplateView:
        try:
            template: Any = load_template()
        except Exception as error:  # a template being edited must not stop the demo
            view = cls({}, refs)
            view.notes.append(f"template.yaml could not be read ({type(error).__name__}); using the contract's names")
            return view
        return cls(template if isinstance(template, dict) else {}, refs)

    def _section(self, name: str) -> dict[str, Any]:
        section = self.template.get(name)
        return section if isinstance(section, dict) else {}

    def resource(self, logical_id: str) -> dict[str, Any]:
        resource = self._section("Resources").get(logical_id)
        return resource if isinstance(resource, dict) else {}

    def properties(self, logical_id: str) -> dict[str, Any]:
        properties = self.resource(logical_id).get("Properties")
        return properties if isinstance(properties, dict) else {}

    def parameter_default(self, name: str, fallback: str) -> str:
        spec = self._section("Parameters").get(name)
        return str(spec["Default"]) if isinstance(spec, dict) and spec.get("Default") not in (None, "") else fallback

    # -- what the CLI needs

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """Globals.Function and the function's own Environment.Variables, resolved; unresolvable ones left out."""

        def left_unset(name: str, _error: Unresolved) -> None:
            self.notes.append(f"{logical_id}: {name} has no local value; left unset")

        return self.resolver.function_environment(logical_id, on_unresolved=left_unset)

    def function_timeout(self, logical_id: str) -> float:
        globals_section = self._section("Globals").get("Function")
        timeout = self.properties(logical_id).get("Timeout") or (
            globals_section.get("Timeout") if isinstance(globals_section, dict) else None
        )
        try:
            return float(timeout) if timeout is not None else DEFAULT_TIMEOUT_SECONDS
        except (TypeError, ValueError):
            return DEFAULT_TIMEOUT_SECONDS

    def _policy(self, raw: Any, where: str) -> dict[str, Any] | None:
        if raw is None:
            return None
        try:
            policy = self.resolver.resolve(raw)
        except Unresolved:
            self.notes.append(f"{where}: filter policy has no local value; no filter")
            return None
        return policy if isinstance(policy, dict) else None

    def email_filter(self, topic: str = "AlertTopic") -> tuple[str, dict[str, Any] | None]:
        """(where, policy) of the template's email subscription to ``topic``."""
        for logical_id, resource in self._section("Resources").items():
            properties = resource.get("Properties") if isinstance(resource, dict) else None
            if (
                isinstance(properties, dict)
                and resource.get("Type") == "AWS::SNS::Subscription"
                and properties.get("Protocol") == "email"
                and properties.get("TopicArn") == {"Ref": topic}
            ):
                return logical_id, self._policy(properties.get("FilterPolicy"), logical_id)
        return "no email subscription in template.yaml", None

    def sns_event_filter(self, function: str, topic: str = "AlertTopic") -> tuple[str, dict[str, Any] | None]:
        """(where, policy) of ``function``'s SNS event on ``topic``."""
        events = self.properties(function).get("Events")
        for name, event in events.items() if isinstance(events, dict) else ():
            properties = event.get("Properties") if isinstance(event, dict) else None
            if (
                isinstance(properties, dict)
                and event.get("Type") == "SNS"
                and properties.get("Topic") == {"Ref": topic}
            ):
                where = f"{function}.Events.{name}"
                return where, self._policy(properties.get("FilterPolicy"), where)
        return f"no SNS event on {topic} in {function}", None

    def topic_attributes(self, logical_id: str = "AlertTopic") -> dict[str, str]:
        """The attributes moto supports; the KMS key is left out (no KMS locally)."""
        display_name = self.properties(logical_id).get("DisplayName")
        try:
            resolved = self.resolver.resolve(display_name) if display_name is not None else None
        except Unresolved:
            resolved = None
        return {"DisplayName": str(resolved)} if resolved else {}


# ---------------------------------------------------------------------------------------- handlers


@dataclass
class LocalContext:
    """What Lambda's context carries, with a real deadline from the function's timeout."""

    function_name: str
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = ""
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def scheduler_event() -> dict[str, str]:
    """The EventBridge Scheduler input of a provider function: its scheduled time and execution id."""
    now = datetime.now(UTC)
    return {"scheduled_time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "execution_id": f"local-{uuid.uuid4()}"}


class FunctionRunner:
    """Loads ``functions/<name>/app.py`` by path, as Lambda does with ``app.handler``, and invokes it."""

    def __init__(self, log: TextIO) -> None:
        self.log = log
        self._modules: dict[str, ModuleType] = {}

    def module(self, function: str) -> ModuleType:
        if function not in self._modules:
            path = REPO_ROOT / "functions" / function / "app.py"
            spec = importlib.util.spec_from_file_location(f"quota_sentinel_function_{function}", path)
            if spec is None or spec.loader is None:
                raise CliError(f"cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self._modules[function] = module
        return self._modules[function]

    def invoke(
        self, function: str, logical_id: str, event: Mapping[str, Any], environment: Mapping[str, str], timeout: float
    ) -> Any:
        handler: Callable[[Mapping[str, Any], LocalContext], Any] = self.module(function).handler
        context = LocalContext(function_name=logical_id, timeout_seconds=timeout)
        variables = {**environment, "AWS_LAMBDA_FUNCTION_NAME": logical_id}
        with patched_environ(variables, remove=CONTRACT_SOURCES), captured_output(self.log):
            return handler(event, context)


# ---------------------------------------------------------------------------------------- alert channels


def _drain(queue_url: str) -> list[str]:
    """Every message body in the queue, oldest first (moto delivers SNS to SQS as it publishes)."""
    import boto3

    sqs = boto3.client("sqs")
    bodies: list[str] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return bodies
        for message in batch:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def _describe_policy(policy: dict[str, Any] | None) -> str:
    if not policy:
        return "no filter"
    return "filter " + "; ".join(
        f"{key} in {', '.join(map(str, value))}" if isinstance(value, list) else f"{key} {value}"
        for key, value in policy.items()
    )


@dataclass
class AlertChannels:
    """The alert topic and what subscribes to it here: an email queue (raw) and the Slack notifier's queue."""

    topic_arn: str
    email_queue: str
    slack_queue: str
    slack_subscription: str


def provision_topic(template: TemplateView, console: Console) -> AlertChannels:
    """AlertTopic and its subscriptions, with the template's filter policies, as SQS queues we read."""
    import boto3

    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    attributes = template.topic_attributes()
    topic_arn = sns.create_topic(Name=TOPIC_NAME, Attributes=attributes)["TopicArn"]
    shown = f' ("{attributes["DisplayName"]}")' if "DisplayName" in attributes else ""
    console.line(f"  AlertTopic              topic {TOPIC_NAME}{shown}")

    def subscribe(name: str, raw: bool, policy: dict[str, Any] | None) -> tuple[str, str]:
        queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        subscription_attributes = {"RawMessageDelivery": "true" if raw else "false"}
        if policy:
            subscription_attributes["FilterPolicy"] = json.dumps(policy)
        subscription = sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=subscription_attributes
        )
        return queue_url, str(subscription["SubscriptionArn"])

    where, policy = template.email_filter()
    email_queue, _ = subscribe("quota-sentinel-email", True, policy)
    console.line(f"  email subscription      {where}: {_describe_policy(policy)}")
    where, policy = template.sns_event_filter("SlackNotifierFunction")
    slack_queue, slack_subscription = subscribe("quota-sentinel-slack-notifier", False, policy)
    console.line(f"  Slack notifier          {where}: {_describe_policy(policy)}")
    return AlertChannels(topic_arn, email_queue, slack_queue, slack_subscription)


def _put_parameter(name: str, value: str, secure: bool) -> None:
    import boto3

    boto3.client("ssm").put_parameter(
        Name=name, Value=value, Type="SecureString" if secure else "String", Overwrite=True
    )


@dataclass
class Delivery:
    """Counts of what reached the channels, for the closing summary."""

    messages: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    providers: set[str] = field(default_factory=set)
    slack_delivered: int = 0
    slack_duplicates: int = 0
    slack_failed: int = 0


class AlertPrinter:
    """Reads what the topic delivered, runs the real Slack notifier on it, prints both channels."""

    def __init__(
        self,
        console: Console,
        channels: AlertChannels,
        runner: FunctionRunner,
        notifier_environment: Mapping[str, str],
        notifier_timeout: float,
        receiver: SlackReceiver | None,
    ) -> None:
        self.console = console
        self.channels = channels
        self.runner = runner
        self.notifier_environment = dict(notifier_environment)
        self.notifier_timeout = notifier_timeout
        self.receiver = receiver
        self.delivery = Delivery()

    def deliver_pending(self) -> None:
        emails = {}
        for body in _drain(self.channels.email_queue):
            document = AlertDocument.model_validate_json(body)
            emails[document.document_id] = document
        envelopes = {}
        for body in _drain(self.channels.slack_queue):
            envelope = json.loads(body)
            document = AlertDocument.model_validate_json(envelope["Message"])
            envelopes[document.document_id] = (document, envelope)
        documents = {**{key: pair[0] for key, pair in envelopes.items()}, **emails}
        for doc_id, document in sorted(documents.items(), key=lambda item: (item[1].checked_at, item[1].provider)):
            self._print_arrival(document)
            if doc_id in emails:
                self.console.lines(framed("✉  email", email_lines(document), self.console.style))
            if doc_id in envelopes:
                self._notify_slack(document, envelopes[doc_id][1])

    def _print_arrival(self, document: AlertDocument) -> None:
        style = self.console.style
        self.delivery.messages += 1
        self.delivery.providers.add(document.provider)
        kinds = []
        for alert in document.alerts:
            self.delivery.kinds[alert.kind.value] += 1
            kinds.append(f"{alert.kind.value} {alert.metric}" if alert.metric else alert.kind.value)
        severity = style.level(document.severity.value, f"[{document.severity.value}]")
        self.console.line(
            f"   ▶ alert  {style.bold(f'{document.provider}/{document.account}')}  {', '.join(kinds)}  {severity}"
        )

    def _notify_slack(self, document: AlertDocument, envelope: dict[str, Any]) -> None:
        event = {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": self.channels.slack_subscription,
                    "Sns": envelope,
                }
            ]
        }
        try:
            counts = self.runner.invoke(
                "slack_notifier", "SlackNotifierFunction", event, self.notifier_environment, self.notifier_timeout
            )
        except Exception as error:  # the demo goes on; the notifier's log has the details
            self.delivery.slack_failed += 1
            self.console.line(f"     💬 Slack: the notifier failed: {type(error).__name__}: {error}")
            return
        self.delivery.slack_delivered += int(counts.get("delivered", 0))
        self.delivery.slack_duplicates += int(counts.get("duplicates", 0))
        self.delivery.slack_failed += int(counts.get("refused", 0))
        style = self.console.style
        if self.receiver is not None:
            for payload in self.receiver.take():
                title = "💬 Slack  (SlackNotifierFunction → loopback webhook)"
                self.console.lines(framed(title, slack_lines(payload, style), style))
            return
        from shared.slack import render_alert_document

        outcome = "delivered" if counts.get("delivered") else "NOT delivered (see the function log)"
        title = f"💬 Slack  (SlackNotifierFunction → your SLACK_WEBHOOK_URL: {outcome})"
        self.console.lines(framed(title, slack_lines(render_alert_document(document), style), style))


def print_document_offline(console: Console, document: AlertDocument) -> None:
    """A dry run's alert: the email and the Slack message it would be, not sent."""
    from shared.slack import render_alert_document

    style = console.style
    kinds = ", ".join(f"{a.kind.value} {a.metric}" if a.metric else a.kind.value for a in document.alerts)
    severity = style.level(document.severity.value, f"[{document.severity.value}]")
    console.line(
        f"   ▶ alert (dry run, not sent)  {style.bold(f'{document.provider}/{document.account}')}  {kinds}  {severity}"
    )
    console.lines(framed("✉  email", email_lines(document), style))
    console.lines(framed("💬 Slack", slack_lines(render_alert_document(document), style), style))


# ---------------------------------------------------------------------------------------- status


def plugin_status(states: Iterable[AccountState], failed_accounts: int) -> ExitStatus:
    """Critical wins; then a failed check (unknown); then warning; else ok."""
    level, _ = overall_level(states)
    if level in (Level.CRITICAL, Level.EXHAUSTED):
        return ExitStatus.CRITICAL
    if failed_accounts:
        return ExitStatus.UNKNOWN
    return ExitStatus.WARNING if level is Level.WARNING else ExitStatus.OK


def plugin_line(status: ExitStatus, rows: list[StatusRow], failed_accounts: int) -> str:
    """The first line a monitoring system reads: ``QUOTA WARNING - ...``."""
    above = [row for row in rows if row.level not in ("ok", "failing")]
    metrics = sum(row.level != "failing" for row in rows)
    parts = [f"{len(above)} of {metrics} metric(s) above ok"]
    if above:
        worst = sorted(above, key=lambda row: Level(row.level).rank, reverse=True)[:3]
        parts.append(", ".join(f"{row.provider}/{row.account} {row.name} {row.level}" for row in worst))
    if failed_accounts:
        parts.append(f"{failed_accounts} check(s) failing")
    return f"QUOTA {status.name} - " + "; ".join(parts)


def print_status(
    console: Console, states: Mapping[tuple[str, str], AccountState], failed: set[tuple[str, str]]
) -> ExitStatus:
    rows = [row for (provider, account), state in states.items() for row in status_rows(provider, account, state)]
    failing = {key for key, state in states.items() if state.failure is not None} | failed
    console.lines("  " + line for line in status_table(rows, console.style))
    status = plugin_status(states.values(), len(failing))
    console.line()
    console.line(console.style.level(_STATUS_LEVEL[status], plugin_line(status, rows, len(failing))))
    return status


_STATUS_LEVEL = {
    ExitStatus.OK: "ok",
    ExitStatus.WARNING: "warning",
    ExitStatus.CRITICAL: "critical",
    ExitStatus.UNKNOWN: "failing",
}


def read_states(providers: Iterable[str]) -> dict[tuple[str, str], AccountState]:
    store = StateStore(TABLE_NAME)
    now = time.time()
    states = {}
    for provider in providers:
        for account, state in sorted(store.list_accounts(provider, now).items()):
            states[(provider, account)] = state
    return states


# ---------------------------------------------------------------------------------------- simulate


def _provision_notifier(
    template: TemplateView, console: Console, slack_url: str | None, receiver: SlackReceiver | None
) -> dict[str, str]:
    """The Slack notifier's environment, and its webhook URL in the SecureString it reads."""
    environment = template.function_environment("SlackNotifierFunction")
    environment.setdefault("STATE_TABLE_NAME", TABLE_NAME)
    parameter = environment.setdefault(
        "SLACK_WEBHOOK_PARAMETER", template.parameter_default("SlackWebhookParameter", "/quota-sentinel/slack/webhook")
    )
    _put_parameter(parameter, slack_url or (receiver.webhook_url if receiver else ""), secure=True)
    console.line(f"  SlackNotifierFunction   webhook URL in SecureString {parameter}")
    return environment


def _slack_target() -> str | None:
    """The real webhook from SLACK_WEBHOOK_URL, validated; None for the loopback receiver."""
    url = os.environ.get("SLACK_WEBHOOK_URL", "").strip()
    if not url:
        return None
    try:
        validate_base_url(url)
    except ValueError as error:
        raise CliError(f"SLACK_WEBHOOK_URL: the webhook URL {error}") from None
    return url


def _tick_line(console: Console, tick: int, ticks: int) -> None:
    style = console.style
    notes = tick_notes(tick)
    story = f" · simulator: {'; '.join(notes)}" if notes else ""
    console.line()
    console.line(style.bold(f"━━ tick {tick}/{ticks}") + style.dim(f" · scheduled run {tick}") + story)


def _check_summary(style: Style, provider: str, result: Any) -> str:
    accounts = result.get("accounts", []) if isinstance(result, dict) else []
    if accounts and all(account.get("ok") for account in accounts):
        metrics = sum(int(account.get("metrics", 0)) for account in accounts)
        return f"{provider} {style.level('ok', '✓')} {metrics} metric{'s' if metrics != 1 else ''}"
    reasons = {str(account.get("error") or "failed").split(":", 1)[0] for account in accounts if not account.get("ok")}
    return f"{provider} {style.level('critical', '✗')} {', '.join(sorted(reasons)) or 'failed'}"


@dataclass
class SimulatedSystem:
    """Everything simulate started and provisioned."""

    simulator: ProviderSimulator
    environments: dict[str, dict[str, str]]
    timeouts: dict[str, float]
    printer: AlertPrinter
    runner: FunctionRunner


def _provision_simulation(
    console: Console, stack: contextlib.ExitStack, log: TextIO, slack_url: str | None
) -> SimulatedSystem:
    keys = {provider: f"sim-{provider}-{secrets.token_hex(12)}" for provider in PROVIDER_IDS}
    simulator = ProviderSimulator(keys)
    simulator.start()
    stack.callback(simulator.stop)
    console.line(f"  provider simulator      {simulator.url}/<provider>  the five quota APIs, scripted")
    receiver: SlackReceiver | None = None
    if slack_url is None:
        receiver = SlackReceiver()
        receiver.start()
        stack.callback(receiver.stop)
        console.line(f"  Slack webhook receiver  {receiver.webhook_url}  (SLACK_WEBHOOK_URL posts to a real channel)")
    else:
        console.line("  Slack                   your SLACK_WEBHOOK_URL (a real channel)")

    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{TOPIC_NAME}"
    template = TemplateView.load({"StateTable": TABLE_NAME, "AlertTopic": topic_arn})
    console.line()
    console.line(console.style.bold("Provisioning from template.yaml"))
    ensure_table(console)
    channels = provision_topic(template, console)

    environments: dict[str, dict[str, str]] = {}
    timeouts: dict[str, float] = {}
    for provider in PROVIDER_IDS:
        logical_id = function_logical_id(provider)
        environment = template.function_environment(logical_id)
        environment.pop("ACCOUNTS", None)
        environment.setdefault("STATE_TABLE_NAME", TABLE_NAME)
        environment.setdefault("ALERT_TOPIC_ARN", channels.topic_arn)
        default_parameter = f"/quota-sentinel/{provider}/accounts"
        parameter = environment.setdefault(
            "ACCOUNTS_PARAMETER",
            template.parameter_default(f"{provider.capitalize()}AccountsParameter", default_parameter),
        )
        account = ACCOUNTS[provider]
        key_parameter = f"/quota-sentinel/{provider}/{account}/api-key"
        _put_parameter(key_parameter, keys[provider], secure=True)
        accounts = [{"name": account, "base_url": simulator.base_url(provider), "api_key": {"ssm": key_parameter}}]
        _put_parameter(parameter, json.dumps(accounts), secure=False)
        environments[provider] = environment
        timeouts[provider] = template.function_timeout(logical_id)
        console.line(f"  {logical_id:<23} {parameter} → account {account!r}, key in SecureString {key_parameter}")

    notifier_environment = _provision_notifier(template, console, slack_url, receiver)
    for note in dict.fromkeys(template.notes):
        console.line(console.style.dim(f"  note: {note}"))

    runner = FunctionRunner(log)
    printer = AlertPrinter(
        console, channels, runner, notifier_environment, template.function_timeout("SlackNotifierFunction"), receiver
    )
    return SimulatedSystem(simulator, environments, timeouts, printer, runner)


def command_simulate(args: argparse.Namespace, console: Console) -> int:
    slack_url = _slack_target()
    ticks: int = args.ticks
    state_dir: Path = args.state_dir
    started = time.monotonic()
    style = console.style
    console.line(style.bold("Quota Sentinel · the whole system on the embedded local stack"))
    console.line(
        "No AWS account and no real provider: DynamoDB Local, moto server and a provider simulator on loopback."
    )
    console.line()
    console.line(style.bold("Starting"))
    log_path = state_dir / "logs" / "simulate.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log, contextlib.ExitStack() as stack:
        stack.enter_context(local_stack(console, db_path=None))
        system = _provision_simulation(console, stack, log, slack_url)
        console.line()
        console.line(
            style.bold(f"Running the five provider handlers for {ticks} ticks")
            + f" (functions/<provider>/app.py; function logs in {_display_path(log_path)})"
        )
        for tick in range(1, ticks + 1):
            system.simulator.tick = tick
            _tick_line(console, tick, ticks)
            tick_started = time.monotonic()
            console.write("   checks: ")
            for provider in PROVIDER_IDS:
                try:
                    result = system.runner.invoke(
                        provider,
                        function_logical_id(provider),
                        scheduler_event(),
                        system.environments[provider],
                        system.timeouts[provider],
                    )
                    summary = _check_summary(style, provider, result)
                except Exception as error:  # as Lambda would report it; the next tick runs again
                    summary = f"{provider} {style.level('critical', '✗')} the function raised {type(error).__name__}"
                console.write(summary + ("  " if provider != PROVIDER_IDS[-1] else ""))
            console.line(style.dim(f"   ({time.monotonic() - tick_started:.1f} s)"))
            system.printer.deliver_pending()

        console.line()
        console.line(style.bold(f"Status · every metric in DynamoDB table {TABLE_NAME}"))
        print_status(console, read_states(PROVIDER_IDS), set())
        delivery = system.printer.delivery
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(delivery.kinds.items()))
        console.line(
            f"Alerts: {delivery.messages} messages, {sum(delivery.kinds.values())} alerts ({kinds}) "
            f"from {len(delivery.providers)} providers ({', '.join(sorted(delivery.providers))})"
        )
        console.line(
            f"Slack: {delivery.slack_delivered} delivered, {delivery.slack_duplicates} duplicates skipped, "
            f"{delivery.slack_failed} failed"
        )
        console.write("Stopping the provider simulator, the Slack receiver, moto server and DynamoDB Local ... ")
    console.line(f"stopped. Done in {time.monotonic() - started:.0f} s.")
    return ExitStatus.OK


# ---------------------------------------------------------------------------------------- check


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


def _validate_check(provider: str, path: Path, accounts: list[AccountConfig], environ: Mapping[str, str]) -> None:
    """What the handler would only find out per account, told up front: keys, base URLs, thresholds."""
    adapter = get_adapter(provider)
    try:
        settings = load_provider_settings(environ)
    except ConfigError as error:
        raise CliError(str(error)) from None
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
            settings.policy.for_account(account, f"{path}[{index}]")
        except ConfigError as error:
            raise CliError(str(error)) from None


def _check_environment(text: str) -> dict[str, str]:
    """The handler's environment: the user's (API key and threshold variables) with the accounts file.

    AWS variables are left out: the local stack sets its own, and a stale endpoint must not win.
    """
    environ = {
        name: value
        for name, value in os.environ.items()
        if name not in CONTRACT_SOURCES and not name.startswith("AWS_")
    }
    return environ | {
        "STATE_TABLE_NAME": TABLE_NAME,
        "ALERT_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{TOPIC_NAME}",
        "ACCOUNTS": text,
    }


def _print_run_summary(console: Console, provider: str, summary: Any) -> set[tuple[str, str]]:
    """One line per account; returns the accounts whose check failed in this run."""
    failed = set()
    style = console.style
    for account in summary.get("accounts", []) if isinstance(summary, dict) else []:
        name = str(account.get("account"))
        if account.get("ok"):
            console.line(
                f"  {provider}/{name}: {style.level('ok', '✓')} {account.get('metrics')} metric(s), "
                f"{account.get('alerts')} alert(s)"
            )
            for warning in account.get("warnings", []):  # e.g. a metric id in thresholds that the provider lacks
                console.line(f"    {style.level('warning', 'warning')}: {warning}")
        else:
            failed.add((provider, name))
            console.line(f"  {provider}/{name}: {style.level('critical', '✗')} check failed: {account.get('error')}")
    return failed


def _dry_run(console: Console, provider: str, environ: dict[str, str], log: TextIO) -> int:
    from shared.notify import AlertPublisher
    from shared.observability import metrics
    from shared.runner import Dependencies, run_provider
    from shared.state_store import OutboxEntry, StoredAccount

    class MemoryStore(StateStore):
        """Nothing persisted: the check is evaluated as a first check."""

        def __init__(self) -> None:
            self.table_name = "dry-run"
            self.states: dict[str, AccountState] = {}

        def load(self, provider: str, account: str, now_epoch: float) -> StoredAccount:
            return StoredAccount(state=None)

        def save(
            self,
            provider: str,
            account: str,
            expected_version: int,
            state: AccountState,
            outbox: dict[str, OutboxEntry],
            checked_at: datetime,
            expires_at: float,
        ) -> int:
            self.states[account] = state
            return expected_version + 1

        def mark_published(self, provider: str, account: str, doc_id: str) -> bool:
            return True

        def release(self, provider: str, account: str, doc_id: str) -> bool:
            return True

    class PrintingPublisher(AlertPublisher):
        def __init__(self) -> None:
            self.topic_arn = "dry-run"
            self.documents: list[AlertDocument] = []

        def publish(self, document: AlertDocument) -> str:
            self.documents.append(document)
            return f"dry-run-{len(self.documents)}"

    store, publisher = MemoryStore(), PrintingPublisher()
    dependencies = Dependencies(store=store, publisher=publisher)
    context = LocalContext(function_name=function_logical_id(provider))
    try:
        with captured_output(log):
            summary = run_provider(
                provider, scheduler_event(), cast("LambdaContext", context), dependencies=dependencies, environ=environ
            )
    except ConfigError as error:
        raise CliError(str(error)) from None
    finally:
        metrics.clear_metrics()
    failed = _print_run_summary(console, provider, summary)
    for document in publisher.documents:
        print_document_offline(console, document)
    console.line()
    return print_status(console, {(provider, name): state for name, state in store.states.items()}, failed)


def _real_check(
    console: Console, provider: str, environ: dict[str, str], accounts: list[AccountConfig], args: argparse.Namespace
) -> int:
    slack_url = _slack_target()
    state_dir: Path = args.state_dir
    log_path = state_dir / "logs" / "check.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with state_lock(state_dir, console), log_path.open("a") as log, contextlib.ExitStack() as stack:
        console.line(console.style.bold("Starting the local stack"))
        stack.enter_context(local_stack(console, db_path=state_dir / "dynamodb"))
        receiver: SlackReceiver | None = None
        if slack_url is None:
            receiver = SlackReceiver()
            receiver.start()
            stack.callback(receiver.stop)
        topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{TOPIC_NAME}"
        template = TemplateView.load({"StateTable": TABLE_NAME, "AlertTopic": topic_arn})
        console.line(console.style.bold("Provisioning from template.yaml"))
        ensure_table(console)
        channels = provision_topic(template, console)
        notifier_environment = _provision_notifier(template, console, slack_url, receiver)
        runner = FunctionRunner(log)
        notifier_timeout = template.function_timeout("SlackNotifierFunction")
        printer = AlertPrinter(console, channels, runner, notifier_environment, notifier_timeout, receiver)
        powertools = {
            name: value
            for name, value in template.function_environment(function_logical_id(provider)).items()
            if name.startswith("POWERTOOLS_")
        }
        console.line()
        console.line(console.style.bold(f"Checking {provider} against its real API"))
        try:
            summary = runner.invoke(
                provider,
                function_logical_id(provider),
                scheduler_event(),
                {**powertools, **environ},
                template.function_timeout(function_logical_id(provider)),
            )
        except ConfigError as error:
            raise CliError(str(error)) from None
        except Exception as error:  # RunFailed and the like: state or alerts could not be kept
            raise CliError(f"the {provider} run failed: {error} (details in {_display_path(log_path)})") from None
        failed = _print_run_summary(console, provider, summary)
        printer.deliver_pending()
        store = StateStore(TABLE_NAME)
        now = time.time()
        states = {}
        for account in accounts:
            state = store.load(provider, account.name, now).state
            if state is not None:
                states[(provider, account.name)] = state
        console.line()
        return print_status(console, states, failed)


def command_check(args: argparse.Namespace, console: Console) -> int:
    provider: str = args.provider
    path: Path = args.accounts
    text, accounts = read_accounts_file(path)
    environ = _check_environment(text)
    _validate_check(provider, path, accounts, environ)
    state_dir: Path = args.state_dir
    (state_dir / "logs").mkdir(parents=True, exist_ok=True)
    if args.dry_run:
        console.line(console.style.bold(f"Checking {provider} against its real API (dry run: nothing sent or kept)"))
        with (state_dir / "logs" / "check.log").open("a") as log:
            return _dry_run(console, provider, environ, log)
    return _real_check(console, provider, environ, accounts, args)


# ---------------------------------------------------------------------------------------- status


def command_status(args: argparse.Namespace, console: Console) -> int:
    state_dir: Path = args.state_dir
    db_path = state_dir / "dynamodb"
    if not any(db_path.glob("*.db")):
        console.line(f"No state yet in {_display_path(db_path)}: run `python -m infra.cli check ...` first.")
        return ExitStatus.OK
    providers = [args.provider] if args.provider else list(PROVIDER_IDS)
    with state_lock(state_dir, console), local_stack(console, db_path=db_path, with_moto=False):
        states = read_states(providers)
    console.line()
    if not states:
        console.line(f"No accounts checked yet{' for ' + args.provider if args.provider else ''}.")
        return ExitStatus.OK
    return print_status(console, states, set())


# ---------------------------------------------------------------------------------------- command line


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 3 (unknown), not argparse's 2, which means critical to a monitoring system."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\n{self.format_usage().rstrip()}")


def _ticks(value: str) -> int:
    try:
        ticks = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if not 1 <= ticks <= TICKS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {TICKS} (the simulator's script has {TICKS} ticks)")
    return ticks


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m infra.cli",
        description="Quota Sentinel on this machine: a local demo, checks against real provider APIs, status.",
        epilog="Exit codes: 0 ok, 1 warning, 2 critical or exhausted, 3 unknown "
        "(a failed check, a configuration error or a usage error).",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where check and status keep their DynamoDB Local data and logs (default: .local/)",
    )
    parser.add_argument("--no-color", action="store_true", help="no ANSI colours (also: NO_COLOR=1)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    simulate = commands.add_parser(
        "simulate", help="run the whole system on the local stack against simulated providers"
    )
    simulate.add_argument("--ticks", type=_ticks, default=TICKS, help=f"scheduled runs to simulate (1-{TICKS})")

    check = commands.add_parser(
        "check",
        help="check one provider's real API; state kept in the local stack",
        description="Run one provider's handler against its real API. Keys come from environment variables; "
        "state is kept in a file-backed DynamoDB Local under --state-dir, so a second check alerts on changes only.",
        epilog='Example: echo \'[{"name": "main", "api_key": {"env": "FLASHBACK_KEY"}}]\' > accounts.json; '
        "FLASHBACK_KEY=... python -m infra.cli check --provider flashback --accounts accounts.json --dry-run",
    )
    check.add_argument("--provider", required=True, choices=PROVIDER_IDS)
    check.add_argument("--accounts", required=True, type=Path, metavar="FILE", help="the accounts JSON (a list)")
    check.add_argument("--dry-run", action="store_true", help="print the alerts; publish and keep nothing")

    status = commands.add_parser("status", help="the last state of every metric that check has seen")
    status.add_argument("--provider", choices=PROVIDER_IDS)
    return parser


COMMANDS: dict[str, Callable[[argparse.Namespace, Console], int]] = {
    "simulate": command_simulate,
    "check": command_check,
    "status": command_status,
}


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    if isinstance(out, io.TextIOWrapper):
        out.reconfigure(errors="replace")  # an emoji never stops the output on a narrow terminal encoding
    try:
        args = build_parser().parse_args(argv)
    except UsageError as error:
        print(f"quota-sentinel: usage error: {error}", file=err)
        return ExitStatus.UNKNOWN
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0) if isinstance(exit_.code, int) else ExitStatus.UNKNOWN
    console = Console(out, Style(wants_color(out, args.no_color)))
    # Ctrl-C raises KeyboardInterrupt even where the shell started us with SIGINT ignored (a script's
    # background job); SIGTERM unwinds the same way. Every finally then stops what it started.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    previous_term = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return int(COMMANDS[args.command](args, console))
    except CliError as error:
        print(f"quota-sentinel: error: {error}", file=err)
        return ExitStatus.UNKNOWN
    except KeyboardInterrupt:
        print("\nquota-sentinel: interrupted; everything it started is stopped.", file=err)
        return 130
    except Terminated:
        print("\nquota-sentinel: terminated; everything it started is stopped.", file=err)
        return 143
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)


if __name__ == "__main__":
    sys.exit(main())
