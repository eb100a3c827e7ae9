"""`check` against a loopback provider API (pytest-httpserver): exit codes per level, failures, no secret
printed; and, on the real local stack, state kept between checks and shown by `status`."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from cli.main import main
from tests.conftest import load_fixture

pytestmark = pytest.mark.integration

KEY = "fb-live-7Qx9-never-print-me"
EGRESS_MAX = 2147483648


def body_at(egress_percent: float) -> dict[str, Any]:
    body = copy.deepcopy(load_fixture("provider_flashback_ok.json"))
    body["quotaUsage"][1]["usage"]["current"] = int(EGRESS_MAX * egress_percent / 100)
    return body


@pytest.fixture
def accounts(tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FLASHBACK_KEY", KEY)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    path = tmp_path / "accounts.json"
    base_url = f"http://127.0.0.1:{httpserver.port}"
    path.write_text(json.dumps([{"name": "main", "base_url": base_url, "api_key": {"env": "FLASHBACK_KEY"}}]))
    return path


def serve(httpserver: HTTPServer, status: int = 200, body: Any = None) -> None:
    httpserver.clear_all_handlers()
    httpserver.expect_request("/user/quota", headers={"Authorization": f"Bearer {KEY}"}).respond_with_json(
        body, status=status
    )


def run(tmp_path: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--no-color", "--state-dir", str(tmp_path / "state"), *argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def dry_run(tmp_path: Path, accounts: Path) -> tuple[int, str, str]:
    return run(tmp_path, "check", "--provider", "flashback", "--accounts", str(accounts), "--dry-run")


@pytest.mark.parametrize(
    ("percent", "code", "level"),
    [(50, 0, "OK"), (83, 1, "WARNING"), (97, 2, "CRITICAL"), (100, 2, "CRITICAL")],
)
def test_dry_run_exit_code_follows_the_highest_level(
    percent: float, code: int, level: str, tmp_path: Path, accounts: Path, httpserver: HTTPServer
) -> None:
    serve(httpserver, body=body_at(percent))
    result, out, err = dry_run(tmp_path, accounts)
    assert (result, err) == (code, "")
    # Piped, the monitoring-plugin line comes first (Nagios reads only that), with the perfdata.
    first = out.splitlines()[0]
    assert first.startswith(f"QUOTA {level} - ")
    assert f"'flashback/main EGRESS_MONTHLY_BYTES'={percent}%;80;95;0;100" in first
    assert "flashback/main: ✓ 2 metric(s)" in out
    assert KEY not in out
    assert not (tmp_path / "state" / "dynamodb").exists()  # a dry run keeps nothing


def test_dry_run_prints_each_alert_as_email_and_slack_but_sends_nothing(
    tmp_path: Path, accounts: Path, httpserver: HTTPServer
) -> None:
    serve(httpserver, body=body_at(97))
    _, out, _ = dry_run(tmp_path, accounts)
    assert "▶ alert (dry run, not sent)  flashback/main  triggered EGRESS_MONTHLY_BYTES  [routed as critical]" in out
    assert "Subject: [CRITICAL] flashback/main: Monthly egress 97% used" in out
    assert "🔴 Flashback main: Monthly egress 97% used — 61.4 MiB of 2 GiB left, resets monthly" in out
    assert len(httpserver.log) == 1


def test_rejected_key_is_unknown_with_the_reason(tmp_path: Path, accounts: Path, httpserver: HTTPServer) -> None:
    serve(httpserver, status=401, body=load_fixture("provider_flashback_401.json"))
    code, out, _ = dry_run(tmp_path, accounts)
    assert code == 3
    assert "flashback/main: ✗ check failed: auth: HTTP 401: NO_AUTH_USER" in out
    assert "check_failed" in out
    assert out.splitlines()[0] == "QUOTA UNKNOWN - 0 of 0 metric(s) above ok; 1 check(s) failing"
    assert KEY not in out


def test_unreachable_provider_is_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASHBACK_KEY", KEY)
    path = tmp_path / "accounts.json"
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    path.write_text(
        json.dumps([{"name": "main", "base_url": "http://127.0.0.1:9", "api_key": {"env": "FLASHBACK_KEY"}}])
    )
    code, out, _ = dry_run(tmp_path, path)
    assert code == 3
    assert "check failed: unavailable" in out


def test_check_keeps_state_in_the_local_stack_and_status_shows_it(
    tmp_path: Path, accounts: Path, httpserver: HTTPServer
) -> None:
    serve(httpserver, body=body_at(83))
    check = ("check", "--provider", "flashback", "--accounts", str(accounts))

    code, out, err = run(tmp_path, *check)
    assert (code, err) == (1, "")
    assert "▶ alert  flashback/main  triggered EGRESS_MONTHLY_BYTES  [routed as warning]" in out
    assert "Subject: [WARNING] flashback/main: Monthly egress 83% used" in out
    assert "💬 Slack  (SlackNotifierFunction → loopback webhook)" in out

    code, out, err = run(tmp_path, *check)  # unchanged: no second alert
    assert (code, err) == (1, "")
    assert "▶ alert" not in out
    assert "StateTable              table quota-sentinel-state (exists)" in out

    code, out, err = run(tmp_path, "status")
    assert (code, err) == (1, "")
    assert out.splitlines()[0].startswith("QUOTA WARNING - 1 of 2 metric(s) above ok")
    table = out[out.index("PROVIDER/ACCOUNT") :].splitlines()
    assert "LAST CHECKED (UTC)" in table[0]
    rows = [line for line in table[2:] if line.strip()]
    assert rows[0].split()[:3] == ["flashback/main", "Monthly", "egress"]  # no unit words in names
    assert "83%" in rows[0]

    code, out, err = run(tmp_path, "status", "--json")
    assert (code, err) == (1, "")
    document = json.loads(out)
    assert document["status"] == "WARNING"
    assert [(m["metric"], m["level"]) for m in document["metrics"]] == [
        ("EGRESS_MONTHLY_BYTES", "warning"),
        ("STORAGE_TOTAL_BYTES", "ok"),
    ]
    assert all(m["last_checked"] for m in document["metrics"])
    assert (tmp_path / "state" / "logs" / "check.log").stat().st_size > 0
    assert KEY not in out
