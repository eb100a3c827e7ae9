"""Quota Sentinel from the command line: the local demo, checks against the real provider APIs, the status.

    quota-sentinel simulate [--ticks N]
    quota-sentinel check --provider flashback --accounts accounts.json [--dry-run] [--json]
    quota-sentinel status [--provider flashback] [--json] [--table NAME]
    quota-sentinel history PROVIDER/ACCOUNT [METRIC] [--csv]
    quota-sentinel provider test FILE [--account NAME]

(``python -m cli`` is the same.) Exit codes follow the monitoring-plugin convention: 0 ok, 1 warning,
2 critical or exhausted, 3 unknown (a failed check, no state, a configuration error or a usage error).
"""

from __future__ import annotations

import argparse
import io
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import NoReturn, TextIO

from cli import version
from cli.common import DEFAULT_STATE_DIR, CliError, ExitStatus, Terminated, UsageError
from cli.render import Terminal
from local.simulator import TICKS
from shared.providers import PROVIDER_IDS

PROG = "quota-sentinel"


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 3 (unknown), not argparse's 2, which means critical to a monitoring system."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\n{self.format_usage().rstrip()}")


def _ticks(value: str) -> int:
    try:
        ticks = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if not 1 <= ticks <= TICKS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {TICKS} (the simulator's script has {TICKS} ticks)")
    return ticks


def _common_options(parser: argparse.ArgumentParser, default: object) -> None:
    """Accepted before and after the command; a command's own default never overrides the global one."""
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=default,
        help="where check and status keep their DynamoDB Local data and logs (default: .local/)",
    )
    parser.add_argument(
        "--no-color",
        action="store_true",
        default=default if default is argparse.SUPPRESS else False,
        help="no colours (also: NO_COLOR=1)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Quota Sentinel on this machine: a local demo, checks against real provider APIs, status.",
        epilog="Exit codes: 0 ok, 1 warning, 2 critical or exhausted, 3 unknown "
        "(a failed check, no state, a configuration error or a usage error).",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {version()}")
    _common_options(parser, DEFAULT_STATE_DIR)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    simulate = commands.add_parser(
        "simulate", help="run the whole system on the local stack against simulated providers"
    )
    simulate.add_argument("--ticks", type=_ticks, default=TICKS, help=f"scheduled runs to simulate (1-{TICKS})")

    check = commands.add_parser(
        "check",
        help="check one provider's real API; state kept in the local stack",
        description="Run one provider's handler against its real API. Keys come from environment variables; "
        "state is kept in a file-backed DynamoDB Local under --state-dir, so a second check alerts on changes only.",
        epilog='Example: echo \'[{"name": "main", "api_key": {"env": "FLASHBACK_KEY"}}]\' > accounts.json; '
        f"FLASHBACK_KEY=... {PROG} check --provider flashback --accounts accounts.json --dry-run",
    )
    check.add_argument("--provider", required=True, choices=PROVIDER_IDS)
    check.add_argument("--accounts", required=True, type=Path, metavar="FILE", help="the accounts JSON (a list)")
    check.add_argument("--dry-run", action="store_true", help="print the alerts; publish and keep nothing")
    check.add_argument("--json", action="store_true", help="the result as one JSON document, for scripts")

    status = commands.add_parser("status", help="the last state of every metric that check has seen")
    status.add_argument("--provider", choices=PROVIDER_IDS)
    status.add_argument("--json", action="store_true", help="the state as one JSON document, for scripts")
    status.add_argument(
        "--table",
        metavar="NAME",
        help="read a deployed stack's state table with your AWS credentials and region (output StateTableName)",
    )
    history = commands.add_parser(
        "history",
        help="the usage samples kept for one account's forecasts",
        description="Print the usage samples that the forecasts keep for an account (recent raw samples, then "
        "hourly, then daily points), from the state that check stored.",
    )
    history.add_argument("target", metavar="PROVIDER/ACCOUNT", help="for example flashback/main")
    history.add_argument("metric", nargs="?", metavar="METRIC", help="one metric id (default: every metric)")
    history.add_argument("--csv", action="store_true", help="metric,time,used rows, for spreadsheets")
    provider = commands.add_parser(
        "provider",
        help="custom providers (no code): try an entry",
        description="Custom providers: a SaaS quota endpoint described in data (docs/custom-providers.md).",
    )
    provider_commands = provider.add_subparsers(
        dest="provider_command", required=True, metavar="SUBCOMMAND", parser_class=_Parser
    )
    provider_test = provider_commands.add_parser(
        "test",
        help="run one custom provider entry against its API once and show what it extracts",
        description="Run one entry against its API once: print the raw answer (capped; the key is never shown), "
        "every metric it extracts with its level, and the reason any error maps to. Nothing is stored or "
        "published. A bad entry prints the configuration error naming the field and exits 3.",
        epilog=f"Example: ACME_KEY=... {PROG} provider test acme.json --account main",
    )
    provider_test.add_argument("file", type=Path, metavar="FILE", help="one provider entry (JSON)")
    provider_test.add_argument("--account", metavar="NAME", help="the entry's account to use (default: the first)")
    for command in (simulate, check, status, history, provider, provider_test):
        _common_options(command, argparse.SUPPRESS)
    return parser


def _command(name: str) -> Callable[[argparse.Namespace, Terminal], int]:
    # Imported on use: `--version` and `--help` must not pay for boto3 and the providers.
    if name == "simulate":
        from cli.simulate import command_simulate

        return command_simulate
    if name == "check":
        from cli.check import command_check

        return command_check
    if name == "history":
        from cli.history import command_history

        return command_history
    if name == "provider":
        from cli.provider_test import command_provider_test

        return command_provider_test
    from cli.status import command_status

    return command_status


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    if isinstance(out, io.TextIOWrapper):
        out.reconfigure(errors="replace")  # an emoji never stops the output on a narrow terminal encoding
    try:
        args = build_parser().parse_args(argv)
    except UsageError as error:
        print(f"{PROG}: usage error: {error}", file=err)
        return ExitStatus.UNKNOWN
    except SystemExit as exit_:  # --help, --version
        return int(exit_.code or 0) if isinstance(exit_.code, int) else ExitStatus.UNKNOWN
    terminal = Terminal(out, no_color=args.no_color)
    # Ctrl-C raises KeyboardInterrupt even where the shell started us with SIGINT ignored (a script's
    # background job); SIGTERM unwinds the same way. Every finally then stops what it started.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    previous_term = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return int(_command(args.command)(args, terminal))
    except CliError as error:
        print(f"{PROG}: error: {error}", file=err)
        return ExitStatus.UNKNOWN
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted; everything it started is stopped.", file=err)
        return 130
    except Terminated:
        print(f"\n{PROG}: terminated; everything it started is stopped.", file=err)
        return 143
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)


if __name__ == "__main__":
    sys.exit(main())
