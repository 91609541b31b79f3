"""Risk engine: every pre-trade decision in risk_violations (new columns), the persisted trading
state and its history, and raised alerts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Column types are spelled out (as in 0001) so this revision keeps creating the same schema.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
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


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True)


_NEW_VIOLATION_COLUMNS = (
    "intent_id",
    "outcome",
    "venue",
    "symbol",
    "side",
    "suggestion",
    "source",
    "severity",
)


def upgrade() -> None:
    """Extend risk_violations; create trading_states, trading_state_history and alerts."""
    with op.batch_alter_table("risk_violations") as batch:
        for name in _NEW_VIOLATION_COLUMNS:
            batch.add_column(_str(name, nullable=True))
        batch.add_column(_dec("qty", nullable=True))
    op.create_index("ix_risk_violations_outcome_ts", "risk_violations", ["outcome", "ts"])
    op.create_table(
        "trading_states",
        _str("scope"),
        _str("state"),
        _ts("since"),
        _str("trigger"),
        _str("reason"),
        _str("by"),
        sa.PrimaryKeyConstraint("scope", name="pk_trading_states"),
    )
    op.create_table(
        "trading_state_history",
        _id(),
        _str("scope"),
        _ts("ts"),
        _str("old_state"),
        _str("new_state"),
        _str("trigger"),
        _str("reason"),
        _str("by"),
        sa.PrimaryKeyConstraint("id", name="pk_trading_state_history"),
    )
    op.create_index("ix_trading_state_history_scope_ts", "trading_state_history", ["scope", "ts"])
    op.create_table(
        "alerts",
        _id(),
        _ts("ts"),
        _str("key"),
        _str("kind"),
        _str("level"),
        _str("message"),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
    )
    op.create_index("ix_alerts_ts", "alerts", ["ts"])
    op.create_index("ix_alerts_key_ts", "alerts", ["key", "ts"])


def downgrade() -> None:
    """Drop the new tables and columns."""
    op.drop_table("alerts")
    op.drop_table("trading_state_history")
    op.drop_table("trading_states")
    op.drop_index("ix_risk_violations_outcome_ts", table_name="risk_violations")
    with op.batch_alter_table("risk_violations") as batch:
        batch.drop_column("qty")
        for name in reversed(_NEW_VIOLATION_COLUMNS):
            batch.drop_column(name)
