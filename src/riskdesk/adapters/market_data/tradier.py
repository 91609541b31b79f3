"""Tradier market data (https://documentation.tradier.com) behind the ``OptionsData`` port.

Endpoints: ``GET /markets/quotes?symbols=…&greeks=true``, ``/markets/options/chains?symbol=…
&expiration=YYYY-MM-DD&greeks=true``, ``/markets/options/expirations?symbol=…`` and
``/markets/clock``. The token is sent as ``Authorization: Bearer …`` (from settings, never
logged). Only retryable failures are retried (tenacity, exponential backoff): transport errors
(connect/read timeouts, resets), HTTP 429 and 5xx. Anything else (401 bad token, 400 bad
symbol, an unreadable body) raises :class:`~riskdesk.domain.rebalance.model.MarketDataError`
at once with the status and Tradier's message.

Units: prices per share in USD; Tradier's ORATS Greeks are delta per share, theta per day,
vega per vol point; ``mid_iv`` is the IV (decimal). A chain's time is the newest bid/ask time
of its quotes (Tradier's own timestamps), so it is valued at the data's time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from tenacity import (
    RetryError,
    Retrying,
    nap,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from riskdesk.adapters.market_data.chain_snapshot import us_equity_terms
from riskdesk.domain.calendar import MarketSession, MarketStatus
from riskdesk.domain.errors import InvalidValue, MarketDataError, NotFound
from riskdesk.domain.instruments import equity_option_expiry
from riskdesk.domain.rebalance.chain import (
    ChainSnapshot,
    OptionQuote,
    UnderlyingQuote,
    VenueGreeks,
    plain,
)
from riskdesk.domain.symbols import SymbolKind, parse_symbol
from riskdesk.ports.clock import Clock

_STATES = {
    "premarket": MarketSession.PRE_MARKET,
    "open": MarketSession.OPEN,
    "postmarket": MarketSession.AFTER_HOURS,
    "closed": MarketSession.CLOSED,
}


@dataclass(frozen=True, slots=True)
class TradierConfig:
    """Connection settings: ``base_url`` ends in ``/v1``; ``backoff_seconds`` is the first
    retry wait (doubling, capped at 8 s); ``max_attempts`` counts the first try."""

    token: str
    base_url: str = "https://api.tradier.com/v1"
    timeout_seconds: float = 10.0
    max_attempts: int = 3
    backoff_seconds: float = 0.5


class _Retryable(Exception):
    """A failure worth another attempt (kept inside the adapter)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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


def _ms(value: object) -> datetime | None:
    if not isinstance(value, int | float) or value <= 0:
        return None
    return datetime.fromtimestamp(value / 1000, UTC)


def _as_list(value: object) -> list[Any]:
    """Tradier sends one item as an object and several as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class TradierOptionsData:
    """``OptionsData`` over the Tradier REST API (``client`` injectable for tests)."""

    def __init__(
        self,
        config: TradierConfig,
        *,
        clock: Clock,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if not config.token:
            raise InvalidValue("a Tradier token is required", field="tradier_token")
        self._config = config
        self._clock = clock
        self._client = client or httpx.Client(timeout=config.timeout_seconds)
        self._sleep = sleep

    @property
    def name(self) -> str:
        """Source name."""
        return "tradier"

    @property
    def is_snapshot(self) -> bool:
        """Live quotes."""
        return False

    def underlyings(self) -> list[str]:
        """Any US equity underlying."""
        return []

    # ----------------------------------------------------------------------------- HTTP

    def _get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        url = f"{self._config.base_url.rstrip('/')}/{path.lstrip('/')}"
        headers = {
            "Authorization": f"Bearer {self._config.token}",
            "Accept": "application/json",
        }

        def attempt() -> dict[str, Any]:
            try:
                response = self._client.get(url, params=dict(params), headers=headers)
            except httpx.TransportError as exc:
                raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
            if response.status_code == 429 or response.status_code >= 500:
                raise _Retryable(f"HTTP {response.status_code} from Tradier {path}")
            if response.status_code >= 400:
                detail = response.text.strip()[:200]
                raise MarketDataError(
                    f"Tradier {path} answered HTTP {response.status_code}: {detail}",
                    field="tradier",
                )
            try:
                body = response.json()
            except ValueError:
                raise MarketDataError(
                    f"Tradier {path} sent a body that is not JSON", field="tradier"
                ) from None
            if not isinstance(body, dict):
                raise MarketDataError(f"Tradier {path} sent unexpected JSON", field="tradier")
            return body

        wait = wait_exponential(multiplier=self._config.backoff_seconds, max=8)
        retrying = Retrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, _Retryable)),
            stop=stop_after_attempt(self._config.max_attempts),
            wait=wait,
            reraise=False,
            sleep=self._sleep or nap.sleep,
        )
        try:
            return retrying(attempt)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            message = last.message if isinstance(last, _Retryable) else str(last)
            raise MarketDataError(
                f"Tradier {path} failed after {self._config.max_attempts} attempts: {message}",
                field="tradier",
            ) from None

    # ----------------------------------------------------------------------------- parsing

    @staticmethod
    def _option(raw: Mapping[str, Any]) -> OptionQuote:
        symbol = str(raw["symbol"]).upper()
        spec = parse_symbol(symbol)
        if spec.kind is not SymbolKind.OPTION or spec.expiry is None or spec.right is None:
            raise MarketDataError(f"{symbol} is not an option", field="symbol")
        assert spec.strike is not None  # noqa: S101 - options carry a strike
        greeks = raw.get("greeks") or {}
        iv = _float(greeks.get("mid_iv")) or _float(greeks.get("smv_vol"))
        times = [t for t in (_ms(raw.get("bid_date")), _ms(raw.get("ask_date"))) if t]
        return OptionQuote(
            symbol=symbol,
            underlying=str(raw.get("underlying") or spec.base).upper(),
            expiry=equity_option_expiry(spec.expiry),
            strike=plain(spec.strike),
            right=spec.right,
            bid=_dec(raw.get("bid")),
            ask=_dec(raw.get("ask")),
            bid_size=_dec(raw.get("bidsize")),
            ask_size=_dec(raw.get("asksize")),
            last=_dec(raw.get("last")),
            volume=_dec(raw.get("volume")),
            open_interest=_dec(raw.get("open_interest")),
            venue_greeks=VenueGreeks(
                delta=_float(greeks.get("delta")),
                gamma=_float(greeks.get("gamma")),
                theta_per_day=_float(greeks.get("theta")),
                vega_per_pct=_float(greeks.get("vega")),
                rho_per_pct=_float(greeks.get("rho")),
                iv=iv if iv else None,
            )
            if greeks
            else None,
            ts=max(times) if times else None,
        )

    @staticmethod
    def _underlying(raw: Mapping[str, Any]) -> UnderlyingQuote:
        price = _dec(raw.get("last")) or _dec(raw.get("close")) or _dec(raw.get("prevclose"))
        if price is None:
            raise MarketDataError(f"no price for {raw.get('symbol')}", field="underlying")
        times = [
            t
            for t in (
                _ms(raw.get("bid_date")),
                _ms(raw.get("ask_date")),
                _ms(raw.get("trade_date")),
            )
            if t
        ]
        return UnderlyingQuote(
            str(raw["symbol"]).upper(),
            price,
            _dec(raw.get("bid")),
            _dec(raw.get("ask")),
            max(times) if times else None,
        )

    def _quotes(self, symbols: Sequence[str]) -> list[dict[str, Any]]:
        body = self._get(
            "markets/quotes", {"symbols": ",".join(s.upper() for s in symbols), "greeks": "true"}
        )
        quotes = body.get("quotes") or {}
        if not isinstance(quotes, dict):
            raise MarketDataError("unexpected quotes response", field="tradier")
        unmatched = [
            str(s) for s in _as_list((quotes.get("unmatched_symbols") or {}).get("symbol"))
        ]
        if unmatched:
            raise NotFound(f"Tradier does not know {', '.join(unmatched)}", field="symbol")
        return [q for q in _as_list(quotes.get("quote")) if isinstance(q, dict)]

    # ----------------------------------------------------------------------------- port

    def expirations(self, underlying: str) -> list[date]:
        """Listed expirations (``/markets/options/expirations``)."""
        body = self._get("markets/options/expirations", {"symbol": underlying.upper()})
        dates = (body.get("expirations") or {}).get("date")
        try:
            return sorted(date.fromisoformat(str(d)) for d in _as_list(dates))
        except ValueError as exc:
            raise MarketDataError(f"bad expiration date: {exc}", field="tradier") from None

    def underlying_quote(self, underlying: str) -> UnderlyingQuote:
        """The underlying's quote (``/markets/quotes``)."""
        quotes = self._quotes([underlying])
        if not quotes:
            raise NotFound(f"no quote for {underlying}", field="underlying")
        return self._underlying(quotes[0])

    def quotes(self, symbols: Sequence[str]) -> list[OptionQuote]:
        """Option quotes with Greeks (``/markets/quotes?greeks=true``)."""
        return [self._option(q) for q in self._quotes(symbols) if q.get("type") == "option"]

    def chain(self, underlying: str, expirations: Sequence[date] | None = None) -> ChainSnapshot:
        """The chain with Greeks for ``expirations`` (all listed ones when None)."""
        under = self.underlying_quote(underlying)
        wanted = list(expirations) if expirations is not None else self.expirations(underlying)
        contracts: list[OptionQuote] = []
        for expiry in wanted:
            body = self._get(
                "markets/options/chains",
                {"symbol": under.symbol, "expiration": expiry.isoformat(), "greeks": "true"},
            )
            raw = (body.get("options") or {}).get("option")
            for item in _as_list(raw):
                if isinstance(item, dict):
                    try:
                        contracts.append(self._option(item))
                    except (KeyError, MarketDataError):
                        continue
        if not contracts:
            raise NotFound(f"Tradier returned no options for {underlying}", field="underlying")
        times = [c.ts for c in contracts if c.ts] + ([under.ts] if under.ts else [])
        as_of = max(times) if times else self._clock.now()
        return ChainSnapshot(
            under, tuple(contracts), as_of, "Tradier (live quotes)", us_equity_terms()
        )

    def market_clock(self) -> MarketStatus | None:
        """Tradier's market clock (``/markets/clock``)."""
        body = self._get("markets/clock", {})
        clock = body.get("clock")
        if not isinstance(clock, dict) or clock.get("state") not in _STATES:
            raise MarketDataError("unexpected clock response", field="tradier")
        ts = clock.get("timestamp")
        as_of = (
            datetime.fromtimestamp(ts, UTC) if isinstance(ts, int | float) else self._clock.now()
        )
        return MarketStatus(
            market="us_equity",
            session=_STATES[str(clock["state"])],
            as_of=as_of,
            local_time=f"{clock.get('date', '')} (Tradier)",
            reason=str(clock.get("description", "")),
            next_open=None,
            next_close=None,
        )


__all__ = ["TradierConfig", "TradierOptionsData"]
