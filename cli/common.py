"""What the commands share: exit codes, errors, the state folder, its lock, its rotating log, Slack target."""

from __future__ import annotations

import contextlib
import fcntl
import io
import logging.handlers
import os
from collections.abc import Iterator
from enum import IntEnum
from pathlib import Path
from typing import IO, TextIO

from local import REPO_ROOT
from shared.config import validate_base_url

DEFAULT_STATE_DIR = REPO_ROOT / ".local"
LOG_MAX_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 3


class ExitStatus(IntEnum):
    """The monitoring-plugin convention (Nagios, Icinga, Sensu)."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


class CliError(Exception):
    """A configuration or usage problem, told in one clear sentence. Exit 3."""


class UsageError(CliError):
    """The command line itself is wrong."""


class Terminated(BaseException):
    """SIGTERM: unwinds like Ctrl-C, so every ``finally`` stops what it started."""


def display_path(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)


@contextlib.contextmanager
def state_lock(state_dir: Path, on_wait: IO[str] | None = None) -> Iterator[None]:
    """One command at a time on the file-backed state: DynamoDB Local holds its database file open."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                print(
                    f"Waiting for another quota-sentinel command that uses {display_path(state_dir)} ...", file=on_wait
                )
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class RotatingLog(io.TextIOBase):
    """A text stream for the functions' logs that rotates like ``RotatingFileHandler``: ``check.log``,
    ``check.log.1`` ... ``check.log.<backups>``, none past ``max_bytes``, so ``.local/logs`` stays bounded.
    """

    def __init__(self, path: Path, max_bytes: int = LOG_MAX_BYTES, backups: int = LOG_BACKUPS) -> None:
        super().__init__()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        self._max_bytes = max_bytes

    def _stream(self) -> TextIO:
        stream = self._handler.stream
        if stream is None:  # after a rollover with delay; RotatingFileHandler reopens lazily
            stream = self._handler.stream = self._handler._open()
        return stream

    def write(self, text: str) -> int:
        stream = self._stream()
        if stream.tell() and stream.tell() + len(text.encode("utf-8", "replace")) > self._max_bytes:
            self._handler.doRollover()
            stream = self._stream()
        stream.write(text)
        return len(text)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        if self._handler.stream is not None:
            self._handler.stream.flush()

    def close(self) -> None:
        self._handler.close()
        super().close()


def slack_target() -> str | None:
    """The real webhook from SLACK_WEBHOOK_URL, validated; None for the loopback receiver."""
    url = os.environ.get("SLACK_WEBHOOK_URL", "").strip()
    if not url:
        return None
    try:
        validate_base_url(url)
    except ValueError as error:
        raise CliError(f"SLACK_WEBHOOK_URL: the webhook URL {error}") from None
    return url
