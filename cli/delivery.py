"""What reached the alert channels, shown as it arrives: the email, and Slack as the real notifier delivered it."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cli.render import Terminal, email_lines, framed, level_text, slack_lines
from local.functions import FunctionRunner
from local.provision import AlertChannels, drain
from local.simulator import SlackReceiver
from shared.models import AlertDocument


@dataclass
class Delivery:
    """Counts of what reached the channels, for the closing summary."""

    messages: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    providers: set[str] = field(default_factory=set)
    slack_delivered: int = 0
    slack_duplicates: int = 0
    slack_failed: int = 0


def _kinds(document: AlertDocument) -> str:
    return ", ".join(f"{a.kind.value} {a.metric}" if a.metric else a.kind.value for a in document.alerts)


def arrival_line(terminal: Terminal, document: AlertDocument, label: str = "alert") -> None:
    """Which document arrived, and the routing severity that the channels' filter policies saw."""
    severity = document.severity.value
    terminal.line(
        f"   ▶ {label}  ",
        (f"{document.provider}/{document.account}", "bold"),
        f"  {_kinds(document)}  ",
        level_text(severity, f"[routed as {severity}]"),
    )


def print_document_offline(terminal: Terminal, document: AlertDocument) -> None:
    """A dry run's alert: the email and the Slack message it would be, not sent."""
    from shared.wording.slack import render_alert_document

    arrival_line(terminal, document, "alert (dry run, not sent)")
    terminal.show(framed("✉  email", email_lines(document)))
    terminal.show(framed("💬 Slack", slack_lines(render_alert_document(document))))


class AlertPrinter:
    """Reads what the topic delivered, runs the real Slack notifier on it, prints both channels."""

    def __init__(
        self,
        terminal: Terminal,
        channels: AlertChannels,
        runner: FunctionRunner,
        notifier_environment: Mapping[str, str],
        notifier_timeout: float,
        receiver: SlackReceiver | None,
    ) -> None:
        self.terminal = terminal
        self.channels = channels
        self.runner = runner
        self.notifier_environment = dict(notifier_environment)
        self.notifier_timeout = notifier_timeout
        self.receiver = receiver
        self.delivery = Delivery()

    def deliver_pending(self) -> None:
        emails = {}
        for body in drain(self.channels.email_queue):
            document = AlertDocument.model_validate_json(body)
            emails[document.document_id] = document
        envelopes = {}
        for body in drain(self.channels.slack_queue):
            envelope = json.loads(body)
            document = AlertDocument.model_validate_json(envelope["Message"])
            envelopes[document.document_id] = (document, envelope)
        documents = {**{key: pair[0] for key, pair in envelopes.items()}, **emails}
        for doc_id, document in sorted(documents.items(), key=lambda item: (item[1].checked_at, item[1].provider)):
            self._count(document)
            arrival_line(self.terminal, document)
            if doc_id in emails:
                self.terminal.show(framed("✉  email", email_lines(document)))
            if doc_id in envelopes:
                self._notify_slack(document, envelopes[doc_id][1])

    def _count(self, document: AlertDocument) -> None:
        self.delivery.messages += 1
        self.delivery.providers.add(document.provider)
        for alert in document.alerts:
            self.delivery.kinds[alert.kind.value] += 1

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
            self.terminal.line(f"     💬 Slack: the notifier failed: {type(error).__name__}: {error}")
            return
        self.delivery.slack_delivered += int(counts.get("delivered", 0))
        self.delivery.slack_duplicates += int(counts.get("duplicates", 0))
        self.delivery.slack_failed += int(counts.get("refused", 0))
        if self.receiver is not None:
            for payload in self.receiver.take():
                self.terminal.show(framed("💬 Slack  (SlackNotifierFunction → loopback webhook)", slack_lines(payload)))
            return
        from shared.wording.slack import render_alert_document

        outcome = "delivered" if counts.get("delivered") else "NOT delivered (see the function log)"
        title = f"💬 Slack  (SlackNotifierFunction → your SLACK_WEBHOOK_URL: {outcome})"
        self.terminal.show(framed(title, slack_lines(render_alert_document(document))))
