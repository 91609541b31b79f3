"""Governance profiles: every threshold of every rule, as one frozen value.

A profile is attached to a position when governance first sees it and is stored with the
position's governance state, so later configuration changes do not silently re-govern open
positions. Units: ROE and price moves are fractions (0.10 = 10 %), durations are seconds, ATR
multipliers are plain numbers, prices are in the instrument's price currency.

Named presets (``standard``, ``perp_roe``, ``swing``) are built by :func:`preset`; the typed
settings (``riskdesk.bootstrap.governance_settings``) take their defaults from here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Final

from riskdesk.domain.errors import ConfigError, InvalidValue
from riskdesk.domain.orders import TriggerPrice
from riskdesk.domain.values import to_decimal

#: Bar lengths a timeframe string may name, in seconds.
TIMEFRAMES: Final[dict[str, int]] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "4h": 14400,
    "1d": 86400,
}


def timeframe_seconds(timeframe: str, field_name: str = "timeframe") -> int:
    """Length of a bar of ``timeframe`` (``1m`` … ``1d``) in seconds; a clear error otherwise."""
    try:
        return TIMEFRAMES[timeframe]
    except KeyError:
        raise InvalidValue(
            f"unknown timeframe {timeframe!r} (one of {', '.join(TIMEFRAMES)})", field=field_name
        ) from None


class StopMethod(StrEnum):
    """How the protective stop at entry is placed."""

    ATR = "atr"
    PERCENT = "percent"


@dataclass(frozen=True, slots=True)
class LockTier:
    """Seed 003 lock-profit tier: once ROE reaches ``trigger_roe``, the stop moves to the price
    at which closing would still earn ``lock_roe`` of the margin (0 = breakeven)."""

    trigger_roe: float
    lock_roe: float


@dataclass(frozen=True, slots=True)
class TakeProfitTier:
    """One take-profit step. R ladder: ``trigger`` is an R multiple and ``fraction`` a share of
    the ladder's base quantity (seed 002: 2R/3R/4R × 50/30/20 %). ROE ladder: ``trigger`` is an
    ROE and ``fraction`` a share of the quantity still held (seed 003: β of Q_remaining)."""

    trigger: float
    fraction: float


@dataclass(frozen=True, slots=True)
class InvalidationCondition:
    """A structured trade invalidation evaluated on closed bars, e.g. "a 1h candle closes below
    41,500" = ``InvalidationCondition("1h", close_below=Decimal("41500"))``."""

    timeframe: str
    close_below: Decimal | None = None
    close_above: Decimal | None = None

    def __post_init__(self) -> None:
        timeframe_seconds(self.timeframe, "invalidation.timeframe")
        if (self.close_below is None) == (self.close_above is None):
            raise InvalidValue(
                "give exactly one of close_below or close_above", field="invalidation"
            )
        level = self.close_below if self.close_below is not None else self.close_above
        if level is None or not level.is_finite() or level <= 0:
            raise InvalidValue(f"level must be a positive price, got {level}", field="invalidation")

    @classmethod
    def parse(cls, data: Mapping[str, object]) -> InvalidationCondition:
        """From ``{"timeframe": "1h", "close_below": 41500}``; unknown keys are rejected."""
        unknown = set(data) - {"timeframe", "close_below", "close_above"}
        if unknown:
            raise InvalidValue(f"unknown key(s) {', '.join(sorted(unknown))}", field="invalidation")
        timeframe = data.get("timeframe")
        if not isinstance(timeframe, str):
            raise InvalidValue("timeframe is required (e.g. '1h')", field="invalidation.timeframe")
        below = data.get("close_below")
        above = data.get("close_above")
        return cls(
            timeframe,
            None if below is None else to_decimal(below, "invalidation.close_below"),  # type: ignore[arg-type]
            None if above is None else to_decimal(above, "invalidation.close_above"),  # type: ignore[arg-type]
        )

    @property
    def level(self) -> Decimal:
        """The price the condition compares closes with."""
        level = self.close_below if self.close_below is not None else self.close_above
        assert level is not None  # noqa: S101 - enforced in __post_init__
        return level

    def describe(self) -> str:
        """``a 1h candle closes below 41500``."""
        side = "below" if self.close_below is not None else "above"
        return f"a {self.timeframe} candle closes {side} {self.level}"

    def to_dict(self) -> dict[str, str]:
        """JSON-safe form (the level as an exact string)."""
        key = "close_below" if self.close_below is not None else "close_above"
        return {"timeframe": self.timeframe, key: str(self.level)}


#: Names of the built-in presets.
PRESETS: Final = ("standard", "perp_roe", "trend", "swing")


def _lock_defaults() -> tuple[LockTier, ...]:
    # Seed 003: ROE ≥ 10 % → breakeven (incl. fees), ≥ 20 % → lock 10 %; the next steps keep the
    # same shape (lock about two thirds of the ROE reached).
    return (
        LockTier(0.10, 0.0),
        LockTier(0.20, 0.10),
        LockTier(0.30, 0.20),
        LockTier(0.50, 0.35),
    )


def _r_defaults() -> tuple[TakeProfitTier, ...]:
    # Seed 002: 2R / 3R / 4R closing 50 / 30 / 20 %.
    return (TakeProfitTier(2.0, 0.5), TakeProfitTier(3.0, 0.3), TakeProfitTier(4.0, 0.2))


@dataclass(frozen=True, slots=True)
class GovernanceProfile:
    """Every governance threshold. ``None`` switches a rule off.

    Stops: ``stop_method`` ATR (``P_entry ∓ atr_multiplier·ATR(atr_period)`` on ``atr_timeframe``
    bars) or percent (``P_entry·(1 ∓ stop_percent)``); without bars an ATR stop falls back to the
    percent stop. ``trigger`` is the price stop orders trigger on. ``liquidation_buffer`` keeps a
    stop at least that fraction of the liquidation price inside it.
    Trailing (the stop only ever tightens): ``lock_tiers`` (seed 003 ROE ladder, net of the
    round-trip ``fee_rate`` when ``lock_net_of_fees``), ``chandelier_multiplier`` (extreme since
    entry ∓ m·ATR), ``trail_percent`` (callback from the extreme since entry, armed once price
    moved ``trail_activation`` from entry or reached a position's activation price).
    ``min_stop_move`` is the smallest move (fraction of price) worth a cancel/replace.
    Take-profit: ``r_ladder`` and ``roe_ladder`` (see :class:`TakeProfitTier`).
    Add-ons: at most ``add_on_cap``; the j-th needs ROE ≥ ``add_on_roe_tiers[j−1]`` (the last tier
    repeats), a same-direction signal when ``add_on_requires_signal``, and
    ``add_on_min_interval`` seconds since the entry or the last add; size ``Q0·γ^j``.
    Exits: ``max_holding_seconds`` (time stop), stagnation (held longer than
    ``stagnation_seconds`` with |ROE| < ``stagnation_roe`` → STAGNATED event, and a close when
    ``stagnation_close``), ``invalidation`` conditions, exit signals (and opposite entry signals
    when ``exit_on_opposite_signal``), and the guard stop (``guard_stop``: close at market when
    the trigger price is through the stop and the venue's stop has not fired).
    """

    name: str = "standard"
    stop_method: StopMethod = StopMethod.ATR
    atr_period: int = 14
    atr_timeframe: str = "1h"
    atr_multiplier: float = 2.0
    stop_percent: float = 0.02
    trigger: TriggerPrice = TriggerPrice.MARK
    liquidation_buffer: float = 0.005
    lock_tiers: tuple[LockTier, ...] = field(default_factory=_lock_defaults)
    lock_net_of_fees: bool = True
    fee_rate: float | None = None
    chandelier_multiplier: float | None = None
    trail_percent: float | None = None
    trail_activation: float | None = None
    min_stop_move: float = 0.0005
    r_ladder: tuple[TakeProfitTier, ...] = field(default_factory=_r_defaults)
    roe_ladder: tuple[TakeProfitTier, ...] = ()
    add_on_cap: int = 0
    add_on_roe_tiers: tuple[float, ...] = (0.05, 0.10)
    add_on_requires_signal: bool = True
    add_on_gamma: float = 0.5
    add_on_min_interval: float = 3600.0
    max_holding_seconds: float | None = None
    stagnation_seconds: float | None = 72 * 3600.0
    stagnation_roe: float = 0.02
    stagnation_close: bool = False
    invalidation: tuple[InvalidationCondition, ...] = ()
    exit_on_signal: bool = True
    exit_on_opposite_signal: bool = False
    guard_stop: bool = True
    fill_timeout_seconds: float = 300.0
    entry_timeout_seconds: float | None = 86400.0

    def __post_init__(self) -> None:
        validate_profile(self)

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form (stored with each position's governance state)."""
        return {
            "name": self.name,
            "stop_method": self.stop_method.value,
            "atr_period": self.atr_period,
            "atr_timeframe": self.atr_timeframe,
            "atr_multiplier": self.atr_multiplier,
            "stop_percent": self.stop_percent,
            "trigger": self.trigger.value,
            "liquidation_buffer": self.liquidation_buffer,
            "lock_tiers": [[t.trigger_roe, t.lock_roe] for t in self.lock_tiers],
            "lock_net_of_fees": self.lock_net_of_fees,
            "fee_rate": self.fee_rate,
            "chandelier_multiplier": self.chandelier_multiplier,
            "trail_percent": self.trail_percent,
            "trail_activation": self.trail_activation,
            "min_stop_move": self.min_stop_move,
            "r_ladder": [[t.trigger, t.fraction] for t in self.r_ladder],
            "roe_ladder": [[t.trigger, t.fraction] for t in self.roe_ladder],
            "add_on_cap": self.add_on_cap,
            "add_on_roe_tiers": list(self.add_on_roe_tiers),
            "add_on_requires_signal": self.add_on_requires_signal,
            "add_on_gamma": self.add_on_gamma,
            "add_on_min_interval": self.add_on_min_interval,
            "max_holding_seconds": self.max_holding_seconds,
            "stagnation_seconds": self.stagnation_seconds,
            "stagnation_roe": self.stagnation_roe,
            "stagnation_close": self.stagnation_close,
            "invalidation": [c.to_dict() for c in self.invalidation],
            "exit_on_signal": self.exit_on_signal,
            "exit_on_opposite_signal": self.exit_on_opposite_signal,
            "guard_stop": self.guard_stop,
            "fill_timeout_seconds": self.fill_timeout_seconds,
            "entry_timeout_seconds": self.entry_timeout_seconds,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> GovernanceProfile:
        """Inverse of :meth:`to_dict`; unknown keys are rejected (``ConfigError``).

        Equal documents give the same (interned) profile object: thousands of stored states
        share a few profiles, and the batch groups rows by profile identity."""
        key = _frozen(data)
        found = _INTERNED.get(key)
        if found is None:
            found = cls._from_dict(data)
            if len(_INTERNED) >= _INTERN_LIMIT:
                _INTERNED.clear()
            _INTERNED[key] = found
        return found

    @classmethod
    def _from_dict(cls, data: Mapping[str, object]) -> GovernanceProfile:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(
                f"unknown profile key(s) {', '.join(sorted(unknown))}", field="profile"
            )
        values: dict[str, object] = dict(data)
        if "stop_method" in values:
            values["stop_method"] = StopMethod(str(values["stop_method"]))
        if "trigger" in values:
            values["trigger"] = TriggerPrice(str(values["trigger"]))
        if "lock_tiers" in values:
            values["lock_tiers"] = tuple(
                LockTier(float(a), float(b))
                for a, b in values["lock_tiers"]  # type: ignore[attr-defined]
            )
        for key in ("r_ladder", "roe_ladder"):
            if key in values:
                values[key] = tuple(
                    TakeProfitTier(float(a), float(b))
                    for a, b in values[key]  # type: ignore[attr-defined]
                )
        if "add_on_roe_tiers" in values:
            values["add_on_roe_tiers"] = tuple(float(x) for x in values["add_on_roe_tiers"])  # type: ignore[attr-defined]
        if "invalidation" in values:
            values["invalidation"] = tuple(
                InvalidationCondition.parse(c)
                for c in values["invalidation"]  # type: ignore[attr-defined]
            )
        return cls(**values)  # type: ignore[arg-type]


_INTERN_LIMIT: Final = 256
_INTERNED: dict[object, GovernanceProfile] = {}


def _frozen(value: object) -> object:
    """A hashable form of a JSON document (in its key order: the stored documents all come
    from :meth:`GovernanceProfile.to_dict`, whose order is fixed)."""
    if isinstance(value, Mapping):
        return tuple(
            (k, v if v.__class__ is not list and v.__class__ is not dict else _frozen(v))
            for k, v in value.items()
        )
    if isinstance(value, list):
        return tuple(
            v if v.__class__ is not list and v.__class__ is not dict else _frozen(v) for v in value
        )
    return value


def _fail(field_name: str, reason: str) -> ConfigError:
    return ConfigError(reason, field=field_name)


def _positive(value: float, name: str) -> None:
    if not math.isfinite(value) or value <= 0:
        raise _fail(name, f"must be a finite number > 0, got {value}")


def _fraction(value: float, name: str, *, allow_zero: bool = False) -> None:
    low_ok = value >= 0 if allow_zero else value > 0
    if not math.isfinite(value) or not low_ok or value >= 1:
        bound = "[0, 1)" if allow_zero else "(0, 1)"
        raise _fail(name, f"must be in {bound}, got {value}")


def validate_profile(p: GovernanceProfile) -> None:
    """Raise :class:`ConfigError` naming the first bad field; return quietly otherwise."""
    if not p.name or not p.name.replace("_", "").replace("-", "").isalnum():
        raise _fail("name", f"must be a word (letters, digits, - and _), got {p.name!r}")
    _validate_stops(p)
    _validate_trailing(p)
    _ladder(p.r_ladder, "r_ladder", cumulative=True)
    _ladder(p.roe_ladder, "roe_ladder", cumulative=False)
    _validate_add_ons(p)
    if p.max_holding_seconds is not None:
        _positive(p.max_holding_seconds, "max_holding_seconds")
    if p.stagnation_seconds is not None:
        _positive(p.stagnation_seconds, "stagnation_seconds")
    _positive(p.stagnation_roe, "stagnation_roe")
    _positive(p.fill_timeout_seconds, "fill_timeout_seconds")
    if p.entry_timeout_seconds is not None:
        _positive(p.entry_timeout_seconds, "entry_timeout_seconds")


def _validate_stops(p: GovernanceProfile) -> None:
    if p.atr_period < 1:
        raise _fail("atr_period", f"must be at least 1, got {p.atr_period}")
    if p.atr_timeframe not in TIMEFRAMES:
        raise _fail("atr_timeframe", f"unknown timeframe {p.atr_timeframe!r}")
    _positive(p.atr_multiplier, "atr_multiplier")
    _fraction(p.stop_percent, "stop_percent")
    _fraction(p.liquidation_buffer, "liquidation_buffer", allow_zero=True)
    _fraction(p.min_stop_move, "min_stop_move", allow_zero=True)
    if p.fee_rate is not None:
        _fraction(p.fee_rate, "fee_rate", allow_zero=True)


def _validate_trailing(p: GovernanceProfile) -> None:
    previous = -math.inf
    for i, tier in enumerate(p.lock_tiers):
        name = f"lock_tiers[{i}]"
        if not (math.isfinite(tier.trigger_roe) and tier.trigger_roe > 0):
            raise _fail(name, f"trigger_roe must be > 0, got {tier.trigger_roe}")
        if not (math.isfinite(tier.lock_roe) and 0 <= tier.lock_roe < tier.trigger_roe):
            raise _fail(
                name,
                f"lock_roe must be in [0, trigger_roe), got {tier.lock_roe} for {tier.trigger_roe}",
            )
        if tier.trigger_roe <= previous:
            raise _fail(name, "tiers must be sorted by strictly increasing trigger_roe")
        previous = tier.trigger_roe
    if p.chandelier_multiplier is not None:
        _positive(p.chandelier_multiplier, "chandelier_multiplier")
    if p.trail_percent is not None:
        _fraction(p.trail_percent, "trail_percent")
    if p.trail_activation is not None:
        _fraction(p.trail_activation, "trail_activation", allow_zero=True)


def _validate_add_ons(p: GovernanceProfile) -> None:
    if p.add_on_cap < 0:
        raise _fail("add_on_cap", f"must not be negative, got {p.add_on_cap}")
    if p.add_on_cap and not p.add_on_roe_tiers and not p.add_on_requires_signal:
        raise _fail("add_on_roe_tiers", "add-ons need ROE tiers, a signal, or both")
    for i, value in enumerate(p.add_on_roe_tiers):
        if not math.isfinite(value):
            raise _fail(f"add_on_roe_tiers[{i}]", f"must be finite, got {value}")
    _fraction(p.add_on_gamma, "add_on_gamma")
    if not math.isfinite(p.add_on_min_interval) or p.add_on_min_interval < 0:
        raise _fail("add_on_min_interval", f"must be ≥ 0 seconds, got {p.add_on_min_interval}")


def _ladder(tiers: tuple[TakeProfitTier, ...], name: str, *, cumulative: bool) -> None:
    previous = -math.inf
    total = 0.0
    for i, tier in enumerate(tiers):
        label = f"{name}[{i}]"
        if not (math.isfinite(tier.trigger) and tier.trigger > 0):
            raise _fail(label, f"trigger must be > 0, got {tier.trigger}")
        if tier.trigger <= previous:
            raise _fail(label, "tiers must be sorted by strictly increasing trigger")
        if not (math.isfinite(tier.fraction) and 0 < tier.fraction <= 1):
            raise _fail(label, f"fraction must be in (0, 1], got {tier.fraction}")
        previous = tier.trigger
        total += tier.fraction
    if cumulative and total > 1 + 1e-12:
        raise _fail(name, f"fractions of the base quantity add up to {total:g} > 1")


def preset(name: str) -> GovernanceProfile:
    """Named presets.

    * ``standard`` — seed 002 exits with seed 003 locks: ATR stop (2 × ATR14 on 1h bars), ROE
      lock ladder 10 % → breakeven incl. fees, 20 % → 10 %, 30 % → 20 %, 50 % → 35 %;
      take-profit 2R/3R/4R × 50/30/20 %; stagnation alert after 72 h within ±2 %.
    * ``trend`` — lets winners run: ATR stop 3 × ATR14 on 4h bars, the same lock ladder, a
      chandelier trail 3 × ATR from the extreme since entry, a third off at 3R.
    * ``perp_roe`` — seed 003 perpetual governance: the same stop and locks, take-profit by ROE
      (12 % → 30 % of Q, 25 % → 30 % of the rest, 50 % → 50 % of the rest), up to 2 add-ons on a
      same-direction signal at ROE ≥ 5 % / 10 %, sized Q0·0.5^j, at least 1 h apart.
    * ``swing`` — percent stop 5 %, percent trail 8 % armed after a 5 % move, take half at 2R,
      close after 30 days.
    """
    base = GovernanceProfile()
    if name == "standard":
        return base
    if name == "perp_roe":
        return replace(
            base,
            name="perp_roe",
            r_ladder=(),
            roe_ladder=(
                TakeProfitTier(0.12, 0.30),
                TakeProfitTier(0.25, 0.30),
                TakeProfitTier(0.50, 0.50),
            ),
            add_on_cap=2,
        )
    if name == "trend":
        return replace(
            base,
            name="trend",
            atr_timeframe="4h",
            atr_multiplier=3.0,
            chandelier_multiplier=3.0,
            r_ladder=(TakeProfitTier(3.0, 1 / 3),),
        )
    if name == "swing":
        return replace(
            base,
            name="swing",
            stop_method=StopMethod.PERCENT,
            stop_percent=0.05,
            chandelier_multiplier=None,
            trail_percent=0.08,
            trail_activation=0.05,
            r_ladder=(TakeProfitTier(2.0, 0.5),),
            max_holding_seconds=30 * 86400.0,
            stagnation_seconds=None,
        )
    raise ConfigError(f"unknown governance preset {name!r} ({', '.join(PRESETS)})", field="preset")


__all__ = [
    "PRESETS",
    "TIMEFRAMES",
    "GovernanceProfile",
    "InvalidationCondition",
    "LockTier",
    "StopMethod",
    "TakeProfitTier",
    "preset",
    "timeframe_seconds",
    "validate_profile",
]
