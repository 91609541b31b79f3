"""Analysis of one option position against a chain snapshot: P&L, Greeks, probabilities, risk.

Money (P&L, values, capital, max profit/loss) is exact ``Decimal`` in the premium currency;
Greeks, probabilities and expected values are float64. Every figure is valued at the snapshot's
own time (``as_of``). Conventions (docs/options.md):

* Mark = the mid of bid and ask; the natural close price is the ask for a short (buy to close)
  and the bid for a long (sell to close).
* P&L = (mark − entry) × quantity × multiplier (quantity signed); ``pnl_pct`` is P&L over the
  entry premium (entry × |quantity| × multiplier).
* Max profit / max loss / breakeven at expiry from the entry price: short put K − entry,
  short call K + entry (max loss unlimited: None), long put/call likewise.
* Assignment probability: N(−d2) (puts) / N(d2) (calls) at the analytics vol — the
  probability of finishing in the money; ``prob_touch`` the probability of touching the strike
  before expiry; the American early-exercise flag for short puts compares the extrinsic value
  with the carry of the strike, K·(1 − e^{−rT}).
* Forward view (relative to closing now at the natural price, the common baseline of HOLD,
  CLOSE and ROLL): hold P&L(S_T) = n·m·(close price − payoff(S_T)); ``expected_value`` its mean
  and ``expected_loss`` E[max(0, −P&L)] (the probability-weighted loss).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import numpy as np

from riskdesk.domain.accounting.margin import OptionMarginRates, short_option_margin
from riskdesk.domain.calendar import (
    MarketStatus,
    crypto_market_status,
    us_equity_market_status,
)
from riskdesk.domain.errors import ExpiredOption
from riskdesk.domain.instruments import ExerciseStyle, crypto_option, equity_option
from riskdesk.domain.pricing import american_price, prob_touch, short_put_early_assignment
from riskdesk.domain.rebalance.chain import (
    ChainIndex,
    VenueGreeks,
    expected_excess,
    plain,
    prob_beyond,
)
from riskdesk.domain.rebalance.model import CapitalBasis, OptionPosition, PositionType
from riskdesk.domain.symbols import (
    OptionRight,
    SymbolSpec,
    format_ccxt,
    format_deribit,
    format_occ,
)

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class QuoteView:
    """The contract's market: prices per unit (premium currency), sizes/volume/OI in contracts,
    ``spread_pct`` = (ask − bid) / mid, ``liquid`` with the reasons it is not."""

    bid: Decimal | None
    ask: Decimal | None
    mid: Decimal | None
    spread: Decimal | None
    spread_pct: float | None
    bid_size: Decimal | None
    ask_size: Decimal | None
    volume: Decimal | None
    open_interest: Decimal | None
    liquid: bool
    liquidity_notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OwnGreeks:
    """riskdesk's Greeks at the analytics vol: per unit (delta, gamma per unit move, theta per
    day, vega per vol point, rho per 1 %; USD) and for the position (× quantity × multiplier;
    ``position_delta`` in units of underlying, ``delta_dollars`` = position delta × S in USD)."""

    model: str
    vol: float | None
    vol_source: str
    price: float | None
    american_price: float | None
    delta: float
    gamma: float
    theta_per_day: float
    vega_per_pct: float
    rho_per_pct: float
    position_delta: float
    delta_dollars: float
    position_gamma: float
    position_theta_per_day: float
    position_vega_per_pct: float


@dataclass(frozen=True, slots=True)
class PositionAnalysis:
    """Everything known about the position at ``as_of`` (units in the module doc).

    ``theta_per_day`` is the position's daily time decay in USD (positive = earns);
    ``capital_required`` what the position ties up (cash-secured strike value, margin, or the
    premium of a long); ``max_loss`` None means unlimited.
    """

    as_of: datetime
    valuation_note: str
    symbol: str
    underlying: str
    position_type: PositionType
    quantity: Decimal
    multiplier: Decimal
    premium_currency: str
    right: OptionRight
    strike: Decimal
    expiry: datetime
    exercise: ExerciseStyle
    dte: float
    dte_days: int
    underlying_price: Decimal
    forward: float
    moneyness: float
    otm_pct: float
    intrinsic: float
    extrinsic: float | None
    quote: QuoteView
    entry_price: Decimal
    entry_date: datetime | None
    mark: Decimal
    close_price: Decimal
    entry_value: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal
    pnl_pct: float
    pnl_at_close: Decimal
    max_profit: Decimal | None
    max_loss: Decimal | None
    breakeven: Decimal
    iv: float | None
    greeks: OwnGreeks
    venue_greeks: VenueGreeks | None
    assignment_probability: float | None
    prob_touch: float | None
    prob_profit: float | None
    early_assignment_risk: bool
    early_assignment_note: str
    expected_value: float | None
    expected_loss: float | None
    theta_per_day: float
    capital_required: Decimal
    capital_basis: str
    market: MarketStatus
    usd_per_premium: float
    notes: list[str] = field(default_factory=list)


def market_status_for(index: ChainIndex) -> MarketStatus:
    """Session at the snapshot time: the US equity calendar, or 24/7 for crypto venues."""
    if index.terms.venue == "deribit":
        return crypto_market_status(index.as_of)
    return us_equity_market_status(index.as_of)


def venue_symbol(spec: SymbolSpec, venue: str) -> str:
    """The symbol a chain lists an option under: OCC for US equity options, the Deribit name
    for Deribit, else the canonical CCXT symbol."""
    if spec.equity:
        return format_occ(spec)
    if venue == "deribit":
        return format_deribit(spec)
    return format_ccxt(spec)


def quote_view(
    index: ChainIndex, i: int, min_oi: int, min_volume: int, max_spread: float
) -> QuoteView:
    """Market view of contract ``i`` with the liquidity check."""
    c = index.contract(i)
    mid = c.mid
    notes: list[str] = []
    oi = float(index.open_interest[i])
    vol = float(index.volume[i])
    spread_pct = float(index.spread_pct[i])
    if c.bid is None or c.bid <= 0:
        notes.append("no bid")
    if mid is None:
        notes.append("no ask (no two-sided market)")
    if oi < min_oi:
        notes.append(f"open interest {oi:,.0f} < {min_oi:,}")
    if vol < min_volume:
        notes.append(f"volume {vol:,.0f} < {min_volume:,}")
    if np.isfinite(spread_pct) and spread_pct > max_spread:
        notes.append(f"spread {spread_pct:.1%} of mid > {max_spread:.0%}")
    spread = c.ask - (c.bid or ZERO) if c.ask is not None else None
    return QuoteView(
        bid=c.bid,
        ask=c.ask,
        mid=mid,
        spread=spread,
        spread_pct=spread_pct if np.isfinite(spread_pct) else None,
        bid_size=c.bid_size,
        ask_size=c.ask_size,
        volume=c.volume,
        open_interest=c.open_interest,
        liquid=not notes,
        liquidity_notes=notes,
    )


def capital_for(
    spec: SymbolSpec,
    quantity: Decimal,
    strike: Decimal,
    premium: Decimal,
    underlying: Decimal,
    basis: CapitalBasis,
    rates: OptionMarginRates,
    multiplier: Decimal,
) -> tuple[Decimal, str]:
    """Capital a position of ``quantity`` (signed) ties up, in the premium currency, and how.

    Short puts on equity: ``cash_secured`` = strike × |q| × multiplier, or Reg-T margin; short
    calls: Reg-T / Deribit margin (``accounting.margin.short_option_margin``); longs: the
    premium paid at ``premium``."""
    if quantity > 0:
        return premium * quantity * multiplier, "premium paid"
    if spec.equity and spec.right is OptionRight.PUT and basis == "cash_secured":
        return strike * abs(quantity) * multiplier, "cash-secured (strike × contracts × multiplier)"
    instrument = (
        equity_option(format_occ(spec))
        if spec.equity
        else crypto_option(format_deribit(spec), lot_size="0.1")
    )
    margin = short_option_margin(instrument, quantity, premium, underlying, rates)
    return plain(margin), "Reg-T margin" if spec.equity else "Deribit initial margin"


def _american_price(index: ChainIndex, i: int) -> float | None:
    """American model price per unit (Bjerksund-Stensland 1993) at the analytics vol.

    Without dividends an American call is never exercised early: its price is the European
    one. Only puts (or calls on dividend payers) carry an early-exercise premium."""
    vol, years = float(index.vol[i]), float(index.years[i])
    if not np.isfinite(vol) or years <= 0:
        return None
    call = bool(index.is_call[i])
    if call and float(index.carry[i]) <= 0:
        return float(index.model_price[i])
    return float(
        american_price(
            np.array([float(index.spot[i])]),
            np.array([float(index.strike[i])]),
            np.array([years]),
            np.array([float(index.rate[i])]),
            np.array([float(index.carry[i])]),
            np.array([vol]),
            np.array([call]),
            method="bs1993",
        )[0]
    )


def analyse_position(
    position: OptionPosition,
    index: ChainIndex,
    *,
    capital_basis: CapitalBasis,
    margin_rates: OptionMarginRates,
    min_open_interest: int,
    min_volume: int,
    max_spread_pct: float,
) -> tuple[PositionAnalysis, int]:
    """Analyse ``position`` on ``index``; returns the analysis and the contract's index.

    Raises :class:`ExpiredOption` when the option expired at or before the snapshot time and
    :class:`~riskdesk.domain.errors.NotFound` when the chain does not list it."""
    terms = index.terms
    symbol = venue_symbol(position.spec, terms.venue)
    expiry_day = position.spec.expiry
    i = index.find(symbol) if symbol.upper() in index.by_symbol else -1
    if i < 0:
        if expiry_day is not None and expiry_day <= index.as_of.date():
            raise ExpiredOption(
                f"{symbol} expired on {expiry_day:%Y-%m-%d}, at or before the valuation time "
                f"{index.as_of:%Y-%m-%d %H:%M} UTC",
                field="option_symbol",
            )
        index.find(symbol)  # raises NotFound with the listed expiries
    c = index.contract(i)
    if c.expiry <= index.as_of:
        raise ExpiredOption(
            f"{symbol} expired at {c.expiry:%Y-%m-%d %H:%M} UTC, before the valuation time "
            f"{index.as_of:%Y-%m-%d %H:%M} UTC",
            field="option_symbol",
        )
    m = terms.multiplier
    q = position.quantity
    n = abs(q)
    short = position.is_short
    is_call = c.right is OptionRight.CALL
    w = 1.0 if is_call else -1.0
    quote = quote_view(index, i, min_open_interest, min_volume, max_spread_pct)
    notes: list[str] = []
    mark = quote.mid
    if mark is None:
        mark = c.mark if c.mark is not None else (c.last or ZERO)
        notes.append(f"no two-sided quote: marked at {'venue mark' if c.mark else 'last'} {mark}")
    if short:
        close_price = c.ask if c.ask is not None and c.ask > 0 else mark
    else:
        close_price = c.bid if c.bid is not None else ZERO
    usd = float(index.usd_factor[i])
    s_dec = index.snapshot.underlying.price
    spot = float(index.spot[i])
    k = float(c.strike)
    years = float(index.years[i])
    vol = float(index.vol[i])
    has_vol = bool(np.isfinite(vol))
    drift = float(index.drift[i])
    # Money in the premium currency, exact.
    entry_value = position.entry_price * n * m
    market_value = mark * q * m
    unrealized = (mark - position.entry_price) * q * m
    pnl_pct = float(unrealized / entry_value) if entry_value else 0.0
    pnl_at_close = (close_price - position.entry_price) * q * m
    entry = position.entry_price
    if position.position_type is PositionType.SHORT_PUT:
        max_profit: Decimal | None = entry * n * m
        max_loss: Decimal | None = (c.strike - entry) * n * m
        breakeven = c.strike - entry
    elif position.position_type is PositionType.SHORT_CALL:
        max_profit, max_loss, breakeven = entry * n * m, None, c.strike + entry
    elif position.position_type is PositionType.LONG_PUT:
        max_profit, max_loss, breakeven = (
            (c.strike - entry) * n * m,
            entry * n * m,
            c.strike - entry,
        )
    else:
        max_profit, max_loss, breakeven = None, entry * n * m, c.strike + entry
    if terms.coin_settled:
        notes.append(
            "coin-settled: P&L and capital in the coin; breakeven levels in USD use premiums "
            f"converted at the forward {spot:,.2f}"
        )
    # Greeks and probabilities (USD per unit).
    scale = float(q) * float(m)
    unit = {
        "delta": float(index.delta[i]),
        "gamma": float(index.gamma[i]),
        "theta": float(index.theta[i]) / 365.0,
        "vega": float(index.vega[i]) / 100.0,
        "rho": float(index.rho[i]) / 100.0,
    }
    model = "black76" if terms.coin_settled or terms.linear_settle else "bsm"
    american = _american_price(index, i) if terms.exercise is ExerciseStyle.AMERICAN else None
    greeks = OwnGreeks(
        model=model,
        vol=vol if has_vol else None,
        vol_source="own IV of the mid (OTM side)" if has_vol else "no vol: no usable quote",
        price=float(index.model_price[i]) if has_vol else None,
        american_price=american,
        delta=unit["delta"],
        gamma=unit["gamma"],
        theta_per_day=unit["theta"],
        vega_per_pct=unit["vega"],
        rho_per_pct=unit["rho"],
        position_delta=unit["delta"] * scale,
        delta_dollars=unit["delta"] * scale * spot,
        position_gamma=unit["gamma"] * scale,
        position_theta_per_day=unit["theta"] * scale,
        position_vega_per_pct=unit["vega"] * scale,
    )
    if not has_vol:
        notes.append("no implied vol (no usable quote): probabilities unavailable")
    intrinsic = max(w * (spot - k), 0.0)
    mark_usd = float(mark) * usd
    extrinsic = mark_usd - intrinsic if quote.mid is not None else None
    # Assignment (short) / exercise (long) probability at expiry, touch probability.
    p_itm = float(index.prob_itm[i]) if has_vol else None
    p_touch = float(prob_touch(spot, k, years, drift, vol)) if has_vol and years > 0 else None
    early = False
    early_note = "European exercise: no early assignment"
    if terms.exercise is ExerciseStyle.AMERICAN:
        if c.right is OptionRight.PUT:
            early = bool(
                short and short_put_early_assignment(spot, k, years, float(index.rate[i]), mark_usd)
            )
            early_note = (
                "put extrinsic value below the strike's carry: early assignment rational"
                if early
                else "put extrinsic value above the strike's carry"
            )
        else:
            early_note = "ex-dividend dates are not in the data: call early assignment not assessed"
    # Forward view vs closing now at the natural price.
    close_usd = float(close_price) * usd
    expected_value = expected_loss = prob_profit = None
    if has_vol:
        payoff = float(expected_excess(spot, k, years, drift, vol, is_call))
        units = float(n) * float(m)
        sign = 1.0 if short else -1.0
        expected_value = units * sign * (close_usd - payoff)
        expected_loss = units * _expected_loss(
            spot, k, close_usd, years, drift, vol, is_call, short
        )
        level = k - close_usd if not is_call else k + close_usd
        above = (not is_call) if short else is_call
        prob_profit = float(prob_beyond(spot, level, years, drift, vol, above))
    capital, basis_text = capital_for(
        position.spec, q, c.strike, mark, s_dec, capital_basis, margin_rates, m
    )
    market = market_status_for(index)
    valuation_note = (
        f"valued at the snapshot time {index.as_of:%Y-%m-%d %H:%M:%S} UTC "
        f"({index.snapshot.source}); not the wall clock"
    )
    analysis = PositionAnalysis(
        as_of=index.as_of,
        valuation_note=valuation_note,
        symbol=c.symbol,
        underlying=index.snapshot.underlying.symbol,
        position_type=position.position_type,
        quantity=q,
        multiplier=m,
        premium_currency=terms.premium_currency,
        right=c.right,
        strike=c.strike,
        expiry=c.expiry,
        exercise=terms.exercise,
        dte=float(index.dte[i]),
        dte_days=(c.expiry.date() - index.as_of.date()).days,
        underlying_price=s_dec,
        forward=spot,
        moneyness=spot / k,
        otm_pct=-w * (spot - k) / spot,
        intrinsic=intrinsic,
        extrinsic=extrinsic,
        quote=quote,
        entry_price=entry,
        entry_date=position.entry_date,
        mark=mark,
        close_price=close_price,
        entry_value=entry_value,
        market_value=market_value,
        unrealized_pnl=unrealized,
        pnl_pct=pnl_pct,
        pnl_at_close=pnl_at_close,
        max_profit=max_profit,
        max_loss=max_loss,
        breakeven=breakeven,
        iv=float(index.iv[i]) if np.isfinite(index.iv[i]) else None,
        greeks=greeks,
        venue_greeks=c.venue_greeks,
        assignment_probability=p_itm,
        prob_touch=p_touch,
        prob_profit=prob_profit,
        early_assignment_risk=early,
        early_assignment_note=early_note,
        expected_value=expected_value,
        expected_loss=expected_loss,
        theta_per_day=greeks.position_theta_per_day,
        capital_required=capital,
        capital_basis=basis_text,
        market=market,
        usd_per_premium=usd,
        notes=notes,
    )
    return analysis, i


def _expected_loss(
    spot: float,
    strike: float,
    price: float,
    years: float,
    drift: float,
    vol: float,
    is_call: bool,
    short: bool,
) -> float:
    """Per unit: E[max(0, −P&L)] of a position whose forward P&L is ±(price − payoff)."""
    return float(
        expected_loss_per_unit(
            np.array([spot]),
            np.array([strike]),
            np.array([price]),
            np.array([years]),
            np.array([drift]),
            np.array([vol]),
            np.array([is_call]),
            short,
        )[0]
    )


def expected_loss_per_unit(
    spot: np.typing.NDArray[np.float64],
    strike: np.typing.NDArray[np.float64],
    price: np.typing.NDArray[np.float64],
    years: np.typing.NDArray[np.float64],
    drift: np.typing.NDArray[np.float64],
    vol: np.typing.NDArray[np.float64],
    is_call: np.typing.NDArray[np.bool_],
    short: bool,
) -> np.typing.NDArray[np.float64]:
    """Probability-weighted loss per unit of a position opened (or valued) at ``price``.

    Short: loss = (payoff − price)+, so E = E[(K − price − S)+] (put) or E[(S − K − price)+]
    (call). Long: loss = (price − payoff)+ = price − E[min(price, payoff)], and
    E[min(p, (K−S)+)] = put(K) − put(K − p) (calls alike). Units of ``spot`` (USD)."""
    sign = np.where(is_call, 1.0, -1.0)
    shifted = strike + sign * price
    if short:
        return expected_excess(spot, shifted, years, drift, vol, is_call)
    full = expected_excess(spot, strike, years, drift, vol, is_call)
    capped = expected_excess(spot, shifted, years, drift, vol, is_call)
    return np.maximum(price - full + capped, 0.0)


__all__ = [
    "ExpiredOption",
    "OwnGreeks",
    "PositionAnalysis",
    "QuoteView",
    "analyse_position",
    "capital_for",
    "expected_loss_per_unit",
    "market_status_for",
    "quote_view",
    "venue_symbol",
]
