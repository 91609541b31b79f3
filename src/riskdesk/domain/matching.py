"""The matching model shared by the paper broker and the backtester.

One pure function decides how a working order executes against market data:

* **quotes** (bid/ask with optional sizes, plus last/mark/index for triggers): market orders take
  the touch (ask for a buy, bid for a sell) plus ``slippage_bps``; a limit order that is
  marketable when it arrives takes the touch as a taker, one that rests fills at its limit as a
  maker when the market crosses it; displayed size caps each fill (``max_fill_fraction`` of it),
  so large orders fill partially over several updates. A quote with the book's depth
  (``bid_levels`` / ``ask_levels``) is walked level by level instead: a taker order fills at
  each level's price up to its size (a limit stops at its price), so a large order pays the
  levels it eats through;
* **bars** (OHLC): the bar is walked along the path open → nearer extreme → farther extreme →
  close (the usual intrabar assumption). A stop or limit level crossed inside a segment executes
  at the level; one already passed at the segment's start (a gap) executes at that start price.
  Orders are taken in path order, so when the stop and the take-profit of an OCO pair both lie
  inside one bar, the one the path reaches first fills and the other is cancelled (the tie rule).

Stops and take-profits trigger on the price named by the order's ``trigger`` (mark, last or
index; a quote without that price falls back to mark, then to the mid). A buy stop triggers at
or above its level, a sell stop at or below; a take-profit the other way round. Time-in-force:
IOC expires what is not filled at once, FOK fills completely at once or expires, post-only is
rejected (expires) if it would take liquidity — the venue reports these leftovers as EXPIRED
(Binance's semantics; CANCELED is kept for cancels the client asked for and for linked orders
the venue cancelled).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal

from riskdesk.domain.instruments import Instrument
from riskdesk.domain.order_lifecycle import Order
from riskdesk.domain.orders import NEEDS_TRIGGER, OrderIntent, OrderType, TimeInForce, TriggerPrice
from riskdesk.domain.values import ZERO, Liquidity, Side, exact, fast_init

BPS = Decimal("0.0001")
TWO = Decimal(2)


#: Book levels ``(price, size)``, best first (price currency, contracts).
Levels = tuple[tuple[Decimal, Decimal], ...]


@fast_init
@dataclass(frozen=True, slots=True)
class Quote:
    """Top of book and reference prices at ``ts`` (price currency). ``bid_levels`` /
    ``ask_levels`` optionally give the book's depth, best level first (``(price, size)``, the
    touch included): an order that takes liquidity then walks the levels."""

    ts: datetime
    bid: Decimal
    ask: Decimal
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None
    last: Decimal | None = None
    mark: Decimal | None = None
    index: Decimal | None = None
    bid_levels: Levels = ()
    ask_levels: Levels = ()

    @property
    def mid(self) -> Decimal:
        """(bid + ask) / 2."""
        return (self.bid + self.ask) / TWO

    def reference(self, source: TriggerPrice) -> Decimal:
        """The price a trigger watches."""
        if source is TriggerPrice.LAST and self.last is not None:
            return self.last
        if source is TriggerPrice.INDEX and self.index is not None:
            return self.index
        return self.mark if self.mark is not None else self.mid


@dataclass(frozen=True, slots=True)
class Candle:
    """An OHLC bar opening at ``ts`` and lasting ``length``."""

    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    length: timedelta = timedelta(hours=1)

    def path(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """open → nearer extreme → farther extreme → close."""
        if self.high - self.open <= self.open - self.low:
            return (self.open, self.high, self.low, self.close)
        return (self.open, self.low, self.high, self.close)


@dataclass(frozen=True, slots=True)
class MatchingModel:
    """How executions are simulated. ``slippage_bps`` is paid by orders that take liquidity;
    ``bar_half_spread_bps`` builds a synthetic bid/ask around bar prices; ``max_fill_fraction``
    caps a fill at that fraction of the displayed size (None: no cap); ``latency`` delays when a
    new order can first execute."""

    slippage_bps: Decimal = ZERO
    bar_half_spread_bps: Decimal = ZERO
    max_fill_fraction: Decimal | None = None
    latency: timedelta = timedelta(0)


@fast_init
@dataclass(frozen=True, slots=True)
class Execution:
    """One simulated fill. ``fee`` in the instrument's settlement currency."""

    qty: Decimal
    price: Decimal
    liquidity: Liquidity
    fee: Decimal
    ts: datetime


@dataclass(slots=True)
class WorkingState:
    """Matching state of one working order: when it becomes live, whether its trigger fired and
    whether it has rested on the book (a resting limit fills as a maker)."""

    active_from: datetime
    triggered: bool = False
    rested: bool = False


@fast_init
@dataclass(frozen=True, slots=True)
class MatchResult:
    """Executions and what happens to the rest: ``expire`` (IOC/FOK leftovers: the venue ends
    them as EXPIRED, as Binance does), ``reject`` (post-only would take: EXPIRED too), with the
    reason."""

    executions: list[Execution] = field(default_factory=list)
    expire: bool = False
    reject: bool = False
    triggered: bool = False
    reason: str = ""


_NOTHING = MatchResult()
_TRIGGERED = MatchResult(triggered=True)


def _is_stop(kind: OrderType) -> bool:
    return kind in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)


def _is_conditional(kind: OrderType) -> bool:
    return kind in NEEDS_TRIGGER


_AS_MARKET = frozenset({OrderType.MARKET, OrderType.STOP_MARKET, OrderType.TAKE_PROFIT})
_IMMEDIATE = frozenset({TimeInForce.IOC, TimeInForce.FOK})


def _crossed(side: Side, kind: OrderType, trigger: Decimal, price: Decimal) -> bool:
    """Whether ``price`` is at or past a trigger level for this order."""
    rising = (side is Side.BUY) == _is_stop(kind)  # buy stop / sell take-profit trigger upwards
    return price >= trigger if rising else price <= trigger


def _fee(instrument: Instrument, qty: Decimal, price: Decimal, liquidity: Liquidity) -> Decimal:
    return instrument.fee(qty, price, maker=liquidity is Liquidity.MAKER)


def _taker_price(
    side: Side, touch: Decimal, model: MatchingModel, instrument: Instrument
) -> Decimal:
    if not model.slippage_bps:
        return touch
    factor = (1 + model.slippage_bps * BPS) if side is Side.BUY else (1 - model.slippage_bps * BPS)
    return instrument.make_limit_price(touch * factor, Side.SELL if side is Side.BUY else Side.BUY)


def _cap(
    qty: Decimal, size: Decimal | None, model: MatchingModel, instrument: Instrument
) -> Decimal:
    if size is None or model.max_fill_fraction is None:
        return qty
    room = instrument.make_qty(size * model.max_fill_fraction, ROUND_DOWN)
    return min(qty, room)


def _walk(
    side: Side,
    qty: Decimal,
    levels: Levels,
    limit: Decimal | None,
    model: MatchingModel,
    instrument: Instrument,
    ts: datetime,
) -> list[Execution]:
    """Take ``qty`` from the book's levels, best first, as a taker: each level gives at most its
    size (``max_fill_fraction`` of it when set) at its price (plus slippage); a limit stops the
    walk at the first level beyond it."""
    fills: list[Execution] = []
    fraction = model.max_fill_fraction
    left = qty
    for level, size in levels:
        if left <= 0:
            break
        if limit is not None and (level > limit if side is Side.BUY else level < limit):
            break
        room = instrument.make_qty(size if fraction is None else size * fraction, ROUND_DOWN)
        take = min(left, room)
        if take <= 0:
            continue
        price = _taker_price(side, level, model, instrument)
        fills.append(
            Execution(
                take, price, Liquidity.TAKER, _fee(instrument, take, price, Liquidity.TAKER), ts
            )
        )
        left -= take
    return fills


def _match_depth(
    intent: OrderIntent,
    qty: Decimal,
    levels: Levels,
    model: MatchingModel,
    instrument: Instrument,
    ts: datetime,
    triggered_now: bool,
) -> MatchResult:
    """A taker order against the book's depth (:func:`_walk`): FOK all or nothing, IOC's rest
    expires, a GTC order keeps working for what the book could not give."""
    limit = None if intent.order_type in _AS_MARKET else intent.price
    fills = _walk(intent.side, qty, levels, limit, model, instrument, ts)
    taken = sum((f.qty for f in fills), ZERO)
    if intent.tif is TimeInForce.FOK and taken < qty:
        return MatchResult(
            expire=True, triggered=triggered_now, reason="FOK: not enough size in the book"
        )
    if not fills and intent.tif not in _IMMEDIATE:
        return _TRIGGERED if triggered_now else _NOTHING
    return MatchResult(
        fills,
        expire=taken < qty and intent.tif in _IMMEDIATE,
        triggered=triggered_now,
        reason="" if fills else f"{intent.tif.value}: nothing in the book within the limit",
    )


def _match_market(
    intent: OrderIntent,
    qty: Decimal,
    touch: Decimal,
    size: Decimal | None,
    model: MatchingModel,
    instrument: Instrument,
    ts: datetime,
    triggered_now: bool,
) -> MatchResult:
    """A market order (or a triggered stop / take-profit market) at the touch, capped by the
    displayed size."""
    take = _cap(qty, size, model, instrument)
    if intent.tif is TimeInForce.FOK and take < qty:
        return MatchResult(
            expire=True, triggered=triggered_now, reason="FOK: not enough size at the touch"
        )
    price = _taker_price(intent.side, touch, model, instrument)
    fills = [
        Execution(take, price, Liquidity.TAKER, _fee(instrument, take, price, Liquidity.TAKER), ts)
    ]
    return MatchResult(
        fills, expire=qty > take and intent.tif in _IMMEDIATE, triggered=triggered_now
    )


@exact
def match_quote(
    order: Order,
    state: WorkingState,
    quote: Quote,
    instrument: Instrument,
    model: MatchingModel,
    remaining: Decimal | None = None,
) -> MatchResult:
    """Execute ``order`` (its ``remaining`` quantity, or the given one for reduce-only caps)
    against one quote. Pure: returns what happened; the caller updates the order and ``state``
    (``triggered``/``rested``)."""
    if quote.ts < state.active_from:
        return _NOTHING
    intent = order.intent
    left = intent.qty - order.filled_qty  # order.remaining
    qty = left if remaining is None else min(remaining, left)
    if qty <= 0:
        return _NOTHING
    kind = intent.order_type
    triggered_now = False
    if kind in NEEDS_TRIGGER and not state.triggered:
        assert intent.stop_price is not None  # noqa: S101 - validated intents carry a trigger
        if not _crossed(intent.side, kind, intent.stop_price, quote.reference(intent.trigger)):
            return _NOTHING
        triggered_now = True
    buy = intent.side is Side.BUY
    touch = quote.ask if buy else quote.bid
    if kind not in _AS_MARKET and intent.tif not in _IMMEDIATE:
        limit = intent.price
        if limit is not None and not (touch <= limit if buy else touch >= limit):
            return _TRIGGERED if triggered_now else _NOTHING  # not marketable: it rests
    size = quote.ask_size if buy else quote.bid_size
    levels = quote.ask_levels if buy else quote.bid_levels
    if kind in _AS_MARKET:
        if levels:
            return _match_depth(intent, qty, levels, model, instrument, quote.ts, triggered_now)
        return _match_market(intent, qty, touch, size, model, instrument, quote.ts, triggered_now)
    limit = intent.price
    assert limit is not None  # noqa: S101 - limit orders carry a price
    marketable = touch <= limit if buy else touch >= limit
    if not marketable:
        if intent.tif in _IMMEDIATE:
            return MatchResult(
                expire=True, triggered=triggered_now, reason=f"{intent.tif.value}: not marketable"
            )
        return _TRIGGERED if triggered_now else _NOTHING
    resting = state.rested and not triggered_now
    if intent.post_only and not resting:
        return MatchResult(
            reject=True, triggered=triggered_now, reason="post-only order would take liquidity"
        )
    if levels and not resting:  # a marketable limit takes the book down to its limit
        return _match_depth(intent, qty, levels, model, instrument, quote.ts, triggered_now)
    take = _cap(qty, size, model, instrument)
    if intent.tif is TimeInForce.FOK and take < qty:
        return MatchResult(
            expire=True, triggered=triggered_now, reason="FOK: not enough size at the touch"
        )
    if resting:
        liquidity, price = Liquidity.MAKER, limit
    else:
        liquidity, price = Liquidity.TAKER, touch
    fills = [Execution(take, price, liquidity, _fee(instrument, take, price, liquidity), quote.ts)]
    return MatchResult(
        fills, expire=(qty - take) > 0 and intent.tif is TimeInForce.IOC, triggered=triggered_now
    )


def _adverse(price: Decimal, side: Side, instrument: Instrument) -> Decimal:
    """Snap a taker price to the tick against the taker (a buy rounds up, a sell down)."""
    return instrument.make_price(price, ROUND_CEILING if side is Side.BUY else ROUND_FLOOR)


def _along(start: Decimal, end: Decimal, price: Decimal) -> float:
    """How far ``price`` lies from ``start`` toward ``end`` (0..1) inside one path segment."""
    span = end - start
    if not span:
        return 0.0
    return min(max(float((price - start) / span), 0.0), 0.999999)


#: Path position returned when a bar did not execute the order.
NO_EXECUTION = 3.0


@exact
def match_candle(
    order: Order,
    state: WorkingState,
    candle: Candle,
    instrument: Instrument,
    model: MatchingModel,
    remaining: Decimal | None = None,
) -> tuple[MatchResult, float]:
    """Execute ``order`` against one bar.

    Returns the result and where on the bar path it happened: the segment index (0..2) plus the
    fraction of that segment travelled (so 1.25 is a quarter of the way from the nearer to the
    farther extreme). Sorting executions of one bar by this number orders them as the path
    reaches them, which is the OCO tie rule. :data:`NO_EXECUTION` (3.0) when nothing executed.

    A plain order arrives at the open; a conditional one arrives when its trigger is crossed
    (at the level, or at the segment start when the price gapped through it). IOC and FOK are
    decided at arrival: not marketable then means expired. A limit that is marketable at
    arrival takes liquidity at the arrival price (half-spread applied); one reached later in the
    path fills at its limit as a maker."""
    if candle.ts + candle.length <= state.active_from:
        return _NOTHING, NO_EXECUTION
    intent = order.intent
    qty = order.remaining if remaining is None else min(remaining, order.remaining)
    if qty <= 0:
        return _NOTHING, NO_EXECUTION
    half = model.bar_half_spread_bps * BPS
    path = candle.path()
    kind = intent.order_type
    buy = intent.side is Side.BUY
    triggered = state.triggered
    arrival: int | None = None if _is_conditional(kind) and not triggered else 0
    for segment in range(3):
        start, end = path[segment], path[segment + 1]
        low, high = min(start, end), max(start, end)
        begin_at = start
        if arrival is None:
            assert intent.stop_price is not None  # noqa: S101 - validated intents carry a trigger
            trig = intent.stop_price
            if _crossed(intent.side, kind, trig, start):
                begin_at = start  # already past the level when the segment starts: a gap
            elif low <= trig <= high:
                begin_at = trig
            else:
                continue
            triggered = True
            arrival = segment
        fresh = triggered and not state.triggered
        if kind in (OrderType.MARKET, OrderType.STOP_MARKET, OrderType.TAKE_PROFIT):
            touch = begin_at * (1 + half) if buy else begin_at * (1 - half)
            price = _taker_price(
                intent.side, _adverse(touch, intent.side, instrument), model, instrument
            )
            fill = Execution(
                qty,
                price,
                Liquidity.TAKER,
                _fee(instrument, qty, price, Liquidity.TAKER),
                candle.ts,
            )
            return MatchResult([fill], triggered=fresh), segment + _along(start, end, begin_at)
        limit = intent.price
        assert limit is not None  # noqa: S101 - limit orders carry a price
        # Only what the segment visits after the order arrived can fill it.
        low, high = min(begin_at, end), max(begin_at, end)
        begin = begin_at * (1 + half) if buy else begin_at * (1 - half)
        reach = low * (1 + half) if buy else high * (1 - half)
        if (buy and begin <= limit) or (not buy and begin >= limit):
            if state.rested and not fresh:
                liquidity, price, where = Liquidity.MAKER, limit, begin_at
            else:
                if intent.post_only:
                    return MatchResult(
                        reject=True, triggered=fresh, reason="post-only order would take liquidity"
                    ), segment + _along(start, end, begin_at)
                liquidity = Liquidity.TAKER
                price = _adverse(begin, intent.side, instrument)
                price = min(price, limit) if buy else max(price, limit)
                where = begin_at
        elif segment == arrival and intent.tif in (TimeInForce.IOC, TimeInForce.FOK):
            return MatchResult(
                expire=True, triggered=fresh, reason=f"{intent.tif.value}: not marketable"
            ), segment + _along(start, end, begin_at)
        elif (buy and reach <= limit) or (not buy and reach >= limit):
            liquidity, price = Liquidity.MAKER, limit
            where = limit / (1 + half) if buy else limit / (1 - half)
        else:
            continue
        fill = Execution(qty, price, liquidity, _fee(instrument, qty, price, liquidity), candle.ts)
        return MatchResult([fill], triggered=fresh), segment + _along(start, end, where)
    return MatchResult(triggered=triggered and not state.triggered), NO_EXECUTION
