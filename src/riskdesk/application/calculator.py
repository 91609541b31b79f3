"""The what-if position calculator (like the exchanges' own): margin, liquidation and bankruptcy
prices, P&L and ROE for a hypothetical position. Pure arithmetic over the domain."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from riskdesk.domain.accounting.margin import (
    MaintenanceBasis,
    MarginConvention,
    bankruptcy_price,
    group_liquidation_price,
    initial_margin,
    leg_of,
    margin_excess,
    roe,
    tier_for,
)
from riskdesk.domain.accounting.portfolio import on_grid, toward_mark
from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.fills import MarginMode
from riskdesk.domain.instruments import Instrument
from riskdesk.domain.symbols import SymbolKind
from riskdesk.domain.values import (
    ACCOUNTING_CONTEXT,
    ONE,
    RATIO_QUANTUM,
    ZERO,
    Side,
    exact,
    leverage_value,
    non_negative,
    positive,
    price_value,
    qty_value,
    ratio,
    trim,
)

_div = ACCOUNTING_CONTEXT.divide


@dataclass(frozen=True, slots=True)
class CalcRequest:
    """A hypothetical position of a perpetual or a dated future.

    ``size`` in contracts (coins for linear USDT-margined perps; USD contracts for inverse), ``entry``
    and ``exit`` in the price currency. Isolated: margin = notional/leverage + ``extra_margin``.
    Cross: the margin backing is ``wallet`` (required; not accepted for isolated, whose margin is
    its own). ``maint_margin_rate`` (with ``maint_amount``) fixes the maintenance rate; ``None``
    uses the instrument's brackets (or its flat rate). ``close_fee_rate`` counts the fee to close
    at the bankruptcy price (Bybit)."""

    instrument: Instrument
    side: Side
    size: Decimal
    entry: Decimal
    leverage: Decimal
    margin_mode: MarginMode = MarginMode.ISOLATED
    wallet: Decimal | None = None
    extra_margin: Decimal = ZERO
    exit: Decimal | None = None
    maint_margin_rate: Decimal | None = None
    maint_amount: Decimal = ZERO
    basis: MaintenanceBasis = MaintenanceBasis.MARK
    close_fee_rate: Decimal = ZERO
    fee_rate: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class CalcResult:
    """Everything in the settlement currency except prices (price currency) and ratios
    (fractions). Prices are exact; :meth:`on_tick` gives them as printed."""

    settle: str
    notional: Decimal
    initial_margin: Decimal
    margin_backing: Decimal
    maintenance_margin: Decimal
    maint_margin_rate: Decimal
    maint_amount: Decimal
    liquidation_price: Decimal | None
    bankruptcy_price: Decimal | None
    exit: Decimal | None
    pnl: Decimal | None
    fees: Decimal | None
    net_pnl: Decimal | None
    roe: Decimal | None
    entry: Decimal = ZERO
    tick_size: Decimal = Decimal("0.01")
    basis: MaintenanceBasis = MaintenanceBasis.MARK
    close_fee_rate: Decimal = ZERO

    def on_tick(self) -> CalcResult:
        """As printed: the liquidation price on the tick grid rounded toward the entry (never
        beyond the exact price), the bankruptcy price on the grid (nearest), ROE at
        ``RATIO_QUANTUM``."""
        return replace(
            self,
            liquidation_price=toward_mark(self.liquidation_price, self.tick_size, self.entry),
            bankruptcy_price=on_grid(self.bankruptcy_price, self.tick_size),
            roe=None if self.roe is None else ratio(self.roe),
        )


def _fraction(value: Decimal, field: str) -> Decimal:
    """A rate in [0, 1)."""
    rate = non_negative(value, field)
    if rate >= 1:
        raise InvalidValue(f"must be below 1 (a fraction), got {rate}", field=field)
    return rate


def _validate(req: CalcRequest) -> None:
    inst = req.instrument
    if inst.kind not in (SymbolKind.PERPETUAL, SymbolKind.FUTURE):
        what = {
            SymbolKind.SPOT: "a stock ticker" if inst.equity else "a spot pair",
            SymbolKind.OPTION: "an option",
        }.get(inst.kind, inst.kind.value)
        raise InvalidValue(
            f"calc is for perpetuals and futures; {inst.symbol} reads as {what} (write a "
            "perpetual as BTC/USDT:USDT or BTC-PERPETUAL, a future as BTC/USD:BTC-241227)",
            field="symbol",
        )
    if req.margin_mode is MarginMode.CROSS:
        if req.wallet is None:
            raise InvalidValue(
                "cross margin needs the wallet balance backing the position", field="wallet"
            )
        if req.extra_margin:
            raise InvalidValue(
                "applies to isolated margin; a cross position is backed by the wallet",
                field="extra_margin",
            )
    elif req.wallet is not None:
        raise InvalidValue(
            "applies to cross margin; an isolated position is backed by its own margin "
            "(use --extra-margin to add to it)",
            field="wallet",
        )


@exact
def calculate(req: CalcRequest) -> CalcResult:
    """Compute the what-if numbers; every bad input raises an error naming its field."""
    _validate(req)
    size = qty_value(req.size, "size")
    entry = price_value(req.entry, "entry")
    leverage = leverage_value(req.leverage, "leverage")
    inst = req.instrument
    inst.check_lot(size, "size")
    qty = size if req.side is Side.BUY else -size
    im = initial_margin(inst, qty, entry, leverage)
    if req.margin_mode is MarginMode.CROSS:
        assert req.wallet is not None  # noqa: S101 - checked by _validate
        backing = positive(req.wallet, "wallet")
    else:
        backing = im + non_negative(req.extra_margin, "extra_margin")
    close_fee_rate = _fraction(req.close_fee_rate, "close_fee_rate")
    fee_rate = _fraction(req.fee_rate, "fee_rate")
    notional = inst.notional(qty, entry)
    if req.maint_margin_rate is not None:
        rate = _fraction(req.maint_margin_rate, "mmr")
        cum = non_negative(req.maint_amount, "maint_amount")
        rates: list[tuple[Decimal, Decimal]] | None = [(rate, cum)]
    else:
        rate, cum = tier_for(inst, notional)
        rates = None  # the instrument's brackets (self-consistent at the liquidation price)
    mm = max(ZERO, notional * rate - cum)
    convention = MarginConvention(req.basis, close_fee_rate)
    leg = leg_of(inst, qty, entry)
    # Already liquidated at the entry: no liquidation price would mean anything.
    fixed = rates or [tier_for(inst, notional)]
    excess = margin_excess(inst, [leg], backing, entry, convention, fixed)
    if excess <= 0:
        cap = _div(ONE, leverage)
        if req.margin_mode is MarginMode.CROSS:
            raise InvalidValue(
                f"the wallet {backing} does not cover the maintenance margin {mm} at the entry: "
                "the position would be liquidated at once",
                field="wallet",
            )
        raise InvalidValue(
            f"the position would be liquidated at its entry: maintenance {mm} is not below its "
            f"margin {backing} (the maintenance rate must stay below 1/leverage = "
            f"{trim(cap.quantize(RATIO_QUANTUM))})",
            field="mmr",
        )
    liq = group_liquidation_price(inst, [leg], backing, convention, entry, rates)
    bank = bankruptcy_price(inst, qty, entry, backing, close_fee_rate)
    pnl = fees = net = roe_ = None
    exit_price = None
    if req.exit is not None:
        exit_price = price_value(req.exit, "exit")
        pnl = inst.pnl(qty, entry, exit_price)
        fees = (notional + inst.notional(qty, exit_price)) * fee_rate
        net = pnl - fees
        roe_ = roe(pnl, im)
    return CalcResult(
        settle=inst.settle,
        notional=notional,
        initial_margin=im,
        margin_backing=backing,
        maintenance_margin=mm,
        maint_margin_rate=rate,
        maint_amount=cum,
        liquidation_price=liq,
        bankruptcy_price=bank,
        exit=exit_price,
        pnl=pnl,
        fees=fees,
        net_pnl=net,
        roe=roe_,
        entry=entry,
        tick_size=inst.tick_size,
        basis=req.basis,
        close_fee_rate=close_fee_rate,
    )
