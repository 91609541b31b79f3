"""Turn imported rows (CSV lines or JSON objects) into fills and funding payments.

Every row is validated before anything is booked; all problems are collected with their line
number, field and reason, and reported together (:class:`ImportRejected`).

Columns (case-insensitive; extra columns are ignored):

=============== ===================================================================
kind            ``fill`` (default) or ``funding``
account_id      the account (``account`` accepted); defaults to the importer's account
venue           venue of the instrument (``exchange`` accepted)
symbol          any supported symbol form (OCC, Deribit, CCXT); normalised
fill_id         the venue's execution id (``id``, ``trade_id`` accepted)
side            buy / sell
qty             quantity in contracts (coins for spot) (``amount``, ``quantity``)
price           fill price, price currency per unit
ts              ISO 8601 with offset (``Z`` ok), or epoch milliseconds (``timestamp``)
fee             fee paid (negative: rebate); ``fee_currency`` defaults to settlement
liquidity       maker / taker (optional)
position_side   net / long / short (hedge mode)
leverage        leverage when the fill opens a margined position (optional)
margin_mode     isolated / cross (optional)
rate            funding rows: the funding rate per interval
mark_price      funding rows: the mark price used
=============== ===================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from riskdesk.domain.errors import RiskdeskError, ValidationError
from riskdesk.domain.fills import Fill, FundingPayment
from riskdesk.domain.symbols import canonical_symbol, parse_symbol

_ALIASES = {
    "account": "account_id",
    "exchange": "venue",
    "id": "fill_id",
    "trade_id": "fill_id",
    "amount": "qty",
    "quantity": "qty",
    "timestamp": "ts",
    "time": "ts",
    "datetime": "ts",
    "fee_cost": "fee",
    "type": "kind",
}


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in one row: ``line`` is 1-based in the file (the CSV header is line 1)."""

    line: int
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}"
        return f"{where}, {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"

    def to_dict(self) -> dict[str, object]:
        """``{"line", "field", "reason"}``."""
        return {"line": self.line, "field": self.field, "reason": self.reason}


#: Rows listed in an import error's message (the JSON form lists every one).
LISTED_IN_MESSAGE = 20


class ImportRejected(ValidationError):
    """Some rows are invalid; nothing was imported. ``errors`` lists every bad row (line, field,
    reason) in line order; with a single bad row, ``field`` is that row's field."""

    code = "import_rejected"

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = sorted(errors, key=lambda e: e.line)
        listed = "; ".join(str(e) for e in self.errors[:LISTED_IN_MESSAGE])
        extra = len(self.errors) - LISTED_IN_MESSAGE
        more = f" (and {extra} more)" if extra > 0 else ""
        super().__init__(
            f"{len(errors)} invalid row(s), nothing imported: {listed}{more}",
            field=self.errors[0].field if len(self.errors) == 1 else None,
        )

    def to_json(self) -> dict[str, object]:
        """The error with every rejected row as ``{"line", "field", "reason"}``."""
        data = super().to_json()
        data["errors"] = [e.to_dict() for e in self.errors]
        return data


ParsedRow = tuple[int, Fill | FundingPayment]


def parse_timestamp(value: str, field: str = "ts") -> datetime:
    """ISO 8601 with an offset (``Z`` accepted) or epoch milliseconds (≥ 10^11) / seconds."""
    text = value.strip()
    if not text:
        raise ValidationError("missing timestamp", field=field)
    if text.lstrip("-").isdigit():
        number = int(text)
        return datetime.fromtimestamp(number / 1000 if abs(number) >= 10**11 else number, UTC)
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{value!r} is not an ISO 8601 time or epoch milliseconds", field=field
        ) from None
    if ts.tzinfo is None:
        raise ValidationError(f"{value!r} has no UTC offset (add Z or +00:00)", field=field)
    return ts.astimezone(UTC)


def _normalise(row: Mapping[str, object]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in row.items():
        name = str(key).strip().lower()
        name = _ALIASES.get(name, name)
        if value is None:
            continue
        out[name] = (
            value
            if isinstance(value, str)
            else repr(value)
            if isinstance(value, float)
            else str(value)
        )
    return out


def _required(row: dict[str, str], name: str) -> str:
    value = row.get(name, "").strip()
    if not value:
        raise ValidationError("missing value", field=name)
    return value


def parse_row(
    row: Mapping[str, object], default_account: str | None = None
) -> Fill | FundingPayment:
    """Parse one row into a fill or a funding payment; raises the first problem found."""
    data = _normalise(row)
    kind = data.get("kind", "fill").strip().lower() or "fill"
    account = data.get("account_id", "").strip() or default_account
    if not account:
        raise ValidationError("missing value (and no default account given)", field="account_id")
    venue = _required(data, "venue")
    symbol = canonical_symbol(parse_symbol(_required(data, "symbol")))
    ts = parse_timestamp(_required(data, "ts"))
    if kind == "funding":
        return FundingPayment.create(
            venue=venue,
            account_id=account,
            symbol=symbol,
            rate=_required(data, "rate"),
            mark_price=_required(data, "mark_price"),
            ts=ts,
            position_side=data.get("position_side") or None,
        )
    if kind not in ("fill", "trade"):
        raise ValidationError(f"unknown row kind {kind!r} (fill or funding)", field="kind")
    return Fill.create(
        venue=venue,
        fill_id=_required(data, "fill_id"),
        account_id=account,
        symbol=symbol,
        side=_required(data, "side"),
        qty=_required(data, "qty"),
        price=_required(data, "price"),
        ts=ts,
        fee=data.get("fee", "").strip() or "0",
        fee_currency=data.get("fee_currency") or None,
        liquidity=data.get("liquidity") or None,
        position_side=data.get("position_side") or None,
        order_id=data.get("order_id") or None,
        leverage=data.get("leverage", "").strip() or None,
        margin_mode=data.get("margin_mode", "").strip() or None,
    )


def parse_rows(
    rows: Iterable[tuple[int, Mapping[str, object]]], default_account: str | None = None
) -> list[ParsedRow]:
    """Parse numbered rows; collect every error and raise :class:`ImportRejected` if any."""
    parsed: list[ParsedRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str], int] = {}
    for line, row in rows:
        try:
            item = parse_row(row, default_account)
        except RiskdeskError as exc:
            errors.append(RowError(line, exc.field, exc.reason))
            continue
        key = item.key
        if key in seen:
            errors.append(
                RowError(line, "fill_id", f"duplicate of line {seen[key]} in the same file")
            )
            continue
        seen[key] = line
        parsed.append((line, item))
    if errors:
        raise ImportRejected(errors)
    return parsed
