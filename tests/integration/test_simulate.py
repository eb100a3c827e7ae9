"""`simulate`, the path `make run` takes, as a user runs it: a separate process, the real local stack,
the real handlers. It must show alerts of several kinds from several providers, both channels, the
status table, and stop everything it started, also on Ctrl-C and SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.providers import PROVIDER_IDS

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
ALERT_LINE = re.compile(r"^\s*▶ alert\s+(\w+)/(\S+)\s+(.+?)\s+\[(?:routed as )?(\w+)\]$")
KINDS = {"triggered", "escalated", "improved", "resolved", "renotify", "check_failed", "check_recovered", "forecast"}


def environment() -> dict[str, str]:
    """The user's environment, without anything that would point the run elsewhere."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "SLACK_WEBHOOK_URL")) and name not in ("ACCOUNTS", "ACCOUNTS_PARAMETER")
    }
    return env | {"NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}


def simulate(tmp_path: Path, *argv: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "cli", "--state-dir", str(tmp_path), "simulate", *argv]
    return subprocess.Popen(
        command, cwd=REPO_ROOT, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def dynamodb_pid(output: str) -> int:
    match = re.search(r"DynamoDB Local\s+\S+\s+pid (\d+)", output)
    assert match, output
    return int(match[1])


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_five_ticks_show_alerts_of_many_kinds_from_many_providers_then_the_status(tmp_path: Path) -> None:
    started = time.monotonic()
    process = simulate(tmp_path, "--ticks", "5")
    out, err = process.communicate(timeout=180)
    seconds = time.monotonic() - started
    assert process.returncode == 0, err
    assert err == ""
    assert seconds < 180

    alerts = [ALERT_LINE.match(line) for line in out.splitlines()]
    arrived = [match for match in alerts if match]
    kinds = {word.rstrip(",") for match in arrived for word in match[3].split() if word.rstrip(",") in KINDS}
    providers = {match[1] for match in arrived}
    assert len(kinds) >= 4, kinds
    assert len(providers) >= 4, providers
    assert {"triggered", "escalated", "check_failed", "check_recovered"} <= kinds

    # Each alert arrives on both channels: the email text and Slack as the real notifier posted it.
    assert out.count("╭─ ✉  email") == len(arrived)
    assert out.count("Subject: [") == len(arrived)
    assert out.count("╭─ 💬 Slack  (SlackNotifierFunction → loopback webhook)") == len(arrived)
    assert f"Slack: {len(arrived)} delivered, 0 duplicates skipped, 0 failed" in out

    # Provisioned from the template, run as the template says, one tick after the other.
    assert "table quota-sentinel-state (from template.yaml StateTable)" in out
    for provider in PROVIDER_IDS:
        assert f"{provider.capitalize()}Function" in out
    assert [int(n) for n in re.findall(r"━━ tick (\d+)/5", out)] == [1, 2, 3, 4, 5]

    # The status table lists every provider's metrics with a bar, then the plugin line.
    table = out[out.index("PROVIDER/ACCOUNT") :]
    for provider in PROVIDER_IDS:
        assert f"{provider}/" in table
    assert "█" in table
    assert re.search(r"^QUOTA (OK|WARNING|CRITICAL|UNKNOWN) - ", out, re.MULTILINE)
    assert "stopped. Done in" in out
    assert gone(dynamodb_pid(out))
    assert (tmp_path / "logs" / "simulate.log").stat().st_size > 0


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_interrupt_stops_everything_it_started(tmp_path: Path, signum: signal.Signals, code: int) -> None:
    process = simulate(tmp_path)
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + 120
    while "━━ tick 1/" not in seen and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen += line
    assert "━━ tick 1/" in seen, seen
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code
    assert "everything it started is stopped" in err
    assert gone(dynamodb_pid(seen))
    assert "Traceback" not in err


def test_the_full_demo_forecasts_a_burning_quota_before_its_threshold_in_under_a_minute(tmp_path: Path) -> None:
    started = time.monotonic()
    process = simulate(tmp_path)  # every tick of the script, half an hour apart on the simulated clock
    out, err = process.communicate(timeout=180)
    seconds = time.monotonic() - started
    assert process.returncode == 0, err
    assert seconds < 60, f"the demo took {seconds:.0f} s"
    assert "(simulated, 30 min per tick)" in out
    storage = [
        (index, match[3])
        for index, match in enumerate(ALERT_LINE.match(line) for line in out.splitlines())
        if match and match[1] == "flashback" and "STORAGE_TOTAL_BYTES" in match[3]
    ]
    kinds = [next(word.rstrip(",") for word in alerts.split() if word.rstrip(",") in {"forecast", "triggered"})
             for _, alerts in storage]  # fmt: skip
    assert kinds == ["forecast", "triggered"], storage
    assert "runs out in about 2 hours" in out  # the forecast's words, in the email and in Slack
    table = out[out.index("PROVIDER/ACCOUNT") :]
    assert "RUNS OUT (UTC)" in table
    assert re.search(r"Total storage available .* 2 h \(\w{3} \d\d \w{3} \d\d:\d\d\)", table), table
    assert gone(dynamodb_pid(out))
