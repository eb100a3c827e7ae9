"""`make scan`: checkov over template.yaml and its SAM translations, offline, against a checked-in baseline.

Runs in .venv-scan (checkov's pins clash with SAM's) with the standard library only:

    .venv-scan/bin/python local/deploy/scan.py template.yaml local/deploy/checkov-baseline.json

The translations (build/deploy-check/*.json, from `make deploy-translate`) are scanned too, because the
IAM roles exist only there. Every failed check must be listed in the baseline for its logical id, with a
reason; a listed entry that no longer matches a finding fails as well, so the baseline stays true.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHECKOV = Path(sys.executable).with_name("checkov")
TRANSLATED_DIR = Path("build/deploy-check")


def failed_checks(path: Path) -> set[tuple[str, str]]:
    """(check id, logical id) of every failed check in one template."""
    command = [str(CHECKOV), "-f", str(path), "--framework", "cloudformation", "--skip-download", "--quiet",
               "--compact", "-o", "json"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - fixed command
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise SystemExit(f"checkov failed on {path} ({result.returncode}):\n{result.stderr[-2000:]}")
    reports = json.loads(result.stdout)
    findings = set()
    for report in reports if isinstance(reports, list) else [reports]:
        if report.get("summary", {}).get("parsing_errors"):
            raise SystemExit(f"checkov could not parse {path}")
        for check in report.get("results", {}).get("failed_checks", []):
            findings.add((check["check_id"], check["resource"].rsplit(".", 1)[-1]))
    return findings


def main(template: str, baseline_path: str) -> int:
    baseline = json.loads(Path(baseline_path).read_text())["accepted"]
    accepted = {(check, resource) for check, entry in baseline.items() for resource in entry["resources"]}
    missing_reason = [check for check, entry in baseline.items() if not entry.get("reason", "").strip()]
    findings = failed_checks(Path(template))
    translations = sorted(TRANSLATED_DIR.glob("*.json"))
    if not translations:
        raise SystemExit(f"no translations in {TRANSLATED_DIR}: run `make deploy-translate` first")
    with tempfile.TemporaryDirectory() as scratch:
        for translation in translations:
            plain = Path(scratch) / translation.name
            plain.write_text(json.dumps(json.loads(translation.read_text())["template"]))
            findings |= failed_checks(plain)
    new = sorted(findings - accepted)
    stale = sorted(accepted - findings)
    for check, resource in new:
        print(f"NEW   {check} {resource}: fix it, or add it to {baseline_path} with a reason")
    for check, resource in stale:
        print(f"STALE {check} {resource}: no longer found; remove it from {baseline_path}")
    for check in missing_reason:
        print(f"NO REASON {check}: every baseline entry needs a one-line reason")
    scanned = 1 + len(translations)
    print(f"checkov: {len(findings)} findings in {scanned} templates, all in the baseline" if not (new or stale or
          missing_reason) else f"checkov: {len(new)} new, {len(stale)} stale")  # fmt: skip
    return 1 if new or stale or missing_reason else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
