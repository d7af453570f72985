"""timeline trace ids (the trace each entry was written in, for the console's waterfall)

Revision ID: d4f1a7c2e9b6
Revises: c3a9e5f1d2b4
Create Date: 2026-12-02 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd4f1a7c2e9b6'
down_revision: str | None = 'c3a9e5f1d2b4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('order_timeline', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trace_id', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('order_timeline', schema=None) as batch_op:
        batch_op.drop_column('trace_id')
