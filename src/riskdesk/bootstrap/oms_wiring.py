"""Wiring of the order-management services: the paper venue and its state file, the order
manager over the SQL journal, the conditional engine, the supervisor, recovery, transfers, the
crash hook of the fault tests, and the replay ``riskdesk run --replay`` trades on.

The crash hook is the only place the environment is read for it: ``RISKDESK_CRASH_AT=<point>``
(or ``<point>:<n>`` for the n-th time the point is reached) makes the process kill itself with
SIGKILL right after that point — no cleanup, no flush, exactly like a crash.
"""

from __future__ import annotations

import csv
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from riskdesk.adapters.brokers.faults import FaultInjector
from riskdesk.adapters.brokers.paper import PaperBroker, PaperConfig
from riskdesk.adapters.brokers.paper_store import PaperStore
from riskdesk.adapters.clock import ManualClock
from riskdesk.adapters.market_data.bundled import data_text
from riskdesk.adapters.persistence import SqlStore
from riskdesk.application.book_service import BookService
from riskdesk.application.conditionals import ConditionalEngine
from riskdesk.application.engine import (
    BookLedger,
    EngineConfig,
    GovernancePlanSource,
    Oms,
    ScriptedEntries,
    ScriptedEntry,
    ServiceRiskGate,
    StoreAlerts,
    TradingEngine,
)
from riskdesk.application.governance_service import GovernanceService
from riskdesk.application.oms import Checkpoint, OrderManager, no_checkpoint
from riskdesk.application.recovery import Recovery
from riskdesk.application.risk_service import RiskService
from riskdesk.application.supervisor import ProtectionSupervisor
from riskdesk.application.transfer_service import TransferAccounts, TransferService
from riskdesk.bootstrap.governance_settings import BarFileSettings, build_governance_service
from riskdesk.bootstrap.oms_settings import OmsSettings, PaperSettings, ReplaySettings
from riskdesk.bootstrap.settings import Settings
from riskdesk.domain.accounting.book import Account
from riskdesk.domain.errors import ConfigError, InvalidValue
from riskdesk.domain.fills import MarginMode
from riskdesk.domain.governance.state import Lifecycle
from riskdesk.domain.instruments import Instrument, perpetual_or_future
from riskdesk.domain.matching import Candle, MatchingModel
from riskdesk.domain.orders import OrderIntent, OrderType
from riskdesk.domain.protection import protection_key
from riskdesk.domain.values import PositionSide, Side
from riskdesk.ports.broker import BrokerCapabilities
from riskdesk.ports.clock import Clock

CRASH_ENV = "RISKDESK_CRASH_AT"


def crash_checkpoint(environ: Mapping[str, str] | None = None) -> Checkpoint:
    """The checkpoint the order manager calls at its crash points: kills the process (SIGKILL)
    at the point named in ``RISKDESK_CRASH_AT`` (``point`` or ``point:n``), else does nothing."""
    spec = (environ if environ is not None else os.environ).get(CRASH_ENV, "").strip()
    if not spec:
        return no_checkpoint
    point, _, nth = spec.partition(":")
    target = int(nth) if nth.isdigit() and int(nth) > 0 else 1
    seen = [0]

    def checkpoint(name: str) -> None:
        if name != point:
            return
        seen[0] += 1
        if seen[0] == target:
            os.kill(os.getpid(), signal.SIGKILL)

    return checkpoint


#: Longest slice of an interruptible wait, seconds (how fast a Ctrl-C ends replay pacing).
WAIT_SLICE_SECONDS = 0.05


class SystemSleeper:
    """Really waits (live use: retry backoff, replay pacing). ``interrupted``, when given, is
    asked every :data:`WAIT_SLICE_SECONDS`: a wait ends early once it answers True (Ctrl-C)."""

    def __init__(self, interrupted: Callable[[], bool] | None = None) -> None:
        self.interrupted = interrupted

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of wall time (less when interrupted)."""
        if seconds <= 0:
            return
        if self.interrupted is None:
            time.sleep(seconds)
            return
        end = time.monotonic() + seconds
        while not self.interrupted():
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, WAIT_SLICE_SECONDS))


def paper_state_path(paper: PaperSettings, url: str, data_dir: Path) -> Path | None:
    """The paper venue's file: configured, else next to a SQLite database file, else in
    ``data_dir``; None (in memory) for an in-memory database."""
    if paper.state_file is not None:
        return paper.state_file.expanduser()
    if url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///"))
        if str(db) in ("", ":memory:"):
            return None
        return db.with_name(db.stem + ".paper.db")
    if url.startswith("sqlite:"):
        return None
    return data_dir / "paper.db"


def paper_config(paper: PaperSettings) -> PaperConfig:
    """The paper venue's configuration from settings."""
    return PaperConfig(
        venue=paper.venue,
        model=MatchingModel(
            slippage_bps=paper.slippage_bps,
            bar_half_spread_bps=paper.bar_half_spread_bps,
            max_fill_fraction=paper.max_fill_fraction,
            latency=timedelta(milliseconds=paper.latency_ms),
        ),
        capabilities=BrokerCapabilities(
            native_stop=paper.native_stop,
            native_take_profit=paper.native_take_profit,
            native_amend=paper.native_amend,
            native_oco=paper.native_oco,
            stop_edits_per_second=paper.stop_edits_per_second,
            stop_edit_burst=paper.stop_edit_burst,
        ),
        default_leverage=paper.default_leverage,
        rate_limit_per_second=paper.rate_limit_per_second,
        rate_limit_burst=paper.rate_limit_burst,
    )


def build_oms(
    settings: Settings,
    url: str,
    store: SqlStore,
    book: BookService,
    risk: RiskService,
    clock: Clock,
    checkpoint: Checkpoint | None = None,
) -> Oms:
    """The order-management services over the SQL store and the paper venue."""
    oms_settings: OmsSettings = settings.oms
    paper = oms_settings.paper
    path = paper_state_path(paper, url, settings.data_dir)
    cache: dict[str, Instrument | None] = {}

    def lookup(key: str) -> Instrument | None:
        if key not in cache or cache[key] is None:
            with store() as uow:
                cache[key] = uow.instruments.get(key)
        return cache[key]

    paper_store = PaperStore(path) if path is not None else None
    broker = PaperBroker(
        lookup, clock, paper_config(paper), paper_store, FaultInjector.parse(paper.faults)
    )
    ledger = BookLedger(book, store, broker.venue)
    gate = ServiceRiskGate(risk)
    crash = checkpoint or crash_checkpoint()
    orders = OrderManager(
        store,
        broker,
        ledger,
        gate,
        clock,
        lookup,
        ledger.has_account,
        None if isinstance(clock, ManualClock) else SystemSleeper(),
        oms_settings.retries.to_config(),
        crash,
    )
    conditionals = ConditionalEngine(store, orders, clock)

    def mark(key: str) -> Decimal | None:
        quote = broker.last_quote(key)
        if quote is not None:
            return quote.mark if quote.mark is not None else quote.mid
        with store() as uow:
            stored = uow.prices.marks().get(key)
        return None if stored is None else stored[0]

    supervisor = ProtectionSupervisor(
        store,
        orders,
        conditionals,
        clock,
        mark,
        StoreAlerts(store),
        oms_settings.supervisor.to_config(),
    )

    def intended() -> dict[str, Decimal]:
        # Governance's intended stop of every active governed position (recovery moves a
        # working stop there when a crash cut the plan that moves it).
        with store() as uow:
            states = uow.governance.states(open_only=True)
        return {
            protection_key(s.account_id, s.instrument_key, PositionSide.parse(s.slot)): s.stop_price
            for s in states
            if s.lifecycle is Lifecycle.ACTIVE and s.stop_price is not None
        }

    recovery = Recovery(orders, conditionals, supervisor, clock, StoreAlerts(store), intended)
    tsettings = oms_settings.transfers
    transfers = (
        TransferService(
            store,
            broker,
            clock,
            tsettings.to_policy(),
            TransferAccounts(
                tsettings.spot_account,
                tsettings.fut_account,
                "oms.transfers.spot_account",
                "oms.transfers.fut_account",
            ),
            book.move_cash,
            crash,
        )
        if tsettings.enabled
        else None
    )
    return Oms(
        orders=orders,
        conditionals=conditionals,
        supervisor=supervisor,
        recovery=recovery,
        transfers=transfers,
        broker=broker,
        venue=broker,
        gate=gate,
        closers=[broker.close],
    )


# ---------------------------------------------------------------------------------- replay


class CsvBarFeed:
    """Bars of one instrument from an OHLCV CSV (``timestamp_ms,open,high,low,close,volume``,
    candle open time), replayed between ``start`` and ``end`` as a live feed."""

    def __init__(
        self, instrument_key: str, file: str, length: timedelta, start: datetime, end: datetime
    ) -> None:
        path = Path(file).expanduser()
        text = path.read_text(encoding="utf-8") if path.is_absolute() else data_text(file)
        rows = sorted(csv.DictReader(text.splitlines()), key=lambda r: int(r["timestamp_ms"]))
        self.key = instrument_key
        self.length = length
        self.candles = [
            Candle(
                datetime.fromtimestamp(int(r["timestamp_ms"]) / 1000, tz=start.tzinfo),
                Decimal(r["open"]),
                Decimal(r["high"]),
                Decimal(r["low"]),
                Decimal(r["close"]),
                length,
            )
            for r in rows
        ]
        self.start = start
        self.end = end

    def steps(
        self, after: datetime | None, until: datetime | None
    ) -> Iterator[tuple[datetime, Mapping[str, Candle]]]:
        """Bars opening in [start, end], after ``after``, up to ``until``."""
        for c in self.candles:
            if c.ts < self.start or c.ts > self.end:
                continue
            if after is not None and c.ts <= after:
                continue
            if until is not None and c.ts > until:
                break
            yield c.ts, {self.key: c}


_LENGTHS = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
}


def replay_bar_length(replay: ReplaySettings) -> timedelta:
    """The bar length of the replayed file."""
    length = _LENGTHS.get(replay.timeframe)
    if length is None:
        raise ConfigError(
            f"unknown timeframe {replay.timeframe!r} (known: {', '.join(_LENGTHS)})",
            field="oms.replay.timeframe",
        )
    return length


def replay_instrument(replay: ReplaySettings, venue: str) -> Instrument:
    """The instrument the replay trades."""
    return perpetual_or_future(
        replay.symbol,
        venue,
        tick_size=replay.tick_size,
        lot_size=replay.lot_size,
        maker_fee_rate=replay.maker_fee_rate,
        taker_fee_rate=replay.taker_fee_rate,
    )


def prepare_replay(settings: Settings, book: BookService, oms: Oms) -> Instrument:
    """Register the replay's instrument and accounts (in the book and at the paper venue) and
    fund them; every step is idempotent, so a restarted run changes nothing here."""
    replay = settings.oms.replay
    venue = settings.oms.paper.venue
    inst = replay_instrument(replay, venue)
    book.register_instruments([inst])
    broker = oms.broker
    assert isinstance(broker, PaperBroker)  # noqa: S101 - replays run on the paper venue
    start = replay.start
    for account_id, amount, margin in (
        (replay.account, replay.deposit, MarginMode.ISOLATED),
        (replay.spot_account, replay.spot_deposit, MarginMode.CROSS),
    ):
        account = Account(
            account_id=account_id,
            venue=venue,
            default_margin_mode=margin,
            default_leverage=replay.leverage,
            name=f"paper ({account_id})",
        )
        known = {a.account_id for a in book.accounts()}
        if account_id not in known:
            book.register_account(account)
        broker.open_account(account)
        if amount > 0:
            reference = f"replay:deposit:{account_id}"
            book.move_cash(account_id, inst.settle, amount, start, "paper deposit", reference)
            broker.deposit(account_id, inst.settle, amount, reference)
    return inst


def replay_engine(
    settings: Settings,
    book: BookService,
    risk: RiskService,
    store: SqlStore,
    clock: Clock,
    move_clock: Callable[[datetime], None],
    oms: Oms,
) -> tuple[TradingEngine, CsvBarFeed, GovernanceService]:
    """The engine of ``riskdesk run --replay``: scripted entries and the governance management
    tick (with bars of the replayed file) as plan sources, over the paper venue."""
    replay = settings.oms.replay
    inst = prepare_replay(settings, book, oms)
    bars = dict(settings.governance.bars)
    bars[inst.key] = BarFileSettings(file=replay.file, timeframe=replay.timeframe)
    governance = build_governance_service(
        settings.governance.model_copy(update={"bars": bars}), book, risk, store, clock
    )
    entries = [
        ScriptedEntry(
            e.at,
            OrderIntent(
                intent_id=f"replay:{inst.key}:{e.at.isoformat()}:{i}",
                account_id=replay.account,
                venue=inst.venue,
                symbol=inst.symbol,
                side=Side.parse(e.side),
                qty=inst.check_qty(e.qty, "qty"),
                order_type=OrderType.MARKET,
                leverage=e.leverage or replay.leverage,
                protective_stop=e.stop,
                source="replay",
            ),
            e.profile or replay.profile,
        )
        for i, e in enumerate(replay.entries)
    ]
    tsettings = settings.oms.transfers
    engine = TradingEngine(
        oms,
        book,
        clock,
        move_clock,
        [ScriptedEntries(entries, oms.orders, governance), GovernancePlanSource(governance)],
        {inst.key: inst.base},
        EngineConfig(
            transfer_every=timedelta(seconds=tsettings.check_every_seconds)
            if tsettings.enabled
            else None
        ),
    )
    feed = CsvBarFeed(inst.key, replay.file, replay_bar_length(replay), replay.start, replay.end)
    return engine, feed, governance


__all__ = [
    "CRASH_ENV",
    "CsvBarFeed",
    "SystemSleeper",
    "build_oms",
    "crash_checkpoint",
    "open_paper_account",
    "paper_config",
    "paper_state_path",
    "paper_twins",
    "prepare_replay",
    "replay_bar_length",
    "replay_engine",
    "replay_instrument",
]


def open_paper_account(
    book: BookService,
    oms: Oms,
    account: Account,
    deposit: Decimal,
    currency: str,
    reference: str,
    ts: datetime,
) -> bool:
    """Create an account in the book and at the paper venue and fund both with the same
    deposit (idempotent by ``reference``); True when the deposit was new."""
    broker = oms.broker
    if not isinstance(broker, PaperBroker):
        raise TypeError("paper accounts exist only on the paper venue")
    if account.account_id not in {a.account_id for a in book.accounts()}:
        book.register_account(account)
    broker.open_account(account)
    if deposit <= 0:
        return False
    booked = book.move_cash(account.account_id, currency, deposit, ts, "paper deposit", reference)
    broker.deposit(account.account_id, currency, deposit, reference)
    return booked


def paper_twins(book: BookService, like: str, venue: str) -> list[Instrument]:
    """Register on the paper ``venue`` a twin of every instrument of the real venue ``like``
    (same symbol, grid, contract, fees and margin brackets) the paper venue does not list yet;
    returns the twins created. A venue without instruments is refused naming ``like``."""
    like = like.strip().lower()
    if like == venue:
        raise InvalidValue(
            f"the instruments must come from a real venue, not {venue!r}", field="like"
        )
    catalog = book.instruments()
    source = [i for i in catalog if i.venue == like]
    if not source:
        venues = sorted({i.venue for i in catalog if i.venue != venue})
        raise InvalidValue(
            f"no instrument on venue {like!r} in the catalog"
            + (f" (venues with instruments: {', '.join(venues)})" if venues else ""),
            field="like",
        )
    listed = {i.symbol for i in catalog if i.venue == venue}
    twins = [replace(i, venue=venue) for i in source if i.symbol not in listed]
    if twins:
        book.register_instruments(twins)
    return twins
