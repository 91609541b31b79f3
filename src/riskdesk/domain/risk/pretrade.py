"""The pre-trade pipeline: ``check(intent, book, now) -> Approved | Denied``.

Order of checks: validation and the critical checks (trading state, stale data, reduce-only
consistency, margin, daily loss, per-symbol exposure) short-circuit; the others are all evaluated
and every failure is reported, the most severe first. Orders that reduce a position pass the
loss and exposure checks that block entries. Every check reads O(1) aggregates of
:class:`~riskdesk.domain.risk.aggregates.RiskBook`, so the cost does not grow with the number of
open positions.
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

#: Number of distinct checks the pipeline runs (reported with every approval).
CHECK_COUNT = len(RiskCode)

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
        if state is not TradingState.ACTIVE and not reducing:
            return _deny(
                intent,
                Denial(
                    RiskCode.TRADING_STATE,
                    f"trading is {state.label}: only orders that reduce a position are accepted",
                    "send a reduce-only order, or reset the trading state with a reason",
                    float(state),
                    0.0,
                    _CRIT,
                ),
            )
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
        return self._approve(intent, book, now, inst, q, tuple(warnings))

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
        # notional is in the reporting currency; the per-contract fee already in the settlement one.
        margin_need += (
            notional * inst.fee_rate / (inst.settle_rate or 1.0) + abs(q) * inst.fee_per_contract
        )
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
        self._flow(intent, book, now, inst, q, notional, equity, found)
        self._book_after(inst, book, old_sym, new_sym, trade_risk, equity, found)
        self._greeks(inst, q, equity, book, found)
        self._scenario(inst, q, equity, book, found)
        if found:
            found.sort(key=lambda d: (d.severity is not _HIGH, d.severity is _MED))
            return Denied(intent.intent_id, found[0], tuple(found))
        return self._approve(intent, book, now, inst, q, tuple(warnings))

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
            found.append(
                Denial(
                    RiskCode.NO_PROTECTIVE_STOP,
                    "the entry has no protective stop",
                    "attach a stop price",
                    0.0,
                    0.0,
                    _HIGH,
                )
            )
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
        equity: float,
        found: list[Denial],
    ) -> None:
        lim = self.limits
        if self.rates is not None and self.rates.bucket(intent.venue).available(now) < 1.0:
            wait = self.rates.bucket(intent.venue).wait_seconds(now)
            found.append(
                Denial(
                    RiskCode.RATE_LIMIT,
                    f"order rate limit for {intent.venue} reached ({lim.orders_per_second:g}/s)",
                    f"retry in {wait:.2f} s",
                    0.0,
                    float(lim.orders_per_second or 0),
                    _MED,
                )
            )
        if intent.source.partition(":")[0] in lim.adjustment_sources:
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
        delta_change = abs(q * inst.delta_per_unit)
        if (
            lim.max_delta_change_per_trade is not None
            and delta_change / equity > lim.max_delta_change_per_trade
        ):
            found.append(
                Denial(
                    RiskCode.DELTA_CHANGE,
                    f"the order moves dollar delta by {delta_change:,.2f} = {_pct(delta_change / equity)} of equity, limit {_pct(lim.max_delta_change_per_trade)}",
                    "split the adjustment",
                    delta_change / equity,
                    lim.max_delta_change_per_trade,
                    _MED,
                )
            )
        cost = notional * inst.fee_rate + abs(q) * inst.fee_per_contract * inst.settle_rate
        if (
            lim.max_cost_per_day is not None
            and (book.cost_today + cost) / equity > lim.max_cost_per_day
        ):
            total = book.cost_today + cost
            found.append(
                Denial(
                    RiskCode.COST_PER_DAY,
                    f"trading costs today would be {total:,.2f} = {_pct(total / equity)} of equity, limit {_pct(lim.max_cost_per_day)}",
                    "trade less today",
                    total / equity,
                    lim.max_cost_per_day,
                    _MED,
                )
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
        limit = lim.max_gamma_per_underlying
        if inst.gamma_per_unit and limit is not None:
            change = q * inst.gamma_per_unit
            if _crosses(book.asset_gamma.get(asset, 0.0), change, limit * equity):
                self._greek(
                    RiskCode.GAMMA,
                    limit,
                    f"{asset} dollar gamma (1 % move)",
                    book.asset_gamma.get(asset, 0.0) + change,
                    equity,
                    asset,
                    found,
                )
        limit = lim.max_vega_per_underlying
        if inst.vega_per_unit and limit is not None:
            change = q * inst.vega_per_unit
            if _crosses(book.asset_vega.get(asset, 0.0), change, limit * equity):
                self._greek(
                    RiskCode.VEGA,
                    limit,
                    f"{asset} vega (1 vol point)",
                    book.asset_vega.get(asset, 0.0) + change,
                    equity,
                    asset,
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
    ) -> Decision:
        if self.rates is not None:
            bucket = self.rates.bucket(intent.venue)
            ok = bucket.take(now) if self._consume else bucket.available(now) >= 1.0
            if not ok:
                denial = Denial(
                    RiskCode.RATE_LIMIT,
                    f"order rate limit for {intent.venue} reached ({self.limits.orders_per_second:g}/s)",
                    f"retry in {bucket.wait_seconds(now):.2f} s",
                    0.0,
                    float(self.limits.orders_per_second or 0),
                    _MED,
                )
                return _deny(intent, denial)
        return Approved(intent.intent_id, CHECK_COUNT, warnings)
