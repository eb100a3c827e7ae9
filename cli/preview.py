"""`make preview`: render every alert kind as Slack Block Kit (JSON) and as email (text) into a folder.

Open the Slack files in Block Kit Builder (paste the JSON) and read the emails as they would arrive.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cli.samples import sample_cloudwatch_alarm, sample_documents
from shared.messages import email_body, email_subject
from shared.slack import render_alert_document, render_cloudwatch_alarm


def write_previews(folder: Path) -> list[Path]:
    written: list[Path] = []
    (folder / "slack").mkdir(parents=True, exist_ok=True)
    (folder / "email").mkdir(parents=True, exist_ok=True)
    for kind, document in sample_documents().items():
        slack = folder / "slack" / f"{kind}.json"
        slack.write_text(json.dumps(render_alert_document(document), ensure_ascii=False, indent=2) + "\n")
        email = folder / "email" / f"{kind}.txt"
        email.write_text(f"Subject: {email_subject(document)}\n\n{email_body(document)}\n")
        written += [slack, email]
    alarm = folder / "slack" / "cloudwatch_alarm.json"
    alarm.write_text(
        json.dumps(render_cloudwatch_alarm(sample_cloudwatch_alarm()), ensure_ascii=False, indent=2) + "\n"
    )
    written.append(alarm)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", default="preview", type=Path)
    folder = parser.parse_args().folder
    written = write_previews(folder)
    print(f"wrote {len(written)} previews to {folder}/ (slack/*.json, email/*.txt)")


if __name__ == "__main__":
    main()
