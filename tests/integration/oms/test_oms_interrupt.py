"""Ctrl-C (SIGINT) on ``riskdesk run --replay``: the first one stops after the current bar with
exit status 0 and a consistent state; a second one stops after the current order step (exit
130, the state a crash there would leave, which the next run recovers); a Ctrl-C during
start-up ends the run before its first bar. Every restart resumes to the uninterrupted result.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from oms_integration_kit import Final, check_invariants, replay_env, use_env
from typer.testing import CliRunner

from riskdesk.bootstrap import oms_runtime
from riskdesk.interfaces.cli import oms_commands
from riskdesk.interfaces.cli.app import app

runner = CliRunner()


def _run_in_process(db: str, *extra: str) -> dict[str, Any]:
    result = runner.invoke(app, ["run", "--replay", "--db", db, "--json", *extra])
    assert result.exit_code == 0, result.stdout + result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Final:
    tmp = tmp_path_factory.mktemp("reference")
    with pytest.MonkeyPatch.context() as mp:
        use_env(mp, tmp)
        db = str(tmp / "r.db")
        _run_in_process(db)
        return check_invariants(db, expect_open=False)


def test_ctrl_c_stops_after_the_current_bar_and_a_restart_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: Final
) -> None:
    db = str(tmp_path / "r.db")
    # Two bars a second: the entry comes after a few seconds, the run lasts about a minute.
    command = [sys.executable, "-m", "riskdesk.interfaces.main", "run", "--replay", "--db", db]
    process = subprocess.Popen(
        [*command, "--speed", "7200"],
        env=replay_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "stop placed" in line:  # the position is open and protected: press Ctrl-C
            process.send_signal(signal.SIGINT)
            break
    rest, err = process.communicate(timeout=60)
    output = "".join(seen) + rest
    assert process.returncode == 0, output + err
    assert "(stopped by Ctrl-C)" in output and "ledger equals the venue: yes" in output
    assert "Ctrl-C: stopping after the current bar" in err and "Traceback" not in err
    use_env(monkeypatch, tmp_path)
    check_invariants(db, expect_open=True)
    summary = _run_in_process(db)
    assert summary["steps"] > 0 and summary["recovery"]["clean"] is True
    assert check_invariants(db, expect_open=False) == reference


def _signalling_replay_run(
    monkeypatch: pytest.MonkeyPatch, *, at_start: bool = False, at_point: str | None = None
) -> None:
    """Patch the command's ``replay_run`` so that the process sends itself Ctrl-C twice at the
    first ``at_point`` crash point, or once before anything is built (``at_start``)."""
    real: Callable[..., oms_runtime.ReplayRun] = oms_runtime.replay_run

    def patched(*args: Any, **kwargs: Any) -> oms_runtime.ReplayRun:
        if at_start:
            os.kill(os.getpid(), signal.SIGINT)
        run = real(*args, **kwargs)
        if at_point is not None:
            inner = run.oms.orders.checkpoint
            fired = [False]

            def checkpoint(name: str) -> None:
                inner(name)
                if name == at_point and not fired[0]:
                    fired[0] = True
                    os.kill(os.getpid(), signal.SIGINT)
                    os.kill(os.getpid(), signal.SIGINT)

            run.oms.orders.checkpoint = checkpoint
        return run

    monkeypatch.setattr(oms_commands, "replay_run", patched)


def test_a_second_ctrl_c_stops_after_the_current_order_step(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    reference: Final,
) -> None:
    use_env(monkeypatch, tmp_path)
    db = str(tmp_path / "r.db")
    with monkeypatch.context() as patch:
        # Twice right after the stop order's submission was journaled (the entry filled).
        _signalling_replay_run(patch, at_point="submitted")
        result = runner.invoke(app, ["run", "--replay", "--db", db])
    assert result.exit_code == 130, result.stdout + result.stderr
    assert "stopped after the order step 'submitted'" in result.stderr
    assert "Ctrl-C again: stopping after the current order step" in capfd.readouterr().err
    # The state is what a crash there leaves; the next run recovers it and ends as usual.
    summary = _run_in_process(db)
    assert summary["recovery"]["clean"] is False  # the entry's answer was never journaled
    assert check_invariants(db, expect_open=False) == reference


def test_ctrl_c_during_start_up_ends_the_run_before_its_first_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: Final
) -> None:
    use_env(monkeypatch, tmp_path)
    db = str(tmp_path / "r.db")
    with monkeypatch.context() as patch:
        _signalling_replay_run(patch, at_start=True)
        result = runner.invoke(app, ["run", "--replay", "--db", db])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "interrupted during start-up: no bar was replayed" in result.stdout
    summary = _run_in_process(db)  # nothing was half-done: the next run starts from the start
    assert summary["recovery"]["clean"] is True
    assert check_invariants(db, expect_open=False) == reference
