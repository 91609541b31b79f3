"""The open positions of a book as columns: what a vectorised consumer (the governance tick)
reads from the book, one row per position, without walking view objects.

Built once from the exact position views (:func:`PositionTable.of`); each row keeps its view,
so a consumer reads exact ``Decimal`` values only for the rows it acts on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from riskdesk.domain.accounting.portfolio import PositionView

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PositionTable:
    """Open positions as columns (row ``i`` is ``views[i]``).

    Float64 columns, NaN where a view has no value: ``qty`` signed contracts; ``entry`` average
    entry and ``mark`` mark price (price currency); ``margin`` the ROE denominator and
    ``leverage`` (as in :class:`PositionView`: settlement currency); ``liquidation`` the margin
    group's liquidation price and ``liq_distance`` its signed distance from the mark as a
    fraction of the mark (positive on the safe side); ``opened`` the opening time (epoch
    seconds). Text columns: ``position_id``, ``account_id``, ``instrument_key``
    (``venue:symbol``), ``slot`` and ``kind``. ``index`` maps a position id to its row."""

    views: tuple[PositionView, ...]
    position_id: tuple[str, ...]
    account_id: tuple[str, ...]
    instrument_key: tuple[str, ...]
    slot: tuple[str, ...]
    kind: tuple[str, ...]
    qty: FloatArray
    entry: FloatArray
    mark: FloatArray
    margin: FloatArray
    leverage: FloatArray
    liquidation: FloatArray
    liq_distance: FloatArray
    opened: FloatArray
    index: Mapping[str, int]

    @property
    def n(self) -> int:
        """Number of positions."""
        return len(self.views)

    @classmethod
    def of(cls, views: Sequence[PositionView]) -> PositionTable:
        """The columns of ``views`` (one pass over them)."""
        nan = math.nan
        # One pass over the views, one conversion to arrays.
        rows = [
            (
                v.position_id,
                v.account_id,
                f"{v.venue}:{v.symbol}",
                v.slot,
                v.kind,
                float(v.qty),
                float(v.entry_price),
                float(v.mark_price),
                float(v.margin_ccy),
                float(v.leverage),
                nan if v.liquidation_price is None else float(v.liquidation_price),
                nan if v.liq_distance_ratio is None else float(v.liq_distance_ratio),
                v.opened_at.timestamp(),
            )
            for v in views
        ]
        columns = list(zip(*rows, strict=True)) if rows else [()] * 13
        floats = np.array(columns[5:], dtype=float).reshape(8, len(rows))
        ids = tuple(columns[0])
        return cls(
            views=tuple(views),
            position_id=ids,
            account_id=tuple(columns[1]),
            instrument_key=tuple(columns[2]),
            slot=tuple(columns[3]),
            kind=tuple(columns[4]),
            qty=floats[0],
            entry=floats[1],
            mark=floats[2],
            margin=floats[3],
            leverage=floats[4],
            liquidation=floats[5],
            liq_distance=floats[6],
            opened=floats[7],
            index={pid: i for i, pid in enumerate(ids)},
        )


__all__ = ["PositionTable"]
