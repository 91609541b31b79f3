"""Shared builders for the domain unit tests: instruments, fills, book snapshots, exact sums."""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from riskdesk.domain.accounting.book import Account, Book, PositionMode
from riskdesk.domain.accounting.position import Position
from riskdesk.domain.fills import Fill, FundingPayment, MarginMode
from riskdesk.domain.instruments import (
    Instrument,
    crypto_option,
    equity_option,
    perpetual_or_future,
    spot,
)

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
VENUE = "paper"
ACCOUNT = "acct-1"

SPOT = spot("BTC/USDT", VENUE, tick_size="0.01", lot_size="0.0001")
ETH_SPOT = spot("ETH/USDT", VENUE, tick_size="0.01", lot_size="0.001")
LINEAR = perpetual_or_future("BTC/USDT:USDT", VENUE, tick_size="0.1", lot_size="0.001")
ETH_LINEAR = perpetual_or_future("ETH/USDT:USDT", VENUE, tick_size="0.01", lot_size="0.01")
#: Coin-margined, 10 USD per contract (Deribit BTC-PERPETUAL's size).
INVERSE = perpetual_or_future(
    "BTC/USD:BTC", VENUE, tick_size="0.5", lot_size="1", contract_size="10"
)
EQUITY_OPTION = equity_option("TSLA250919P00390000", VENUE)
CRYPTO_OPTION = crypto_option("BTC-27DEC24-100000-C", VENUE)

ALL = (SPOT, ETH_SPOT, LINEAR, ETH_LINEAR, INVERSE, EQUITY_OPTION, CRYPTO_OPTION)
BY_KEY = {i.key: i for i in ALL}


def exact(*values: Decimal) -> Decimal:
    """Sum without rounding (independent of the ledger's own arithmetic contexts)."""
    with decimal.localcontext() as ctx:
        ctx.prec = 200
        ctx.traps[decimal.Inexact] = True
        return sum(values, Decimal(0))


def exact_mul(*values: Decimal) -> Decimal:
    """Product without rounding."""
    with decimal.localcontext() as ctx:
        ctx.prec = 200
        ctx.traps[decimal.Inexact] = True
        result = Decimal(1)
        for v in values:
            result *= v
        return result


class Counter:
    """Unique fill ids."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"f{self.n}"


_ids = Counter()


def make_fill(
    inst: Instrument,
    side: str,
    qty: Any,
    price: Any,
    *,
    fill_id: str | None = None,
    fee: Any = 0,
    fee_currency: str | None = None,
    position_side: str | None = None,
    leverage: Any = None,
    margin_mode: MarginMode | str | None = None,
    ts: datetime = T0,
    account_id: str = ACCOUNT,
) -> Fill:
    return Fill.create(
        venue=inst.venue,
        fill_id=fill_id or _ids(),
        account_id=account_id,
        symbol=inst.symbol,
        side=side,
        qty=Decimal(str(qty)),
        price=Decimal(str(price)),
        ts=ts,
        fee=Decimal(str(fee)),
        fee_currency=fee_currency,
        position_side=position_side,
        leverage=None if leverage is None else Decimal(str(leverage)),
        margin_mode=margin_mode,
    )


def funding(
    inst: Instrument,
    rate: Any,
    mark: Any,
    *,
    ts: datetime = T0 + timedelta(hours=8),
    position_side: str | None = None,
) -> FundingPayment:
    return FundingPayment.create(
        venue=inst.venue,
        account_id=ACCOUNT,
        symbol=inst.symbol,
        rate=Decimal(str(rate)),
        mark_price=Decimal(str(mark)),
        ts=ts,
        position_side=position_side,
    )


def new_book(
    balances: dict[str, Any] | None = None,
    mode: PositionMode = PositionMode.NETTING,
    margin_mode: MarginMode = MarginMode.CROSS,
    leverage: Any = 1,
) -> Book:
    account = Account(
        ACCOUNT,
        VENUE,
        position_mode=mode,
        default_margin_mode=margin_mode,
        default_leverage=Decimal(str(leverage)),
    )
    return Book(account, {k: Decimal(str(v)) for k, v in (balances or {}).items()})


def state(book: Book) -> tuple[dict[str, Decimal], dict[Any, Position], frozenset[Any]]:
    """Everything observable about a book, as a comparable value (balances with their exact
    representation, positions, applied keys)."""
    balances = {k: v for k, v in book.balances.items()}
    return balances, dict(book.positions), frozenset(book.applied)


def strip_ids(positions: Iterable[Position]) -> list[Position]:
    """Positions without their (fill-id derived) identity, sorted by slot, for comparisons."""
    return sorted(
        (replace(p, position_id="") for p in positions),
        key=lambda p: (p.instrument_key, p.slot.value),
    )
