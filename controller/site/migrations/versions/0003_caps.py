"""People's caps, kept at the site and sent to every machine: each change a new revision.

Revision ID: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE SEQUENCE caps_revision;
        CREATE TABLE caps (
            person text PRIMARY KEY,
            caps jsonb NOT NULL,
            revision bigint NOT NULL,
            set_by text NOT NULL,
            set_at timestamptz NOT NULL DEFAULT now()
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE caps; DROP SEQUENCE caps_revision")
