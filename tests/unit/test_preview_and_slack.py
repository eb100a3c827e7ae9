"""The preview files and Slack's structural limits, for every sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.preview import previews, write_previews
from cli.samples import sample_alarms, sample_documents
from shared.models import AlertDocument
from shared.wording.alarms import render_cloudwatch_alarm
from shared.wording.email import SUBJECT_MAX
from shared.wording.slack import render_alert_document


def test_preview_writes_a_slack_payload_and_an_email_per_sample_and_alarm(tmp_path: Path) -> None:
    written = write_previews(tmp_path)
    assert len(written) == 2 * (len(sample_documents()) + len(sample_alarms())) == len(previews())
    for kind, document in sample_documents().items():
        payload = json.loads((tmp_path / "slack" / f"{kind}.json").read_text())
        assert payload["text"]
        assert payload["blocks"][0]["type"] == "header"
        assert payload["blocks"][-1]["type"] == "context"
        subject, _, body = (tmp_path / "email" / f"{kind}.txt").read_text().partition("\n\n")
        assert subject.startswith("Subject: [")
        assert len(subject.removeprefix("Subject: ")) <= SUBJECT_MAX
        assert body.startswith(f"{document.provider_name} {document.account}, checked ")
    alarm = json.loads((tmp_path / "slack" / "alarm_dead_mans_switch.json").read_text())
    assert alarm["blocks"][0]["text"]["text"].startswith("🚨 Ops: ")


def test_the_dead_mans_switch_says_what_to_check_next_in_both_channels() -> None:
    alarm = sample_alarms()["alarm_dead_mans_switch"]
    assert "sam logs -n FlashbackFunction --stack-name quota-sentinel" in alarm["AlarmDescription"]  # email
    steps = render_cloudwatch_alarm(alarm)["blocks"][2]["text"]["text"]
    assert steps.startswith("*Next steps*\n1. Read the last runs: `sam logs -n FlashbackFunction")
    assert "sam remote invoke FlashbackFunction --stack-name quota-sentinel" in steps


def test_the_dead_letter_queue_alarm_names_the_queue_and_how_to_redrive() -> None:
    alarm = sample_alarms()["alarm_dead_letter_queue"]
    assert "--queue-url https://sqs." in alarm["AlarmDescription"]
    assert "redrive" in alarm["AlarmDescription"]
    steps = render_cloudwatch_alarm(alarm)["blocks"][2]["text"]["text"]
    assert "--queue-name quota-sentinel-DeadLetterQueue-XyZ" in steps and "redrive" in steps


def test_an_alarm_back_to_ok_has_no_next_steps() -> None:
    alarm = {**sample_alarms()["alarm_dead_mans_switch"], "NewStateValue": "OK", "OldStateValue": "ALARM"}
    blocks = render_cloudwatch_alarm(alarm)["blocks"]
    assert [block["type"] for block in blocks] == ["header", "section", "context"]
    assert "back to normal" in blocks[0]["text"]["text"]


@pytest.mark.parametrize("count", [1, 47, 48, 60])
def test_block_count_never_exceeds_fifty(count: int) -> None:
    base = sample_documents()["escalated"]
    alerts = [base.alerts[0].model_copy(update={"id": f"id-{i}"}) for i in range(count)]
    document = AlertDocument.build("p", "a", base.checked_at, alerts)
    blocks = render_alert_document(document)["blocks"]
    assert len(blocks) <= 50
    sections = [b for b in blocks if b["type"] == "section"]
    room = 50 - 3  # header, buttons, context
    assert len(sections) == (count if count <= room else room)
    if count > room:
        assert sections[-1]["text"]["text"] == f"+{count - room + 1} more"
