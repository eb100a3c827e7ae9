"""Routing by severity: the template's own filter policies, tested against the SNS emulator.

One message of each severity is published through the real publisher; each channel's subscription
(email, Slack) gets only the severities at or above its minimum.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from local.template import Resolver, load_template
from shared.models import Alert, AlertDocument, AlertKind, Level
from shared.notify import SnsAlertPublisher
from tests.integration.conftest import Aws

pytestmark = pytest.mark.integration

SEVERITIES = [Level.OK, Level.WARNING, Level.CRITICAL, Level.EXHAUSTED]


def channel_filter_policies(minimum: str) -> dict[str, dict[str, Any]]:
    """The email and Slack filter policies of the template, for a minimum severity on both."""
    template = load_template()
    resolver = Resolver(template, parameters={"EmailMinSeverity": minimum, "SlackMinSeverity": minimum})
    resources = template["Resources"]
    email = resources["AlertEmailSubscription"]["Properties"]["FilterPolicy"]
    [slack] = [
        event["Properties"]["FilterPolicy"]
        for event in resources["SlackNotifierFunction"]["Properties"]["Events"].values()
        if event["Type"] == "SNS" and event["Properties"]["Topic"] == {"Ref": "AlertTopic"}
    ]
    return {"email": resolver.resolve(email), "slack": resolver.resolve(slack)}


def document_of_severity(severity: Level) -> AlertDocument:
    alert = Alert(
        kind=AlertKind.TRIGGERED if severity is not Level.OK else AlertKind.RESOLVED, metric="M", name="M",
        level=severity, previous_level=Level.OK, id=f"p/a/M/{severity.value}", message="m",
    )  # fmt: skip
    return AlertDocument.build("flashback", "main", datetime(2026, 11, 22, tzinfo=UTC), [alert])


@pytest.mark.parametrize("minimum", ["ok", "warning", "critical", "exhausted"])
def test_each_channel_gets_only_severities_at_or_above_its_minimum(aws: Aws, minimum: str) -> None:
    policies = channel_filter_policies(minimum)
    queues = {channel: aws.subscribe_queue(policy) for channel, policy in policies.items()}
    publisher = SnsAlertPublisher(aws.topic_arn)
    for severity in SEVERITIES:
        publisher.publish(document_of_severity(severity))

    expected = [level.value for level in SEVERITIES if level.rank >= Level(minimum).rank]
    for channel, queue in queues.items():
        received = sorted((doc["severity"] for doc in aws.messages(queue)), key=lambda s: Level(s).rank)
        assert received == expected, channel
    assert len(aws.messages()) == len(SEVERITIES)  # the unfiltered subscription gets everything
