"""Analysis of one option position against a chain snapshot: P&L, Greeks, probabilities, risk.

Money (P&L, values, capital, max profit/loss) is exact ``Decimal`` in the premium currency;
Greeks, probabilities and expected values are float64. Every figure is valued at the snapshot's
own time (``as_of``). Conventions (docs/options.md):

* Inputs are checked against the contract first: the entry premium must lie inside the
  no-arbitrage bounds (a put below its strike, a call below max(underlying, strike), a
  coin-settled call below 1 coin, a coin put below max(K/F, 1) coin) and the entry date must
  not be after the valuation time.
* Mark = the mid of a usable (two-sided, tight) quote; when the book is one-sided or too wide
  and the venue publishes a mark price (Deribit), the venue mark; else the mid of what there is.
  The natural close price is the ask for a short (buy to close) and the bid for a long.
* P&L = (mark − entry) × quantity × multiplier (quantity signed); ``pnl_pct`` is P&L over the
  entry premium (entry × |quantity| × multiplier).
* Breakeven, max profit and max loss at expiry from the entry premium: ``levels`` (linear:
  K ∓ p; coin-settled: K/(1 ∓ p), coin and USD levels).
* Assignment probability: N(−d2) (puts) / N(d2) (calls) at the analytics vol — the
  probability of finishing in the money (1 / 0 / 0.5 without time left); ``prob_touch`` the
  probability of touching the strike before expiry (1 when already in the money); the American early-exercise flag for short
  puts compares the extrinsic value with the carry of the strike, K·(1 − e^{−rT}).
* ``prob_profit`` (POP) is measured against the **entry**: the probability that the position
  held to expiry ends beyond its breakeven, i.e. makes money on the premium it was opened at.
* Hold-versus-close view (relative to closing now at the natural price, the common baseline of
  HOLD, CLOSE and ROLL): hold P&L(S_T) = n·m·(close price − payoff(S_T)) for a short;
  ``hold_vs_close_expected_value`` its mean, ``prob_hold_beats_close`` P(> 0) and
  ``expected_loss`` E[max(0, −P&L)] (the probability-weighted loss).
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
from riskdesk.domain.errors import ExpiredOption, InvalidValue
from riskdesk.domain.instruments import ExerciseStyle, crypto_option, equity_option
from riskdesk.domain.pricing import american_price, prob_touch, short_put_early_assignment
from riskdesk.domain.rebalance.chain import (
    VOL_SOURCES,
    ChainIndex,
    VenueGreeks,
    expected_excess,
    plain,
    prob_beyond,
)
from riskdesk.domain.rebalance.levels import expiry_levels
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
    ``position_delta`` in units of underlying, ``delta_dollars`` = position delta × S in USD).
    ``vol_source`` says which price the vol was taken from (``chain.VOL_SOURCES``)."""

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

    ``theta_per_day`` is the position's daily time decay in USD (positive = earns) and
    ``theta_per_day_premium`` the same in the premium currency; ``capital_required`` what the
    position ties up (cash-secured strike value, margin, or the premium of a long);
    ``max_profit``/``max_loss`` in the premium currency and ``max_profit_usd``/``max_loss_usd``
    in USD (None = unbounded; ``levels_note``); ``mark_source`` says what the mark is.
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
    mark_source: str
    close_price: Decimal
    entry_value: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal
    pnl_pct: float
    pnl_at_close: Decimal
    max_profit: Decimal | None
    max_loss: Decimal | None
    max_profit_usd: Decimal | None
    max_loss_usd: Decimal | None
    breakeven: Decimal
    levels_note: str
    iv: float | None
    greeks: OwnGreeks
    venue_greeks: VenueGreeks | None
    assignment_probability: float | None
    prob_touch: float | None
    prob_profit: float | None
    prob_hold_beats_close: float | None
    early_assignment_risk: bool
    early_assignment_note: str
    hold_vs_close_expected_value: float | None
    expected_loss: float | None
    theta_per_day: float
    theta_per_day_premium: float
    capital_required: Decimal
    capital_basis: str
    market: MarketStatus
    usd_per_premium: float
    notes: list[str] = field(default_factory=list)

    @property
    def in_the_money(self) -> bool:
        """True when the option has intrinsic value at the valuation time."""
        return self.intrinsic > 0.0


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


def check_entry(position: OptionPosition, index: ChainIndex, i: int) -> None:
    """Reject an entry the contract could never have traded at, or an entry date after the
    valuation time (module doc). Raises :class:`InvalidValue` naming the field."""
    c = index.contract(i)
    terms = index.terms
    p = position.entry_price
    k = c.strike
    if position.entry_date is not None and position.entry_date > index.as_of:
        raise InvalidValue(
            f"{position.entry_date:%Y-%m-%d %H:%M} UTC is after the valuation time "
            f"{index.as_of:%Y-%m-%d %H:%M} UTC (the snapshot's own time)",
            field="entry_date",
        )
    ccy = terms.premium_currency
    if terms.coin_settled:
        forward = Decimal(repr(float(index.spot[i])))
        if c.right is OptionRight.CALL:
            bound, why = Decimal(1), "a coin-settled call pays (S - K)/S < 1 coin per coin"
        else:
            bound = max(k / forward, Decimal(1)).quantize(Decimal("0.0001"))
            why = (
                "a coin-settled put is worth at most K/S coin (K/F = "
                f"{k / forward:.4f} at today's forward {forward:,.2f}); the bound is "
                "max(K/F, 1)"
            )
    elif c.right is OptionRight.PUT:
        bound, why = k, f"a put is worth less than its strike {plain(k)} {ccy}"
    else:
        s_now = index.snapshot.underlying.price
        bound = max(s_now, k)
        why = (
            f"a call is worth less than the underlying; the bound is max(underlying "
            f"{plain(s_now)}, strike {plain(k)}) because the underlying at entry is unknown"
        )
    if p >= bound:
        raise InvalidValue(
            f"entry premium {p} {ccy} per unit is outside the no-arbitrage bound of "
            f"{c.symbol}: {why}",
            field="entry_price",
        )


def _mark(index: ChainIndex, i: int, quote: QuoteView) -> tuple[Decimal, str, list[str]]:
    """The position's mark per unit and where it comes from (module doc)."""
    c = index.contract(i)
    if bool(index.usable[i]) and quote.mid is not None:
        return quote.mid, "mid of the two-sided quote", []
    book = (
        "one-sided book"
        if c.bid is None or c.bid <= 0 or quote.mid is None
        else f"spread {quote.spread_pct:.0%} of mid"
    )
    if c.mark is not None and c.mark >= 0:
        return c.mark, f"venue mark ({book})", [f"{book}: marked at the venue mark {c.mark}"]
    if quote.mid is not None:
        return quote.mid, f"mid ({book})", [f"{book}: marked at the mid {quote.mid}"]
    last = c.last or ZERO
    return last, "last trade (no quote)", [f"no quote: marked at the last trade {last}"]


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

    Raises :class:`ExpiredOption` when the option expired at or before the snapshot time,
    :class:`~riskdesk.domain.errors.NotFound` when the chain does not list it and
    :class:`InvalidValue` for an impossible entry premium or a future entry date."""
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
    check_entry(position, index, i)
    m = terms.multiplier
    q = position.quantity
    n = abs(q)
    short = position.is_short
    is_call = c.right is OptionRight.CALL
    w = 1.0 if is_call else -1.0
    quote = quote_view(index, i, min_open_interest, min_volume, max_spread_pct)
    mark, mark_source, notes = _mark(index, i, quote)
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
    levels = expiry_levels(c.right, short, c.strike, entry, n * m, terms.coin_settled)
    if terms.coin_settled:
        notes.append(
            f"coin-settled: P&L, premiums and capital in {terms.premium_currency}; Greeks, "
            f"expected values and losses in USD at the forward {spot:,.2f}"
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
        vol_source=VOL_SOURCES[int(index.vol_source[i])],
        price=float(index.model_price[i]),
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
    live = years > 0.0
    if not has_vol and live:
        notes.append(
            "no implied vol (no usable quote, mark or venue IV): probabilities unavailable"
        )
    if not live:
        notes.append(
            "under an hour to expiry: valued at intrinsic value; the outcome at expiry is "
            "taken as decided (probabilities 0, 0.5 or 1)"
        )
    intrinsic = max(w * (spot - k), 0.0)
    mark_usd = float(mark) * usd
    extrinsic = mark_usd - intrinsic if quote.mid is not None or c.mark is not None else None
    # Assignment (short) / exercise (long) probability at expiry, touch probability.
    p_itm = float(index.prob_itm[i]) if np.isfinite(index.prob_itm[i]) else None
    # Touch = in the money at some time before expiry: certain when it already is.
    if w * (spot - k) >= 0:
        p_touch: float | None = 1.0
    elif has_vol and live:
        p_touch = float(prob_touch(spot, k, years, drift, vol))
    else:
        p_touch = 0.0 if not live else None
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
    outlook = _outlook(
        spot=spot,
        strike=k,
        breakeven=float(levels.breakeven),
        close_usd=float(close_price) * usd,
        intrinsic=intrinsic,
        years=years,
        drift=drift,
        vol=vol if has_vol and live else None,
        is_call=is_call,
        short=short,
        units=float(n) * float(m),
    )
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
        mark_source=mark_source,
        close_price=close_price,
        entry_value=entry_value,
        market_value=market_value,
        unrealized_pnl=unrealized,
        pnl_pct=pnl_pct,
        pnl_at_close=pnl_at_close,
        max_profit=levels.max_profit,
        max_loss=levels.max_loss,
        max_profit_usd=levels.max_profit_usd,
        max_loss_usd=levels.max_loss_usd,
        breakeven=levels.breakeven,
        levels_note=levels.note,
        iv=float(index.iv[i]) if np.isfinite(index.iv[i]) else None,
        greeks=greeks,
        venue_greeks=c.venue_greeks,
        assignment_probability=p_itm,
        prob_touch=p_touch,
        prob_profit=outlook[0],
        prob_hold_beats_close=outlook[1],
        early_assignment_risk=early,
        early_assignment_note=early_note,
        hold_vs_close_expected_value=outlook[2],
        expected_loss=outlook[3],
        theta_per_day=greeks.position_theta_per_day,
        theta_per_day_premium=greeks.position_theta_per_day / usd,
        capital_required=capital,
        capital_basis=basis_text,
        market=market,
        usd_per_premium=usd,
        notes=notes,
    )
    return analysis, i


def _outlook(
    *,
    spot: float,
    strike: float,
    breakeven: float,
    close_usd: float,
    intrinsic: float,
    years: float,
    drift: float,
    vol: float | None,
    is_call: bool,
    short: bool,
    units: float,
) -> tuple[float | None, float | None, float | None, float | None]:
    """(POP vs the entry, P(holding beats closing now), hold-vs-close expected value, expected
    loss), USD (module doc). ``vol`` None with ``years`` 0: the outcome is decided (intrinsic
    value); None with time left: no vol, nothing is known."""
    profit_above = (not is_call) if short else is_call
    sign = 1.0 if short else -1.0
    if vol is not None:
        level = strike + close_usd if is_call else strike - close_usd
        payoff = float(expected_excess(spot, strike, years, drift, vol, is_call))
        return (
            float(prob_beyond(spot, breakeven, years, drift, vol, profit_above)),
            float(prob_beyond(spot, level, years, drift, vol, profit_above)),
            units * sign * (close_usd - payoff),
            units * _expected_loss(spot, strike, close_usd, years, drift, vol, is_call, short),
        )
    if years > 0.0:
        return None, None, None, None
    wins = spot != breakeven and (spot > breakeven) == profit_above
    hold_ev = units * sign * (close_usd - intrinsic)
    return 1.0 if wins else 0.0, 1.0 if hold_ev > 0 else 0.0, hold_ev, max(-hold_ev, 0.0)


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
    "check_entry",
    "expected_loss_per_unit",
    "market_status_for",
    "quote_view",
    "venue_symbol",
]
