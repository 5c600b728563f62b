"""Accounts, managed once at the site and copied to every machine: each change a new revision; a
removed account keeps its row (password null) so its removal reaches the machines too.

Revision ID: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE SEQUENCE accounts_revision;
        CREATE TABLE accounts (
            name text PRIMARY KEY,
            role text NOT NULL,
            password text,
            revision bigint NOT NULL,
            changed_at timestamptz NOT NULL DEFAULT now()
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE accounts; DROP SEQUENCE accounts_revision")
