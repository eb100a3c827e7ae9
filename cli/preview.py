"""`make preview`: what people read, from the real pipeline, as Slack Block Kit (JSON) and email (text).

One document per alert kind, a multi-alert message, failures, a test alert, forecasts and ops alarms
(cli.samples builds them with the real adapters, evaluator and document building). Open the Slack
files in Block Kit Builder (paste the JSON) and read the emails as they would arrive.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cli.samples import sample_alarms, sample_documents
from shared.models import AlertDocument
from shared.wording.alarms import render_cloudwatch_alarm
from shared.wording.email import email_body, email_subject
from shared.wording.slack import render_alert_document


def email_text(document: AlertDocument) -> str:
    return f"Subject: {email_subject(document)}\n\n{email_body(document)}\n"


def slack_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def alarm_email_text(alarm: dict[str, Any]) -> str:
    """What an email subscriber of the ops topic reads: CloudWatch's own message, around the AlarmDescription."""
    return (
        f'Subject: ALARM: "{alarm["AlarmName"]}" in {alarm["Region"]}\n\n'
        f"Alarm Details:\n- Name: {alarm['AlarmName']}\n- Description: {alarm['AlarmDescription']}\n"
        f"- State Change: {alarm['OldStateValue']} -> {alarm['NewStateValue']}\n"
        f"- Reason for State Change: {alarm['NewStateReason']}\n- Timestamp: {alarm['StateChangeTime']}\n"
    )


def previews() -> dict[str, str]:
    """Relative path → text, for every preview."""
    found: dict[str, str] = {}
    for kind, document in sample_documents().items():
        found[f"slack/{kind}.json"] = slack_json(render_alert_document(document))
        found[f"email/{kind}.txt"] = email_text(document)
    for name, alarm in sample_alarms().items():
        found[f"slack/{name}.json"] = slack_json(render_cloudwatch_alarm(alarm))
        found[f"email/{name}.txt"] = alarm_email_text(alarm)
    return found


def write_previews(folder: Path) -> list[Path]:
    written: list[Path] = []
    for relative, text in previews().items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", default="preview", type=Path)
    folder = parser.parse_args().folder
    from shared.observability import logger

    logger.setLevel("WARNING")  # the test alert runs through the real runner, which logs its run
    written = write_previews(folder)
    print(f"wrote {len(written)} previews to {folder}/ (slack/*.json, email/*.txt)")


if __name__ == "__main__":
    main()
