"""The pre-trade pipeline: ``check(intent, book, now) -> Approved | Denied``.

Order of checks: validation and the critical checks (trading state, stale data, reduce-only
consistency, margin, daily loss, per-symbol exposure) short-circuit; the others are all evaluated
and every failure is reported, the most severe first. Orders that reduce a position pass the
loss and exposure checks that block entries. Every check reads O(1) aggregates of
:class:`~riskdesk.domain.risk.aggregates.RiskBook`, so the cost does not grow with the number of
open positions.

An approval reports how many checks actually ran for that order: a check that is switched off,
or that does not apply (the exposure checks for an order that reduces a position, the Greek
checks for an instrument without that Greek, the liquidity checks without an order book, the
seed-001 adjustment checks for an order that is not an adjustment), is not counted.
"""

from __future__ import annotations

import math
from datetime import datetime

from riskdesk.domain.errors import ValidationError
from riskdesk.domain.instruments import Instrument
from riskdesk.domain.orders import OrderIntent, OrderType, validate_intent
from riskdesk.domain.risk.aggregates import InstrumentRisk, OrderBookSide, RiskBook
from riskdesk.domain.risk.decisions import Approved, Decision, Denial, Denied, RiskCode, Severity
from riskdesk.domain.risk.limits import RiskLimits
from riskdesk.domain.risk.rate_limit import VenueRateLimiter
from riskdesk.domain.risk.trading_state import TradingState
from riskdesk.domain.values import Side

#: Number of distinct checks the pipeline has (an approval reports how many of them ran).
CHECK_COUNT = len(RiskCode)
#: Checks every order goes through: validation, instrument known, reduce-only consistency,
#: trading state.
_COMMON_CHECKS = 4

#: Limits are inclusive up to float noise: an order exactly at a limit (e.g. a suggested size)
#: must not be denied by 2e-18.
_TOLERANCE = 1.0 + 1e-9

_CRIT = Severity.CRITICAL
_HIGH = Severity.HIGH
_MED = Severity.MEDIUM


def _pct(x: float) -> str:
    return f"{x * 100:.2f} %"


def _qty(x: float) -> str:
    return f"{x:.8g}"


def _lots(x: float, inst: InstrumentRisk) -> str:
    """A suggested quantity, rounded down to the lot size (never more than allowed)."""
    if inst.lot_size > 0:
        x = math.floor(x / inst.lot_size + 1e-9) * inst.lot_size
    return _qty(max(x, 0.0))


def _crosses(before: float, change: float, cap: float) -> bool:
    """True when ``before + change`` grows in magnitude beyond ``cap`` (a reduction always passes)."""
    after = before + change
    return abs(after) > abs(before) and abs(after) > cap


def _is_passive(q: float, px: float, mark: float) -> bool:
    """Without a book, a limit order is taken as resting when it is on the passive side of the mark."""
    return px < mark if q > 0 else px > mark


def _order_price(intent: OrderIntent, inst: InstrumentRisk) -> float:
    """The price the order trades at: its limit, else its trigger, else the mark."""
    if intent.price is not None:
        return float(intent.price)
    if intent.stop_price is not None:
        return float(intent.stop_price)
    return inst.mark


def _deny(intent: OrderIntent, denial: Denial) -> Denied:
    return Denied(intent.intent_id, denial, (denial,))


def order_margin(
    intent: OrderIntent, inst: InstrumentRisk, book: RiskBook, q: float, px: float, notional: float
) -> float:
    """Margin and fees (settlement currency) an order adding ``q`` contracts at ``px`` needs:
    the premium (or short-option margin) of unmargined instruments, the initial margin of
    margined ones at the order's (else the account's) leverage; ``notional`` in the reporting
    currency."""
    margin = (
        abs(q)
        * (inst.short_margin_per_unit if inst.is_option and q < 0 else inst.margin_per_unit)
        * (px / inst.mark if inst.mark > 0 and not inst.inverse else 1.0)
    )
    if inst.margined:
        leverage = (
            float(intent.leverage)
            if intent.leverage
            else book.account_leverage.get(intent.account_id, 1.0)
        )
        margin /= leverage
    # notional is in the reporting currency; the per-contract fee already in the settlement one.
    return (
        margin
        + notional * inst.fee_rate / (inst.settle_rate or 1.0)
        + abs(q) * inst.fee_per_contract
    )


def order_trade_risk(intent: OrderIntent, inst: InstrumentRisk, q: float, px: float) -> float:
    """Loss (reporting currency) of ``q`` contracts bought or sold at ``px`` if the protective
    stop of ``intent`` is hit (0.0 without a stop)."""
    stop = intent.protective_stop
    if stop is None:
        return 0.0
    s = float(stop)
    per = (
        abs(1.0 / px - 1.0 / s) * inst.contract_size
        if inst.inverse
        else abs(px - s) * inst.contract_size
    )
    return abs(q) * per * inst.settle_rate


def order_price(intent: OrderIntent, inst: InstrumentRisk) -> float:
    """The price an order trades at: its limit, else its trigger, else the mark."""
    return _order_price(intent, inst)


def walk_book(side: OrderBookSide, qty: float, levels: int) -> tuple[float, float, float]:
    """``(depth, vwap, filled)`` taking ``qty`` from the first ``levels`` levels of ``side``."""
    depth = filled = cost = 0.0
    for price, size in side.levels[:levels]:
        depth += size
        if filled < qty:
            take = min(size, qty - filled)
            filled += take
            cost += take * price
    if filled > 0:
        return depth, cost / filled, filled
    return depth, side.levels[0][0] if side.levels else math.nan, 0.0


class PreTradeEngine:
    """Runs every pre-trade check with one set of limits."""

    def __init__(self, limits: RiskLimits, rates: VenueRateLimiter | None = None) -> None:
        self.limits = limits
        self._consume = True
        self.rates = rates or (
            VenueRateLimiter(limits.orders_per_second, limits.order_burst)
            if limits.orders_per_second
            else None
        )
        lim = limits
        rate = self.rates is not None
        #: Checks an order that reduces a position always runs (when switched on).
        self._exit_checks = _COMMON_CHECKS + (lim.max_order_notional is not None) + rate
        #: Checks an entry always runs (margin always; the others when switched on).
        self._entry_checks = (
            _COMMON_CHECKS
            + 1
            + sum(
                x is not None
                for x in (
                    lim.max_mark_age_seconds,
                    lim.daily_loss_limit,
                    lim.max_symbol_exposure,
                    lim.max_total_exposure,
                    lim.max_positions,
                    lim.max_leverage,
                    lim.max_order_notional,
                    lim.max_concentration,
                )
            )
            + rate
        )
        self._adjustment_checks = sum(
            x is not None
            for x in (
                lim.max_adjustments_per_day,
                lim.min_seconds_between_adjustments,
                lim.max_delta_change_per_trade,
                lim.max_cost_per_day,
            )
        )
        #: Margin and fees (settlement currency) and risk to the stop (reporting currency) of the
        #: last entry checked: the application reserves them for an approved working order.
        self.last_margin = 0.0
        self.last_trade_risk = 0.0
        #: Whether the last order checked reduces a position (it adds no exposure then).
        self.last_reducing = False
        self._ran: dict[str, tuple[InstrumentRisk, int]] = {}
        self._stop_checks = (lim.risk_per_trade is not None) + (lim.max_portfolio_heat is not None)
        self._band_linear = int(lim.price_band is not None)
        self._band_option = int(lim.option_price_band is not None)

    def check(
        self,
        intent: OrderIntent,
        instrument: Instrument,
        book: RiskBook,
        now: datetime,
        consume: bool = True,
    ) -> Decision:
        """Decide on one order. On approval the venue's rate-limit token is spent unless
        ``consume`` is False (a what-if changes nothing); the adjustment counters are not touched
        (the application records fills and adjustments)."""
        self._consume = consume
        try:
            validate_intent(intent, instrument)
        except ValidationError as exc:
            return _deny(
                intent,
                Denial(
                    RiskCode.INVALID_ORDER,
                    f"{exc.field}: {exc.reason}" if exc.field else exc.reason,
                    "correct the order",
                    0.0,
                    0.0,
                    _CRIT,
                ),
            )
        key = intent.instrument_key
        inst = book.instruments.get(key)
        if inst is None:
            return _deny(
                intent,
                Denial(
                    RiskCode.NO_MARK,
                    f"no mark price for {key}: its risk cannot be measured",
                    "record a mark for the instrument first",
                    0.0,
                    0.0,
                    _CRIT,
                ),
            )
        q = float(intent.qty)
        if intent.side is Side.SELL:
            q = -q
        # PositionSide is a StrEnum: it hashes and compares like its value ("net").
        old = book.positions.get((intent.account_id, key, intent.position_side), 0.0)
        new = old + q
        reducing = old != 0.0 and abs(new) < abs(old) and (new == 0.0 or (new > 0.0) == (old > 0.0))
        self.last_reducing = reducing
        if intent.reduce_only and not reducing:
            return _deny(
                intent,
                Denial(
                    RiskCode.REDUCE_ONLY,
                    f"reduce-only order of {_qty(q)} would not reduce the position of {_qty(old)} in {key}",
                    f"at most {_qty(abs(old))} on the closing side"
                    if old
                    else "there is no position to reduce",
                    abs(q),
                    abs(old),
                    _CRIT,
                ),
            )
        state = book.state
        if state is not TradingState.ACTIVE and not state.allows(reducing, intent.source):
            return _deny(intent, _state_denial(state, reducing, intent.source))
        if reducing:
            return self._reducing(intent, book, now, inst, q)
        if not inst.has_mark:
            return _deny(
                intent,
                Denial(
                    RiskCode.NO_MARK,
                    f"no mark price for {key}: its risk cannot be measured",
                    "record a mark for the instrument first",
                    0.0,
                    0.0,
                    _CRIT,
                ),
            )
        return self._entry(intent, book, now, inst, key, q, old, new)

    def _reducing(
        self, intent: OrderIntent, book: RiskBook, now: datetime, inst: InstrumentRisk, q: float
    ) -> Decision:
        """An order that reduces a position skips the loss and exposure checks that block entries,
        but a fat-fingered, oversized or illiquid exit is still stopped."""
        px = _order_price(intent, inst)
        notional = abs(q) * inst.notional_at(px)
        found: list[Denial] = []
        warnings: list[str] = []
        self._order_shape(intent, inst, q, px, notional, found)
        self._liquidity(intent, inst, q, px, found, warnings)
        if found:
            found.sort(key=lambda d: (d.severity is not _HIGH, d.severity is _MED))
            return Denied(intent.intent_id, found[0], tuple(found))
        ran = self._exit_checks + self._shape_and_liquidity_checks(intent, inst)
        return self._approve(intent, book, now, inst, q, tuple(warnings), ran)

    def _shape_and_liquidity_checks(self, intent: OrderIntent, inst: InstrumentRisk) -> int:
        """How many of the price-band and order-book checks applied to this order."""
        lim = self.limits
        band = lim.option_price_band if inst.is_option else lim.price_band
        ran = int(band is not None and intent.price is not None)
        if inst.book is not None:
            ran += (lim.liquidity_book_fraction is not None) + (lim.max_slippage_bps is not None)
        return ran

    def _entry(
        self,
        intent: OrderIntent,
        book: RiskBook,
        now: datetime,
        inst: InstrumentRisk,
        key: str,
        q: float,
        old: float,
        new: float,
    ) -> Decision:
        """The critical checks for an order that adds risk (they short-circuit), then the rest."""
        lim = self.limits
        equity = book.equity
        if equity <= 0.0:
            return _deny(
                intent,
                Denial(
                    RiskCode.TOTAL_EXPOSURE,
                    f"equity is {equity:,.2f}: no new risk can be taken",
                    "deposit or reduce positions",
                    equity,
                    0.0,
                    _CRIT,
                ),
            )
        if lim.max_mark_age_seconds is not None and inst.mark_ts is not None:
            age = (now - inst.mark_ts).total_seconds()
            if age > lim.max_mark_age_seconds:
                return _deny(
                    intent,
                    Denial(
                        RiskCode.STALE_DATA,
                        f"the mark of {key} is {age:,.0f} s old, limit {lim.max_mark_age_seconds:,.0f} s",
                        "wait for fresh market data",
                        age,
                        lim.max_mark_age_seconds,
                        _CRIT,
                    ),
                )
        px = _order_price(intent, inst)
        per_unit = inst.notional_at(px)
        notional = abs(q) * per_unit
        # order_margin(), inlined: this is the hot path.
        margin_need = (
            abs(q)
            * (inst.short_margin_per_unit if inst.is_option and q < 0 else inst.margin_per_unit)
            * (px / inst.mark if inst.mark > 0 and not inst.inverse else 1.0)
        )
        if inst.margined:
            leverage = (
                float(intent.leverage)
                if intent.leverage
                else book.account_leverage.get(intent.account_id, 1.0)
            )
            margin_need /= leverage
        margin_need += (
            notional * inst.fee_rate / (inst.settle_rate or 1.0) + abs(q) * inst.fee_per_contract
        )
        self.last_margin = margin_need
        available = book.available.get((intent.account_id, inst.settle), 0.0)
        if margin_need > available:
            most = available / (margin_need / abs(q)) if margin_need > 0 else 0.0
            return _deny(
                intent,
                Denial(
                    RiskCode.INSUFFICIENT_MARGIN,
                    f"the order needs {margin_need:,.8g} {inst.settle} of margin and fees, {available:,.8g} is available",
                    f"reduce the order to at most {_lots(most, inst)} contracts or add funds",
                    margin_need,
                    available,
                    _CRIT,
                ),
            )
        if lim.daily_loss_limit is not None and book.day_start_equity:
            loss = (equity - book.day_start_equity) / book.day_start_equity
            if loss <= -lim.daily_loss_limit:
                return _deny(
                    intent,
                    Denial(
                        RiskCode.DAILY_LOSS,
                        f"today's loss is {_pct(-loss)} of the day-start equity, limit {_pct(lim.daily_loss_limit)}",
                        "only orders that reduce positions are accepted for the rest of the day",
                        -loss,
                        lim.daily_loss_limit,
                        _CRIT,
                    ),
                )
        old_sym = book.symbol_exposure.get(key, 0.0)
        new_sym = old_sym + q * inst.exposure_per_unit
        if lim.max_symbol_exposure is not None and abs(new_sym) > abs(old_sym):
            ratio = abs(new_sym) / equity
            if ratio > lim.max_symbol_exposure * _TOLERANCE:
                room = max(0.0, lim.max_symbol_exposure * equity - abs(old_sym))
                most = room / abs(inst.exposure_per_unit) if inst.exposure_per_unit else 0.0
                return _deny(
                    intent,
                    Denial(
                        RiskCode.SYMBOL_EXPOSURE,
                        f"{key} would be {_pct(ratio)} of equity ({abs(new_sym):,.2f}), limit {_pct(lim.max_symbol_exposure)}",
                        f"reduce the order to at most {_lots(most, inst)} contracts",
                        ratio,
                        lim.max_symbol_exposure,
                        _CRIT,
                    ),
                )
        return self._rest(intent, book, now, inst, q, old, new, old_sym, new_sym, px, notional)

    def _rest(
        self,
        intent: OrderIntent,
        book: RiskBook,
        now: datetime,
        inst: InstrumentRisk,
        q: float,
        old: float,
        new: float,
        old_sym: float,
        new_sym: float,
        px: float,
        notional: float,
    ) -> Decision:
        equity = book.equity
        found: list[Denial] = []
        warnings: list[str] = []
        self._exposure(book, old, old_sym, new_sym, equity, found)
        trade_risk = self._trade(intent, inst, q, px, notional, equity, found, warnings)
        self._order_shape(intent, inst, q, px, notional, found)
        self._liquidity(intent, inst, q, px, found, warnings)
        adjustment = intent.source.partition(":")[0] in self.limits.adjustment_sources
        self._flow(intent, book, now, inst, q, notional, found, adjustment)
        self._book_after(inst, book, old_sym, new_sym, trade_risk, equity, found)
        self._greeks(inst, q, equity, book, found)
        self._scenario(inst, q, equity, book, found)
        self.last_trade_risk = trade_risk
        if found:
            found.sort(key=lambda d: (d.severity is not _HIGH, d.severity is _MED))
            return Denied(intent.intent_id, found[0], tuple(found))
        return self._approve(
            intent, book, now, inst, q, tuple(warnings), self._entry_ran(intent, inst, adjustment)
        )

    def _entry_ran(self, intent: OrderIntent, inst: InstrumentRisk, adjustment: bool) -> int:
        """How many checks an approved entry went through (see the module docstring): the part
        that depends on the instrument's risk numbers is remembered per instrument while its
        risk object stays the same; the order's own facts are added."""
        hit = self._ran.get(inst.key)
        if hit is None or hit[0] is not inst:
            if len(self._ran) > 4096:  # rebuilt books make new risk objects: forget old ones
                self._ran.clear()
            hit = self._ran[inst.key] = (inst, self._instrument_checks(inst))
        lim = self.limits
        ran = hit[1]
        if intent.protective_stop is not None:
            ran += self._stop_checks
        elif lim.require_protective_stop:
            ran += 1
        if adjustment:
            ran += self._adjustment_checks
        if intent.price is not None:
            ran += self._band_option if inst.is_option else self._band_linear
        return ran

    def _instrument_checks(self, inst: InstrumentRisk) -> int:
        """Entry checks that run for every order in ``inst`` (limits switched on)."""
        lim = self.limits
        ran = self._entry_checks
        if inst.book is not None:
            ran += (lim.liquidity_book_fraction is not None) + (lim.max_slippage_bps is not None)
        if inst.delta_per_unit:
            ran += (lim.max_net_delta_per_underlying is not None) + (
                lim.max_net_delta_total is not None
            )
        if inst.gamma_per_unit:
            ran += (lim.max_gamma_per_underlying is not None) + (lim.max_gamma_total is not None)
        if inst.vega_per_unit:
            ran += (lim.max_vega_per_underlying is not None) + (lim.max_vega_total is not None)
        if inst.scenario_per_unit is not None and lim.max_scenario_loss is not None:
            ran += 1
        return ran

    def _exposure(
        self,
        book: RiskBook,
        old: float,
        old_sym: float,
        new_sym: float,
        equity: float,
        found: list[Denial],
    ) -> None:
        lim = self.limits
        gross_after = book.gross - abs(old_sym) + abs(new_sym)
        if (
            lim.max_total_exposure is not None
            and gross_after > book.gross
            and gross_after / equity > lim.max_total_exposure
        ):
            found.append(
                Denial(
                    RiskCode.TOTAL_EXPOSURE,
                    f"total exposure would be {_pct(gross_after / equity)} of equity, limit {_pct(lim.max_total_exposure)}",
                    "reduce the order or close other positions",
                    gross_after / equity,
                    lim.max_total_exposure,
                    _HIGH,
                )
            )
        if lim.max_positions is not None and old == 0.0:
            count = book.count + 1
            if count > lim.max_positions:
                found.append(
                    Denial(
                        RiskCode.MAX_POSITIONS,
                        f"this would be open position {count}, limit {lim.max_positions}",
                        "close a position first",
                        float(count),
                        float(lim.max_positions),
                        _HIGH,
                    )
                )
        if (
            lim.max_leverage is not None
            and gross_after > book.gross
            and gross_after / equity > lim.max_leverage
        ):
            found.append(
                Denial(
                    RiskCode.LEVERAGE,
                    f"effective leverage would be {gross_after / equity:.2f}x, limit {lim.max_leverage:g}x",
                    "reduce the order",
                    gross_after / equity,
                    lim.max_leverage,
                    _HIGH,
                )
            )

    def _trade(
        self,
        intent: OrderIntent,
        inst: InstrumentRisk,
        q: float,
        px: float,
        notional: float,
        equity: float,
        found: list[Denial],
        warnings: list[str],
    ) -> float:
        """Checks on the order itself; returns its risk to the protective stop (reporting ccy)."""
        lim = self.limits
        stop = intent.protective_stop
        trade_risk = 0.0
        if stop is not None:
            s = float(stop)
            per = (
                abs(1.0 / px - 1.0 / s) * inst.contract_size
                if inst.inverse
                else abs(px - s) * inst.contract_size
            )
            trade_risk = abs(q) * per * inst.settle_rate
            if lim.risk_per_trade is not None and trade_risk / equity > lim.risk_per_trade:
                most = lim.risk_per_trade * equity / (per * inst.settle_rate) if per else 0.0
                found.append(
                    Denial(
                        RiskCode.RISK_PER_TRADE,
                        f"risk to the stop is {trade_risk:,.2f} = {_pct(trade_risk / equity)} of equity, limit {_pct(lim.risk_per_trade)}",
                        f"reduce the order to at most {_lots(most, inst)} contracts or tighten the stop",
                        trade_risk / equity,
                        lim.risk_per_trade,
                        _HIGH,
                    )
                )
        elif lim.require_protective_stop:
            found.append(_no_stop_denial(intent, inst, q, px, notional, equity, lim.risk_per_trade))
        else:
            warnings.append("no protective stop given: risk per trade and heat not checked")
        return trade_risk

    def _order_shape(
        self,
        intent: OrderIntent,
        inst: InstrumentRisk,
        q: float,
        px: float,
        notional: float,
        found: list[Denial],
    ) -> None:
        """Order notional and the price band (fat finger): apply to exits too."""
        lim = self.limits
        if lim.max_order_notional is not None and notional > lim.max_order_notional:
            found.append(
                Denial(
                    RiskCode.ORDER_NOTIONAL,
                    f"order notional {notional:,.2f} exceeds {lim.max_order_notional:,.2f}",
                    "split the order",
                    notional,
                    lim.max_order_notional,
                    _HIGH,
                )
            )
        band = lim.option_price_band if inst.is_option else lim.price_band
        if band is not None and intent.price is not None and inst.mark > 0:
            off = px / inst.mark - 1.0
            if (q > 0 and off > band) or (q < 0 and -off > band):
                found.append(
                    Denial(
                        RiskCode.PRICE_BAND,
                        f"limit {px:g} is {_pct(abs(off))} {'above' if off > 0 else 'below'} the mark {inst.mark:g}, band {_pct(band)}",
                        "check the price (fat finger?)",
                        abs(off),
                        band,
                        _HIGH,
                    )
                )

    def _flow(
        self,
        intent: OrderIntent,
        book: RiskBook,
        now: datetime,
        inst: InstrumentRisk,
        q: float,
        notional: float,
        found: list[Denial],
        adjustment: bool,
    ) -> None:
        """The order rate, then seed 001's limits on automated adjustments (``adjustment``:
        the order's source is one of ``adjustment_sources``), in the seed's units."""
        lim = self.limits
        if self.rates is not None and self.rates.bucket(intent.venue).available(now) < 1.0:
            found.append(self._rate_denial(intent.venue, now))
        if not adjustment:
            return
        if (
            lim.max_adjustments_per_day is not None
            and book.adjustments_today >= lim.max_adjustments_per_day
        ):
            found.append(
                Denial(
                    RiskCode.ADJUSTMENTS_PER_DAY,
                    f"{book.adjustments_today} adjustments today, limit {lim.max_adjustments_per_day}",
                    "wait for tomorrow or adjust by hand",
                    float(book.adjustments_today),
                    float(lim.max_adjustments_per_day),
                    _MED,
                )
            )
        last = book.last_adjustment.get(inst.asset)
        if lim.min_seconds_between_adjustments is not None and last is not None:
            gap = (now - last).total_seconds()
            if gap < lim.min_seconds_between_adjustments:
                found.append(
                    Denial(
                        RiskCode.ADJUSTMENT_INTERVAL,
                        f"last {inst.asset} adjustment {gap:.0f} s ago, minimum {lim.min_seconds_between_adjustments:.0f} s",
                        f"retry in {lim.min_seconds_between_adjustments - gap:.0f} s",
                        gap,
                        lim.min_seconds_between_adjustments,
                        _MED,
                    )
                )
        limit = lim.max_delta_change_per_trade
        if limit is not None:
            change = abs(q * inst.delta_units_per_unit)
            if change > limit * _TOLERANCE:
                most = limit / abs(inst.delta_units_per_unit)
                found.append(
                    Denial(
                        RiskCode.DELTA_CHANGE,
                        f"the adjustment changes {inst.asset} delta by {change:,.6g} {inst.asset}, "
                        f"limit {limit:g} {inst.asset} per adjustment",
                        f"split the adjustment: at most {_lots(most, inst)} contracts each",
                        change,
                        limit,
                        _MED,
                    )
                )
        if lim.max_cost_per_day is not None:
            cost = notional * inst.fee_rate + abs(q) * inst.fee_per_contract * inst.settle_rate
            total = book.cost_today + cost
            if total > lim.max_cost_per_day * _TOLERANCE:
                found.append(
                    Denial(
                        RiskCode.COST_PER_DAY,
                        f"adjustment costs today would be {total:,.2f} ({book.cost_today:,.2f} so "
                        f"far + {cost:,.2f} for this order), limit {lim.max_cost_per_day:,.2f} a day",
                        "adjust less often today",
                        total,
                        lim.max_cost_per_day,
                        _MED,
                    )
                )

    def _rate_denial(self, venue: str, now: datetime) -> Denial:
        assert self.rates is not None  # noqa: S101 - only called with a rate limiter
        bucket = self.rates.bucket(venue)
        tokens = bucket.available(now)
        return Denial(
            RiskCode.RATE_LIMIT,
            f"order rate limit for {venue} reached: {tokens:.2f} of {bucket.burst} order tokens "
            f"left (refilled at {bucket.rate:g} per second), an order needs 1",
            f"retry in {bucket.wait_seconds(now):.2f} s",
            tokens,
            1.0,
            _MED,
        )

    def _book_after(
        self,
        inst: InstrumentRisk,
        book: RiskBook,
        old_sym: float,
        new_sym: float,
        trade_risk: float,
        equity: float,
        found: list[Denial],
    ) -> None:
        lim = self.limits
        asset_gross = book.asset_gross.get(inst.asset, 0.0) - abs(old_sym) + abs(new_sym)
        if (
            lim.max_concentration is not None
            and abs(new_sym) > abs(old_sym)
            and asset_gross / equity > lim.max_concentration
        ):
            found.append(
                Denial(
                    RiskCode.CONCENTRATION,
                    f"{inst.asset} would be {_pct(asset_gross / equity)} of equity, limit {_pct(lim.max_concentration)}",
                    f"diversify away from {inst.asset}",
                    asset_gross / equity,
                    lim.max_concentration,
                    _MED,
                )
            )
        if (
            lim.max_portfolio_heat is not None
            and trade_risk
            and (book.heat + trade_risk) / equity > lim.max_portfolio_heat
        ):
            heat = (book.heat + trade_risk) / equity
            found.append(
                Denial(
                    RiskCode.PORTFOLIO_HEAT,
                    f"portfolio heat would be {_pct(heat)}, limit {_pct(lim.max_portfolio_heat)}",
                    "tighten stops or reduce positions first",
                    heat,
                    lim.max_portfolio_heat,
                    _MED,
                )
            )

    def _liquidity(
        self,
        intent: OrderIntent,
        inst: InstrumentRisk,
        q: float,
        px: float,
        found: list[Denial],
        warnings: list[str],
    ) -> None:
        lim = self.limits
        book = inst.book
        kind = intent.order_type
        if book is None:
            if kind is OrderType.MARKET or (
                kind is OrderType.LIMIT and not _is_passive(q, px, inst.mark)
            ):
                if lim.require_order_book:
                    found.append(
                        Denial(
                            RiskCode.LIQUIDITY,
                            "no order book: liquidity cannot be checked",
                            "wait for depth data or use a limit order",
                            0.0,
                            0.0,
                            _HIGH,
                        )
                    )
                else:
                    warnings.append("no order book: liquidity and slippage not checked")
            return
        side = book.asks if q > 0 else book.bids
        levels = side.levels
        if not levels:
            return
        size = abs(q)
        best = levels[0][0]
        marketable = kind is OrderType.MARKET or (
            kind is OrderType.LIMIT and (px >= best if q > 0 else px <= best)
        )
        fraction = lim.liquidity_book_fraction
        if fraction is not None:
            depth = side.depth(lim.liquidity_levels)
            if size > fraction * depth:
                found.append(
                    Denial(
                        RiskCode.LIQUIDITY,
                        f"order of {_qty(size)} is {size / depth * 100 if depth else math.inf:.1f} % of the top "
                        f"{lim.liquidity_levels} levels ({_qty(depth)}), limit {_pct(fraction)}",
                        f"at most {_lots(fraction * depth, inst)} per order",
                        size / depth if depth else math.inf,
                        fraction,
                        _HIGH,
                    )
                )
        # Within the best level's size there is no slippage to estimate: skip the walk.
        if marketable and lim.max_slippage_bps is not None and size > levels[0][1]:
            _, vwap, _ = walk_book(side, size, lim.liquidity_levels)
            bps = abs(vwap / best - 1.0) * 1e4
            if bps > lim.max_slippage_bps:
                found.append(
                    Denial(
                        RiskCode.SLIPPAGE,
                        f"estimated slippage {bps:.1f} bps, limit {lim.max_slippage_bps:g} bps",
                        "use a limit order or split it",
                        bps,
                        lim.max_slippage_bps,
                        _HIGH,
                    )
                )

    def _greeks(
        self, inst: InstrumentRisk, q: float, equity: float, book: RiskBook, found: list[Denial]
    ) -> None:
        lim = self.limits
        asset = inst.asset
        # Labels are built only when a limit is crossed (string formatting is the expensive part).
        if inst.delta_per_unit:
            change = q * inst.delta_per_unit
            limit = lim.max_net_delta_per_underlying
            if limit is not None and _crosses(
                book.asset_delta.get(asset, 0.0), change, limit * equity
            ):
                self._greek(
                    RiskCode.NET_DELTA,
                    limit,
                    f"{asset} net dollar delta",
                    book.asset_delta.get(asset, 0.0) + change,
                    equity,
                    asset,
                    found,
                )
            limit = lim.max_net_delta_total
            if limit is not None and _crosses(book.delta_sum, change, limit * equity):
                self._greek(
                    RiskCode.NET_DELTA,
                    limit,
                    "book net dollar delta",
                    book.delta_sum + change,
                    equity,
                    "the book",
                    found,
                )
        if inst.gamma_per_unit:
            change = q * inst.gamma_per_unit
            limit = lim.max_gamma_per_underlying
            if limit is not None and _crosses(
                book.asset_gamma.get(asset, 0.0), change, limit * equity
            ):
                self._greek(
                    RiskCode.GAMMA,
                    limit,
                    f"{asset} dollar gamma (1 % move)",
                    book.asset_gamma.get(asset, 0.0) + change,
                    equity,
                    asset,
                    found,
                )
            limit = lim.max_gamma_total
            if limit is not None and _crosses(book.gamma_sum, change, limit * equity):
                self._greek(
                    RiskCode.GAMMA,
                    limit,
                    "book dollar gamma (1 % move of every underlying)",
                    book.gamma_sum + change,
                    equity,
                    "the book",
                    found,
                )
        if inst.vega_per_unit:
            change = q * inst.vega_per_unit
            limit = lim.max_vega_per_underlying
            if limit is not None and _crosses(
                book.asset_vega.get(asset, 0.0), change, limit * equity
            ):
                self._greek(
                    RiskCode.VEGA,
                    limit,
                    f"{asset} vega (1 vol point)",
                    book.asset_vega.get(asset, 0.0) + change,
                    equity,
                    asset,
                    found,
                )
            limit = lim.max_vega_total
            if limit is not None and _crosses(book.vega_sum, change, limit * equity):
                self._greek(
                    RiskCode.VEGA,
                    limit,
                    "book vega (1 vol point on every underlying)",
                    book.vega_sum + change,
                    equity,
                    "the book",
                    found,
                )

    @staticmethod
    def _greek(
        code: RiskCode,
        limit: float,
        name: str,
        after: float,
        equity: float,
        what: str,
        found: list[Denial],
    ) -> None:
        found.append(
            Denial(
                code,
                f"{name} would be {after:,.2f} = {_pct(abs(after) / equity)} of equity, "
                f"limit {_pct(limit)}",
                f"hedge {what} or reduce the order",
                abs(after) / equity,
                limit,
                _MED,
            )
        )

    def _scenario(
        self, inst: InstrumentRisk, q: float, equity: float, book: RiskBook, found: list[Denial]
    ) -> None:
        # The same shock hits every underlying at once, so the book's worst cell is the minimum of
        # the summed grid, not a sum of per-underlying minima.
        lim = self.limits
        if lim.max_scenario_loss is None or inst.scenario_per_unit is None:
            return
        total = book.scenario_sum
        worst_before = 0.0 if total is None else book.scenario_worst
        # min(a + b) >= min(a) + min(b): if even that bound is within the limit, skip the grid.
        low = q * (inst.scenario_min if q > 0 else inst.scenario_max)
        if -(worst_before + low) <= lim.max_scenario_loss * equity:
            return
        after = q * inst.scenario_per_unit if total is None else total + q * inst.scenario_per_unit
        worst_after = float(after.min())
        if worst_after < worst_before and -worst_after / equity > lim.max_scenario_loss:
            found.append(
                Denial(
                    RiskCode.SCENARIO_LOSS,
                    f"worst scenario loss would be {-worst_after:,.2f} = {_pct(-worst_after / equity)} of equity, limit {_pct(lim.max_scenario_loss)}",
                    "reduce the order or hedge",
                    -worst_after / equity,
                    lim.max_scenario_loss,
                    _MED,
                )
            )

    def _approve(
        self,
        intent: OrderIntent,
        book: RiskBook,
        now: datetime,
        inst: InstrumentRisk,
        q: float,
        warnings: tuple[str, ...],
        ran: int,
    ) -> Decision:
        if self.rates is not None:
            bucket = self.rates.bucket(intent.venue)
            ok = bucket.take(now) if self._consume else bucket.available(now) >= 1.0
            if not ok:
                return _deny(intent, self._rate_denial(intent.venue, now))
        return Approved(intent.intent_id, ran, warnings)


def _state_denial(state: TradingState, reducing: bool, source: str) -> Denial:
    """Why the trading state refuses an order: the state (value) and the most severe state that
    would accept it (limit), and what the current state accepts."""
    needed = TradingState.REDUCING if reducing else TradingState.ACTIVE
    what = (
        f"an order that reduces a position (source {source or 'unnamed'})"
        if reducing
        else "an entry"
    )
    if state is TradingState.REDUCING:
        suggestion = (
            "send an order that reduces a position, or reset the trading state with a reason"
        )
    else:
        suggestion = (
            "`riskdesk risk flatten` closes every position; or reset the trading state with a "
            "reason (`riskdesk risk reset --reason ...`)"
        )
    return Denial(
        RiskCode.TRADING_STATE,
        f"trading is {state.label} (level {int(state)}): it accepts {state.accepts}; "
        f"{what} needs trading to be {needed.label} (level {int(needed)}) or lower",
        suggestion,
        float(state),
        float(needed),
        _CRIT,
    )


def _no_stop_denial(
    intent: OrderIntent,
    inst: InstrumentRisk,
    q: float,
    px: float,
    notional: float,
    equity: float,
    risk_per_trade: float | None,
) -> Denial:
    """An entry without a protective stop: its whole notional is at risk (value, as a fraction
    of equity) against the risk allowed per trade (limit); the suggestion names the farthest
    stop that keeps the loss within that limit."""
    side = "long" if q > 0 else "short"
    at_risk = notional / equity
    if risk_per_trade is None:
        return Denial(
            RiskCode.NO_PROTECTIVE_STOP,
            f"the {side} entry of {_qty(abs(q))} {intent.instrument_key} at {px:g} gives no "
            f"protective stop: its whole notional {notional:,.2f} ({_pct(at_risk)} of equity) is "
            "at risk, and a stop is required",
            "attach a stop price (--stop)",
            at_risk,
            0.0,
            _HIGH,
        )
    budget = risk_per_trade * equity
    per_contract = budget / (abs(q) * (inst.settle_rate or 1.0))
    if inst.inverse:
        inv = 1.0 / px + (
            per_contract / inst.contract_size if q > 0 else -per_contract / inst.contract_size
        )
        stop = 1.0 / inv if inv > 0 else math.inf
    else:
        move = per_contract / inst.contract_size if inst.contract_size else 0.0
        stop = px - move if q > 0 else px + move
    where = "no lower than" if q > 0 else "no higher than"
    return Denial(
        RiskCode.NO_PROTECTIVE_STOP,
        f"the {side} entry of {_qty(abs(q))} {intent.instrument_key} at {px:g} gives no "
        f"protective stop: its whole notional {notional:,.2f} ({_pct(at_risk)} of equity) is at "
        f"risk; a stop is required so the loss to it stays within {_pct(risk_per_trade)} of "
        f"equity ({budget:,.2f})",
        f"attach a stop price (--stop) {where} {stop:,.8g} for this size",
        at_risk,
        risk_per_trade,
        _HIGH,
    )
