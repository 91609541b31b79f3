"""The governance rules' decisions for many positions at once, in float64 NumPy.

For every row the screen flags, :func:`decide` works out what the exact rules
(:func:`~riskdesk.domain.governance.engine.evaluate`) will decide and sends the row one of three
ways:

* ``SKIP`` — nothing happens: no action, no event, no state change;
* ``DECIDED`` — the row acts, and everything the rules would decide for it is decided here: the
  protective stop at entry (ATR, percent or given level, kept inside a liquidation price on the
  loss side) and R, the lock-profit tier reached, every trailing candidate (lock-profit level,
  chandelier, percent trail with its activation), the best one as a whole number of ticks
  rounded in the safe direction and whether it moves the stop, the take-profit steps of both
  ladders the price has reached, and whether an exit can apply. The row's plan is then built
  from these decisions by :func:`~riskdesk.domain.governance.engine.evaluate_decided` — the
  same code that builds the exact rules' plans, with exact ``Decimal`` values (a level is
  ``ticks · tick``), so the plan is the one the exact rules make;
* ``EXACT`` — everything else (a lifecycle or size change with orders still outstanding, a
  position closing, signals, add-ons, stagnation, invalidation conditions met, a trigger price
  other than the mark, unknown lot sizes…) and every row where a float decision lies within a
  tolerance of its boundary: a threshold (ROE tiers, take-profit levels, activation prices,
  the liquidation bound), a tie between trailing candidates, or a level within rounding error
  of a tick (where the safe rounding could go either way). These run the exact rules.

Tolerances are far above the float64 error of the inputs (every price enters as the float of an
exact decimal; a level is a few operations away): relative 1e-9 for thresholds and candidate
ties (the exact rules' own tie tolerance), 1e-12 of the magnitude for tick rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import NDArray

from riskdesk.domain.governance.engine import Decided

if TYPE_CHECKING:
    from riskdesk.domain.governance.batch import GovernanceBook, PositionColumns, Revaluation

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Routes of a flagged row.
SKIP: Final = 0
DECIDED: Final = 1
EXACT: Final = 2

#: Relative tolerance of threshold comparisons (ROE tiers, price levels, candidate ties).
_REL: Final = 1e-9
#: Relative tolerance of tick rounding (of the magnitudes a level is computed from).
_TIE: Final = 1e-12
#: Seconds of tolerance on durations (epoch floats carry about a microsecond of error).
_SECONDS: Final = 1e-3


@dataclass(frozen=True, slots=True)
class Decisions:
    """The route of every flagged row (``rows``: book rows) and, for ``DECIDED`` rows, what
    was decided (None otherwise)."""

    rows: IntArray
    route: list[int]
    decided: list[Decided | None]


def _on_grid(values: FloatArray, step: FloatArray) -> tuple[FloatArray, BoolArray]:
    """``values / step`` rounded to whole steps, and whether that is exact within rounding."""
    units = values / step
    whole = np.rint(units)
    good = np.abs(units - whole) <= 1e-9 * np.maximum(1.0, np.abs(units))
    return whole, good & np.isfinite(units)


def _safe_ticks(
    level: FloatArray, tick: FloatArray, long: BoolArray, magnitude: FloatArray
) -> tuple[FloatArray, BoolArray]:
    """``level`` in ticks rounded in the safe direction (up for a long's stop, down for a
    short's), and where that rounding is in doubt (within ``_TIE · magnitude / tick`` of a
    tick)."""
    x = level / tick
    ticks = np.where(long, np.ceil(x), np.floor(x))
    doubt = ~np.isfinite(x) | (np.abs(x - np.rint(x)) <= _TIE * magnitude / tick + 1e-9)
    return ticks, doubt


def _optional(values: FloatArray | None, rows: IntArray) -> FloatArray:
    return np.full(rows.size, np.nan) if values is None else values[rows]


def decide(
    book: GovernanceBook,
    cols: PositionColumns,
    now: datetime,
    reval: Revaluation,
    rows: IntArray,
) -> Decisions:
    """Route every flagged row (see the module docstring) and decide the ``DECIDED`` ones."""
    m = int(rows.size)
    if m == 0 or cols.lot is None or cols.min_qty is None:
        return Decisions(rows, [EXACT] * m, [None] * m)
    # NaN and infinities stand for "none" in these columns (no stop, no next tier…).
    with np.errstate(divide="ignore", invalid="ignore"):
        return _decide(book, cols, now, reval, rows, cols.lot, cols.min_qty)


def _decide(
    book: GovernanceBook,
    cols: PositionColumns,
    now: datetime,
    reval: Revaluation,
    rows: IntArray,
    lots: FloatArray,
    min_qtys: FloatArray,
) -> Decisions:
    m = int(rows.size)
    c = book.columns_of(rows)
    prof = book.profiles
    pidx = c["profile"].astype(np.int64)
    now_s = now.timestamp()
    q = cols.qty[rows]
    aq = np.abs(q)
    d = np.sign(q)
    long = d > 0
    entry = cols.entry[rows]
    mark = cols.mark[rows]
    tick = cols.tick[rows]
    lot = lots[rows]
    roe = reval.roe[rows]
    atr = _optional(cols.atr, rows)
    exact = np.zeros(m, dtype=bool)

    # ---- what the decided path covers: an ACTIVE position, or an entry whose position
    # appeared, with nothing outstanding once the observed size is taken, no signal, and the
    # stop triggering on the mark.
    life = c["life"]
    activating = (life == 0) & (aq > 0)
    active = (life == 1) & (aq > 0) & (d == c["direction"])
    exact |= ~(activating | active)
    kind = prof.trigger[pidx]
    if cols.last is not None:
        exact |= (kind == 1) & ~np.isnan(cols.last[rows])
    if cols.index is not None:
        exact |= (kind == 2) & ~np.isnan(cols.index[rows])
    if cols.has_signal is not None:
        exact |= cols.has_signal[rows]
    seen = np.where(activating, aq, c["seen"])
    expected = np.where(activating, aq, c["expected"])
    aq_l, g_aq = _on_grid(aq, lot)
    seen_l, g_seen = _on_grid(seen, lot)
    exp_l, g_exp = _on_grid(expected, lot)
    stop_qty_l, g_sq = _on_grid(c["stop_qty"], lot)
    exact |= ~(g_aq & g_seen & g_exp & g_sq)
    # Orders held at the venue must be valid: whole lots (above) and at least the minimum.
    min_qty = min_qtys[rows]
    exact |= ~(aq > min_qty * (1.0 + 1e-12))
    # The size taken (engine ``sync_size``): settled means nothing outstanding after it.
    pending = exp_l - seen_l
    delta = aq_l - seen_l
    toward = (pending != 0) & ((delta > 0) == (pending > 0))
    step = np.minimum(np.abs(delta), np.abs(pending))
    rest = np.where(toward, pending - np.sign(pending) * step, pending)
    size_changed = aq_l != seen_l
    exact |= (aq_l + rest) != aq_l
    exact |= ~size_changed & (c["pending_n"] > 0)

    # ---- the working stop, or the protective stop at entry (engine ``initial_level``).
    stop = c["stop"]
    has_stop = ~np.isnan(stop)
    k0, g_stop = _on_grid(stop, tick)
    exact |= has_stop & ~g_stop
    override = c["override"]
    # A given stop set after the stop was placed (``attach --stop``) that is tighter than the
    # working stop: the exact rules apply it.
    exact |= has_stop & (d * override > d * stop)
    use_atr = prof.atr_stop[pidx] & (atr > 0)
    distance = prof.atr_mult[pidx] * atr
    raw = np.where(
        ~np.isnan(override),
        override,
        np.where(use_atr, entry - d * distance, entry * (1.0 - d * prof.stop_pct[pidx])),
    )
    magnitude = np.abs(entry) + np.where(use_atr, np.abs(distance), 0.0) + np.abs(raw)
    liq = _optional(cols.liquidation, rows)
    bounded = (liq > 0) & ~has_stop
    exact |= bounded & (np.abs(mark - liq) <= _TIE * mark)
    safe = liq * (1.0 + d * prof.liq_buffer[pidx])
    loss_side = bounded & (d * (mark - liq) > 0)
    exact |= loss_side & (np.abs(raw - safe) <= _TIE * (np.abs(raw) + np.abs(safe)))
    clamp = loss_side & (d * (raw - safe) < 0)
    raw = np.where(clamp, safe, raw)
    magnitude = np.where(clamp, np.abs(safe) + np.abs(raw), magnitude)
    k_init, doubt = _safe_ticks(raw, tick, long, magnitude)
    # A level within rounding error of a tick: the safe rounding gives that tick or the next
    # one (tighter). Decide with the looser one and keep both in mind; the plan computes it.
    init_doubt = ~has_stop & doubt
    k_init = np.where(init_doubt, np.rint(raw / tick), k_init)
    exact |= ~has_stop & ~(k_init > 0)
    k_cur = np.where(has_stop, k0, k_init)
    risk = np.where(has_stop, c["risk"], _risk(entry, k_init * tick))
    risk_tight = np.where(init_doubt, _risk(entry, (k_init + d) * tick), risk)

    # ---- trailing candidates (engine ``ratchet``), as d·level so that better is larger.
    tol_roe = _REL * np.maximum(1.0, np.abs(roe))
    lock_trig = prof.lock_trig[pidx]
    exact |= np.any(np.abs(roe[:, None] - lock_trig) <= tol_roe[:, None], axis=1)
    reached = np.cumprod(roe[:, None] >= lock_trig, axis=1).sum(axis=1).astype(np.int64)
    theta = prof.lock_theta[pidx, np.maximum(reached - 1, 0)]
    rate = np.where(np.isnan(prof.fee_rate[pidx]), cols.fee_rate[rows], prof.fee_rate[pidx])
    rate = np.where(prof.net[pidx], rate, 0.0)
    s = q * cols.contract_size[rows]
    a = np.abs(s)
    target = theta * cols.margin[rows]
    inverse = cols.inverse[rows]
    num_lin = target + entry * (s + rate * a)
    lock_lin = num_lin / (s - rate * a)
    base_inv = (s - rate * a) / entry
    den_inv = base_inv - target
    lock_inv = (s + rate * a) / den_inv
    lock = np.where(inverse, lock_inv, lock_lin)
    # Cancellation in the formula would amplify float error: decide exactly there.
    ill = np.where(
        inverse,
        np.abs(den_inv) < 1e-6 * np.abs(base_inv),
        np.abs(num_lin) < 1e-6 * (np.abs(target) + np.abs(entry * (s + rate * a))),
    )
    lock_ok = (reached > 0) & (lock > 0) & np.isfinite(lock)
    exact |= (reached > 0) & (~lock_ok | ill)
    trig = mark
    high = _optional(cols.high, rows)
    low = _optional(cols.low, rows)
    extreme = np.where(
        long,
        np.where(np.isnan(high), trig, np.fmax(trig, high)),
        np.where(np.isnan(low), trig, np.fmin(trig, low)),
    )
    mult = prof.chandelier[pidx]
    chandelier = extreme - d * mult * atr
    chandelier_ok = ~np.isnan(mult) & (atr > 0) & (chandelier > 0)
    callback = prof.trail[pidx]
    given = c["activation"]
    act = prof.trail_act[pidx]
    approx = entry * (1.0 + d * act)
    armed = np.where(
        ~np.isnan(given),
        ~(d * (extreme - given) < 0),
        np.where(np.isnan(act), True, d * (extreme - approx) >= 0),
    )
    near_act = np.isnan(given) & ~np.isnan(act) & (np.abs(extreme - approx) <= _REL * approx)
    trail = extreme * (1.0 - d * callback)
    trail_on = ~np.isnan(callback)
    exact |= trail_on & near_act
    trail_ok = trail_on & armed
    exact |= trail_ok & ~(trail > 0)
    candidates = np.stack([lock, chandelier, trail], axis=1)
    valid = np.stack([lock_ok, chandelier_ok, trail_ok], axis=1)
    better = np.where(valid, d[:, None] * candidates, -np.inf)
    winner = np.argmax(better, axis=1)
    best = candidates[np.arange(m), winner]
    any_candidate = valid.any(axis=1)
    close = valid & (better[np.arange(m), winner][:, None] - better <= _REL * np.abs(best)[:, None])
    exact |= close.sum(axis=1) > 1
    best_magnitude = np.where(winner == 0, np.abs(entry) + np.abs(best), np.abs(best))
    k_best, doubt = _safe_ticks(best, tick, long, best_magnitude)
    best_doubt = any_candidate & doubt
    k_best = np.where(best_doubt, np.rint(best / tick), k_best)
    move = any_candidate & (d * (k_best - k_cur) > 0)
    # A stop order's price must be positive (a short's level can round down to zero).
    exact |= move & ~(k_best > 0)
    level = np.where(move, k_best, k_cur)
    # Where a level is in doubt the plan runs the trailing rules exactly (``winner`` −1); the
    # level is then this one or one tick tighter.
    ratchet_exactly = any_candidate & (best_doubt | init_doubt)
    uncertain = best_doubt | init_doubt

    # ---- exits that may apply: a crossing (guard stop, or the crossing alert), the time stop.
    # Stagnation, invalidation conditions and signals go to the exact rules.
    x = trig / tick
    tol_x = _REL * np.abs(x)
    crossed_now = has_stop & (d * (x - k0) <= tol_x)
    crossed_level = (d * (x - level) <= tol_x) | uncertain & (d * (x - level - d) <= tol_x)
    opened = np.where(activating, _optional(cols.opened, rows), c["opened"])
    held = now_s - opened
    max_hold = prof.max_hold[pidx]
    exact |= np.isnan(held) & np.isfinite(max_hold)
    time_stop = held >= max_hold - _SECONDS
    stag_t = prof.stag_t[pidx]
    exact |= np.isnan(held) & np.isfinite(stag_t)
    exact |= (
        (c["stagnated"] == 0)
        & (held > stag_t - _SECONDS)
        & (np.abs(roe) < prof.stag_rho[pidx] + tol_roe)
    )
    exact |= _invalidation_possible(book, cols, rows)
    exits = crossed_now | crossed_level | time_stop

    # ---- take-profit steps reached (engine ``take_profits``), counted from the steps done.
    tp_r = c["tp_r"].astype(np.int64)
    r_reached, r_doubt = _steps_reached(
        tp_r,
        prof.r_len[pidx],
        entry[:, None] + d[:, None] * prof.r_mult[pidx] * risk[:, None],
        d,
        trig,
        ~np.isnan(risk),
    )
    # R from a stop at entry in doubt: the steps reached must not depend on which tick it is.
    r_tight, tight_doubt = _steps_reached(
        tp_r,
        prof.r_len[pidx],
        entry[:, None] + d[:, None] * prof.r_mult[pidx] * risk_tight[:, None],
        d,
        trig,
        ~np.isnan(risk_tight),
    )
    r_doubt |= init_doubt & (tight_doubt | (r_tight != r_reached) | np.isnan(risk_tight))
    tp_roe = c["tp_roe"].astype(np.int64)
    roe_reached, roe_doubt = _ladder_by_roe(tp_roe, prof.roe_len[pidx], prof.roe_trig[pidx], roe)
    exact |= r_doubt | roe_doubt
    take = (r_reached > tp_r) | (roe_reached > tp_roe)

    # ---- an add-on that may be due: the plan runs the add-on rule (exact, and cheap when it
    # does not apply); one whose ROE tier is within tolerance goes to the exact rules.
    count = c["add_count"].astype(np.int64)
    width = prof.add_tier.shape[1]
    tier = prof.add_tier[pidx, np.minimum(count, width - 1)]
    last = np.where(np.isnan(c["last_add"]), opened, c["last_add"])
    waited = np.isnan(last) | (now_s - last >= prof.add_interval[pidx] - _SECONDS)
    may_add = (
        (count < prof.add_cap[pidx])
        & (tp_r == 0)
        & (tp_roe == 0)
        & (roe >= tier - tol_roe)
        & waited
        & ~prof.add_signal[pidx]
    )
    exact |= may_add & (np.abs(roe - tier) <= tol_roe)
    # The ROE is printed with two decimals of a percent: the exact rules' float and this one
    # may differ in the last bit, which shows only at a rounding boundary of the printed value.
    printed = np.abs(roe) * 1e4
    exact |= np.abs(printed - np.floor(printed) - 0.5) <= 1e-6

    # ---- what acts (anything else is skipped: the exact rules would change nothing).
    resize = has_stop & (aq_l != stop_qty_l)
    min_move = prof.min_move[pidx]
    big = np.abs(level - k_cur) * tick >= min_move * trig * (1.0 - _REL)
    acts = (
        activating
        | size_changed
        | ~has_stop
        | (reached > c["lock_tier"])
        | (move & big)
        | uncertain
        | resize
        | exits
        | take
        | may_add
    )
    route = np.where(exact, EXACT, np.where(acts, DECIDED, SKIP))
    out: list[Decided | None] = [None] * m
    chosen = np.flatnonzero(route == DECIDED)
    if chosen.size:
        fields = zip(
            roe[chosen].tolist(),
            reached[chosen].tolist(),
            np.where(ratchet_exactly, -1, np.where(move, winner + 1, 0))[chosen].tolist(),
            level[chosen].astype(np.int64).tolist(),
            np.where(has_stop, 0, np.where(init_doubt, -1, k_init))[chosen]
            .astype(np.int64)
            .tolist(),
            r_reached[chosen].tolist(),
            roe_reached[chosen].tolist(),
            exits[chosen].tolist(),
            clamp[chosen].tolist(),
            may_add[chosen].tolist(),
            strict=True,
        )
        for j, values in zip(chosen.tolist(), fields, strict=True):
            out[j] = Decided(*values)
    return Decisions(rows, route.tolist(), out)


def _risk(entry: FloatArray, stop: FloatArray) -> FloatArray:
    """R from a stop at entry (NaN when it is zero: no R ladder)."""
    risk = np.abs(entry - stop)
    return np.where(risk > 0, risk, np.nan)


def _steps_reached(
    done: IntArray,
    length: IntArray,
    levels: FloatArray,
    d: FloatArray,
    trig: FloatArray,
    usable: BoolArray,
) -> tuple[IntArray, BoolArray]:
    """R ladder: steps reached in all (consecutive from the ``done`` ones: the rules stop at
    the first level the trigger price has not reached), and whether a level the count depends
    on is within tolerance of the price."""
    width = levels.shape[1]
    j = np.arange(width)[None, :]
    pending = (j >= done[:, None]) & (j < length[:, None]) & usable[:, None]
    gap = d[:, None] * (trig[:, None] - levels)
    tol = _REL * np.abs(levels)
    yes = pending & (gap > tol)
    near = pending & (np.abs(gap) <= tol)
    return _consecutive(done, pending, yes, near)


def _ladder_by_roe(
    done: IntArray, length: IntArray, triggers: FloatArray, roe: FloatArray
) -> tuple[IntArray, BoolArray]:
    """ROE ladder: steps reached in all (consecutive from the ``done`` ones) and doubt."""
    width = triggers.shape[1]
    j = np.arange(width)[None, :]
    pending = (j >= done[:, None]) & (j < length[:, None])
    tol = _REL * np.maximum(1.0, np.abs(roe))[:, None]
    yes = pending & (roe[:, None] - triggers > tol)
    near = pending & (np.abs(roe[:, None] - triggers) <= tol)
    return _consecutive(done, pending, yes, near)


def _consecutive(
    done: IntArray, pending: BoolArray, yes: BoolArray, near: BoolArray
) -> tuple[IntArray, BoolArray]:
    """Steps before ``done`` count as reached; the run stops at the first step that is not
    clearly reached — in doubt if that step is near its level."""
    width = pending.shape[1]
    passed = yes | (np.arange(width)[None, :] < done[:, None])
    count = np.cumprod(passed, axis=1).sum(axis=1).astype(np.int64)
    first = np.minimum(count, width - 1)
    doubt = (count < width) & near[np.arange(count.shape[0]), first]
    return count, doubt


def _invalidation_possible(
    book: GovernanceBook, cols: PositionColumns, rows: IntArray
) -> BoolArray:
    """Where an invalidation condition is met or within tolerance of it (the exact rules name
    the candle, so these rows go to them)."""
    out = np.zeros(cols.n, dtype=bool)
    cond = book.conditions
    if not cond.position.size:
        return out[rows]
    hit = np.zeros(cond.position.size, dtype=bool)
    for (tf, below), group in cond.groups.items():
        values = (cols.close_low if below else cols.close_high).get(tf)
        if values is None:
            continue
        value = values[cond.position[group]]
        level = cond.level[group]
        tol = np.abs(level) * _REL
        hit[group] = value < level + tol if below else value > level - tol
    out[cond.position[hit]] = True
    return out[rows]


__all__ = ["DECIDED", "EXACT", "SKIP", "Decisions", "decide"]
