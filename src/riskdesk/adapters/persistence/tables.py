"""The relational schema (SQLAlchemy Core). Domain objects are mapped by hand in
``repositories.py``; nothing here knows about them.

Money, prices and quantities are :class:`ExactDecimal`; timestamps :class:`UtcDateTime`.
Enumerations are stored as their string values. Indexes follow the repositories' filters.
Every change here needs a migration in ``migrations/versions`` (a test compares the two).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from riskdesk.adapters.persistence.types import BIG_ID, JSON_DOC, ExactDecimal, UtcDateTime

#: Deterministic constraint names, identical on every backend (migrations can refer to them).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _dec(name: str, *, nullable: bool = False) -> Column[Any]:
    return Column(name, ExactDecimal(name), nullable=nullable)


def _ts(name: str, *, nullable: bool = False) -> Column[Any]:
    return Column(name, UtcDateTime(name), nullable=nullable)


def _str(name: str, *, nullable: bool = False) -> Column[Any]:
    return Column(name, String(), nullable=nullable)


def _account_fk(*, nullable: bool = False) -> Column[Any]:
    return Column("account_id", String(), ForeignKey("accounts.account_id"), nullable=nullable)


def _instrument_fk() -> Column[Any]:
    return Column("instrument_key", String(), ForeignKey("instruments.key"), nullable=False)


accounts = Table(
    "accounts",
    metadata,
    Column("account_id", String(), primary_key=True),
    _str("venue"),
    _str("position_mode"),
    _str("default_margin_mode"),
    _dec("default_leverage"),
    _str("reporting_currency"),
    _str("name"),
)

balances = Table(
    "balances",
    metadata,
    _account_fk(),
    _str("currency"),
    _dec("amount"),
    PrimaryKeyConstraint("account_id", "currency"),
)

instruments = Table(
    "instruments",
    metadata,
    Column("key", String(), primary_key=True),
    _str("venue"),
    _str("symbol"),
    _str("kind"),
    _str("base"),
    _str("quote"),
    _str("settle"),
    _dec("tick_size"),
    _dec("lot_size"),
    _dec("contract_size"),
    Column("inverse", Boolean(), nullable=False),
    _dec("min_qty"),
    _dec("min_notional"),
    _str("price_currency"),
    _ts("expiry", nullable=True),
    _dec("strike", nullable=True),
    _str("option_right", nullable=True),
    _str("exercise", nullable=True),
    _str("underlying", nullable=True),
    _str("venue_symbol", nullable=True),
    _dec("maker_fee_rate"),
    _dec("taker_fee_rate"),
    _dec("maint_margin_rate"),
    Column("margin_tiers", JSON_DOC, nullable=False),
    Column("equity", Boolean(), nullable=False),
    UniqueConstraint("venue", "symbol"),
)

fills = Table(
    "fills",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    _str("venue"),
    _str("fill_id"),
    _account_fk(),
    _str("symbol"),
    _instrument_fk(),
    _str("side"),
    _dec("qty"),
    _dec("price"),
    _ts("ts"),
    _dec("fee"),
    _str("fee_currency", nullable=True),
    _str("liquidity", nullable=True),
    _str("position_side"),
    _str("order_id", nullable=True),
    _dec("leverage", nullable=True),
    _str("margin_mode", nullable=True),
    UniqueConstraint("venue", "fill_id"),
    Index(None, "account_id", "ts"),
    Index(None, "symbol", "ts"),
    Index(None, "ts"),
)

funding_payments = Table(
    "funding_payments",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    _str("venue"),
    _str("funding_key"),
    _account_fk(),
    _str("symbol"),
    _instrument_fk(),
    _str("position_side"),
    _dec("rate"),
    _dec("mark_price"),
    _ts("ts"),
    _dec("amount"),
    _str("position_id", nullable=True),
    UniqueConstraint("venue", "funding_key"),
    Index(None, "account_id", "ts"),
)

cash_movements = Table(
    "cash_movements",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    _str("venue"),
    _str("movement_key"),
    _account_fk(),
    _str("currency"),
    _dec("amount"),
    _ts("ts"),
    _str("reason"),
    UniqueConstraint("venue", "movement_key"),
    Index(None, "account_id", "ts"),
    Index(None, "ts"),
)

positions = Table(
    "positions",
    metadata,
    Column("position_id", String(), primary_key=True),
    _account_fk(),
    _instrument_fk(),
    _str("slot"),
    _dec("qty"),
    _dec("basis"),
    _dec("entry_price"),
    _ts("opened_at"),
    _ts("updated_at"),
    _dec("realized_pnl"),
    _dec("fees"),
    _dec("funding"),
    _dec("leverage"),
    _str("margin_mode"),
    _dec("isolated_margin"),
    _dec("entry_qty_total"),
    _dec("entry_basis_total"),
    _dec("exit_qty_total"),
    _dec("exit_basis_total"),
    Column("fill_count", Integer(), nullable=False),
    _dec("stop_price", nullable=True),
    UniqueConstraint("account_id", "instrument_key", "slot"),
)

closed_positions = Table(
    "closed_positions",
    metadata,
    Column("position_id", String(), primary_key=True),
    _account_fk(),
    _instrument_fk(),
    _str("slot"),
    _str("direction"),
    _dec("entry_qty"),
    _dec("entry_price"),
    _dec("exit_price"),
    _dec("realized_pnl"),
    _dec("fees"),
    _dec("funding"),
    _dec("net_pnl"),
    _dec("return_pct"),
    _ts("opened_at"),
    _ts("closed_at"),
    _dec("holding_seconds"),
    _str("exit_reason"),
    Index(None, "account_id", "closed_at"),
    Index(None, "closed_at"),
)

trade_records = Table(
    "trade_records",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    _account_fk(),
    _str("position_id"),
    _ts("ts"),
    _str("action"),
    _instrument_fk(),
    _str("side"),
    _dec("qty"),
    _dec("price"),
    _dec("realized_pnl"),
    _dec("fee"),
    Index(None, "account_id", "ts"),
    Index(None, "ts"),
    Index(None, "position_id"),
)

portfolio_snapshots = Table(
    "portfolio_snapshots",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    _str("scope"),
    _ts("ts"),
    _dec("total_equity"),
    _dec("available_balance"),
    _dec("unrealized_pnl"),
    _dec("realized_pnl"),
    _dec("gross_exposure"),
    _dec("net_exposure"),
    Column("summary", JSON_DOC, nullable=False),
    UniqueConstraint("scope", "ts"),
)

prices = Table(
    "prices",
    metadata,
    _str("kind"),
    _str("key"),
    _dec("price"),
    _ts("ts"),
    _str("source"),
    PrimaryKeyConstraint("kind", "key"),
    CheckConstraint("kind IN ('mark', 'asset')", name="kind"),
)

events = Table(
    "events",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    _ts("ts"),
    _str("kind"),
    _str("account_id"),
    Column("payload", JSON_DOC, nullable=False),
    Index(None, "ts"),
    Index(None, "kind", "ts"),
)

# The order journal (issue 6): one row per order, keyed by its client order id (``order_id``);
# ``payload`` holds the full intent, the columns are what queries filter and views show.
orders = Table(
    "orders",
    metadata,
    Column("order_id", String(), primary_key=True),
    _str("intent_id"),
    _str("client_order_id"),
    _account_fk(),
    _str("venue"),
    _str("symbol"),
    _str("side"),
    _str("type"),
    _dec("qty"),
    _dec("price", nullable=True),
    _dec("stop_price", nullable=True),
    _str("status"),
    Column("reduce_only", Boolean(), nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
    Column("payload", JSON_DOC, nullable=False),
    _dec("filled_qty", nullable=True),
    _dec("avg_price", nullable=True),
    _str("venue_order_id", nullable=True),
    Column("version", Integer(), nullable=True),
    _str("reason", nullable=True),
    _str("role", nullable=True),
    _str("group_id", nullable=True),
    UniqueConstraint("intent_id"),
    UniqueConstraint("client_order_id"),
    Index(None, "account_id", "status"),
    Index(None, "status"),
)

# Order-management tables (issue 6): every order transition, the venue fills already applied to
# journaled orders (idempotency), emulated conditional orders, protective stops, SPOT -> FUT
# transfer requests and named cursors (last venue fill seen, last replayed bar).
order_events = Table(
    "order_events",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    _ts("ts"),
    _str("client_order_id"),
    _str("intent_id"),
    _str("kind"),
    _str("old", nullable=True),
    _str("new", nullable=True),
    Column("payload", JSON_DOC, nullable=False),
    Index(None, "client_order_id", "id"),
    Index(None, "ts"),
)

order_fills = Table(
    "order_fills",
    metadata,
    _str("venue"),
    _str("fill_id"),
    _str("client_order_id"),
    _dec("qty"),
    _dec("price"),
    _ts("ts"),
    PrimaryKeyConstraint("venue", "fill_id"),
    Index(None, "client_order_id"),
)

conditional_orders = Table(
    "conditional_orders",
    metadata,
    _str("cond_id"),
    _str("status"),
    _str("account_id"),
    _str("watch"),
    _str("kind"),
    _dec("level", nullable=True),
    _str("source"),
    _dec("activation", nullable=True),
    _dec("callback", nullable=True),
    _dec("extreme", nullable=True),
    _str("group_id", nullable=True),
    _str("link"),
    _str("parent", nullable=True),
    _str("role"),
    _str("reason"),
    _ts("expires_at", nullable=True),
    _ts("created_at", nullable=True),
    _ts("updated_at", nullable=True),
    Column("intent", JSON_DOC, nullable=False),
    PrimaryKeyConstraint("cond_id"),
    Index(None, "status"),
)

protections = Table(
    "protections",
    metadata,
    _str("key"),
    _str("account_id"),
    _str("instrument_key"),
    _str("slot"),
    Column("direction", Integer(), nullable=False),
    _dec("level"),
    _dec("qty"),
    _str("trigger"),
    _str("mode"),
    _str("order_id", nullable=True),
    _str("cond_id", nullable=True),
    Column("generation", Integer(), nullable=False),
    _ts("updated_at"),
    _str("reason"),
    # A stop change journaled before the venue is asked (migration 0005_oms): recovery finishes it.
    Column("pending", JSON_DOC, nullable=True),
    PrimaryKeyConstraint("key"),
)

transfers = Table(
    "transfers",
    metadata,
    _str("transfer_id"),
    _str("from_account"),
    _str("to_account"),
    _str("currency"),
    _dec("amount"),
    _str("status"),
    _ts("created_at"),
    _ts("updated_at"),
    _str("reason"),
    _dec("free_fut"),
    _dec("free_spot"),
    _str("approved_by", nullable=True),
    _str("error"),
    PrimaryKeyConstraint("transfer_id"),
    Index(None, "status"),
    Index(None, "created_at"),
)

oms_cursors = Table(
    "oms_cursors",
    metadata,
    _str("name"),
    _str("value"),
    _ts("updated_at"),
    PrimaryKeyConstraint("name"),
)

# Placeholder for the risk issue: every denial is stored with its code, reason, value and limit.
risk_violations = Table(
    "risk_violations",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    _ts("ts"),
    _str("account_id"),
    _str("code"),
    _str("reason"),
    _dec("value", nullable=True),
    _dec("limit", nullable=True),
    Column("payload", JSON_DOC, nullable=False),
    _str("intent_id", nullable=True),
    _str("outcome", nullable=True),
    _str("venue", nullable=True),
    _str("symbol", nullable=True),
    _str("side", nullable=True),
    _dec("qty", nullable=True),
    _str("suggestion", nullable=True),
    _str("source", nullable=True),
    _str("severity", nullable=True),
    Index(None, "account_id", "ts"),
    Index(None, "ts"),
    Index(None, "outcome", "ts"),
)

trading_states = Table(
    "trading_states",
    metadata,
    _str("scope"),
    _str("state"),
    _ts("since"),
    _str("trigger"),
    _str("reason"),
    _str("by"),
    PrimaryKeyConstraint("scope"),
)

trading_state_history = Table(
    "trading_state_history",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    _str("scope"),
    _ts("ts"),
    _str("old_state"),
    _str("new_state"),
    _str("trigger"),
    _str("reason"),
    _str("by"),
    Index(None, "scope", "ts"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    _ts("ts"),
    _str("key"),
    _str("kind"),
    _str("level"),
    _str("message"),
    Column("value", Float(), nullable=False),
    Column("threshold", Float(), nullable=False),
    Index(None, "ts"),
    Index(None, "key", "ts"),
)

# Equity marks (risk): per scope the last revaluation and the cash-adjusted high-water mark;
# ``flows`` is the cash moved into the scope so far, per currency.
risk_equity_marks = Table(
    "risk_equity_marks",
    metadata,
    _str("scope"),
    _ts("ts"),
    _dec("equity"),
    _dec("gross"),
    _dec("net"),
    _dec("peak"),
    _ts("peak_ts"),
    Column("flows", JSON_DOC, nullable=False),
    PrimaryKeyConstraint("scope"),
)

# Governance (issue 5): one state per governed position (keyed by the entry intent id; the full
# state is the JSON document, the columns are what queries filter and views show), the plans
# with their pre-trade decisions, and governance events (STAGNATED, lifecycle changes, …).
governance_states = Table(
    "governance_states",
    metadata,
    _str("intent_id"),
    _str("position_id", nullable=True),
    _str("account_id"),
    _str("instrument_key"),
    _str("slot"),
    _str("profile"),
    _str("lifecycle"),
    _dec("stop_price", nullable=True),
    _dec("stop_qty"),
    _ts("updated_at", nullable=True),
    Column("state", JSON_DOC, nullable=False),
    # Bumped on every write (migration 0005): a kept in-memory copy knows when it is stale.
    Column("revision", BigInteger(), nullable=False, server_default="0"),
    PrimaryKeyConstraint("intent_id"),
    Index(None, "lifecycle"),
    Index(None, "position_id"),
    Index(None, "revision"),
)

governance_plans = Table(
    "governance_plans",
    metadata,
    _str("plan_id"),
    _ts("ts"),
    _str("position_id"),
    _str("intent_id"),
    _str("account_id"),
    _str("instrument_key"),
    _str("profile"),
    _str("status"),
    _str("why"),
    Column("document", JSON_DOC, nullable=False),
    Column("decisions", JSON_DOC, nullable=False),
    PrimaryKeyConstraint("plan_id"),
    Index(None, "ts"),
    Index(None, "position_id", "ts"),
)

governance_events = Table(
    "governance_events",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    _ts("ts"),
    _str("kind"),
    _str("intent_id"),
    _str("position_id", nullable=True),
    _str("message"),
    Column("data", JSON_DOC, nullable=False),
    Index(None, "ts"),
    Index(None, "kind", "ts"),
)

__all__ = [
    "accounts",
    "alerts",
    "balances",
    "cash_movements",
    "closed_positions",
    "conditional_orders",
    "events",
    "fills",
    "funding_payments",
    "governance_events",
    "governance_plans",
    "governance_states",
    "instruments",
    "metadata",
    "oms_cursors",
    "order_events",
    "order_fills",
    "orders",
    "portfolio_snapshots",
    "positions",
    "prices",
    "protections",
    "risk_equity_marks",
    "risk_violations",
    "trade_records",
    "trading_state_history",
    "trading_states",
    "transfers",
]
