"""Builders for the risk unit tests: hand-made ``RiskBook``/``InstrumentRisk`` values, intents,
and limits with every check switched off except the ones a test names."""

from __future__ import annotations

import itertools
import re
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from riskdesk.domain.instruments import Instrument, equity_option, perpetual_or_future, spot
from riskdesk.domain.orders import OrderIntent, OrderType
from riskdesk.domain.risk.aggregates import InstrumentRisk, OrderBook, OrderBookSide, RiskBook
from riskdesk.domain.risk.decisions import Approved, Decision, Denied, RiskCode
from riskdesk.domain.risk.limits import RiskLimits
from riskdesk.domain.risk.pretrade import PreTradeEngine
from riskdesk.domain.risk.trading_state import TradingState
from riskdesk.domain.values import PositionSide, Side

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
VENUE = "paper"
ACCT = "acct"
EQUITY = 100_000.0
MARK = 50_000.0

PERP = perpetual_or_future("BTC/USDT:USDT", VENUE, tick_size="0.1", lot_size="0.001")
ETH_PERP = perpetual_or_future("ETH/USDT:USDT", VENUE, tick_size="0.01", lot_size="0.01")
BTC_SPOT = spot("BTC/USDT", VENUE, tick_size="0.01", lot_size="0.001")
INVERSE = perpetual_or_future(
    "BTC/USD:BTC", VENUE, tick_size="0.5", lot_size="1", contract_size="10"
)
OPTION = equity_option("TSLA250919P00390000", VENUE)
INSTRUMENTS: dict[str, Instrument] = {i.key: i for i in (PERP, ETH_PERP, BTC_SPOT, INVERSE, OPTION)}


def _optional_limit_fields() -> dict[str, None]:
    out: dict[str, None] = {}
    for f in fields(RiskLimits):
        if "None" in str(f.type) and f.name != "orders_per_second":
            out[f.name] = None
    out["orders_per_second"] = None
    return out


#: Every limit that can be switched off is off (and no rate limiter).
OFF = replace(RiskLimits(), **_optional_limit_fields())


def only(**limits: Any) -> RiskLimits:
    """Limits with every optional check off except the given ones."""
    return replace(OFF, **limits)


def engine(**limits: Any) -> PreTradeEngine:
    """An engine with only the given checks on."""
    return PreTradeEngine(only(**limits))


def linear(
    inst: Instrument = PERP,
    mark: float = MARK,
    *,
    mark_ts: datetime | None = NOW,
    fee_rate: float = 0.0,
    grid: bool = False,
    book: OrderBook | None = None,
    margined: bool | None = None,
) -> InstrumentRisk:
    """Risk numbers of a linear USD(T) instrument (exposure = delta = mark per contract)."""
    cs = float(inst.contract_size)
    return InstrumentRisk(
        key=inst.key,
        venue=inst.venue,
        asset=inst.asset,
        settle=inst.settle,
        mark=mark,
        mark_ts=mark_ts,
        exposure_per_unit=cs * mark,
        notional_per_unit=cs * mark,
        margin_per_unit=cs * mark,
        settle_rate=1.0,
        fee_rate=fee_rate,
        contract_size=cs,
        margined=inst.is_derivative if margined is None else margined,
        delta_per_unit=cs * mark,
        scenario_per_unit=np.array([-0.3, -0.1, 0.0, 0.1, 0.3]) * cs * mark if grid else None,
        book=book,
    )


def inverse(mark: float = MARK, *, btc_usd: float = MARK) -> InstrumentRisk:
    """Risk numbers of a coin-margined inverse perpetual (10 USD per contract, settled in BTC)."""
    cs = float(INVERSE.contract_size)
    return InstrumentRisk(
        key=INVERSE.key,
        venue=VENUE,
        asset="BTC",
        settle="BTC",
        mark=mark,
        mark_ts=NOW,
        exposure_per_unit=cs,
        notional_per_unit=cs,
        margin_per_unit=cs / mark,
        settle_rate=btc_usd,
        contract_size=cs,
        inverse=True,
        margined=True,
        delta_per_unit=cs,
    )


def option(
    *,
    mark: float = 20.0,
    delta: float = -0.4,
    gamma: float = 0.01,
    vega: float = 0.5,
    underlying: float = 400.0,
    grid: Any = None,
    fee_per_contract: float = 0.0,
) -> InstrumentRisk:
    """Risk numbers of a TSLA put (multiplier 100): dollar Greeks per contract."""
    cs = 100.0
    return InstrumentRisk(
        key=OPTION.key,
        venue=VENUE,
        asset="TSLA",
        settle="USD",
        mark=mark,
        mark_ts=NOW,
        exposure_per_unit=delta * cs * underlying,
        notional_per_unit=cs * underlying,
        margin_per_unit=mark * cs,
        short_margin_per_unit=0.2 * underlying * cs,
        settle_rate=1.0,
        fee_per_contract=fee_per_contract,
        contract_size=cs,
        is_option=True,
        delta_per_unit=delta * cs * underlying,
        gamma_per_unit=gamma * underlying * underlying * cs / 100.0,
        vega_per_unit=vega * cs,
        scenario_per_unit=None if grid is None else np.asarray(grid, dtype=float),
        underlying_price=underlying,
    )


def depth(
    asks: list[tuple[float, float]], bids: list[tuple[float, float]] | None = None
) -> OrderBook:
    """An order book from (price, size) levels, best first."""
    bids = bids if bids is not None else [(p - 1.0, s) for p, s in asks]
    return OrderBook(
        bids=OrderBookSide(np.array([p for p, _ in bids]), np.array([s for _, s in bids])),
        asks=OrderBookSide(np.array([p for p, _ in asks]), np.array([s for _, s in asks])),
    )


def make_book(
    *instruments: InstrumentRisk,
    equity: float = EQUITY,
    day_start: float | None = None,
    peak: float | None = None,
    state: TradingState = TradingState.ACTIVE,
    available: float = 10_000_000.0,
    leverage: float = 1.0,
) -> RiskBook:
    """A flat book over the given instruments (a linear BTC perp by default)."""
    book = RiskBook(
        as_of=NOW,
        equity=equity,
        day_start_equity=day_start,
        peak_equity=peak if peak is not None else equity,
        state=state,
    )
    for inst in instruments or (linear(),):
        book.instruments[inst.key] = inst
        for settle in (inst.settle,):
            book.available[(ACCT, settle)] = available
    book.account_leverage[ACCT] = leverage
    return book


def hold(book: RiskBook, key: str, qty: float, slot: str = "net") -> RiskBook:
    """Add a position through the incremental aggregates, then refresh the book-wide caches the
    way a rebuild does (``RiskBook.apply_fill`` leaves ``delta_sum`` and ``scenario_worst``
    stale: that bug is pinned on its own in test_risk_limits_properties.py)."""
    book.apply_fill(ACCT, key, slot, qty)
    if hasattr(book, "delta_sum"):
        book.delta_sum = float(sum(book.asset_delta.values()))
    if hasattr(book, "scenario_worst") and book.scenario_sum is not None:
        book.scenario_worst = float(book.scenario_sum.min())
    return book


_ids = itertools.count(1)


def intent(
    qty: str | Decimal | float,
    side: str = "buy",
    *,
    inst: Instrument = PERP,
    **kw: Any,
) -> OrderIntent:
    """A market order for ``qty`` contracts of ``inst`` (keyword arguments override fields)."""
    if kw.get("price") is not None and "order_type" not in kw:
        kw["order_type"] = OrderType.LIMIT
    for name in ("price", "stop_price", "protective_stop", "leverage"):
        if kw.get(name) is not None:
            kw[name] = Decimal(str(kw[name]))
    if isinstance(kw.get("position_side"), str):
        kw["position_side"] = PositionSide(kw["position_side"])
    return OrderIntent(
        intent_id=kw.pop("intent_id", f"i{next(_ids)}"),
        account_id=kw.pop("account_id", ACCT),
        venue=inst.venue,
        symbol=inst.symbol,
        side=Side(side),
        qty=Decimal(str(qty)),
        **kw,
    )


def run(
    eng: PreTradeEngine,
    order: OrderIntent,
    book: RiskBook,
    now: datetime = NOW,
) -> Decision:
    """Check ``order`` against its own instrument."""
    return eng.check(order, INSTRUMENTS[order.instrument_key], book, now)


def approved(decision: Decision) -> Approved:
    assert isinstance(decision, Approved), decision
    return decision


def denied(decision: Decision, code: RiskCode) -> Denied:
    """The decision is a denial whose primary code is ``code``."""
    assert isinstance(decision, Denied), decision
    assert decision.code is code, decision
    return decision


def codes(decision: Decision) -> list[RiskCode]:
    """Codes of every denial (empty for an approval)."""
    return [d.code for d in decision.all] if isinstance(decision, Denied) else []


_NUMBER = re.compile(r"at most ([0-9.eE+-]+)")


def suggested_qty(text: str, lot: Decimal) -> Decimal:
    """The quantity in an "at most N contracts" suggestion, rounded down to ``lot``."""
    match = _NUMBER.search(text)
    assert match, text
    value = Decimal(match.group(1))
    return (value / lot).to_integral_value(rounding="ROUND_FLOOR") * lot


def later(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)
