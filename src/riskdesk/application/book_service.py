"""Use cases over the book: register instruments and accounts, book fills, funding and cash,
record prices and snapshots, and read positions, summary, exposure and history.

Every write happens in one unit of work: either all of it is committed or none of it.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum

from riskdesk.application.fill_rows import ImportRejected, ParsedRow, RowError
from riskdesk.domain.accounting.book import Account, Book, BookChange
from riskdesk.domain.accounting.margin import MarginConvention, OptionMarginRates
from riskdesk.domain.accounting.portfolio import (
    Exposure,
    MarketSnapshot,
    PortfolioInputs,
    PortfolioSnapshot,
    PortfolioSummary,
    PositionView,
    position_views,
    snapshot_of,
    summary_and_exposure,
)
from riskdesk.domain.accounting.position import ClosedPosition, TradeRecord
from riskdesk.domain.accounting.position_table import PositionTable
from riskdesk.domain.accounting.rates import CurrencyRate, currency_rates
from riskdesk.domain.errors import (
    Conflict,
    InvalidValue,
    RiskdeskError,
    UnknownAccount,
    UnknownInstrument,
)
from riskdesk.domain.fills import Fill, FundingPayment, normalize_symbol
from riskdesk.domain.instruments import Instrument
from riskdesk.domain.risk.equity import max_drawdown_with_cash, peak_equity_at
from riskdesk.domain.symbols import SymbolKind
from riskdesk.domain.values import ZERO, ratio
from riskdesk.ports.clock import Clock
from riskdesk.ports.store import UnitOfWork, UnitOfWorkFactory

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class OptionMark:
    """An option with its stored mark (price currency per unit) and its underlying's price in
    the reporting currency: what an :data:`OptionDeltas` source prices."""

    instrument: Instrument
    mark: Decimal
    underlying: Decimal


#: Per-unit deltas of options (by instrument key) relative to the underlying price given, at a
#: valuation time — the pricing layer's ``option_deltas`` (wired by bootstrap). The views value
#: an option's exposure as ``delta · qty · multiplier · underlying``.
OptionDeltas = Callable[[Sequence[OptionMark], datetime], Mapping[str, Decimal]]


@dataclass(frozen=True, slots=True)
class BookConfig:
    """Plain configuration the book service needs (built by bootstrap from settings)."""

    reporting_currency: str = "USD"
    fixed_rates: Mapping[str, Decimal] = field(
        default_factory=lambda: {"USD": Decimal(1), "USDT": Decimal(1), "USDC": Decimal(1)}
    )
    conventions: Mapping[str, MarginConvention] = field(default_factory=dict)
    option_rates: OptionMarginRates = field(default_factory=OptionMarginRates)


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did."""

    applied: int
    duplicates: int
    funding: int
    positions_closed: int
    accounts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PortfolioReport:
    """Views of a scope (one account or all), with the market data they used."""

    scope: str
    as_of: datetime
    summary: PortfolioSummary
    positions: list[PositionView]
    exposure: Exposure
    missing_marks: list[str]
    mark_times: Mapping[str, datetime]
    balances: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)
    #: The rate of every currency the views valued, with its source (see ``domain.accounting
    #: .rates``); a currency the book holds that is missing here is in ``summary.unpriced``.
    rates: Mapping[str, CurrencyRate] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BalanceRow:
    """Cash of one account in one currency: ``amount`` exact in that currency, ``value`` in the
    reporting currency at ``rate`` (None when the currency is unpriced)."""

    account_id: str
    venue: str
    currency: str
    amount: Decimal
    value: Decimal | None
    rate: CurrencyRate | None


@dataclass(frozen=True, slots=True)
class Balances:
    """Wallet balances per account and currency; ``total`` in the reporting currency is None
    when a currency held is unpriced (listed in ``unpriced``)."""

    reporting_currency: str
    rows: list[BalanceRow]
    total: Decimal | None
    unpriced: tuple[str, ...]


def _shown(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(decimal.Context(prec=len(value.as_tuple().digits))), "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    return "—" if value is None else str(value)


def _normalized(fill: Fill, settle: str | None) -> Fill:
    """``fill`` with the defaults booking applies: no fee currency means the settlement
    currency, and a zero fee has no currency at all."""
    currency = None if not fill.fee else (fill.fee_currency or settle)
    return fill if currency == fill.fee_currency else replace(fill, fee_currency=currency)


def _conflict(line: int, stored: Fill, incoming: Fill, settle: str | None) -> RowError | None:
    """A row error if ``incoming`` reuses a stored fill's id with different content, compared
    after the booking defaults (a blank fee currency is the settlement currency)."""
    diff = _normalized(stored, settle).differences(_normalized(incoming, settle))
    if not diff:
        return None
    listed = ", ".join(
        f"{name} {_shown(old)} -> {_shown(new)}" for name, (old, new) in diff.items()
    )
    return RowError(
        line,
        "fill_id",
        f"{incoming.venue} fill {incoming.fill_id!r} was already imported with different "
        f"content ({listed}); a fill id names one execution — nothing was changed",
    )


#: Instrument fields that open positions were booked with: changing one would silently
#: change their entry value, P&L and margin, so it is refused while any is open.
POSITION_DEFINING_FIELDS = (
    "kind",
    "base",
    "quote",
    "settle",
    "price_currency",
    "contract_size",
    "inverse",
    "expiry",
    "strike",
    "right",
)


def _differences(old: object, new: object) -> dict[str, tuple[object, object]]:
    """``{field: (old, new)}`` for the dataclass fields (given to the constructor) that differ."""
    return {
        f.name: (getattr(old, f.name), getattr(new, f.name))
        for f in fields(old)  # type: ignore[arg-type]
        if f.init and getattr(old, f.name) != getattr(new, f.name)
    }


def _listed(diff: Mapping[str, tuple[object, object]]) -> str:
    def show(value: object) -> str:
        if isinstance(value, tuple):
            return f"{len(value)} item(s)"  # maintenance brackets
        return _shown(value)

    return ", ".join(f"{name} {show(a)} -> {show(b)}" for name, (a, b) in diff.items())


#: Longest currency or asset code accepted (``1000PEPE``, ``USDC``…).
MAX_CURRENCY_LENGTH = 16


def _cash_conflict(
    reference: str,
    stored: tuple[str, str, Decimal, datetime],
    incoming: tuple[str, str, Decimal],
) -> None:
    """Raise :class:`Conflict` if a reused cash reference names a different movement."""
    names = ("account_id", "currency", "amount")
    diff = [
        f"{name} {_shown(old)} -> {_shown(new)}"
        for name, old, new in zip(names, stored[:3], incoming, strict=True)
        if old != new
    ]
    if diff:
        raise Conflict(
            f"reference {reference!r} was already booked with different content "
            f"({', '.join(diff)}); a reference names one movement — use a new reference, "
            "nothing was changed",
            field="reference",
        )


class BookService:
    """The book use cases."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        config: BookConfig | None = None,
        option_deltas: OptionDeltas | None = None,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self.config = config or BookConfig()
        #: Without a delta source an option's exposure is its premium value.
        self.option_deltas = option_deltas

    # ---------------------------------------------------------------------------- setup

    def register_instruments(self, instruments: Iterable[Instrument]) -> int:
        """Insert or replace instruments in the catalog."""
        count = 0
        with self._uow() as uow:
            for instrument in instruments:
                uow.instruments.put(instrument)
                count += 1
            uow.commit()
        return count

    def register_account(self, account: Account) -> None:
        """Insert or replace an account."""
        with self._uow() as uow:
            uow.accounts.put(account)
            uow.commit()

    def add_instrument(
        self, instrument: Instrument, update: bool = False
    ) -> tuple[str, dict[str, tuple[object, object]]]:
        """Add an instrument to the catalog: ``("added", {})``; the same one again is a no-op
        (``("unchanged", {})``). An instrument already in the catalog with other settings is a
        :class:`Conflict` naming each differing field, unless ``update``
        (``("updated", {field: (old, new)})``); even then a change that would corrupt open
        positions (:data:`POSITION_DEFINING_FIELDS`, or a lot size the open quantities are not
        multiples of) is refused while any position of the instrument is open."""
        with self._uow() as uow:
            existing = uow.instruments.get(instrument.key)
            if existing is None:
                uow.instruments.put(instrument)
                uow.commit()
                return "added", {}
            diff = _differences(existing, instrument)
            if not diff:
                return "unchanged", {}
            if not update:
                raise Conflict(
                    f"{instrument.key} is already in the catalog with other settings "
                    f"({_listed(diff)}); nothing was changed — give --update to change them",
                    field=next(iter(diff)),
                )
            held = [
                (book.account.account_id, p)
                for book in (uow.books.load(a) for a in uow.accounts.all())
                for p in book.open_positions()
                if p.instrument_key == instrument.key
            ]
            blocked = [f for f in diff if f in POSITION_DEFINING_FIELDS]
            if "lot_size" in diff and any(
                p.qty % instrument.lot_size for _, p in held
            ):  # open quantities must stay whole lots
                blocked.append("lot_size")
            if held and blocked:
                owners = ", ".join(sorted({a for a, _ in held}))
                raise Conflict(
                    f"cannot change {', '.join(blocked)} of {instrument.key} while "
                    f"{len(held)} position(s) are open on it ({owners}): their entry, P&L and "
                    "margin were booked with the old contract; close them first",
                    field=blocked[0],
                )
            uow.instruments.put(instrument)
            uow.commit()
        return "updated", diff

    def instrument(self, key: str) -> Instrument | None:
        """The catalog entry for ``venue:symbol`` (canonical symbol), if any."""
        with self._uow() as uow:
            return uow.instruments.get(key)

    def account(self, account_id: str) -> Account | None:
        """The account, if it exists."""
        with self._uow() as uow:
            return uow.accounts.get(account_id)

    def add_account(
        self, account: Account, update: bool = False
    ) -> tuple[str, dict[str, tuple[object, object]]]:
        """Create an account (``("added", {})``); the same one again is a no-op. An existing
        account with other settings is a :class:`Conflict` naming the differing fields unless
        ``update``; even then its venue or reporting currency cannot change while it holds
        positions or cash, nor its position mode while it holds positions."""
        with self._uow() as uow:
            existing = uow.accounts.get(account.account_id)
            if existing is None:
                uow.accounts.put(account)
                uow.commit()
                return "added", {}
            diff = _differences(existing, account)
            if not diff:
                return "unchanged", {}
            if not update:
                raise Conflict(
                    f"account {account.account_id} already exists with other settings "
                    f"({_listed(diff)}); nothing was changed — give --update to change them",
                    field=next(iter(diff)),
                )
            book = uow.books.load(existing)
            positions = len(book.open_positions())
            cash = sorted(c for c, amount in book.balances.items() if amount)
            blocked: list[str] = [
                f for f in ("venue", "reporting_currency") if f in diff and (positions or cash)
            ]
            if positions and "position_mode" in diff:
                blocked.append("position_mode")
            if blocked:
                holds = ", ".join(
                    [*([f"{positions} open position(s)"] if positions else []),
                     *([f"cash in {', '.join(cash)}"] if cash else [])]
                )  # fmt: skip
                raise Conflict(
                    f"cannot change {', '.join(blocked)} of account {account.account_id} while "
                    f"it holds {holds}: close or move them first (or create a new account)",
                    field=blocked[0],
                )
            uow.accounts.put(account)
            uow.commit()
        return "updated", diff

    def accounts(self) -> list[Account]:
        """Every account."""
        with self._uow() as uow:
            return uow.accounts.all()

    def instruments(self) -> list[Instrument]:
        """Every instrument."""
        with self._uow() as uow:
            return uow.instruments.all()

    def move_cash(
        self,
        account_id: str,
        currency: str,
        amount: Decimal,
        ts: datetime,
        reason: str,
        reference: str,
        new_currency: bool = True,
    ) -> bool:
        """Deposit (> 0) or withdraw (< 0); ``reference`` (unique per account) makes it
        idempotent. True if booked.

        A reference already booked with the same account, currency and amount is a no-op
        (False); with a different one it is a :class:`Conflict` naming the differing fields.
        ``new_currency=False`` refuses a currency that no instrument, cash movement, stored
        price or fixed rate uses (a typo such as ``XYZ`` would otherwise open a balance that
        nothing can value)."""
        code = currency.strip().upper()
        if not code.isalnum() or len(code) > MAX_CURRENCY_LENGTH:
            raise InvalidValue(
                f"expected a currency code such as USDT or BTC, got {currency!r}", field="currency"
            )
        with self._uow() as uow:
            account = self._account(uow, account_id)
            # A reference names one movement of one account (two accounts on a venue may both
            # book a "deposit-1").
            key = (account.venue, f"cash:{account_id}:{reference}")
            stored = uow.fills.cash_movement(key)
            if stored is not None:
                _cash_conflict(reference, stored, (account_id, code, amount))
                return False
            if not new_currency:
                known = self._known_currencies(uow)
                if code not in known:
                    raise InvalidValue(
                        f"{code} is not a currency of any instrument, balance or price here "
                        f"(known: {', '.join(sorted(known))}); check the code, or give "
                        "--new-asset to book a currency new to the book",
                        field="currency",
                    )
            book = uow.books.load(account)
            change = book.move_cash(code, amount, ts, reason, key)
            uow.books.save(book, change)
            uow.fills.add_cash_movement(key, account_id, code, amount, ts, reason)
            uow.commit()
        return True

    def _known_currencies(self, uow: UnitOfWork) -> set[str]:
        """Currencies the book already knows: the reporting currency, fixed rates, stored
        asset prices, the catalog's base, quote and settlement currencies, and every currency
        cash was ever moved in."""
        known = {self.config.reporting_currency, *self.config.fixed_rates}
        known.update(uow.prices.asset_prices())
        for inst in uow.instruments.all():
            known.update((inst.base, inst.quote, inst.settle))
        known.update(currency for _, currency, _, _ in uow.fills.cash_movements())
        return known

    # ---------------------------------------------------------------------------- fills

    def apply(
        self, rows: Sequence[ParsedRow], progress: ProgressCallback | None = None
    ) -> ImportResult:
        """Book parsed fills and funding payments in time order, atomically.

        A row already in the database (same venue and fill id) with the same content is skipped
        as a duplicate; with different content it is a conflict. If any row cannot be booked
        (a conflict, an unknown account or instrument, an off-grid quantity…), every such row is
        listed in :class:`ImportRejected` with its line, field and reason, and nothing is
        committed. A bad row is skipped while the rest are tried, so later rows are checked
        against the book without it."""
        ordered = sorted(rows, key=lambda item: (item[1].ts, item[0]))
        applied = duplicates = funding = closed = 0
        errors: list[RowError] = []
        with self._uow() as uow:
            existing = uow.fills.existing(item.key for _, item in ordered)
            stored = uow.fills.fills_by_key(
                item.key for _, item in ordered if isinstance(item, Fill) and item.key in existing
            )
            books: dict[str, Book] = {}
            instruments: dict[str, Instrument] = {}
            for done, (line, item) in enumerate(ordered, start=1):
                if item.key in existing:
                    previous = stored.get(item.key) if isinstance(item, Fill) else None
                    if previous is not None and isinstance(item, Fill):
                        known = uow.instruments.get(previous.instrument_key)
                        settle = known.settle if known is not None else None
                        conflict = _conflict(line, previous, item, settle)
                        if conflict is not None:
                            errors.append(conflict)
                            continue
                    duplicates += 1
                    continue
                try:
                    book = books.get(item.account_id)
                    if book is None:
                        book = books[item.account_id] = uow.books.load(
                            self._account(uow, item.account_id)
                        )
                    instrument = instruments.get(item.instrument_key)
                    if instrument is None:
                        instrument = instruments[item.instrument_key] = self._instrument(
                            uow, item.instrument_key
                        )
                    change = self._book_one(uow, book, item, instrument)
                except RiskdeskError as exc:
                    # The book is unchanged by a rejected fact: carry on to list every bad row.
                    errors.append(RowError(line, exc.field, exc.reason))
                    continue
                if change.duplicate:
                    duplicates += 1
                    continue
                if isinstance(item, Fill):
                    applied += 1
                    closed += len(change.closed)
                else:
                    funding += 1
                if progress is not None:
                    progress(done, len(ordered))
            if errors:
                raise ImportRejected(errors)
            uow.commit()
        return ImportResult(applied, duplicates, funding, closed, tuple(sorted(books)))

    def import_fills(
        self,
        rows: Sequence[ParsedRow],
        progress: ProgressCallback | None = None,
        then: Callable[[ImportResult], object] | None = None,
    ) -> ImportResult:
        """:meth:`apply`, then ``then(result)`` (the revaluation that records equity marks), in
        one transaction: if anything after the booking fails, the fills are not booked either
        and the database is unchanged."""
        with self._uow.transaction():
            result = self.apply(rows, progress)
            if then is not None:
                then(result)
        return result

    def _book_one(
        self, uow: UnitOfWork, book: Book, item: Fill | FundingPayment, instrument: Instrument
    ) -> BookChange:
        if isinstance(item, Fill):
            change = book.apply_fill(item, instrument)
            if not change.duplicate:
                uow.books.save(book, change)
                uow.fills.add(item)
            return change
        change = book.apply_funding(item, instrument)
        if not change.duplicate:
            uow.books.save(book, change)
            amount = sum((a for a in change.cash.values()), ZERO)
            position = change.upserted[0].position_id if change.upserted else None
            uow.fills.add_funding(item, str(amount), position)
        return change

    def apply_fills(self, fills: Sequence[Fill | FundingPayment]) -> ImportResult:
        """Book fills given as objects (line numbers are their 1-based positions)."""
        return self.apply([(i, f) for i, f in enumerate(fills, start=1)])

    @staticmethod
    def _account(uow: UnitOfWork, account_id: str) -> Account:
        account = uow.accounts.get(account_id)
        if account is None:
            raise UnknownAccount(f"no account {account_id!r} (create it first)", field="account_id")
        return account

    @staticmethod
    def _instrument(uow: UnitOfWork, key: str) -> Instrument:
        instrument = uow.instruments.get(key)
        if instrument is None:
            raise UnknownInstrument(f"no instrument {key!r} in the catalog", field="symbol")
        return instrument

    @staticmethod
    def _instruments(uow: UnitOfWork, keys: Iterable[str]) -> dict[str, Instrument]:
        """The catalog entries of ``keys`` in one query (one per key was most of a report's
        time); an unknown key is an error naming it."""
        wanted = set(keys)
        found = uow.instruments.many(wanted)
        missing = sorted(wanted - found.keys())
        if missing:
            raise UnknownInstrument(f"no instrument {missing[0]!r} in the catalog", field="symbol")
        return found

    # ---------------------------------------------------------------------------- prices

    def record_prices(
        self,
        marks: Mapping[str, Decimal],
        asset_prices: Mapping[str, Decimal],
        ts: datetime,
        source: str,
    ) -> None:
        """Store the latest marks (by ``venue:symbol``) and asset prices (reporting currency)."""
        with self._uow() as uow:
            if marks:
                uow.prices.put_marks(dict(marks), ts, source)
            if asset_prices:
                uow.prices.put_asset_prices(dict(asset_prices), ts, source)
            uow.commit()

    def record_mark(self, key: str, price: Decimal, ts: datetime, source: str) -> str:
        """Store the mark of a catalog instrument given as ``venue:symbol`` in any supported
        symbol form (``deribit:BTC-PERPETUAL`` is ``deribit:BTC/USD:BTC``); returns the
        catalog key. An instrument not in the catalog is refused with the venue's known keys."""
        venue, _, symbol = key.strip().partition(":")
        if not venue or not symbol:
            raise InvalidValue(
                f"expected venue:symbol (e.g. binance:BTC/USDT:USDT), got {key!r}; an asset "
                "price (BTC, AAPL) takes --asset",
                field="key",
            )
        canonical = f"{venue}:{normalize_symbol(symbol, 'key')}"
        with self._uow() as uow:
            if uow.instruments.get(canonical) is None:
                catalog = [i.key for i in uow.instruments.all()]
                same = [k for k in catalog if k.startswith(f"{venue}:")]
                listed = ", ".join(same or catalog) or "none"
                where = f"{venue} has" if same else "the catalog has"
                raise UnknownInstrument(
                    f"no instrument {canonical} in the catalog ({where}: {listed}); add it with "
                    f"riskdesk instruments add SYMBOL --venue {venue}",
                    field="key",
                )
            uow.prices.put_marks({canonical: price}, ts, source)
            uow.commit()
        return canonical

    def record_asset_price(self, asset: str, price: Decimal, ts: datetime, source: str) -> str:
        """Store the price of an asset or currency (``BTC``, ``AAPL``) in the reporting
        currency; returns the code (upper case)."""
        code = asset.strip().upper()
        if not code.isalnum() or len(code) > MAX_CURRENCY_LENGTH:
            raise InvalidValue(
                f"expected an asset or currency code such as BTC or AAPL, got {asset!r}",
                field="asset",
            )
        if code == self.config.reporting_currency:
            raise InvalidValue(
                f"{code} is the reporting currency: its price is always 1", field="asset"
            )
        self.record_prices({}, {code: price}, ts, source)
        return code

    def asset_prices(self) -> dict[str, Decimal]:
        """Latest stored asset prices (``BTC``, ``AAPL``…) in the reporting currency."""
        with self._uow() as uow:
            return {asset: price for asset, (price, _) in uow.prices.asset_prices().items()}

    # ---------------------------------------------------------------------------- views

    def report(self, account_id: str | None = None, now: datetime | None = None) -> PortfolioReport:
        """Summary, positions and exposure of one account (or all), valued at the latest stored
        prices. A position without a mark is valued at its entry price and listed in
        ``missing_marks``. ``as_of`` is ``now`` when given, else the newest mark time, else the
        clock; each position's holding time runs to its own mark's time."""
        with self._uow() as uow:
            accounts = [self._account(uow, account_id)] if account_id else uow.accounts.all()
            books = [uow.books.load(a) for a in accounts]
            keys = {p.instrument_key for b in books for p in b.open_positions()}
            instruments = self._instruments(uow, keys)
            stored_marks = uow.prices.marks()
            stored_assets = uow.prices.asset_prices()
            closed_by_currency = self._realized_closed(uow, accounts, instruments)
            rates = self._rates(
                uow, books, instruments, stored_marks, stored_assets, closed_by_currency
            )
            realized_closed, closed_unpriced = self._in_reporting(closed_by_currency, rates)
            scope = account_id or "*"
            market, missing, mark_times = self._market(books, stored_marks, rates, now)
            day_start = market.ts.replace(hour=0, minute=0, second=0, microsecond=0)
            before = uow.snapshots.last_before(scope, day_start + timedelta(microseconds=1))
            series = uow.snapshots.series(scope)
            ids = {a.account_id for a in accounts}
            moves = [
                (ts, amount * market.rate_or_zero(currency))
                for acct, currency, amount, ts in uow.fills.cash_movements()
                if acct in ids
            ]
            high_water = uow.risk.equity_marks().get(scope)
        # Cash moved after the day-start snapshot was taken is not P&L (one taken at the same
        # instant as a deposit already contains it).
        since = before.ts if before is not None else day_start
        deposits_today = sum(
            (value for ts, value in moves if ts >= since and (before is None or ts > before.ts)),
            ZERO,
        )
        # Daily P&L needs the equity at the start of the day: a snapshot taken in the last day
        # before it; cash moved in since then is not P&L.
        fresh = before is not None and before.ts >= day_start - timedelta(days=1)
        inputs = PortfolioInputs(
            conventions=self.config.conventions,
            option_rates=self.config.option_rates,
            realized_closed=realized_closed,
            day_start_equity=before.total_equity + deposits_today
            if fresh and before is not None
            else None,
            unpriced=closed_unpriced,
            option_deltas=self._deltas(books, instruments, market, missing),
        )
        views = position_views(books, instruments, market, inputs)
        summary, tables = summary_and_exposure(books, instruments, market, inputs, views)
        # Max drawdown on the curve the drawdown monitor watches: the snapshots, the persisted
        # high-water mark (it catches peaks between snapshots) and the equity now, with the
        # mark moved by cash in and out (a withdrawal is not a drawdown).
        points = [(snap.ts, snap.total_equity) for snap in series]
        if high_water is not None and (now is None or high_water.peak_ts <= market.ts):
            points.append((high_water.peak_ts, peak_equity_at(high_water, moves)))
            points.sort(key=lambda p: p[0])
        last = max([market.ts, *(ts for ts, _ in points)])
        drawdown = max_drawdown_with_cash([*points, (last, summary.total_equity)], moves)
        summary = replace(summary, max_drawdown=None if drawdown is None else ratio(drawdown))
        balances = {b.account.account_id: dict(b.balances) for b in books}
        return PortfolioReport(
            scope,
            market.ts,
            summary,
            views,
            tables,
            missing,
            mark_times,
            balances,
            rates,
        )

    def balances(self, account_id: str | None = None) -> Balances:
        """Cash balances (wallet, before unrealized P&L) of one account or all, each valued in
        the reporting currency at the rates the views use."""
        with self._uow() as uow:
            accounts = [self._account(uow, account_id)] if account_id else uow.accounts.all()
            books = [uow.books.load(a) for a in accounts]
            keys = {p.instrument_key for b in books for p in b.open_positions()}
            instruments = {k: self._instrument(uow, k) for k in keys}
            rates = self._rates(
                uow, books, instruments, uow.prices.marks(), uow.prices.asset_prices(), {}
            )
        rows: list[BalanceRow] = []
        total = ZERO
        unpriced: set[str] = set()
        for book in books:
            for currency, amount in sorted(book.balances.items()):
                if not amount:
                    continue
                rate = rates.get(currency)
                value = None if rate is None else amount * rate.price
                if value is None:
                    unpriced.add(currency)
                else:
                    total += value
                rows.append(
                    BalanceRow(
                        book.account.account_id,
                        book.account.venue,
                        currency,
                        amount,
                        value,
                        rate,
                    )
                )
        return Balances(
            self.config.reporting_currency,
            rows,
            None if unpriced else total,
            tuple(sorted(unpriced)),
        )

    def positions(
        self, accounts: Iterable[str] | None = None, now: datetime | None = None
    ) -> list[PositionView]:
        """The open positions of some accounts (all when None) valued at the latest stored
        marks, as in :meth:`report` but without the summary, closed positions and snapshots
        (what a management tick needs, at a fraction of the cost)."""
        with self._uow() as uow:
            chosen = (
                uow.accounts.all()
                if accounts is None
                else [self._account(uow, a) for a in accounts]
            )
            books = [uow.books.load(a) for a in chosen]
            keys = {p.instrument_key for b in books for p in b.open_positions()}
            instruments = self._instruments(uow, keys)
            marks = uow.prices.marks()
            assets = uow.prices.asset_prices()
            rates = self._rates(uow, books, instruments, marks, assets, {})
        market, missing, _ = self._market(books, marks, rates, now)
        inputs = PortfolioInputs(
            conventions=self.config.conventions,
            option_rates=self.config.option_rates,
            option_deltas=self._deltas(books, instruments, market, missing),
        )
        return position_views(books, instruments, market, inputs)

    def position_table(
        self, accounts: Iterable[str] | None = None, now: datetime | None = None
    ) -> PositionTable:
        """:meth:`positions` as columns (what the governance tick reads), each row with its
        exact view."""
        return PositionTable.of(self.positions(accounts, now))

    def _realized_closed(
        self,
        uow: UnitOfWork,
        accounts: Sequence[Account],
        instruments: dict[str, Instrument],
    ) -> dict[str, Decimal]:
        """Realized P&L of the closed positions, per settlement currency."""
        totals: dict[str, Decimal] = {}
        closed = [c for account in accounts for c in uow.closed.closed(account.account_id)]
        others = {c.instrument_key for c in closed} - instruments.keys()
        known = {**uow.instruments.many(others), **instruments} if others else instruments
        for position in closed:
            instrument = known.get(position.instrument_key)
            currency = instrument.settle if instrument else self.config.reporting_currency
            totals[currency] = totals.get(currency, ZERO) + position.realized_pnl
        return totals

    def _deltas(
        self,
        books: Sequence[Book],
        instruments: Mapping[str, Instrument],
        market: MarketSnapshot,
        missing_marks: Sequence[str],
    ) -> Mapping[str, Decimal]:
        """Deltas of the open options that have a stored mark and an underlying price (the
        others keep their premium value as exposure)."""
        if self.option_deltas is None:
            return {}
        skip = set(missing_marks)
        options: dict[str, OptionMark] = {}
        for book in books:
            for p in book.open_positions():
                inst = instruments[p.instrument_key]
                if (
                    inst.kind is SymbolKind.OPTION
                    and inst.key not in skip
                    and inst.key not in options
                    and inst.base in market.asset_prices
                ):
                    options[inst.key] = OptionMark(
                        inst, market.marks[inst.key], market.asset_prices[inst.base]
                    )
        if not options:
            return {}
        return self.option_deltas(list(options.values()), market.ts)

    @staticmethod
    def _in_reporting(
        amounts: Mapping[str, Decimal], rates: Mapping[str, CurrencyRate]
    ) -> tuple[Decimal, tuple[str, ...]]:
        """The sum of per-currency ``amounts`` in the reporting currency, and the currencies
        without a rate (left out)."""
        total = ZERO
        unpriced: list[str] = []
        for currency, amount in amounts.items():
            rate = rates.get(currency)
            if rate is not None:
                total += amount * rate.price
            elif amount:
                unpriced.append(currency)
        return total, tuple(sorted(unpriced))

    def _rates(
        self,
        uow: UnitOfWork,
        books: Sequence[Book],
        instruments: Mapping[str, Instrument],
        marks: Mapping[str, tuple[Decimal, datetime]],
        assets: Mapping[str, tuple[Decimal, datetime]],
        also: Mapping[str, Decimal],
    ) -> dict[str, CurrencyRate]:
        """Rates of every currency the books hold or their positions need (``also``: more
        currencies, e.g. of closed positions): stored and fixed first, then derived from the
        book's marks (see ``domain.accounting.rates``; the catalog is read only if needed)."""
        needed = set(also)
        for book in books:
            needed.update(c for c, amount in book.balances.items() if amount)
            for p in book.open_positions():
                inst = instruments[p.instrument_key]
                needed.update((inst.settle, inst.quote, inst.price_currency, inst.base))
        reporting, fixed = self.config.reporting_currency, self.config.fixed_rates
        rates = currency_rates(needed, reporting, assets, fixed)
        if needed.issubset(rates) or not marks:
            return rates
        return currency_rates(needed, reporting, assets, fixed, marks, uow.instruments.all())

    def _market(
        self,
        books: Sequence[Book],
        marks: Mapping[str, tuple[Decimal, datetime]],
        rates: Mapping[str, CurrencyRate],
        now: datetime | None,
    ) -> tuple[MarketSnapshot, list[str], dict[str, datetime]]:
        chosen: dict[str, Decimal] = {}
        times: dict[str, datetime] = {}
        missing: list[str] = []
        for book in books:
            for p in book.open_positions():
                if p.instrument_key in marks:
                    chosen[p.instrument_key], times[p.instrument_key] = marks[p.instrument_key]
                else:
                    chosen[p.instrument_key] = p.entry_price
                    missing.append(p.instrument_key)
        prices = {currency: rate.price for currency, rate in rates.items()}
        as_of = now or (max(times.values()) if times else self._clock.now())
        return MarketSnapshot(chosen, prices, as_of, times), sorted(set(missing)), times

    def snapshot(
        self, account_id: str | None = None, now: datetime | None = None
    ) -> PortfolioSnapshot:
        """Compute and store a portfolio snapshot for a scope at the current prices."""
        report = self.report(account_id, now)
        snap = snapshot_of(report.scope, report.summary)
        with self._uow() as uow:
            uow.snapshots.add(snap)
            uow.commit()
        return snap

    def history(
        self,
        account_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> tuple[list[Fill], list[ClosedPosition], list[TradeRecord]]:
        """Fills, closed positions and trade records of a scope in time order."""
        with self._uow() as uow:
            fills = uow.fills.history(account_id=account_id, since=since, until=until, limit=limit)
            closed = uow.closed.closed(account_id, since, until)
            trades = uow.closed.trades(account_id, since, until)
        return fills, closed, trades
