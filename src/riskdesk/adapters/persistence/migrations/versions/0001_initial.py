"""Initial schema: accounts, balances, instruments, fills, funding, cash movements, positions, closed positions,
trade records, portfolio snapshots, prices, the event journal, and placeholders for orders and
risk violations.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

The column types are spelled out here rather than imported from ``types.py`` so this revision
keeps creating the same schema whatever later code does: exact decimals are TEXT on SQLite and
unconstrained NUMERIC on PostgreSQL, timestamps ISO text on SQLite and timestamptz on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG = "postgresql"


def _dec(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text().with_variant(postgresql.NUMERIC(), _PG), nullable=nullable)


def _ts(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(
        name, sa.Text().with_variant(postgresql.TIMESTAMP(timezone=True), _PG), nullable=nullable
    )


def _str(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(), nullable=nullable)


def _json(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), _PG), nullable=False)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True)


def _bool(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"], ["accounts.account_id"], name=f"fk_{table}_account_id_accounts"
    )


def _instrument_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["instrument_key"], ["instruments.key"], name=f"fk_{table}_instrument_key_instruments"
    )


def _index(table: str, *columns: str) -> None:
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns))


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "accounts",
        _str("account_id"),
        _str("venue"),
        _str("position_mode"),
        _str("default_margin_mode"),
        _dec("default_leverage"),
        _str("reporting_currency"),
        _str("name"),
        sa.PrimaryKeyConstraint("account_id", name="pk_accounts"),
    )
    op.create_table(
        "balances",
        _str("account_id"),
        _str("currency"),
        _dec("amount"),
        sa.PrimaryKeyConstraint("account_id", "currency", name="pk_balances"),
        _account_fk("balances"),
    )
    op.create_table(
        "instruments",
        _str("key"),
        _str("venue"),
        _str("symbol"),
        _str("kind"),
        _str("base"),
        _str("quote"),
        _str("settle"),
        _dec("tick_size"),
        _dec("lot_size"),
        _dec("contract_size"),
        _bool("inverse"),
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
        _json("margin_tiers"),
        _bool("equity"),
        sa.PrimaryKeyConstraint("key", name="pk_instruments"),
        sa.UniqueConstraint("venue", "symbol", name="uq_instruments_venue_symbol"),
    )
    op.create_table(
        "fills",
        _id(),
        _str("venue"),
        _str("fill_id"),
        _str("account_id"),
        _str("symbol"),
        _str("instrument_key"),
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
        sa.PrimaryKeyConstraint("id", name="pk_fills"),
        sa.UniqueConstraint("venue", "fill_id", name="uq_fills_venue_fill_id"),
        _account_fk("fills"),
        _instrument_fk("fills"),
    )
    _index("fills", "account_id", "ts")
    _index("fills", "symbol", "ts")
    _index("fills", "ts")
    op.create_table(
        "funding_payments",
        _id(),
        _str("venue"),
        _str("funding_key"),
        _str("account_id"),
        _str("symbol"),
        _str("instrument_key"),
        _str("position_side"),
        _dec("rate"),
        _dec("mark_price"),
        _ts("ts"),
        _dec("amount"),
        _str("position_id", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_funding_payments"),
        sa.UniqueConstraint("venue", "funding_key", name="uq_funding_payments_venue_funding_key"),
        _account_fk("funding_payments"),
        _instrument_fk("funding_payments"),
    )
    _index("funding_payments", "account_id", "ts")
    op.create_table(
        "cash_movements",
        _id(),
        _str("venue"),
        _str("movement_key"),
        _str("account_id"),
        _str("currency"),
        _dec("amount"),
        _ts("ts"),
        _str("reason"),
        sa.PrimaryKeyConstraint("id", name="pk_cash_movements"),
        sa.UniqueConstraint("venue", "movement_key", name="uq_cash_movements_venue_movement_key"),
        _account_fk("cash_movements"),
    )
    _index("cash_movements", "account_id", "ts")
    _index("cash_movements", "ts")
    op.create_table(
        "positions",
        _str("position_id"),
        _str("account_id"),
        _str("instrument_key"),
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
        sa.Column("fill_count", sa.Integer(), nullable=False),
        _dec("stop_price", nullable=True),
        sa.PrimaryKeyConstraint("position_id", name="pk_positions"),
        sa.UniqueConstraint(
            "account_id",
            "instrument_key",
            "slot",
            name="uq_positions_account_id_instrument_key_slot",
        ),
        _account_fk("positions"),
        _instrument_fk("positions"),
    )
    op.create_table(
        "closed_positions",
        _str("position_id"),
        _str("account_id"),
        _str("instrument_key"),
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
        sa.PrimaryKeyConstraint("position_id", name="pk_closed_positions"),
        _account_fk("closed_positions"),
        _instrument_fk("closed_positions"),
    )
    _index("closed_positions", "account_id", "closed_at")
    _index("closed_positions", "closed_at")
    op.create_table(
        "trade_records",
        _id(),
        _str("account_id"),
        _str("position_id"),
        _ts("ts"),
        _str("action"),
        _str("instrument_key"),
        _str("side"),
        _dec("qty"),
        _dec("price"),
        _dec("realized_pnl"),
        _dec("fee"),
        sa.PrimaryKeyConstraint("id", name="pk_trade_records"),
        _account_fk("trade_records"),
        _instrument_fk("trade_records"),
    )
    _index("trade_records", "account_id", "ts")
    _index("trade_records", "ts")
    _index("trade_records", "position_id")
    op.create_table(
        "portfolio_snapshots",
        _id(),
        _str("scope"),
        _ts("ts"),
        _dec("total_equity"),
        _dec("available_balance"),
        _dec("unrealized_pnl"),
        _dec("realized_pnl"),
        _dec("gross_exposure"),
        _dec("net_exposure"),
        _json("summary"),
        sa.PrimaryKeyConstraint("id", name="pk_portfolio_snapshots"),
        sa.UniqueConstraint("scope", "ts", name="uq_portfolio_snapshots_scope_ts"),
    )
    op.create_table(
        "prices",
        _str("kind"),
        _str("key"),
        _dec("price"),
        _ts("ts"),
        _str("source"),
        sa.PrimaryKeyConstraint("kind", "key", name="pk_prices"),
        sa.CheckConstraint("kind IN ('mark', 'asset')", name="ck_prices_kind"),
    )
    op.create_table(
        "events",
        _id(),
        _ts("ts"),
        _str("kind"),
        _str("account_id"),
        _json("payload"),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    _index("events", "ts")
    _index("events", "kind", "ts")
    op.create_table(
        "orders",
        _str("order_id"),
        _str("intent_id"),
        _str("client_order_id"),
        _str("account_id"),
        _str("venue"),
        _str("symbol"),
        _str("side"),
        _str("type"),
        _dec("qty"),
        _dec("price", nullable=True),
        _dec("stop_price", nullable=True),
        _str("status"),
        _bool("reduce_only"),
        _ts("created_at"),
        _ts("updated_at"),
        _json("payload"),
        sa.PrimaryKeyConstraint("order_id", name="pk_orders"),
        sa.UniqueConstraint("intent_id", name="uq_orders_intent_id"),
        sa.UniqueConstraint("client_order_id", name="uq_orders_client_order_id"),
        _account_fk("orders"),
    )
    _index("orders", "account_id", "status")
    op.create_table(
        "risk_violations",
        _id(),
        _ts("ts"),
        _str("account_id"),
        _str("code"),
        _str("reason"),
        _dec("value", nullable=True),
        _dec("limit", nullable=True),
        _json("payload"),
        sa.PrimaryKeyConstraint("id", name="pk_risk_violations"),
    )
    _index("risk_violations", "account_id", "ts")
    _index("risk_violations", "ts")


def downgrade() -> None:
    """Drop every table (children first)."""
    for table in (
        "risk_violations",
        "orders",
        "events",
        "prices",
        "portfolio_snapshots",
        "trade_records",
        "closed_positions",
        "positions",
        "cash_movements",
        "funding_payments",
        "fills",
        "instruments",
        "balances",
        "accounts",
    ):
        op.drop_table(table)
