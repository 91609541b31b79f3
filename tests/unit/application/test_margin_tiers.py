"""Maintenance-bracket tables from CSV: the shared Binance layout and riskdesk's own (without
maintenance amounts, derived), with every bad line named."""

from __future__ import annotations

from decimal import Decimal

import pytest

from riskdesk.application.fill_rows import ImportRejected
from riskdesk.application.margin_tiers import tiers_from_csv
from riskdesk.domain.errors import ValidationError

SHARED = """symbol,tier,currency,min_notional,max_notional,maint_margin_rate,max_leverage,maint_amount_cum
SOL/USDT:USDT,1,USDT,0.0,10000.0,0.01,75.0,0.0
SOL/USDT:USDT,2,USDT,10000.0,100000.0,0.02,50.0,100.0
XRP/USDT:USDT,1,USDT,0.0,10000.0,0.01,75.0,0.0
"""

OWN = """# written for a test
symbol,min_notional,max_notional,maint_margin_rate,max_leverage
BTC/USDT:USDT,50000,600000,0.005,100
BTC/USDT:USDT,0,50000,0.004,125
"""


def test_shared_layout_keeps_the_published_amounts() -> None:
    tiers = tiers_from_csv(SHARED, "SOL/USDT:USDT")
    assert [(t.floor, t.cap, t.maint_amount) for t in tiers] == [
        (Decimal(0), Decimal(10000), Decimal(0)),
        (Decimal(10000), Decimal(100000), Decimal(100)),
    ]


def test_own_layout_is_sorted_and_derives_the_amounts() -> None:
    tiers = tiers_from_csv(OWN, "BTC/USDT:USDT")
    assert [t.maint_amount for t in tiers] == [Decimal(0), Decimal(50)]
    assert tiers[0].max_leverage == 125


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ("symbol,min_notional\nBTC/USDT:USDT,0\n", "tiers", "no column max_notional"),
        (OWN.replace("0,50000,0.004", "10,50000,0.004"), "min_notional", "start at 0"),
        (OWN.replace("0.005,100", "1.2,100"), "maint_margin_rate", "below 1"),
        (OWN.replace("50000,600000", "50000,40000"), "max_notional", "not above"),
        (OWN.replace("0.004,125", "x,125"), "maint_margin_rate", "not a number"),
        (OWN, "tiers", "no brackets for ETH/USDT:USDT"),
    ],
)
def test_bad_tables_name_line_and_field(text: str, field: str, reason: str) -> None:
    symbol = "ETH/USDT:USDT" if "no brackets" in reason else "BTC/USDT:USDT"
    with pytest.raises(ValidationError) as info:
        tiers_from_csv(text, symbol)
    error = info.value
    if isinstance(error, ImportRejected):
        assert error.errors[0].field == field and reason in error.errors[0].reason
        assert error.errors[0].line >= 2
    else:
        assert error.field == field and reason in error.reason
