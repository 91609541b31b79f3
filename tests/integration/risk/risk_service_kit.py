"""A small real book behind RiskService: one SQLite (or PostgreSQL) store, a manual clock, a
USDT account with a BTC perpetual, BTC spot and an ETH perpetual."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from riskdesk.adapters.clock import ManualClock
from riskdesk.application.risk_service import RiskService
from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import Runtime, build
from riskdesk.domain.accounting.book import Account
from riskdesk.domain.fills import Fill, MarginMode
from riskdesk.domain.instruments import perpetual_or_future, spot
from riskdesk.domain.orders import OrderIntent, OrderType
from riskdesk.domain.values import PositionSide, Side

#: Day 1 of the book; day starts are UTC midnights.
DAY = datetime(2025, 3, 3, tzinfo=UTC)
T0 = DAY + timedelta(hours=12)
VENUE = "paper"
ACCT = "acct"

PERP = perpetual_or_future("BTC/USDT:USDT", VENUE, tick_size="0.1", lot_size="0.001")
ETH = perpetual_or_future("ETH/USDT:USDT", VENUE, tick_size="0.01", lot_size="0.01")
SPOT = spot("BTC/USDT", VENUE, tick_size="0.01", lot_size="0.00001")
INVERSE = perpetual_or_future(
    "BTC/USD:BTC", VENUE, tick_size="0.5", lot_size="1", contract_size="10"
)
CATALOG = (PERP, ETH, SPOT, INVERSE)

_fill_ids = itertools.count(1)
_intent_ids = itertools.count(1)


@dataclass
class Desk:
    """A built application, its clock and a few helpers."""

    rt: Runtime
    clock: ManualClock

    @property
    def risk(self) -> RiskService:
        return self.rt.app.risk

    def fill(
        self,
        side: str,
        qty: str,
        price: str,
        *,
        symbol: str = PERP.symbol,
        at: datetime | None = None,
        fee: str = "0",
        account: str = ACCT,
        leverage: str | None = None,
        margin_mode: MarginMode | None = None,
        position_side: str | None = None,
    ) -> None:
        ts = at or self.clock.now()
        self.rt.app.book.apply_fills(
            [
                Fill.create(
                    venue=VENUE,
                    fill_id=f"f{next(_fill_ids)}",
                    account_id=account,
                    symbol=symbol,
                    side=side,
                    qty=qty,
                    price=price,
                    ts=ts,
                    fee=fee,
                    fee_currency="USDT" if fee != "0" else None,
                    leverage=leverage,
                    margin_mode=margin_mode,
                    position_side=position_side,
                )
            ]
        )

    def marks(self, at: datetime | None = None, **prices: str) -> None:
        """Record marks by short name (perp, eth, spot, inverse) and the BTC/ETH asset prices."""
        keys = {"perp": PERP.key, "eth": ETH.key, "spot": SPOT.key, "inverse": INVERSE.key}
        marks = {keys[k]: Decimal(v) for k, v in prices.items()}
        assets: dict[str, Decimal] = {}
        if "perp" in prices:
            assets["BTC"] = Decimal(prices["perp"])
        if "eth" in prices:
            assets["ETH"] = Decimal(prices["eth"])
        self.rt.app.book.record_prices(marks, assets, at or self.clock.now(), "test")

    def snapshot(self, at: datetime | None = None) -> None:
        self.rt.app.book.snapshot(None, at or self.clock.now())

    reopened: list[Desk] = field(default_factory=list)

    def reopen(self, settings: Settings | None = None) -> Desk:
        """A second application over the same database (what a restart builds)."""
        rt = build(settings or Settings(), self.rt.url, clock=self.clock, migrate=False)
        other = Desk(rt, self.clock)
        self.reopened.append(other)
        return other

    def dispose(self) -> None:
        for other in self.reopened:
            other.dispose()
        self.rt.store.dispose()


DeskFactory = Callable[..., Desk]


def make_desk(
    db: str,
    *,
    settings: Settings | None = None,
    start: datetime = T0,
    deposit: str = "100000",
    leverage: str = "1",
    migrate: bool = False,
) -> Desk:
    """The catalog, one cross-margin account and a USDT deposit the day before DAY, over an
    already migrated store (the ``sqlite_url``/``store_url`` fixtures)."""
    clock = ManualClock(start)
    rt = build(settings or Settings(), db, clock=clock, migrate=migrate)
    rt.app.book.register_instruments(CATALOG)
    rt.app.book.register_account(Account(ACCT, VENUE, default_leverage=Decimal(leverage)))
    rt.app.book.move_cash(
        ACCT, "USDT", Decimal(deposit), DAY - timedelta(days=1), "deposit", "dep-1"
    )
    return Desk(rt, clock)


def order(
    qty: str,
    side: str = "buy",
    *,
    symbol: str = PERP.symbol,
    **kw: Any,
) -> OrderIntent:
    for name in ("price", "stop_price", "protective_stop", "leverage"):
        if kw.get(name) is not None:
            kw[name] = Decimal(str(kw[name]))
    if kw.get("price") is not None and "order_type" not in kw:
        kw["order_type"] = OrderType.LIMIT
    if isinstance(kw.get("position_side"), str):
        kw["position_side"] = PositionSide(kw["position_side"])
    return OrderIntent(
        intent_id=kw.pop("intent_id", f"it{next(_intent_ids)}"),
        account_id=kw.pop("account_id", ACCT),
        venue=VENUE,
        symbol=symbol,
        side=Side(side),
        qty=Decimal(qty),
        **kw,
    )
