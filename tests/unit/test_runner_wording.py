"""The runner publishes facts in words: the document it builds carries the message, the hint, the provider's
display name and the links (its manage page, and RUNBOOK_URL when set), in every channel."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.config import ConfigError, load_provider_settings
from shared.in_memory import MemoryPublisher, MemoryStateStore
from shared.notify import message_bodies
from shared.runner import Dependencies, run_provider
from shared.wording.slack import render_alert_document
from tests.conftest import FakeLambdaContext

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
RUNBOOK = "https://wiki.example.com/runbooks/quota-sentinel"


def environ(**extra: str) -> dict[str, str]:
    account = {"name": "main", "base_url": "http://127.0.0.1:9", "api_key": {"env": "FLASHBACK_KEY"}}
    return {
        "STATE_TABLE_NAME": "t",
        "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t",
        "ACCOUNTS": json.dumps([account]),
        **extra,
    }


def run(event: dict[str, object], **extra: str) -> MemoryPublisher:
    publisher = MemoryPublisher()
    deps = Dependencies(store=MemoryStateStore(), publisher=publisher, clock=lambda: NOW)
    run_provider("flashback", event, FakeLambdaContext(), dependencies=deps, environ=environ(**extra))
    return publisher


@pytest.mark.parametrize("event", [{}, {"test_alert": True}])
def test_published_documents_carry_words_name_and_links_with_the_runbook_in_both_channels(
    event: dict[str, object],
) -> None:
    # {}: FLASHBACK_KEY is unset, so the check fails and alerts; {"test_alert": true}: the test alert.
    [document] = run(event, RUNBOOK_URL=RUNBOOK).documents
    assert document.provider_name == "Flashback"
    [alert] = document.alerts
    assert alert.message and alert.hint
    assert [(link.text, link.url) for link in alert.links] == [
        ("Open Flashback", "https://flashback.tech"),
        ("Runbook", RUNBOOK),
    ]
    email = json.loads(message_bodies(document))["email"]
    assert f"Runbook: {RUNBOOK}" in email
    buttons = [block for block in render_alert_document(document)["blocks"] if block["type"] == "actions"]
    assert [button["url"] for button in buttons[0]["elements"]] == ["https://flashback.tech", RUNBOOK]


def test_without_a_runbook_only_the_manage_page_is_linked() -> None:
    [document] = run({"test_alert": True}).documents
    assert [link.text for link in document.alerts[0].links] == ["Open Flashback"]
    assert "Runbook" not in json.loads(message_bodies(document))["email"]


def test_a_runbook_url_that_is_no_link_is_a_config_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="RUNBOOK_URL"):
        load_provider_settings(environ(RUNBOOK_URL="wiki page"))
