"""Maintenance-bracket tables for instruments: a table bundled with riskdesk, by name, or a
CSV file in the same layout (see :mod:`riskdesk.application.margin_tiers`)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from riskdesk.adapters.market_data.bundled import data_text
from riskdesk.application.margin_tiers import tiers_from_csv
from riskdesk.domain.errors import InvalidValue, ValidationError
from riskdesk.domain.instruments import MarginTier

#: Bundled tables by name → file in ``riskdesk/data`` (``metadata.json`` gives each source).
BUNDLED_TIER_TABLES: Final = {
    "binance-usdm": "crypto/binance_usdm_brackets_BTC_ETH_2024-10.csv",
}


def load_margin_tiers(source: str, symbol: str) -> tuple[MarginTier, ...]:
    """The maintenance brackets of ``symbol`` (canonical form) from ``source``: the name of a
    bundled table (``binance-usdm``) or the path of a CSV file. Errors name ``tiers`` (or the
    bad line and column of the file)."""
    name = source.strip()
    bundled = BUNDLED_TIER_TABLES.get(name.lower())
    if bundled is not None:
        text = data_text(bundled)
        try:
            return tiers_from_csv(text, symbol)
        except ValidationError as exc:
            if exc.field != "tiers":
                raise
            held = sorted({line.split(",", 1)[0] for line in text.splitlines()[1:] if line})
            raise InvalidValue(
                f"the bundled {name} table has no brackets for {symbol} (it holds "
                f"{', '.join(held)}); give a CSV file instead (--tiers FILE)",
                field="tiers",
            ) from None
    path = Path(name).expanduser()
    if not path.is_file():
        raise InvalidValue(
            f"{source!r} is neither a bundled table ({', '.join(BUNDLED_TIER_TABLES)}) nor a file",
            field="tiers",
        )
    return tiers_from_csv(path.read_text(encoding="utf-8-sig"), symbol)


__all__ = ["BUNDLED_TIER_TABLES", "load_margin_tiers"]
