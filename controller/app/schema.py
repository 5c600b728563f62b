"""The session store's schema, as numbered migrations: SQLite's user_version says how many a file
has had, and opening an older file runs the rest in one transaction (store.py)."""

from __future__ import annotations

from dataclasses import fields

from controller.core.reps import RepMetrics

REP_COLUMNS = [f.name for f in fields(RepMetrics)]
# The rep columns of the first schema; later metrics come in by migration.
_FIRST_REP_COLUMNS = [
    "index", "concentric_s", "eccentric_s", "rom_m", "mean_concentric_force_n", "mean_eccentric_force_n",
    "peak_force_n", "mean_concentric_velocity_mps", "peak_concentric_velocity_mps",
    "mean_concentric_power_w", "time_under_tension_s", "velocity_loss_pct", "peak_speed_mps",
    "longest_stall_s", "assisted", "failed",
]  # fmt: skip
REP_SQL = ", ".join(f'"{name}"' for name in REP_COLUMNS)  # quoted: "index" is an SQL keyword

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE people (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL DEFAULT 'athlete',
        created TEXT NOT NULL
    );
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY, person_id INTEGER REFERENCES people(id), started TEXT NOT NULL,
        machine TEXT NOT NULL, recording TEXT
    );
    CREATE TABLE sets (
        id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        number INTEGER NOT NULL, profile TEXT NOT NULL, load_kg REAL NOT NULL
    );
    """
    + "CREATE TABLE reps (id INTEGER PRIMARY KEY, set_id INTEGER NOT NULL REFERENCES sets(id) "
    + "ON DELETE CASCADE, "
    + ", ".join(f'"{name}" REAL NOT NULL' for name in _FIRST_REP_COLUMNS)
    + ");",
    # 2: free-text notes on a session (a clinician's remark, how the lifter felt)
    """
    CREATE TABLE notes (
        id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        written TEXT NOT NULL, text TEXT NOT NULL
    );
    """,
    # 3: dashboard accounts (login name, role, scrypt hash); separate from the people trained
    """
    CREATE TABLE accounts (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, password TEXT NOT NULL,
        created TEXT NOT NULL
    );
    """,
    # 4: rehab: a clinician's caps per person, protocol plans, soreness check-ins, and every
    # progression decision with its reason (controller/clinic.py)
    """
    CREATE TABLE caps (
        person_id INTEGER PRIMARY KEY REFERENCES people(id), caps TEXT NOT NULL, set_by TEXT NOT NULL,
        set_at TEXT NOT NULL
    );
    CREATE TABLE plans (
        id INTEGER PRIMARY KEY, person_id INTEGER NOT NULL REFERENCES people(id), protocol TEXT NOT NULL,
        assigned_by TEXT NOT NULL, started TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE checkins (
        id INTEGER PRIMARY KEY, person_id INTEGER NOT NULL REFERENCES people(id), at TEXT NOT NULL,
        soreness INTEGER NOT NULL
    );
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY, plan_id INTEGER NOT NULL REFERENCES plans(id), at TEXT NOT NULL,
        session_number INTEGER NOT NULL, stage INTEGER NOT NULL, action TEXT NOT NULL,
        load_kg REAL NOT NULL, soreness INTEGER NOT NULL, reason TEXT NOT NULL,
        after_session INTEGER NOT NULL  -- the sessions after this one carried the decision out
    );
    """,
    # 5: whether a set overloaded the lowering (for the spacing of overload sessions), and the mean
    # propulsive velocity. Older sets are judged from their reps (lowering tension above the lift's);
    # older reps take their mean concentric velocity, which a cable under steady tension matches.
    """
    ALTER TABLE sets ADD COLUMN eccentric_overload INTEGER NOT NULL DEFAULT 0;
    UPDATE sets SET eccentric_overload = 1 WHERE id IN (
        SELECT set_id FROM reps GROUP BY set_id
        HAVING AVG(mean_eccentric_force_n) > 1.02 * AVG(mean_concentric_force_n)
    );
    ALTER TABLE reps ADD COLUMN mean_propulsive_velocity_mps REAL NOT NULL DEFAULT 0;
    UPDATE reps SET mean_propulsive_velocity_mps = mean_concentric_velocity_mps;
    """,
    # 6: the exercise a set was (a load-velocity profile is one exercise's); older sets: unknown
    """
    ALTER TABLE sets ADD COLUMN exercise TEXT NOT NULL DEFAULT '';
    """,
    # 7: the workout a session was a block of (a workout is filed a session a block); older: none
    """
    ALTER TABLE sessions ADD COLUMN workout TEXT NOT NULL DEFAULT '';
    """,
    # 8: both phases' peak force and power and the lowering's mean power (flywheel ratios; older
    # reps: 0, not measured), and whether a rep was a flywheel's spin-up
    """
    ALTER TABLE reps ADD COLUMN peak_concentric_force_n REAL NOT NULL DEFAULT 0;
    ALTER TABLE reps ADD COLUMN peak_eccentric_force_n REAL NOT NULL DEFAULT 0;
    ALTER TABLE reps ADD COLUMN peak_concentric_power_w REAL NOT NULL DEFAULT 0;
    ALTER TABLE reps ADD COLUMN mean_eccentric_power_w REAL NOT NULL DEFAULT 0;
    ALTER TABLE reps ADD COLUMN peak_eccentric_power_w REAL NOT NULL DEFAULT 0;
    ALTER TABLE reps ADD COLUMN pre_rep REAL NOT NULL DEFAULT 0;
    """,
    # 9: caps that came from the site (its revision: a copy older than the last one is refused),
    # and whether the site was last heard online, for what a set started without it says
    """
    ALTER TABLE caps ADD COLUMN site_revision INTEGER;
    ALTER TABLE caps ADD COLUMN source TEXT NOT NULL DEFAULT 'machine';
    CREATE TABLE site_link (
        id INTEGER PRIMARY KEY CHECK (id = 1), online INTEGER NOT NULL, changed TEXT NOT NULL
    );
    """,
    # 10: recordings the site has whole, hash checked (the machine's copy stays: the site's is a
    # copy; a recording not in here is sent, or sent again, by the bridge)
    """
    CREATE TABLE uploads (
        recording TEXT PRIMARY KEY, size INTEGER NOT NULL, sha256 TEXT NOT NULL, uploaded TEXT NOT NULL
    );
    """,
    # 11: accounts managed at the site: the last revision of each account name the site sent (a
    # removed account's too, so an older copy cannot bring it back), and where an account came from
    """
    CREATE TABLE site_accounts (name TEXT PRIMARY KEY, revision INTEGER NOT NULL);
    ALTER TABLE accounts ADD COLUMN source TEXT NOT NULL DEFAULT 'machine';
    """,
    # 12: plans assigned at the site (its plan id: a decision the site sends for another plan starts
    # that plan here; the revision of the last copy of it taken), and where each decision was made:
    # here, at the site, or here while the site was away (those go up to the site with each check-in)
    """
    ALTER TABLE plans ADD COLUMN site_plan INTEGER;
    ALTER TABLE plans ADD COLUMN site_revision INTEGER;
    ALTER TABLE decisions ADD COLUMN source TEXT NOT NULL DEFAULT 'machine';
    """,
]
