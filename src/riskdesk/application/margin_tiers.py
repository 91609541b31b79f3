"""Maintenance-margin bracket tables (Binance style) read from CSV text.

Columns (a header row; extra columns are ignored; ``#`` lines are comments):

=================== ==================================================================
symbol              the contract in any supported form (``BTC/USDT:USDT``); rows of other
                    symbols are skipped
min_notional        the bracket's notional floor, quote currency (the first must be 0)
max_notional        its cap (the next bracket's floor)
maint_margin_rate   maintenance margin rate, a fraction in [0, 1)
max_leverage        the bracket's maximum leverage
maint_amount_cum    optional: the bracket's maintenance amount; when absent it is derived as
                    Binance does, ``cum_n = floor_n·(mmr_n − mmr_{n−1}) + cum_{n−1}``
=================== ==================================================================

This is the layout of the shared ``binance_usdm_leverage_tiers`` file (whose ``tier`` and
``currency`` columns are simply ignored) and of riskdesk's bundled table.
"""

from __future__ import annotations

import csv
from decimal import Decimal

from riskdesk.application.fill_rows import ImportRejected, RowError
from riskdesk.domain.accounting.margin import maint_amounts
from riskdesk.domain.errors import RiskdeskError, ValidationError
from riskdesk.domain.instruments import MarginTier
from riskdesk.domain.symbols import canonical_symbol, parse_symbol
from riskdesk.domain.values import ONE, ZERO, non_negative, positive

REQUIRED = ("symbol", "min_notional", "max_notional", "maint_margin_rate", "max_leverage")


def _row(row: dict[str, str]) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal | None]:
    floor = non_negative(row["min_notional"], "min_notional")
    cap = positive(row["max_notional"], "max_notional")
    if cap <= floor:
        raise ValidationError(f"{cap} is not above min_notional {floor}", field="max_notional")
    rate = non_negative(row["maint_margin_rate"], "maint_margin_rate")
    if rate >= ONE:
        raise ValidationError(f"must be below 1, got {rate}", field="maint_margin_rate")
    leverage = positive(row["max_leverage"], "max_leverage")
    cum_text = (row.get("maint_amount_cum") or "").strip()
    cum = non_negative(cum_text, "maint_amount_cum") if cum_text else None
    return floor, cap, rate, leverage, cum


def tiers_from_csv(text: str, symbol: str) -> tuple[MarginTier, ...]:
    """The brackets of ``symbol`` (canonical form) in a tier table, sorted by floor.

    Every problem is reported with its line (the header is line 1), field and reason
    (:class:`ImportRejected`); a table without the symbol, or whose brackets do not start at 0
    and follow each other without gaps, is refused too."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ValidationError(
            f"the tier table has no column {', '.join(missing)} (needs {', '.join(REQUIRED)})",
            field="tiers",
        )
    rows: list[tuple[int, tuple[Decimal, Decimal, Decimal, Decimal, Decimal | None]]] = []
    errors: list[RowError] = []
    for raw in reader:
        line = reader.line_num
        row = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        try:
            if canonical_symbol(parse_symbol(row["symbol"])) != symbol:
                continue
            rows.append((line, _row(row)))
        except RiskdeskError as exc:
            errors.append(RowError(line, exc.field, exc.reason))
    if errors:
        raise ImportRejected(errors)
    if not rows:
        raise ValidationError(f"the tier table has no brackets for {symbol}", field="tiers")
    rows.sort(key=lambda item: item[1][0])
    previous_cap = ZERO
    for line, (floor, cap, _, _, _) in rows:
        if floor != previous_cap:
            reason = (
                "brackets must start at 0 and follow each other without gaps: expected "
                f"{previous_cap}, got {floor}"
            )
            raise ImportRejected([RowError(line, "min_notional", reason)])
        previous_cap = cap
    derived = maint_amounts([(floor, rate) for _, (floor, _, rate, _, _) in rows])
    return tuple(
        MarginTier(floor, cap, rate, leverage, derived[i] if cum is None else cum)
        for i, (_, (floor, cap, rate, leverage, cum)) in enumerate(rows)
    )


__all__ = ["REQUIRED", "tiers_from_csv"]
