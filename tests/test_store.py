"""Session store: history in SQLite behind one interface, migrations, exports."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest

from controller.app.accounts import verify_password
from controller.app.export import export_csv, export_json
from controller.app.schema import MIGRATIONS
from controller.app.store import SessionStore, SqliteSessionStore, StoreError
from controller.cli import main
from tests.sets import run_set

pytestmark = pytest.mark.fast


@pytest.fixture
def store(tmp_path):
    s = SqliteSessionStore(tmp_path / "sessions.sqlite")
    yield s
    s.close()


def fill(store: SessionStore) -> int:
    reps = run_set("eccentric-overload-130", reps=2).reps
    person = store.add_person("Ada", "athlete")
    session = store.start_session(person, "home-gym-2kw", "set.ecxr")
    store.add_set(session, "eccentric-overload-130", 50.0, reps)
    store.add_set(session, "constant", 40.0, reps[:1])
    store.add_note(session, "felt strong, left shoulder fine")
    return session


def test_sessions_round_trip_with_their_metrics(store):
    session = fill(store)
    record = store.session(session)
    reps = run_set("eccentric-overload-130", reps=2).reps
    assert record.person == "Ada" and record.machine == "home-gym-2kw" and record.recording == "set.ecxr"
    assert [s.number for s in record.sets] == [1, 2]
    assert record.sets[0].reps == reps
    assert record.sets[1].reps == reps[:1]
    assert record.notes == ["felt strong, left shoulder fine"]
    assert store.sessions() == [session]


def test_exports(store, tmp_path):
    record = store.session(fill(store))
    export_csv(record, tmp_path / "s.csv")
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert len(rows) == 3
    assert float(rows[0]["mean_eccentric_force_n"]) == pytest.approx(
        record.sets[0].reps[0].mean_eccentric_force_n
    )
    assert rows[2]["profile"] == "constant"
    export_json(record, tmp_path / "s.json")
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["sets"][0]["reps"][1]["index"] == 2
    assert doc["notes"] == record.notes


def test_an_old_database_is_migrated_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + " PRAGMA user_version = 1;")
    db.execute("INSERT INTO people (name, role, created) VALUES ('Bo', 'patient', '2026-01-01')")
    db.execute("INSERT INTO sessions (person_id, started, machine) VALUES (1, '2026-01-01', 'a6-diy')")
    db.commit()
    db.close()
    store = SqliteSessionStore(path)
    assert store.schema_version == len(MIGRATIONS) == 12
    store.add_note(1, "notes exist after the upgrade")
    store.add_account("bo", "patient", "hash")
    assert store.account("bo") == ("patient", "hash")
    assert store.session(1).person == "Bo"
    assert store.session(1).notes == ["notes exist after the upgrade"]
    assert store.session(1).workout == ""  # filed before workouts were: none
    store.close()


def test_a_newer_database_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="schema 99 is newer"):
        SqliteSessionStore(path)


def test_bad_input_is_refused_and_changes_nothing(store):
    with pytest.raises(StoreError, match="role 'boss': allowed athlete, patient, clinician, admin"):
        store.add_person("X", "boss")
    with pytest.raises(StoreError, match="session 7: no such session"):
        store.session(7)
    assert store.sessions() == []


def test_the_store_and_its_journal_are_the_machines_users_only(tmp_path):
    path = tmp_path / "sessions.sqlite"
    store = SqliteSessionStore(path)
    store.start_session(store.person_named("ada"), "m")
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    store.close()
    assert modes["sessions.sqlite"] == 0o600 and all(mode == 0o600 for mode in modes.values()), modes


def test_accounts_are_made_as_the_readme_says_and_by_the_login_pages_rules(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "sessions.sqlite")
    monkeypatch.setattr("sys.stdin", io.StringIO("a good password\n"))
    assert main(["accounts", "add", "dr lee", "--role", "clinician", "--db", db]) == 0
    store = SqliteSessionStore(db)
    account = store.account("dr lee")
    store.close()
    assert (
        account is not None and account[0] == "clinician" and verify_password("a good password", account[1])
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("a good password\n"))
    assert main(["accounts", "add", "../admin", "--role", "admin", "--db", db]) == 2
    assert "name '../admin'" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["accounts", "add", "bo", "--role", "athlete", "--db", db]) == 2
    with pytest.raises(SystemExit):  # no name: not an account called "add"
        main(["accounts", "add", "--role", "athlete", "--db", db])


def test_a_password_is_changed_on_the_command_line_and_only_for_an_account_that_exists(
    tmp_path, monkeypatch, capsys
):
    db = str(tmp_path / "sessions.sqlite")
    monkeypatch.setattr("sys.stdin", io.StringIO("first password\n"))
    assert main(["accounts", "add", "ann", "--role", "patient", "--db", db]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("second password\n"))
    assert main(["accounts", "password", "ann", "--db", db]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("second password\n"))
    assert main(["accounts", "password", "nobody", "--db", db]) == 2
    assert "account 'nobody': no such account" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("a password\n"))
    assert main(["accounts", "add", "bo", "--db", db]) == 2
    assert "--role: needed" in capsys.readouterr().err
    store = SqliteSessionStore(db)
    role, stored = store.account("ann") or ("", "")
    assert store.account("bo") is None
    store.close()
    assert role == "patient" and verify_password("second password", stored)
    assert not verify_password("first password", stored)
