"""The book of one account: cash balances and open positions, changed only by facts.

:class:`Book` is the aggregate the application loads, changes and saves in one transaction.
Every mutating method validates first and commits last, so an error leaves the book exactly as it
was. Each returns a :class:`BookChange` listing what to persist (positions, closed positions,
trade records, cash deltas) and the events to journal.

Cash: premium-settled trades (spot, options) move the full value; margined trades (perpetuals,
futures) move only realized P&L. Fees and funding always move cash. Isolated margin is an
allocation inside the wallet, not a cash movement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from riskdesk.domain.accounting.position import (
    ClosedPosition,
    LegResult,
    Position,
    TradeRecord,
    add_leg,
    apply_funding_to,
    check_can_reduce,
    open_leg,
    position_id_for,
    reduce_leg,
    trade_record,
)
from riskdesk.domain.errors import InvalidValue, PositionModeMismatch, UnknownInstrument
from riskdesk.domain.events import (
    CashMoved,
    Event,
    FillApplied,
    FundingApplied,
    MarginAdjusted,
    PositionChanged,
    PositionClosed,
    PositionOpened,
)
from riskdesk.domain.fills import Fill, FundingPayment, MarginMode
from riskdesk.domain.instruments import Instrument
from riskdesk.domain.symbols import SymbolKind
from riskdesk.domain.values import (
    ACCOUNTING_CONTEXT,
    LEDGER_QUANTUM,
    MAX_NOTIONAL,
    ONE,
    PRICE_QUANTUM,
    ZERO,
    PositionSide,
    Side,
    amount_value,
    exact,
    fast_init,
    frozen_factory,
)

SlotKey = tuple[str, PositionSide]

# Events of every fill, built as their constructors build them (without one
# ``object.__setattr__`` per field).
_fill_applied = frozen_factory(FillApplied)
_position_opened = frozen_factory(PositionOpened)
_position_changed = frozen_factory(PositionChanged)
_position_closed = frozen_factory(PositionClosed)


class PositionMode(StrEnum):
    """One position per instrument (netting / one-way) or a long and a short (hedge)."""

    NETTING = "netting"
    HEDGE = "hedge"


@fast_init
@dataclass(frozen=True, slots=True)
class Account:
    """An account at a venue (or a paper account). ``reporting_currency`` is what views total in."""

    account_id: str
    venue: str
    position_mode: PositionMode = PositionMode.NETTING
    default_margin_mode: MarginMode = MarginMode.CROSS
    default_leverage: Decimal = ONE
    reporting_currency: str = "USD"
    name: str = ""


@dataclass(slots=True)
class BookChange:
    """What one fact changed; the application persists it atomically."""

    events: list[Event] = field(default_factory=list)
    upserted: list[Position] = field(default_factory=list)
    closed: list[ClosedPosition] = field(default_factory=list)
    trades: list[TradeRecord] = field(default_factory=list)
    cash: dict[str, Decimal] = field(default_factory=dict)
    duplicate: bool = False

    def add_cash(self, currency: str, amount: Decimal) -> None:
        """Accumulate a cash delta."""
        if amount:
            self.cash[currency] = self.cash.get(currency, ZERO) + amount

    def merge(self, other: BookChange) -> None:
        """Append another change (used by batch imports)."""
        self.events.extend(other.events)
        self.upserted.extend(other.upserted)
        self.closed.extend(other.closed)
        self.trades.extend(other.trades)
        for currency, amount in other.cash.items():
            self.add_cash(currency, amount)


class Book:
    """Balances and open positions of one account; applies fills, funding and cash movements."""

    __slots__ = ("account", "applied", "balances", "positions")

    def __init__(
        self,
        account: Account,
        balances: dict[str, Decimal] | None = None,
        positions: Iterable[Position] = (),
        applied: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.account = account
        self.balances: dict[str, Decimal] = dict(balances or {})
        self.positions: dict[SlotKey, Position] = {(p.instrument_key, p.slot): p for p in positions}
        self.applied: set[tuple[str, str]] = set(applied)

    # ------------------------------------------------------------------------------ queries

    def position(
        self, instrument_key: str, slot: PositionSide = PositionSide.NET
    ) -> Position | None:
        """The open position in a slot, if any."""
        return self.positions.get((instrument_key, slot))

    def open_positions(self) -> list[Position]:
        """Every open position."""
        return list(self.positions.values())

    def cash(self, currency: str) -> Decimal:
        """Cash balance in ``currency`` (zero if never touched)."""
        return self.balances.get(currency, ZERO)

    # ------------------------------------------------------------------------------ cash

    @exact
    def move_cash(
        self, currency: str, amount: Decimal, ts: datetime, reason: str, key: tuple[str, str]
    ) -> BookChange:
        """Deposit (> 0) or withdraw (< 0) cash. Withdrawals may not make the balance negative."""
        if key in self.applied:
            return BookChange(duplicate=True)
        if not amount.is_finite() or amount == 0:
            raise InvalidValue(f"must be a non-zero finite amount, got {amount}", field="amount")
        amount = amount_value(amount, "amount")
        if self.cash(currency) + amount < 0:
            raise InvalidValue(
                f"withdrawal of {-amount} {currency} exceeds the balance {self.cash(currency)}",
                field="amount",
            )
        change = BookChange(
            events=[CashMoved(ts, self.account.account_id, currency, amount, reason)]
        )
        change.add_cash(currency, amount)
        self._commit(change, key)
        return change

    # ------------------------------------------------------------------------------ fills

    @exact
    def apply_fill(self, fill: Fill, instrument: Instrument) -> BookChange:
        """Book one fill. Replaying a fill already applied returns an empty, ``duplicate`` change."""
        key = fill.key
        if key in self.applied:
            return BookChange(duplicate=True)
        if fill.symbol != instrument.symbol or fill.venue != instrument.venue:
            raise UnknownInstrument(
                f"fill is for {fill.instrument_key}, not {instrument.key}", field="symbol"
            )
        if fill.account_id != self.account.account_id:
            raise InvalidValue(f"fill belongs to account {fill.account_id!r}", field="account_id")
        instrument.check_lot(fill.qty, "qty")
        notional = instrument.notional(fill.qty, fill.price)
        if notional > MAX_NOTIONAL:
            raise InvalidValue(
                f"the fill's notional {notional:.6E} {instrument.settle} is above the ledger's "
                f"limit {MAX_NOTIONAL:.0E}",
                field="qty",
            )
        slot = self._slot_for(fill.position_side, instrument)
        fee_currency = fill.fee_currency or instrument.settle
        fee_in_settle = fill.fee if fee_currency == instrument.settle else ZERO
        fee_in_base = (
            fill.fee
            if fee_currency != instrument.settle
            and fee_currency == instrument.base
            and instrument.kind is SymbolKind.SPOT
            else ZERO
        )

        current = self.positions.get((instrument.key, slot))
        signed = fill.signed_qty
        legs = self._legs(fill, instrument, slot, current, signed, fee_in_settle)
        if fee_in_base:
            legs = self._charge_base_fee(instrument, legs, fee_in_base, fill)

        change = BookChange()
        side = fill.side._value_
        change.events.append(
            _fill_applied(
                fill.ts,
                fill.account_id,
                fill.venue,
                fill.fill_id,
                fill.symbol,
                side,
                fill.qty,
                fill.price,
                fill.fee,
                fee_currency,
            )
        )
        old = current
        for leg, leg_qty, leg_fee in legs:
            change.add_cash(instrument.settle, leg.cash_flow)
            change.trades.append(
                trade_record(
                    fill.account_id,
                    (leg.position or leg.closed or old).position_id,  # type: ignore[union-attr]
                    fill.ts,
                    leg.action,
                    instrument.key,
                    side,
                    abs(leg_qty),
                    fill.price,
                    leg.realized,
                    leg_fee,
                )
            )
            change.events.append(self._leg_event(fill, old, leg))
            if leg.closed is not None:
                change.closed.append(leg.closed)
            if leg.position is not None:
                change.upserted.append(leg.position)
            old = leg.position
        if fill.fee and not fee_in_base:
            change.add_cash(fee_currency, -fill.fee)
        self._commit(change, key, slot_key=(instrument.key, slot), final=old)
        return change

    def _slot_for(self, position_side: PositionSide, instrument: Instrument) -> PositionSide:
        """Hedge mode applies to perpetuals and futures; spot and options always net."""
        hedge = self.account.position_mode is PositionMode.HEDGE and instrument.kind in (
            SymbolKind.PERPETUAL,
            SymbolKind.FUTURE,
        )
        if hedge and position_side is PositionSide.NET:
            raise PositionModeMismatch(
                "this account is in hedge mode: position_side must be long or short",
                field="position_side",
            )
        if not hedge and position_side is not PositionSide.NET:
            raise PositionModeMismatch(
                f"position_side {position_side.value!r} is only valid in hedge mode (perpetuals and futures of a "
                "hedge-mode account); this account nets this instrument",
                field="position_side",
            )
        return position_side

    def _legs(
        self,
        fill: Fill,
        instrument: Instrument,
        slot: PositionSide,
        current: Position | None,
        signed: Decimal,
        fee: Decimal,
    ) -> list[tuple[LegResult, Decimal, Decimal]]:
        if slot is not PositionSide.NET or instrument.kind is SymbolKind.SPOT:
            what = f"{fill.side.value} {fill.qty} {instrument.symbol}"
            if (slot is PositionSide.LONG and signed < 0) or (
                slot is PositionSide.SHORT and signed > 0
            ):
                check_can_reduce(current, signed, what + f" ({slot.value} side)")
            if instrument.kind is SymbolKind.SPOT and signed < 0:
                check_can_reduce(current, signed, what + " (spot cannot go short)")
            if slot is PositionSide.SHORT and current is None and signed > 0:
                check_can_reduce(None, signed, what)

        if current is None:
            return [(self._open(fill, instrument, slot, signed, fee), signed, fee)]
        if (current.qty > 0) == (signed > 0):
            return [(add_leg(instrument, current, signed, fill.price, fee, fill.ts), signed, fee)]
        if abs(signed) <= abs(current.qty):
            return [
                (reduce_leg(instrument, current, -signed, fill.price, fee, fill.ts), signed, fee)
            ]
        # Crossing zero: close the old position, open the remainder; the fee is split pro rata.
        close_qty = -current.qty
        open_qty = signed - close_qty
        close_fee = (
            (fee * abs(close_qty) / abs(signed)).quantize(
                LEDGER_QUANTUM, context=ACCOUNTING_CONTEXT
            )
            if fee
            else ZERO
        )
        closing = reduce_leg(instrument, current, current.qty, fill.price, close_fee, fill.ts)
        opening = self._open(fill, instrument, slot, open_qty, fee - close_fee)
        return [(closing, close_qty, close_fee), (opening, open_qty, fee - close_fee)]

    def _open(
        self, fill: Fill, instrument: Instrument, slot: PositionSide, signed: Decimal, fee: Decimal
    ) -> LegResult:
        pid = position_id_for(fill.account_id, instrument.key, slot, f"{fill.venue}:{fill.fill_id}")
        return open_leg(
            instrument,
            position_id=pid,
            account_id=fill.account_id,
            slot=slot,
            signed_qty=signed,
            price=fill.price,
            fee_settle=fee,
            ts=fill.ts,
            leverage=fill.leverage or self.account.default_leverage,
            margin_mode=fill.margin_mode or self.account.default_margin_mode,
        )

    def _charge_base_fee(
        self,
        instrument: Instrument,
        legs: list[tuple[LegResult, Decimal, Decimal]],
        fee: Decimal,
        fill: Fill,
    ) -> list[tuple[LegResult, Decimal, Decimal]]:
        """A spot fee paid in the base coin: a buy receives less (cost stays, so WAC rises); a sell
        gives up extra coin for nothing (a realized loss of its cost)."""
        leg, qty, leg_fee = legs[-1]
        position = leg.position
        if position is None or fee <= 0:
            raise InvalidValue(
                "a fee in the base coin needs coin left in the position to pay it", field="fee"
            )
        if fill.side is Side.BUY:
            if fee >= position.qty:
                raise InvalidValue(
                    f"base-coin fee {fee} is not less than the quantity bought", field="fee"
                )
            new_qty = position.qty - fee
            adjusted = replace(
                position,
                qty=new_qty,
                entry_price=instrument.price_from_basis(new_qty, position.basis).quantize(
                    PRICE_QUANTUM
                ),
                entry_qty_total=position.entry_qty_total - fee,
            )
            return [*legs[:-1], (replace(leg, position=adjusted), qty, leg_fee)]
        check_can_reduce(position, fee, f"base-coin fee {fee} {instrument.base}")
        extra = reduce_leg(instrument, position, fee, ZERO, ZERO, fill.ts)
        merged = replace(
            extra,
            action=leg.action,
            realized=leg.realized + extra.realized,
            cash_flow=leg.cash_flow + extra.cash_flow,
        )
        return [*legs[:-1], (merged, qty, leg_fee)]

    def _leg_event(self, fill: Fill, old: Position | None, leg: LegResult) -> Event:
        acct = fill.account_id
        if leg.closed is not None:
            c = leg.closed
            return _position_closed(
                fill.ts, acct, c.position_id, fill.symbol, c.realized_pnl, c.fees, c.funding
            )
        assert leg.position is not None  # noqa: S101 - a leg either closes or leaves a position
        p = leg.position
        if old is None or leg.position.position_id != old.position_id:
            return _position_opened(fill.ts, acct, p.position_id, fill.symbol, p.qty, p.entry_price)
        return _position_changed(
            fill.ts,
            acct,
            p.position_id,
            fill.symbol,
            leg.action._value_.upper(),
            old.qty,
            p.qty,
            old.entry_price,
            p.entry_price,
            leg.realized,
        )

    # ------------------------------------------------------------------------------ funding

    @exact
    def apply_funding(self, payment: FundingPayment, instrument: Instrument) -> BookChange:
        """Book a funding payment for the matching open position (none open: nothing to do)."""
        if payment.key in self.applied:
            return BookChange(duplicate=True)
        if payment.instrument_key != instrument.key:
            raise UnknownInstrument(
                f"funding is for {payment.instrument_key}, not {instrument.key}", field="symbol"
            )
        if payment.account_id != self.account.account_id:
            raise InvalidValue(
                f"funding belongs to account {payment.account_id!r}", field="account_id"
            )
        slot_key = (instrument.key, self._slot_for(payment.position_side, instrument))
        position = self.positions.get(slot_key)
        change = BookChange()
        if position is None:
            self.applied.add(payment.key)
            return change
        updated, amount = apply_funding_to(
            instrument, position, payment.rate, payment.mark_price, payment.ts
        )
        change.upserted.append(updated)
        change.add_cash(instrument.settle, amount)
        change.events.append(
            FundingApplied(
                payment.ts,
                payment.account_id,
                position.position_id,
                instrument.symbol,
                payment.rate,
                payment.mark_price,
                amount,
                instrument.settle,
            )
        )
        self._commit(change, payment.key, slot_key=slot_key, final=updated)
        return change

    # ------------------------------------------------------------------------------ margin

    @exact
    def set_stop(
        self, instrument_key: str, slot: PositionSide, stop_price: Decimal | None
    ) -> Position:
        """Record the protective stop level of an open position (used for portfolio heat)."""
        position = self.positions.get((instrument_key, slot))
        if position is None:
            raise InvalidValue(
                f"no open position in {instrument_key} ({slot.value})", field="symbol"
            )
        updated = replace(position, stop_price=stop_price)
        self.positions[(instrument_key, slot)] = updated
        return updated

    @exact
    def adjust_isolated_margin(
        self,
        instrument: Instrument,
        slot: PositionSide,
        amount: Decimal,
        ts: datetime,
        key: tuple[str, str],
    ) -> BookChange:
        """Add (> 0) or remove (< 0) margin of an isolated position. Adding needs that much free
        cash in the settlement currency (wallet minus every isolated margin in it); removing may
        not take the position's margin below zero."""
        if key in self.applied:
            return BookChange(duplicate=True)
        position = self.positions.get((instrument.key, slot))
        if (
            position is None
            or position.margin_mode is not MarginMode.ISOLATED
            or not position.isolated_margin
        ):
            raise InvalidValue(
                f"no isolated position in {instrument.key} ({slot.value})", field="symbol"
            )
        if not amount.is_finite() or amount == 0:
            raise InvalidValue(f"must be a non-zero finite amount, got {amount}", field="amount")
        if position.isolated_margin + amount < 0:
            raise InvalidValue(
                f"cannot remove {-amount}: the position holds {position.isolated_margin} {instrument.settle}",
                field="amount",
            )
        if amount > 0:
            allocated = sum((p.isolated_margin for p in self.positions.values()), ZERO)
            free = self.cash(instrument.settle) - allocated
            if amount > free:
                raise InvalidValue(
                    f"only {free} {instrument.settle} is free to add", field="amount"
                )
        updated = replace(
            position, isolated_margin=position.isolated_margin + amount, updated_at=ts
        )
        change = BookChange(
            events=[
                MarginAdjusted(
                    ts,
                    self.account.account_id,
                    position.position_id,
                    instrument.symbol,
                    amount,
                    updated.isolated_margin,
                    instrument.settle,
                )
            ],
            upserted=[updated],
        )
        self._commit(change, key, slot_key=(instrument.key, slot), final=updated)
        return change

    # ------------------------------------------------------------------------------ commit

    def _commit(
        self,
        change: BookChange,
        key: tuple[str, str],
        slot_key: SlotKey | None = None,
        final: Position | None = None,
    ) -> None:
        for currency, amount in change.cash.items():
            self.balances[currency] = self.balances.get(currency, ZERO) + amount
        if slot_key is not None:
            if final is None:
                self.positions.pop(slot_key, None)
            else:
                self.positions[slot_key] = final
        self.applied.add(key)
