"""Execution plans: professional order tickets for a decision, with a price ladder.

* **ROLL** — one combo ticket: buy to close (BTC) the old leg and sell to open (STO) the new
  one (STC/BTO for a long), a limit on the net price per combo unit starting at the net mid,
  improved ``steps`` times toward the natural price down to a floor that concedes
  ``floor_fraction`` of the mid-to-natural distance; a roll that nets a credit at the mid never
  ladders into a debit (its floor is at least 0). Prices on the venue's combo tick, rounded in
  our favour (a credit up, a debit down), so no rung is worse than computed.
* **CLOSE** — one single-leg limit order (BTC/STC) on the same ladder between the mid and the
  natural price, on the single-leg tick (Cboe penny interval: 0.01 below 3.00, 0.05 above for
  classes like AAPL).
* **HOLD** — no order; monitoring points only.

Monitoring points are computed, not guessed: the underlying price at which the short leg's
|delta| reaches the defensive delta, and at which its probability of finishing in the money
reaches the assignment threshold (closed forms of the BSM delta and N(d2) at today's vol and
time), the breakeven and strike, the expiry and the roll date (expiry − target days).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from math import exp, isfinite, sqrt
from statistics import NormalDist
from typing import Literal

from riskdesk.domain.rebalance.analysis import PositionAnalysis
from riskdesk.domain.rebalance.chain import ChainIndex
from riskdesk.domain.rebalance.decision import Decision
from riskdesk.domain.rebalance.model import Action, LadderConfig, RebalanceParams
from riskdesk.domain.rebalance.rolls import RollCandidate, RollLeg

ZERO = Decimal(0)
_NORMAL = NormalDist()


def ndtri(p: float) -> float:
    """Inverse standard normal CDF."""
    return _NORMAL.inv_cdf(p)


@dataclass(frozen=True, slots=True)
class OrderLeg:
    """One order line: ``action`` BTC/STC/STO/BTO, ``quantity`` contracts, ``limit_price``
    per unit (for a combo leg, the leg's mid as a reference; the combo carries the limit)."""

    action: str
    quantity: Decimal
    symbol: str
    description: str
    order_type: str
    limit_price: Decimal
    time_in_force: str


@dataclass(frozen=True, slots=True)
class PriceLadder:
    """Limit prices to try in order (``prices[0]`` first), never past ``floor``; ``kind`` says
    how to read them (``credit``/``debit`` per combo unit, ``buy``/``sell`` per unit)."""

    kind: str
    mid: Decimal
    natural: Decimal
    prices: list[Decimal]
    floor: Decimal
    wait_minutes: int


@dataclass(frozen=True, slots=True)
class MonitoringPoint:
    """A level (underlying price, USD) or a date to watch, and why."""

    kind: Literal["price", "date"]
    level: Decimal | None
    when: date | None
    description: str


@dataclass(frozen=True, slots=True)
class ExecutionPlan:
    """Orders and their ticket. Cash in the premium currency (``currency``): ``net_cash_flow``
    at the first limit price (+ received), ``net_cash_flow_at_floor`` if filled at the floor."""

    action: Action
    primary_action: str
    order_kind: Literal["none", "single", "combo"]
    orders: list[OrderLeg]
    combo_ratio: tuple[int, int] | None
    combo_quantity: Decimal | None
    limit_price: Decimal | None
    price_type: str | None
    ladder: PriceLadder | None
    estimated_cost: Decimal
    estimated_proceeds: Decimal
    net_cash_flow: Decimal
    net_cash_flow_at_floor: Decimal
    currency: str
    ticket_text: str
    ticket: dict[str, object]
    risk_warnings: list[str] = field(default_factory=list)
    monitoring_points: list[MonitoringPoint] = field(default_factory=list)


def _round(value: Decimal, tick: Decimal, up: bool) -> Decimal:
    units = (value / tick).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return (units * tick).quantize(tick)


def credit_ladder(
    mid: Decimal, natural: Decimal, tick: Decimal, ladder: LadderConfig, keep_credit: bool
) -> tuple[list[Decimal], Decimal]:
    """Signed net prices per combo unit (+ credit) from ``mid`` toward ``natural``; every price
    rounded up to ``tick`` (more credit / less debit). ``keep_credit`` floors the ladder at 0."""
    floor = mid - Decimal(repr(ladder.floor_fraction)) * (mid - natural)
    if keep_credit:
        floor = max(floor, ZERO)
    floor = _round(floor, tick, up=True)
    steps = max(ladder.steps, 0)
    prices: list[Decimal] = []
    for k in range(steps + 1):
        raw = mid - (mid - floor) * Decimal(k) / Decimal(steps) if steps else mid
        price = max(_round(raw, tick, up=True), floor)
        if not prices or price != prices[-1]:
            prices.append(price)
    return prices, floor


def single_ladder(
    mid: Decimal,
    natural: Decimal,
    buying: bool,
    tick_of: Callable[[Decimal], Decimal],
    ladder: LadderConfig,
) -> tuple[list[Decimal], Decimal]:
    """Unit prices from ``mid`` toward ``natural`` (up when buying, down when selling), each on
    the tick for its price (``tick_of(price)``) and rounded in our favour."""
    floor_raw = mid + Decimal(repr(ladder.floor_fraction)) * (natural - mid)
    floor = _round(floor_raw, tick_of(floor_raw), up=not buying)
    if floor <= 0:
        floor = tick_of(floor)
    steps = max(ladder.steps, 0)
    prices: list[Decimal] = []
    for k in range(steps + 1):
        raw = mid + (floor - mid) * Decimal(k) / Decimal(steps) if steps else mid
        price = _round(raw, tick_of(raw), up=not buying)
        price = min(price, floor) if buying else max(price, floor)
        if price <= 0:
            price = tick_of(price)
        if not prices or price != prices[-1]:
            prices.append(price)
    return prices, floor


def _describe(leg: RollLeg, underlying: str) -> str:
    strike = format(leg.strike.normalize(), "f")
    return f"{underlying} {leg.expiry:%d %b %y} {strike} {leg.right.word.upper()}"


def _q(value: Decimal) -> str:
    return format(value.normalize(), "f")


def spot_for_delta(
    strike: float, years: float, rate: float, carry: float, vol: float, abs_delta: float, call: bool
) -> float | None:
    """Underlying price at which the (BSM / Black-76) |delta| equals ``abs_delta`` (USD)."""
    if years <= 0 or vol <= 0 or not 0 < abs_delta < 1:
        return None
    target = abs_delta * exp(carry * years)
    if target >= 1:
        return None
    d1 = float(ndtri(target)) if call else -float(ndtri(target))
    sd = vol * sqrt(years)
    return strike * exp(d1 * sd - (rate - carry + 0.5 * vol * vol) * years)


def spot_for_prob_itm(
    strike: float, years: float, drift: float, vol: float, prob: float, call: bool
) -> float | None:
    """Underlying price at which the probability of finishing in the money equals ``prob``."""
    if years <= 0 or vol <= 0 or not 0 < prob < 1:
        return None
    d2 = float(ndtri(prob)) if call else -float(ndtri(prob))
    sd = vol * sqrt(years)
    return strike * exp(d2 * sd - (drift - 0.5 * vol * vol) * years)


def _level(x: float | None) -> Decimal | None:
    return Decimal(f"{x:.2f}") if x is not None and isfinite(x) and x > 0 else None


def monitoring_points(
    analysis: PositionAnalysis,
    index: ChainIndex,
    decision: Decision,
    params: RebalanceParams,
) -> list[MonitoringPoint]:
    """Levels and dates to watch for the position that will be held after the plan."""
    roll = decision.roll
    if decision.action is Action.CLOSE:
        return []
    short = analysis.position_type.is_short
    if roll is not None:
        i = index.find(roll.open.symbol)
        strike, expiry, breakeven = roll.open.strike, roll.open.expiry, roll.new_breakeven
        symbol = roll.open.symbol
    else:
        i = index.find(analysis.symbol)
        strike, expiry, breakeven = analysis.strike, analysis.expiry, analysis.breakeven
        symbol = analysis.symbol
    call = bool(index.is_call[i])
    years, vol = float(index.years[i]), float(index.vol[i])
    rate, carry, drift = float(index.rate[i]), float(index.carry[i]), float(index.drift[i])
    points: list[MonitoringPoint] = []
    tol = decision.thresholds
    if short and isfinite(vol):
        at_delta = _level(
            spot_for_delta(float(strike), years, rate, carry, vol, tol.defensive_delta, call)
        )
        if at_delta is not None:
            points.append(
                MonitoringPoint(
                    "price",
                    at_delta,
                    None,
                    f"{analysis.underlying} at {at_delta}: {symbol} |delta| reaches "
                    f"{tol.defensive_delta:.2f} (defensive trigger, today's vol {vol:.1%})",
                )
            )
        at_prob = _level(
            spot_for_prob_itm(float(strike), years, drift, vol, tol.assignment_probability, call)
        )
        if at_prob is not None:
            points.append(
                MonitoringPoint(
                    "price",
                    at_prob,
                    None,
                    f"{analysis.underlying} at {at_prob}: probability of assignment reaches "
                    f"{tol.assignment_probability:.0%}",
                )
            )
    points.append(
        MonitoringPoint("price", strike, None, f"strike of {symbol}: in the money beyond it")
    )
    if breakeven is not None:
        points.append(
            MonitoringPoint(
                "price", breakeven.quantize(Decimal("0.01")), None, "breakeven at expiry"
            )
        )
    roll_day = expiry.date() - timedelta(days=params.target_days_to_roll)
    if roll_day > analysis.as_of.date():
        points.append(
            MonitoringPoint(
                "date", None, roll_day, f"{params.target_days_to_roll} days to expiry: review/roll"
            )
        )
    points.append(MonitoringPoint("date", None, expiry.date(), f"{symbol} expires"))
    return points


def _warnings(
    analysis: PositionAnalysis, decision: Decision, roll: RollCandidate | None, snapshot_data: bool
) -> list[str]:
    warnings: list[str] = []
    if snapshot_data:
        warnings.append(
            f"Prices are from a recorded snapshot ({analysis.as_of:%Y-%m-%d %H:%M} UTC); "
            "re-quote before sending any order."
        )
    if not analysis.market.is_open and decision.action is not Action.HOLD:
        warnings.append(
            f"Market {analysis.market.session.value} at the valuation time: the order would "
            "work from the next open."
        )
    for f in decision.factors:
        if f.triggered and f.name in ("assignment_risk", "early_assignment", "defensive_loss"):
            warnings.append(f"{f.name.replace('_', ' ')}: {f.explanation}")
    if not analysis.quote.liquid:
        warnings.append(
            "Illiquid current option (" + "; ".join(analysis.quote.liquidity_notes) + ")"
        )
    if analysis.position_type.value == "short_call":
        if analysis.max_loss is None:
            warnings.append("Short call: loss is unlimited if the underlying rises.")
        else:
            warnings.append(
                f"Short call: the loss in USD is unlimited if the underlying rises (in "
                f"{analysis.premium_currency} at most {analysis.max_loss})."
            )
    if (
        analysis.exercise.value == "american"
        and analysis.position_type.is_short
        and analysis.in_the_money
    ):
        warnings.append(
            f"American exercise: {analysis.symbol} is in the money "
            f"({analysis.intrinsic:,.2f} intrinsic) and can be assigned any day."
        )
    if roll is not None:
        if roll.combo_ratio != (1, 1):
            warnings.append(
                f"Ratio combo {roll.combo_ratio[0]}:{roll.combo_ratio[1]} "
                "(resize): some brokers route ratio spreads only by phone or as separate legs."
            )
        if roll.net_credit_mid < 0:
            warnings.append("The roll costs a debit: it pays to extend the position.")
        if roll.assignment_probability > decision.thresholds.max_new_assignment_probability:
            warnings.append(
                f"The new leg's assignment probability {roll.assignment_probability:.1%} is "
                f"above {decision.thresholds.max_new_assignment_probability:.0%}."
            )
    return warnings


def build_plan(
    analysis: PositionAnalysis,
    index: ChainIndex,
    decision: Decision,
    params: RebalanceParams,
    ladder: LadderConfig,
    *,
    snapshot_data: bool,
) -> ExecutionPlan:
    """The execution plan of ``decision`` (module doc)."""
    terms = index.terms
    ccy = analysis.premium_currency
    m = terms.multiplier
    under = analysis.underlying
    tif = ladder.time_in_force
    roll = decision.roll
    warnings = _warnings(analysis, decision, roll, snapshot_data)
    points = monitoring_points(analysis, index, decision, params)
    if decision.action is Action.ROLL and roll is not None:
        prices, floor = credit_ladder(
            roll.net_price_mid,
            roll.net_price_natural,
            terms.combo_tick,
            ladder,
            keep_credit=roll.net_price_mid >= 0,
        )
        first = prices[0]
        units = roll.combo_quantity * m
        price_type = "NET CREDIT" if first >= 0 else "NET DEBIT"
        legs = [
            OrderLeg(
                leg.action,
                leg.quantity,
                leg.symbol,
                _describe(leg, under),
                "LMT",
                leg.mid,
                tif,
            )
            for leg in (roll.close, roll.open)
        ]
        ratio = roll.combo_ratio
        body = [
            f"ROLL {under} ({roll.roll_type.value}) — combo order, 2 legs, ratio {ratio[0]}:{ratio[1]}",
            *(
                f"  {leg.action} {_q(leg.quantity)} {leg.symbol}  ({leg.description})  ref mid {leg.limit_price}"
                for leg in legs
            ),
            f"  LMT {price_type} {abs(first)} per combo x {_q(roll.combo_quantity)}  TIF {tif}",
            "  Ladder: "
            + " -> ".join(f"{'CR' if p >= 0 else 'DB'} {abs(p)}" for p in prices)
            + f" (floor {'CR' if floor >= 0 else 'DB'} {abs(floor)}; {ladder.wait_minutes} min between steps)",
        ]
        cash_first = first * units
        ticket: dict[str, object] = {
            "type": "combo",
            "legs": [
                {
                    "action": leg.action,
                    "quantity": str(leg.quantity),
                    "symbol": leg.symbol,
                    "ratio": r,
                }
                for leg, r in zip(legs, ratio, strict=True)
            ],
            "quantity": str(roll.combo_quantity),
            "order_type": "LMT",
            "price_type": price_type,
            "limit_price": str(abs(first)),
            "ladder": [str(p) for p in prices],
            "floor": str(floor),
            "time_in_force": tif,
        }
        return ExecutionPlan(
            action=Action.ROLL,
            primary_action=f"Roll {roll.label} as one combo for a {price_type.lower()}",
            order_kind="combo",
            orders=legs,
            combo_ratio=ratio,
            combo_quantity=roll.combo_quantity,
            limit_price=abs(first),
            price_type=price_type,
            ladder=PriceLadder(
                "credit" if first >= 0 else "debit",
                roll.net_price_mid,
                roll.net_price_natural,
                prices,
                floor,
                ladder.wait_minutes,
            ),
            estimated_cost=(roll.close.mid * roll.close.quantity * m),
            estimated_proceeds=(roll.open.mid * roll.open.quantity * m),
            net_cash_flow=cash_first,
            net_cash_flow_at_floor=floor * units,
            currency=ccy,
            ticket_text="\n".join(body),
            ticket=ticket,
            risk_warnings=warnings,
            monitoring_points=points,
        )
    if decision.action is Action.CLOSE:
        short = analysis.position_type.is_short
        action = "BTC" if short else "STC"
        mid = analysis.mark
        natural = analysis.close_price
        prices, floor = single_ladder(mid, natural, short, terms.tick_for, ladder)
        first = prices[0]
        n = abs(analysis.quantity)
        cash = -first * n * m if short else first * n * m
        cash_floor = -floor * n * m if short else floor * n * m
        leg = OrderLeg(
            action,
            n,
            analysis.symbol,
            f"{under} {analysis.expiry:%d %b %y} {format(analysis.strike.normalize(), 'f')} "
            f"{analysis.right.word.upper()}",
            "LMT",
            first,
            tif,
        )
        text = "\n".join(
            [
                f"CLOSE {under} — single-leg order",
                f"  {leg.action} {_q(n)} {leg.symbol}  ({leg.description})  LMT {first}  TIF {tif}",
                "  Ladder: "
                + " -> ".join(str(p) for p in prices)
                + f" (limit {'at most' if short else 'at least'} {floor}; {ladder.wait_minutes} min between steps)",
            ]
        )
        return ExecutionPlan(
            action=Action.CLOSE,
            primary_action=f"{'Buy' if short else 'Sell'} to close {_q(n)} {analysis.symbol}",
            order_kind="single",
            orders=[leg],
            combo_ratio=None,
            combo_quantity=None,
            limit_price=first,
            price_type="DEBIT" if short else "CREDIT",
            ladder=PriceLadder(
                "buy" if short else "sell", mid, natural, prices, floor, ladder.wait_minutes
            ),
            estimated_cost=-cash if short else ZERO,
            estimated_proceeds=ZERO if short else cash,
            net_cash_flow=cash,
            net_cash_flow_at_floor=cash_floor,
            currency=ccy,
            ticket_text=text,
            ticket={
                "type": "single",
                "action": action,
                "quantity": str(n),
                "symbol": analysis.symbol,
                "order_type": "LMT",
                "limit_price": str(first),
                "ladder": [str(p) for p in prices],
                "floor": str(floor),
                "time_in_force": tif,
            },
            risk_warnings=warnings,
            monitoring_points=points,
        )
    text = f"HOLD {analysis.symbol} — no order. Watch: " + "; ".join(p.description for p in points)
    return ExecutionPlan(
        action=Action.HOLD,
        primary_action=f"Hold {analysis.symbol}",
        order_kind="none",
        orders=[],
        combo_ratio=None,
        combo_quantity=None,
        limit_price=None,
        price_type=None,
        ladder=None,
        estimated_cost=ZERO,
        estimated_proceeds=ZERO,
        net_cash_flow=ZERO,
        net_cash_flow_at_floor=ZERO,
        currency=ccy,
        ticket_text=text,
        ticket={"type": "none"},
        risk_warnings=warnings,
        monitoring_points=points,
    )


__all__ = [
    "ExecutionPlan",
    "MonitoringPoint",
    "OrderLeg",
    "PriceLadder",
    "build_plan",
    "credit_ladder",
    "monitoring_points",
    "single_ladder",
    "spot_for_delta",
    "spot_for_prob_itm",
]
