"""Hypothesis properties of the ledger over random fill sequences (spot, linear and inverse
perpetuals, equity and coin options; netting and hedge accounts; fees in the settlement currency,
rebates, fees in the base coin of a spot pair (they reduce the coins received or cost extra
coins), fees in coin named explicitly on coin-settled contracts, fees in a third currency
(a linear perpetual's fee paid in BTC), funding):

(a) P&L conservation, exactly: cash and P&L reconcile with cash flows summed from the fills
    independently of the ledger;
(b) a fill crossing zero equals a closing fill then an opening fill (fee split pro rata);
(c) fills on independent symbols commute;
(d) replaying a fill, or the whole sequence, changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal

from domain_testkit import (
    CRYPTO_OPTION,
    EQUITY_OPTION,
    INVERSE,
    LINEAR,
    SPOT,
    T0,
    exact,
    exact_mul,
    funding,
    make_fill,
    new_book,
    state,
    strip_ids,
)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from riskdesk.domain.accounting.book import Book, BookChange, PositionMode
from riskdesk.domain.accounting.portfolio import MarketSnapshot, summarize
from riskdesk.domain.errors import InsufficientPosition, InvalidValue
from riskdesk.domain.fills import Fill, FundingPayment, MarginMode
from riskdesk.domain.instruments import Instrument, Settlement
from riskdesk.domain.symbols import SymbolKind
from riskdesk.domain.values import ACCOUNTING_CONTEXT, LEDGER_QUANTUM, PositionSide, Side

D = Decimal
PROPERTY = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

INSTRUMENTS = (SPOT, LINEAR, INVERSE, EQUITY_OPTION, CRYPTO_OPTION)
BY_KEY = {i.key: i for i in INSTRUMENTS}
PERPS = (LINEAR, INVERSE)
#: (lowest price, price step) per instrument: prices stay on-grid-ish and positive.
PRICES = {
    SPOT.key: (D("40000"), D("12.34")),
    LINEAR.key: (D("40000"), D("12.3")),
    INVERSE.key: (D("40000"), D("18.5")),
    EQUITY_OPTION.key: (D("0.50"), D("0.05")),
    CRYPTO_OPTION.key: (D("0.0005"), D("0.0005")),
}
FEE_UNIT = {"USDT": D("0.01"), "USD": D("0.01"), "BTC": D("0.00000001")}
INITIAL = {"USDT": D(1_000_000), "USD": D(1_000_000), "BTC": D(100)}
LEVERAGES = [D(1), D(2), D(3), D(7), D(10), D(20)]


def price_of(inst: Instrument, k: int) -> Decimal:
    low, step = PRICES[inst.key]
    return low + step * k


# ------------------------------------------------------------------------------ strategies


@dataclass(frozen=True)
class FillOp:
    inst: Instrument
    side: Side
    lots: int
    k: int
    fee_units: int
    long_slot: bool
    isolated: bool
    leverage: Decimal
    coin_fee: bool = False  # the fee is charged in the base coin (BTC), named explicitly


@dataclass(frozen=True)
class FundingOp:
    inst: Instrument
    rate_units: int
    k: int
    long_slot: bool


Op = FillOp | FundingOp

fill_ops = st.builds(
    FillOp,
    inst=st.sampled_from(INSTRUMENTS),
    side=st.sampled_from(list(Side)),
    lots=st.integers(1, 2000),
    k=st.integers(0, 2000),
    fee_units=st.integers(-3, 40),
    long_slot=st.booleans(),
    isolated=st.booleans(),
    leverage=st.sampled_from(LEVERAGES),
    coin_fee=st.booleans(),
)
funding_ops = st.builds(
    FundingOp,
    inst=st.sampled_from(PERPS),
    rate_units=st.integers(-20, 20),
    k=st.integers(0, 2000),
    long_slot=st.booleans(),
)


@st.composite
def sequences(draw: st.DrawFn) -> list[Op]:
    """Up to 25 facts on one to three instruments (few instruments: more adds, cuts and flips)."""
    focus = draw(st.lists(st.sampled_from(INSTRUMENTS), min_size=1, max_size=3, unique=True))
    raw = draw(
        st.lists(st.one_of(fill_ops, fill_ops, fill_ops, funding_ops), min_size=1, max_size=25)
    )
    where = draw(st.lists(st.integers(0, len(focus) - 1), min_size=len(raw), max_size=len(raw)))
    chosen = [replace(op, inst=focus[j]) for op, j in zip(raw, where, strict=True)]
    return [op for op in chosen if isinstance(op, FillOp) or op.inst in PERPS]


ops = sequences()
modes = st.sampled_from(list(PositionMode))
marks = st.fixed_dictionaries({i.key: st.integers(0, 2000) for i in INSTRUMENTS})


def lots_to_qty(inst: Instrument, lots: int) -> Decimal:
    if inst is EQUITY_OPTION:
        lots = 1 + lots % 30  # whole contracts, a handful
    return inst.lot_size * lots


def slot_for(inst: Instrument, mode: PositionMode, long_slot: bool) -> PositionSide:
    if mode is PositionMode.HEDGE and inst.kind in (SymbolKind.PERPETUAL, SymbolKind.FUTURE):
        return PositionSide.LONG if long_slot else PositionSide.SHORT
    return PositionSide.NET


#: Fee in the base coin, by instrument: a spot purchase pays it in BTC out of the coins bought;
#: coin-settled contracts name their settlement coin; the linear perpetual pays in a third
#: currency. Equity options pay in USD only.
COIN_FEES = {SPOT.key: "BTC", LINEAR.key: "BTC", INVERSE.key: "BTC", CRYPTO_OPTION.key: "BTC"}


def fee_of(op: FillOp) -> tuple[Decimal, str | None]:
    """``(fee, fee_currency)`` of a fill op; coin fees are positive (a base-coin rebate cannot be
    paid out of a spot position)."""
    coin = COIN_FEES.get(op.inst.key) if op.coin_fee else None
    if coin is None:
        return FEE_UNIT[op.inst.settle] * op.fee_units, None
    return FEE_UNIT[coin] * (abs(op.fee_units) + 1), coin


def to_fact(op: Op, i: int, mode: PositionMode) -> Fill | FundingPayment:
    slot = slot_for(op.inst, mode, op.long_slot)
    side = None if slot is PositionSide.NET else slot.value
    if isinstance(op, FundingOp):
        return funding(
            op.inst,
            D(op.rate_units) / 10_000,
            price_of(op.inst, op.k),
            ts=T0 + timedelta(hours=8 * i),
            position_side=side,
        )
    fee, fee_currency = fee_of(op)
    return make_fill(
        op.inst,
        op.side.value,
        lots_to_qty(op.inst, op.lots),
        price_of(op.inst, op.k),
        fill_id=f"f{i}",
        fee=fee,
        fee_currency=fee_currency,
        position_side=side,
        leverage=op.leverage,
        margin_mode=MarginMode.ISOLATED if op.isolated else MarginMode.CROSS,
        ts=T0 + timedelta(minutes=i),
    )


def apply(book: Book, fact: Fill | FundingPayment) -> BookChange | None:
    """Apply a fact; a rejected one (selling more than held, or a base-coin fee the position
    cannot pay) must leave the book unchanged."""
    inst = BY_KEY[fact.instrument_key]
    before = state(book)
    try:
        if isinstance(fact, Fill):
            return book.apply_fill(fact, inst)
        return book.apply_funding(fact, inst)
    except (InsufficientPosition, InvalidValue):
        assert state(book) == before
        return None


# ------------------------------------------------------------------------------ independent model


def q18(value: Decimal) -> Decimal:
    return value.quantize(LEDGER_QUANTUM, context=ACCOUNTING_CONTEXT)


class Model:
    """Independent bookkeeping from the facts alone: net quantity per slot, premium cash flows,
    fees, funding, and the value flows of every leg (closing and opening part of a flip apart)."""

    def __init__(self, mode: PositionMode) -> None:
        self.mode = mode
        self.qty: dict[tuple[str, PositionSide], Decimal] = {}
        self.value_flow: dict[tuple[str, PositionSide], Decimal] = {}
        self.cash: dict[str, Decimal] = dict(INITIAL)
        self.fees: dict[str, Decimal] = {}  # charged in the settlement currency
        self.other_fees: dict[str, Decimal] = {}  # charged in a third currency's balance
        self.funding: dict[str, Decimal] = {}

    def add(self, table: dict[str, Decimal], ccy: str, amount: Decimal) -> None:
        table[ccy] = exact(table.get(ccy, D(0)), amount)

    @staticmethod
    def base_fee(fill: Fill, inst: Instrument) -> Decimal:
        """A spot fee paid in the base coin (coins), else zero."""
        spot_base = inst.kind is SymbolKind.SPOT and fill.fee_currency == inst.base
        return fill.fee if spot_base and inst.base != inst.settle else D(0)

    def accepts(self, fill: Fill, inst: Instrument) -> bool:
        key = (inst.key, fill.position_side)
        held = self.qty.get(key, D(0))
        signed = fill.signed_qty
        if inst.kind is SymbolKind.SPOT and held + signed < 0:
            return False
        coin_fee = self.base_fee(fill, inst)
        # A base-coin fee is paid out of the coins left after the fill: there must be some,
        # and enough.
        if coin_fee and (held + signed <= 0 or held + signed - coin_fee < 0):
            return False
        if fill.position_side is PositionSide.LONG and held + signed < 0:
            return False
        return not (fill.position_side is PositionSide.SHORT and held + signed > 0)

    def fill(self, fill: Fill, inst: Instrument) -> None:
        key = (inst.key, fill.position_side)
        held = self.qty.get(key, D(0))
        signed = fill.signed_qty
        legs = [signed]
        if held and (held > 0) != (signed > 0) and abs(signed) > abs(held):
            legs = [-held, signed + held]  # close, then open the remainder
        flow = self.value_flow.get(key, D(0))
        for leg in legs:
            flow = exact(flow, -inst.entry_value(leg, fill.price))
        self.value_flow[key] = flow
        # A base-coin fee leaves with the coins: fewer received on a buy, extra given on a sell
        # (worth nothing in value flows: it is paid at price zero, so it shows as P&L).
        coin_fee = self.base_fee(fill, inst)
        self.qty[key] = exact(held, signed, -coin_fee)
        if inst.settlement is Settlement.PREMIUM:
            self.add(self.cash, inst.settle, -exact_mul(signed, inst.contract_size, fill.price))
        if coin_fee:
            return
        currency = fill.fee_currency or inst.settle
        self.add(self.cash, currency, -fill.fee)
        self.add(self.fees if currency == inst.settle else self.other_fees, currency, fill.fee)

    def fund(self, payment: FundingPayment, inst: Instrument) -> None:
        held = self.qty.get((inst.key, payment.position_side), D(0))
        if not held:
            return
        if inst.inverse:
            per_rate = ACCOUNTING_CONTEXT.divide(abs(held) * inst.contract_size, payment.mark_price)
        else:
            per_rate = exact_mul(abs(held), inst.contract_size, payment.mark_price)
        amount = q18(-(1 if held > 0 else -1) * per_rate * payment.rate)
        self.add(self.cash, inst.settle, amount)
        self.add(self.funding, inst.settle, amount)

    def total_pnl(self, ccy: str, mark_of: dict[str, Decimal]) -> Decimal:
        """Realized + unrealized of every slot settled in ``ccy``, from value flows alone."""
        total = D(0)
        for (key, _slot), flow in self.value_flow.items():
            inst = BY_KEY[key]
            if inst.settle != ccy:
                continue
            q = self.qty[(key, _slot)]
            total = exact(total, flow, inst.entry_value(q, mark_of[key]) if q else D(0))
        return total


# ------------------------------------------------------------------------------ (a) conservation

RATES = {"USDT": D(1), "USD": D(1), "BTC": D(60000), "TSLA": D(400)}


@PROPERTY
@given(ops, modes, marks)
def test_pnl_conservation_is_exact(
    sequence: list[Op], mode: PositionMode, mark_k: dict[str, int]
) -> None:
    book = new_book(INITIAL, mode=mode)
    model = Model(mode)
    realized: dict[tuple[str, Settlement], Decimal] = {}
    trade_fees: dict[str, Decimal] = {}
    closed_fees: dict[str, Decimal] = {}
    closed_funding: dict[str, Decimal] = {}
    for i, op in enumerate(sequence):
        fact = to_fact(op, i, mode)
        inst = op.inst
        if isinstance(fact, FundingPayment):
            change = apply(book, fact)
            if change is not None and change.cash:
                event("funding moved cash")
            model.fund(fact, inst)
            continue
        accepted = model.accepts(fact, inst)
        change = apply(book, fact)
        assert (change is not None) == accepted
        if change is None:
            event("a fill was rejected")
            continue
        if len(change.trades) == 2:
            event("a fill flipped a position")
        if fact.fee_currency is not None:
            where = (
                "base coin"
                if Model.base_fee(fact, inst)
                else ("coin settlement" if fact.fee_currency == inst.settle else "third currency")
            )
            event(f"fee in the {where} ({inst.kind.value} {fact.side.value})")
        model.fill(fact, inst)
        key = (inst.settle, inst.settlement)
        for trade in change.trades:
            realized[key] = exact(realized.get(key, D(0)), trade.realized_pnl)
            trade_fees[inst.settle] = exact(trade_fees.get(inst.settle, D(0)), trade.fee)
        for closed in change.closed:
            closed_fees[inst.settle] = exact(closed_fees.get(inst.settle, D(0)), closed.fees)
            closed_funding[inst.settle] = exact(
                closed_funding.get(inst.settle, D(0)), closed.funding
            )

    mark_of = {key: price_of(BY_KEY[key], k) for key, k in mark_k.items()}
    positions = book.open_positions()
    # Open positions hold exactly the net quantities the fills imply.
    assert {(p.instrument_key, p.slot): p.qty for p in positions} == {
        k: v for k, v in model.qty.items() if v
    }

    equity_reporting = D(0)
    for ccy, initial in INITIAL.items():
        mine = [(p, BY_KEY[p.instrument_key]) for p in positions]
        mine = [(p, inst) for p, inst in mine if inst.settle == ccy]
        premium = [(p, i) for p, i in mine if i.settlement is Settlement.PREMIUM]
        margined = [(p, i) for p, i in mine if i.settlement is Settlement.MARGIN]
        upnl_p = exact(*(p.unrealized_pnl(i, mark_of[i.key]) for p, i in premium))
        upnl_m = exact(*(p.unrealized_pnl(i, mark_of[i.key]) for p, i in margined))
        value_p = exact(*(p.market_value(i, mark_of[i.key]) for p, i in premium))
        realized_p = realized.get((ccy, Settlement.PREMIUM), D(0))
        realized_m = realized.get((ccy, Settlement.MARGIN), D(0))
        fees = model.fees.get(ccy, D(0))
        other_fees = model.other_fees.get(ccy, D(0))
        fund = model.funding.get(ccy, D(0))
        cash = book.cash(ccy)

        # Wallet: initial + premium cash flows − fees (in this currency, whatever they were
        # for) + funding (all summed from the facts) + realized P&L of margined positions;
        # nothing else moves it.
        assert cash == exact(model.cash[ccy], realized_m)
        # Realized + unrealized equals the value flows of the fills (no WAC involved); a spot
        # fee in the base coin is in there, as coins given up for nothing.
        assert exact(realized_p, realized_m, upnl_p, upnl_m) == model.total_pnl(ccy, mark_of)
        # cash + Σ market value + margined unrealized = initial + realized + unrealized − fees
        # + funding.
        equity = exact(cash, value_p, upnl_m)
        assert equity == exact(
            initial, realized_p, realized_m, upnl_p, upnl_m, -fees, -other_fees, fund
        )
        # Fees: per trade record, and per position (open or closed), add up to what was paid.
        assert trade_fees.get(ccy, D(0)) == fees
        open_fees = exact(*(p.fees for p, _ in mine))
        assert exact(open_fees, closed_fees.get(ccy, D(0))) == fees
        # Funding: what open and closed positions record equals what the payments moved.
        open_funding = exact(*(p.funding for p, _ in margined))
        assert exact(open_funding, closed_funding.get(ccy, D(0))) == fund
        equity_reporting = exact(equity_reporting, exact_mul(equity, RATES[ccy]))

    # The portfolio summary totals the same equity in the reporting currency.
    market = MarketSnapshot(mark_of, RATES, T0 + timedelta(days=2))
    summary = summarize([book], BY_KEY, market)
    assert summary.total_equity == equity_reporting
    assert summary.position_count == len(positions)


# ------------------------------------------------------------------------------ (b) flip


@st.composite
def flips(draw: st.DrawFn) -> tuple[Instrument, list[Fill], Fill]:
    inst = draw(st.sampled_from((LINEAR, INVERSE, EQUITY_OPTION, CRYPTO_OPTION)))
    side = draw(st.sampled_from(list(Side)))
    n = draw(st.integers(1, 3))
    opening = []
    held = 0
    for j in range(n):
        lots = draw(st.integers(1, 500))
        held += lots
        opening.append(
            make_fill(
                inst,
                side.value,
                inst.lot_size * lots,
                price_of(inst, draw(st.integers(0, 2000))),
                fill_id=f"o{j}",
                fee=FEE_UNIT[inst.settle] * draw(st.integers(0, 20)),
                leverage=draw(st.sampled_from(LEVERAGES)),
                margin_mode=draw(st.sampled_from(list(MarginMode))),
                ts=T0 + timedelta(minutes=j),
            )
        )
    extra = draw(st.integers(1, 500))
    cross = make_fill(
        inst,
        side.opposite.value,
        inst.lot_size * (held + extra),
        price_of(inst, draw(st.integers(0, 2000))),
        fill_id="x",
        fee=FEE_UNIT[inst.settle] * draw(st.integers(-3, 40)),
        leverage=draw(st.sampled_from(LEVERAGES)),
        margin_mode=draw(st.sampled_from(list(MarginMode))),
        ts=T0 + timedelta(hours=1),
    )
    return inst, opening, cross


def _split(cross: Fill, held: Decimal) -> tuple[Fill, Fill]:
    close_fee = q18(cross.fee * held / cross.qty) if cross.fee else D(0)
    kwargs = {
        "venue": cross.venue,
        "account_id": cross.account_id,
        "symbol": cross.symbol,
        "side": cross.side,
        "price": cross.price,
        "ts": cross.ts,
        "leverage": cross.leverage,
        "margin_mode": cross.margin_mode,
    }
    close = Fill.create(fill_id="x-close", qty=held, fee=close_fee, **kwargs)  # type: ignore[arg-type]
    open_ = Fill.create(fill_id="x-open", qty=cross.qty - held, fee=cross.fee - close_fee, **kwargs)  # type: ignore[arg-type]
    return close, open_


@PROPERTY
@given(flips())
def test_flip_equals_close_then_open(case: tuple[Instrument, list[Fill], Fill]) -> None:
    inst, opening, cross = case
    one, two = new_book(INITIAL), new_book(INITIAL)
    for f in opening:
        one.apply_fill(f, inst)
        two.apply_fill(f, inst)
    held = one.position(inst.key)
    assert held is not None
    close, open_ = _split(cross, abs(held.qty))

    flipped = one.apply_fill(cross, inst)
    closed = two.apply_fill(close, inst)
    opened = two.apply_fill(open_, inst)

    assert one.balances == two.balances
    assert strip_ids(one.open_positions()) == strip_ids(two.open_positions())
    assert flipped.closed == closed.closed
    assert closed.upserted == [] and len(opened.upserted) == 1
    assert flipped.cash == {
        ccy: exact(closed.cash.get(ccy, D(0)), opened.cash.get(ccy, D(0)))
        for ccy in set(closed.cash) | set(opened.cash)
        if exact(closed.cash.get(ccy, D(0)), opened.cash.get(ccy, D(0)))
    }

    def summary(trades: list[object]) -> list[tuple[object, ...]]:
        return [(t.action, t.qty, t.price, t.realized_pnl, t.fee) for t in trades]  # type: ignore[attr-defined]

    assert summary(flipped.trades) == summary(closed.trades + opened.trades)
    new = one.position(inst.key)
    assert new is not None
    assert new.qty == -held.qty / abs(held.qty) * (cross.qty - abs(held.qty))
    if inst.inverse:  # derived from a coin basis kept to 1e-18 (see the ledger tests)
        assert abs(new.entry_price - cross.price) <= cross.price * D("1e-12")
    else:
        assert new.entry_price == cross.price


# ------------------------------------------------------------------------------ (c) commute


@st.composite
def two_streams(draw: st.DrawFn) -> tuple[PositionMode, list[Op], list[Op], list[bool]]:
    a, b = draw(st.lists(st.sampled_from(INSTRUMENTS), min_size=2, max_size=2, unique=True))
    mode = draw(modes)

    def stream(inst: Instrument) -> list[Op]:
        drawn = draw(st.lists(st.one_of(fill_ops, fill_ops, funding_ops), min_size=1, max_size=8))
        usable = [op for op in drawn if isinstance(op, FillOp) or inst in PERPS]
        return [replace(op, inst=inst) for op in usable]

    first, second = stream(a), stream(b)
    order = draw(
        st.lists(
            st.booleans(), min_size=len(first) + len(second), max_size=len(first) + len(second)
        )
    )
    return mode, first, second, order


@PROPERTY
@given(two_streams())
def test_fills_on_independent_symbols_commute(
    case: tuple[PositionMode, list[Op], list[Op], list[bool]],
) -> None:
    mode, first, second, order = case
    facts_a = [to_fact(op, i, mode) for i, op in enumerate(first)]
    facts_b = [to_fact(op, 100 + i, mode) for i, op in enumerate(second)]

    sequential = new_book(INITIAL, mode=mode)
    for fact in facts_a + facts_b:
        apply(sequential, fact)
    reversed_ = new_book(INITIAL, mode=mode)
    for fact in facts_b + facts_a:
        apply(reversed_, fact)
    interleaved = new_book(INITIAL, mode=mode)
    queue_a, queue_b = list(facts_a), list(facts_b)
    for take_a in order:
        queue = queue_a if (take_a and queue_a) or not queue_b else queue_b
        apply(interleaved, queue.pop(0))
    assert not queue_a and not queue_b

    assert state(sequential) == state(reversed_) == state(interleaved)


# ------------------------------------------------------------------------------ (d) replay


@PROPERTY
@given(ops, modes, st.data())
def test_replaying_fills_changes_nothing(
    sequence: list[Op], mode: PositionMode, data: st.DataObject
) -> None:
    book = new_book(INITIAL, mode=mode)
    facts = []  # the accepted ones (a rejected oversell could legitimately succeed later)
    for i, op in enumerate(sequence):
        fact = to_fact(op, i, mode)
        if apply(book, fact) is not None:
            facts.append(fact)
    final = state(book)

    # The whole sequence again: every fact is a duplicate and nothing moves.
    for fact in facts:
        change = apply(book, fact)
        assert change is not None
        assert change.duplicate or (change.events == [] and change.cash == {})
    assert state(book) == final
    if not facts:
        return

    # One fact replayed later in the sequence (right after itself or further on).
    at = data.draw(st.integers(0, len(facts) - 1))
    again = data.draw(st.integers(at + 1, len(facts)))
    replayed = [*facts[:again], facts[at], *facts[again:]]
    other = new_book(INITIAL, mode=mode)
    for fact in replayed:
        assert apply(other, fact) is not None
    assert state(other) == final


# ------------------------------------------------------------------------------ averages


@PROPERTY
@given(
    st.sampled_from((SPOT, LINEAR, INVERSE, CRYPTO_OPTION)),
    st.lists(st.tuples(st.integers(1, 2000), st.integers(0, 2000)), min_size=1, max_size=8),
    st.sampled_from(list(Side)),
)
def test_average_entry_is_weighted_mean_in_value_coordinate(
    inst: Instrument, legs: list[tuple[int, int]], side: Side
) -> None:
    """Linear: Σq·p / Σq (seed 003 WAC). Inverse: the contract-weighted harmonic mean."""
    if inst is SPOT:
        side = Side.BUY
    book = new_book(INITIAL)
    for j, (lots, k) in enumerate(legs):
        book.apply_fill(
            make_fill(inst, side.value, inst.lot_size * lots, price_of(inst, k), fill_id=f"a{j}"),
            inst,
        )
    p = book.position(inst.key)
    assert p is not None
    qty = exact(*(inst.lot_size * lots for lots, _ in legs))
    if inst.inverse:
        coin = exact(
            *(
                q18(
                    ACCOUNTING_CONTEXT.divide(
                        inst.lot_size * lots * inst.contract_size, price_of(inst, k)
                    )
                )
                for lots, k in legs
            )
        )
        expected = ACCOUNTING_CONTEXT.divide(qty * inst.contract_size, coin)
    else:
        cost = exact(*(exact_mul(inst.lot_size * lots, price_of(inst, k)) for lots, k in legs))
        expected = ACCOUNTING_CONTEXT.divide(cost, qty)
    assert p.entry_price == expected.quantize(D("1e-12"), context=ACCOUNTING_CONTEXT)
    assert abs(p.qty) == qty
