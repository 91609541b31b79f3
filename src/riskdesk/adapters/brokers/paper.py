"""The paper venue: an exchange simulator that implements the broker port.

It accepts market, limit, stop-market, stop-limit, take-profit (market and limit), reduce-only,
post-only, IOC / FOK / GTC / DAY orders, matches them with the domain matching model
(:mod:`riskdesk.domain.matching`, the one the backtester uses) against the quotes or bars it is
fed, books its own fills through the domain ledger, and behaves like a venue where it matters
to the order manager:

* a client order id it already holds is refused (so a retry can never create a second order);
* orders that add exposure are refused when the account's free margin (cash + unrealized P&L −
  position margin − margin reserved by open orders) cannot pay their initial margin and fee;
  reduce-only orders are refused when there is nothing to reduce, capped at the position when
  they execute, and expired when the position closes;
* a stop whose trigger is already crossed is refused ("would immediately trigger"), as Binance
  does; with ``native_stop`` off every stop is refused (the supervisor falls back to a guard);
* marketable orders execute at once against the last known price (with the model's spread and
  slippage); resting ones on later updates; an OCO group (``OrderRequest.group``) is cancelled
  as a whole when one member executes — on a bar, whichever the bar path reaches first;
* every operation is one transaction in its own SQLite file (:class:`PaperStore`), so a
  restarted paper account continues exactly where it was; without a store it lives in memory;
* a :class:`FaultInjector` makes chosen calls time out, fail with a 5xx, hit the rate limit or
  be rejected — before the venue acts, or after (the answer is lost).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from riskdesk.adapters.brokers.faults import FaultInjector
from riskdesk.adapters.brokers.paper_store import PaperChanges, PaperStore
from riskdesk.domain.accounting.book import Account, Book, PositionMode
from riskdesk.domain.errors import (
    BrokerError,
    ConfigError,
    InsufficientPosition,
    OrderNotFound,
    OrderRejected,
    RateLimited,
    RiskdeskError,
    ValidationError,
)
from riskdesk.domain.fills import Fill, MarginMode
from riskdesk.domain.instruments import Instrument, Settlement
from riskdesk.domain.matching import (
    Candle,
    Execution,
    MatchingModel,
    MatchResult,
    Quote,
    WorkingState,
    match_candle,
    match_quote,
)
from riskdesk.domain.order_lifecycle import (
    WORKING,
    Order,
    OrderStatus,
    amended,
    client_id,
    fill,
    order_from_dict,
    order_to_dict,
    transition,
)
from riskdesk.domain.orders import (
    NEEDS_PRICE,
    NEEDS_TRIGGER,
    OrderIntent,
    OrderType,
    TimeInForce,
    validate_intent,
)
from riskdesk.domain.risk.rate_limit import TokenBucket
from riskdesk.domain.symbols import SymbolKind
from riskdesk.domain.values import ZERO, Liquidity, PositionSide, Side, exact, frozen_factory
from riskdesk.ports.broker import (
    AmendRequest,
    BrokerCapabilities,
    FillPage,
    OrderRequest,
    TransferReceipt,
    VenueBalance,
    VenueOrder,
    VenuePosition,
)
from riskdesk.ports.clock import Clock

InstrumentLookup = Callable[[str], Instrument | None]

_STOPS = frozenset({OrderType.STOP_MARKET, OrderType.STOP_LIMIT})
_TAKE_PROFITS = frozenset({OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT})
_IMMEDIATE = frozenset({TimeInForce.IOC, TimeInForce.FOK})

# Views and fills are built on every request: the same objects as the classes' constructors
# build, without their per-field ``object.__setattr__``.
_new_view = frozen_factory(VenueOrder)
_new_fill = frozen_factory(Fill)
_new_order = frozen_factory(Order)


@dataclass(frozen=True, slots=True)
class PaperConfig:
    """How the paper venue behaves. ``default_leverage`` applies to margined orders that name
    none; ``rate_limit_per_second`` / ``rate_limit_burst`` (None: unlimited) make it refuse
    requests beyond a token bucket, as venues do."""

    venue: str = "paper"
    model: MatchingModel = field(default_factory=MatchingModel)
    capabilities: BrokerCapabilities = field(
        default_factory=lambda: BrokerCapabilities(native_oco=True)
    )
    default_leverage: Decimal = Decimal(10)
    rate_limit_per_second: float | None = None
    rate_limit_burst: int = 20


@dataclass(slots=True)
class _Entry:
    """One order at the venue with its matching state; ``key`` (instrument) and ``cid`` (client
    order id) are the order's, kept here because every step of its life reads them."""

    order: Order
    state: WorkingState
    seq: int
    key: str
    cid: str
    group: str | None = None
    reserved: Decimal = ZERO  # margin / cash this order holds (settlement currency)
    reserved_in: tuple[str, str] = ("", "")  # (account, currency) of ``reserved``


def _fill_doc(f: Fill) -> dict[str, Any]:
    return {
        "venue": f.venue,
        "fill_id": f.fill_id,
        "account_id": f.account_id,
        "symbol": f.symbol,
        "side": f.side.value,
        "qty": str(f.qty),
        "price": str(f.price),
        "ts": f.ts.isoformat(),
        "fee": str(f.fee),
        "fee_currency": f.fee_currency,
        "liquidity": None if f.liquidity is None else f.liquidity.value,
        "position_side": f.position_side.value,
        "order_id": f.order_id,
        "leverage": None if f.leverage is None else str(f.leverage),
        "margin_mode": None if f.margin_mode is None else f.margin_mode.value,
    }


def _fill_from(doc: dict[str, Any]) -> Fill:
    return Fill(
        venue=doc["venue"],
        fill_id=doc["fill_id"],
        account_id=doc["account_id"],
        symbol=doc["symbol"],
        side=Side(doc["side"]),
        qty=Decimal(doc["qty"]),
        price=Decimal(doc["price"]),
        ts=datetime.fromisoformat(doc["ts"]),
        fee=Decimal(doc["fee"]),
        fee_currency=doc["fee_currency"],
        liquidity=None if doc["liquidity"] is None else Liquidity(doc["liquidity"]),
        position_side=PositionSide(doc["position_side"]),
        order_id=doc["order_id"],
        leverage=None if doc["leverage"] is None else Decimal(doc["leverage"]),
        margin_mode=None if doc["margin_mode"] is None else MarginMode(doc["margin_mode"]),
    )


def _quote_doc(q: Quote) -> dict[str, Any]:
    return {
        "ts": q.ts.isoformat(),
        "bid": str(q.bid),
        "ask": str(q.ask),
        "last": None if q.last is None else str(q.last),
        "mark": None if q.mark is None else str(q.mark),
        "index": None if q.index is None else str(q.index),
    }


def _quote_from(doc: dict[str, Any]) -> Quote:
    def dec(name: str) -> Decimal | None:
        value = doc.get(name)
        return None if value is None else Decimal(value)

    return Quote(
        datetime.fromisoformat(doc["ts"]),
        Decimal(doc["bid"]),
        Decimal(doc["ask"]),
        last=dec("last"),
        mark=dec("mark"),
        index=dec("index"),
    )


class PaperBroker:
    """The paper venue (see the module docstring). Implements
    :class:`~riskdesk.ports.broker.Broker` and :class:`~riskdesk.ports.broker.SimulatedVenue`."""

    def __init__(
        self,
        instruments: InstrumentLookup,
        clock: Clock,
        config: PaperConfig | None = None,
        store: PaperStore | None = None,
        faults: FaultInjector | None = None,
    ) -> None:
        self.config = config or PaperConfig()
        self._lookup = instruments
        self._instruments: dict[str, Instrument] = {}
        self._clock = clock
        self._store = store
        self.faults = faults or FaultInjector()
        self._orders: dict[str, _Entry] = {}
        self._working: dict[str, dict[str, _Entry]] = {}
        self._books: dict[str, Book] = {}
        self._fills: list[tuple[int, Fill]] = []
        self._cash_keys: set[tuple[str, str]] = set()
        self._seq = 0
        self._order_seq = 0
        self._last_bar: dict[str, datetime] = {}
        self._quotes: dict[str, Quote] = {}
        self._live: dict[str, tuple[Quote, Quote]] = {}
        self._receipts: dict[str, TransferReceipt] = {}
        self._reserved: dict[tuple[str, str], Decimal] = {}
        #: Free margin before open-order reservations, per (account, currency).
        self._free_cache: dict[tuple[str, str], Decimal] = {}
        self._changes = PaperChanges()
        rate = self.config.rate_limit_per_second
        self._bucket = TokenBucket(rate, self.config.rate_limit_burst) if rate else None
        if store is not None:
            self._load(store)

    # ------------------------------------------------------------------ identity

    @property
    def venue(self) -> str:
        """The venue name."""
        return self.config.venue

    def capabilities(self) -> BrokerCapabilities:
        """What the paper venue supports natively (configurable, to exercise the fallbacks)."""
        return self.config.capabilities

    # ------------------------------------------------------------------ persistence

    @exact
    def _load(self, store: PaperStore) -> None:
        state = store.load()
        for seq, kind, doc in state.journal:
            self._seq = max(self._seq, seq)
            if kind == "account":
                account = Account(
                    account_id=doc["account_id"],
                    venue=doc["venue"],
                    position_mode=PositionMode(doc["position_mode"]),
                    default_margin_mode=MarginMode(doc["default_margin_mode"]),
                    default_leverage=Decimal(doc["default_leverage"]),
                    reporting_currency=doc["reporting_currency"],
                    name=doc["name"],
                )
                self._books.setdefault(account.account_id, Book(account))
            elif kind == "cash":
                key = (doc["key"][0], doc["key"][1])
                self._books[doc["account_id"]].move_cash(
                    doc["currency"],
                    Decimal(doc["amount"]),
                    datetime.fromisoformat(doc["ts"]),
                    doc["reason"],
                    key,
                )
                self._cash_keys.add(key)
            elif kind == "fill":
                f = _fill_from(doc)
                self._books[f.account_id].apply_fill(f, self._instrument(f.instrument_key))
                self._fills.append((seq, f))
        for cid, (seq, doc) in sorted(state.orders.items(), key=lambda item: item[1][0]):
            st = doc["state"]
            order = order_from_dict(doc["order"])
            entry = _Entry(
                order,
                WorkingState(
                    datetime.fromisoformat(st["active_from"]),
                    triggered=bool(st["triggered"]),
                    rested=bool(st["rested"]),
                ),
                seq,
                order.intent.instrument_key,
                cid,
                doc.get("group"),
            )
            self._orders[cid] = entry
            self._order_seq = max(self._order_seq, seq)
            if order.status.working:
                self._working.setdefault(entry.key, {})[cid] = entry
                self._reserve(entry, self._instrument(entry.key))
        meta = state.meta
        for name, value in meta.items():
            if name.startswith("last_bar:"):
                self._last_bar[name.removeprefix("last_bar:")] = datetime.fromisoformat(value)
            elif name.startswith("quote:"):
                self._quotes[name.removeprefix("quote:")] = _quote_from(value)
            elif name.startswith("transfer:"):
                self._receipts[name.removeprefix("transfer:")] = TransferReceipt(
                    value["transfer_id"],
                    bool(value["executed"]),
                    datetime.fromisoformat(value["ts"]),
                    value["reason"],
                )
        self._changed()

    def _commit(self) -> None:
        if self._store is None:
            return
        changes, self._changes = self._changes, PaperChanges()
        self._store.commit(changes)

    def _touch(self, entry: _Entry) -> None:
        if self._store is None:
            return
        st = entry.state
        self._changes.orders[entry.cid] = (
            entry.seq,
            {
                "order": order_to_dict(entry.order),
                "state": {
                    "active_from": st.active_from.isoformat(),
                    "triggered": st.triggered,
                    "rested": st.rested,
                },
                "group": entry.group,
            },
        )

    def _journal(self, kind: str, doc: dict[str, Any] | None) -> int:
        self._seq += 1
        if self._store is not None and doc is not None:
            self._changes.journal.append((self._seq, kind, doc))
        return self._seq

    def close(self) -> None:
        """Close the state file."""
        if self._store is not None:
            self._store.close()

    # ------------------------------------------------------------------ accounts and cash

    def open_account(self, account: Account) -> None:
        """Create a paper account (a no-op when it exists)."""
        if account.account_id in self._books:
            return
        self._books[account.account_id] = Book(account)
        self._journal(
            "account",
            {
                "account_id": account.account_id,
                "venue": account.venue,
                "position_mode": account.position_mode.value,
                "default_margin_mode": account.default_margin_mode.value,
                "default_leverage": str(account.default_leverage),
                "reporting_currency": account.reporting_currency,
                "name": account.name,
            },
        )
        self._commit()

    def has_account(self, account_id: str) -> bool:
        """Whether the paper venue holds the account."""
        return account_id in self._books

    @exact
    def deposit(
        self,
        account_id: str,
        currency: str,
        amount: Decimal,
        reference: str,
        reason: str = "deposit",
    ) -> bool:
        """Credit (or debit, negative) a paper wallet; idempotent by ``reference``."""
        key = (self.venue, f"cash:{reference}")
        if key in self._cash_keys:
            return False
        self._cash(account_id, currency, amount, reason, key)
        self._commit()
        return True

    def _cash(
        self, account_id: str, currency: str, amount: Decimal, reason: str, key: tuple[str, str]
    ) -> None:
        book = self._book(account_id)
        ts = self._clock.now()
        book.move_cash(currency, amount, ts, reason, key)
        self._changed()
        self._cash_keys.add(key)
        self._journal(
            "cash",
            {
                "account_id": account_id,
                "currency": currency,
                "amount": str(amount),
                "ts": ts.isoformat(),
                "reason": reason,
                "key": list(key),
            },
        )

    def _book(self, account_id: str) -> Book:
        book = self._books.get(account_id)
        if book is None:
            raise OrderRejected(
                f"the paper venue has no account {account_id!r}", field="account_id"
            )
        return book

    def _instrument(self, key: str) -> Instrument:
        inst = self._instruments.get(key)
        if inst is None:
            inst = self._lookup(key)
            if inst is None:
                raise ConfigError(f"the paper venue does not list {key!r}", field="symbol")
            self._instruments[key] = inst
        return inst

    # ------------------------------------------------------------------ views

    def _view(self, entry: _Entry) -> VenueOrder:
        o = entry.order
        return _new_view(
            o.intent,
            o.status,
            o.filled_qty,
            o.avg_price,
            o.venue_order_id or "",
            o.updated_at,
            o.reason,
            entry.group,
        )

    def query(self, client_order_id: str, symbol: str) -> VenueOrder | None:
        """The order with that client id (None: never received)."""
        self.faults.before("query")
        entry = self._orders.get(client_order_id)
        return None if entry is None else self._view(entry)

    def open_orders(self, account_id: str | None = None) -> list[VenueOrder]:
        """Working orders in arrival order."""
        self.faults.before("open_orders")
        found = [
            e
            for orders in self._working.values()
            for e in orders.values()
            if account_id is None or e.order.intent.account_id == account_id
        ]
        return [self._view(e) for e in sorted(found, key=lambda e: e.seq)]

    def all_orders(self) -> list[VenueOrder]:
        """Every order the venue ever received, in arrival order (tests and reconciliation)."""
        return [self._view(e) for e in sorted(self._orders.values(), key=lambda e: e.seq)]

    def fills_since(self, cursor: str | None, limit: int | None = None) -> FillPage:
        """Fills with a journal sequence after ``cursor``."""
        self.faults.before("fills")
        after = int(cursor) if cursor else 0
        # Fills are appended in sequence order: bisect would do, a scan from the end is enough.
        start = len(self._fills)
        while start > 0 and self._fills[start - 1][0] > after:
            start -= 1
        page = self._fills[start:]
        if limit is not None:
            page = page[:limit]
        last = page[-1][0] if page else max(after, 0)
        return FillPage([f for _, f in page], str(last))

    def positions(self, account_id: str | None = None) -> list[VenuePosition]:
        """Open positions."""
        self.faults.before("positions")
        out: list[VenuePosition] = []
        for book in self._books.values():
            if account_id is not None and book.account.account_id != account_id:
                continue
            for p in book.open_positions():
                venue, _, symbol = p.instrument_key.partition(":")
                out.append(
                    VenuePosition(
                        p.account_id, venue, symbol, p.slot, p.qty, p.entry_price, p.leverage
                    )
                )
        return sorted(out, key=lambda v: (v.account_id, v.instrument_key, v.slot.value))

    @exact
    def balances(self, account_id: str) -> list[VenueBalance]:
        """Wallet balances with what is free after margin and open orders."""
        self.faults.before("balances")
        book = self._book(account_id)
        currencies = set(book.balances) | {c for (a, c) in self._reserved if a == account_id}
        return [VenueBalance(c, book.cash(c), self._free(book, c)) for c in sorted(currencies)]

    # ------------------------------------------------------------------ margin

    def _mark(self, key: str) -> Decimal | None:
        q = self._quotes.get(key)
        if q is None:
            return None
        return q.mark if q.mark is not None else q.mid

    def _free(self, book: Book, currency: str) -> Decimal:
        """Cash + unrealized P&L of cross positions − position margin − open-order reservations."""
        account_id = book.account.account_id
        key = (account_id, currency)
        free = self._free_cache.get(key)
        if free is None:
            free = book.cash(currency)
            for p in book.open_positions():
                inst = self._instrument(p.instrument_key)
                if inst.settle != currency or inst.settlement is not Settlement.MARGIN:
                    continue
                mark = self._mark(p.instrument_key) or p.entry_price
                free -= inst.notional(p.qty, p.entry_price) / (p.leverage or 1)
                if p.margin_mode is MarginMode.CROSS:
                    free += inst.pnl(p.qty, p.entry_price, mark)
            # Valid until the next fill, cash movement or price (see ``_changed``).
            self._free_cache[key] = free
        return free - self._reserved.get(key, ZERO)

    def _changed(self) -> None:
        """Balances, positions or prices changed: free margin is computed again when asked."""
        self._free_cache.clear()

    def _slot(self, book: Book, intent: OrderIntent, inst: Instrument) -> PositionSide:
        hedge = book.account.position_mode is PositionMode.HEDGE and inst.kind in (
            SymbolKind.PERPETUAL,
            SymbolKind.FUTURE,
        )
        return intent.position_side if hedge else PositionSide.NET

    def _position(self, intent: OrderIntent, inst: Instrument) -> Decimal:
        book = self._books[intent.account_id]
        p = book.position(inst.key, self._slot(book, intent, inst))
        return ZERO if p is None else p.qty

    def _reduce_room(self, intent: OrderIntent, inst: Instrument) -> Decimal:
        """How much a reduce-only order may still execute: the position on its closing side."""
        pos = self._position(intent, inst)
        if intent.side is Side.SELL:
            return max(pos, ZERO)
        return max(-pos, ZERO)

    def _leverage(self, intent: OrderIntent) -> Decimal:
        if intent.leverage:
            return intent.leverage
        book = self._books[intent.account_id]
        if book.account.default_leverage and book.account.default_leverage != 1:
            return book.account.default_leverage
        return self.config.default_leverage

    def _ref_price(self, intent: OrderIntent, key: str) -> Decimal | None:
        if intent.price is not None:
            return intent.price
        if intent.stop_price is not None:
            return intent.stop_price
        return self._mark(key)

    def _requirement(self, intent: OrderIntent, inst: Instrument, qty: Decimal) -> Decimal:
        """Margin (margined) or cash (premium buys) ``qty`` of this order holds."""
        if intent.reduce_only or qty <= 0:
            return ZERO
        price = intent.price
        if price is None:
            price = intent.stop_price if intent.stop_price is not None else self._mark(inst.key)
            if price is None:
                return ZERO
        if inst.settlement is Settlement.MARGIN:
            notional = inst.notional(qty, price)
            leverage = intent.leverage or self._leverage(intent)
            return notional / leverage + inst.fee_on(notional, qty, False)
        if intent.side is Side.BUY:
            notional = inst.notional(qty, price)
            return notional + inst.fee_on(notional, qty, False)
        return ZERO

    def _reserve(self, entry: _Entry, inst: Instrument, amount: Decimal | None = None) -> None:
        intent = entry.order.intent
        if amount is None:
            amount = self._requirement(intent, inst, entry.order.remaining)
        if entry.reserved:
            self._unreserve(entry)
        if amount:
            key = (intent.account_id, inst.settle)
            self._reserved[key] = self._reserved.get(key, ZERO) + amount
            entry.reserved = amount
            entry.reserved_in = key

    def _unreserve(self, entry: _Entry) -> None:
        if not entry.reserved:
            return
        key = entry.reserved_in
        self._reserved[key] = self._reserved.get(key, ZERO) - entry.reserved
        entry.reserved = ZERO

    def _check_funds(
        self, intent: OrderIntent, inst: Instrument, full: Decimal | None = None
    ) -> None:
        """Refuse what the account cannot carry; ``full`` is the requirement of the whole order
        when already computed."""
        book = self._books[intent.account_id]
        if intent.reduce_only:
            if self._reduce_room(intent, inst) <= 0:
                raise OrderRejected(
                    "reduce-only order rejected: there is no position to reduce",
                    field="reduce_only",
                )
            return
        p = book.positions.get((inst.key, self._slot(book, intent, inst)))
        pos = ZERO if p is None else p.qty
        signed = intent.qty if intent.side is Side.BUY else -intent.qty
        adds = max(ZERO, abs(pos + signed) - abs(pos))
        kind = inst.kind
        if kind is SymbolKind.SPOT and intent.side is Side.SELL:
            held = max(pos, ZERO) - self._spot_sells(intent.account_id, inst.key)
            if intent.qty > held:
                raise OrderRejected(
                    f"insufficient balance: selling {intent.qty} {inst.base}, {held} available",
                    field="qty",
                )
            return
        if kind is SymbolKind.OPTION and intent.side is Side.SELL and adds > 0:
            raise OrderRejected(
                "the paper venue does not accept uncovered option sales", field="side"
            )
        need = (
            full
            if full is not None and adds == intent.qty
            else self._requirement(intent, inst, adds)
        )
        if need <= 0:
            if self._ref_price(intent, inst.key) is None and adds > 0:
                raise OrderRejected(
                    f"no market price for {inst.key} yet: margin cannot be computed", field="symbol"
                )
            return
        free = self._free(book, inst.settle)
        if need > free:
            raise OrderRejected(
                f"insufficient margin: the order needs {need.quantize(Decimal('1e-8'))} "
                f"{inst.settle}, {free.quantize(Decimal('1e-8'))} is free",
                field="qty",
            )

    def _spot_sells(self, account_id: str, key: str) -> Decimal:
        return sum(
            (
                e.order.remaining
                for e in self._working.get(key, {}).values()
                if e.order.intent.account_id == account_id and e.order.intent.side is Side.SELL
            ),
            ZERO,
        )

    # ------------------------------------------------------------------ order entry

    def _rate_limit(self) -> None:
        if self._bucket is not None and not self._bucket.take(self._clock.now()):
            raise RateLimited(
                "the paper venue's request rate limit was hit",
                retry_after=self._bucket.wait_seconds(self._clock.now()),
            )

    def _accepts(self, intent: OrderIntent, inst: Instrument) -> None:
        caps = self.config.capabilities
        kind = intent.order_type
        if kind in _STOPS and not caps.native_stop:
            raise OrderRejected("the venue does not accept stop orders", field="order_type")
        if kind in _TAKE_PROFITS and not caps.native_take_profit:
            raise OrderRejected("the venue does not accept take-profit orders", field="order_type")
        if intent.post_only and not caps.post_only:
            raise OrderRejected("the venue does not accept post-only orders", field="post_only")
        if intent.reduce_only and not caps.reduce_only:
            raise OrderRejected("the venue does not accept reduce-only orders", field="reduce_only")
        conditional = kind in NEEDS_TRIGGER
        if conditional and intent.trigger not in caps.stop_triggers:
            raise OrderRejected(
                f"the venue cannot trigger on the {intent.trigger.value} price", field="trigger"
            )
        try:
            validate_intent(intent, inst)
        except ValidationError as exc:
            raise OrderRejected(exc.reason, field=exc.field) from exc
        if not conditional:
            return
        quote = self._quotes.get(inst.key)
        if quote is not None and intent.stop_price is not None:
            ref = quote.reference(intent.trigger)
            stop_like = kind in _STOPS
            rising = (intent.side is Side.BUY) == stop_like
            if (ref >= intent.stop_price) if rising else (ref <= intent.stop_price):
                raise OrderRejected(
                    f"order would immediately trigger: {intent.trigger.value} price {ref} is "
                    f"already through {intent.stop_price}",
                    field="stop_price",
                )

    @exact
    def submit(self, intent: OrderIntent, request: OrderRequest | None = None) -> VenueOrder:
        """Accept (or refuse) an order; marketable orders execute at once."""
        self.faults.before("submit", intent.order_type.value)
        self._rate_limit()
        view = self._submit_one(intent, request)
        self._commit()
        self.faults.after("submit", intent.order_type.value)
        return view

    @exact
    def submit_batch(self, intents: Sequence[OrderIntent]) -> list[VenueOrder | BrokerError]:
        """Several orders in one request (one rate-limit token, one write): each accepted
        order, or the error that refused it, in order."""
        self.faults.before("submit")
        self._rate_limit()
        out: list[VenueOrder | BrokerError] = []
        for intent in intents:
            try:
                out.append(self._submit_one(intent, None))
            except BrokerError as exc:
                out.append(exc)
        self._commit()
        self.faults.after("submit")
        return out

    def _submit_one(self, intent: OrderIntent, request: OrderRequest | None) -> VenueOrder:
        cid = client_id(intent.intent_id)
        if cid in self._orders:
            raise OrderRejected(
                f"duplicate client order id {cid} (intent {intent.intent_id})",
                field="client_order_id",
            )
        if intent.account_id not in self._books:
            self._book(intent.account_id)  # raises: no such account
        key = intent.instrument_key
        inst = self._instruments.get(key) or self._instrument(key)
        self._accepts(intent, inst)
        full = self._requirement(intent, inst, intent.qty)
        self._check_funds(intent, inst, full)
        now = self._clock.now()
        self._order_seq += 1
        seq = self._order_seq
        # Accepted: the venue's own record starts OPEN (its intermediate states are not ours).
        order = _new_order(intent, OrderStatus.OPEN, now, now, ZERO, None, f"P{seq}", "", 2)
        latency = self.config.model.latency
        entry = _Entry(
            order,
            WorkingState(now + latency if latency else now),
            seq,
            key,
            cid,
            request.group if request else None,
        )
        self._orders[cid] = entry
        working = self._working.get(key)
        if working is None:
            working = self._working[key] = {}
        working[cid] = entry
        self._reserve(entry, inst, full)
        self._arrive(entry, inst, now)
        if self._store is not None:
            self._touch(entry)
        return self._view(entry)

    def _arrive(self, entry: _Entry, inst: Instrument, now: datetime) -> None:
        """Match a new (or amended) order against the last known price."""
        intent = entry.order.intent
        quote = self._quotes.get(inst.key)
        if quote is None or self.config.model.latency:
            if quote is None and intent.tif in _IMMEDIATE:
                self._end(entry, OrderStatus.EXPIRED, now, "no market price to execute against")
            return
        live = self._live.get(inst.key)
        if live is None or live[0] is not quote or live[1].ts != now:
            # The last quote as of now (one object per moment, shared by a batch of orders).
            live = (
                quote,
                Quote(
                    now,
                    quote.bid,
                    quote.ask,
                    quote.bid_size,
                    quote.ask_size,
                    quote.last,
                    quote.mark,
                    quote.index,
                    quote.bid_levels,
                    quote.ask_levels,
                ),
            )
            self._live[inst.key] = live
        self._match_quote(entry, inst, live[1])
        if entry.order.status in WORKING and intent.order_type in NEEDS_PRICE:
            entry.state.rested = True

    @exact
    def cancel(self, client_order_id: str, symbol: str) -> VenueOrder:
        """Cancel a working order (a finished one is returned as it is)."""
        self.faults.before("cancel")
        self._rate_limit()
        view = self._cancel_one(client_order_id)
        self._commit()
        self.faults.after("cancel")
        return view

    @exact
    def cancel_batch(self, refs: Sequence[tuple[str, str]]) -> list[VenueOrder | BrokerError]:
        """Cancel several orders (client id, symbol) in one request."""
        self.faults.before("cancel")
        self._rate_limit()
        out: list[VenueOrder | BrokerError] = []
        for cid, _ in refs:
            try:
                out.append(self._cancel_one(cid))
            except BrokerError as exc:
                out.append(exc)
        self._commit()
        self.faults.after("cancel")
        return out

    def _cancel_one(self, client_order_id: str) -> VenueOrder:
        entry = self._orders.get(client_order_id)
        if entry is None:
            raise OrderNotFound(f"no order {client_order_id}", field="client_order_id")
        if entry.order.status in WORKING:
            self._end(entry, OrderStatus.CANCELED, self._clock.now(), "canceled by the client")
        return self._view(entry)

    @exact
    def amend(
        self,
        client_order_id: str,
        symbol: str,
        *,
        qty: Decimal | None = None,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> VenueOrder:
        """Change a working order in place (quantity, limit or trigger price)."""
        self.faults.before("amend")
        self._rate_limit()
        view = self._amend_one(AmendRequest(client_order_id, symbol, qty, price, stop_price))
        self._commit()
        self.faults.after("amend")
        return view

    @exact
    def amend_batch(self, changes: Sequence[AmendRequest]) -> list[VenueOrder | BrokerError]:
        """Amend several orders in one request."""
        self.faults.before("amend")
        self._rate_limit()
        out: list[VenueOrder | BrokerError] = []
        for change in changes:
            try:
                out.append(self._amend_one(change))
            except BrokerError as exc:
                out.append(exc)
        self._commit()
        self.faults.after("amend")
        return out

    def _amend_one(self, change: AmendRequest) -> VenueOrder:
        if not self.config.capabilities.native_amend:
            raise OrderRejected("the venue does not support amending orders", field="amend")
        cid = change.client_order_id
        entry = self._orders.get(cid)
        if entry is None:
            raise OrderNotFound(f"no order {cid}", field="client_order_id")
        if entry.order.status not in WORKING:
            raise OrderRejected(f"order {cid} is {entry.order.status.value}", field="status")
        now = self._clock.now()
        try:
            updated = amended(entry.order, now, change.qty, change.price, change.stop_price)
        except RiskdeskError as exc:
            raise OrderRejected(exc.reason, field=exc.field) from exc
        inst = self._instruments.get(entry.key) or self._instrument(entry.key)
        self._accepts(updated.intent, inst)
        entry.order = updated
        entry.state.rested = False
        self._reserve(entry, inst)
        self._arrive(entry, inst, now)
        if self._store is not None:
            self._touch(entry)
        return self._view(entry)

    # ------------------------------------------------------------------ transfers

    @exact
    def transfer(
        self,
        transfer_id: str,
        from_account: str,
        to_account: str,
        currency: str,
        amount: Decimal,
    ) -> TransferReceipt:
        """Move cash between two paper wallets; idempotent by ``transfer_id``."""
        self.faults.before("transfer")
        done = self._receipts.get(transfer_id)
        if done is not None:
            return done
        now = self._clock.now()
        source = self._book(from_account)
        self._book(to_account)
        free = self._free(source, currency)
        if amount <= 0 or amount > free:
            receipt = TransferReceipt(
                transfer_id, False, now, f"insufficient free {currency}: {free} < {amount}"
            )
        else:
            self._cash(
                from_account,
                currency,
                -amount,
                "transfer out",
                (self.venue, f"transfer:{transfer_id}:out"),
            )
            self._cash(
                to_account,
                currency,
                amount,
                "transfer in",
                (self.venue, f"transfer:{transfer_id}:in"),
            )
            receipt = TransferReceipt(transfer_id, True, now)
        self._receipts[transfer_id] = receipt
        if self._store is not None:
            self._changes.meta[f"transfer:{transfer_id}"] = {
                "transfer_id": transfer_id,
                "executed": receipt.executed,
                "ts": now.isoformat(),
                "reason": receipt.reason,
            }
        self._commit()
        self.faults.after("transfer")
        return receipt

    # ------------------------------------------------------------------ market data

    @exact
    def on_quote(self, instrument_key: str, quote: Quote) -> int:
        """Match every working order of the instrument against a quote (price-time order)."""
        inst = self._instrument(instrument_key)
        self._quotes[instrument_key] = quote
        self._changed()
        if self._store is not None:
            self._changes.meta[f"quote:{instrument_key}"] = _quote_doc(quote)
        made = 0
        for entry in sorted(self._working.get(instrument_key, {}).values(), key=lambda e: e.seq):
            if not entry.order.status.working:
                continue
            if self._expire_day(entry, quote.ts):
                continue
            made += self._match_quote(entry, inst, quote)
            if entry.order.status.working and entry.order.intent.order_type.needs_price:
                entry.state.rested = True
            self._touch(entry)
        self._commit()
        return made

    @exact
    def on_candle(self, instrument_key: str, candle: Candle) -> int:
        """Match working orders against a bar in the order the bar path reaches them."""
        last = self._last_bar.get(instrument_key)
        if last is not None and candle.ts <= last:
            return 0
        inst = self._instrument(instrument_key)
        model = self.config.model
        end = candle.ts + candle.length
        staged: list[tuple[float, int, _Entry, MatchResult]] = []
        for entry in list(self._working.get(instrument_key, {}).values()):
            if self._expire_day(entry, candle.ts):
                continue
            room = (
                self._reduce_room(entry.order.intent, inst)
                if entry.order.intent.reduce_only
                else None
            )
            result, where = match_candle(entry.order, entry.state, candle, inst, model, room)
            staged.append((where, entry.seq, entry, result))
        staged.sort(key=lambda item: (item[0], item[1]))
        made = 0
        for _, _, entry, result in staged:
            if not entry.order.status.working:
                continue  # cancelled by an OCO sibling or a closed position earlier in this bar
            if result.triggered:
                entry.state.triggered = True
            made += self._settle(entry, inst, result, end)
            if entry.order.status.working and entry.order.intent.order_type.needs_price:
                entry.state.rested = True
            self._touch(entry)
        self._last_bar[instrument_key] = candle.ts
        half = model.bar_half_spread_bps * Decimal("0.0001")
        close = candle.close
        quote = Quote(
            end,
            inst.make_price(close * (1 - half), ROUND_FLOOR),
            inst.make_price(close * (1 + half), ROUND_CEILING),
            last=close,
            mark=close,
            index=close,
        )
        self._quotes[instrument_key] = quote
        self._changed()
        if self._store is not None:
            self._changes.meta[f"last_bar:{instrument_key}"] = candle.ts.isoformat()
            self._changes.meta[f"quote:{instrument_key}"] = _quote_doc(quote)
        self._commit()
        return made

    def last_bar(self, instrument_key: str) -> datetime | None:
        """Open time of the last bar matched for an instrument."""
        return self._last_bar.get(instrument_key)

    def last_quote(self, instrument_key: str) -> Quote | None:
        """The last price the venue knows for an instrument."""
        return self._quotes.get(instrument_key)

    # ------------------------------------------------------------------ matching internals

    def _match_quote(self, entry: _Entry, inst: Instrument, quote: Quote) -> int:
        room = (
            self._reduce_room(entry.order.intent, inst) if entry.order.intent.reduce_only else None
        )
        result = match_quote(entry.order, entry.state, quote, inst, self.config.model, room)
        if result.triggered:
            entry.state.triggered = True
        if not result.executions and not result.expire and not result.reject:
            return 0  # nothing executed and nothing ends the order: nothing to settle
        return self._settle(entry, inst, result, quote.ts)

    def _expire_day(self, entry: _Entry, ts: datetime) -> bool:
        order = entry.order
        if order.intent.tif is TimeInForce.DAY and ts.date() > order.created_at.date():
            self._end(entry, OrderStatus.EXPIRED, ts, "DAY order expired at the end of the day")
            self._touch(entry)
            return True
        return False

    def _settle(self, entry: _Entry, inst: Instrument, result: MatchResult, ts: datetime) -> int:
        """Apply a match result: book executions (capping reduce-only ones), then cancel, expire
        or reject what the result says, then the OCO siblings and reduce-only leftovers."""
        made = 0
        intent = entry.order.intent
        for ex in result.executions:
            qty = ex.qty
            if intent.reduce_only:
                qty = min(qty, self._reduce_room(intent, inst))
                if qty <= 0:
                    break
            made += self._execute(entry, inst, ex, qty)
        if made and entry.group is not None:
            self._cancel_group(entry, ts)
        if entry.order.status.working:
            if result.reject or result.expire:
                # IOC / FOK leftovers and a post-only that would take expire (as on Binance).
                self._end(entry, OrderStatus.EXPIRED, ts, result.reason)
            elif intent.reduce_only and made and self._reduce_room(intent, inst) <= 0:
                self._end(entry, OrderStatus.EXPIRED, ts, "reduce-only: the position is closed")
            elif intent.reduce_only and result.executions and not made:
                self._end(entry, OrderStatus.EXPIRED, ts, "reduce-only: no position to reduce")
        if made:
            self._close_out(intent, inst, ts)
        return made

    def _execute(self, entry: _Entry, inst: Instrument, ex: Execution, qty: Decimal) -> int:
        intent = entry.order.intent
        book = self._books[intent.account_id]
        fee = (
            ex.fee
            if qty == ex.qty
            else inst.fee(qty, ex.price, maker=ex.liquidity is Liquidity.MAKER)
        )
        venue = self.venue
        seq = self._seq + 1
        f = _new_fill(
            venue,
            f"{venue}-{seq}",
            intent.account_id,
            intent.symbol,
            intent.side,
            qty,
            ex.price,
            ex.ts,
            fee,
            inst.settle,
            ex.liquidity,
            intent.position_side,
            entry.cid,
            self._leverage(intent) if inst.settlement is Settlement.MARGIN else None,
        )
        try:
            book.apply_fill(f, inst)
        except InsufficientPosition as exc:
            self._end(entry, OrderStatus.EXPIRED, ex.ts, exc.reason)
            return 0
        self._changed()
        self._journal("fill", _fill_doc(f) if self._store is not None else None)
        self._fills.append((seq, f))
        entry.order, _ = fill(entry.order, qty, ex.price, ex.ts)
        if entry.order.status in WORKING:
            self._reserve(entry, inst)
        else:
            self._unreserve(entry)
            self._working.get(entry.key, {}).pop(entry.cid, None)
        return 1

    def _end(self, entry: _Entry, status: OrderStatus, ts: datetime, reason: str) -> None:
        entry.order, _ = transition(entry.order, status, ts, reason)
        self._unreserve(entry)
        self._working.get(entry.key, {}).pop(entry.cid, None)
        if self._store is not None:
            self._touch(entry)

    def _cancel_group(self, source: _Entry, ts: datetime) -> None:
        for other in list(self._working.get(source.key, {}).values()):
            if other is not source and other.group == source.group:
                self._end(other, OrderStatus.CANCELED, ts, "OCO: a linked order executed")

    def _close_out(self, intent: OrderIntent, inst: Instrument, ts: datetime) -> None:
        """When a position is flat, its reduce-only orders have nothing left to do.

        They end EXPIRED, not CANCELED: the venue ends them by its own rules (as Binance does,
        and as docs/oms.md promises); CANCELED is kept for cancels the client asked for and for
        OCO siblings, so an order's history says who ended it."""
        if self._position(intent, inst) != 0:
            return
        book = self._books[intent.account_id]
        slot = self._slot(book, intent, inst)
        for other in list(self._working.get(inst.key, {}).values()):
            o = other.order.intent
            if (
                o.reduce_only
                and o.account_id == intent.account_id
                and self._slot(book, o, inst) == slot
            ):
                self._end(other, OrderStatus.EXPIRED, ts, "reduce-only: the position is closed")


__all__ = ["InstrumentLookup", "PaperBroker", "PaperConfig"]
