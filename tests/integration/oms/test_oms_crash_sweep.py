"""The crash sweep: ``riskdesk run --replay`` is killed (SIGKILL) at every occurrence of every
crash point — not only the first — in both amend modes (native amend on: stops move by an
in-place amendment; off: by a new-first replacement), on a replay that holds an entry, an add-on,
stop replacements, a take-profit and a final stop fill. After each restart: no duplicate order,
no lost fill, every open position protected, the ledger equal to the venue, the venue's stop at
governance's intended level and size, every order's events in time order, every drift recovery
reported raised an alert — and the end result equal to the uninterrupted run's.
"""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path

import pytest
from oms_integration_kit import (
    ADD_ON_REPLAY,
    MID_RUN,
    Final,
    check_invariants,
    replay_env,
    run_cli,
    use_env,
)
from typer.testing import CliRunner

from riskdesk.bootstrap.oms_runtime import open_oms, replay_run
from riskdesk.bootstrap.settings import Settings
from riskdesk.interfaces.cli.app import app

runner = CliRunner()

#: How often each crash point is reached by the add-on replay, per amend mode (asserted by the
#: reference runs below, so a change of the replay cannot silently shrink the sweep).
OCCURRENCES = {
    "false": {
        "journal_written": 8,  # entry, first stop, add-on, 3 replacements, take-profit, resize
        "submitted": 8,
        "fills_fetched": 4,  # entry, add-on, take-profit, the stop filling
        "ledger_applied": 4,
        "stop_replace": 4,  # new stop working, old one not cancelled yet
    },
    "true": {
        "journal_written": 4,  # entry, first stop, add-on, take-profit (stops are amended)
        "submitted": 4,
        "fills_fetched": 4,
        "ledger_applied": 4,
        "amended": 4,  # the venue amended the stop, the journal not told yet
    },
}

CASES = [
    pytest.param(native, point, n, id=f"native_amend={native}-{point}:{n}")
    for native, points in OCCURRENCES.items()
    for point, count in points.items()
    for n in range(1, count + 1)
]


def _env(tmp: Path, native: str, **extra: str) -> dict[str, str]:
    return replay_env(tmp, **ADD_ON_REPLAY, RISKDESK_OMS__PAPER__NATIVE_AMEND=native, **extra)


def _run_in_process(db: str, *extra: str) -> dict[str, object]:
    result = runner.invoke(app, ["run", "--replay", "--db", db, "--json", *extra])
    assert result.exit_code == 0, result.stdout + result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Final]:
    """The uninterrupted run of each amend mode, counting the crash points it passes."""
    out: dict[str, Final] = {}
    for native, expected in OCCURRENCES.items():
        tmp = tmp_path_factory.mktemp(f"reference-{native}")
        with pytest.MonkeyPatch.context() as mp:
            use_env(mp, tmp, **ADD_ON_REPLAY, RISKDESK_OMS__PAPER__NATIVE_AMEND=native)
            db = str(tmp / "r.db")
            run = replay_run(Settings(), db)
            seen: list[str] = []
            run.oms.orders.checkpoint = seen.append  # every crash point passed, in order
            try:
                run.engine.recover()
                run.engine.run(run.feed)
            finally:
                run.close()
            assert dict(Counter(seen)) == expected
            out[native] = check_invariants(db, expect_open=False)
        # Entry, add-on, take-profit, the stop: the replay shows what the sweep needs.
        assert [side for side, _, _ in out[native].fills] == ["buy", "buy", "sell", "sell"]
    # Both modes trade alike (the stop moves by amendment or by replacement).
    assert (out["true"].fills, out["true"].balances) == (out["false"].fills, out["false"].balances)
    return out


@pytest.mark.slow  # about two minutes in all; CI runs it (deselect locally with -m "not slow")
@pytest.mark.parametrize(("native", "point", "n"), CASES)
def test_kill_at_every_occurrence_then_restart(
    native: str,
    point: str,
    n: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    references: dict[str, Final],
) -> None:
    db = str(tmp_path / "r.db")
    crashed = run_cli(
        _env(tmp_path, native, RISKDESK_CRASH_AT=f"{point}:{n}"),
        "run",
        "--replay",
        "--db",
        db,
        "--quiet",
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    use_env(monkeypatch, tmp_path, **ADD_ON_REPLAY, RISKDESK_OMS__PAPER__NATIVE_AMEND=native)
    mid = _run_in_process(db, "--until", MID_RUN)
    assert mid["ledger_equals_venue"] is True
    _assert_drifts_alerted(db, mid)
    check_invariants(db)
    _run_in_process(db)
    assert check_invariants(db, expect_open=False) == references[native]


def _assert_drifts_alerted(db: str, summary: dict[str, object]) -> None:
    recovery = summary["recovery"]
    assert isinstance(recovery, dict)
    drifts = recovery["drifts"]
    assert isinstance(drifts, list)
    runtime = open_oms(Settings(), db)
    try:
        with runtime.rt.store() as uow:
            alerted = {a.key for a in uow.risk.alerts() if a.kind.startswith("recovery_")}
    finally:
        runtime.close()
    assert {f"recovery:{d['key']}" for d in drifts} <= alerted


def test_an_interrupted_stop_replacement_keeps_the_new_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit's case (native amend off): killed right after the breakeven stop (7894.4) was
    sent, before the supervisor recorded it. Recovery keeps the new stop, cancels the looser one
    (7749.6) it replaces, reports it as drift and alerts — the venue's stop is where governance
    intends it from the restart on, and the restart runs at replay time."""
    db = str(tmp_path / "r.db")
    env = replay_env(tmp_path)  # the default window, native amend off
    crashed = run_cli({**env, "RISKDESK_CRASH_AT": "submitted:3"}, "run", "--replay", "--db", db)
    assert crashed.returncode == -signal.SIGKILL
    assert "stop placed at 7749.6" in crashed.stdout
    use_env(monkeypatch, tmp_path)
    # Recovery only: the run stops before the next bar.
    recovery = _run_in_process(db, "--until", "2019-10-07T00:00:00Z")["recovery"]
    assert isinstance(recovery, dict)
    replaced = [d for d in recovery["drifts"] if d["kind"] == "stop_replacement"]
    assert len(replaced) == 1
    assert "kept" in replaced[0]["resolution"] and "7894.4" in replaced[0]["resolution"]
    assert "cancelled" in replaced[0]["resolution"] and "7749.6" in replaced[0]["resolution"]
    runtime = open_oms(Settings(), db)
    try:
        stops = sorted(
            (str(o.intent.stop_price), o.status.value)
            for o in runtime.oms.broker.all_orders()  # type: ignore[attr-defined]
            if o.intent.stop_price is not None
        )
        with runtime.rt.store() as uow:
            alerts = {a.kind for a in uow.risk.alerts()}
        when = runtime.rt.app.clock.now()
    finally:
        runtime.close()
    assert stops == [("7749.6", "canceled"), ("7894.4", "open")]
    assert {"stop_replacement_resumed", "recovery_stop_replacement"} <= alerts
    assert when.year == 2019  # the replay's clock, not today's
    check_invariants(db, expect_open=True)
