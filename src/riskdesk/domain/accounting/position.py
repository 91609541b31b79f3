"""One position's exact ledger: open / add / reduce / close on fills, funding, isolated margin.

The authoritative state is the signed quantity ``qty`` and the signed value basis ``basis``
(the sum of ``qty_i · contract_size · x(price_i)`` over the open quantity, see
:mod:`riskdesk.domain.instruments`). The average entry price is derived from them. A reduction of
``c`` (same sign as ``qty``) removes ``basis · c / qty`` — the only rounded step, to the ledger
quantum — and realizes ``c · cs · x(exit) − removed``. Because the remaining basis is the exact
difference, realized + unrealized always equals the sum of the fills' cash flows to the last digit
(P&L conservation; property-tested).

Spot WAC (seed 003) is the linear case: ``WAC' = (Q·WAC + Qb·Pb)/(Q+Qb)``, realized
``(Ps − WAC)·Qs``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from riskdesk.domain.errors import InsufficientPosition
from riskdesk.domain.fills import MarginMode
from riskdesk.domain.instruments import Instrument, Settlement
from riskdesk.domain.symbols import SymbolKind
from riskdesk.domain.values import (
    ACCOUNTING_CONTEXT,
    LEDGER_QUANTUM,
    ONE,
    PRICE_QUANTUM,
    ZERO,
    PositionSide,
    fast_init,
    fast_replace,
    frozen_factory,
)


class TradeAction(StrEnum):
    """What a fill did to a position (seed 002 trade records)."""

    OPEN = "open"
    ADD = "add"
    REDUCE = "reduce"
    CLOSE = "close"


def position_id_for(account_id: str, instrument_key: str, side: PositionSide, opening: str) -> str:
    """Deterministic position id: the same opening fill always yields the same id (replays)."""
    digest = hashlib.sha256(f"{account_id}|{instrument_key}|{side.value}|{opening}".encode())
    return "pos_" + digest.hexdigest()[:20]


def _q(value: Decimal) -> Decimal:
    return value.quantize(LEDGER_QUANTUM, context=ACCOUNTING_CONTEXT)


@fast_init
@dataclass(frozen=True, slots=True)
class Position:
    """An open position (``qty != 0``) in one instrument slot (NET, or LONG/SHORT in hedge mode).

    Money fields are in the instrument's settlement currency: ``realized_pnl`` is gross of fees,
    ``fees`` are fees charged in the settlement currency (fees in other currencies are booked to
    their cash balance; fees charged in the base coin of a spot purchase reduce ``qty``),
    ``funding`` is net funding received (+) or paid (−). ``isolated_margin`` is the margin
    assigned to an isolated position (zero for cross and premium-settled instruments).
    """

    position_id: str
    account_id: str
    instrument_key: str
    slot: PositionSide
    qty: Decimal
    basis: Decimal
    entry_price: Decimal
    opened_at: datetime
    updated_at: datetime
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    funding: Decimal = ZERO
    leverage: Decimal = ONE
    margin_mode: MarginMode = MarginMode.CROSS
    isolated_margin: Decimal = ZERO
    entry_qty_total: Decimal = ZERO
    entry_basis_total: Decimal = ZERO
    exit_qty_total: Decimal = ZERO
    exit_basis_total: Decimal = ZERO
    fill_count: int = 0
    stop_price: Decimal | None = None

    @property
    def direction(self) -> int:
        """+1 long, −1 short."""
        return 1 if self.qty > 0 else -1

    @property
    def side_name(self) -> str:
        """``long`` or ``short``."""
        return "long" if self.qty > 0 else "short"

    def evolve(self, **changes: object) -> Position:
        """A copy with ``changes`` applied (a faster ``dataclasses.replace`` for the hot path)."""
        return _evolve(self, **changes)

    def unrealized_pnl(self, instrument: Instrument, mark: Decimal) -> Decimal:
        """Unrealized P&L at ``mark`` in the settlement currency (exact for linear contracts)."""
        return ACCOUNTING_CONTEXT.subtract(instrument.entry_value(self.qty, mark), self.basis)

    def market_value(self, instrument: Instrument, mark: Decimal) -> Decimal:
        """Signed market value of a premium-settled position (spot, options) at ``mark``."""
        return ACCOUNTING_CONTEXT.multiply(
            ACCOUNTING_CONTEXT.multiply(self.qty, instrument.contract_size), mark
        )


_evolve = fast_replace(Position)


@fast_init
@dataclass(frozen=True, slots=True)
class ClosedPosition:
    """A position's whole life, once flat again (seed 002 ``closed_positions``)."""

    position_id: str
    account_id: str
    instrument_key: str
    slot: PositionSide
    direction: str
    entry_qty: Decimal
    entry_price: Decimal
    exit_price: Decimal
    realized_pnl: Decimal
    fees: Decimal
    funding: Decimal
    net_pnl: Decimal
    return_pct: Decimal
    opened_at: datetime
    closed_at: datetime
    holding_seconds: Decimal
    exit_reason: str


@fast_init
@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One line of the trade log (seed 002 ``trade_records``): what a fill did, with P&L."""

    account_id: str
    position_id: str
    ts: datetime
    action: TradeAction
    instrument_key: str
    side: str
    qty: Decimal
    price: Decimal
    realized_pnl: Decimal
    fee: Decimal


@fast_init
@dataclass(frozen=True, slots=True)
class LegResult:
    """Outcome of applying one leg (a fill that does not cross zero) to one slot."""

    position: Position | None
    closed: ClosedPosition | None
    action: TradeAction
    realized: Decimal
    cash_flow: Decimal


# Built on every fill: the same objects as the constructors build, the cheap way.
_position = frozen_factory(Position)
_closed = frozen_factory(ClosedPosition)
_leg = frozen_factory(LegResult)
trade_record = frozen_factory(TradeRecord)


def _entry_price(instrument: Instrument, qty: Decimal, basis: Decimal) -> Decimal:
    return instrument.price_from_basis(qty, basis).quantize(
        PRICE_QUANTUM, context=ACCOUNTING_CONTEXT
    )


def initial_margin_for(
    instrument: Instrument, qty: Decimal, price: Decimal, leverage: Decimal
) -> Decimal:
    """Initial margin of ``qty`` at ``price`` with ``leverage`` (settlement currency)."""
    return _q(ACCOUNTING_CONTEXT.divide(instrument.notional(qty, price), leverage))


def open_leg(
    instrument: Instrument,
    *,
    position_id: str,
    account_id: str,
    slot: PositionSide,
    signed_qty: Decimal,
    price: Decimal,
    fee_settle: Decimal,
    ts: datetime,
    leverage: Decimal,
    margin_mode: MarginMode,
) -> LegResult:
    """Open a new position from flat."""
    basis = instrument.entry_value(signed_qty, price)
    margined = instrument.settlement is Settlement.MARGIN
    isolated = margined and margin_mode is MarginMode.ISOLATED
    position = _position(
        position_id=position_id,
        account_id=account_id,
        instrument_key=instrument.key,
        slot=slot,
        qty=signed_qty,
        basis=basis,
        entry_price=_entry_price(instrument, signed_qty, basis),
        opened_at=ts,
        updated_at=ts,
        fees=fee_settle,
        leverage=leverage if margined else ONE,
        margin_mode=margin_mode if margined else MarginMode.CROSS,
        isolated_margin=initial_margin_for(instrument, signed_qty, price, leverage)
        if isolated
        else ZERO,
        entry_qty_total=abs(signed_qty),
        entry_basis_total=basis,
        fill_count=1,
    )
    cash = ZERO if margined else -signed_qty * instrument.contract_size * price
    return _leg(position, None, TradeAction.OPEN, ZERO, cash)


def add_leg(
    instrument: Instrument,
    position: Position,
    signed_qty: Decimal,
    price: Decimal,
    fee_settle: Decimal,
    ts: datetime,
) -> LegResult:
    """Increase a position in its own direction; the entry becomes the weighted average."""
    added = instrument.entry_value(signed_qty, price)
    qty = position.qty + signed_qty
    basis = position.basis + added
    margined = instrument.settlement is Settlement.MARGIN
    extra_margin = ZERO
    if margined and position.margin_mode is MarginMode.ISOLATED:
        extra_margin = initial_margin_for(instrument, signed_qty, price, position.leverage)
    new = position.evolve(
        qty=qty,
        basis=basis,
        entry_price=_entry_price(instrument, qty, basis),
        updated_at=ts,
        fees=position.fees + fee_settle,
        isolated_margin=position.isolated_margin + extra_margin,
        entry_qty_total=position.entry_qty_total + abs(signed_qty),
        entry_basis_total=position.entry_basis_total + added,
        fill_count=position.fill_count + 1,
    )
    cash = ZERO if margined else -signed_qty * instrument.contract_size * price
    return _leg(new, None, TradeAction.ADD, ZERO, cash)


def reduce_leg(
    instrument: Instrument,
    position: Position,
    close_qty: Decimal,
    price: Decimal,
    fee_settle: Decimal,
    ts: datetime,
    exit_reason: str = "fill",
) -> LegResult:
    """Reduce (or close) a position by ``close_qty`` (same sign as the position's ``qty``)."""
    if position.qty == close_qty:
        removed = position.basis
    else:
        removed = _q(ACCOUNTING_CONTEXT.divide(position.basis * close_qty, position.qty))
    exit_value = instrument.entry_value(close_qty, price)
    realized = exit_value - removed
    remaining_qty = position.qty - close_qty
    margined = instrument.settlement is Settlement.MARGIN
    cash = realized if margined else close_qty * instrument.contract_size * price
    released = ZERO
    if position.isolated_margin:
        released = (
            position.isolated_margin
            if remaining_qty == 0
            else _q(ACCOUNTING_CONTEXT.divide(position.isolated_margin * close_qty, position.qty))
        )
    new = position.evolve(
        qty=remaining_qty,
        basis=position.basis - removed,
        updated_at=ts,
        realized_pnl=position.realized_pnl + realized,
        fees=position.fees + fee_settle,
        isolated_margin=position.isolated_margin - released,
        exit_qty_total=position.exit_qty_total + abs(close_qty),
        exit_basis_total=position.exit_basis_total + exit_value,
        fill_count=position.fill_count + 1,
    )
    if remaining_qty != 0:
        new = new.evolve(entry_price=_entry_price(instrument, remaining_qty, new.basis))
        return _leg(new, None, TradeAction.REDUCE, realized, cash)
    return _leg(
        None, close_position(instrument, new, ts, exit_reason), TradeAction.CLOSE, realized, cash
    )


def close_position(
    instrument: Instrument, final: Position, ts: datetime, exit_reason: str
) -> ClosedPosition:
    """Summarise a position that has just gone flat."""
    entry_qty = final.entry_qty_total
    direction = 1 if final.entry_basis_total * (-1 if instrument.inverse else 1) > 0 else -1
    signed_entry = entry_qty * direction
    entry_price = _entry_price(instrument, signed_entry, final.entry_basis_total)
    exit_price = _entry_price(instrument, signed_entry, final.exit_basis_total)
    net = final.realized_pnl - final.fees + final.funding
    committed = _committed_capital(instrument, final, entry_price)
    pct = (
        ZERO
        if committed == 0
        else (net * 100 / committed).quantize(Decimal("1e-6"), context=ACCOUNTING_CONTEXT)
    )
    return _closed(
        position_id=final.position_id,
        account_id=final.account_id,
        instrument_key=final.instrument_key,
        slot=final.slot,
        direction="long" if direction > 0 else "short",
        entry_qty=entry_qty,
        entry_price=entry_price,
        exit_price=exit_price,
        realized_pnl=final.realized_pnl,
        fees=final.fees,
        funding=final.funding,
        net_pnl=net,
        return_pct=pct,
        opened_at=final.opened_at,
        closed_at=ts,
        holding_seconds=Decimal(int((ts - final.opened_at).total_seconds())),
        exit_reason=exit_reason,
    )


def _committed_capital(instrument: Instrument, position: Position, entry_price: Decimal) -> Decimal:
    """Capital a closed position tied up: its initial margin (margined) or its cost (premium)."""
    notional = instrument.notional(position.entry_qty_total, entry_price) if entry_price else ZERO
    if instrument.settlement is Settlement.MARGIN:
        return ACCOUNTING_CONTEXT.divide(notional, position.leverage)
    return notional


def apply_funding_to(
    instrument: Instrument, position: Position, rate: Decimal, mark: Decimal, ts: datetime
) -> tuple[Position, Decimal]:
    """Book a funding payment: ``−qty · notional-per-unit · rate``, received when > 0.

    Linear: ``−q·cs·mark·rate`` in the quote; inverse: ``−q·cs/mark·rate`` in coin. A positive rate
    makes longs pay and shorts receive (Binance, Bybit, Deribit convention)."""
    if instrument.kind is not SymbolKind.PERPETUAL:
        return position, ZERO
    notional = instrument.notional(position.qty, mark)
    amount = _q(-position.direction * notional * rate)
    return position.evolve(funding=position.funding + amount, updated_at=ts), amount


def check_can_reduce(position: Position | None, close_qty: Decimal, what: str) -> None:
    """Refuse to sell more than is held where a flip is impossible (spot, hedge-mode slots)."""
    held = ZERO if position is None else abs(position.qty)
    if abs(close_qty) > held:
        raise InsufficientPosition(
            f"{what}: trying to reduce {abs(close_qty)} but only {held} is held", field="qty"
        )
