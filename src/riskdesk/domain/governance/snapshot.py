"""What the rules see of one position and its market at a tick.

Position facts are exact (``Decimal``): signed quantity in contracts, average entry, the margin
ROE is measured on (isolated margin, or the initial margin at entry for cross positions), all in
the instrument's settlement currency. Market analytics are float64: ATR and the extremes since
entry (from bars), per-timeframe close statistics for invalidation conditions. Prices used to
decide (mark, last, index) are exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, cast

from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.instruments import Instrument
from riskdesk.domain.orders import TriggerPrice
from riskdesk.domain.values import fast_init


class SignalKind(StrEnum):
    """An entry signal (same direction → may add; opposite → may exit) or an explicit exit."""

    ENTRY = "entry"
    EXIT = "exit"


@fast_init
@dataclass(frozen=True, slots=True)
class Signal:
    """A trading signal addressed to a position; ``signal_id`` makes it act once."""

    signal_id: str
    kind: SignalKind
    direction: int
    ts: datetime
    note: str = ""

    def __post_init__(self) -> None:
        if self.direction not in (1, -1):
            raise InvalidValue(
                f"must be +1 (long) or -1 (short), got {self.direction}", field="direction"
            )
        if not self.signal_id:
            raise InvalidValue("must not be empty", field="signal_id")


@fast_init
@dataclass(frozen=True, slots=True)
class CloseStats:
    """Lowest and highest close of the bars of one timeframe that closed since entry, with the
    open time of the bar that made each."""

    low: float
    low_ts: datetime
    high: float
    high_ts: datetime


@fast_init
@dataclass(frozen=True, slots=True)
class Snapshot:
    """One position at one tick.

    ``qty`` signed contracts (0 = flat); ``entry`` average entry; ``margin`` the ROE denominator;
    ``mark`` / ``last`` / ``index`` prices (``last`` and ``index`` fall back to the mark);
    ``atr`` the ATR of the profile's timeframe in price units (None without enough bars);
    ``high`` / ``low`` the highest high and lowest low since entry including the current price;
    ``liquidation`` the liquidation price when known; ``closes`` close statistics per timeframe."""

    instrument: Instrument
    position_id: str
    qty: Decimal
    entry: Decimal
    margin: Decimal
    opened_at: datetime
    mark: Decimal
    leverage: Decimal = Decimal(1)
    last: Decimal | None = None
    index: Decimal | None = None
    atr: float | None = None
    high: float | None = None
    low: float | None = None
    liquidation: Decimal | None = None
    closes: Mapping[str, CloseStats] = field(default_factory=dict)
    signals: tuple[Signal, ...] = ()

    def __post_init__(self) -> None:
        for name, value in (
            ("qty", self.qty),
            ("entry", self.entry),
            ("margin", self.margin),
            ("mark", self.mark),
        ):
            if not isinstance(value, Decimal) or not value.is_finite():
                raise InvalidValue(f"must be a finite decimal, got {value!r}", field=name)
        if self.qty != 0 and self.entry <= 0:
            raise InvalidValue(f"must be > 0 for an open position, got {self.entry}", field="entry")
        if self.mark <= 0:
            raise InvalidValue(f"must be > 0, got {self.mark}", field="mark")
        if self.margin < 0:
            raise InvalidValue(f"must not be negative, got {self.margin}", field="margin")
        if self.atr is not None and not (self.atr >= 0 and self.atr != float("inf")):
            raise InvalidValue(f"must be a finite number ≥ 0, got {self.atr}", field="atr")
        if self.opened_at.tzinfo is None:
            raise InvalidValue("must be timezone-aware (UTC)", field="opened_at")

    def price(self, trigger: TriggerPrice) -> Decimal:
        """The price stop orders trigger on (mark / last / index; the mark when not given)."""
        if trigger is TriggerPrice.LAST and self.last is not None:
            return self.last
        if trigger is TriggerPrice.INDEX and self.index is not None:
            return self.index
        return self.mark


# A layout-compatible mutable twin of Snapshot (``values.fast_init`` explains the trick).
_TWIN: Final = type(
    "_SnapshotBuilder",
    Snapshot.__bases__,
    {
        "__slots__": Snapshot.__dict__["__slots__"],
        "__setattr__": object.__setattr__,
        "__delattr__": object.__delattr__,
        "__module__": __name__,
    },
)


def checked_snapshot(
    instrument: Instrument,
    position_id: str,
    qty: Decimal,
    entry: Decimal,
    margin: Decimal,
    opened_at: datetime,
    mark: Decimal,
    leverage: Decimal,
    atr: float | None,
    high: float | None,
    low: float | None,
    liquidation: Decimal | None,
) -> Snapshot:
    """A :class:`Snapshot` without close statistics or signals, of values the book has checked
    already (its position views): built without validating them again, for the many rows a
    vectorised tick acts on."""
    new: Any = object.__new__(_TWIN)
    new.instrument = instrument
    new.position_id = position_id
    new.qty = qty
    new.entry = entry
    new.margin = margin
    new.opened_at = opened_at
    new.mark = mark
    new.leverage = leverage
    new.last = None
    new.index = None
    new.atr = atr
    new.high = high
    new.low = low
    new.liquidation = liquidation
    new.closes = {}
    new.signals = ()
    new.__class__ = Snapshot
    return cast(Snapshot, new)


__all__ = ["CloseStats", "Signal", "SignalKind", "Snapshot", "checked_snapshot"]
