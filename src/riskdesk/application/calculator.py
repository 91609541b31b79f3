"""The what-if position calculator (like the exchanges' own): margin, liquidation and bankruptcy
prices, P&L and ROE for a hypothetical position. Pure arithmetic over the domain."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from riskdesk.domain.accounting.margin import (
    MaintenanceBasis,
    MarginConvention,
    bankruptcy_price,
    initial_margin,
    liquidation_price,
    liquidation_price_at,
    maintenance_margin,
    roe,
    tier_for,
)
from riskdesk.domain.errors import InvalidValue
from riskdesk.domain.fills import MarginMode
from riskdesk.domain.instruments import Instrument
from riskdesk.domain.values import ZERO, Side, positive


@dataclass(frozen=True, slots=True)
class CalcRequest:
    """A hypothetical position.

    ``size`` in contracts (coins for linear USDT-margined perps; USD contracts for inverse), ``entry``
    and ``exit`` in the price currency. Isolated: margin = notional/leverage + ``extra_margin``.
    Cross: the margin backing is ``wallet`` (required). ``close_fee_rate`` counts the fee to close
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
    """Everything in the settlement currency except prices (price currency) and ratios (fractions)."""

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


def calculate(req: CalcRequest) -> CalcResult:
    """Compute the what-if numbers; every bad input raises an error naming its field."""
    size = positive(req.size, "size")
    entry = positive(req.entry, "entry")
    leverage = positive(req.leverage, "leverage")
    inst = req.instrument
    qty = size if req.side is Side.BUY else -size
    im = initial_margin(inst, qty, entry, leverage)
    if req.margin_mode is MarginMode.CROSS:
        if req.wallet is None:
            raise InvalidValue(
                "cross margin needs the wallet balance backing the position", field="wallet"
            )
        backing = req.wallet
    else:
        backing = im + req.extra_margin
    if req.maint_margin_rate is not None:
        rate, cum = req.maint_margin_rate, req.maint_amount
        tiered = False
    else:
        rate, cum = tier_for(inst, inst.notional(qty, entry))
        tiered = bool(inst.margin_tiers)
    convention = MarginConvention(req.basis, req.close_fee_rate)
    if tiered:
        liq = liquidation_price(inst, qty, entry, backing, convention, entry)
    else:
        liq = liquidation_price_at(
            inst, qty, entry, backing, mmr=rate, cum=cum, convention=convention
        )
    bank = bankruptcy_price(inst, qty, entry, backing, req.close_fee_rate)
    mm = (
        maintenance_margin(inst, qty, entry)
        if tiered
        else max(ZERO, inst.notional(qty, entry) * rate - cum)
    )
    pnl = fees = net = ratio = None
    if req.exit is not None:
        exit_price = positive(req.exit, "exit")
        pnl = inst.pnl(qty, entry, exit_price)
        fees = (inst.notional(qty, entry) + inst.notional(qty, exit_price)) * req.fee_rate
        net = pnl - fees
        ratio = roe(pnl, im)
    return CalcResult(
        settle=inst.settle,
        notional=inst.notional(qty, entry),
        initial_margin=im,
        margin_backing=backing,
        maintenance_margin=mm,
        maint_margin_rate=rate,
        maint_amount=cum,
        liquidation_price=liq,
        bankruptcy_price=bank,
        exit=req.exit,
        pnl=pnl,
        fees=fees,
        net_pnl=net,
        roe=ratio,
    )
