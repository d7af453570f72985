"""stock: reserved becomes held, sold is new

Revision ID: 5b2e7c1a9f04
Revises: d8ed8a23d112
Create Date: 2026-12-01 22:30:00

Units of orders that shipped before this version stay counted as held: the database never knew
which orders shipped. They can be found with the reservations still `reserved` whose order is
shipped in the Order service.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b2e7c1a9f04"
down_revision: str | None = "d8ed8a23d112"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stock") as batch:
        batch.alter_column("reserved", new_column_name="held", existing_type=sa.Integer(), existing_nullable=False)
        batch.add_column(sa.Column("sold", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("stock") as batch:
        batch.drop_column("sold")
        batch.alter_column("held", new_column_name="reserved", existing_type=sa.Integer(), existing_nullable=False)
