"""Risk: equity marks — per scope the last revaluation and the cash-adjusted high-water mark
(the start-of-day baseline is stored as the day's midnight portfolio snapshot).

Revision ID: 0007_risk
Revises: 0006_governance
Create Date: 2026-12-07

Column types are spelled out (as in the earlier revisions) so this revision keeps creating the
same schema whatever ``tables.py`` becomes later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_risk"
down_revision: str | Sequence[str] | None = "0006_governance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG = "postgresql"


def _dec(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.Text().with_variant(postgresql.NUMERIC(), _PG), nullable=False)


def _ts(name: str) -> sa.Column[str]:
    return sa.Column(
        name, sa.Text().with_variant(postgresql.TIMESTAMP(timezone=True), _PG), nullable=False
    )


def upgrade() -> None:
    """Create risk_equity_marks."""
    op.create_table(
        "risk_equity_marks",
        sa.Column("scope", sa.String(), nullable=False),
        _ts("ts"),
        _dec("equity"),
        _dec("gross"),
        _dec("net"),
        _dec("peak"),
        _ts("peak_ts"),
        sa.Column("flows", sa.JSON().with_variant(postgresql.JSONB(), _PG), nullable=False),
        sa.PrimaryKeyConstraint("scope", name="pk_risk_equity_marks"),
    )


def downgrade() -> None:
    """Drop risk_equity_marks."""
    op.drop_table("risk_equity_marks")
