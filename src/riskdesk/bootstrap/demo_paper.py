"""Wiring of the demo's governed paper trading: the engine loop of ``riskdesk run --replay``
for the paper twins of the demo's perpetual positions, over the demo's store.

The twins get their own manual clock (moved to each bar's close by the engine), their own paper
venue file next to the demo database (recreated with it), an order manager whose ledger sees only
the twins' accounts (the supervisor must not try to protect the recorded positions of other
venues on the paper venue), and a governance service restricted to those accounts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from riskdesk.adapters.clock import ManualClock
from riskdesk.adapters.persistence import SqlStore
from riskdesk.application.book_service import BookService
from riskdesk.application.demo_governance import PaperDesk
from riskdesk.application.engine import (
    EngineConfig,
    GovernancePlanSource,
    ScriptedEntries,
    ScriptedEntry,
    TradingEngine,
)
from riskdesk.application.oms import PositionLine
from riskdesk.application.risk_service import RiskService
from riskdesk.bootstrap.governance_settings import BarFileSettings, build_governance_service
from riskdesk.bootstrap.oms_wiring import CsvBarFeed, build_oms, open_paper_account
from riskdesk.bootstrap.settings import Settings
from riskdesk.domain.fills import Fill
from riskdesk.domain.governance.profile import timeframe_seconds
from riskdesk.domain.matching import Candle
from riskdesk.domain.orders import OrderIntent, OrderType
from riskdesk.domain.values import Side
from riskdesk.ports.market_data import PaperTwins


class AccountsLedger:
    """The ledger port over the book, showing the order manager only some accounts' positions
    (the supervisor protects what it sees)."""

    def __init__(self, book: BookService, store: SqlStore, accounts: frozenset[str]) -> None:
        self._book = book
        self._store = store
        self._accounts = sorted(accounts)

    def apply_fills(self, fills: Sequence[Fill]) -> object:
        """Book fills (idempotent by venue and fill id)."""
        return self._book.apply_fills(list(fills))

    def open_positions(self) -> list[PositionLine]:
        """Open positions of the accounts."""
        with self._store() as uow:
            known = [uow.accounts.get(a) for a in self._accounts]
            books = [uow.books.load(a) for a in known if a is not None]
        return [
            PositionLine(p.account_id, p.instrument_key, p.slot, p.qty, p.entry_price)
            for b in books
            for p in b.open_positions()
        ]


class TwinFeed:
    """The same bars for several instruments (the twins all trade BTC)."""

    def __init__(self, keys: Sequence[str], feed: CsvBarFeed) -> None:
        self._keys = tuple(keys)
        self._feed = feed
        self.length = feed.length

    def steps(
        self, after: datetime | None, until: datetime | None
    ) -> Iterator[tuple[datetime, Mapping[str, Candle]]]:
        """Steps of the underlying feed, one candle per instrument."""
        for bar, candles in self._feed.steps(after, until):
            candle = candles[self._feed.key]
            yield bar, {key: candle for key in self._keys}


def paper_file(url: str, data_dir: Path) -> Path:
    """The twins' paper venue file: next to a SQLite demo database, else in ``data_dir``."""
    if url.startswith("sqlite:///") and url.removeprefix("sqlite:///") not in ("", ":memory:"):
        db = Path(url.removeprefix("sqlite:///"))
        return db.with_name(db.stem + ".paper-twins.db")
    return data_dir / "demo.paper-twins.db"


def paper_desk(
    settings: Settings,
    url: str,
    store: SqlStore,
    book: BookService,
    risk: RiskService,
    twins: PaperTwins,
) -> PaperDesk:
    """The twins' engine over the demo's store (the venue file is recreated)."""
    clock = ManualClock(twins.start)
    path = paper_file(url, settings.data_dir)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    venue = twins.instruments[0].venue
    paper = settings.oms.paper.model_copy(update={"state_file": path, "venue": venue})
    oms_settings = settings.oms.model_copy(update={"paper": paper})
    oms = build_oms(
        settings.model_copy(update={"oms": oms_settings}), url, store, book, risk, clock
    )
    accounts = frozenset(a.account_id for a in twins.accounts)
    oms.orders.ledger = AccountsLedger(book, store, accounts)
    bars = {
        i.key: BarFileSettings(file=twins.bars, timeframe=twins.timeframe)
        for i in twins.instruments
    }
    governance = build_governance_service(
        settings.governance.model_copy(update={"accounts": sorted(accounts), "bars": bars}),
        book,
        risk,
        store,
        clock,
    )
    instruments = {i.key: i for i in twins.instruments}
    entries = [
        ScriptedEntry(
            e.at,
            OrderIntent(
                intent_id=f"demo-twin:{e.account_id}:{e.instrument_key}:{e.at.isoformat()}",
                account_id=e.account_id,
                venue=instruments[e.instrument_key].venue,
                symbol=instruments[e.instrument_key].symbol,
                side=Side.parse(e.side),
                qty=instruments[e.instrument_key].check_qty(e.qty, "qty"),
                order_type=OrderType.MARKET,
                leverage=e.leverage,
                source="demo twin",
            ),
            e.profile,
        )
        for e in twins.entries
    ]
    source = GovernancePlanSource(governance)
    engine = TradingEngine(
        oms,
        book,
        clock,
        clock.set,
        [ScriptedEntries(entries, oms.orders, governance), source],
        {key: inst.base for key, inst in instruments.items()},
        EngineConfig(transfer_every=None, source="demo twins"),
    )
    length = timedelta(seconds=timeframe_seconds(twins.timeframe))
    first = next(iter(instruments))
    feed = TwinFeed(
        list(instruments), CsvBarFeed(first, twins.bars, length, twins.start, twins.end)
    )

    def prepare() -> None:
        book.register_instruments(list(twins.instruments))
        for account, deposit in zip(twins.accounts, twins.deposits, strict=True):
            open_paper_account(
                book,
                oms,
                account,
                deposit.amount,
                deposit.currency,
                deposit.reference,
                deposit.ts,
            )

    return PaperDesk(
        description=twins.description,
        book=book,
        engine=engine,
        feed=feed,
        governance=governance,
        plans=source,
        accounts=accounts,
        entries=twins.entries,
        prepare=prepare,
        intents={e.intent.intent_id: twin for e, twin in zip(entries, twins.entries, strict=True)},
    )


__all__ = ["AccountsLedger", "TwinFeed", "paper_desk", "paper_file"]
