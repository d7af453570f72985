"""products: a category each

Revision ID: c3a8d51e7b20
Revises: 2f9410b7ebe9
Create Date: 2026-12-03 10:00:00

Products of earlier versions have no category (NULL): they are listed under all products and in no
category until an operator's `PUT /products/{id}` gives them one (`eventshop up` does so for the demo
catalog's products).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3a8d51e7b20"
down_revision: str | None = "2f9410b7ebe9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("category", sa.String(length=32), nullable=True))
        batch.create_index(batch.f("ix_products_category"), ["category"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_index(batch.f("ix_products_category"))
        batch.drop_column("category")
