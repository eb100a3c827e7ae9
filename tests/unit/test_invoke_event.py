"""`make invoke` with a bad EVENT file: one line that names the file and the problem, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.invoke import main


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "not found (see infra/events/ for examples)"),
        ("{not json", "is not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2"),
        ("", "is not valid JSON: Expecting value at line 1, column 1"),
        (b"\xff\xfe", "cannot be read (UnicodeDecodeError)"),
    ],
)
@pytest.mark.parametrize("command", ["check-event", "run"])
def test_bad_event_file_is_one_line_without_traceback(
    command: str, content: str | bytes | None, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = tmp_path / "event.json"
    if isinstance(content, bytes):
        event.write_bytes(content)
    elif content is not None:
        event.write_text(content)
    argv = [command, "FlashbackFunction", str(event)] if command == "run" else [command, str(event)]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"make invoke: EVENT file {event} {said}\n"
    assert "Traceback" not in err


def test_a_folder_as_event_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-event", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"make invoke: EVENT {tmp_path} is a directory, not a JSON file\n"


def test_a_good_event_file_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-event", "infra/events/scheduled.json"]) == 0
    assert capsys.readouterr() == ("", "")
