"""`eccentrix commission` against the simulator with hidden, randomly perturbed true figures: every
wrong sign, word order and scale named; inertia within 10 %, friction within 15 %."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys

import pytest

from controller.commission import commissioned_toml
from controller.config import DriveMap, load_drive_map, load_machine, resolve
from controller.config.loader import validate
from controller.config.machine import MachineConfig
from simulator.commissioning import Link, commission_simulated, hidden_truth

A6 = load_drive_map("stepperonline-a6-rs")


def within(measured: float, truth: float, fraction: float) -> bool:
    return abs(measured - truth) <= fraction * abs(truth)


def friction_at(machine: MachineConfig, speed_mps: float) -> float:
    return machine.friction.coulomb_n + machine.friction.viscous_n_s_per_m * speed_mps


@pytest.mark.parametrize("name", ["a6-diy", "home-gym-2kw"])
@pytest.mark.parametrize("seed", [4, 11, 12])  # 4: the 2 kW machine lighter than its datasheet rotor
def test_identifies_hidden_inertia_and_friction(name, seed):
    machine = load_machine(name)
    built = hidden_truth(machine, random.Random(seed))
    result = asyncio.run(commission_simulated(machine, built))
    assert result.ok, result.report()
    done = result.commissioned()
    assert within(done.reflected_mass_kg, built.reflected_mass_kg, 0.10), result.report()
    assert within(done.friction.coulomb_n, built.friction.coulomb_n, 0.15), result.report()
    assert within(friction_at(done, 0.5), friction_at(built, 0.5), 0.15), result.report()


def test_a_machine_told_the_wrong_payout_is_named_and_corrected():
    machine = load_machine("a6-diy")
    built = hidden_truth(machine, random.Random(5), flip_payout=True)
    result = asyncio.run(commission_simulated(machine, built))
    assert result.ok, result.report()
    (payout,) = [f for f in result.findings if f.check == "payout"]
    assert payout.corrected and "negative" in payout.detail
    assert result.commissioned().spool.payout == "negative" == built.spool.payout
    assert any(f.check == "direction" and f.ok for f in result.findings), "checked with the corrected sign"


def served(**change: float | str) -> DriveMap:
    """The A6 as a drive that lays out its registers otherwise than the shipped map says."""
    feedback = A6.feedback
    assert feedback is not None
    if "word_order" in change:
        return A6.model_copy(update={"link": A6.link.model_copy(update={"word_order": change["word_order"]})})
    name, factor = next(iter(change.items()))
    register = getattr(feedback, name)
    scaled = register.model_copy(update={"scale": register.scale / float(factor)})
    return A6.model_copy(update={"feedback": feedback.model_copy(update={name: scaled})})


@pytest.mark.parametrize(
    ("drive", "check", "words"),
    [
        (served(word_order="big"), "word order", "wrong word order"),
        (served(position=131072 / 10000), "position scale", "131072 counts per turn"),
        (served(position=10.0), "position scale", "13.1x" if False else "off by ten"),
        (served(velocity=9.549), "velocity scale", "its unit and scale"),
    ],
    ids=["word-order", "17-bit-counts", "x10", "velocity-unit"],
)
def test_a_wrong_register_layout_is_named_and_nothing_is_commissioned(drive, check, words):
    machine = load_machine("a6-rs485")
    built = hidden_truth(machine, random.Random(3))
    result = asyncio.run(commission_simulated(machine, built, link=Link("modbus-tcp", A6, drive)))
    assert not result.ok and result.identified is None
    (finding,) = [f for f in result.findings if not f.ok]
    assert finding.check == check and words in finding.detail, result.report()


def test_over_modbus_rtu_with_the_a6_map_as_shipped():
    machine = load_machine("a6-rs485")
    built = hidden_truth(machine, random.Random(8))
    result = asyncio.run(commission_simulated(machine, built, link=Link("modbus-rtu", A6, A6)))
    assert result.ok, result.report()
    assert within(result.commissioned().reflected_mass_kg, built.reflected_mass_kg, 0.10), result.report()


def test_the_commissioned_file_keeps_the_original_and_loads_with_the_measured_figures():
    machine = load_machine("a6-diy")
    built = hidden_truth(machine, random.Random(9), flip_payout=True)
    result = asyncio.run(commission_simulated(machine, built))
    original = resolve("machines", "a6-diy").read_text()
    text = commissioned_toml(original, result)
    import tomllib

    loaded = validate(tomllib.loads(text), MachineConfig, "commissioned")
    assert loaded.spool.payout == "negative"
    assert loaded.friction.coulomb_n == pytest.approx(result.commissioned().friction.coulomb_n, rel=1e-3)
    assert "vendor datasheet, A6 400 W" in text, "the user's comments are kept"


def commission_command(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "controller.cli", "commission", "--machine", "a6-diy", "--simulate", "4"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120)


def test_the_command_writes_a_file_only_when_commissioned(tmp_path):
    out = tmp_path / "a6.toml"
    ok = commission_command("--out", str(out))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "result: commissioned" in ok.stdout and out.is_file() and out.with_suffix(".report.txt").is_file()
    bad = commission_command("--mark-m", "9", "--out", str(tmp_path / "x.toml"))
    assert bad.returncode == 2 and "--mark-m 9.0: allowed 0.2 to 2.3 m" in bad.stderr
