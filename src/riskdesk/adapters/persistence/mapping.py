"""Explicit, hand-written mapping between domain objects and table rows (plain dicts).

One ``*_row`` function per entity builds the insert parameters; one ``*_from_row`` rebuilds the
frozen domain object. Enumerations are stored by value; decimals stay ``Decimal`` (the column
type does the exact conversion); margin tiers and summaries are JSON with decimals as strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import RowMapping

from riskdesk.domain.accounting.book import Account, PositionMode
from riskdesk.domain.accounting.portfolio import PortfolioSnapshot
from riskdesk.domain.accounting.position import ClosedPosition, Position, TradeAction, TradeRecord
from riskdesk.domain.events import Event
from riskdesk.domain.fills import Fill, FundingPayment, MarginMode
from riskdesk.domain.instruments import (
    ExerciseStyle,
    Instrument,
    InstrumentKind,
    MarginTier,
    OptionRight,
)
from riskdesk.domain.values import Liquidity, PositionSide, Side

Row = dict[str, Any]

_TIER_FIELDS = ("floor", "cap", "maint_margin_rate", "max_leverage", "maint_amount")


# ------------------------------------------------------------------------------- instruments


def instrument_row(i: Instrument) -> Row:
    """Row for ``instruments``."""
    return {
        "key": i.key,
        "venue": i.venue,
        "symbol": i.symbol,
        "kind": i.kind.value,
        "base": i.base,
        "quote": i.quote,
        "settle": i.settle,
        "tick_size": i.tick_size,
        "lot_size": i.lot_size,
        "contract_size": i.contract_size,
        "inverse": i.inverse,
        "min_qty": i.min_qty,
        "min_notional": i.min_notional,
        "price_currency": i.price_currency,
        "expiry": i.expiry,
        "strike": i.strike,
        "option_right": None if i.right is None else i.right.value,
        "exercise": None if i.exercise is None else i.exercise.value,
        "underlying": i.underlying,
        "venue_symbol": i.venue_symbol,
        "maker_fee_rate": i.maker_fee_rate,
        "taker_fee_rate": i.taker_fee_rate,
        "maint_margin_rate": i.maint_margin_rate,
        "margin_tiers": [{f: str(getattr(t, f)) for f in _TIER_FIELDS} for t in i.margin_tiers],
        "equity": i.equity,
    }


def instrument_from_row(r: RowMapping) -> Instrument:
    """Rebuild an :class:`Instrument`."""
    tiers = tuple(
        MarginTier(**{f: Decimal(str(t[f])) for f in _TIER_FIELDS}) for t in r["margin_tiers"]
    )
    return Instrument(
        symbol=r["symbol"],
        venue=r["venue"],
        kind=InstrumentKind(r["kind"]),
        base=r["base"],
        quote=r["quote"],
        settle=r["settle"],
        tick_size=r["tick_size"],
        lot_size=r["lot_size"],
        contract_size=r["contract_size"],
        inverse=r["inverse"],
        min_qty=r["min_qty"],
        min_notional=r["min_notional"],
        price_currency=r["price_currency"],
        expiry=r["expiry"],
        strike=r["strike"],
        right=None if r["option_right"] is None else OptionRight(r["option_right"]),
        exercise=None if r["exercise"] is None else ExerciseStyle(r["exercise"]),
        underlying=r["underlying"],
        venue_symbol=r["venue_symbol"],
        maker_fee_rate=r["maker_fee_rate"],
        taker_fee_rate=r["taker_fee_rate"],
        maint_margin_rate=r["maint_margin_rate"],
        margin_tiers=tiers,
        equity=r["equity"],
    )


# ---------------------------------------------------------------------------------- accounts


def account_row(a: Account) -> Row:
    """Row for ``accounts``."""
    return {
        "account_id": a.account_id,
        "venue": a.venue,
        "position_mode": a.position_mode.value,
        "default_margin_mode": a.default_margin_mode.value,
        "default_leverage": a.default_leverage,
        "reporting_currency": a.reporting_currency,
        "name": a.name,
    }


def account_from_row(r: RowMapping) -> Account:
    """Rebuild an :class:`Account`."""
    return Account(
        account_id=r["account_id"],
        venue=r["venue"],
        position_mode=PositionMode(r["position_mode"]),
        default_margin_mode=MarginMode(r["default_margin_mode"]),
        default_leverage=r["default_leverage"],
        reporting_currency=r["reporting_currency"],
        name=r["name"],
    )


# ------------------------------------------------------------------------------------- fills


def fill_row(f: Fill) -> Row:
    """Row for ``fills``."""
    return {
        "venue": f.venue,
        "fill_id": f.fill_id,
        "account_id": f.account_id,
        "symbol": f.symbol,
        "instrument_key": f.instrument_key,
        "side": f.side.value,
        "qty": f.qty,
        "price": f.price,
        "ts": f.ts,
        "fee": f.fee,
        "fee_currency": f.fee_currency,
        "liquidity": None if f.liquidity is None else f.liquidity.value,
        "position_side": f.position_side.value,
        "order_id": f.order_id,
        "leverage": f.leverage,
        "margin_mode": None if f.margin_mode is None else f.margin_mode.value,
    }


def fill_from_row(r: RowMapping) -> Fill:
    """Rebuild a :class:`Fill` (already validated when it was stored)."""
    return Fill(
        venue=r["venue"],
        fill_id=r["fill_id"],
        account_id=r["account_id"],
        symbol=r["symbol"],
        side=Side(r["side"]),
        qty=r["qty"],
        price=r["price"],
        ts=r["ts"],
        fee=r["fee"],
        fee_currency=r["fee_currency"],
        liquidity=None if r["liquidity"] is None else Liquidity(r["liquidity"]),
        position_side=PositionSide(r["position_side"]),
        order_id=r["order_id"],
        leverage=r["leverage"],
        margin_mode=None if r["margin_mode"] is None else MarginMode(r["margin_mode"]),
    )


def funding_row(p: FundingPayment, amount: Decimal, position_id: str | None) -> Row:
    """Row for ``funding_payments``; ``funding_key`` is the second half of ``p.key``."""
    return {
        "venue": p.venue,
        "funding_key": p.key[1],
        "account_id": p.account_id,
        "symbol": p.symbol,
        "instrument_key": p.instrument_key,
        "position_side": p.position_side.value,
        "rate": p.rate,
        "mark_price": p.mark_price,
        "ts": p.ts,
        "amount": amount,
        "position_id": position_id,
    }


# --------------------------------------------------------------------------------- positions


def position_row(p: Position) -> Row:
    """Row for ``positions``."""
    return {
        "position_id": p.position_id,
        "account_id": p.account_id,
        "instrument_key": p.instrument_key,
        "slot": p.slot.value,
        "qty": p.qty,
        "basis": p.basis,
        "entry_price": p.entry_price,
        "opened_at": p.opened_at,
        "updated_at": p.updated_at,
        "realized_pnl": p.realized_pnl,
        "fees": p.fees,
        "funding": p.funding,
        "leverage": p.leverage,
        "margin_mode": p.margin_mode.value,
        "isolated_margin": p.isolated_margin,
        "entry_qty_total": p.entry_qty_total,
        "entry_basis_total": p.entry_basis_total,
        "exit_qty_total": p.exit_qty_total,
        "exit_basis_total": p.exit_basis_total,
        "fill_count": p.fill_count,
        "stop_price": p.stop_price,
    }


def position_from_row(r: RowMapping) -> Position:
    """Rebuild an open :class:`Position`."""
    return Position(
        position_id=r["position_id"],
        account_id=r["account_id"],
        instrument_key=r["instrument_key"],
        slot=PositionSide(r["slot"]),
        qty=r["qty"],
        basis=r["basis"],
        entry_price=r["entry_price"],
        opened_at=r["opened_at"],
        updated_at=r["updated_at"],
        realized_pnl=r["realized_pnl"],
        fees=r["fees"],
        funding=r["funding"],
        leverage=r["leverage"],
        margin_mode=MarginMode(r["margin_mode"]),
        isolated_margin=r["isolated_margin"],
        entry_qty_total=r["entry_qty_total"],
        entry_basis_total=r["entry_basis_total"],
        exit_qty_total=r["exit_qty_total"],
        exit_basis_total=r["exit_basis_total"],
        fill_count=r["fill_count"],
        stop_price=r["stop_price"],
    )


def closed_row(c: ClosedPosition) -> Row:
    """Row for ``closed_positions``."""
    return {
        "position_id": c.position_id,
        "account_id": c.account_id,
        "instrument_key": c.instrument_key,
        "slot": c.slot.value,
        "direction": c.direction,
        "entry_qty": c.entry_qty,
        "entry_price": c.entry_price,
        "exit_price": c.exit_price,
        "realized_pnl": c.realized_pnl,
        "fees": c.fees,
        "funding": c.funding,
        "net_pnl": c.net_pnl,
        "return_pct": c.return_pct,
        "opened_at": c.opened_at,
        "closed_at": c.closed_at,
        "holding_seconds": c.holding_seconds,
        "exit_reason": c.exit_reason,
    }


def closed_from_row(r: RowMapping) -> ClosedPosition:
    """Rebuild a :class:`ClosedPosition`."""
    return ClosedPosition(
        position_id=r["position_id"],
        account_id=r["account_id"],
        instrument_key=r["instrument_key"],
        slot=PositionSide(r["slot"]),
        direction=r["direction"],
        entry_qty=r["entry_qty"],
        entry_price=r["entry_price"],
        exit_price=r["exit_price"],
        realized_pnl=r["realized_pnl"],
        fees=r["fees"],
        funding=r["funding"],
        net_pnl=r["net_pnl"],
        return_pct=r["return_pct"],
        opened_at=r["opened_at"],
        closed_at=r["closed_at"],
        holding_seconds=r["holding_seconds"],
        exit_reason=r["exit_reason"],
    )


def trade_row(t: TradeRecord) -> Row:
    """Row for ``trade_records``."""
    return {
        "account_id": t.account_id,
        "position_id": t.position_id,
        "ts": t.ts,
        "action": t.action.value,
        "instrument_key": t.instrument_key,
        "side": t.side,
        "qty": t.qty,
        "price": t.price,
        "realized_pnl": t.realized_pnl,
        "fee": t.fee,
    }


def trade_from_row(r: RowMapping) -> TradeRecord:
    """Rebuild a :class:`TradeRecord`."""
    return TradeRecord(
        account_id=r["account_id"],
        position_id=r["position_id"],
        ts=r["ts"],
        action=TradeAction(r["action"]),
        instrument_key=r["instrument_key"],
        side=r["side"],
        qty=r["qty"],
        price=r["price"],
        realized_pnl=r["realized_pnl"],
        fee=r["fee"],
    )


# ------------------------------------------------------------------------- snapshots, events


def snapshot_row(s: PortfolioSnapshot) -> Row:
    """Row for ``portfolio_snapshots``."""
    return {
        "scope": s.scope,
        "ts": s.ts,
        "total_equity": s.total_equity,
        "available_balance": s.available_balance,
        "unrealized_pnl": s.unrealized_pnl,
        "realized_pnl": s.realized_pnl,
        "gross_exposure": s.gross_exposure,
        "net_exposure": s.net_exposure,
        "summary": dict(s.summary),
    }


def snapshot_from_row(r: RowMapping) -> PortfolioSnapshot:
    """Rebuild a :class:`PortfolioSnapshot`."""
    summary: Mapping[str, object] = r["summary"]
    return PortfolioSnapshot(
        scope=r["scope"],
        ts=r["ts"],
        total_equity=r["total_equity"],
        available_balance=r["available_balance"],
        unrealized_pnl=r["unrealized_pnl"],
        realized_pnl=r["realized_pnl"],
        gross_exposure=r["gross_exposure"],
        net_exposure=r["net_exposure"],
        summary=summary,
    )


def event_row(e: Event) -> Row:
    """Row for ``events``: the indexed columns plus the full ``to_dict()`` as payload."""
    return {"ts": e.ts, "kind": e.kind, "account_id": e.account_id, "payload": e.to_dict()}
