"""Fault injection that really kills the process from outside: a running ``riskdesk run
--replay`` is killed (SIGKILL) once the ladder has moved the stop, restarted (recovery runs
first) and must end exactly like an uninterrupted run. After the restart: no duplicate order, no
lost fill, every open position protected, the ledger equal to the venue. The kills at every
occurrence of every crash point (``RISKDESK_CRASH_AT``) are in ``test_oms_crash_sweep.py``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from oms_integration_kit import MID_RUN, Final, check_invariants, replay_env, use_env
from typer.testing import CliRunner

from riskdesk.interfaces.cli.app import app

runner = CliRunner()


def _run_in_process(db: str, *extra: str) -> dict[str, object]:
    result = runner.invoke(app, ["run", "--replay", "--db", db, "--json", *extra])
    assert result.exit_code == 0, result.stdout + result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Final:
    """The uninterrupted run everything is compared with."""
    tmp = tmp_path_factory.mktemp("reference")
    with pytest.MonkeyPatch.context() as mp:
        use_env(mp, tmp)
        db = str(tmp / "r.db")
        summary = _run_in_process(db)
        assert summary["ledger_equals_venue"] is True
        final = check_invariants(db, expect_open=False)
    # The replay shows what the acceptance asks for: an entry, its stop moved by the ladder,
    # a take-profit, and the stop filling in the end.
    assert [side for side, _, _ in final.fills] == ["buy", "sell", "sell"]
    return final


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    use_env(monkeypatch, tmp_path)
    yield tmp_path


def test_kill_a_running_replay_from_outside_and_resume(env: Path, reference: Final) -> None:
    db = str(env / "r.db")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "riskdesk.interfaces.main",
            "run",
            "--replay",
            "--db",
            db,
            "--speed",
            "36000",
        ],
        env=replay_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "stop moved" in line:  # the ladder has moved the stop once: kill it mid-run
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    process.stdout.close()
    assert process.stderr is not None
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL, "".join(seen)
    # The restart recovers first (a run that stops at once when it is already past MID_RUN).
    _run_in_process(db, "--until", MID_RUN)
    check_invariants(db, expect_open=True)
    summary = _run_in_process(db)
    assert summary["steps"] and summary["ledger_equals_venue"] is True
    assert check_invariants(db, expect_open=False) == reference
