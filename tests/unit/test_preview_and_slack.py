"""Slack rendering and the preview files: structure and Slack's limits, for every alert kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.preview import write_previews
from cli.samples import sample_documents
from shared.messages import SUBJECT_MAX
from shared.models import AlertDocument
from shared.slack import alert_section_text, render_alert_document

KINDS = ["triggered", "escalated", "improved", "resolved", "renotify", "check_failed", "check_recovered", "test"]


def test_samples_cover_every_alert_kind() -> None:
    documents = sample_documents()
    assert [documents[kind].alerts[0].kind.value for kind in KINDS] == KINDS


def test_preview_writes_a_slack_payload_and_an_email_per_kind(tmp_path: Path) -> None:
    written = write_previews(tmp_path)
    assert len(written) == 2 * len(sample_documents()) + 1
    for kind in [*KINDS, "several"]:
        payload = json.loads((tmp_path / "slack" / f"{kind}.json").read_text())
        assert payload["text"]
        assert payload["blocks"][0]["type"] == "header"
        assert payload["blocks"][-1]["type"] == "context"
        subject, _, body = (tmp_path / "email" / f"{kind}.txt").read_text().partition("\n\n")
        assert subject.startswith("Subject: [")
        assert len(subject.removeprefix("Subject: ")) <= SUBJECT_MAX
        assert body.startswith("Quota Sentinel: flashback / main")
    alarm = json.loads((tmp_path / "slack" / "cloudwatch_alarm.json").read_text())
    assert alarm["blocks"][0]["text"]["text"].startswith("🚨 Ops: ")


def section(kind: str) -> str:
    return alert_section_text(sample_documents()[kind].alerts[0])


def test_escalation_shows_usage_bar_and_levels_and_reset() -> None:
    text = section("escalated")
    assert text.splitlines() == [
        "🔴 *Monthly egress* — Escalated · warning → critical",
        "`█████████░` *98%* · 1.96 GiB of 2 GiB · 45.3 MiB left",
        "Period: monthly · resets 2026-12-01 00:00 UTC",
    ]


def test_good_news_looks_like_good_news() -> None:
    assert section("resolved").startswith("✅ *Monthly egress* — Resolved · warning → ok")
    assert section("check_recovered").startswith("✅ *Quota check* — Check recovered")


def test_check_failed_says_the_reason_and_what_to_do() -> None:
    text = section("check_failed")
    assert text.startswith("❌ *Quota check* — Check failed")
    assert "API key rejected" in text
    assert "👉 Check or rotate the API key in SSM parameter /quota-sentinel/flashback/main." in text


def test_provider_text_is_escaped_for_mrkdwn() -> None:
    base = sample_documents()["escalated"]
    odd = base.alerts[0].model_copy(update={"name": "<!channel> & co"})
    assert "&lt;!channel&gt; &amp; co" in alert_section_text(odd)


@pytest.mark.parametrize("count", [1, 48, 49, 60])
def test_block_count_never_exceeds_fifty(count: int) -> None:
    base = sample_documents()["escalated"]
    alerts = [base.alerts[0].model_copy(update={"id": f"id-{i}"}) for i in range(count)]
    blocks = render_alert_document(AlertDocument.build("p", "a", base.checked_at, alerts))["blocks"]
    assert len(blocks) <= 50
    sections = [b for b in blocks if b["type"] == "section"]
    shown = min(count, 48) if count <= 48 else 47
    assert len(sections) == (shown if count <= 48 else shown + 1)
