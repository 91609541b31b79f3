"""Governance over many positions at once: a vectorised revaluation and screen, the rules'
decisions in NumPy for the flagged positions, plans only where something happens.

:func:`revalue` computes unrealized P&L, ROE and the distance to liquidation for every position
in float64 NumPy. :func:`screen` then asks, for every position at once, whether any rule *could*
act: a lifecycle change, a size change, no stop yet, a stop crossed, a trailing or lock-profit
level that would move the stop by at least the profile's minimum step, a take-profit tier, an
add-on, a time stop, stagnation, an invalidation condition or a signal. The screen is
conservative (every comparison has a tolerance towards "flag"), so a position it leaves out is
one on which :func:`~riskdesk.domain.governance.engine.evaluate` would do nothing. The flagged
ones are decided by :func:`~riskdesk.domain.governance.vector.decide` (skipped, decided in
NumPy and their plans built by ``evaluate_decided``, or sent to the exact rules near a
boundary). Property tests check that :func:`manage_batch` and per-position ``evaluate`` agree.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import numpy as np
from numpy.typing import NDArray

from riskdesk.domain.governance.engine import Evaluation, evaluate, evaluate_decided
from riskdesk.domain.governance.plan import ManagePlan
from riskdesk.domain.governance.profile import GovernanceProfile, StopMethod
from riskdesk.domain.governance.snapshot import Signal, SignalKind, Snapshot
from riskdesk.domain.governance.state import GovernanceState, Lifecycle
from riskdesk.domain.governance.vector import SKIP, decide
from riskdesk.domain.orders import TriggerPrice
from riskdesk.domain.values import ACCOUNTING_CONTEXT

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

_LIFE: Final = {
    Lifecycle.PENDING_ENTRY: 0,
    Lifecycle.ACTIVE: 1,
    Lifecycle.PENDING_CLOSING: 2,
    Lifecycle.CLOSED: 3,
    Lifecycle.FAILED: 4,
}
_TRIGGER: Final = {TriggerPrice.MARK: 0, TriggerPrice.LAST: 1, TriggerPrice.INDEX: 2}
#: Relative tolerance of the screen (towards flagging): far above float64 rounding of the inputs.
_REL: Final = 1e-9


def _epoch(ts: datetime | None) -> float:
    return math.nan if ts is None else ts.timestamp()


def _f(value: object) -> float:
    return math.nan if value is None else float(value)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class PositionColumns:
    """Market inputs per position, aligned with :attr:`GovernanceBook.states` (float64; NaN =
    unknown). ``qty`` signed contracts; ``margin`` the ROE denominator; ``last``/``index`` NaN
    fall back to ``mark``; ``high``/``low`` extremes since entry (NaN: only the current price);
    ``close_low``/``close_high`` lowest/highest close since entry per timeframe;
    ``liq_distance`` the book's signed distance to the margin group's liquidation price as a
    fraction of the mark (positive on the safe side; NaN: none); ``lot`` / ``min_qty`` the
    instrument's lot size and minimum quantity (without them every flagged row runs the exact
    rules); ``opened`` when each position opened (epoch seconds; NaN: unknown)."""

    qty: FloatArray
    entry: FloatArray
    margin: FloatArray
    mark: FloatArray
    contract_size: FloatArray
    inverse: BoolArray
    tick: FloatArray
    fee_rate: FloatArray
    last: FloatArray | None = None
    index: FloatArray | None = None
    high: FloatArray | None = None
    low: FloatArray | None = None
    atr: FloatArray | None = None
    liquidation: FloatArray | None = None
    liq_distance: FloatArray | None = None
    has_signal: BoolArray | None = None
    lot: FloatArray | None = None
    min_qty: FloatArray | None = None
    opened: FloatArray | None = None
    close_low: Mapping[str, FloatArray] = field(default_factory=dict)
    close_high: Mapping[str, FloatArray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of positions."""
        return int(self.qty.shape[0])


@dataclass(frozen=True, slots=True)
class Revaluation:
    """Vectorised revaluation: unrealized P&L (settlement currency), ROE (fraction) and the
    distance to liquidation as a fraction of the mark (NaN when unknown)."""

    unrealized: FloatArray
    roe: FloatArray
    liq_distance: FloatArray


def revalue(cols: PositionColumns) -> Revaluation:
    """P&L ``q·cs·(mark − E)`` (linear) or ``q·cs·(1/E − 1/mark)`` (inverse), ROE = P&L / margin,
    and the distance to liquidation as a fraction of the mark: the book's signed distance when
    the columns carry it, else ``|mark − liq| / mark`` — a hedge leg of a cross-margin group can
    have the group's liquidation price on its profitable side, so the side of the mark a
    liquidation price lies on says nothing by itself."""
    s = cols.qty * cols.contract_size
    with np.errstate(divide="ignore", invalid="ignore"):
        linear = s * (cols.mark - cols.entry)
        inverse = s * (1.0 / cols.entry - 1.0 / cols.mark)
        upnl = np.where(cols.inverse, inverse, linear)
        upnl = np.where(cols.qty == 0, 0.0, upnl)
        roe = np.where(cols.margin > 0, upnl / cols.margin, 0.0)
        if cols.liq_distance is not None:
            dist = cols.liq_distance
        elif cols.liquidation is None:
            dist = np.full(cols.n, np.nan)
        else:
            dist = np.abs(cols.mark - cols.liquidation) / cols.mark
    return Revaluation(upnl, roe, dist)


def _pad(rows: Sequence[Sequence[float]], fill: float) -> FloatArray:
    width = max((len(r) for r in rows), default=0) + 1
    out = np.full((len(rows), width), fill)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


@dataclass(frozen=True, slots=True)
class _Profiles:
    """Profile parameters as arrays indexed by profile number (padding makes "no next tier")."""

    items: tuple[GovernanceProfile, ...]
    trigger: IntArray
    chandelier: FloatArray
    trail: FloatArray
    trail_act: FloatArray
    min_move: FloatArray
    fee_rate: FloatArray
    net: BoolArray
    lock_trig: FloatArray
    lock_theta: FloatArray
    r_mult: FloatArray
    roe_trig: FloatArray
    add_cap: IntArray
    add_tier: FloatArray
    add_signal: BoolArray
    add_interval: FloatArray
    max_hold: FloatArray
    stag_t: FloatArray
    stag_rho: FloatArray
    guard: BoolArray
    fill_timeout: FloatArray
    entry_timeout: FloatArray
    atr_stop: BoolArray
    atr_mult: FloatArray
    stop_pct: FloatArray
    liq_buffer: FloatArray
    r_len: IntArray
    roe_len: IntArray

    @classmethod
    def of(cls, profiles: Sequence[GovernanceProfile]) -> _Profiles:
        items = tuple(profiles)

        def arr(fn: Callable[[GovernanceProfile], float]) -> FloatArray:
            return np.array([fn(p) for p in items], dtype=float)

        add_rows = []
        for p in items:
            tiers = list(p.add_on_roe_tiers)
            # Row j holds the ROE the (j+1)-th add needs; the last tier repeats up to the cap.
            width = max(p.add_on_cap, 1)
            add_rows.append(
                [tiers[min(j, len(tiers) - 1)] if tiers else -math.inf for j in range(width)]
            )
        return cls(
            items=items,
            trigger=np.array([_TRIGGER[p.trigger] for p in items], dtype=np.int64),
            chandelier=arr(lambda p: _f(p.chandelier_multiplier)),
            trail=arr(lambda p: _f(p.trail_percent)),
            trail_act=arr(lambda p: _f(p.trail_activation)),
            min_move=arr(lambda p: p.min_stop_move),
            fee_rate=arr(lambda p: _f(p.fee_rate)),
            net=np.array([p.lock_net_of_fees for p in items], dtype=bool),
            lock_trig=_pad([[t.trigger_roe for t in p.lock_tiers] for p in items], math.inf),
            lock_theta=_pad([[t.lock_roe for t in p.lock_tiers] for p in items], math.nan),
            r_mult=_pad([[t.trigger for t in p.r_ladder] for p in items], math.inf),
            roe_trig=_pad([[t.trigger for t in p.roe_ladder] for p in items], math.inf),
            add_cap=np.array([p.add_on_cap for p in items], dtype=np.int64),
            add_tier=_pad(add_rows, math.inf),
            add_signal=np.array([p.add_on_requires_signal for p in items], dtype=bool),
            add_interval=arr(lambda p: p.add_on_min_interval),
            max_hold=arr(
                lambda p: math.inf if p.max_holding_seconds is None else p.max_holding_seconds
            ),
            stag_t=arr(
                lambda p: math.inf if p.stagnation_seconds is None else p.stagnation_seconds
            ),
            stag_rho=arr(lambda p: p.stagnation_roe),
            guard=np.array([p.guard_stop for p in items], dtype=bool),
            fill_timeout=arr(lambda p: p.fill_timeout_seconds),
            entry_timeout=arr(
                lambda p: math.inf if p.entry_timeout_seconds is None else p.entry_timeout_seconds
            ),
            atr_stop=np.array([p.stop_method is StopMethod.ATR for p in items], dtype=bool),
            atr_mult=arr(lambda p: p.atr_multiplier),
            stop_pct=arr(lambda p: p.stop_percent),
            liq_buffer=arr(lambda p: p.liquidation_buffer),
            r_len=np.array([len(p.r_ladder) for p in items], dtype=np.int64),
            roe_len=np.array([len(p.roe_ladder) for p in items], dtype=np.int64),
        )


_STATE_COLUMNS: Final = (
    "life",
    "direction",
    "stop",
    "stop_qty",
    "seen",
    "expected",
    "lock_tier",
    "tp_r",
    "tp_roe",
    "add_count",
    "risk",
    "last_add",
    "opened",
    "stagnated",
    "crossed_alerted",
    "activation",
    "pending_since",
    "registered",
    "profile",
    "override",
    "pending_n",
    "base",
)


_PROFILE_COLUMN: Final = _STATE_COLUMNS.index("profile")


def _row(state: GovernanceState, profile_index: int) -> tuple[float, ...]:
    # Inline conversions: a tick rebuilds this row for every state it changes.
    nan = math.nan
    stop = state.stop_price
    risk = state.risk_per_unit
    last_add = state.last_add_at
    opened = state.opened_at
    activation = state.activation_price
    since = state.pending_since
    # When the wait for an entry started (only a PENDING_ENTRY state waits).
    registered = (
        (state.registered_at or state.updated_at)
        if state.lifecycle is Lifecycle.PENDING_ENTRY
        else None
    )
    override = state.stop_override
    return (
        _LIFE[state.lifecycle],
        state.direction,
        nan if stop is None else float(stop),
        float(state.stop_qty),
        float(state.seen_qty),
        float(state.expected_qty),
        state.lock_tier,
        state.tp_r_done,
        state.tp_roe_done,
        state.add_count,
        nan if risk is None else float(risk),
        nan if last_add is None else last_add.timestamp(),
        nan if opened is None else opened.timestamp(),
        float(state.stagnated),
        float("stop_crossed" in state.alerts),
        nan if activation is None else float(activation),
        nan if since is None else since.timestamp(),
        nan if registered is None else registered.timestamp(),
        profile_index,
        nan if override is None else float(override),
        len(state.pending_intents),
        float(state.ladder_base),
    )


@dataclass(frozen=True, slots=True)
class _Conditions:
    """Invalidation conditions of every position as rows (position, timeframe, side, level)."""

    position: IntArray
    level: FloatArray
    groups: Mapping[tuple[str, bool], IntArray]


@dataclass(frozen=True, slots=True)
class GovernanceBook:
    """The governance states of many positions with their screen columns (one row per state).

    Build it once with :meth:`of` and keep it: each :func:`manage_batch` returns the updated
    book (only the rows that changed are rebuilt); :meth:`extended` adds rows, :meth:`compacted`
    drops the closed ones. ``layout`` identifies the rows: it changes when rows are added or
    dropped, never when states are replaced (what is keyed by row stays valid)."""

    states: tuple[GovernanceState, ...]
    table: FloatArray
    profiles: _Profiles
    profile_index: Mapping[GovernanceProfile, int]
    conditions: _Conditions
    layout: object = field(default_factory=object)

    @classmethod
    def of(cls, states: Sequence[GovernanceState]) -> GovernanceBook:
        """Columns for ``states`` (profiles are grouped by value)."""
        index: dict[GovernanceProfile, int] = {}
        numbers = _profile_numbers(states, index, {})
        rows = [_row(s, numbers[i]) for i, s in enumerate(states)]
        table = np.array(rows, dtype=float).reshape(len(states), len(_STATE_COLUMNS))
        return cls(tuple(states), table, _Profiles.of(list(index)), index, _conditions(states))

    def column(self, name: str) -> FloatArray:
        """One state column (see ``_STATE_COLUMNS``)."""
        return self.table[:, _STATE_COLUMNS.index(name)]

    def columns_of(self, rows: NDArray[np.int64]) -> dict[str, FloatArray]:
        """Every state column of some rows, by name."""
        sub = self.table[rows]
        return {name: sub[:, k] for k, name in enumerate(_STATE_COLUMNS)}

    def with_states(self, updates: Mapping[int, GovernanceState]) -> GovernanceBook:
        """The book with some rows replaced."""
        if not updates:
            return self
        states = list(self.states)
        index = dict(self.profile_index)
        new_profile = False
        conditions_changed = False
        numbers = self.table[:, _PROFILE_COLUMN].tolist()
        rows = []
        for i, state in updates.items():
            old = states[i]
            states[i] = state
            # Rules keep the profile object: identity avoids hashing a deep profile per row.
            if state.profile is old.profile:
                number = int(numbers[i])
            else:
                conditions_changed = True
                if state.profile not in index:
                    index[state.profile] = len(index)
                    new_profile = True
                number = index[state.profile]
            if state.invalidation is not old.invalidation:
                conditions_changed = True
            rows.append(_row(state, number))
        changed = list(updates)
        table = self.table.copy()
        # One conversion for every changed row (a row at a time costs more than the row).
        table[changed] = np.array(rows, dtype=float)
        profiles = _Profiles.of(list(index)) if new_profile else self.profiles
        conditions = _conditions(states) if conditions_changed else self.conditions
        return GovernanceBook(tuple(states), table, profiles, index, conditions, self.layout)

    def extended(self, states: Sequence[GovernanceState]) -> GovernanceBook:
        """The book with ``states`` appended as new rows."""
        if not states:
            return self
        index = dict(self.profile_index)
        known = len(index)
        numbers = _profile_numbers(states, index, _identity(self.profile_index))
        rows = np.array([_row(s, numbers[i]) for i, s in enumerate(states)], dtype=float)
        table = np.vstack([self.table, rows.reshape(len(states), len(_STATE_COLUMNS))])
        profiles = _Profiles.of(list(index)) if len(index) > known else self.profiles
        added = _conditions(states)
        offset = len(self.states)
        conditions = _merge_conditions(self.conditions, added, offset)
        return GovernanceBook((*self.states, *states), table, profiles, index, conditions)

    def compacted(self) -> tuple[GovernanceBook, NDArray[np.int64]]:
        """The book without its CLOSED and FAILED rows, and the old row of each new row."""
        life = self.table[:, 0]
        kept = np.flatnonzero(life < _LIFE[Lifecycle.CLOSED])
        if kept.size == len(self.states):
            return self, kept
        states = [self.states[i] for i in kept.tolist()]
        book = GovernanceBook(
            tuple(states),
            self.table[kept],
            self.profiles,
            self.profile_index,
            _conditions(states),
        )
        return book, kept


def _identity(index: Mapping[GovernanceProfile, int]) -> dict[int, int]:
    return {id(p): n for p, n in index.items()}


def _profile_numbers(
    states: Sequence[GovernanceState],
    index: dict[GovernanceProfile, int],
    by_id: dict[int, int],
) -> list[int]:
    """The profile number of each state, adding new profiles to ``index``. Profiles are looked
    up by identity first: states loaded from the store share interned profiles, and hashing a
    deep profile for every row is what made building a book slow."""
    out: list[int] = []
    for s in states:
        number = by_id.get(id(s.profile))
        if number is None:
            number = index.setdefault(s.profile, len(index))
            by_id[id(s.profile)] = number
        out.append(number)
    return out


def _merge_conditions(old: _Conditions, added: _Conditions, offset: int) -> _Conditions:
    if not added.position.size:
        return old
    position = np.concatenate([old.position, added.position + offset])
    level = np.concatenate([old.level, added.level])
    groups = {key: rows.copy() for key, rows in old.groups.items()}
    base = old.position.size
    for key, rows in added.groups.items():
        shifted = rows + base
        groups[key] = np.concatenate([groups[key], shifted]) if key in groups else shifted
    return _Conditions(position, level, groups)


def _conditions(states: Sequence[GovernanceState]) -> _Conditions:
    pos: list[int] = []
    tfs: list[str] = []
    below: list[bool] = []
    level: list[float] = []
    for i, s in enumerate(states):
        for c in (*s.invalidation, *s.profile.invalidation):
            pos.append(i)
            tfs.append(c.timeframe)
            below.append(c.close_below is not None)
            level.append(float(c.level))
    groups: dict[tuple[str, bool], list[int]] = {}
    for k, key in enumerate(zip(tfs, below, strict=True)):
        groups.setdefault(key, []).append(k)
    return _Conditions(
        np.array(pos, dtype=np.int64),
        np.array(level, dtype=float),
        {key: np.array(rows, dtype=np.int64) for key, rows in groups.items()},
    )


def _lock_levels(
    cols: PositionColumns, roe: FloatArray, pidx: IntArray, prof: _Profiles
) -> tuple[FloatArray, IntArray]:
    """Float lock-profit level of the tier reached (NaN: none) and the number of tiers reached."""
    trig = prof.lock_trig[pidx]
    reached = np.sum(roe[:, None] >= trig - _REL, axis=1).astype(np.int64)
    theta = prof.lock_theta[pidx, np.maximum(reached - 1, 0)]
    theta = np.where(reached > 0, theta, np.nan)
    rate = np.where(np.isnan(prof.fee_rate[pidx]), cols.fee_rate, prof.fee_rate[pidx])
    rate = np.where(prof.net[pidx], rate, 0.0)
    s = cols.qty * cols.contract_size
    a = np.abs(s)
    target = theta * cols.margin
    with np.errstate(divide="ignore", invalid="ignore"):
        linear = (target + cols.entry * (s + rate * a)) / (s - rate * a)
        inverse = (s + rate * a) / ((s - rate * a) / cols.entry - target)
        level = np.where(cols.inverse, inverse, linear)
    level = np.where(level > 0, level, np.nan)
    return level, reached


def screen(
    book: GovernanceBook, cols: PositionColumns, now: datetime, reval: Revaluation | None = None
) -> BoolArray:
    """True where a rule may act (conservative; see the module docstring)."""
    reval = reval or revalue(cols)
    n = cols.n
    prof = book.profiles
    col = book.column
    pidx = col("profile").astype(np.int64)
    life = col("life")
    q = cols.qty
    aq = np.abs(q)
    d = np.sign(q)
    roe = reval.roe
    now_s = now.timestamp()
    seen = col("seen")
    flag = (life == 0) & (aq > 0)
    flag |= (life == 0) & (aq == 0) & (now_s - col("registered") >= prof.entry_timeout[pidx] - 1e-6)
    open_life = (life == 1) | (life == 2)
    flag |= open_life & ((aq == 0) | (d != col("direction")))
    stop = col("stop")
    since = col("pending_since")
    late = np.isnan(since) | (now_s - since >= prof.fill_timeout[pidx] - 1e-6)
    uncovered = ~np.isnan(stop) & (col("stop_qty") != aq)
    flag |= (life == 2) & (aq > 0) & ((aq != seen) | uncovered | late)
    act = (life == 1) & (aq > 0) & (d == col("direction"))
    flag |= act & ((aq != seen) | np.isnan(stop) | uncovered)
    # A given stop tighter than the working one (set by ``attach --stop``) is to be applied.
    flag |= act & (d * col("override") > d * stop)
    flag |= act & (col("expected") != seen) & late
    if cols.has_signal is not None:
        flag |= act & cols.has_signal
    trigger_kind = prof.trigger[pidx]
    trig = cols.mark
    if cols.last is not None:
        trig = np.where((trigger_kind == 1) & ~np.isnan(cols.last), cols.last, trig)
    if cols.index is not None:
        trig = np.where((trigger_kind == 2) & ~np.isnan(cols.index), cols.index, trig)
    tol_px = np.abs(trig) * _REL + cols.tick * 1e-6
    crossed = act & ~np.isnan(stop) & (d * (trig - stop) <= tol_px)
    flag |= crossed & (prof.guard[pidx] | (col("crossed_alerted") == 0))
    # Candidate stop levels (as d·level, so "better" is always "larger").
    lock, reached = _lock_levels(cols, roe, pidx, prof)
    flag |= act & (reached > col("lock_tier"))
    best = d * lock
    if cols.high is not None and cols.low is not None:
        extreme = np.where(
            d > 0,
            np.fmax(trig, cols.high),
            np.fmin(trig, cols.low),
        )
    else:
        extreme = trig
    if cols.atr is not None:
        chandelier = extreme - d * prof.chandelier[pidx] * cols.atr
        best = np.fmax(best, d * chandelier)
    cb = prof.trail[pidx]
    activation = col("activation")
    activation = np.where(
        np.isnan(activation), cols.entry * (1.0 + d * prof.trail_act[pidx]), activation
    )
    armed = np.isnan(activation) | (d * (extreme - activation) >= -tol_px)
    trail = np.where(armed, extreme * (1.0 - d * cb), np.nan)
    best = np.fmax(best, d * trail)
    threshold = d * stop + prof.min_move[pidx] * trig - cols.tick - tol_px
    flag |= act & ~np.isnan(best) & (best > threshold)
    # A trailing level already through the trigger price: guard close, or the crossing alert.
    flag |= act & ~np.isnan(best) & (best >= d * trig - tol_px)
    # Take-profit tiers.
    risk = col("risk")
    tp_r = col("tp_r").astype(np.int64)
    width = prof.r_mult.shape[1]
    mult = prof.r_mult[pidx, np.minimum(tp_r, width - 1)]
    with np.errstate(invalid="ignore"):
        level = cols.entry + d * mult * risk
        flag |= act & ~np.isnan(risk) & np.isfinite(mult) & (d * (trig - level) >= -tol_px)
    tp_roe = col("tp_roe").astype(np.int64)
    roe_next = prof.roe_trig[pidx, np.minimum(tp_roe, prof.roe_trig.shape[1] - 1)]
    flag |= act & (roe >= roe_next - _REL)
    # Add-ons.
    count = col("add_count").astype(np.int64)
    cap = prof.add_cap[pidx]
    tier = prof.add_tier[pidx, np.minimum(count, prof.add_tier.shape[1] - 1)]
    last = np.where(np.isnan(col("last_add")), col("opened"), col("last_add"))
    waited = (now_s - last) >= prof.add_interval[pidx] - 1e-6
    signal_ok = ~prof.add_signal[pidx]
    if cols.has_signal is not None:
        signal_ok = signal_ok | cols.has_signal
    no_tp = (tp_r == 0) & (tp_roe == 0)
    flag |= act & no_tp & (count < cap) & (roe >= tier - _REL) & waited & signal_ok
    # Time stop and stagnation.
    held = now_s - col("opened")
    flag |= act & (held >= prof.max_hold[pidx] - 1e-6)
    flag |= (
        act
        & (col("stagnated") == 0)
        & (held > prof.stag_t[pidx] - 1e-6)
        & (np.abs(roe) < prof.stag_rho[pidx] + _REL)
    )
    # Invalidation conditions, one vectorised comparison per (timeframe, side).
    cond = book.conditions
    if cond.position.size:
        hit = np.zeros(cond.position.size, dtype=bool)
        for (tf, below), rows_ in cond.groups.items():
            values = (cols.close_low if below else cols.close_high).get(tf)
            if values is None:
                continue
            value = values[cond.position[rows_]]
            level_k = cond.level[rows_]
            tol = np.abs(level_k) * _REL
            hit[rows_] = value < level_k + tol if below else value > level_k - tol
        mask = np.zeros(n, dtype=bool)
        mask[cond.position[hit]] = True
        flag |= act & mask
    return np.asarray(flag, dtype=bool)


def signal_may_act(state: GovernanceState, signal: Signal, direction: int) -> bool:
    """Whether ``signal`` can do anything at a tick to the position of ``state`` (``direction``
    +1 long / −1 short): an exit signal, or an opposite entry signal when the profile exits on
    those, or a same-direction entry signal an add-on needs — and not used already. Others
    change nothing (a caller may leave them out of :attr:`PositionColumns.has_signal`)."""
    if signal.signal_id in state.consumed_signals:
        return False
    p = state.profile
    if signal.kind is SignalKind.EXIT:
        return p.exit_on_signal
    if signal.direction != direction:
        return p.exit_on_opposite_signal
    return p.add_on_requires_signal and state.add_count < p.add_on_cap


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One tick over a book: the updated book, the evaluations of the screened positions (by
    row), the plans, the revaluation, how many rows the screen flagged and how they were
    settled: ``decided`` by the vectorised decisions, ``exact`` by the exact rules (the rest
    of the flagged rows had nothing to do)."""

    book: GovernanceBook
    evaluations: Mapping[int, Evaluation]
    plans: tuple[ManagePlan, ...]
    revaluation: Revaluation
    screened: int
    decided: int = 0
    exact: int = 0


def manage_batch(
    book: GovernanceBook,
    cols: PositionColumns,
    snapshot_of: Callable[[int], Snapshot],
    now: datetime,
    *,
    facts_of: Callable[[int], Snapshot] | None = None,
) -> BatchResult:
    """Revalue every position, screen, decide the flagged rows in NumPy (``vector.decide``)
    and build their plans; rows the vectorised decisions leave to the exact rules run
    :func:`evaluate`.

    ``snapshot_of(i)`` builds the exact snapshot of row ``i`` (called only for rows that run
    the exact rules; it must describe the same market as ``cols``). ``facts_of(i)`` (default
    ``snapshot_of``) builds the snapshot of a row whose plan the vectorised decisions made: it
    may leave out close statistics and signals (such rows have none that matter)."""
    if cols.n != len(book.states):
        raise ValueError(f"{cols.n} position rows for {len(book.states)} states")
    reval = revalue(cols)
    mask = screen(book, cols, now, reval)
    rows = np.flatnonzero(mask)
    decisions = decide(book, cols, now, reval, rows)
    facts = facts_of or snapshot_of
    evaluations: dict[int, Evaluation] = {}
    updates: dict[int, GovernanceState] = {}
    plans: list[ManagePlan] = []
    states = book.states
    decided_rows = exact_rows = 0
    rules = _evaluate_in_context
    # One switch to the ledger's decimal context for the whole batch (each evaluate would).
    with decimal.localcontext(ACCOUNTING_CONTEXT):
        for i, route, decided in zip(
            rows.tolist(), decisions.route, decisions.decided, strict=True
        ):
            if route == SKIP:
                continue
            state = states[i]
            result = None
            if decided is not None:
                result = evaluate_decided(state, facts(i), now, decided)
                decided_rows += 1
            if result is None:
                result = rules(state, snapshot_of(i), now)
                exact_rows += 1
            if result.state is not state:
                updates[i] = result.state
            if result.actions or result.events:
                evaluations[i] = result
            if result.plan is not None:
                plans.append(result.plan)
    return BatchResult(
        book.with_states(updates),
        evaluations,
        tuple(plans),
        reval,
        int(rows.size),
        decided_rows,
        exact_rows,
    )


#: ``evaluate`` without its context switch (the batch is in the accounting context already).
_evaluate_in_context: Final = evaluate.__wrapped__  # type: ignore[attr-defined]


__all__ = [
    "BatchResult",
    "GovernanceBook",
    "PositionColumns",
    "Revaluation",
    "manage_batch",
    "revalue",
    "screen",
    "signal_may_act",
]
