"""Helpers for order-management integration tests over the real wiring: a short replay of the
bundled BTC bars on the paper venue (SQLite database plus the paper venue's own file), the
subprocess runner the crash tests kill, and the invariants every test asserts afterwards.

Invariants (issue 6): no duplicate order, no lost fill, every open position protected, the
ledger equal to the venue — and the venue's working stop where governance intends it (level and
quantity), every order's events in time order.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from riskdesk.bootstrap.oms_runtime import OmsRuntime, open_oms
from riskdesk.bootstrap.settings import Settings
from riskdesk.domain.governance.state import Lifecycle
from riskdesk.domain.order_lifecycle import Order, OrderRole, OrderStatus
from riskdesk.domain.protection import ProtectionMode, protection_key
from riskdesk.domain.values import PositionSide

#: A 31-bar window: entry at 04:00, four lock-profit moves, a take-profit, the stop fills.
REPLAY = {
    "RISKDESK_OMS__REPLAY__START": "2019-10-07T00:00:00Z",
    "RISKDESK_OMS__REPLAY__END": "2019-10-08T06:00:00Z",
    # No native amend: every stop move is a new-first replacement (the crash point exists).
    "RISKDESK_OMS__PAPER__NATIVE_AMEND": "false",
}
MID_RUN = "2019-10-07T12:00:00Z"  # the position is open (0.1 BTC after the take-profit)

#: The sweep's window: the same entry, an add-on at 06:00 (governance adds once, no signal
#: needed), three lock-profit moves, a 2R take-profit at 12:00 and the stop filling at 16:00 —
#: every crash point is reached by a stop replacement, a take-profit and an add.
ADD_ON_REPLAY = {
    "RISKDESK_OMS__REPLAY__START": "2019-10-07T00:00:00Z",
    "RISKDESK_OMS__REPLAY__END": "2019-10-08T16:00:00Z",
    "RISKDESK_GOVERNANCE__PROFILES": '{"standard": {"add_on_cap": 1, "add_on_requires_signal": false}}',
}


def replay_env(tmp: Path, **extra: str) -> dict[str, str]:
    """Environment of a replay run (no config file, data in ``tmp``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKDESK_")}
    env.update(REPLAY)
    env["RISKDESK_DATA_DIR"] = str(tmp)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def use_env(monkeypatch: pytest.MonkeyPatch, tmp: Path, **extra: str) -> None:
    """Apply the replay environment to this process (in-process runs read ``Settings()``)."""
    for key in list(os.environ):
        if key.startswith("RISKDESK_"):
            monkeypatch.delenv(key)
    for key, value in replay_env(tmp, **extra).items():
        if key.startswith("RISKDESK_"):
            monkeypatch.setenv(key, value)


def run_cli(
    env: dict[str, str], *args: str, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """``riskdesk ARGS`` in a subprocess (the crash tests expect it to die of SIGKILL)."""
    return subprocess.run(
        [sys.executable, "-m", "riskdesk.interfaces.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass(frozen=True)
class Final:
    """What must be identical to an uninterrupted run."""

    fills: list[tuple[str, Decimal, Decimal]]
    balances: dict[str, Decimal]
    positions: dict[str, Decimal]
    # Intent ids of the venue orders that filled, in venue order. A protective stop is named by
    # its role: after a crash the stop that fills may be one recovery placed (a supervisor id)
    # and amended to governance's level, where an uninterrupted run amended governance's own.
    executed: list[str]


def _check_stops_where_governance_intends(runtime: OmsRuntime, venue_orders: list[Any]) -> None:
    """The venue's working stop of every open, actively governed position is at governance's
    intended level and covers governance's intended quantity. (A position a stop just closed
    is still ACTIVE for governance until its next tick sees it flat: nothing to check.)"""
    oms = runtime.oms
    with runtime.rt.store() as uow:
        states = uow.governance.states(open_only=True)
    working = [v for v in venue_orders if v.status.working and v.intent.reduce_only]
    open_keys = set(oms.supervisor.positions())
    for s in states:
        if s.lifecycle is not Lifecycle.ACTIVE or s.stop_price is None:
            continue
        key = protection_key(s.account_id, s.instrument_key, PositionSide.parse(s.slot))
        if key not in open_keys:
            continue
        protection = oms.supervisor.get(key)
        assert protection is not None, f"{key}: governance intends a stop, none is kept"
        assert protection.pending is None, (key, protection.pending)
        if protection.mode is ProtectionMode.GUARD:
            assert protection.level == s.stop_price, (key, protection.level, s.stop_price)
            continue
        stops = [
            (v.intent.stop_price, v.intent.qty - v.filled_qty)
            for v in working
            if v.client_order_id == protection.order_id
        ]
        assert stops == [(s.stop_price, s.stop_qty)], (key, stops, s.stop_price, s.stop_qty)


def _check_event_times(oms_orders: list[Order], events: dict[str, list[dict[str, object]]]) -> None:
    """Every order's events are in time order and none is before the order was created."""
    for order in oms_orders:
        stamps = [datetime.fromisoformat(str(e["ts"])) for e in events[order.client_order_id]]
        assert stamps == sorted(stamps), (order.intent.intent_id, stamps)
        assert all(ts >= order.created_at for ts in stamps), order.intent.intent_id
        assert order.updated_at >= order.created_at, order.intent.intent_id


def check_invariants(db: str, *, expect_open: bool | None = None) -> Final:
    """Assert the four invariants on a database (and its paper venue file); return the state
    to compare with a reference run."""
    runtime = open_oms(Settings(), db)
    try:
        oms = runtime.oms
        broker = oms.broker
        broker.faults.rules.clear()  # type: ignore[attr-defined]  # the checker asks a healthy venue
        venue_orders = broker.all_orders()  # type: ignore[attr-defined]
        journal = {o.client_order_id: o for o in oms.orders.orders()}
        # No duplicate order: every venue order is journaled once, and no position has two
        # working protective stops.
        venue_ids = [v.client_order_id for v in venue_orders]
        assert len(venue_ids) == len(set(venue_ids))
        assert set(venue_ids) <= set(journal), "the venue holds orders the journal does not know"
        for cid, order in journal.items():
            if order.venue_order_id is not None or order.status in (
                OrderStatus.OPEN,
                OrderStatus.FILLED,
            ):
                assert cid in set(venue_ids), f"{order.intent.intent_id} is not at the venue"
        stops = Counter(
            v.group or v.intent.symbol
            for v in venue_orders
            if v.status.working and journal[v.client_order_id].role is OrderRole.PROTECTIVE_STOP
        )
        assert all(n == 1 for n in stops.values()), stops
        # No lost fill: every venue fill is in the ledger and applied to its order.
        venue_fills = list(broker.fills_since(None).fills)
        booked, _, _ = runtime.rt.app.book.history()
        assert {f.key for f in venue_fills} == {f.key for f in booked}
        for order in journal.values():
            done = sum(
                (f.qty for f in venue_fills if f.order_id == order.client_order_id), Decimal(0)
            )
            assert order.filled_qty == done, order.intent.intent_id
        # Every open position protected, by a stop where governance intends it.
        covered = oms.supervisor.covered()
        assert all(covered.values()), covered
        if expect_open is not None:
            assert bool(covered) is expect_open
        _check_stops_where_governance_intends(runtime, venue_orders)
        # Time never runs backwards for an order (a restarted replay runs at replay time).
        _check_event_times(list(journal.values()), {cid: oms.orders.events(cid) for cid in journal})
        # The ledger equals the venue: positions and every balance.
        ours = {
            f"{p.account_id}|{p.instrument_key}": p.qty for p in oms.orders.ledger.open_positions()
        }
        theirs = {f"{p.account_id}|{p.instrument_key}": p.qty for p in broker.positions(None)}
        assert ours == theirs
        balances: dict[str, Decimal] = {}
        for account_id, cash in runtime.rt.app.book.report().balances.items():
            at_venue = {b.currency: b.total for b in broker.balances(account_id)}
            for currency, amount in cash.items():
                assert at_venue.get(currency) == amount, (account_id, currency)
                balances[f"{account_id}:{currency}"] = amount
        return Final(
            [(f.side.value, f.qty, f.price) for f in venue_fills],
            balances,
            ours,
            [
                "protective_stop"
                if journal[v.client_order_id].role is OrderRole.PROTECTIVE_STOP
                else v.intent.intent_id
                for v in venue_orders
                if v.filled_qty > 0
            ],
        )
    finally:
        runtime.close()
