"""The `eccentrix` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from controller.app.accounts import MAX_PASSWORD, MIN_PASSWORD, hash_password
from controller.app.store import ROLES, SqliteSessionStore
from controller.app.workout import overloads_eccentric
from controller.commission import CommissionSetup, commission, write_files
from controller.config import ConfigError, load_athlete, load_drive_map, load_machine, load_profile
from controller.core.reps import RepMetrics
from controller.demo import DemoSetup, run_demo
from controller.drive import DriveFault
from controller.history import DEFAULT_STORE, add_history_commands
from controller.run import RunSetup, drive_link, run
from controller.runtime.recorder import read_recording
from controller.runtime.regression import regression_replay
from controller.site.cli import add_site_command
from controller.wire import Name
from simulator.drive_server import ModbusDriveServer
from simulator.line_server import LineDriveServer
from simulator.replay import what_if
from simulator.rig import Rig
from simulator.scenarios import SCENARIOS, scenario_by_name
from simulator.servo import Servo
from simulator.simulate import SimulationResult, SimulationSetup, simulate

DEFAULT_MACHINE = "home-gym-2kw"
DEFAULT_DATA = Path.home() / ".local" / "share" / "eccentrix"


def _rep_line(rep: RepMetrics) -> str:
    tags = "".join(t for t, on in ((" assisted", rep.assisted), (" FAILED", rep.failed)) if on)
    return (
        f"rep {rep.index:2d}  up {rep.concentric_s:4.2f} s  down {rep.eccentric_s:4.2f} s  "
        f"ROM {rep.rom_m:4.2f} m  force up {rep.mean_concentric_force_n:6.1f} N  "
        f"down {rep.mean_eccentric_force_n:6.1f} N  MCV {rep.mean_concentric_velocity_mps:4.2f} m/s  "
        f"loss {rep.velocity_loss_pct:4.1f} %{tags}"
    )


def _print_events(result: SimulationResult) -> None:
    for event in result.safety_events:
        print(f"  safety: {event.kind} at {event.time_s:.2f} s (rep {event.rep_index}) {event.detail}")


def _print_result(result: SimulationResult) -> None:
    setup = result.setup
    print(f"{setup.profile.name} / {setup.athlete.name} on {setup.machine.name}")
    for rep in result.reps:
        print("  " + _rep_line(rep))
    _print_events(result)
    loop = result.loop
    print(
        f"  loop: {loop.rate_hz:.0f} Hz, {loop.cycles} cycles, step p99 {loop.step_p99_us:.0f} us, "
        f"period error p99 {loop.period_p99_us:.0f} us, missed {loop.missed_deadlines}"
    )


def _setup_from(args: argparse.Namespace, realtime: bool) -> SimulationSetup:
    record = getattr(args, "record", None)
    return SimulationSetup(
        machine=load_machine(args.machine),
        profile=load_profile(args.profile),
        athlete=load_athlete(args.athlete),
        reps=args.reps,
        load_kg=args.load_kg,
        scenario=scenario_by_name(args.scenario) if args.scenario else None,
        realtime=realtime,
        record=Path(record) if record else None,
        transport=getattr(args, "transport", "inproc"),
        drive_map=load_drive_map(args.drive) if getattr(args, "drive", None) else None,
        mqtt=getattr(args, "mqtt", None),
        machine_ref=args.machine,
    )


def cmd_simulate(args: argparse.Namespace) -> int:
    result = simulate(_setup_from(args, args.realtime))
    if args.store:
        _store_result(Path(args.store), result, args.exercise)
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=2)
        print()
    else:
        _print_result(result)
    return 0


def _store_result(db: Path, result: SimulationResult, exercise: str) -> None:
    setup = result.setup
    store = SqliteSessionStore(db)
    try:
        person = store.person_named(f"simulated {setup.athlete.name}")
        recording = str(setup.record) if setup.record else None
        session = store.start_session(person, setup.machine.name, recording)
        load = setup.load_kg if setup.load_kg is not None else setup.profile.load_kg
        overload = overloads_eccentric(setup.profile)
        store.add_set(session, setup.profile.name, load, result.reps, overload, exercise)
    finally:
        store.close()


def cmd_replay(args: argparse.Namespace) -> int:
    recording = read_recording(args.file)
    if recording.damage:
        print(f"eccentrix: {recording.damage}", file=sys.stderr)
    if args.profile:
        report = what_if(recording, load_profile(args.profile), args.load_kg)
        original = recording.header["profile"]["name"]
        athlete = (recording.header.get("athlete") or {}).get("name")
        if args.json:
            print(json.dumps(report.to_json(original, athlete), indent=2))
        else:
            print(f"{original} (recorded) vs {report.profile.name} (replayed), {recording.frames} frames")
            for before, after in zip(report.original, report.replayed, strict=False):
                print(f"  was  {_rep_line(before)}\n  now  {_rep_line(after)}")
        return 0
    ignore = [name for name in (args.ignore or "").split(",") if name]
    regression = regression_replay(recording, args.tolerance, ignore)
    if args.json:
        print(json.dumps(regression.to_json(), indent=2))
    else:
        print(f"{args.file}: {regression.frames} frames, {len(regression.reps)} reps: {regression.verdict}")
        for d in regression.differences:
            where = f"first at {d.first_time_s:.3f} s, max {d.max_abs:.6g}"
            print(f"  {d.column}: {d.frames} frames differ, {where}")
    return 0 if regression.passed else 1


def cmd_run(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile)
    if args.reps is not None:
        profile = profile.model_copy(update={"reps": args.reps})
    setup = RunSetup(
        machine=load_machine(args.machine),
        profile=profile,
        load_kg=args.load_kg,
        link=args.link,
        record=Path(args.record) if args.record else None,
        seconds=args.seconds,
        machine_ref=args.machine,
        mqtt=args.mqtt,
    )
    print(
        f"eccentrix run: {setup.machine.name} via {drive_link(setup)}, profile {profile.name}; Ctrl-C stops"
    )
    service = run(setup, on_rep=lambda rep: print("  " + _rep_line(rep), flush=True))
    loop = service.loop
    for event in loop.safety_events:
        print(f"  safety: {event.kind} at {event.time_s:.2f} s (rep {event.rep_index}) {event.detail}")
    stats = service.stats.summary()
    print(f"  loop: period error p99 {stats.period_p99_us:.0f} us, missed {stats.missed_deadlines}")
    return 1 if loop.fault else 0


def cmd_commission(args: argparse.Namespace) -> int:
    machine = load_machine(args.machine)
    out = Path(args.out) if args.out else Path(f"{machine.name}-commissioned.toml")
    setup = CommissionSetup(machine, args.machine, out, args.mark_m, args.link, args.simulate)
    result = commission(setup)
    print(result.report())
    for path in write_files(setup, result):
        print(f"  wrote {path}")
    return 0 if result.ok else 1


def cmd_sim_drive(args: argparse.Namespace) -> int:
    drive_map = load_drive_map(args.drive)
    machine = load_machine(args.machine)
    rig = Rig.build(machine, load_athlete(args.athlete), args.reps)
    servo = Servo(drive_map, machine, rig, lockstep=args.lockstep)
    return asyncio.run(serve_drive(servo, args.tcp, args.serial))


async def serve_drive(servo: Servo, tcp: str | None, serial: str | None) -> int:
    server: ModbusDriveServer | LineDriveServer
    if tcp is not None:
        host, _, port = tcp.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--tcp {tcp!r}: expected HOST:PORT")
        server = ModbusDriveServer(servo, "tcp", host, int(port))
        where = f"Modbus TCP on {host}:{server.port or port}"
    elif servo.map.protocol == "modbus":
        server = ModbusDriveServer(servo, "rtu", str(serial))
        where = f"Modbus RTU on {serial}"
    else:
        server = LineDriveServer(servo, str(serial))
        where = f"line protocol on {serial}"
    await server.start()
    mode = "lockstep" if servo.lockstep else "real time"
    print(f"simulated drive {servo.map.name!r} serving {where} ({mode}); Ctrl-C to stop", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    setup = DemoSetup(
        machine=args.machine,
        athlete=args.athlete,
        data=Path(args.data),
        host=args.host,
        port=args.port,
        password=args.password,
        seconds=args.seconds,
        mqtt=args.mqtt,
    )
    service = run_demo(setup)
    figures = service.stats.summary()
    print(f"  loop: period error p99 {figures.period_p99_us:.0f} us, missed {figures.missed_deadlines}")
    return 0


def cmd_accounts(args: argparse.Namespace) -> int:
    """Accounts the login page takes: the same name and password rules as the dashboard's."""
    try:
        TypeAdapter(Name).validate_python(args.name)
    except ValidationError:
        raise ValueError(f"name {args.name!r}: 1 to 64 letters, digits, spaces or _ . @ -") from None
    if args.action == "add" and args.role is None:
        raise ValueError(f"--role: needed to add an account, one of {', '.join(ROLES)}")
    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass()
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValueError(f"password: {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    store = SqliteSessionStore(args.db)
    try:
        if args.action == "add":
            store.add_account(args.name, args.role, hash_password(password))
        else:
            store.set_password(args.name, hash_password(password))
    finally:
        store.close()
    done = f"added ({args.role})" if args.action == "add" else "has a new password"
    print(f"account {args.name!r} {done} in {args.db}")
    return 0


def _positive_reps(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"--reps {value}: allowed 1 to 100")
    return value


def _load(text: str) -> float:
    value = float(text)
    if not 0 < value <= 500:
        raise argparse.ArgumentTypeError(f"--load-kg {value}: allowed > 0 and <= 500")
    return value


def _set_arguments(parser: argparse.ArgumentParser, profile: str, athlete: str, reps: int | None) -> None:
    parser.add_argument("--machine", default=DEFAULT_MACHINE, help="name in configs/machines or a path")
    parser.add_argument("--profile", default=profile, help="name in configs/profiles or a path")
    parser.add_argument("--athlete", default=athlete, help="name in configs/athletes or a path")
    parser.add_argument("--reps", type=_positive_reps, default=reps, help="reps in the set (1-100)")
    parser.add_argument("--load-kg", type=_load, default=None, help="override the profile's base load")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), help="inject a simulator event")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eccentrix", description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="log more, including pymodbus's frames")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="the embedded default: simulated machine and lifter, dashboard")
    demo.add_argument("--machine", default=DEFAULT_MACHINE, help="name in configs/machines or a path")
    demo.add_argument("--athlete", default="trained", help="the simulated lifter: name or path")
    demo.add_argument(
        "--data", default=str(DEFAULT_DATA), help=f"sessions, recordings (default {DEFAULT_DATA})"
    )
    demo.add_argument("--host", default="127.0.0.1", help="dashboard address (default: this computer only)")
    demo.add_argument("--port", type=int, default=8000, help="dashboard port")
    demo.add_argument("--password", help="password of the demo accounts (default: made once, kept in --data)")
    demo.add_argument("--seconds", type=float, help="stop after this long")
    demo.add_argument("--mqtt", metavar="URL", help="also publish to this broker: mqtt://HOST:PORT")
    demo.set_defaults(func=cmd_demo)
    accounts = sub.add_parser(
        "accounts", help="dashboard accounts: add NAME --role ROLE, or password NAME (password on stdin)"
    )
    accounts.add_argument("action", choices=["add", "password"])
    accounts.add_argument("name")
    accounts.add_argument("--role", choices=list(ROLES), help="the new account's role (add only)")
    accounts.add_argument("--db", default=str(DEFAULT_STORE), help=f"session store (default {DEFAULT_STORE})")
    accounts.set_defaults(func=cmd_accounts)
    sim = sub.add_parser("simulate", help="one closed-loop set against the simulator")
    _set_arguments(sim, "eccentric-overload-130", "trained", None)
    sim.add_argument("--realtime", action="store_true", help="pace the loop in real time")
    sim.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    sim.add_argument(
        "--transport",
        choices=["inproc", "modbus-tcp", "modbus-rtu", "serial"],
        default="inproc",
        help="run the set over a real link to the simulated drive (TCP socket or serial pty)",
    )
    sim.add_argument("--drive", help="drive map for --transport (default: sim, or odrive-ascii for serial)")
    sim.add_argument("--record", metavar="FILE", help="record every loop frame to FILE")
    sim.add_argument("--store", metavar="DB", help="add the set to a session store (SQLite file)")
    sim.add_argument("--exercise", default="", help="with --store: the exercise the set was")
    sim.add_argument("--mqtt", metavar="URL", help="publish the set to this broker: mqtt://HOST:PORT")
    sim.set_defaults(func=cmd_simulate)
    replay = sub.add_parser("replay", help="replay a recording: regression check, or what-if under --profile")
    replay.add_argument("file", help="a recording made by --record or a real session")
    replay.add_argument("--profile", help="re-simulate the same movement under this profile")
    replay.add_argument("--load-kg", type=_load, default=None, help="with --profile: its base load")
    replay.add_argument(
        "--tolerance", type=float, default=0.0, help="regression: allowed absolute difference"
    )
    replay.add_argument("--ignore", help="regression: comma-separated columns not to compare")
    replay.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    replay.set_defaults(func=cmd_replay)
    real = sub.add_parser("run", help="real-time control of a real drive")
    real.add_argument("--machine", required=True, help="machine file with a real drive: name or path")
    real.add_argument(
        "--profile", default="eccentric-overload-130", help="name in configs/profiles or a path"
    )
    real.add_argument("--load-kg", type=_load, default=None, help="override the profile's base load")
    real.add_argument("--reps", type=_positive_reps, default=None, help="reps in the set (1-100)")
    real.add_argument("--link", help="override drive.link: tcp://HOST:PORT or a serial device")
    real.add_argument("--record", metavar="FILE", help="record every loop frame to FILE")
    real.add_argument("--seconds", type=float, default=3600.0, help="stop after this long at the latest")
    real.add_argument("--mqtt", metavar="URL", help="publish to this broker: mqtt://HOST:PORT")
    real.set_defaults(func=cmd_run)
    check = sub.add_parser(
        "commission", help="check direction, scale and word order; identify inertia, friction"
    )
    check.add_argument("--machine", required=True, help="name in configs/machines or a path")
    check.add_argument("--link", help="the drive's address, overriding the machine file's drive.link")
    check.add_argument("--out", help="the commissioned machine file (default: NAME-commissioned.toml)")
    check.add_argument("--mark-m", type=float, default=1.0, help="how far out the handle is pulled (m)")
    check.add_argument(
        "--simulate",
        type=int,
        metavar="SEED",
        help="commission the simulator, its true figures hidden (seeded)",
    )
    check.set_defaults(func=cmd_commission)
    drive = sub.add_parser("sim-drive", help="the simulator as a drive that real tools can talk to")
    drive.add_argument("--drive", default="sim", help="drive map: name in configs/drives or a path")
    where = drive.add_mutually_exclusive_group(required=True)
    where.add_argument("--tcp", metavar="HOST:PORT", help="serve Modbus TCP")
    where.add_argument(
        "--serial", metavar="PATH", help="serve on a serial device (Modbus RTU or the line protocol)"
    )
    drive.add_argument("--machine", default=DEFAULT_MACHINE, help="name in configs/machines or a path")
    drive.add_argument("--athlete", default="trained", help="who holds the handle")
    drive.add_argument("--reps", type=_positive_reps, default=10, help="reps the simulated person will do")
    drive.add_argument("--lockstep", action="store_true", help="advance physics one period per torque write")
    drive.set_defaults(func=cmd_sim_drive)
    add_history_commands(sub)
    add_site_command(sub)
    return parser


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM ends a command as Ctrl-C does: through its safe stop


def quiet_logging(verbose: bool) -> None:
    """One line per fault on stderr. pymodbus logs every dropped frame with a hex dump: only with
    --verbose."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="eccentrix: %(message)s")
    logging.getLogger("pymodbus").setLevel(logging.DEBUG if verbose else logging.CRITICAL)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_logging(args.verbose)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        code: int = args.func(args)
    except (ConfigError, ValueError, OSError, DriveFault) as exc:
        print(f"eccentrix: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
