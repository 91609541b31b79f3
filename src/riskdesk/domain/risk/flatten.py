"""The FLATTEN plan: close every position with reduce-only market orders, largest risk first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from riskdesk.domain.orders import OrderIntent, OrderType
from riskdesk.domain.values import PositionSide, Side


@dataclass(frozen=True, slots=True)
class OpenExposure:
    """What the flatten plan needs of one open position."""

    account_id: str
    venue: str
    symbol: str
    slot: PositionSide
    qty: Decimal
    risk: float


def flatten_orders(
    positions: Sequence[OpenExposure], now: datetime, run_id: str
) -> list[OrderIntent]:
    """Reduce-only market orders closing every position, ordered by risk contribution (largest
    first). Intent ids derive from ``run_id`` so a repeated flatten does not duplicate orders."""
    ordered = sorted(positions, key=lambda p: p.risk, reverse=True)
    return [
        OrderIntent(
            intent_id=f"flatten:{run_id}:{p.account_id}:{p.venue}:{p.symbol}:{p.slot.value}",
            account_id=p.account_id,
            venue=p.venue,
            symbol=p.symbol,
            side=Side.SELL if p.qty > 0 else Side.BUY,
            qty=abs(p.qty),
            order_type=OrderType.MARKET,
            reduce_only=True,
            position_side=p.slot,
            source="kill_switch",
            created_at=now,
        )
        for p in ordered
        if p.qty != 0
    ]
