"""Governance in the engine loop (``riskdesk run --replay``): an entry the order path refuses
fails its governance state, and the plans that do execute keep the stop on the size held."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from riskdesk.bootstrap.oms_runtime import ReplayRun, replay_run
from riskdesk.bootstrap.oms_settings import ReplayEntrySettings
from riskdesk.bootstrap.settings import Settings
from riskdesk.domain.governance import Lifecycle

START = datetime(2019, 10, 7, tzinfo=UTC)


def _run(tmp_path: Path, qty: str) -> Iterator[ReplayRun]:
    base = Settings(data_dir=tmp_path)
    replay = base.oms.replay.model_copy(
        update={
            "start": START,
            "end": datetime(2019, 10, 8, 6, tzinfo=UTC),
            "entries": [
                ReplayEntrySettings(at=datetime(2019, 10, 7, 4, tzinfo=UTC), qty=Decimal(qty))
            ],
        }
    )
    settings = base.model_copy(update={"oms": base.oms.model_copy(update={"replay": replay})})
    run = replay_run(settings, f"sqlite:///{tmp_path / 'replay.db'}")
    try:
        yield run
    finally:
        run.close()


@pytest.fixture
def refused(tmp_path: Path) -> Iterator[ReplayRun]:
    # 50 BTC at 10× needs ~39,000 USDT of margin: the 10,000 USDT paper account refuses it.
    yield from _run(tmp_path, "50")


@pytest.fixture
def traded(tmp_path: Path) -> Iterator[ReplayRun]:
    yield from _run(tmp_path, "0.2")


def test_an_entry_the_order_path_refuses_fails_its_governance_state(refused: ReplayRun) -> None:
    refused.engine.run(refused.feed, until=datetime(2019, 10, 7, 6, tzinfo=UTC))
    states = refused.governance.states(open_only=False)
    (state,) = states
    assert state.lifecycle is Lifecycle.FAILED
    assert state.exit_reason.startswith("the entry order ended rejected without a fill")
    (event,) = [e for e in refused.governance.events(kind="LIFECYCLE")]
    assert "pending_entry → failed" in event.message


def test_executed_plans_keep_the_stop_on_the_size_held(traded: ReplayRun) -> None:
    traded.engine.run(traded.feed)
    plans = traded.governance.plans()
    kinds = [a["action"] for p in plans for a in p.document["plan"]["actions"]]  # type: ignore[index]
    assert "REDUCE" in kinds and "MOVE_STOP" in kinds
    for p in plans:
        actions = p.document["plan"]["actions"]  # type: ignore[index]
        reduce = [a for a in actions if a["action"] == "REDUCE"]
        stops = [a for a in actions if a["action"] in ("PLACE_STOP", "MOVE_STOP")]
        if reduce and stops:
            # Planned with the take-profit: still the size held before it fills.
            assert all(Decimal(s["qty"]) == Decimal(reduce[0]["old_value"]) for s in stops)
    (state,) = traded.governance.states(open_only=False)
    assert state.lifecycle is Lifecycle.CLOSED and state.pending_intents == ()
