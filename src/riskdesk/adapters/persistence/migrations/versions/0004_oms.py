"""Order management: the order journal columns, order events, fills applied to orders,
emulated conditional orders, protective stops, SPOT -> FUT transfers and named cursors.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

Column types are spelled out (as in the earlier revisions) so this revision keeps creating the
same schema whatever ``tables.py`` becomes later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
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


def _int(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _json(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), _PG), nullable=False)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True)


def upgrade() -> None:
    """Extend orders; create the order-management tables."""
    with op.batch_alter_table("orders") as batch:
        batch.add_column(_dec("filled_qty", nullable=True))
        batch.add_column(_dec("avg_price", nullable=True))
        batch.add_column(_str("venue_order_id", nullable=True))
        batch.add_column(_int("version", nullable=True))
        batch.add_column(_str("reason", nullable=True))
        batch.add_column(_str("role", nullable=True))
        batch.add_column(_str("group_id", nullable=True))
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_table(
        "order_events",
        _id(),
        _ts("ts"),
        _str("client_order_id"),
        _str("intent_id"),
        _str("kind"),
        _str("old", nullable=True),
        _str("new", nullable=True),
        _json("payload"),
        sa.PrimaryKeyConstraint("id", name="pk_order_events"),
    )
    op.create_index("ix_order_events_client_order_id_id", "order_events", ["client_order_id", "id"])
    op.create_index("ix_order_events_ts", "order_events", ["ts"])
    op.create_table(
        "order_fills",
        _str("venue"),
        _str("fill_id"),
        _str("client_order_id"),
        _dec("qty"),
        _dec("price"),
        _ts("ts"),
        sa.PrimaryKeyConstraint("venue", "fill_id", name="pk_order_fills"),
    )
    op.create_index("ix_order_fills_client_order_id", "order_fills", ["client_order_id"])
    op.create_table(
        "conditional_orders",
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
        _json("intent"),
        sa.PrimaryKeyConstraint("cond_id", name="pk_conditional_orders"),
    )
    op.create_index("ix_conditional_orders_status", "conditional_orders", ["status"])
    op.create_table(
        "protections",
        _str("key"),
        _str("account_id"),
        _str("instrument_key"),
        _str("slot"),
        _int("direction"),
        _dec("level"),
        _dec("qty"),
        _str("trigger"),
        _str("mode"),
        _str("order_id", nullable=True),
        _str("cond_id", nullable=True),
        _int("generation"),
        _ts("updated_at"),
        _str("reason"),
        sa.PrimaryKeyConstraint("key", name="pk_protections"),
    )
    op.create_table(
        "transfers",
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
        sa.PrimaryKeyConstraint("transfer_id", name="pk_transfers"),
    )
    op.create_index("ix_transfers_status", "transfers", ["status"])
    op.create_index("ix_transfers_created_at", "transfers", ["created_at"])
    op.create_table(
        "oms_cursors",
        _str("name"),
        _str("value"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("name", name="pk_oms_cursors"),
    )


def downgrade() -> None:
    """Drop the order-management tables and the new order columns."""
    op.drop_table("oms_cursors")
    op.drop_table("transfers")
    op.drop_table("protections")
    op.drop_table("conditional_orders")
    op.drop_table("order_fills")
    op.drop_table("order_events")
    op.drop_index("ix_orders_status", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        for name in ("group_id", "role", "reason", "version", "venue_order_id", "avg_price"):
            batch.drop_column(name)
        batch.drop_column("filled_qty")
