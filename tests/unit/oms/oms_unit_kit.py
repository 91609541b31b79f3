"""A small desk for order-management unit tests: a linear BTC perpetual on the paper venue, a
manual clock, and the real order manager, conditional engine and supervisor over the in-memory
journal and ledger."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from riskdesk.adapters.brokers.faults import FaultInjector
from riskdesk.adapters.brokers.paper import PaperBroker, PaperConfig
from riskdesk.adapters.clock import ManualClock
from riskdesk.application.conditionals import ConditionalEngine
from riskdesk.application.oms import AllowAll, NoSleep, OmsConfig, OrderManager, RiskGate
from riskdesk.application.oms_memory import MemoryLedger, MemoryOmsJournal
from riskdesk.application.recovery import Recovery
from riskdesk.application.supervisor import ProtectionSupervisor, SupervisorConfig
from riskdesk.domain.accounting.book import Account
from riskdesk.domain.fills import MarginMode
from riskdesk.domain.instruments import Instrument, perpetual_or_future, spot
from riskdesk.domain.matching import Candle, MatchingModel, Quote
from riskdesk.domain.orders import OrderIntent, OrderType, TimeInForce, TriggerPrice
from riskdesk.domain.risk.monitors import Alert
from riskdesk.domain.values import PositionSide, Side
from riskdesk.ports.broker import BrokerCapabilities

T0 = datetime(2019, 10, 7, tzinfo=UTC)
VENUE = "paper"
ACCT = "acct"
PERP = perpetual_or_future(
    "BTC/USDT:USDT",
    VENUE,
    tick_size="0.1",
    lot_size="0.001",
    maker_fee_rate="0.0002",
    taker_fee_rate="0.0004",
)
ETH = perpetual_or_future("ETH/USDT:USDT", VENUE, tick_size="0.01", lot_size="0.01")
SPOT = spot("BTC/USDT", VENUE, tick_size="0.01", lot_size="0.00001", taker_fee_rate="0.001")
CATALOG: dict[str, Instrument] = {i.key: i for i in (PERP, ETH, SPOT)}
D = Decimal


def intent(
    intent_id: str,
    side: str = "buy",
    qty: str = "1",
    kind: OrderType = OrderType.MARKET,
    *,
    price: str | None = None,
    stop: str | None = None,
    reduce_only: bool = False,
    post_only: bool = False,
    tif: TimeInForce = TimeInForce.GTC,
    trigger: TriggerPrice = TriggerPrice.MARK,
    symbol: str = PERP.symbol,
    account: str = ACCT,
    leverage: str | None = "10",
    protective_stop: str | None = None,
) -> OrderIntent:
    """An order intent with test defaults (1 BTC perpetual at market, 10x)."""
    return OrderIntent(
        intent_id=intent_id,
        account_id=account,
        venue=VENUE,
        symbol=symbol,
        side=Side(side),
        qty=D(qty),
        order_type=kind,
        price=None if price is None else D(price),
        stop_price=None if stop is None else D(stop),
        reduce_only=reduce_only,
        post_only=post_only,
        tif=tif,
        position_side=PositionSide.NET,
        trigger=trigger,
        leverage=None if leverage is None else D(leverage),
        protective_stop=None if protective_stop is None else D(protective_stop),
    )


def candle(ts: datetime, o: str, h: str, lo: str, c: str) -> Candle:
    """An hourly bar."""
    return Candle(ts, D(o), D(h), D(lo), D(c))


@dataclass
class Desk:
    """The wired stack and helpers."""

    clock: ManualClock
    broker: PaperBroker
    journal: MemoryOmsJournal
    ledger: MemoryLedger
    oms: OrderManager
    cond: ConditionalEngine
    sup: ProtectionSupervisor
    recovery: Recovery
    sleeper: NoSleep
    alerts: list[Alert] = field(default_factory=list)

    def bar(self, o: str, h: str, lo: str, c: str, key: str = PERP.key) -> int:
        """Feed the next hourly bar to the venue and the conditions; returns venue executions."""
        ts = self.clock.now()
        self.clock.advance(timedelta(hours=1))
        made = self.broker.on_candle(key, candle(ts, o, h, lo, c))
        self.oms.sync()
        self.cond.on_candle(key, candle(ts, o, h, lo, c))
        self.oms.sync()
        return made

    def quote(self, bid: str, ask: str, key: str = PERP.key, mark: str | None = None) -> int:
        """Feed a quote (mark: the mid unless given)."""
        m = D(mark) if mark is not None else (D(bid) + D(ask)) / 2
        made = self.broker.on_quote(
            key, Quote(self.clock.now(), D(bid), D(ask), mark=m, last=m, index=m)
        )
        self.oms.sync()
        self.cond.on_price(key, TriggerPrice.MARK, m)
        self.oms.sync()
        return made

    def position(self, key: str = PERP.key) -> Decimal:
        """Signed ledger position."""
        return sum((p.qty for p in self.ledger.open_positions() if p.instrument_key == key), D(0))

    def venue_position(self, key: str = PERP.key) -> Decimal:
        """Signed venue position."""
        return sum((p.qty for p in self.broker.positions() if p.instrument_key == key), D(0))

    def ledger_equals_venue(self) -> bool:
        """Positions and cash agree."""
        ours = {(p.account_id, p.instrument_key): p.qty for p in self.ledger.open_positions()}
        theirs = {(p.account_id, p.instrument_key): p.qty for p in self.broker.positions()}
        if ours != theirs:
            return False
        for account_id, book in self.ledger.books.items():
            venue = {b.currency: b.total for b in self.broker.balances(account_id)}
            if any(venue.get(c, D(0)) != a for c, a in book.balances.items()):
                return False
        return True


def make_desk(
    *,
    capabilities: BrokerCapabilities | None = None,
    model: MatchingModel | None = None,
    risk: RiskGate | None = None,
    deposit: str = "100000",
    faults: list[str] | None = None,
    config: OmsConfig | None = None,
    supervisor: SupervisorConfig | None = None,
    margin_mode: MarginMode = MarginMode.CROSS,
) -> Desk:
    """The stack over a funded cross-margin account (100,000 USDT)."""
    clock = ManualClock(T0)
    broker = PaperBroker(
        CATALOG.get,
        clock,
        PaperConfig(
            model=model or MatchingModel(),
            capabilities=capabilities or BrokerCapabilities(native_oco=True),
        ),
        faults=FaultInjector.parse(faults or []),
    )
    account = Account(ACCT, VENUE, default_margin_mode=margin_mode, default_leverage=D(10))
    broker.open_account(account)
    broker.deposit(ACCT, "USDT", D(deposit), "d0")
    ledger = MemoryLedger(CATALOG.get)
    ledger.open(account)
    ledger.books[ACCT].move_cash("USDT", D(deposit), T0, "deposit", (VENUE, "cash:d0"))
    journal = MemoryOmsJournal()
    sleeper = NoSleep()
    oms = OrderManager(
        journal,
        broker,
        ledger,
        risk or AllowAll(),
        clock,
        CATALOG.get,
        ledger.has,
        sleeper,
        config or OmsConfig(),
    )
    cond = ConditionalEngine(journal, oms, clock)
    alerts: list[Alert] = []

    def mark(key: str) -> Decimal | None:
        q = broker.last_quote(key)
        return None if q is None else q.mark

    sup = ProtectionSupervisor(journal, oms, cond, clock, mark, alerts.append, supervisor)
    recovery = Recovery(oms, cond, sup, clock, alerts.append)
    return Desk(clock, broker, journal, ledger, oms, cond, sup, recovery, sleeper, alerts)


class Crash(BaseException):
    """A simulated kill at a crash point (nothing after it runs)."""


def crash_at(point: str, n: int = 1) -> Callable[[str], None]:
    """A checkpoint that "kills" (raises :class:`Crash`) the n-th time ``point`` is reached."""
    seen = [0]

    def checkpoint(name: str) -> None:
        if name == point:
            seen[0] += 1
            if seen[0] == n:
                raise Crash(point)

    return checkpoint


def restart(
    desk: Desk,
    *,
    risk: RiskGate | None = None,
    intended: Callable[[], Mapping[str, Decimal]] | None = None,
) -> Desk:
    """New services over the same journal, ledger and venue (the process restarted)."""
    oms = OrderManager(
        desk.journal,
        desk.broker,
        desk.ledger,
        risk or AllowAll(),
        desk.clock,
        CATALOG.get,
        desk.ledger.has,
        desk.sleeper,
        desk.oms.config,
    )
    cond = ConditionalEngine(desk.journal, oms, desk.clock)

    def mark(key: str) -> Decimal | None:
        q = desk.broker.last_quote(key)
        return None if q is None else q.mark

    sup = ProtectionSupervisor(
        desk.journal, oms, cond, desk.clock, mark, desk.alerts.append, desk.sup.config
    )
    recovery = Recovery(oms, cond, sup, desk.clock, desk.alerts.append, intended or (lambda: {}))
    return replace(desk, oms=oms, cond=cond, sup=sup, recovery=recovery)
