"""`eccentrix sessions | strength | isometric`: what the stored sets and the recordings say.

eccentrix strength --person ada --exercise row        # load-velocity profile, estimated 1RM
eccentrix strength --person ada --exercise row --site configs/sites/clinic.toml   # every machine's sets
eccentrix isometric left.ecxr right.ecxr --csv knee.csv   # peak, RFD, symmetry, the traces
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from controller.app.export import export_csv, export_json
from controller.app.store import SqliteSessionStore
from controller.app.strength import PROFILE_DAYS, strength_of
from controller.config.site import load_site
from controller.core.isometric import symmetry_pct, write_trace_csv
from controller.runtime.isometric_recording import isometric_test
from controller.runtime.recorder import read_recording
from controller.site.history import SiteHistory

DEFAULT_STORE = Path.home() / ".local" / "share" / "eccentrix" / "sessions.sqlite"


def cmd_sessions(args: argparse.Namespace) -> int:
    store = SqliteSessionStore(args.db)
    try:
        if args.action == "list":
            for session_id in store.sessions():
                record = store.session(session_id)
                reps = sum(len(s.reps) for s in record.sets)
                who = record.person or "-"
                print(f"{record.id:4d}  {record.started}  {who}  {len(record.sets)} set(s), {reps} reps")
            return 0
        if args.id is None:
            raise ValueError(f"sessions {args.action}: give a session id")
        record = store.session(args.id)
    finally:
        store.close()
    if args.action == "show":
        print(json.dumps(record.to_json(), indent=2))
    elif args.format == "csv":
        export_csv(record, args.out)
    else:
        export_json(record, args.out)
    return 0


def cmd_strength(args: argparse.Namespace) -> int:
    if args.site:
        estimate = strength_of(
            SiteHistory(load_site(args.site)), args.person, args.exercise, args.mvt, args.days
        )
    else:
        store = SqliteSessionStore(args.db)
        try:
            estimate = strength_of(store, args.person, args.exercise, args.mvt, args.days)
        finally:
            store.close()
    if args.json:
        print(json.dumps(estimate.to_json()))
        return 0
    profile, one_rm = estimate.profile, estimate.one_rm
    print(f"{args.person}, {args.exercise}: load-velocity profile from {len(profile.points)} set(s)")
    for load, velocity in profile.points:
        print(f"  {load:6.1f} kg  best mean concentric velocity {velocity:.2f} m/s")
    print(f"  velocity = {profile.intercept_mps:.2f} {profile.slope_mps_per_kg:+.4f} x load (m/s, kg)")
    print(
        f"estimated 1RM {one_rm.kg:.1f} kg +/- {one_rm.sd_kg:.1f} kg "
        f"(where the line reaches {one_rm.mvt_mps:.2f} m/s, the velocity of a true max)"
    )
    return 0


def cmd_isometric(args: argparse.Namespace) -> int:
    if len(args.recordings) > 2:
        raise ValueError(f"isometric: give one recording, or two (left, right), not {len(args.recordings)}")
    labels = ("left", "right") if len(args.recordings) == 2 else ("test",)
    sides = [
        (side, isometric_test(read_recording(path)))
        for side, path in zip(labels, args.recordings, strict=True)
    ]
    for side, trace in sides:
        r = trace.result
        print(
            f"{side}: peak {r.peak_n:.1f} N at {r.time_to_peak_s:.2f} s after onset, "
            f"RFD (0-200 ms) {r.rfd_n_per_s:.0f} N/s"
        )
    if len(sides) == 2:
        print(
            f"symmetry (weaker / stronger peak): {symmetry_pct(sides[0][1].result, sides[1][1].result):.1f} %"
        )
    if args.csv:
        with Path(args.csv).open("w", newline="", encoding="utf-8") as out:
            for index, (side, trace) in enumerate(sides):
                write_trace_csv(out, trace.times_s.tolist(), trace.forces_n.tolist(), side, header=index == 0)
    return 0


def add_history_commands(sub: Any) -> None:
    sessions = sub.add_parser("sessions", help="session history: list, show, export")
    sessions.add_argument("action", choices=["list", "show", "export"])
    sessions.add_argument("id", type=int, nargs="?")
    sessions.add_argument("--db", default=str(DEFAULT_STORE), help=f"session store (default {DEFAULT_STORE})")
    sessions.add_argument("--format", choices=["csv", "json"], default="csv")
    sessions.add_argument("--out", default="session.csv", help="export file")
    sessions.set_defaults(func=cmd_sessions)
    strength = sub.add_parser("strength", help="an exercise's load-velocity profile and estimated 1RM")
    strength.add_argument("--person", required=True)
    strength.add_argument("--exercise", required=True, help="as the sets were started with it")
    strength.add_argument(
        "--mvt", type=float, help="velocity of a true max, m/s (default: the exercise's, or 0.30)"
    )
    strength.add_argument("--days", type=float, default=PROFILE_DAYS, help="sets from this many days back")
    strength.add_argument("--db", default=str(DEFAULT_STORE), help=f"session store (default {DEFAULT_STORE})")
    strength.add_argument(
        "--site", help="a site file (configs/sites/): the sets of every machine of the site"
    )
    strength.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    strength.set_defaults(func=cmd_strength)
    isometric = sub.add_parser("isometric", help="an isometric test's peak force, RFD, symmetry, trace")
    isometric.add_argument("recordings", nargs="+", help="one test, or the left then the right side")
    isometric.add_argument("--csv", metavar="FILE", help="write the force traces to FILE")
    isometric.set_defaults(func=cmd_isometric)
