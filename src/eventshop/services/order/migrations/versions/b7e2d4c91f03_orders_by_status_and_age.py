"""orders by status and age (stuck orders)

Revision ID: b7e2d4c91f03
Revises: 49dff6821d9e
Create Date: 2026-12-02 10:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'b7e2d4c91f03'
down_revision: str | None = '49dff6821d9e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_status_created', ['status', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_status_created')
