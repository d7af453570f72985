"""order sagas (the orchestrated style's durable saga state)

Revision ID: c3a9e5f1d2b4
Revises: b7e2d4c91f03
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from eventshop.platform.db import UTCDateTime

revision: str = 'c3a9e5f1d2b4'
down_revision: str | None = 'b7e2d4c91f03'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'order_sagas',
        sa.Column('order_id', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('step', sa.String(length=32), nullable=False),
        sa.Column('facts', sa.JSON(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('failing_since', UTCDateTime(), nullable=True),
        sa.Column('next_attempt_at', UTCDateTime(), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_sagas_order_id_orders')),
        sa.PrimaryKeyConstraint('order_id', name=op.f('pk_order_sagas')),
    )
    with op.batch_alter_table('order_sagas', schema=None) as batch_op:
        batch_op.create_index('ix_order_sagas_due', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('order_sagas', schema=None) as batch_op:
        batch_op.drop_index('ix_order_sagas_due')
    op.drop_table('order_sagas')
