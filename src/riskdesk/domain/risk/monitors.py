"""Intraday monitors, vectorised over positions, and alert de-duplication.

On every mark update the application passes arrays (one element per open position) and book
numbers; :func:`evaluate` returns the current level of every watched quantity, and
:class:`AlertDeduper` turns levels into alerts only when a level changes or a cool-down has
passed — never on every tick.

A level is reached **at** its threshold (``value >= threshold``; for the distance to liquidation,
which falls, ``value <= threshold``), as the kill-switch triggers are (see ``limits``); float
noise of 1e-12 is tolerated so that 1 − 85/100 counts as 15 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from riskdesk.domain.risk.limits import MonitorThresholds

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class AlertLevel(IntEnum):
    """Severity, ordered."""

    OK = 0
    INFO = 1
    WARNING = 2
    CRITICAL = 3
    EMERGENCY = 4

    @property
    def label(self) -> str:
        """Lower-case name."""
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: what, how bad, a plain message, and the numbers behind it."""

    key: str
    kind: str
    level: AlertLevel
    message: str
    value: float
    threshold: float
    ts: datetime


@dataclass(frozen=True, slots=True)
class MonitorInput:
    """Per-position arrays (same length, same order) and book numbers.

    ``liq_distance``: distance to liquidation as a fraction of the mark (NaN: none);
    ``loss``: unrealized P&L / entry notional (price move against the position, seed 004);
    ``mark_age``: seconds since each position's mark; ``manual``: whether that mark was
    recorded by hand (None: none was), judged by ``manual_mark_max_age_seconds`` instead of the
    live-feed levels."""

    keys: Sequence[str]
    labels: Sequence[str]
    liq_distance: FloatArray
    loss: FloatArray
    mark_age: FloatArray
    equity: float
    peak_equity: float
    margin_used: float
    heat: float
    ts: datetime
    manual: BoolArray | None = None
    #: The book watched (``real``/``paper``; empty for a desk that is one book): it prefixes the
    #: book-level alerts' keys (``paper:drawdown``) and messages.
    book: str = ""
    #: Currencies the book holds without a rate in the reporting currency (a critical alert:
    #: its equity leaves them out, so drawdown and margin usage are not measured on it).
    unpriced: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reading:
    """The current level of one watched quantity."""

    key: str
    kind: str
    level: AlertLevel
    message: str
    value: float
    threshold: float


#: Float noise tolerated when a value is compared with a threshold.
EPSILON = 1e-12


def reached(value: float, threshold: float) -> bool:
    """Whether a rising value has reached ``threshold`` (the one comparison every book-level
    monitor and kill-switch trigger uses)."""
    return value >= threshold - EPSILON


def _levels(values: FloatArray, thresholds: Sequence[float], below: bool) -> npt.NDArray[np.int64]:
    """Level index per element: how many thresholds are reached (``below``: value <= threshold,
    else value >= threshold). NaN reaches nothing."""
    out = np.zeros(values.shape, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        for t in thresholds:
            out += (values <= t + EPSILON) if below else (values >= t - EPSILON)
    return out


_LIQ = (AlertLevel.OK, AlertLevel.WARNING, AlertLevel.CRITICAL, AlertLevel.EMERGENCY)
_LOSS = (AlertLevel.OK, AlertLevel.WARNING, AlertLevel.CRITICAL)
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Levels:
    """Per-position level indices (0 = OK) of the three per-position monitors, and the few
    book-level readings. Messages are only formatted for what is reported (see
    :meth:`AlertDeduper.feed_levels`), which keeps a tick over 10,000 positions cheap."""

    liquidation: IntArray
    loss: IntArray
    stale: IntArray
    book: list[Reading]

    def any_at(self, kind: str, level: int) -> int | None:
        """Index of the first position at ``level`` for ``kind`` (None if none)."""
        values = {
            "liquidation": self.liquidation,
            "position_loss": self.loss,
            "stale_data": self.stale,
        }[kind]
        hits = np.flatnonzero(values == level)
        return int(hits[0]) if hits.size else None


def compute_levels(data: MonitorInput, t: MonitorThresholds) -> Levels:
    """Vectorised levels of every monitor (no strings built). A mark recorded by hand has one
    stale level, a warning at ``manual_mark_max_age_seconds``; feed marks have the live-feed
    warning and critical levels."""
    stale = _levels(data.mark_age, (t.stale_warning_seconds, t.stale_critical_seconds), below=False)
    manual = data.manual
    if manual is not None and manual.any():
        by_hand = _levels(data.mark_age, (t.manual_mark_max_age_seconds,), below=False)
        stale = np.where(manual, by_hand, stale)
    return Levels(
        liquidation=_levels(
            data.liq_distance, (t.liq_warning, t.liq_critical, t.liq_emergency), below=True
        ),
        loss=_levels(-data.loss, (t.loss_warning, t.loss_critical), below=False),
        stale=stale,
        book=_book_readings(data, t),
    )


def _duration(seconds: float) -> str:
    """``327 s``, ``2 h 05 min``, ``3 d 4 h``: an age people read at a glance."""
    if seconds < 120:
        return f"{seconds:,.0f} s"
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


_PREFIX = {"liquidation": "liquidation:", "position_loss": "loss:", "stale_data": "stale:"}

#: Every kind of alert the monitors raise (per position, then per book). The alert journal holds
#: other kinds too (the OMS supervisor's ``protection:*``, recovery's ``recovery:*``): only these
#: belong in a monitor's de-duplication memory, or it would "clear" conditions it never raised.
MONITOR_KINDS = frozenset(
    {*_PREFIX, "unpriced_currency", "drawdown", "margin_usage", "portfolio_heat"}
)


def reading_at(
    data: MonitorInput, t: MonitorThresholds, kind: str, i: int, level_index: int
) -> Reading:
    """The reading (with its message) of position ``i`` for one per-position monitor."""
    label = data.labels[i]
    key = _PREFIX[kind] + data.keys[i]
    if kind == "liquidation":
        d = float(data.liq_distance[i])
        limit = (t.liq_warning, t.liq_critical, t.liq_emergency)[level_index - 1]
        return Reading(
            key,
            kind,
            _LIQ[level_index],
            f"{label} is {d * 100:.2f} % from its liquidation price (alert at {limit * 100:g} % or less)",
            d,
            limit,
        )
    if kind == "position_loss":
        v = float(data.loss[i])
        limit = (t.loss_warning, t.loss_critical)[level_index - 1]
        return Reading(
            key,
            kind,
            _LOSS[level_index],
            f"{label} is down {-v * 100:.2f} % on its entry (alert at {limit * 100:g} %)",
            v,
            limit,
        )
    age = float(data.mark_age[i])
    if data.manual is not None and bool(data.manual[i]):
        limit = t.manual_mark_max_age_seconds
        message = (
            f"{label} mark was set by hand {_duration(age)} ago (alert at "
            f"{_duration(limit)}): record a current one"
        )
        return Reading(key, kind, _LOSS[level_index], message, age, limit)
    limit = (t.stale_warning_seconds, t.stale_critical_seconds)[level_index - 1]
    message = (
        f"{label} has no mark: its risk cannot be measured (alert at {limit:,.0f} s without one)"
        if age == float("inf")
        else f"{label} mark is {age:,.0f} s old (alert at {limit:,.0f} s)"
    )
    return Reading(key, kind, _LOSS[level_index], message, age, limit)


#: Level index of a critical stale-data reading (0 OK, 1 warning, 2 critical).
STALE_CRITICAL = 2


def stale_trigger(
    data: MonitorInput, levels: Levels, include_unmarked: bool, include_manual: bool = False
) -> int | None:
    """Index of the first position whose stale data trips the kill switch: its feed mark is at
    least ``stale_critical_seconds`` old. A position never marked (``mark_age`` infinite) counts
    only with ``include_unmarked``: its risk is unknown, but no data that was flowing went
    stale. A mark recorded by hand counts only with ``include_manual``, once it is
    ``manual_mark_max_age_seconds`` old: it is as-of data the user vouches for, not a feed."""
    hit = levels.stale == STALE_CRITICAL
    if not include_unmarked:
        hit &= np.isfinite(data.mark_age)
    manual = data.manual
    if manual is not None:
        hit &= ~manual
        if include_manual:
            hit |= manual & (levels.stale > 0)
    found = np.flatnonzero(hit)
    return int(found[0]) if found.size else None


def _position_arrays(levels: Levels) -> tuple[tuple[str, IntArray], ...]:
    return (
        ("liquidation", levels.liquidation),
        ("position_loss", levels.loss),
        ("stale_data", levels.stale),
    )


def evaluate(data: MonitorInput, t: MonitorThresholds) -> list[Reading]:
    """Every watched quantity that is not OK, with messages (vectorised levels)."""
    levels = compute_levels(data, t)
    readings = [
        reading_at(data, t, kind, i, int(arr[i]))
        for kind, arr in _position_arrays(levels)
        for i in np.flatnonzero(arr).tolist()
    ]
    return readings + levels.book


def _book_readings(data: MonitorInput, t: MonitorThresholds) -> list[Reading]:
    readings = _desk_readings(data, t)
    if not data.book:
        return readings
    return [
        Reading(
            f"{data.book}:{r.key}",
            r.kind,
            r.level,
            f"{data.book} book: {r.message}",
            r.value,
            r.threshold,
        )
        for r in readings
    ]


def _desk_readings(data: MonitorInput, t: MonitorThresholds) -> list[Reading]:
    readings: list[Reading] = []
    if data.unpriced:
        listed = ", ".join(data.unpriced)
        readings.append(
            Reading(
                "unpriced",
                "unpriced_currency",
                AlertLevel.CRITICAL,
                f"no rate for {listed} in the reporting currency: equity, margin and exposure "
                f"leave it out, drawdown and daily loss are not measured and entries are "
                f"refused (record a price: riskdesk prices set {data.unpriced[0]} <price> "
                f"--asset)",
                float(len(data.unpriced)),
                0.0,
            )
        )
        # An equity that leaves a holding out is no measure of margin usage or heat.
        return readings
    if data.peak_equity > 0:
        drawdown = max(0.0, 1.0 - data.equity / data.peak_equity)
        if reached(drawdown, t.drawdown_alert):
            readings.append(
                Reading(
                    "drawdown",
                    "drawdown",
                    AlertLevel.CRITICAL,
                    f"equity is {drawdown * 100:.2f} % below its peak (alert at {t.drawdown_alert * 100:g} %)",
                    drawdown,
                    t.drawdown_alert,
                )
            )
    if data.equity > 0:
        usage = data.margin_used / data.equity
        bands = (
            (t.margin_block, AlertLevel.EMERGENCY),
            (t.margin_critical, AlertLevel.CRITICAL),
            (t.margin_warning, AlertLevel.WARNING),
        )
        for limit, level in bands:
            if reached(usage, limit):
                readings.append(
                    Reading(
                        "margin_usage",
                        "margin_usage",
                        level,
                        f"margin in use is {usage * 100:.2f} % of equity (alert at {limit * 100:g} %)",
                        usage,
                        limit,
                    )
                )
                break
        heat = data.heat / data.equity
        for limit, level in zip(
            reversed(t.heat_levels),
            (AlertLevel.CRITICAL, AlertLevel.WARNING, AlertLevel.INFO),
            strict=True,
        ):
            if reached(heat, limit):
                readings.append(
                    Reading(
                        "portfolio_heat",
                        "portfolio_heat",
                        level,
                        f"portfolio heat (risk to stops) is {heat * 100:.2f} % of equity (level {limit * 100:g} %)",
                        heat,
                        limit,
                    )
                )
                break
    return readings


@dataclass(slots=True)
class AlertDeduper:
    """Emits an alert when a key's level changes (up, or back to OK) or, at the same level, after
    ``cooldown_seconds``. Keeps its memory between ticks (the application persists it)."""

    cooldown_seconds: float
    memory: dict[str, tuple[AlertLevel, datetime]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)

    def remember(self, alert: Alert) -> bool:
        """Take a stored alert into the memory (what a restarted monitor raised before), under
        its own kind, so its "back within limits" carries that kind. An alert of a kind the
        monitors do not raise (:data:`MONITOR_KINDS`) is left out; returns whether it was
        taken."""
        if alert.kind not in MONITOR_KINDS:
            return False
        self.memory[alert.key] = (alert.level, alert.ts)
        self.kinds[alert.key] = alert.kind
        return True

    def feed(
        self, readings: Sequence[Reading], now: datetime, keep: set[str] | None = None
    ) -> list[Alert]:
        """Alerts to raise for this tick's readings (``keep``: keys seen elsewhere this tick)."""
        alerts: list[Alert] = []
        seen: set[str] = set(keep or ())
        for r in readings:
            seen.add(r.key)
            previous = self.memory.get(r.key)
            if (
                previous is None
                or previous[0] != r.level
                or (now - previous[1]).total_seconds() >= self.cooldown_seconds
            ):
                alerts.append(Alert(r.key, r.kind, r.level, r.message, r.value, r.threshold, now))
                self.memory[r.key] = (r.level, now)
                self.kinds[r.key] = r.kind
        for key in [k for k in self.memory if k not in seen]:
            level, _ = self.memory.pop(key)
            kind = self.kinds.pop(key, key.split(":")[0])
            if level >= AlertLevel.WARNING:
                alerts.append(
                    Alert(
                        key,
                        kind,
                        AlertLevel.INFO,
                        f"{key} is back within limits",
                        0.0,
                        0.0,
                        now,
                    )
                )
        return alerts

    def feed_levels(
        self, data: MonitorInput, t: MonitorThresholds, levels: Levels, now: datetime
    ) -> list[Alert]:
        """Like :meth:`feed`, but from level arrays: messages are formatted only for the alerts
        raised (a level change or an expired cool-down), so a quiet tick costs a dict lookup per
        position in alert, not a formatted reading."""
        alerts: list[Alert] = []
        seen: set[str] = set()
        memory = self.memory
        cooldown = self.cooldown_seconds
        for kind, arr in _position_arrays(levels):
            prefix = _PREFIX[kind]
            names = _LIQ if kind == "liquidation" else _LOSS
            for i in np.flatnonzero(arr).tolist():
                key = prefix + data.keys[i]
                seen.add(key)
                level = names[int(arr[i])]
                previous = memory.get(key)
                if (
                    previous is not None
                    and previous[0] == level
                    and (now - previous[1]).total_seconds() < cooldown
                ):
                    continue
                r = reading_at(data, t, kind, i, int(arr[i]))
                alerts.append(Alert(r.key, r.kind, r.level, r.message, r.value, r.threshold, now))
                memory[key] = (r.level, now)
                self.kinds[key] = kind
        book_alerts = self.feed(levels.book, now, keep=seen)
        return alerts + book_alerts
