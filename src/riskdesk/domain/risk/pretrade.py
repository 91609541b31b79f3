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

Speed: an entry is checked in one function (:meth:`PreTradeEngine._entry`) that reads each
number once into a local and evaluates every condition inline; the sentences of a denial are
built by :mod:`~riskdesk.domain.risk.denials` only when a limit is crossed. A per-check method
call or attribute chain costs tens of nanoseconds, and the pipeline has some thirty checks.
"""

from __future__ import annotations

import math
from datetime import datetime

from riskdesk.domain.errors import ValidationError
from riskdesk.domain.instruments import Instrument
from riskdesk.domain.orders import OrderIntent, OrderType, validate_intent
from riskdesk.domain.risk import denials
from riskdesk.domain.risk.aggregates import InstrumentRisk, OrderBookSide, RiskBook
from riskdesk.domain.risk.decisions import Approved, Decision, Denial, Denied, RiskCode, Severity
from riskdesk.domain.risk.limits import RiskLimits
from riskdesk.domain.risk.rate_limit import VenueRateLimiter
from riskdesk.domain.risk.trading_state import TradingState
from riskdesk.domain.values import Side, frozen_factory

#: Number of distinct checks the pipeline has (an approval reports how many of them ran).
CHECK_COUNT = len(RiskCode)
#: Checks every order goes through: validation, instrument known, reduce-only consistency,
#: trading state.
_COMMON_CHECKS = 4

#: Limits are inclusive up to float noise: an order exactly at a limit (e.g. a suggested size)
#: must not be denied by 2e-18.
_TOLERANCE = 1.0 + 1e-9

#: Remembered answers per order source are forgotten past this many (sources name plans).
_CACHE_ENTRIES = 4096

_HIGH = Severity.HIGH
_MED = Severity.MEDIUM
_SELL = Side.SELL
_ACTIVE = TradingState.ACTIVE

#: ``Approved(...)`` and ``Denied(...)``, built the cheap way (see ``values.frozen_factory``):
#: one per decision.
_approved = frozen_factory(Approved)
_denied_of = frozen_factory(Denied)


def _severity_order(d: Denial) -> tuple[bool, bool]:
    """Sort key: critical, then high, then medium (the sort is stable within a level)."""
    return (d.severity is not _HIGH, d.severity is _MED)


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
    return _denied_of(intent.intent_id, denial, (denial,))


def _denied(intent: OrderIntent, found: list[Denial]) -> Denied:
    """Every denial found, the most severe first."""
    found.sort(key=_severity_order)
    return _denied_of(intent.intent_id, found[0], tuple(found))


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
        #: Checks that apply to an instrument with an order book, a delta, a gamma, a vega, a
        #: scenario grid (when switched on).
        self._book_checks = (lim.liquidity_book_fraction is not None) + (
            lim.max_slippage_bps is not None
        )
        self._delta_checks = (lim.max_net_delta_per_underlying is not None) + (
            lim.max_net_delta_total is not None
        )
        self._gamma_checks = (lim.max_gamma_per_underlying is not None) + (
            lim.max_gamma_total is not None
        )
        self._vega_checks = (lim.max_vega_per_underlying is not None) + (
            lim.max_vega_total is not None
        )
        self._grid_checks = int(lim.max_scenario_loss is not None)
        #: Whether an order source (``rebalance``, ``governance:<plan>``…) is an adjustment.
        self._adjustment_source: dict[str, bool] = {}
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
            return _deny(intent, denials.invalid_order(exc))
        # Validation proved that the intent names this instrument: its key is the intent's.
        key = instrument.key
        inst = book.instruments.get(key)
        if inst is None:
            return _deny(intent, denials.no_mark(key))
        q = float(intent.qty)
        if intent.side is _SELL:
            q = -q
        # PositionSide is a StrEnum: it hashes and compares like its value ("net").
        old = book.positions.get((intent.account_id, key, intent.position_side), 0.0)
        new = old + q
        reducing = old != 0.0 and abs(new) < abs(old) and (new == 0.0 or (new > 0.0) == (old > 0.0))
        self.last_reducing = reducing
        if intent.reduce_only and not reducing:
            return _deny(intent, denials.reduce_only(q, old, key))
        state = book.state
        if state is not _ACTIVE and not state.allows(reducing, intent.source):
            return _deny(intent, denials.trading_state(state, reducing, intent.source))
        if reducing:
            return self._reducing(intent, book, now, inst, q)
        if book.unpriced:
            return _deny(intent, denials.no_rate(book.unpriced))
        if not inst.has_mark:
            return _deny(intent, denials.no_mark(key))
        return self._entry(intent, book, now, inst, key, q, old)

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
            return _denied(intent, found)
        ran = self._exit_checks + self._shape_and_liquidity_checks(intent, inst)
        if self.rates is not None:
            bucket = self.rates.bucket(intent.venue)
            ok = bucket.take(now) if self._consume else bucket.available(now) >= 1.0
            if not ok:
                return _deny(intent, denials.rate_limit(intent.venue, bucket, now))
        return _approved(intent.intent_id, ran, tuple(warnings))

    def _shape_and_liquidity_checks(self, intent: OrderIntent, inst: InstrumentRisk) -> int:
        """How many of the price-band and order-book checks applied to this order."""
        lim = self.limits
        band = lim.option_price_band if inst.is_option else lim.price_band
        ran = int(band is not None and intent.price is not None)
        if inst.book is not None:
            ran += self._book_checks
        return ran

    # One function on purpose: split by topic, as it once was, every order paid for a dozen
    # calls and the same attributes read again in each (see benchmarks/risk.py).
    def _entry(  # noqa: C901 - every entry check, inline, in the order they are reported
        self,
        intent: OrderIntent,
        book: RiskBook,
        now: datetime,
        inst: InstrumentRisk,
        key: str,
        q: float,
        old: float,
    ) -> Decision:
        """Every check of an order that adds risk, in one pass (the hot path: see the module
        docstring). The critical checks short-circuit; the others are all evaluated, in the
        order written here, and every failure is reported."""
        lim = self.limits
        equity = book.equity
        if equity <= 0.0:
            return _deny(intent, denials.no_equity(equity))
        # A mark recorded by hand is as-of data the user vouches for: its own, longer limit.
        limit: float | None = (
            lim.max_manual_mark_age_seconds if inst.manual_mark else lim.max_mark_age_seconds
        )
        if limit is not None and inst.mark_ts is not None:
            age = (now - inst.mark_ts).total_seconds()
            if age > limit:
                return _deny(intent, denials.stale_data(key, age, limit))
        # The price the order trades at (its limit, else its trigger, else the mark) and its
        # notional at that price (InstrumentRisk.notional_at).
        mark = inst.mark
        price = intent.price
        if price is not None:
            px = float(price)
        elif intent.stop_price is not None:
            px = float(intent.stop_price)
        else:
            px = mark
        size = abs(q)
        if inst.inverse or inst.is_option or mark <= 0:
            notional = size * inst.notional_per_unit
        else:
            notional = size * (inst.notional_per_unit * px / mark)
        # Margin and fees (order_margin()): the premium or short-option margin of unmargined
        # instruments, the initial margin of margined ones at the order's leverage.
        margin_need = (
            size
            * (inst.short_margin_per_unit if inst.is_option and q < 0 else inst.margin_per_unit)
            * (px / mark if mark > 0 and not inst.inverse else 1.0)
        )
        if inst.margined:
            leverage = intent.leverage
            margin_need /= (
                float(leverage) if leverage else book.account_leverage.get(intent.account_id, 1.0)
            )
        # notional is in the reporting currency; the per-contract fee already in the settlement one.
        margin_need += (
            notional * inst.fee_rate / (inst.settle_rate or 1.0) + size * inst.fee_per_contract
        )
        self.last_margin = margin_need
        available = book.available.get((intent.account_id, inst.settle), 0.0)
        if margin_need > available:
            return _deny(intent, denials.insufficient_margin(margin_need, available, size, inst))
        limit = lim.daily_loss_limit
        day_start = book.day_start_equity
        if limit is not None and day_start:
            loss = (equity - day_start) / day_start
            if loss <= -limit:
                return _deny(intent, denials.daily_loss(-loss, limit))
        old_sym = book.symbol_exposure.get(key, 0.0)
        new_sym = old_sym + q * inst.exposure_per_unit
        gross_before = abs(old_sym)
        gross_after_sym = abs(new_sym)
        grows = gross_after_sym > gross_before
        limit = lim.max_symbol_exposure
        if limit is not None and grows:
            ratio = gross_after_sym / equity
            if ratio > limit * _TOLERANCE:
                return _deny(
                    intent,
                    denials.symbol_exposure(
                        key,
                        ratio,
                        gross_after_sym,
                        gross_before,
                        equity,
                        limit,
                        inst,
                        opposite=(old_sym > 0.0) != (q * inst.exposure_per_unit > 0.0),
                    ),
                )

        found: list[Denial] = []
        warnings: list[str] = []
        # Exposure after the order: total, open positions, effective leverage.
        gross = book.gross
        gross_after = gross - gross_before + gross_after_sym
        adds_gross = gross_after > gross
        limit = lim.max_total_exposure
        if limit is not None and adds_gross and gross_after / equity > limit:
            found.append(denials.total_exposure(gross_after / equity, limit))
        if lim.max_positions is not None and old == 0.0 and book.count + 1 > lim.max_positions:
            found.append(denials.max_positions(book.count + 1, lim.max_positions))
        limit = lim.max_leverage
        if limit is not None and adds_gross and gross_after / equity > limit:
            found.append(denials.leverage(gross_after / equity, limit))
        # Risk to the protective stop (reporting currency).
        stop = intent.protective_stop
        trade_risk = 0.0
        if stop is not None:
            s = float(stop)
            per = (
                abs(1.0 / px - 1.0 / s) * inst.contract_size
                if inst.inverse
                else abs(px - s) * inst.contract_size
            )
            trade_risk = size * per * inst.settle_rate
            limit = lim.risk_per_trade
            if limit is not None and trade_risk / equity > limit:
                found.append(denials.risk_per_trade(trade_risk, equity, limit, per, inst))
        elif lim.require_protective_stop:
            found.append(
                denials.no_protective_stop(key, inst, q, px, notional, equity, lim.risk_per_trade)
            )
        else:
            warnings.append("no protective stop given: risk per trade and heat not checked")
        # Order notional and price band (fat finger): exits get these too (_order_shape).
        limit = lim.max_order_notional
        if limit is not None and notional > limit:
            found.append(denials.order_notional(notional, limit))
        limit = lim.option_price_band if inst.is_option else lim.price_band
        if limit is not None and price is not None and mark > 0:
            off = px / mark - 1.0
            if (q > 0 and off > limit) or (q < 0 and -off > limit):
                found.append(denials.price_band(px, off, mark, limit))
        self._liquidity(intent, inst, q, px, found, warnings)
        # Order rate: one token per order, spent on approval below.
        rates = self.rates
        if rates is not None:
            bucket = rates.bucket(intent.venue)
            tokens = bucket.available(now)
            if tokens < 1.0:
                found.append(denials.rate_limit(intent.venue, bucket, now))
        # Seed 001's limits on an automated adjustment (the order's source is one of
        # ``adjustment_sources``), in the seed's units: count a day, interval, delta change in
        # units of the underlying, fees a day.
        source = intent.source
        adjustment = self._adjustment_source.get(source)
        if adjustment is None:
            if len(self._adjustment_source) > _CACHE_ENTRIES:
                self._adjustment_source.clear()
            adjustment = self._adjustment_source[source] = (
                source.partition(":")[0] in lim.adjustment_sources
            )
        if adjustment:
            limit_count = lim.max_adjustments_per_day
            if limit_count is not None and book.adjustments_today >= limit_count:
                found.append(denials.adjustments_per_day(book.adjustments_today, limit_count))
            limit = lim.min_seconds_between_adjustments
            last = book.last_adjustment.get(inst.asset)
            if limit is not None and last is not None:
                gap = (now - last).total_seconds()
                if gap < limit:
                    found.append(denials.adjustment_interval(inst.asset, gap, limit))
            limit = lim.max_delta_change_per_trade
            if limit is not None:
                change = abs(q * inst.delta_units_per_unit)
                if change > limit * _TOLERANCE:
                    found.append(denials.delta_change(change, limit, inst))
            limit = lim.max_cost_per_day
            if limit is not None:
                cost = notional * inst.fee_rate + size * inst.fee_per_contract * inst.settle_rate
                total = book.cost_today + cost
                if total > limit * _TOLERANCE:
                    found.append(denials.cost_per_day(total, book.cost_today, cost, limit))
        # The book after the order: concentration in one asset, heat.
        limit = lim.max_concentration
        if limit is not None and grows:
            asset_gross = book.asset_gross.get(inst.asset, 0.0) - gross_before + gross_after_sym
            if asset_gross / equity > limit:
                found.append(denials.concentration(inst.asset, asset_gross / equity, limit, equity))
        limit = lim.max_portfolio_heat
        if limit is not None and trade_risk and (book.heat + trade_risk) / equity > limit:
            found.append(denials.portfolio_heat((book.heat + trade_risk) / equity, limit))
        # Greek limits on the book after the order (an order that shrinks a Greek passes).
        delta = inst.delta_per_unit
        if delta:
            change = q * delta
            limit = lim.max_net_delta_per_underlying
            if limit is not None:
                before = book.asset_delta.get(inst.asset, 0.0)
                after = before + change
                if abs(after) > abs(before) and abs(after) > limit * equity:
                    found.append(
                        denials.greek(
                            RiskCode.NET_DELTA,
                            limit,
                            f"{inst.asset} net dollar delta",
                            after,
                            equity,
                            inst.asset,
                        )
                    )
            limit = lim.max_net_delta_total
            if limit is not None:
                before = book.delta_sum
                after = before + change
                if abs(after) > abs(before) and abs(after) > limit * equity:
                    found.append(
                        denials.greek(
                            RiskCode.NET_DELTA,
                            limit,
                            "book net dollar delta",
                            after,
                            equity,
                            "the book",
                        )
                    )
        if inst.gamma_per_unit or inst.vega_per_unit:
            self._option_greeks(inst, q, equity, book, found)
        # Scenario grid: min(a + b) >= min(a) + min(b), so when even that bound keeps the
        # book's worst cell within the limit the grid itself is not summed.
        limit = lim.max_scenario_loss
        if limit is not None and inst.scenario_per_unit is not None:
            worst_before = 0.0 if book.scenario_sum is None else book.scenario_worst
            low = q * (inst.scenario_min if q > 0 else inst.scenario_max)
            if -(worst_before + low) > limit * equity:
                self._scenario(inst, q, equity, book, limit, found)
        self.last_trade_risk = trade_risk
        if found:
            return _denied(intent, found)
        # How many checks ran: those every entry runs, those the instrument's risk numbers
        # call for, those the order's own facts call for.
        ran = self._entry_checks
        if inst.book is not None:
            ran += self._book_checks
        if delta:
            ran += self._delta_checks
        if inst.gamma_per_unit:
            ran += self._gamma_checks
        if inst.vega_per_unit:
            ran += self._vega_checks
        if inst.scenario_per_unit is not None:
            ran += self._grid_checks
        if stop is not None:
            ran += self._stop_checks
        elif lim.require_protective_stop:
            ran += 1
        if adjustment:
            ran += self._adjustment_checks
        if price is not None:
            ran += self._band_option if inst.is_option else self._band_linear
        if rates is not None and self._consume:
            bucket.spend(now, tokens)  # a token is available: tested above with this ``now``
        return _approved(intent.intent_id, ran, tuple(warnings) if warnings else ())

    def _order_shape(
        self,
        intent: OrderIntent,
        inst: InstrumentRisk,
        q: float,
        px: float,
        notional: float,
        found: list[Denial],
    ) -> None:
        """Order notional and the price band (fat finger) of an exit (entries: inline)."""
        lim = self.limits
        if lim.max_order_notional is not None and notional > lim.max_order_notional:
            found.append(denials.order_notional(notional, lim.max_order_notional))
        band = lim.option_price_band if inst.is_option else lim.price_band
        if band is not None and intent.price is not None and inst.mark > 0:
            off = px / inst.mark - 1.0
            if (q > 0 and off > band) or (q < 0 and -off > band):
                found.append(denials.price_band(px, off, inst.mark, band))

    def _liquidity(
        self,
        intent: OrderIntent,
        inst: InstrumentRisk,
        q: float,
        px: float,
        found: list[Denial],
        warnings: list[str],
    ) -> None:
        """Order-book liquidity (share of the top levels) and estimated slippage; without a
        book, a marketable order is refused (``require_order_book``) or warned about."""
        lim = self.limits
        book = inst.book
        kind = intent.order_type
        if book is None:
            if kind is OrderType.MARKET or (
                kind is OrderType.LIMIT and not _is_passive(q, px, inst.mark)
            ):
                if lim.require_order_book:
                    found.append(denials.no_order_book())
                else:
                    warnings.append("no order book: liquidity and slippage not checked")
            return
        side = book.asks if q > 0 else book.bids
        if not side.cumulative:
            return
        size = abs(q)
        best = side.best
        fraction = lim.liquidity_book_fraction
        if fraction is not None:
            depth = side.depth(lim.liquidity_levels)
            if size > fraction * depth:
                found.append(
                    denials.book_fraction(size, depth, lim.liquidity_levels, fraction, inst)
                )
        # Within the best level's size there is no slippage to estimate: skip the walk.
        if lim.max_slippage_bps is not None and size > side.best_size:
            marketable = kind is OrderType.MARKET or (
                kind is OrderType.LIMIT and (px >= best if q > 0 else px <= best)
            )
            if marketable:
                _, vwap, _ = walk_book(side, size, lim.liquidity_levels)
                bps = abs(vwap / best - 1.0) * 1e4
                if bps > lim.max_slippage_bps:
                    found.append(denials.slippage(bps, lim.max_slippage_bps))

    def _option_greeks(
        self, inst: InstrumentRisk, q: float, equity: float, book: RiskBook, found: list[Denial]
    ) -> None:
        """Gamma and vega limits per underlying and in total, on the book after the order."""
        lim = self.limits
        asset = inst.asset
        if inst.gamma_per_unit:
            change = q * inst.gamma_per_unit
            self._greek_limit(
                RiskCode.GAMMA,
                lim.max_gamma_per_underlying,
                f"{asset} dollar gamma (1 % move)",
                book.asset_gamma.get(asset, 0.0),
                change,
                equity,
                asset,
                found,
            )
            self._greek_limit(
                RiskCode.GAMMA,
                lim.max_gamma_total,
                "book dollar gamma (1 % move of every underlying)",
                book.gamma_sum,
                change,
                equity,
                "the book",
                found,
            )
        if inst.vega_per_unit:
            change = q * inst.vega_per_unit
            self._greek_limit(
                RiskCode.VEGA,
                lim.max_vega_per_underlying,
                f"{asset} vega (1 vol point)",
                book.asset_vega.get(asset, 0.0),
                change,
                equity,
                asset,
                found,
            )
            self._greek_limit(
                RiskCode.VEGA,
                lim.max_vega_total,
                "book vega (1 vol point on every underlying)",
                book.vega_sum,
                change,
                equity,
                "the book",
                found,
            )

    @staticmethod
    def _greek_limit(
        code: RiskCode,
        limit: float | None,
        name: str,
        before: float,
        change: float,
        equity: float,
        what: str,
        found: list[Denial],
    ) -> None:
        """Deny when ``before + change`` grows in magnitude beyond ``limit`` of equity (a
        reduction always passes)."""
        after = before + change
        if limit is not None and abs(after) > abs(before) and abs(after) > limit * equity:
            found.append(denials.greek(code, limit, name, after, equity, what))

    @staticmethod
    def _scenario(
        inst: InstrumentRisk,
        q: float,
        equity: float,
        book: RiskBook,
        limit: float,
        found: list[Denial],
    ) -> None:
        """The worst cell of the summed scenario grid after the order. The same shock hits
        every underlying at once, so it is the minimum of the summed grid, not a sum of
        per-underlying minima."""
        grid = inst.scenario_per_unit
        assert grid is not None  # noqa: S101 - only called for an instrument with a grid
        total = book.scenario_sum
        worst_before = 0.0 if total is None else book.scenario_worst
        after = q * grid if total is None else total + q * grid
        worst_after = float(after.min())
        if worst_after < worst_before and -worst_after / equity > limit:
            found.append(denials.scenario_loss(-worst_after, equity, limit))
