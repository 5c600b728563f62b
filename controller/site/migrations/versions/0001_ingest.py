"""What the machines say: their state, every rep, every finished block and every fault.

Revision ID: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE machines (
            machine text PRIMARY KEY,
            online boolean NOT NULL,
            state jsonb NOT NULL,
            last_fault jsonb,
            seen_at timestamptz NOT NULL
        );
        CREATE TABLE reps (
            machine text NOT NULL,
            block text NOT NULL,
            set_index integer NOT NULL,
            rep_index integer NOT NULL,
            person text,
            at timestamptz NOT NULL,
            stored_at timestamptz NOT NULL DEFAULT now(),
            metrics jsonb NOT NULL,
            PRIMARY KEY (machine, block, set_index, rep_index)
        );
        CREATE INDEX reps_by_person ON reps (person, at);
        CREATE TABLE blocks (
            machine text NOT NULL,
            block text NOT NULL,
            person text,
            profile text,
            exercise text,
            reps integer,
            at timestamptz NOT NULL,
            summary jsonb NOT NULL,
            PRIMARY KEY (machine, block)
        );
        CREATE TABLE events (
            machine text NOT NULL,
            id text NOT NULL,
            topic text NOT NULL,
            kind text,
            at timestamptz NOT NULL,
            body jsonb NOT NULL,
            PRIMARY KEY (machine, id)
        );
        CREATE INDEX events_by_time ON events (machine, at);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE events, blocks, reps, machines")
