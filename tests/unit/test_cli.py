"""The command line without a socket: usage and configuration errors, exit codes, the template reading,
the simulator's script and bodies, and the terminal rendering.

Every error here must be found before anything is started or called: a fixture makes any socket
connection fail the test.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console

from cli import version
from cli.common import ExitStatus, RotatingLog
from cli.main import main
from cli.render import slack_lines, status_rows, status_table
from cli.samples import sample_documents
from cli.status import default_thresholds, perfdata, plugin_line, plugin_status
from local import simulator
from local.provision import TemplateView
from shared.config import AccountConfig, Policy
from shared.evaluation import AccountRef, evaluate
from shared.http import HttpResult
from shared.key_references import EnvKey
from shared.models import AccountState, Alert, FailureReason, ProviderError
from shared.providers import PROVIDER_IDS, get_adapter, interpret
from shared.wording.slack import render_alert_document

SECRET = "fb-live-do-not-print-me-42"


@pytest.fixture(autouse=True)
def _no_slack_webhook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)


def run(argv: list[str], tmp_path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--state-dir", str(tmp_path / "state"), *argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def accounts_file(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "accounts.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def check(tmp_path: Path, path: Path, provider: str = "flashback", *extra: str) -> tuple[int, str, str]:
    return run(["check", "--provider", provider, "--accounts", str(path), "--dry-run", *extra], tmp_path)


# ------------------------------------------------------------------------------------------ usage errors


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["check", "--provider", "acme", "--accounts", "a.json"], "invalid choice: 'acme'"),
        (["check", "--provider", "flashback"], "the following arguments are required: --accounts"),
        (["check", "--accounts", "a.json"], "the following arguments are required: --provider"),
        (["simulate", "--ticks", "0"], "must be from 1 to 8"),
        (["simulate", "--ticks", "99"], "must be from 1 to 8"),
        (["simulate", "--ticks", "many"], "not a whole number"),
        (["status", "--verbose"], "unrecognized arguments: --verbose"),
    ],
)
def test_usage_errors_exit_3_not_argparse_2(argv: list[str], said: str, tmp_path: Path) -> None:
    code, out, err = run(argv, tmp_path)
    assert code == ExitStatus.UNKNOWN == 3
    assert said in err
    assert "usage: quota-sentinel" in err
    assert out == ""


def test_help_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"], tmp_path)[0] == 0
    assert "Exit codes: 0 ok, 1 warning, 2 critical or exhausted, 3 unknown" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------ configuration errors


def test_missing_accounts_file_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = check(tmp_path, tmp_path / "nope.json")
    assert code == 3
    assert err.strip() == f"quota-sentinel: error: accounts file {tmp_path / 'nope.json'}: not found"


def test_accounts_file_that_is_not_json_names_line_and_column(tmp_path: Path) -> None:
    code, _, err = check(tmp_path, accounts_file(tmp_path, '[{"name": "main",\n  api_key: 1}]'))
    assert code == 3
    assert "accounts.json: not valid JSON (line 2, column 3)" in err


def test_invalid_field_is_named_and_its_value_never_echoed(tmp_path: Path) -> None:
    path = accounts_file(
        tmp_path, [{"name": "main", "base_url": f"http://example.com/{SECRET}", "api_key": {"env": "FLASHBACK_KEY"}}]
    )
    code, out, err = check(tmp_path, path)
    assert code == 3
    assert "accounts.json[0].base_url: Value error, must use https" in err
    assert SECRET not in out + err


def test_empty_accounts_list_is_refused(tmp_path: Path) -> None:
    code, _, err = check(tmp_path, accounts_file(tmp_path, []))
    assert code == 3
    assert "lists no accounts" in err


def test_missing_key_variable_says_which_and_how(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLASHBACK_KEY", raising=False)
    path = accounts_file(tmp_path, [{"name": "main", "api_key": {"env": "FLASHBACK_KEY"}}])
    code, out, err = check(tmp_path, path)
    assert code == 3
    assert "the API key is read from the environment variable FLASHBACK_KEY, which is not set" in err
    assert "export FLASHBACK_KEY=" in err
    assert out == ""


def test_empty_key_variable_counts_as_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASHBACK_KEY", "  ")
    path = accounts_file(tmp_path, [{"name": "main", "api_key": {"env": "FLASHBACK_KEY"}}])
    assert check(tmp_path, path)[0] == 3


def test_ssm_key_is_refused_for_a_local_check(tmp_path: Path) -> None:
    path = accounts_file(tmp_path, [{"name": "main", "api_key": {"ssm": "/quota-sentinel/flashback/main"}}])
    code, _, err = check(tmp_path, path)
    assert code == 3
    assert "[0] (main).api_key: a local check reads the key from an environment variable" in err


def test_onlyoffice_needs_its_portal_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCSPACE_KEY", SECRET)
    path = accounts_file(tmp_path, [{"name": "portal", "api_key": {"env": "DOCSPACE_KEY"}}])
    code, out, err = check(tmp_path, path, "onlyoffice")
    assert code == 3
    assert "(portal).base_url: required for provider onlyoffice" in err
    assert SECRET not in out + err


def test_thresholds_in_the_wrong_order_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASHBACK_KEY", SECRET)
    account = {"name": "main", "api_key": {"env": "FLASHBACK_KEY"}, "thresholds": {"warning": 90, "critical": 80}}
    code, _, err = check(tmp_path, accounts_file(tmp_path, [account]))
    assert code == 3
    assert "accounts.json[0].thresholds: warning (90) must be below critical (80)" in err


def test_bad_threshold_variable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASHBACK_KEY", SECRET)
    monkeypatch.setenv("WARNING_PERCENT", "lots")
    code, _, err = check(tmp_path, accounts_file(tmp_path, [{"name": "main", "api_key": {"env": "FLASHBACK_KEY"}}]))
    assert code == 3
    assert "WARNING_PERCENT" in err


def test_slack_webhook_url_must_be_https(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", f"http://hooks.example.com/services/{SECRET}")
    code, out, err = run(["simulate", "--ticks", "1"], tmp_path)
    assert code == 3
    assert "SLACK_WEBHOOK_URL: the webhook URL must use https" in err
    assert SECRET not in out + err


def test_status_without_any_state_is_unknown_and_says_what_to_do(tmp_path: Path) -> None:
    code, out, _ = run(["status"], tmp_path)
    assert code == ExitStatus.UNKNOWN
    assert out.startswith("QUOTA UNKNOWN - No state yet")
    assert "quota-sentinel check" in out


def test_status_json_without_state_is_one_document_and_exit_3(tmp_path: Path) -> None:
    code, out, _ = run(["status", "--json"], tmp_path)
    assert code == 3
    document = json.loads(out)
    assert (document["status"], document["exit_code"]) == ("UNKNOWN", 3)


def test_state_dir_is_accepted_after_the_command(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["status", "--state-dir", str(tmp_path / "elsewhere"), "--no-color"], stdout=out, stderr=err)
    assert (code, err.getvalue()) == (3, "")
    assert "elsewhere" in out.getvalue()


def test_version_names_the_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"], tmp_path)[0] == 0
    assert capsys.readouterr().out.strip() == f"quota-sentinel {version()}"


def test_the_functions_log_rotates_instead_of_growing(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "check.log"
    for _ in range(30):
        with RotatingLog(path, max_bytes=1000, backups=2) as log:
            log.write("x" * 99 + "\n")
            log.write("y" * 99 + "\n")
    kept = sorted(p.name for p in path.parent.iterdir())
    assert kept == ["check.log", "check.log.1", "check.log.2"]
    assert all(p.stat().st_size <= 1000 for p in path.parent.iterdir())
    assert path.read_text().endswith("y" * 99 + "\n")  # the newest lines are in the current file


# ------------------------------------------------------------------------------------------ exit codes


def _state(levels: dict[str, str], failing: bool = False) -> AccountState:
    metrics = {
        metric: {"level": level, "name": metric, "used": 1, "limit": 10, "percent": 10}
        for metric, level in levels.items()
    }
    failure = (
        {
            "reason": "auth",
            "message": "HTTP 401",
            "consecutive": 1,
            "transient_consecutive": 0,
            "since": datetime.now(UTC),
        }
        if failing
        else None
    )
    return AccountState.model_validate({"metrics": metrics, "failure": failure})


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([_state({"a": "ok", "b": "ok"})], ExitStatus.OK),
        ([_state({"a": "ok", "b": "warning"})], ExitStatus.WARNING),
        ([_state({"a": "critical"})], ExitStatus.CRITICAL),
        ([_state({"a": "exhausted"})], ExitStatus.CRITICAL),
        ([_state({"a": "warning"}, failing=True)], ExitStatus.UNKNOWN),
        ([_state({"a": "critical"}), _state({}, failing=True)], ExitStatus.CRITICAL),
        ([], ExitStatus.OK),
    ],
)
def test_plugin_status_critical_then_unknown_then_warning(states: list[AccountState], expected: ExitStatus) -> None:
    failing = sum(state.failure is not None for state in states)
    assert plugin_status(states, failing) is expected


def test_plugin_line_names_the_worst_metrics() -> None:
    rows = status_rows("flashback", "main", _state({"egress": "critical", "storage": "ok"}))
    assert plugin_line(ExitStatus.CRITICAL, rows, 0) == (
        "QUOTA CRITICAL - 1 of 2 metric(s) above ok; flashback/main egress critical"
    )


def test_perfdata_gives_percent_and_thresholds_per_metric_sorted() -> None:
    state = AccountState.model_validate(
        {
            "metrics": {
                "EGRESS_MONTHLY_BYTES": {
                    "level": "critical",
                    "name": "Egress",
                    "used": 97,
                    "limit": 100,
                    "percent": 97,
                },
                "SEATS": {"level": "ok", "name": "Seats", "used": 3, "limit": None, "percent": None},
                "A'B": {"level": "ok", "name": "Quote", "used": 1, "limit": 3, "percent": 100 / 3},
            }
        }
    )
    line = perfdata({("flashback", "main"): state}, default_thresholds({}))
    assert line == "'flashback/main A''B'=33.33%;80;95;0;100 'flashback/main EGRESS_MONTHLY_BYTES'=97%;80;95;0;100"
    assert perfdata({("flashback", "main"): state}, default_thresholds({"WARNING_PERCENT": "70"})).count(";70;95;") == 2


# ------------------------------------------------------------------------------------------ template.yaml


TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "FlashbackAccountsParameter": {"Type": "String", "Default": "/quota-sentinel/flashback/accounts"},
        "WarningPercent": {"Type": "Number", "Default": 80},
        "Tracing": {"Type": "String", "Default": "Disabled"},
        "SlackMinSeverity": {"Type": "String", "Default": "critical"},
    },
    "Mappings": {"SeverityAtLeast": {"critical": {"Levels": ["critical", "exhausted"]}}},
    "Conditions": {"TracingActive": {"Fn::Equals": [{"Ref": "Tracing"}, "Active"]}},
    "Globals": {
        "Function": {
            "Timeout": 60,
            "Environment": {
                "Variables": {
                    "POWERTOOLS_SERVICE_NAME": "quota-sentinel",
                    "POWERTOOLS_TRACE_DISABLED": {"Fn::If": ["TracingActive", "false", "true"]},
                }
            },
        }
    },
    "Resources": {
        "FlashbackFunction": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Environment": {
                    "Variables": {
                        "STATE_TABLE_NAME": {"Ref": "StateTable"},
                        "ALERT_TOPIC_ARN": {"Ref": "AlertTopic"},
                        "ACCOUNTS_PARAMETER": {"Ref": "FlashbackAccountsParameter"},
                        "WARNING_PERCENT": {"Ref": "WarningPercent"},
                        "KEY_ARN": {"Fn::GetAtt": ["Key", "Arn"]},
                    }
                }
            },
        },
        "SlackNotifierFunction": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Timeout": 30,
                "Events": {
                    "Alerts": {
                        "Type": "SNS",
                        "Properties": {
                            "Topic": {"Ref": "AlertTopic"},
                            "FilterPolicy": {
                                "severity": {
                                    "Fn::FindInMap": ["SeverityAtLeast", {"Ref": "SlackMinSeverity"}, "Levels"]
                                }
                            },
                        },
                    }
                },
            },
        },
        "AlertTopic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "Alerts", "KmsMasterKeyId": "k"}},
    },
}
REFS = {"StateTable": "quota-sentinel-state", "AlertTopic": "arn:aws:sns:us-east-1:123456789012:quota-sentinel-alerts"}


def test_function_environment_resolves_refs_ifs_and_parameter_defaults() -> None:
    view = TemplateView(TEMPLATE, REFS)
    assert view.function_environment("FlashbackFunction") == {
        "POWERTOOLS_SERVICE_NAME": "quota-sentinel",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "STATE_TABLE_NAME": "quota-sentinel-state",
        "ALERT_TOPIC_ARN": REFS["AlertTopic"],
        "ACCOUNTS_PARAMETER": "/quota-sentinel/flashback/accounts",
        "WARNING_PERCENT": "80",
    }
    assert view.notes == ["FlashbackFunction: KEY_ARN has no local value; left unset"]


def test_filter_policies_timeouts_and_topic_attributes_come_from_the_template() -> None:
    view = TemplateView(TEMPLATE, REFS)
    assert view.sns_event_filter("SlackNotifierFunction") == (
        "SlackNotifierFunction.Events.Alerts",
        {"severity": ["critical", "exhausted"]},
    )
    assert view.email_filter() == ("no email subscription in template.yaml", None)
    assert view.function_timeout("SlackNotifierFunction") == 30
    assert view.function_timeout("FlashbackFunction") == 60
    assert view.topic_attributes() == {"DisplayName": "Alerts"}  # no KMS locally


def test_an_empty_or_partial_template_falls_back_to_the_contract() -> None:
    view = TemplateView({}, REFS)
    assert view.function_environment("FlashbackFunction") == {}
    assert view.parameter_default("FlashbackAccountsParameter", "/fallback") == "/fallback"
    assert view.sns_event_filter("SlackNotifierFunction")[1] is None
    assert view.function_timeout("FlashbackFunction") == 60


def test_the_real_template_gives_every_provider_function_its_contract_variables() -> None:
    view = TemplateView.load(REFS)
    for provider in PROVIDER_IDS:
        environment = view.function_environment(f"{provider.capitalize()}Function")
        # The template is being rewritten: whatever it holds must resolve to the contract's names.
        if "STATE_TABLE_NAME" in environment:
            assert environment["STATE_TABLE_NAME"] == REFS["StateTable"]
        if "ALERT_TOPIC_ARN" in environment:
            assert environment["ALERT_TOPIC_ARN"] == REFS["AlertTopic"]


# ------------------------------------------------------------------------------------------ the simulator


NOW = datetime(2026, 11, 22, 10, tzinfo=UTC)


def _outcome(provider: str, tick: int) -> Any:
    response = simulator.scripted_response(provider, tick, NOW)
    result = HttpResult(response.status, response.body, json.dumps(response.body), "application/json")
    try:
        return interpret(get_adapter(provider), result, [])
    except ProviderError as error:
        return error


@pytest.mark.parametrize("provider", PROVIDER_IDS)
def test_every_scripted_answer_is_read_by_the_real_adapter(provider: str) -> None:
    for tick in range(1, simulator.TICKS + 1):
        outcome = _outcome(provider, tick)
        if isinstance(outcome, ProviderError):
            # Failures are the scripted ones, never an off-schema body.
            assert outcome.reason in (FailureReason.AUTH, FailureReason.RATE_LIMITED, FailureReason.UNAVAILABLE)
        else:
            assert outcome, f"{provider} tick {tick}: no metrics"


def story(ticks: int) -> list[tuple[str, Alert]]:
    """Every alert the evaluator gives over the script's first ``ticks`` ticks."""
    alerts = []
    policy = Policy().for_account(AccountConfig(name="x", api_key=EnvKey(env="K")), "x")
    for provider in PROVIDER_IDS:
        state = None
        for tick in range(1, ticks + 1):
            ref = AccountRef(provider, simulator.ACCOUNTS[provider])
            evaluation = evaluate(_outcome(provider, tick), state, policy, ref, NOW + timedelta(hours=tick))
            state = evaluation.state
            alerts += [(provider, alert) for alert in evaluation.alerts]
    return alerts


def test_five_ticks_already_tell_six_kinds_of_alert_from_every_provider() -> None:
    alerts = story(5)
    kinds = {alert.kind.value for _, alert in alerts}
    assert kinds == {"triggered", "escalated", "improved", "resolved", "check_failed", "check_recovered"}
    assert {provider for provider, _ in alerts} == set(PROVIDER_IDS)


def test_the_whole_script_reaches_exhausted_and_every_failure_recovers() -> None:
    alerts = story(simulator.TICKS)
    assert any(alert.level.value == "exhausted" for _, alert in alerts)
    failed = [provider for provider, alert in alerts if alert.kind.value == "check_failed"]
    recovered = [provider for provider, alert in alerts if alert.kind.value == "check_recovered"]
    assert sorted(failed) == sorted(recovered) == ["bigdata", "chatdoc", "templatedocs"]


def test_simulator_checks_the_key_in_each_providers_own_header() -> None:
    sim = simulator.ProviderSimulator({"bigdata": "k-1", "flashback": "k-2"})
    try:
        assert sim.respond("/bigdata/v1/subscription/quotas", {"x-api-key": "k-1"})[0] == 200
        assert sim.respond("/bigdata/v1/subscription/quotas", {"authorization": "Bearer k-1"})[0] == 401
        assert sim.respond("/flashback/user/quota?x=1", {"authorization": "Bearer k-2"})[0] == 200
        assert sim.respond("/flashback/user/quota", {"authorization": "Bearer wrong"})[1] == {
            "success": False,
            "error_code": "NO_AUTH_USER",
        }
        assert sim.respond("/chatdoc/users/quota", {"authorization": "Bearer k-2"})[0] == 401  # no chatdoc key
        assert sim.respond("/nowhere", {})[0] == 404
        assert sim.requests["flashback"] == 2
    finally:
        sim.stop()


def test_rate_limit_carries_retry_after() -> None:
    response = simulator.scripted_response("templatedocs", 3, NOW)
    assert response.status == 429
    assert response.headers["Retry-After"] == "1"
    assert simulator.tick_notes(3) == [
        "templatedocs rate-limits us (429, Retry-After: 1)",
        "chatdoc rejects the API key (401)",
    ]


# ------------------------------------------------------------------------------------------ terminal rendering


def test_slack_message_renders_as_plain_lines_without_markup() -> None:
    document = sample_documents()["escalated"]
    lines = [line.plain for line in slack_lines(render_alert_document(document))]
    assert lines[0] == "🔴 Flashback main: Monthly egress 97% used — 61.4 MiB of 2 GiB left, resets monthly"
    assert lines[1] == "█████████░ Now critical, was warning."
    assert (
        lines[2]
        == "[Open Flashback] https://flashback.tech  [Runbook] https://wiki.example.com/runbooks/quota-sentinel"
    )
    # Underscores in metric ids are not read as italics, and nothing is lost from the context.
    assert lines[-1].endswith("flashback/main/EGRESS_MONTHLY_BYTES/2026-11-22T10:01:00.000Z")


def _render(rows: list[Any], color: bool) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=color, color_system="standard" if color else None)
    console.print(status_table(rows))
    return out.getvalue().splitlines()


def test_status_table_lines_up_wide_characters_with_and_without_colour() -> None:
    state = AccountState.model_validate(
        {
            "metrics": {
                "EGRESS": {"level": "critical", "name": "Egress", "used": 97, "limit": 100, "percent": 97},
                "SEATS": {"level": "ok", "name": "Seats", "used": 3, "limit": None, "percent": None},
                "ROOMS": {"level": "warning", "name": "📦 会议室 rooms", "used": 9, "limit": 10, "percent": 90},
            }
        }
    )
    rows = status_rows("flashback", "main", state)
    plain = _render(rows, color=False)
    assert "\033[" not in "".join(plain)
    body = [line for line in plain[2:] if line.strip()]
    assert body[0].split()[:8] == ["flashback/main", "Egress", "█████████░", "97%", "97", "of", "100", "critical"]
    assert body[1].split()[:6] == ["Seats", "░░░░░░░░░░", "n/a", "3", "(unlimited)", "ok"]
    # Every row's bar starts at the same terminal column, wide characters included.
    columns = {cell_len(line[: line.index(bar)]) for line, bar in zip(body, ("█", "░", "█"), strict=True)}
    assert len(columns) == 1
    assert "LAST CHECKED (UTC)" in plain[0]
    coloured = _render(rows, color=True)
    assert any("\033[" in line for line in coloured)
    strip = [re.sub(r"\033\[[0-9;]*m", "", line) for line in coloured]
    assert strip == plain


def test_no_colour_when_piped_or_with_no_color(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.render import Terminal

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    Terminal(tty).line(("bold", "bold"))
    assert "\033[" in tty.getvalue()
    piped = io.StringIO()
    Terminal(piped).line(("bold", "bold"))
    assert piped.getvalue() == "bold\n"
    monkeypatch.setenv("NO_COLOR", "1")
    tty = Tty()
    Terminal(tty).line(("red", "red"))
    assert "\033[31" not in tty.getvalue()
