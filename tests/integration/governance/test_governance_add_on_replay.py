"""The add-on replay (``riskdesk run --replay`` with one add-on allowed, no signal needed): the
05:00 bar adds 0.1 BTC and moves the stop to breakeven; the supervisor covers the filled add at
once, and governance's next tick resizes its own stop to the 0.3 held. That step must report
the resize it was asked for — it reported the breakeven move again ("was 7,749.6"), the reason
the supervisor had kept from the previous step, which read as governance's state lagging."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from riskdesk.application.engine import StepReport
from riskdesk.bootstrap.oms_runtime import ReplayRun, replay_run
from riskdesk.bootstrap.settings import Settings

ADD_ON_REPLAY = {
    "RISKDESK_OMS__REPLAY__START": "2019-10-07T00:00:00Z",
    "RISKDESK_OMS__REPLAY__END": "2019-10-07T12:00:00Z",
    "RISKDESK_GOVERNANCE__PROFILES": '{"standard": {"add_on_cap": 1, "add_on_requires_signal": false}}',
}


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplayRun]:
    for key in list(os.environ):
        if key.startswith("RISKDESK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RISKDESK_DATA_DIR", str(tmp_path))
    for key, value in ADD_ON_REPLAY.items():
        monkeypatch.setenv(key, value)
    replay = replay_run(Settings(), str(tmp_path / "r.db"))
    try:
        yield replay
    finally:
        replay.close()


def test_the_step_after_an_add_reports_the_resize_governance_planned(run: ReplayRun) -> None:
    steps: dict[datetime, StepReport] = {}
    until = datetime(2019, 10, 7, 6, tzinfo=UTC)
    run.engine.run(run.feed, until=until, on_step=lambda r: steps.__setitem__(r.bar, r))
    at = {h: steps[datetime(2019, 10, 7, h, tzinfo=UTC)] for h in (5, 6)}
    (added,) = at[5].stops
    assert "stop moved 7749.6 → 7894.4" in added and "breakeven" in added
    (kept,) = at[6].stops
    assert "stop kept at 7894.4 for 0.300" in kept
    assert "MOVE_STOP: resized from 0.2 to 0.3" in kept and "was 7,749.6" not in kept
    # Governance's own record agrees: one breakeven move, then the resize alone.
    plans = run.governance.plans()
    breakeven = [p for p in plans if "breakeven" in p.why]
    assert len(breakeven) == 1 and breakeven[0].ts == datetime(2019, 10, 7, 6, tzinfo=UTC)
    (resize,) = [p for p in plans if p.ts == datetime(2019, 10, 7, 7, tzinfo=UTC)]
    assert resize.why == "MOVE_STOP: resized from 0.2 to 0.3: it covers exactly the position held"
    (state,) = run.governance.states()
    assert state.stop_price == Decimal("7894.4") and state.stop_qty == Decimal("0.300")
