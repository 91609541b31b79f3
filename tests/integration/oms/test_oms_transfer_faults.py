"""SPOT → FUT transfers under faults, on the replay (auto mode, a futures floor above the deposit
so the first check moves money): killed between booking both legs in the ledger and marking the
request EXECUTED, and a venue that moves the money but loses its answer (``transfer:`` fault).
Either way the money moves exactly once, the ledger equals the venue, and the run ends like an
uninterrupted one.
"""

from __future__ import annotations

import json
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from oms_integration_kit import Final, check_invariants, replay_env, run_cli, use_env
from typer.testing import CliRunner

from riskdesk.bootstrap.oms_runtime import open_oms
from riskdesk.bootstrap.settings import Settings
from riskdesk.domain.transfers import TransferStatus
from riskdesk.interfaces.cli.app import app

runner = CliRunner()
TRANSFERS = {
    "RISKDESK_OMS__REPLAY__END": "2019-10-07T06:00:00Z",  # entry at 04:00, a stop move at 06:00
    "RISKDESK_OMS__TRANSFERS__MIN_FREE_FUT": "12000",
    "RISKDESK_OMS__TRANSFERS__AUTO": "true",
}


def _run_in_process(db: str) -> dict[str, object]:
    result = runner.invoke(app, ["run", "--replay", "--db", db, "--json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def _transfers(db: str) -> list[tuple[str, str]]:
    runtime = open_oms(Settings(), db)
    try:
        with runtime.rt.store() as uow:
            return [(t.status.value, str(t.amount)) for t in uow.oms.transfers()]
    finally:
        runtime.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Final, list[tuple[str, str]]]:
    tmp = tmp_path_factory.mktemp("reference")
    with pytest.MonkeyPatch.context() as mp:
        use_env(mp, tmp, **TRANSFERS)
        db = str(tmp / "r.db")
        _run_in_process(db)
        moved = _transfers(db)
        assert moved and all(status == TransferStatus.EXECUTED.value for status, _ in moved)
        return check_invariants(db, expect_open=True), moved


def test_killed_between_the_ledger_booking_and_executed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reference: tuple[Final, list[tuple[str, str]]],
) -> None:
    db = str(tmp_path / "r.db")
    env = replay_env(tmp_path, **TRANSFERS, RISKDESK_CRASH_AT="transfer_booked:1")
    crashed = run_cli(env, "run", "--replay", "--db", db, "--quiet")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    use_env(monkeypatch, tmp_path, **TRANSFERS)
    # Booked in the ledger and moved at the venue, still APPROVED in the journal.
    assert _transfers(db) == [(TransferStatus.APPROVED.value, reference[1][0][1])]
    check_invariants(db)  # the ledger already equals the venue
    _run_in_process(db)  # the next check finishes it (same transfer id: nothing moves twice)
    assert _transfers(db) == reference[1]
    assert check_invariants(db, expect_open=True) == reference[0]


def test_a_transfer_whose_answer_is_lost_moves_the_money_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reference: tuple[Final, list[tuple[str, str]]],
) -> None:
    use_env(
        monkeypatch,
        tmp_path,
        **TRANSFERS,
        RISKDESK_OMS__PAPER__FAULTS='["transfer:timeout_after"]',  # moved, answer lost (once)
    )
    db = str(tmp_path / "r.db")
    _run_in_process(db)
    assert _transfers(db) == reference[1]
    assert check_invariants(db, expect_open=True) == reference[0]
    runtime = open_oms(Settings(), db)
    try:
        with runtime.rt.store() as uow:
            first = uow.oms.transfers()[0]
    finally:
        runtime.close()
    # The lost answer left it APPROVED; the next engine check executed it (same transfer id).
    assert first.updated_at - first.created_at == timedelta(hours=1)
