"""Order management: a protective stop's pending change (journaled before the venue is asked,
so recovery can finish a stop replacement a crash interrupted).

Revision ID: 0005_oms
Revises: 0004
Create Date: 2026-12-01

Column types are spelled out (as in the earlier revisions) so this revision keeps creating the
same schema whatever ``tables.py`` becomes later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_oms"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG = "postgresql"


def upgrade() -> None:
    """Add ``protections.pending``."""
    with op.batch_alter_table("protections") as batch:
        batch.add_column(
            sa.Column("pending", sa.JSON().with_variant(postgresql.JSONB(), _PG), nullable=True)
        )


def downgrade() -> None:
    """Drop ``protections.pending``."""
    with op.batch_alter_table("protections") as batch:
        batch.drop_column("pending")
