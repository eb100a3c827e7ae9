"""The CLI's forecast views: the status table's "runs out" and trend columns, and ``history``."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from cli.common import UsageError
from cli.forecast_view import runs_out, segment_sparkline, sparkline
from cli.history import csv_text, parse_target, print_history, sample_rows
from cli.main import build_parser
from cli.render import Terminal, status_rows, status_table
from cli.status import print_status
from shared.config import AccountConfig, Policy
from shared.evaluation import AccountRef, evaluate
from shared.models import AccountState, QuotaMetric

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
POLICY = Policy().for_account(AccountConfig(name="main", api_key={"env": "KEY"}), "ACCOUNTS[0]")


def burning_state(hours: int = 6) -> AccountState:
    """Egress burning 10 GiB an hour of 1000 (about 4 days left after 6 hours), storage flat."""
    state = None
    for half_hour in range(hours * 2 + 1):
        now = START + timedelta(minutes=30 * half_hour)
        metrics = [
            QuotaMetric(metric_id="egress", name="Monthly egress", used=100 + 5 * half_hour, limit=1000, unit="GiB"),
            QuotaMetric(metric_id="storage", name="Storage", used=300, limit=1000, unit="GiB"),
        ]
        state = evaluate(metrics, state, POLICY, AccountRef("flashback", "main"), now).state
    assert state is not None
    return state


def test_sparkline_scales_between_the_bounds() -> None:
    assert sparkline([0, 50, 100], 0, 100) == "▁▅█"
    assert sparkline([3, 3, 3]) == "▁▁▁"
    assert sparkline([]) == ""


def test_status_rows_show_when_a_burning_metric_runs_out_and_its_trend() -> None:
    state = burning_state()
    rows = {row.metric_id: row for row in status_rows("flashback", "main", state)}
    # 840 GiB left at 10 GiB an hour: 84 hours, on Fri 6 Mar 02:00 (from 14:00 on Mon 2 Mar).
    assert rows["egress"].runs_out == "4 d (Fri 06 Mar 02:00)"
    assert rows["storage"].runs_out == ""  # flat: no forecast
    trend = rows["egress"].trend
    assert trend and list(trend) == sorted(trend)  # rising
    assert set(rows["storage"].trend) == {"▃"}  # flat at 30 % of the limit
    assert rows["egress"].as_json()["runs_out"] == "4 d (Fri 06 Mar 02:00)"


def test_status_table_has_the_runs_out_column() -> None:
    out = io.StringIO()
    Terminal(out, no_color=True).show(status_table(status_rows("flashback", "main", burning_state())))
    text = out.getvalue()
    assert "RUNS OUT (UTC)" in text and "TREND" in text
    assert "4 d (Fri 06 Mar 02:00)" in text


def test_status_json_carries_runs_out() -> None:
    out = io.StringIO()
    print_status(Terminal(out, no_color=True), {("flashback", "main"): burning_state()}, set(), as_json=True)
    assert '"runs_out": "4 d (Fri 06 Mar 02:00)"' in out.getvalue()


def test_a_metric_without_forecast_state_shows_nothing() -> None:
    state = burning_state()
    bare = state.metrics["egress"].model_copy(update={"forecast": None})
    assert runs_out(bare, state.checked_at) == segment_sparkline(bare) == ""
    broken = state.metrics["egress"].model_copy(update={"forecast": b"\x99\x00"})
    assert runs_out(broken, state.checked_at) == ""


def test_history_lists_every_kept_sample_oldest_first() -> None:
    rows = sample_rows(burning_state(), "egress")
    assert rows[0] == ("egress", "2026-03-02T08:00:00Z", 100)
    assert rows[-1] == ("egress", "2026-03-02T14:00:00Z", 160)
    assert [moment for _, moment, _ in rows] == sorted(moment for _, moment, _ in rows)
    assert {metric for metric, _, _ in sample_rows(burning_state(), None)} == {"egress", "storage"}


def test_history_csv_reads_back() -> None:
    text = csv_text(sample_rows(burning_state(), "egress"))
    records = list(csv.DictReader(io.StringIO(text)))
    assert records[0] == {"metric": "egress", "time": "2026-03-02T08:00:00Z", "used": "100"}
    assert float(records[-1]["used"]) == 160


def test_history_table_and_its_runs_out_line() -> None:
    out = io.StringIO()
    print_history(Terminal(out, no_color=True), burning_state(), "egress", as_csv=False)
    text = out.getvalue()
    assert "2026-03-02 14:00:00" in text and "160 GiB" in text
    assert "egress runs out in 4 d (Fri 06 Mar 02:00)" in text


def test_history_of_an_unknown_metric_names_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"no metric 'egres'.*egress, storage"):
        sample_rows(burning_state(), "egres")


@pytest.mark.parametrize(
    ("target", "message"),
    [("flashback", "PROVIDER/ACCOUNT"), ("/main", "PROVIDER/ACCOUNT"), ("nope/main", "unknown provider 'nope'")],
)
def test_history_target_errors_say_what_is_wrong(target: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_target(target)


def test_history_command_is_wired() -> None:
    args = build_parser().parse_args(["history", "flashback/main", "egress", "--csv"])
    assert (args.command, args.target, args.metric, args.csv) == ("history", "flashback/main", "egress", True)
