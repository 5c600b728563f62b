"""Rehab plans, kept at the site: which protocol each person follows, and every decision on it
from a check-in on any machine (controller/site/api_plans.py); each change a new revision of the
plan, which every machine is sent.

Revision ID: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE SEQUENCE plans_revision;
        CREATE TABLE plans (
            id bigserial PRIMARY KEY,
            person text NOT NULL,
            protocol text NOT NULL,
            assigned_by text NOT NULL,
            started timestamptz NOT NULL DEFAULT now(),
            active boolean NOT NULL DEFAULT true,
            revision bigint NOT NULL DEFAULT nextval('plans_revision')
        );
        CREATE UNIQUE INDEX plans_one_active ON plans (person) WHERE active;
        CREATE TABLE decisions (
            id bigserial PRIMARY KEY,
            plan_id bigint NOT NULL REFERENCES plans (id),
            machine text NOT NULL,
            checked_in timestamptz NOT NULL,
            source text NOT NULL,
            session_number integer NOT NULL,
            stage integer NOT NULL,
            action text NOT NULL,
            load_kg double precision NOT NULL,
            soreness integer NOT NULL,
            reason text NOT NULL,
            stored_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (plan_id, machine, checked_in)
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE decisions, plans; DROP SEQUENCE plans_revision")
