"""Deribit option chains through CCXT behind the ``OptionsData`` port.

Instruments come from CCXT's Deribit markets (``public/get_instruments``), quotes and Greeks
from ``public/ticker`` per instrument (CCXT ``fetch_ticker``; the raw Deribit ticker in
``info`` carries ``best_bid_price``/``best_ask_price`` in coin for inverse options,
``mark_iv`` in %, ``greeks`` in USD and the expiry's forward ``underlying_price``), the index
from ``public/get_index_price``. Amounts are in coins (contract size 1); the chain's time is the
newest ticker timestamp. CCXT network errors (timeouts, unavailability, rate limits) are
retried with backoff; a bad symbol raises ``NotFound``; other exchange errors raise
``MarketDataError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import ccxt
from tenacity import RetryError, Retrying, nap, retry_if_exception_type, stop_after_attempt
from tenacity import wait_exponential as _wait

from riskdesk.adapters.market_data.chain_snapshot import deribit_terms
from riskdesk.domain.calendar import MarketStatus
from riskdesk.domain.errors import MarketDataError, NotFound
from riskdesk.domain.rebalance.chain import (
    ChainSnapshot,
    OptionQuote,
    UnderlyingQuote,
    VenueGreeks,
    plain,
)
from riskdesk.domain.symbols import OptionRight, SymbolKind, parse_symbol

T = TypeVar("T")


def _dec(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def _float(value: object) -> float | None:
    number = _dec(value)
    return float(number) if number is not None else None


class DeribitOptionsData:
    """``OptionsData`` over a CCXT ``deribit`` exchange object (injected; tests pass one that
    answers from recorded JSON)."""

    def __init__(
        self,
        exchange: Any,
        *,
        max_attempts: int = 3,
        backoff_seconds: float = 0.5,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._ex = exchange
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._sleep = sleep
        self._options: dict[str, dict[str, Any]] | None = None

    @classmethod
    def public(cls, testnet: bool = False) -> DeribitOptionsData:
        """Public market data (no keys): CCXT's Deribit, on the testnet if asked."""
        exchange = ccxt.deribit({"enableRateLimit": True})
        if testnet:
            exchange.set_sandbox_mode(True)
        return cls(exchange)

    @property
    def name(self) -> str:
        """Source name."""
        return "deribit"

    @property
    def is_snapshot(self) -> bool:
        """Live quotes."""
        return False

    def underlyings(self) -> list[str]:
        """Currencies with listed options."""
        return sorted({m["base"] for m in self._markets().values()})

    # ----------------------------------------------------------------------------- calls

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        retrying = Retrying(
            retry=retry_if_exception_type(ccxt.NetworkError),
            stop=stop_after_attempt(self._max_attempts),
            wait=_wait(multiplier=self._backoff, max=8),
            reraise=False,
            sleep=self._sleep or nap.sleep,
        )
        try:
            return retrying(fn)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            raise MarketDataError(
                f"Deribit {what} failed after {self._max_attempts} attempts: "
                f"{type(last).__name__}: {last}",
                field="deribit",
            ) from None
        except ccxt.BadSymbol as exc:
            raise NotFound(f"Deribit does not list {what}: {exc}", field="symbol") from None
        except ccxt.BaseError as exc:
            raise MarketDataError(
                f"Deribit {what} failed: {type(exc).__name__}: {exc}", field="deribit"
            ) from None

    def _markets(self) -> dict[str, dict[str, Any]]:
        """Option markets by Deribit instrument name."""
        if self._options is None:
            markets = self._call("instruments", self._ex.load_markets)
            self._options = {
                str(m["id"]): m
                for m in markets.values()
                if m.get("option") and m.get("active", True) is not False
            }
        return self._options

    def _for(self, underlying: str) -> list[dict[str, Any]]:
        base = underlying.strip().upper().split("_")[0]
        found = [m for m in self._markets().values() if str(m["base"]).upper() == base]
        if not found:
            raise NotFound(f"Deribit lists no options on {underlying}", field="underlying")
        return found

    @staticmethod
    def _expiry(market: Mapping[str, Any]) -> datetime:
        return datetime.fromtimestamp(int(market["expiry"]) / 1000, UTC)

    def _quote(self, market: Mapping[str, Any]) -> OptionQuote:
        ticker = self._call(str(market["id"]), lambda: self._ex.fetch_ticker(market["symbol"]))
        info: Mapping[str, Any] = ticker.get("info") or {}
        greeks = info.get("greeks") or {}
        name = str(market["id"])
        spec = parse_symbol(name)
        if spec.kind is not SymbolKind.OPTION or spec.strike is None:
            raise MarketDataError(f"{name} is not an option", field="symbol")
        stamp = info.get("timestamp") or ticker.get("timestamp")
        mark_iv = _float(info.get("mark_iv"))
        return OptionQuote(
            symbol=name,
            underlying=str(market["base"]),
            expiry=self._expiry(market),
            strike=plain(spec.strike),
            right=OptionRight.CALL if market.get("optionType") == "call" else OptionRight.PUT,
            bid=_dec(info.get("best_bid_price", ticker.get("bid"))),
            ask=_dec(info.get("best_ask_price", ticker.get("ask"))),
            bid_size=_dec(info.get("best_bid_amount")),
            ask_size=_dec(info.get("best_ask_amount")),
            last=_dec(info.get("last_price")),
            mark=_dec(info.get("mark_price")),
            volume=_dec((info.get("stats") or {}).get("volume")),
            open_interest=_dec(info.get("open_interest")),
            venue_greeks=VenueGreeks(
                delta=_float(greeks.get("delta")),
                gamma=_float(greeks.get("gamma")),
                theta_per_day=_float(greeks.get("theta")),
                vega_per_pct=_float(greeks.get("vega")),
                rho_per_pct=_float(greeks.get("rho")),
                iv=mark_iv / 100.0 if mark_iv else None,
            ),
            forward=_dec(info.get("underlying_price")),
            ts=datetime.fromtimestamp(int(stamp) / 1000, UTC) if stamp else None,
        )

    # ----------------------------------------------------------------------------- port

    def expirations(self, underlying: str) -> list[date]:
        """Listed expiration dates."""
        return sorted({self._expiry(m).date() for m in self._for(underlying)})

    def underlying_quote(self, underlying: str) -> UnderlyingQuote:
        """The Deribit index (``public/get_index_price``) of the underlying."""
        market = self._for(underlying)[0]
        index_name = str((market.get("info") or {}).get("price_index") or "").lower()
        if not index_name:
            index_name = f"{str(market['base']).lower()}_usd"
        body = self._call(
            index_name, lambda: self._ex.public_get_get_index_price({"index_name": index_name})
        )
        result = body.get("result", body) if isinstance(body, dict) else {}
        price = _dec(result.get("index_price"))
        if price is None:
            raise MarketDataError(f"no index price for {index_name}", field="deribit")
        return UnderlyingQuote(str(market["base"]), price)

    def quotes(self, symbols: Sequence[str]) -> list[OptionQuote]:
        """Tickers of Deribit option names (or CCXT unified option symbols)."""
        markets = self._markets()
        by_symbol = {str(m["symbol"]): m for m in markets.values()}
        out: list[OptionQuote] = []
        for symbol in symbols:
            market = markets.get(symbol.strip()) or by_symbol.get(symbol.strip())
            if market is None:
                upper = {k.upper(): v for k, v in markets.items()}
                market = upper.get(symbol.strip().upper())
            if market is None:
                raise NotFound(f"Deribit does not list {symbol}", field="symbol")
            out.append(self._quote(market))
        return out

    def chain(self, underlying: str, expirations: Sequence[date] | None = None) -> ChainSnapshot:
        """Every listed option of ``underlying`` (in ``expirations`` when given) with its
        ticker."""
        wanted = set(expirations) if expirations is not None else None
        markets = [
            m for m in self._for(underlying) if wanted is None or self._expiry(m).date() in wanted
        ]
        contracts = [self._quote(m) for m in sorted(markets, key=lambda m: str(m["id"]))]
        under = self.underlying_quote(underlying)
        times = [c.ts for c in contracts if c.ts is not None]
        if not times:
            raise MarketDataError("Deribit tickers carry no timestamp", field="deribit")
        first = markets[0]
        settle = str(first["settle"]).upper()
        linear = settle != str(first["base"]).upper()
        as_of = max(times)
        return ChainSnapshot(
            UnderlyingQuote(under.symbol, under.price, ts=as_of),
            tuple(contracts),
            as_of,
            "Deribit via CCXT (live tickers)",
            deribit_terms(settle, Decimal(1), linear),
        )

    def market_clock(self) -> MarketStatus | None:
        """Crypto trades 24/7: no venue clock."""
        return None


__all__ = ["DeribitOptionsData"]
