"""The sentences of the pre-trade pipeline: one builder per denial, stating the value and the
limit and suggesting what would pass.

:mod:`~riskdesk.domain.risk.pretrade` evaluates every condition inline (that is its hot path)
and calls a builder here only when a limit is crossed, so formatting costs nothing for an order
that passes. Ratios are fractions of equity; money is in the reporting currency unless a
parameter says otherwise; quantities in contracts.
"""

from __future__ import annotations

import math
from datetime import datetime

from riskdesk.domain.errors import ValidationError
from riskdesk.domain.risk.aggregates import InstrumentRisk
from riskdesk.domain.risk.decisions import Denial, RiskCode, Severity
from riskdesk.domain.risk.rate_limit import TokenBucket
from riskdesk.domain.risk.trading_state import TradingState
from riskdesk.domain.values import frozen_factory

#: ``Denial(...)``, built the cheap way (``values.frozen_factory``): a planning tick can deny
#: many orders.
_denial = frozen_factory(Denial)

_CRIT = Severity.CRITICAL
_HIGH = Severity.HIGH
_MED = Severity.MEDIUM


def pct(x: float) -> str:
    """A fraction as a percentage with two decimals (``0.2`` → ``20.00 %``)."""
    return f"{x * 100:.2f} %"


def qty_text(x: float) -> str:
    """A quantity (contracts) with 8 significant digits."""
    return f"{x:.8g}"


def lots(x: float, inst: InstrumentRisk) -> str:
    """A suggested quantity, rounded down to the lot size (never more than allowed)."""
    return qty_text(_lots(x, inst))


def _lots(x: float, inst: InstrumentRisk) -> float:
    if inst.lot_size > 0:
        x = math.floor(x / inst.lot_size + 1e-9) * inst.lot_size
    return max(x, 0.0)


def money(x: float) -> str:
    """An amount with thousands separators and 2 decimals (``167,051.30``)."""
    return f"{x:,.2f}"


# ------------------------------------------------------------------ every order


def invalid_order(exc: ValidationError) -> Denial:
    """The order does not fit its instrument (grid, minimums, the prices its type needs)."""
    return _denial(
        RiskCode.INVALID_ORDER,
        f"{exc.field}: {exc.reason}" if exc.field else exc.reason,
        "correct the order",
        0.0,
        0.0,
        _CRIT,
    )


def no_mark(key: str) -> Denial:
    """The instrument has no mark: the risk of an order in it cannot be measured."""
    return _denial(
        RiskCode.NO_MARK,
        f"no mark price for {key}: its risk cannot be measured",
        "record a mark for the instrument first",
        0.0,
        0.0,
        _CRIT,
    )


def no_rate(currencies: tuple[str, ...]) -> Denial:
    """The book holds currencies without a rate in the reporting currency: its equity (and
    every limit that is a fraction of it) cannot be measured."""
    listed = ", ".join(currencies)
    return _denial(
        RiskCode.NO_RATE,
        f"no rate for {listed} in the reporting currency: the book's equity cannot be measured",
        f"record a price: riskdesk prices set {currencies[0]} <price> --asset",
        float(len(currencies)),
        0.0,
        _CRIT,
    )


def reduce_only(q: float, old: float, key: str) -> Denial:
    """A reduce-only order of ``q`` signed contracts that would not reduce ``old``."""
    return _denial(
        RiskCode.REDUCE_ONLY,
        f"reduce-only order of {qty_text(q)} would not reduce the position of {qty_text(old)} in {key}",
        f"at most {qty_text(abs(old))} on the closing side"
        if old
        else "there is no position to reduce",
        abs(q),
        abs(old),
        _CRIT,
    )


def trading_state(state: TradingState, reducing: bool, source: str) -> Denial:
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
    return _denial(
        RiskCode.TRADING_STATE,
        f"trading is {state.label} (level {int(state)}): it accepts {state.accepts}; "
        f"{what} needs trading to be {needed.label} (level {int(needed)}) or lower",
        suggestion,
        float(state),
        float(needed),
        _CRIT,
    )


# ------------------------------------------------------------------ critical entry checks


def no_equity(equity: float) -> Denial:
    """Equity at or below zero: no new risk."""
    return _denial(
        RiskCode.TOTAL_EXPOSURE,
        f"equity is {equity:,.2f}: no new risk can be taken",
        "deposit or reduce positions",
        equity,
        0.0,
        _CRIT,
        "reporting currency",
    )


def stale_data(key: str, age: float, limit: float) -> Denial:
    """The instrument's mark is ``age`` seconds old, more than ``limit`` seconds."""
    return _denial(
        RiskCode.STALE_DATA,
        f"the mark of {key} is {age:,.0f} s old, limit {limit:,.0f} s",
        "wait for fresh market data",
        age,
        limit,
        _CRIT,
    )


def insufficient_margin(need: float, available: float, size: float, inst: InstrumentRisk) -> Denial:
    """The order of ``size`` contracts needs ``need`` of margin and fees (settlement currency),
    more than is ``available``."""
    most = _lots(available / (need / size) if need > 0 else 0.0, inst)
    return _denial(
        RiskCode.INSUFFICIENT_MARGIN,
        f"the order needs {need:,.8g} {inst.settle} of margin and fees, {available:,.8g} is available",
        f"reduce the order to at most {qty_text(most)} contracts or add funds"
        if most > 0
        else f"no room: no {inst.settle} is free for margin in this account; add funds or "
        "reduce other positions first",
        need,
        available,
        _CRIT,
    )


def daily_loss(loss: float, limit: float) -> Denial:
    """Today's loss (a fraction of the day-start equity) reached the daily loss limit."""
    return _denial(
        RiskCode.DAILY_LOSS,
        f"today's loss is {pct(loss)} of the day-start equity, limit {pct(limit)}",
        "only orders that reduce positions are accepted for the rest of the day",
        loss,
        limit,
        _CRIT,
    )


def symbol_exposure(
    key: str,
    ratio: float,
    after: float,
    before: float,
    equity: float,
    limit: float,
    inst: InstrumentRisk,
    opposite: bool = False,
) -> Denial:
    """The instrument's gross exposure would be ``after`` (``ratio`` of equity), beyond
    ``limit``; it is ``before`` now. An order on the ``opposite`` side of the exposure first
    takes it to zero, then may build up to the limit on the other side. When no order size
    fits, the suggestion says so."""
    room = limit * equity + before if opposite and before else max(0.0, limit * equity - before)
    most = _lots(room / abs(inst.exposure_per_unit) if inst.exposure_per_unit else 0.0, inst)
    return _denial(
        RiskCode.SYMBOL_EXPOSURE,
        f"{key}: exposure {money(after)} would be {pct(ratio)} of equity {money(equity)}, "
        f"limit {pct(limit)}",
        f"reduce the order to at most {qty_text(most)} contracts"
        if most > 0
        else f"no room: the position already uses {pct(before / equity)} of equity against the "
        f"{pct(limit)} limit; reduce the position first or raise "
        "risk.limits.max_symbol_exposure",
        ratio,
        limit,
        _CRIT,
    )


# ------------------------------------------------------------------ the other entry checks


def total_exposure(ratio: float, limit: float) -> Denial:
    """Gross exposure after the order, as a fraction of equity, beyond ``limit``."""
    return _denial(
        RiskCode.TOTAL_EXPOSURE,
        f"total exposure would be {pct(ratio)} of equity, limit {pct(limit)}",
        "reduce the order or close other positions",
        ratio,
        limit,
        _HIGH,
    )


def max_positions(count: int, limit: int) -> Denial:
    """The order would open position number ``count``."""
    return _denial(
        RiskCode.MAX_POSITIONS,
        f"this would be open position {count}, limit {limit}",
        "close a position first",
        float(count),
        float(limit),
        _HIGH,
    )


def leverage(ratio: float, limit: float) -> Denial:
    """Effective leverage (gross exposure / equity) after the order beyond ``limit``."""
    return _denial(
        RiskCode.LEVERAGE,
        f"effective leverage would be {ratio:.2f}x, limit {limit:g}x",
        "reduce the order",
        ratio,
        limit,
        _HIGH,
    )


def risk_per_trade(
    trade_risk: float, equity: float, limit: float, per: float, inst: InstrumentRisk
) -> Denial:
    """The loss to the protective stop, ``trade_risk`` (``per`` a contract, settlement
    currency), beyond ``limit`` of equity."""
    most = _lots(limit * equity / (per * inst.settle_rate) if per else 0.0, inst)
    return _denial(
        RiskCode.RISK_PER_TRADE,
        f"risk to the stop is {money(trade_risk)} = {pct(trade_risk / equity)} of equity "
        f"{money(equity)}, limit {pct(limit)}",
        f"reduce the order to at most {qty_text(most)} contracts or tighten the stop"
        if most > 0
        else "no room: even one lot risks more than the limit to this stop; tighten the stop",
        trade_risk / equity,
        limit,
        _HIGH,
    )


def no_protective_stop(
    key: str,
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
        return _denial(
            RiskCode.NO_PROTECTIVE_STOP,
            f"the {side} entry of {qty_text(abs(q))} {key} at {px:g} gives no "
            f"protective stop: its whole notional {notional:,.2f} ({pct(at_risk)} of equity) is "
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
    return _denial(
        RiskCode.NO_PROTECTIVE_STOP,
        f"the {side} entry of {qty_text(abs(q))} {key} at {px:g} gives no "
        f"protective stop: its whole notional {notional:,.2f} ({pct(at_risk)} of equity) is at "
        f"risk; a stop is required so the loss to it stays within {money(budget)} "
        f"({pct(risk_per_trade)} of equity {money(equity)})",
        f"attach a stop price (--stop) {where} {stop:,.8g} for this size",
        at_risk,
        risk_per_trade,
        _HIGH,
    )


def order_notional(notional: float, limit: float) -> Denial:
    """The order's notional beyond the largest order allowed."""
    return _denial(
        RiskCode.ORDER_NOTIONAL,
        f"order notional {notional:,.2f} exceeds {limit:,.2f}",
        "split the order",
        notional,
        limit,
        _HIGH,
    )


def price_band(px: float, off: float, mark: float, band: float) -> Denial:
    """A limit price ``off`` (a fraction) from the mark, beyond the fat-finger band."""
    return _denial(
        RiskCode.PRICE_BAND,
        f"limit {px:g} is {pct(abs(off))} {'above' if off > 0 else 'below'} the mark {mark:g}, band {pct(band)}",
        "check the price (fat finger?)",
        abs(off),
        band,
        _HIGH,
    )


def no_order_book() -> Denial:
    """A marketable order without depth data, when an order book is required."""
    return _denial(
        RiskCode.LIQUIDITY,
        "no order book: liquidity cannot be checked",
        "wait for depth data or use a limit order",
        0.0,
        0.0,
        _HIGH,
    )


def book_fraction(
    size: float, depth: float, levels: int, fraction: float, inst: InstrumentRisk
) -> Denial:
    """The order takes more than ``fraction`` of the ``depth`` on the first ``levels``
    levels of its side."""
    most = _lots(fraction * depth, inst)
    return _denial(
        RiskCode.LIQUIDITY,
        f"order of {qty_text(size)} is {size / depth * 100 if depth else math.inf:.1f} % of the top "
        f"{levels} levels ({qty_text(depth)}), limit {pct(fraction)}",
        f"at most {qty_text(most)} per order"
        if most > 0
        else "no room: the book is too thin for one lot; wait for depth or use a limit order",
        size / depth if depth else math.inf,
        fraction,
        _HIGH,
    )


def slippage(bps: float, limit: float) -> Denial:
    """The estimated slippage (basis points from the best level) beyond ``limit``."""
    return _denial(
        RiskCode.SLIPPAGE,
        f"estimated slippage {bps:.1f} bps, limit {limit:g} bps",
        "use a limit order or split it",
        bps,
        limit,
        _HIGH,
    )


def rate_limit(venue: str, bucket: TokenBucket, now: datetime) -> Denial:
    """The venue's order-rate bucket has no token at ``now``."""
    tokens = bucket.available(now)
    return _denial(
        RiskCode.RATE_LIMIT,
        f"order rate limit for {venue} reached: {tokens:.2f} of {bucket.burst} order tokens "
        f"left (refilled at {bucket.rate:g} per second), an order needs 1",
        f"retry in {bucket.wait_seconds(now):.2f} s",
        tokens,
        1.0,
        _MED,
    )


def adjustments_per_day(count: int, limit: int) -> Denial:
    """Seed 001: ``count`` adjustments made today, the limit reached."""
    return _denial(
        RiskCode.ADJUSTMENTS_PER_DAY,
        f"{count} adjustments today, limit {limit}",
        "wait for tomorrow or adjust by hand",
        float(count),
        float(limit),
        _MED,
    )


def adjustment_interval(asset: str, gap: float, limit: float) -> Denial:
    """Seed 001: the last adjustment of ``asset`` was ``gap`` seconds ago, under the minimum."""
    return _denial(
        RiskCode.ADJUSTMENT_INTERVAL,
        f"last {asset} adjustment {gap:.0f} s ago, minimum {limit:.0f} s",
        f"retry in {limit - gap:.0f} s",
        gap,
        limit,
        _MED,
    )


def delta_change(change: float, limit: float, inst: InstrumentRisk) -> Denial:
    """Seed 001: the adjustment changes the delta by ``change`` units of the underlying."""
    asset = inst.asset
    most = limit / abs(inst.delta_units_per_unit)
    return _denial(
        RiskCode.DELTA_CHANGE,
        f"the adjustment changes {asset} delta by {change:,.6g} {asset}, "
        f"limit {limit:g} {asset} per adjustment",
        f"split the adjustment: at most {lots(most, inst)} contracts each",
        change,
        limit,
        _MED,
    )


def cost_per_day(total: float, so_far: float, cost: float, limit: float) -> Denial:
    """Seed 001: today's adjustment costs with this order's (``total``) beyond the daily cap."""
    return _denial(
        RiskCode.COST_PER_DAY,
        f"adjustment costs today would be {total:,.2f} ({so_far:,.2f} so "
        f"far + {cost:,.2f} for this order), limit {limit:,.2f} a day",
        "adjust less often today",
        total,
        limit,
        _MED,
    )


def concentration(asset: str, ratio: float, limit: float, equity: float) -> Denial:
    """One asset's gross exposure after the order, ``ratio`` of ``equity``, beyond
    ``limit``."""
    return _denial(
        RiskCode.CONCENTRATION,
        f"{asset}: gross exposure {money(ratio * equity)} would be {pct(ratio)} of equity "
        f"{money(equity)}, limit {pct(limit)}",
        f"diversify away from {asset}",
        ratio,
        limit,
        _MED,
    )


def portfolio_heat(heat: float, limit: float) -> Denial:
    """Risk to every stop after the order, ``heat`` of equity, beyond ``limit``."""
    return _denial(
        RiskCode.PORTFOLIO_HEAT,
        f"portfolio heat would be {pct(heat)}, limit {pct(limit)}",
        "tighten stops or reduce positions first",
        heat,
        limit,
        _MED,
    )


def greek(
    code: RiskCode, limit: float, name: str, after: float, equity: float, what: str
) -> Denial:
    """A Greek of ``what`` (an underlying or the book) would be ``after`` (dollar Greek),
    beyond ``limit`` of equity."""
    return _denial(
        code,
        f"{name} would be {after:,.2f} = {pct(abs(after) / equity)} of equity, limit {pct(limit)}",
        f"hedge {what} or reduce the order",
        abs(after) / equity,
        limit,
        _MED,
    )


def scenario_loss(worst: float, equity: float, limit: float) -> Denial:
    """The worst cell of the scenario grid after the order, a loss of ``worst``, beyond
    ``limit`` of equity."""
    return _denial(
        RiskCode.SCENARIO_LOSS,
        f"worst scenario loss would be {worst:,.2f} = {pct(worst / equity)} of equity, limit {pct(limit)}",
        "reduce the order or hedge",
        worst / equity,
        limit,
        _MED,
    )
