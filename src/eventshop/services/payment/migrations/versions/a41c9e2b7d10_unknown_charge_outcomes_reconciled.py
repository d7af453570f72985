"""unknown charge outcomes are recorded and reconciled

Revision ID: a41c9e2b7d10
Revises: 757e6d17d4ea
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import eventshop.platform.db


revision: str = 'a41c9e2b7d10'
down_revision: str | None = '757e6d17d4ea'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unknown_since', eventshop.platform.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('next_check_at', eventshop.platform.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('reconcile_checks', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_payments_next_check_at'), ['next_check_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_next_check_at'))
        batch_op.drop_column('reconcile_checks')
        batch_op.drop_column('next_check_at')
        batch_op.drop_column('unknown_since')
