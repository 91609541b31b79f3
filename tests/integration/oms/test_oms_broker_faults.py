"""Venue faults on the real wiring (SQLite journal and ledger, the paper venue's own file):
timeouts before and after the venue acted, 5xx answers, rate limits, failing fill reads, a venue
that cannot even be asked, and a venue that refuses stops. The replay must end like an
uninterrupted run (or, when stops are refused, be protected by guard stops and say so)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from oms_integration_kit import MID_RUN, Final, check_invariants, use_env
from typer.testing import CliRunner

from riskdesk.bootstrap.oms_runtime import open_oms
from riskdesk.bootstrap.settings import Settings
from riskdesk.interfaces.cli.app import app

runner = CliRunner()


def _run(db: str, *extra: str) -> dict[str, object]:
    result = runner.invoke(app, ["run", "--replay", "--db", db, "--json", *extra])
    assert result.exit_code == 0, result.stdout + result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Final:
    tmp = tmp_path_factory.mktemp("clean")
    with pytest.MonkeyPatch.context() as mp:
        use_env(mp, tmp)
        _run(str(tmp / "r.db"))
        return check_invariants(str(tmp / "r.db"))


FAULTS = {
    "lost answer on a stop": ["submit:timeout_after:stop_market:1"],
    "5xx before the entry": ["submit:unavailable:market:1"],
    "5xx after the entry": ["submit:unavailable_after:market:1"],
    "timeouts before acting": ["submit:timeout::2"],
    "rate limits": ["submit:rate_limited::3", "cancel:rate_limited::2"],
    "lost answer on a cancel": ["cancel:timeout_after::2"],
    "fill reads failing": ["fills:unavailable::2"],
    "venue cannot be asked": ["submit:timeout_after:market:1", "query:timeout::6"],
}


@pytest.mark.parametrize("faults", list(FAULTS.values()), ids=list(FAULTS))
def test_venue_faults_change_nothing_in_the_outcome(
    faults: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean: Final
) -> None:
    use_env(monkeypatch, tmp_path, RISKDESK_OMS__PAPER__FAULTS=json.dumps(faults))
    db = str(tmp_path / "r.db")
    _run(db, "--until", MID_RUN)
    check_invariants(db, expect_open=True)
    _run(db)
    assert check_invariants(db, expect_open=False) == clean


def test_a_venue_that_refuses_stops_gets_guard_stops_and_an_alert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_env(monkeypatch, tmp_path, RISKDESK_OMS__PAPER__FAULTS='["submit:reject:stop_market:*"]')
    db = str(tmp_path / "r.db")
    _run(db, "--until", MID_RUN)
    check_invariants(db, expect_open=True)
    runtime = open_oms(Settings(), db)
    try:
        [protection] = runtime.oms.supervisor.protections()
        assert protection.mode.value == "guard"
        alerts = runtime.rt.app.risk.alerts()
        assert any(a.kind == "guard_stop" for a in alerts)
    finally:
        runtime.close()
    _run(db)
    final = check_invariants(db, expect_open=False)
    assert [side for side, _, _ in final.fills] == ["buy", "sell", "sell"]  # the guard closed it
