"""Builders for the persistence tests: a small catalog, accounts, fills and row counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from riskdesk.adapters.persistence import SqlStore
from riskdesk.adapters.persistence import tables as t
from riskdesk.domain.accounting.book import Account, PositionMode
from riskdesk.domain.fills import Fill, MarginMode
from riskdesk.domain.instruments import (
    MarginTier,
    crypto_option,
    equity_option,
    perpetual_or_future,
    spot,
)

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
VENUE = "paper"

TIERS = (
    MarginTier(Decimal(0), Decimal(50000), Decimal("0.004"), Decimal(125), Decimal(0)),
    MarginTier(Decimal(50000), Decimal(600000), Decimal("0.005"), Decimal(100), Decimal(50)),
)
SPOT = spot("BTC/USDT", VENUE, tick_size="0.01", lot_size="0.00001", taker_fee_rate="0.001")
LINEAR = perpetual_or_future(
    "BTC/USDT:USDT", VENUE, tick_size="0.1", lot_size="0.001", margin_tiers=TIERS
)
#: Coin-margined, 10 USD per contract: values carry 18 decimal places (the ledger quantum).
INVERSE = perpetual_or_future(
    "BTC/USD:BTC", VENUE, tick_size="0.5", lot_size="1", contract_size="10"
)
FUTURE = perpetual_or_future("BTC/USD:BTC-251226", "deribit", tick_size="0.5", lot_size="1")
EQUITY_OPTION = equity_option("TSLA250919P00390000", VENUE)
CRYPTO_OPTION = crypto_option("BTC-27DEC24-100000-C")
CATALOG = (SPOT, LINEAR, INVERSE, FUTURE, EQUITY_OPTION, CRYPTO_OPTION)

NETTING = Account("acct-net", VENUE, name="Netting account")
HEDGE = Account(
    "acct-hedge",
    VENUE,
    position_mode=PositionMode.HEDGE,
    default_margin_mode=MarginMode.ISOLATED,
    default_leverage=Decimal(10),
    reporting_currency="USDT",
)


def seed(store: SqlStore, *accounts: Account) -> None:
    """Store the catalog and the given accounts (both test accounts by default)."""
    with store() as uow:
        for instrument in CATALOG:
            uow.instruments.put(instrument)
        for account in accounts or (NETTING, HEDGE):
            uow.accounts.put(account)
        uow.commit()


def fill(
    n: int,
    side: str,
    qty: str,
    price: str,
    *,
    account: Account = NETTING,
    symbol: str = LINEAR.symbol,
    fee: str = "0",
    position_side: str | None = None,
    minutes: int | None = None,
) -> Fill:
    """Fill number ``n`` (id ``f<n>``), ``n`` minutes after ``T0`` unless told otherwise."""
    return Fill.create(
        venue=VENUE,
        fill_id=f"f{n}",
        account_id=account.account_id,
        symbol=symbol,
        side=side,
        qty=qty,
        price=price,
        ts=T0 + timedelta(minutes=n if minutes is None else minutes),
        fee=fee,
        position_side=position_side,
    )


def count(store: SqlStore, table: str) -> int:
    """Rows in ``table`` (read in a fresh unit of work, so only committed rows count)."""
    with store() as uow:
        return int(
            uow.connection.scalar(select(func.count()).select_from(t.metadata.tables[table])) or 0
        )


def counts(store: SqlStore) -> dict[str, int]:
    """Rows per table, for "nothing changed" checks."""
    return {name: count(store, name) for name in t.metadata.tables}
