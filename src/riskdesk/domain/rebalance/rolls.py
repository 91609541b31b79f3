"""Roll candidates enumerated from the real chain, evaluated side by side (vectorised).

Enumeration (same right, expiries that lie ``roll_min_days_out`` to ``roll_max_days_out``
calendar days beyond the current expiry — a window that moves with the position — and only the
roll types the request prefers):

* **calendar** — the same strike in each later expiry;
* **diagonal** — per expiry, the listed strike whose |delta| is nearest the tolerance's target
  delta, and the listed strike nearest the target distance out of the money (spot × (1 ∓
  target_otm)); a pick equal to the current strike is the calendar roll and is not repeated;
* **resize** — for those diagonal strikes that lie further out of the money than the current
  one, ``resize_levels`` smaller quantities evenly spaced below the current size
  (⌊n·k/(levels+1)⌋, k = 1..levels).

Each candidate is priced at the chain's own quotes: close the current leg at the natural price
(ask for a short, bid for a long) or at the mid, open the new leg at the natural price (bid to
sell, ask to buy) or at the mid. Forward metrics are measured against closing now at the
natural price (the common baseline; module doc of ``analysis``): before = holding the current
position to its expiry, after = the new leg to its expiry. Risk reduction compares the
probability-weighted loss E[max(0, −P&L)], the delta dollars and the max loss of the two —
computed, never assumed; the assignment probability before and after is compared too.
Candidates must pass the liquidity filter on the new leg and the capital limit: additional
capital = max(0, debit at the mid) + max(0, new requirement − released requirement) ≤
``max_additional_capital`` (a roll may not take new money beyond it); the evaluation says how
many candidates that limit excluded and how much capital they would need.

Probability of profit of a candidate (``prob_profit``) is that of the **combined position**:
the premium kept from the current leg (entry − close at the natural price) plus the roll's
net credit, against the new leg's payoff at its expiry, i.e. the probability that the whole
trade, entry to new expiry, makes money (beyond ``new_breakeven``). ``leg_prob_profit`` is the
new leg alone against its own premium.

When defensive triggers fired (``defense``), each passing candidate is checked against them
and ``best_defensive`` is the best-scored one that qualifies (a credit one if any).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from math import gcd

import numpy as np
import numpy.typing as npt

from riskdesk.domain.pricing import ndtr
from riskdesk.domain.rebalance.analysis import (
    PositionAnalysis,
    capital_for,
    expected_loss_per_unit,
)
from riskdesk.domain.rebalance.chain import ChainIndex, expected_excess, plain, prob_beyond
from riskdesk.domain.rebalance.defense import defense_failures
from riskdesk.domain.rebalance.levels import CENT, breakeven
from riskdesk.domain.rebalance.model import (
    EngineConfig,
    OptionPosition,
    RebalanceParams,
    RollType,
)
from riskdesk.domain.symbols import OptionRight, parse_symbol

FloatArray = npt.NDArray[np.float64]
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RollLeg:
    """One leg: ``action`` BTC/STC/STO/BTO, ``quantity`` in contracts, prices per unit in the
    premium currency (``natural`` fills at once: the ask when buying, the bid when selling)."""

    action: str
    symbol: str
    right: OptionRight
    strike: Decimal
    expiry: datetime
    quantity: Decimal
    bid: Decimal | None
    ask: Decimal | None
    mid: Decimal
    natural: Decimal


@dataclass(frozen=True, slots=True)
class RiskComparison:
    """A risk measure before (hold) and after (roll), USD, and the reduction (before − after)
    / before as a fraction (None when undefined, e.g. an unlimited max loss)."""

    before: float | None
    after: float | None
    reduction: float | None


@dataclass(frozen=True, slots=True)
class RollCandidate:
    """One evaluated roll (module doc for the method; docs/options.md for units).

    Money (premium currency, exact): ``net_credit_natural``/``net_credit_mid`` for the whole
    roll (+ credit, − debit); ``net_price_natural``/``net_price_mid`` per combo unit (per share
    of the ratio ``combo_ratio`` = (close, open) contracts, traded ``combo_quantity`` times);
    ``capital_required`` of the new leg, ``capital_released`` by closing, ``additional_capital``.
    Levels: ``leg_breakeven`` of the new leg alone, ``new_breakeven`` of the combined position
    (entry, close and new premium together; None when it can no longer make money).
    ``prob_profit`` of the combined position and ``leg_prob_profit`` of the new leg alone (module
    doc); ``expected_value`` (USD) of the new leg vs the closing baseline; risk comparisons
    before/after (``expected_loss``, ``delta_dollars``, ``max_loss``, ``assignment``);
    ``defense_failures`` what it misses against the fired defensive triggers ([] = qualifies
    or none fired); ``score`` with its ``score_breakdown`` (points per criterion).
    """

    roll_type: RollType
    label: str
    selection: str
    direction: str
    close: RollLeg
    open: RollLeg
    new_dte: int
    new_iv: float | None
    new_delta: float
    combo_ratio: tuple[int, int]
    combo_quantity: Decimal
    net_price_natural: Decimal
    net_price_mid: Decimal
    net_credit_natural: Decimal
    net_credit_mid: Decimal
    capital_required: Decimal
    capital_released: Decimal
    additional_capital: Decimal
    capital_basis: str
    leg_breakeven: Decimal | None
    new_breakeven: Decimal | None
    assignment_probability: float
    prob_profit: float
    leg_prob_profit: float
    expected_value: float
    annualised_return_on_capital: float | None
    risk_reduction: float | None
    expected_loss: RiskComparison
    delta_dollars: RiskComparison
    max_loss: RiskComparison
    assignment: RiskComparison
    spread_pct: float
    open_interest: float
    volume: float
    score: float
    score_breakdown: dict[str, float] = field(default_factory=dict)
    defense_failures: list[str] = field(default_factory=list)

    @property
    def is_credit(self) -> bool:
        """True when the roll nets a credit at the mid."""
        return self.net_credit_mid >= 0


@dataclass(frozen=True, slots=True)
class RollEvaluation:
    """Result of the roll search: the best ``candidates`` (by score), the ``chosen`` one (the
    best credit roll if any exists, else the best), counts and the reasons candidates were
    rejected. ``window_days_out``: days beyond the current expiry searched. Defensive search:
    ``defensive_triggers`` (the fired ones the search checked), ``qualifying`` (passing
    candidates that reduce the risk that fired), ``best_defensive`` (the best of them, a credit
    one if any; what a defensive decision rolls into) and ``defense_note`` (why none qualifies).
    ``capital_excluded`` candidates passed every other filter but need more capital than
    ``max_additional_capital``; ``capital_needed`` is the least of them would need."""

    window_days_out: tuple[int, int]
    target_delta: float
    target_otm: float
    evaluated: int
    passed: int
    rejected: dict[str, int]
    credit_available: bool
    candidates: list[RollCandidate]
    chosen: RollCandidate | None
    defensive_triggers: tuple[str, ...] = ()
    qualifying: int = 0
    qualifying_credit: bool = False
    best_defensive: RollCandidate | None = None
    defense_note: str | None = None
    capital_excluded: int = 0
    capital_needed: Decimal | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Pick:
    idx: int
    lots: int
    roll_type: RollType
    selection: str


def _resize_lots(lots: int, levels: int) -> list[int]:
    return sorted({max(1, lots * k // (levels + 1)) for k in range(1, levels + 1)} - {lots})


def _enumerate(
    index: ChainIndex,
    i0: int,
    lots0: int,
    short: bool,
    params: RebalanceParams,
    config: EngineConfig,
    target_delta: float,
    target_otm: float,
) -> list[_Pick]:
    is_call = bool(index.is_call[i0])
    k0 = float(index.strike[i0])
    day_ns = 86_400 * 1_000_000_000
    out_days = (index.expiry_ns - index.expiry_ns[i0]) / day_ns
    base = (
        (index.is_call == is_call)
        & (index.expiry_ns > index.expiry_ns[i0])
        & (out_days >= config.roll_min_days_out)
        & (out_days <= config.roll_max_days_out)
    )
    members = np.flatnonzero(base)
    picks: list[_Pick] = []
    if members.size == 0:
        return picks
    types = params.preferred_roll_types
    spot = float(index.spot[i0])
    target_strike = spot * (1.0 + target_otm if is_call else 1.0 - target_otm)
    for expiry in np.unique(index.expiry_ns[members]):
        group = members[index.expiry_ns[members] == expiry]
        strikes = index.strike[group]
        same = group[np.isclose(strikes, k0, rtol=0.0, atol=1e-9)]
        if RollType.CALENDAR in types and same.size:
            picks.append(_Pick(int(same[0]), lots0, RollType.CALENDAR, "same strike"))
        priced = group[np.isfinite(index.vol[group])]
        chosen: list[tuple[int, str]] = []
        if priced.size:
            by_delta = priced[np.argmin(np.abs(np.abs(index.delta[priced]) - target_delta))]
            chosen.append((int(by_delta), f"|delta| nearest {target_delta:.2f}"))
        by_otm = group[np.argmin(np.abs(strikes - target_strike))]
        chosen.append((int(by_otm), f"strike nearest {target_otm:.0%} OTM ({target_strike:,.2f})"))
        seen: set[int] = set()
        for idx, why in chosen:
            if idx in seen or np.isclose(index.strike[idx], k0, rtol=0.0, atol=1e-9):
                continue
            seen.add(idx)
            if RollType.DIAGONAL in types:
                picks.append(_Pick(idx, lots0, RollType.DIAGONAL, why))
            further = index.strike[idx] > k0 if is_call else index.strike[idx] < k0
            if RollType.RESIZE in types and further and lots0 >= 2:
                for lots in _resize_lots(lots0, config.resize_levels):
                    picks.append(_Pick(idx, lots, RollType.RESIZE, why))
    return picks


def _capital_float(
    index: ChainIndex,
    idx: npt.NDArray[np.intp],
    units: FloatArray,
    premium: FloatArray,
    short: bool,
    is_put_equity_cash: bool,
    config: EngineConfig,
) -> FloatArray:
    """Vectorised capital requirement (premium currency), mirroring ``analysis.capital_for``
    (which is exact and used for the reported candidates)."""
    if not short:
        return units * premium
    k = index.strike[idx]
    s = float(index.snapshot.underlying.price)
    call = index.is_call[idx]
    if is_put_equity_cash:
        return units * k
    rates = config.margin_rates
    otm = np.where(call, np.maximum(k - s, 0.0), np.maximum(s - k, 0.0))
    if index.terms.coin_settled or index.terms.linear_settle:
        per_unit = np.maximum(float(rates.crypto_im_base) - otm / s, float(rates.crypto_im_floor))
        if index.terms.coin_settled:
            return units * (per_unit + premium)
        return units * (per_unit * s + premium)
    reference = np.where(call, s, k)
    per_share = np.maximum(
        float(rates.equity_base) * s - otm, float(rates.equity_floor) * reference
    )
    return units * (per_share + premium)


@dataclass(frozen=True, slots=True)
class _Context:
    """What every candidate of one search shares."""

    position: OptionPosition
    analysis: PositionAnalysis
    index: ChainIndex
    config: EngineConfig
    params: RebalanceParams
    i0: int
    lots0: int
    short: bool
    triggers: frozenset[str] = frozenset()


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(48)
#: Standard-normal range integrated over (beyond ±8 sd the density is below 1e-14).
_Z_MAX = 8.0
_GRID = 129


def _bs_value(
    spot: FloatArray,
    strike: FloatArray,
    tau: FloatArray,
    rate: FloatArray,
    carry: FloatArray,
    vol: FloatArray,
    call: npt.NDArray[np.bool_],
) -> FloatArray:
    """Generalised Black-Scholes price only (the horizon integrals evaluate thousands of
    them; the Greeks of ``pricing.bsm_greeks`` are not needed there). τ > 0 and σ > 0 here
    (a roll's expiry is later than the horizon; candidates without a vol are dropped)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.maximum(vol * np.sqrt(tau), 1e-12)
        d1 = (np.log(spot / strike) + (rate - carry) * tau) / sd + 0.5 * sd
        d2 = d1 - sd
        w = np.where(call, 1.0, -1.0)
        value = w * (
            spot * np.exp(-carry * tau) * ndtr(w * d1) - strike * np.exp(-rate * tau) * ndtr(w * d2)
        )
    return np.maximum(value, 0.0)


def _horizon_losses(
    ctx: _Context,
    idx: npt.NDArray[np.intp],
    units_new: FloatArray,
    open_usd: FloatArray,
    close_usd: float,
) -> tuple[float, FloatArray]:
    """Probability-weighted losses (USD) of holding and of each roll at one common horizon:
    the current option's expiry T, both against closing now at the natural price.

    The underlying at T is lognormal from today's price with the drift and the current
    option's vol: S_T = S·exp((μ − σ²/2)T + σ√T·z), z standard normal. Holding loses
    (payoff − close)+ per unit (short) — its expectation is closed-form (``analysis``). A
    roll loses (V(S_T) − open)+ where V is the new option's model value at T with its
    remaining time and own vol; V is monotone in z, so the loss region is one side of the
    level z* where V = open (located on a 129-point grid, then interpolated) and the smooth
    integrand is integrated there with 48-node Gauss-Legendre. Comparing at the same date keeps a longer-dated roll
    from looking riskier only because its loss is counted over more time.
    """
    index, short, i0 = ctx.index, ctx.short, ctx.i0
    units_old = float(ctx.position.contracts) * float(index.terms.multiplier)
    horizon = float(index.years[i0])
    vol0 = float(index.vol[i0])
    n = idx.size
    if not np.isfinite(vol0) or horizon <= 0.0:
        return float("nan"), np.full(n, np.nan)
    spot0 = float(index.spot[i0])
    drift0 = float(index.drift[i0])
    call0 = bool(index.is_call[i0])
    before = units_old * float(
        expected_loss_per_unit(
            np.array([spot0]),
            np.array([float(index.strike[i0])]),
            np.array([close_usd]),
            np.array([horizon]),
            np.array([drift0]),
            np.array([vol0]),
            np.array([call0]),
            short,
        )[0]
    )
    sd = vol0 * np.sqrt(horizon)
    mean = (drift0 - 0.5 * vol0 * vol0) * horizon
    # The new option's own underlying (its expiry's forward for forward-priced options)
    # moves with the common one.
    ratio = index.spot[idx] / spot0
    tau = np.maximum(index.years[idx] - horizon, 0.0)
    vol = np.where(np.isfinite(index.vol[idx]), index.vol[idx], 0.0)
    call = index.is_call[idx]
    strike, rate, carry = index.strike[idx], index.rate[idx], index.carry[idx]

    def value(z: FloatArray) -> FloatArray:
        """V at standard-normal levels ``z`` (shape (k, n): one column per candidate)."""
        s_h = spot0 * np.exp(mean + sd * z) * ratio
        return _bs_value(s_h, strike, tau, rate, carry, vol, call)

    # V rises with z for calls and falls for puts; a short loses where V > open, a long where
    # V < open: the loss lies above z* when (call and short) or (put and long).
    loss_above = call == short
    grid = np.linspace(-_Z_MAX, _Z_MAX, _GRID)[:, None] * np.ones(n)
    values = value(grid)
    over = values > open_usd
    # z* lies in the grid cell where "V > open" flips (at an end when it never flips).
    flips = over[1:] != over[:-1]
    cell = np.where(flips.any(axis=0), np.argmax(flips, axis=0), 0)
    never = ~flips.any(axis=0)
    cols = np.arange(n)
    lo, hi = grid[cell, cols], grid[cell + 1, cols]
    v_lo, v_hi = values[cell, cols], values[cell + 1, cols]
    # Linear interpolation inside the cell: an error δ in z* changes the integral only by
    # O(δ²) (the integrand vanishes at z*), far below a cent for this grid.
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.clip((open_usd - v_lo) / (v_hi - v_lo), 0.0, 1.0)
    z_star = np.where(np.isfinite(frac), lo + frac * (hi - lo), 0.5 * (lo + hi))
    a = np.where(loss_above, z_star, -_Z_MAX)
    b = np.where(loss_above, _Z_MAX, z_star)
    # Without a flip the loss covers the whole range (a short with V above the open price
    # everywhere, a long with V below it everywhere) or none of it.
    everywhere = over[0] if short else ~over[0]
    a = np.where(never, np.where(everywhere, -_Z_MAX, 0.0), a)
    b = np.where(never, np.where(everywhere, _Z_MAX, 0.0), b)
    half = 0.5 * (b - a)
    z = 0.5 * (a + b)[None, :] + half[None, :] * _GL_NODES[:, None]
    v = value(z)
    loss = np.maximum(v - open_usd, 0.0) if short else np.maximum(open_usd - v, 0.0)
    density = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    after = units_new * half * (_GL_WEIGHTS @ (loss * density))
    return before, np.where(np.isfinite(index.vol[idx]), after, np.nan)


def _metrics(ctx: _Context, picks: list[_Pick]) -> dict[str, FloatArray]:
    """Per-candidate float metrics (module doc), one array element per pick."""
    index, position, analysis, config = ctx.index, ctx.position, ctx.analysis, ctx.config
    short, i0 = ctx.short, ctx.i0
    terms = index.terms
    idx = np.array([p.idx for p in picks], dtype=np.intp)
    lots = np.array([p.lots for p in picks], dtype=np.float64)
    m = float(terms.multiplier)
    units_new = lots * float(terms.lot_size) * m
    units_old = float(position.contracts) * m
    usd_new = index.usd_factor[idx]
    bid, ask, mid = index.bid[idx], index.ask[idx], index.mid[idx]
    open_nat = bid if short else ask
    close_nat = float(analysis.close_price)
    close_mid = float(analysis.mark)
    # Net cash of the roll, premium currency (+ credit).
    if short:
        net_nat = units_new * open_nat - units_old * close_nat
        net_mid = units_new * mid - units_old * close_mid
    else:
        net_nat = units_old * close_nat - units_new * open_nat
        net_mid = units_old * close_mid - units_new * mid
    spot, k_new, t_new = index.spot[idx], index.strike[idx], index.years[idx]
    vol_new, drift_new, call = index.vol[idx], index.drift[idx], index.is_call[idx]
    open_usd = open_nat * usd_new
    # Before: hold the current position (forward P&L vs closing now at the natural price).
    spot0, k0 = float(index.spot[i0]), float(index.strike[i0])
    close_usd = close_nat * float(index.usd_factor[i0])
    before_loss, after_loss = _horizon_losses(ctx, idx, units_new, open_usd, close_usd)
    before_delta = abs(float(index.delta[i0]) * units_old * spot0)
    coin = index.terms.coin_settled
    if short:
        unlimited = bool(index.is_call[i0])
        # USD, vs closing now: a coin-settled short put loses K·units as S -> 0 (its coin
        # premium is then worthless); a linear one K − premium.
        before_max = np.nan if unlimited else units_old * (k0 if coin else max(k0 - close_usd, 0.0))
        after_max = np.where(
            call, np.nan, units_new * (k_new if coin else np.maximum(k_new - open_usd, 0.0))
        )
    else:
        before_max = units_old * close_usd
        after_max = units_new * open_usd
    after_delta = np.abs(index.delta[idx] * units_new * spot)
    with np.errstate(divide="ignore", invalid="ignore"):
        rr_loss = np.where(before_loss > 0, (before_loss - after_loss) / before_loss, np.nan)
        rr_delta = np.where(before_delta > 0, (before_delta - after_delta) / before_delta, np.nan)
        rr_max = np.where(
            np.isfinite(before_max) & (before_max > 0) & np.isfinite(after_max),
            (before_max - after_max) / before_max,
            np.nan,
        )
    # The new leg at its expiry.
    payoff = expected_excess(spot, k_new, t_new, drift_new, vol_new, call)
    ev = units_new * (open_usd - payoff) if short else units_new * (payoff - open_usd)
    leg_pop = _pop(spot, k_new, open_nat, t_new, drift_new, vol_new, call, short, coin)
    realised = (float(position.entry_price) - close_nat) * units_old * (1.0 if short else -1.0)
    # The combined position: every premium so far (entry, close, new leg) spread over the new
    # leg — the entry credit plus the roll's net credit for a short.
    campaign = realised + units_new * open_nat if short else units_new * open_nat - realised
    p_combined = _pop(
        spot, k_new, campaign / units_new, t_new, drift_new, vol_new, call, short, coin
    )
    p_before = analysis.assignment_probability
    p_after = index.prob_itm[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        rr_assign = (
            (p_before - p_after) / p_before
            if p_before is not None and p_before > 0
            else np.full(len(picks), np.nan)
        )
    cash_put = (
        short
        and position.spec.equity
        and not bool(index.is_call[i0])
        and config.capital_basis == "cash_secured"
    )
    cap_new = _capital_float(
        index, idx, units_new, np.where(np.isfinite(mid), mid, 0.0), short, cash_put, config
    )
    # Money the trader must add: any debit at the mid (the ladder of a credit roll stops at 0)
    # plus any increase of the capital requirement.
    additional = np.maximum(-net_mid, 0.0) + np.maximum(
        cap_new - float(analysis.capital_required), 0.0
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        yearly = 365.0 / index.dte[idx]
        roc = (
            units_new * open_nat / cap_new * yearly if short else ev / (cap_new * usd_new) * yearly
        )
        cost = (net_mid - net_nat) / (units_new * mid)
    full = np.ones(len(picks))
    return {
        "idx": idx.astype(np.float64),
        "net_nat": net_nat,
        "net_mid": net_mid,
        "additional": additional,
        "before_loss": full * before_loss,
        "after_loss": after_loss,
        "rr_loss": rr_loss,
        "before_delta": full * before_delta,
        "after_delta": after_delta,
        "rr_delta": rr_delta,
        "before_max": full * before_max,
        "after_max": np.asarray(after_max, dtype=np.float64) * full,
        "rr_max": rr_max,
        "ev": ev,
        "p_profit": p_combined,
        "p_leg": leg_pop,
        "p_assign": p_after,
        "before_assign": full * (np.nan if p_before is None else p_before),
        "rr_assign": rr_assign,
        "abs_delta": np.abs(index.delta[idx]),
        "roc": roc,
        "cost": cost,
    }


def _pop(
    spot: FloatArray,
    strike: FloatArray,
    premium: FloatArray,
    years: FloatArray,
    drift: FloatArray,
    vol: FloatArray,
    call: npt.NDArray[np.bool_],
    short: bool,
    coin: bool,
) -> FloatArray:
    """Probability that a position opened at ``premium`` per unit (premium currency: a credit
    for a short, a cost for a long) ends beyond its breakeven at expiry (``levels``: K ± p,
    or K/(1 ∓ p) for coin-settled options). A short without credit never profits, a long
    without cost always does; a coin call premium of 1 coin or more has no breakeven."""
    sign = np.where(call, 1.0, -1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if coin:
            denominator = 1.0 - sign * premium
            level = np.where(denominator > 0.0, strike / denominator, np.inf)
        else:
            level = strike + sign * premium
    above = ~call if short else call
    p = prob_beyond(spot, np.where(np.isfinite(level), level, 1.0), years, drift, vol, above)
    # Coin call with premium >= 1: payoff < 1 coin, so a short always and a long never profits.
    p = np.where(np.isfinite(level), p, 1.0 if short else 0.0)
    if short:
        return np.where(premium > 0.0, p, 0.0)
    return np.where(premium > 0.0, p, 1.0)


def _reasons(
    ctx: _Context, picks: list[_Pick], mx: dict[str, FloatArray]
) -> npt.NDArray[np.object_]:
    """Why each candidate is rejected ("" = passed): the first failing filter."""
    index, liq = ctx.index, ctx.config.liquidity
    idx = mx["idx"].astype(np.intp)
    reasons = np.full(len(picks), "", dtype=object)

    def reject(mask: npt.NDArray[np.bool_], why: str) -> None:
        reasons[(reasons == "") & mask] = why

    reject(~np.isfinite(index.vol[idx]), "no implied vol")
    if ctx.short:
        bid_usd = index.bid[idx] * index.usd_factor[idx]
        reject(~(bid_usd >= float(liq.min_bid)), f"bid below {liq.min_bid} USD")
        close_ask = ctx.index.contract(ctx.i0).ask
        if close_ask is None or close_ask <= 0:
            reject(np.ones(len(picks), dtype=np.bool_), "current leg has no ask")
    else:
        reject(~np.isfinite(index.ask[idx]), "no ask")
    reject(
        index.open_interest[idx] < liq.min_open_interest, f"open interest < {liq.min_open_interest}"
    )
    reject(index.volume[idx] < liq.min_volume, f"volume < {liq.min_volume}")
    reject(
        ~(index.spread_pct[idx] <= liq.max_spread_pct), f"spread > {liq.max_spread_pct:.0%} of mid"
    )
    limit = ctx.params.max_additional_capital
    reject(mx["additional"] > float(limit) + 1e-9, _capital_reason(limit))
    return reasons


def _scores(ctx: _Context, mx: dict[str, FloatArray]) -> dict[str, FloatArray]:
    """Candidate points per criterion (``CandidatePoints``) and their sum ``score``."""
    pts = ctx.config.candidate_points
    tol = ctx.config.thresholds(ctx.params.risk_tolerance)
    delta = np.abs(ctx.index.delta[mx["idx"].astype(np.intp)])
    fit = np.clip(1.0 - np.abs(delta - tol.target_delta) / tol.target_delta, 0.0, 1.0)
    parts = {
        "net_credit": np.where(mx["net_mid"] >= 0.0, pts.credit, pts.debit),
        "risk_reduction": pts.risk_reduction
        * np.clip(np.nan_to_num(mx["rr_loss"], nan=0.0), -1.0, 1.0),
        "assignment": np.where(
            mx["p_assign"] <= tol.max_new_assignment_probability,
            pts.assignment_ok,
            pts.assignment_high,
        ),
        "delta_fit": pts.delta_fit * np.nan_to_num(fit, nan=0.0),
        "return_on_capital": pts.return_on_capital
        * np.clip(np.nan_to_num(mx["roc"] / pts.roc_reference, nan=0.0), 0.0, 1.0),
        "execution_cost": pts.execution_cost
        * np.clip(np.nan_to_num(mx["cost"], nan=0.0), 0.0, 1.0),
    }
    parts["score"] = sum(parts.values(), np.zeros_like(mx["net_mid"]))
    return parts


def _row_failures(ctx: _Context, mx: dict[str, FloatArray], j: int) -> list[str]:
    """``defense.defense_failures`` of candidate row ``j`` (from the float metrics)."""

    def cmp(before: str, after: str, reduction: str) -> RiskComparison:
        return RiskComparison(_opt(mx[before][j]), _opt(mx[after][j]), _opt(mx[reduction][j]))

    return defense_failures(
        ctx.triggers,
        assignment=cmp("before_assign", "p_assign", "rr_assign"),
        delta_dollars=cmp("before_delta", "after_delta", "rr_delta"),
        expected_loss=cmp("before_loss", "after_loss", "rr_loss"),
        new_abs_delta=float(mx["abs_delta"][j]),
        tol=ctx.config.thresholds(ctx.params.risk_tolerance),
        min_risk_reduction=ctx.config.min_risk_reduction,
    )


def evaluate_rolls(
    position: OptionPosition,
    analysis: PositionAnalysis,
    i0: int,
    index: ChainIndex,
    params: RebalanceParams,
    config: EngineConfig,
    triggers: frozenset[str] = frozenset(),
) -> RollEvaluation:
    """Enumerate and evaluate the roll candidates of ``position`` (module doc); ``triggers``
    are the defensive factors that fired (``defense.defensive_triggers``)."""
    tol = config.thresholds(params.risk_tolerance)
    short = position.is_short
    lots0 = int(position.contracts / index.terms.lot_size)
    window = (config.roll_min_days_out, config.roll_max_days_out)
    fired = tuple(sorted(triggers))
    notes: list[str] = []
    close_c = index.contract(i0)
    if short and (close_c.ask is None or close_c.ask <= 0):
        notes.append("the current option has no ask: it cannot be bought back at a known price")
    if not short and (close_c.bid is None or close_c.bid <= 0):
        notes.append("the current option has no bid: it cannot be sold at a known price")
    picks = _enumerate(index, i0, lots0, short, params, config, tol.target_delta, tol.target_otm)
    if not picks:
        kinds = sorted(t.value for t in params.preferred_roll_types)
        notes.append(
            f"no expiry of the same right {window[0]}-{window[1]} days beyond "
            f"{close_c.expiry:%Y-%m-%d} in the chain for roll types {kinds}"
        )
        return RollEvaluation(
            window, tol.target_delta, tol.target_otm, 0, 0, {}, False, [], None,
            defensive_triggers=fired, notes=notes,
        )  # fmt: skip
    ctx = _Context(position, analysis, index, config, params, i0, lots0, short, triggers)
    mx = _metrics(ctx, picks)
    reasons = _reasons(ctx, picks, mx)
    parts = _scores(ctx, mx)
    passed = reasons == ""
    rejected = dict(Counter(str(r) for r in reasons[~passed]))
    order = [int(j) for j in np.argsort(-parts["score"], kind="stable") if passed[j]]
    credit_rows = [j for j in order if mx["net_mid"][j] >= 0.0]
    top = order[: config.max_candidates]
    chosen_row = credit_rows[0] if credit_rows else (order[0] if order else None)
    defensive_row: int | None = None
    qualifying: list[int] = []
    defense_note = None
    if triggers:
        qualifying = [j for j in order if not _row_failures(ctx, mx, j)]
        credit_fit = [j for j in qualifying if mx["net_mid"][j] >= 0.0]
        fit = credit_fit or qualifying
        defensive_row = fit[0] if fit else None
        if defensive_row is None and order:
            best = order[0]
            defense_note = (
                f"none of the {len(order)} candidates that passed the filters reduces the risk "
                f"that fired ({', '.join(fired)}); the best-scored one misses: "
                + "; ".join(_row_failures(ctx, mx, best))
            )
    for extra in (chosen_row, defensive_row):
        if extra is not None and extra not in top:
            top = [*top[: config.max_candidates - 1], extra] if top else [extra]
    built = {j: _build(ctx, picks[j], j, mx, parts) for j in top}
    if not order:
        notes.append("no candidate passed the liquidity and capital filters")
    limit = params.max_additional_capital
    capital_rows = np.flatnonzero(reasons == _capital_reason(limit))
    needed = None
    if capital_rows.size:
        needed = plain(Decimal(repr(float(np.min(mx["additional"][capital_rows])))).quantize(CENT))
        ccy = index.terms.premium_currency
        notes.append(
            f"{capital_rows.size} of {len(picks)} candidates passed every other filter but need "
            f"additional capital (at least {needed} {ccy}) above max_additional_capital "
            f"{limit} {ccy} (seed 000's default 0: a roll may not take new money); raise it "
            "to consider them"
        )
    return RollEvaluation(
        window_days_out=window,
        target_delta=tol.target_delta,
        target_otm=tol.target_otm,
        evaluated=len(picks),
        passed=int(passed.sum()),
        rejected=rejected,
        credit_available=bool(credit_rows),
        candidates=[built[j] for j in top],
        chosen=built[chosen_row] if chosen_row is not None else None,
        defensive_triggers=fired,
        qualifying=len(qualifying),
        qualifying_credit=any(mx["net_mid"][j] >= 0.0 for j in qualifying),
        best_defensive=built[defensive_row] if defensive_row is not None else None,
        defense_note=defense_note,
        capital_excluded=int(capital_rows.size),
        capital_needed=needed,
        notes=notes,
    )


def _capital_reason(limit: Decimal) -> str:
    return f"additional capital > {limit}"


def _direction(pick: _Pick, old: Decimal, new: Decimal, put: bool) -> str:
    if pick.roll_type is RollType.CALENDAR:
        return "out"
    away = (new < old) == put
    text = "out and away from the money" if away else "out and toward the money"
    return text + (" (down)" if new < old else " (up)")


def _build(
    ctx: _Context,
    pick: _Pick,
    j: int,
    mx: dict[str, FloatArray],
    parts: dict[str, FloatArray],
) -> RollCandidate:
    """The reported candidate ``j``: money recomputed exactly in Decimal from the quotes."""
    index, position, analysis, config, short = (
        ctx.index,
        ctx.position,
        ctx.analysis,
        ctx.config,
        ctx.short,
    )
    terms = index.terms
    close_c = index.contract(ctx.i0)
    c_new = index.contract(pick.idx)
    qty_new = Decimal(pick.lots) * terms.lot_size
    qty_old = position.contracts
    close_nat = analysis.close_price
    open_mid = c_new.mid or ZERO
    open_nat = (c_new.bid or ZERO) if short else (c_new.ask or ZERO)
    mm = terms.multiplier
    if short:
        net_nat = (open_nat * qty_new - close_nat * qty_old) * mm
        net_mid = (open_mid * qty_new - analysis.mark * qty_old) * mm
    else:
        net_nat = (close_nat * qty_old - open_nat * qty_new) * mm
        net_mid = (analysis.mark * qty_old - open_mid * qty_new) * mm
    g = gcd(ctx.lots0, pick.lots)
    ratio = (ctx.lots0 // g, pick.lots // g)
    combo_qty = Decimal(g) * terms.lot_size
    per_combo = combo_qty * mm
    capital, basis = capital_for(
        parse_symbol(c_new.symbol),
        -qty_new if short else qty_new,
        c_new.strike,
        open_mid if short else open_nat,
        index.snapshot.underlying.price,
        config.capital_basis,
        config.margin_rates,
        mm,
    )
    additional = max(-net_mid, ZERO) + max(capital - analysis.capital_required, ZERO)
    campaign = (
        (position.entry_price - close_nat) * qty_old + open_nat * qty_new
        if short
        else open_nat * qty_new - (close_nat - position.entry_price) * qty_old
    )
    put = c_new.right is OptionRight.PUT
    coin = terms.coin_settled
    leg_be = _breakeven_or_none(c_new.right, c_new.strike, open_nat, coin)
    new_be = _breakeven_or_none(c_new.right, c_new.strike, campaign / qty_new, coin)
    label = (
        f"{pick.roll_type.value}: {close_c.expiry:%d %b %y} {_strike(close_c.strike)}"
        f"{close_c.right.value} -> {c_new.expiry:%d %b %y} {_strike(c_new.strike)}"
        f"{c_new.right.value}"
        + (f" x{_strike(qty_new)} (from {_strike(qty_old)})" if qty_new != qty_old else "")
    )
    close_leg = RollLeg(
        "BTC" if short else "STC",
        close_c.symbol,
        close_c.right,
        close_c.strike,
        close_c.expiry,
        qty_old,
        close_c.bid,
        close_c.ask,
        analysis.mark,
        close_nat,
    )
    open_leg = RollLeg(
        "STO" if short else "BTO",
        c_new.symbol,
        c_new.right,
        c_new.strike,
        c_new.expiry,
        qty_new,
        c_new.bid,
        c_new.ask,
        open_mid,
        open_nat,
    )
    return RollCandidate(
        roll_type=pick.roll_type,
        label=label,
        selection=pick.selection,
        direction=_direction(pick, close_c.strike, c_new.strike, put),
        close=close_leg,
        open=open_leg,
        new_dte=(c_new.expiry.date() - index.as_of.date()).days,
        new_iv=_opt(index.iv[pick.idx]),
        new_delta=float(index.delta[pick.idx]),
        combo_ratio=ratio,
        combo_quantity=combo_qty,
        net_price_natural=plain(net_nat / per_combo),
        net_price_mid=plain(net_mid / per_combo),
        net_credit_natural=plain(net_nat),
        net_credit_mid=plain(net_mid),
        capital_required=capital,
        capital_released=analysis.capital_required,
        additional_capital=additional,
        capital_basis=basis,
        leg_breakeven=leg_be,
        new_breakeven=new_be,
        assignment_probability=float(mx["p_assign"][j]),
        prob_profit=float(mx["p_profit"][j]),
        leg_prob_profit=float(mx["p_leg"][j]),
        expected_value=float(mx["ev"][j]),
        annualised_return_on_capital=_opt(mx["roc"][j]),
        risk_reduction=_opt(mx["rr_loss"][j]),
        expected_loss=RiskComparison(
            _opt(mx["before_loss"][j]), _opt(mx["after_loss"][j]), _opt(mx["rr_loss"][j])
        ),
        delta_dollars=RiskComparison(
            _opt(mx["before_delta"][j]), _opt(mx["after_delta"][j]), _opt(mx["rr_delta"][j])
        ),
        max_loss=RiskComparison(
            _opt(mx["before_max"][j]), _opt(mx["after_max"][j]), _opt(mx["rr_max"][j])
        ),
        assignment=RiskComparison(
            _opt(mx["before_assign"][j]), _opt(mx["p_assign"][j]), _opt(mx["rr_assign"][j])
        ),
        spread_pct=float(index.spread_pct[pick.idx]),
        open_interest=float(index.open_interest[pick.idx]),
        volume=float(index.volume[pick.idx]),
        score=float(parts["score"][j]),
        score_breakdown={k: float(v[j]) for k, v in parts.items() if k != "score"},
        defense_failures=_row_failures(ctx, mx, j),
    )


def _breakeven_or_none(
    right: OptionRight, strike: Decimal, premium: Decimal, coin: bool
) -> Decimal | None:
    """``levels.breakeven`` for a net premium per unit, None when there is none (no net
    premium, a coin call premium of 1 coin or more, or a level at or below zero)."""
    if premium <= 0 or (coin and right is OptionRight.CALL and premium >= 1):
        return None
    level = breakeven(right, strike, premium, coin)
    return plain(level) if level > 0 else None


def _opt(value: float | np.float64) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


def _strike(value: Decimal) -> str:
    return format(value.normalize(), "f")


__all__ = ["RiskComparison", "RollCandidate", "RollEvaluation", "RollLeg", "evaluate_rolls"]
