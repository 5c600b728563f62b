"""Machines' recordings, each kept once it is whole and hashes to what its machine declared.

Revision ID: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE recordings (
            machine text NOT NULL,
            name text NOT NULL,
            size bigint NOT NULL,
            sha256 text NOT NULL,
            person text,
            started text NOT NULL,
            stored_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (machine, name)
        );
        CREATE INDEX recordings_person ON recordings (person, started);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE recordings")
