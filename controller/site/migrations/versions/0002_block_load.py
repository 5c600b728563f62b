"""A block's load, for a person's progress across machines.

Revision ID: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE blocks ADD COLUMN load_kg double precision")
    op.execute("CREATE INDEX blocks_by_person ON blocks (person, exercise, at)")


def downgrade() -> None:
    op.execute("DROP INDEX blocks_by_person")
    op.execute("ALTER TABLE blocks DROP COLUMN load_kg")
