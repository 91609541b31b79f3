"""Option market data port: chains, quotes, expirations, the underlying and the market clock.

Implemented by recorded chain snapshots (bundled CBOE AAPL chain, Deribit tickers), the
Tradier API and Deribit through CCXT. Every chain carries its own time (``as_of``), which is
the valuation time of anything computed from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from riskdesk.domain.calendar import MarketStatus
from riskdesk.domain.rebalance.chain import ChainSnapshot, OptionQuote, UnderlyingQuote


class OptionsData(Protocol):
    """A source of option market data for one market (US equity options or crypto options).

    ``name`` identifies the source in outputs; ``is_snapshot`` is True for recorded data (then
    outputs warn that prices must be re-quoted before trading). Errors: unknown symbols raise
    :class:`~riskdesk.domain.errors.NotFound`; venue or transport failures raise
    :class:`~riskdesk.domain.rebalance.model.MarketDataError`.
    """

    @property
    def name(self) -> str:
        """Short source name, e.g. ``cboe-snapshot``, ``tradier``, ``deribit``."""
        ...

    @property
    def is_snapshot(self) -> bool:
        """True when the data is a recording rather than live quotes."""
        ...

    def underlyings(self) -> list[str]:
        """Underlyings this source can serve (empty when it can serve any symbol)."""
        ...

    def expirations(self, underlying: str) -> list[date]:
        """Listed expiration dates of ``underlying``, ascending."""
        ...

    def chain(self, underlying: str, expirations: Sequence[date] | None = None) -> ChainSnapshot:
        """The chain of ``underlying`` (only ``expirations`` when given, else all)."""
        ...

    def quotes(self, symbols: Sequence[str]) -> list[OptionQuote]:
        """Quotes of option contracts by symbol (OCC or venue name)."""
        ...

    def underlying_quote(self, underlying: str) -> UnderlyingQuote:
        """The underlying's quote."""
        ...

    def market_clock(self) -> MarketStatus | None:
        """The venue's own market state when it reports one (Tradier's clock), else None (the
        caller then uses the exchange calendar at the data's time)."""
        ...
