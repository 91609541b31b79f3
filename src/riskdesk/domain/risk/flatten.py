"""The FLATTEN plan: close every position with reduce-only market orders, largest risk
contribution first.

**Risk contribution** (what "largest risk first" means): the loss a position brings to the
book's *worst scenario* — the cell of the scenario grid (spot × vol × time shocks, the same grid
the scenario-loss limit reads) where the whole book, positions summed, loses most. A position's
contribution is minus its own P&L in that cell: a long BTC perpetual in a long book contributes
|dollar delta| × the spot shock of that cell, an option its full repriced loss there (gamma and
vega included), and a hedge that gains in that cell contributes a negative amount and is closed
last. Positions without a grid (an instrument whose risk could not be priced) fall back to
|exposure| × the largest spot shock. Ties keep the larger |exposure| first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np

from riskdesk.domain.orders import OrderIntent, OrderType
from riskdesk.domain.risk.aggregates import FloatArray, InstrumentRisk
from riskdesk.domain.risk.trading_state import KILL_SWITCH_SOURCE
from riskdesk.domain.values import PositionSide, Side


@dataclass(frozen=True, slots=True)
class OpenExposure:
    """What the flatten plan needs of one open position: ``risk`` is its risk contribution
    (reporting currency), ``exposure`` its |exposure|, ``reduce_only`` whether the venue takes
    a reduce-only flag for it (derivatives)."""

    account_id: str
    venue: str
    symbol: str
    slot: PositionSide
    qty: Decimal
    risk: float
    exposure: float = 0.0
    reduce_only: bool = True


def risk_contributions(
    positions: Sequence[tuple[float, InstrumentRisk]], fallback_shock: float
) -> list[float]:
    """Each position's contribution to the book's worst scenario loss (module docstring):
    ``positions`` are (signed contracts, the instrument's risk numbers); the result is in the
    reporting currency, in the same order."""
    grids: list[FloatArray | None] = [
        None if inst.scenario_per_unit is None else qty * inst.scenario_per_unit
        for qty, inst in positions
    ]
    present = [g for g in grids if g is not None]
    worst: tuple[int, ...] | None = None
    if present:
        total = np.sum(present, axis=0)
        worst = tuple(int(i) for i in np.unravel_index(int(np.argmin(total)), total.shape))
    out = []
    for (qty, inst), grid in zip(positions, grids, strict=True):
        if grid is None or worst is None:
            out.append(abs(qty * inst.exposure_per_unit) * abs(fallback_shock))
        else:
            out.append(-float(grid[worst]))
    return out


def flatten_orders(
    positions: Sequence[OpenExposure], now: datetime, run_id: str
) -> list[OrderIntent]:
    """Market orders closing every position, largest risk contribution first (ties: larger
    exposure first), reduce-only where the venue takes the flag. Intent ids derive from
    ``run_id`` so a repeated flatten does not duplicate orders."""
    ordered = sorted(positions, key=lambda p: (p.risk, p.exposure), reverse=True)
    return [
        OrderIntent(
            intent_id=f"flatten:{run_id}:{p.account_id}:{p.venue}:{p.symbol}:{p.slot.value}",
            account_id=p.account_id,
            venue=p.venue,
            symbol=p.symbol,
            side=Side.SELL if p.qty > 0 else Side.BUY,
            qty=abs(p.qty),
            order_type=OrderType.MARKET,
            reduce_only=p.reduce_only,
            position_side=p.slot,
            source=KILL_SWITCH_SOURCE,
            created_at=now,
        )
        for p in ordered
        if p.qty != 0
    ]
