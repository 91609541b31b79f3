"""What one unit of a currency is worth in the reporting currency, and where that number comes
from.

Views total in the reporting currency, so every currency the book holds (cash, settlement and
quote currencies, option underlyings) needs a rate. :func:`currency_rates` resolves them in this
order, the first that applies winning:

1. the reporting currency itself: 1;
2. a stored asset price (``riskdesk prices set BTC 64000 --asset``, a market-data feed);
3. the ``fixed_rates`` setting (USD, USDT and USDC = 1 by default: stable coins at par);
4. derived from the book's own marks: the newest stored mark of a perpetual or spot instrument
   whose base is the currency and whose quote is priced by 1–3 (``deribit:BTC/USD:BTC`` →
   its mark in USD; ``binance:BTC/USDT:USDT`` → its mark × the USDT rate), the mark times the
   quote's rate; equal times prefer perpetual, then spot, then the key's order;
5. the same from a dated future's mark (its basis to spot makes it the last resort).

Option marks are premiums, never a price of their underlying. A currency none of these prices is
*unpriced*: views count it at zero and say so (see :mod:`.portfolio`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from riskdesk.domain.instruments import Instrument
from riskdesk.domain.symbols import SymbolKind
from riskdesk.domain.values import ACCOUNTING_CONTEXT, ONE


class RateSource(StrEnum):
    """Where a currency's rate comes from (in order of precedence)."""

    REPORTING = "reporting_currency"
    ASSET_PRICE = "asset_price"
    FIXED_RATE = "fixed_rate"
    MARK = "mark"


@dataclass(frozen=True, slots=True)
class CurrencyRate:
    """One unit of ``currency`` is worth ``price`` units of the reporting currency.

    ``instrument`` is the mark's instrument key for a rate derived from a mark; ``ts`` the time
    of the stored price or mark (None for the reporting currency and fixed rates)."""

    currency: str
    price: Decimal
    source: RateSource
    ts: datetime | None = None
    instrument: str | None = None

    def describe(self) -> str:
        """Where the rate comes from, for people (``mark deribit:BTC/USD:BTC``)."""
        if self.source is RateSource.MARK:
            return f"mark {self.instrument}"
        if self.source is RateSource.FIXED_RATE:
            return "setting fixed_rates"
        if self.source is RateSource.ASSET_PRICE:
            return "stored asset price"
        return "reporting currency"


#: Order among marks of equal time (lower first).
_KIND_ORDER = {SymbolKind.PERPETUAL: 0, SymbolKind.SPOT: 1, SymbolKind.FUTURE: 2}


def currency_rates(
    needed: Iterable[str],
    reporting: str,
    stored: Mapping[str, tuple[Decimal, datetime]],
    fixed: Mapping[str, Decimal],
    marks: Mapping[str, tuple[Decimal, datetime]] | None = None,
    instruments: Iterable[Instrument] = (),
) -> dict[str, CurrencyRate]:
    """Rates of the reporting currency, every stored asset price and fixed rate, and of each
    ``needed`` currency they leave out that the ``marks`` of ``instruments`` can price (see the
    module docstring for the order). A needed currency missing from the result is unpriced."""
    rates: dict[str, CurrencyRate] = {}
    for currency, price in fixed.items():
        rates[currency] = CurrencyRate(currency, price, RateSource.FIXED_RATE)
    for currency, (price, ts) in stored.items():
        rates[currency] = CurrencyRate(currency, price, RateSource.ASSET_PRICE, ts)
    rates[reporting] = CurrencyRate(reporting, ONE, RateSource.REPORTING)
    missing = {c for c in needed if c not in rates}
    if not missing or not marks:
        return rates
    direct = dict(rates)  # a derived rate never prices another currency (no chains)
    best: dict[str, tuple[tuple[int, float, int, str], CurrencyRate]] = {}
    for inst in instruments:
        coin = inst.base
        if coin not in missing or inst.kind not in _KIND_ORDER or inst.quote == coin:
            continue
        quote = direct.get(inst.quote)
        found = marks.get(inst.key)
        if quote is None or found is None:
            continue
        mark, ts = found
        tier = 1 if inst.kind is SymbolKind.FUTURE else 0
        rank = (tier, -ts.timestamp(), _KIND_ORDER[inst.kind], inst.key)
        held = best.get(coin)
        if held is None or rank < held[0]:
            price = ACCOUNTING_CONTEXT.multiply(mark, quote.price)
            best[coin] = (rank, CurrencyRate(coin, price, RateSource.MARK, ts, inst.key))
    for coin, (_, rate) in best.items():
        rates[coin] = rate
    return rates


__all__ = ["CurrencyRate", "RateSource", "currency_rates"]
