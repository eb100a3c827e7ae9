"""Golden files of what people read, and the rules they keep.

cli.samples makes the documents with the real pipeline: the real adapters read the fixture bodies, the real
evaluator walks usage sequences to every alert kind, and the runner's document building adds the words and
links. cli.preview renders them (email, Slack, ops alarms), exactly as `make preview` writes them, and the
output must match tests/golden/ byte for byte.

A wording change is then a reviewed diff of tests/golden/, never a surprise. Regenerate on purpose with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_golden_messages.py

and read the diff before committing it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from cli.preview import previews
from cli.samples import sample_documents
from shared.models import AlertDocument, AlertKind, Level
from shared.wording.email import SUBJECT_MAX, email_body, email_subject
from shared.wording.slack import (
    MAX_BLOCKS,
    MAX_BUTTON_TEXT,
    MAX_BUTTON_URL,
    MAX_FALLBACK_TEXT,
    MAX_HEADER,
    MAX_SECTION,
    render_alert_document,
)

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
DOCUMENTS = sample_documents()
PREVIEWS = previews()


def test_the_samples_produce_every_alert_kind() -> None:
    kinds = {alert.kind for document in DOCUMENTS.values() for alert in document.alerts}
    assert kinds == set(AlertKind)
    gone = DOCUMENTS["resolved_no_longer_reported"].alerts
    assert any("no longer reported" in alert.message for alert in gone), [a.message for a in gone]


@pytest.mark.parametrize("name", sorted(PREVIEWS))
def test_what_people_read_matches_the_golden_file(name: str) -> None:
    path = GOLDEN / name
    text = PREVIEWS[name]
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 and review the new file"
    assert text == path.read_text(encoding="utf-8"), f"{path} differs: review, then UPDATE_GOLDEN=1 to accept"


def test_no_golden_file_is_left_over() -> None:
    found = {str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*") if p.is_file()}
    assert found == set(PREVIEWS)


def _texts(document: AlertDocument) -> list[str]:
    """Every text a person reads: the email subject and body, the Slack fallback and every Block Kit text."""
    payload = render_alert_document(document)
    found = [email_subject(document), email_body(document), payload["text"]]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload["blocks"])
    return found


_LEVEL_WORD = re.compile(r"(?i)(\bwas\s+)?\b(ok|warning|critical|exhausted)\b")


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_people_read_current_levels_only_and_never_the_routing_severity(name: str) -> None:
    document = DOCUMENTS[name]
    current = {alert.level.value for alert in document.alerts}
    for text in _texts(document):
        for match in _LEVEL_WORD.finditer(text):
            level = match.group(2).lower()
            if level == "ok" or match.group(1):
                continue  # "ok" is also a plain word; a previous level may be told as "was <level>"
            assert level in current, f"{name}: {level!r} is not a current level in {text!r}"
    if document.severity.value not in current:
        # The routing severity counts a previous level: it may appear only as "was <level>".
        for text in _texts(document):
            bare = _LEVEL_WORD.sub(lambda m: "" if m.group(1) else m.group(0), text)
            assert not re.search(rf"(?i)\b{document.severity.value}\b", bare), (name, text)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_slack_payloads_keep_block_kit_limits(name: str) -> None:
    payload = render_alert_document(DOCUMENTS[name])
    blocks = payload["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    assert len(payload["text"]) <= MAX_FALLBACK_TEXT
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= MAX_HEADER
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION
        if block["type"] == "actions":
            assert 1 <= len(block["elements"]) <= 25
            for button in block["elements"]:
                assert button["type"] == "button"
                assert len(button["text"]["text"]) <= MAX_BUTTON_TEXT
                assert 0 < len(button["url"]) <= MAX_BUTTON_URL
    json.dumps(payload)  # serialisable as it is posted


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_alert_links_to_where_its_quota_is_managed_and_to_the_runbook(name: str) -> None:
    document = DOCUMENTS[name]
    assert document.provider_name
    for alert in document.alerts:
        texts = [link.text for link in alert.links]
        assert texts[0].startswith(f"Open {document.provider_name}"), texts
        assert "Runbook" in texts
    body = email_body(document)
    payload = json.dumps(render_alert_document(document))
    for link in document.alerts[0].links:
        assert f"{link.text}: {link.url}" in body
        assert link.url in payload


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_subjects_are_short_ascii_and_name_the_worst_current_item(name: str) -> None:
    document = DOCUMENTS[name]
    subject = email_subject(document)
    assert len(subject) <= SUBJECT_MAX and subject.isascii() and "\n" not in subject
    if len(document.alerts) > 1:
        more = len(document.alerts) - 1
        assert subject.endswith(f"(+{more} more change{'' if more == 1 else 's'})"), subject
    assert "Alert id" not in email_body(document)
    assert "severity" not in email_body(document).lower()


def test_a_two_change_message_is_named_by_its_worst_current_item() -> None:
    document = DOCUMENTS["two_changes"]
    assert email_subject(document) == "[CRITICAL] chatdoc/support: Questions 97% used (+1 more change)"
    header = render_alert_document(document)["blocks"][0]["text"]["text"]
    assert header == "🔴 ChatDOC support: Questions 97% used (+1 more change)"


def test_an_improvement_says_now_and_was() -> None:
    document = DOCUMENTS["improved"]
    assert document.severity is Level.CRITICAL  # routing still counts the previous level
    assert email_subject(document).startswith("[WARNING] ")
    assert "Now warning, was critical." in email_body(document)


def test_test_alerts_say_test_in_subject_and_header_and_still_route_as_critical() -> None:
    document = DOCUMENTS["test"]
    assert document.severity is Level.CRITICAL
    assert email_subject(document).startswith("[TEST] ")
    assert "TEST" in render_alert_document(document)["blocks"][0]["text"]["text"]


def test_a_cleared_forecast_does_not_read_like_a_resolved_alert() -> None:
    document = DOCUMENTS["forecast_cleared"]
    texts = " ".join(_texts(document))
    assert "RESOLVED" not in texts and "back to" not in texts and "✅" not in texts
    assert "usage slowed" in texts and "86% used" in texts
