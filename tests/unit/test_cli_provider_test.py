"""`quota-sentinel provider test` without a socket: a bad entry prints the configuration error naming the field
and exits 3, before anything is called (a fixture makes any socket connection fail the test)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from cli.common import ExitStatus
from cli.main import main
from local.custom_demo import custom_entry

SECRET = "pm-live-do-not-print-me-42"


def run(argv: list[str], tmp_path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--state-dir", str(tmp_path / "state"), *argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def spec_file(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "provider.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def entry(**changes: Any) -> dict[str, Any]:
    return {**custom_entry("http://127.0.0.1:9/custom/pagemill", {"env": "PAGEMILL_KEY"}), **changes}


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"metrics": [{"id": "key", "used": "used ||", "limit": "max"}]}, ".metrics[0].used: not a valid JMESPath"),
        ({"id": "Acme!"}, ".id: String should match pattern"),
        ({"id": "flashback"}, ".id: is reserved"),
        ({"request": {"path": "usage"}}, ".request.path: String should match pattern"),
        ({"errors": [{"when": "true", "reason": "broken"}]}, ".errors[0].reason: Input should be"),
        ({"metrics": [{"id": "key", "limit": "max"}]}, ".metrics[0]: give exactly one of used and remaining"),
        ({"accounts": [{"name": "main", "api_key": {"env": SECRET}}]}, ".accounts[0].api_key.env: must be an"),
        ({"colour": "blue"}, ".colour: Extra inputs are not permitted"),
    ],
)
def test_a_bad_spec_names_the_field_and_exits_3(
    change: dict[str, Any], said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAGEMILL_KEY", SECRET)
    path = spec_file(tmp_path, entry(**change))
    code, out, err = run(["provider", "test", str(path)], tmp_path)
    assert code == ExitStatus.UNKNOWN == 3
    assert err.startswith(f"quota-sentinel: error: configuration error: {path}")
    assert said in err
    assert SECRET not in out + err
    assert out == ""


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("{not json", "not valid JSON (line 1, column 2)"),
        ([], "holds 0 entries"),
        (None, "not found"),
    ],
)
def test_an_unreadable_file_exits_3(content: Any, said: str, tmp_path: Path) -> None:
    path = spec_file(tmp_path, content) if content is not None else tmp_path / "missing.json"
    code, _out, err = run(["provider", "test", str(path)], tmp_path)
    assert code == 3
    assert said in err


def test_an_unknown_account_or_a_missing_key_exits_3_before_any_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = spec_file(tmp_path, entry())
    code, _out, err = run(["provider", "test", str(path), "--account", "other"], tmp_path)
    assert (code, err.strip()) == (3, f"quota-sentinel: error: {path}: no account named 'other' (accounts: main)")
    monkeypatch.delenv("PAGEMILL_KEY", raising=False)
    code, _out, err = run(["provider", "test", str(path)], tmp_path)
    assert (code, err.strip()) == (3, "quota-sentinel: error: environment variable PAGEMILL_KEY is not set")


def test_usage_errors_exit_3(tmp_path: Path) -> None:
    for argv, said in [
        (["provider"], "the following arguments are required: SUBCOMMAND"),
        (["provider", "test"], "the following arguments are required: FILE"),
        (["provider", "frobnicate"], "invalid choice: 'frobnicate'"),
    ]:
        code, _out, err = run(argv, tmp_path)
        assert code == 3 and said in err, (argv, err)
