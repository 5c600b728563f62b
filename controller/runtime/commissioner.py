"""Commissioning: what a machine must prove before it ever loads a person, at no more
than its idle take-up tension.

1. Scale and word order. The handle is pulled from the dock to a marked length and held. The
   position register must read that length, and the velocity register (rpm: physical) must
   integrate to it over the pull. A swapped word order, a wrong counts per revolution or a wrong
   velocity unit is named, and nothing goes further.
2. Direction. Let go at the mark, a wind-in at the take-up tension must move the cable toward the
   dock, velocity and position agreeing in sign. A machine told the wrong payout is named, and the
   commissioned file corrects it.
3. Identification. Torque steps on the free handle as it comes back, three pulls' worth: the
   reflected inertia and the friction (identification.py) go into the commissioned machine file.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from controller.config import MachineConfig
from controller.core.identification import Identified, NotEnoughMotion, identify
from controller.core.kinematics import CableSample, Kinematics
from controller.drive import Drive, DriveFault, DriveFeedback, DriveProtocolError, DriveTimeout
from controller.drive.supervisor import MAX_CONSECUTIVE_FAILURES
from controller.timing import Clock

SCALE_TOLERANCE = 0.1
DIRECTION_MOVE_M = 0.01
DIRECTION_TRY_S = 0.6  # long enough for a heavy machine's friction to give way at the take-up
PULL_TIMEOUT_S = 60.0
ROUNDS = 3
PUSH_UNTIL_MPS = 0.45
PUSH_S = 0.8
COAST_UNTIL_MPS = 0.06
COAST_RATES_MPS2 = (0.6, 1.5, 3.0, 1.0, 2.2)  # varied, so inertia and friction come apart
COAST_GAIN = 400.0  # N per m/s the handle is slower than the coast's target: a firm speed loop
EXCITE_MAX_COASTS = 40
SAFE_RETURN_MPS = 0.6  # faster toward the dock than this: no pull at all
STOP_FRACTION = 0.25  # of the mark: the free handle is let come to rest from here


class Operator(Protocol):
    """Whoever is at the handle: a person at a console, or the simulator's."""

    def ask(self, task: str, mark_m: float) -> None:
        """task: "pull" (out to the mark, then hold still) or "let go"."""

    def finished(self, now_s: float) -> bool: ...


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    ok: bool
    detail: str
    corrected: bool = False  # wrong in the machine file, right in the commissioned one


@dataclass
class Commissioning:
    machine: MachineConfig
    payout: str
    findings: list[Finding] = field(default_factory=list)
    identified: Identified | None = None

    @property
    def ok(self) -> bool:
        return self.identified is not None and all(f.ok or f.corrected for f in self.findings)

    def commissioned(self) -> MachineConfig:
        """The machine file's figures with what commissioning measured."""
        assert self.identified is not None
        m = self.machine
        at_motor = max(0.0, self.identified.reflected_mass_kg) * m.spool.radius_m**2
        rotor = m.motor.rotor_inertia_kgm2
        if at_motor < rotor * m.spool.gear_ratio**2:
            # Lighter than the motor's datasheet rotor alone: the measurement wins over the datasheet.
            rotor = at_motor / m.spool.gear_ratio**2
        spool_inertia = at_motor - rotor * m.spool.gear_ratio**2
        spool = m.spool.model_copy(update={"payout": self.payout, "inertia_kgm2": spool_inertia})
        motor = m.motor.model_copy(update={"rotor_inertia_kgm2": rotor})
        friction = m.friction.model_copy(
            update={
                "coulomb_n": max(0.0, self.identified.coulomb_n),
                "viscous_n_s_per_m": max(0.0, self.identified.viscous_n_s_per_m),
            }
        )
        return m.model_copy(update={"spool": spool, "friction": friction, "motor": motor})

    def report(self) -> str:
        lines = [f"commissioning of {self.machine.name}:"]
        for f in self.findings:
            mark = "ok" if f.ok else "CORRECTED" if f.corrected else "FAILED"
            lines.append(f"  {f.check:<16} {mark:<9} {f.detail}")
        if self.identified is not None:
            done = self.commissioned()
            i = self.identified
            lines.append(
                f"  {'identified':<16} {'ok':<9} reflected inertia {done.reflected_mass_kg:.3f} kg "
                f"(file: {self.machine.reflected_mass_kg:.3f}), Coulomb {i.coulomb_n:.2f} N "
                f"(file: {self.machine.friction.coulomb_n:.2f}), viscous {i.viscous_n_s_per_m:.2f} N*s/m "
                f"(file: {self.machine.friction.viscous_n_s_per_m:.2f}); misfit {i.residual_n:.2f} N "
                f"over {i.equations} windows"
            )
        lines.append("  result: " + ("commissioned" if self.ok else "NOT commissioned: fix the above first"))
        return "\n".join(lines)


class Commissioner:
    def __init__(
        self,
        machine: MachineConfig,
        connect: Callable[[MachineConfig], Drive],
        clock: Clock,
        operator: Operator,
        mark_m: float = 1.0,
    ) -> None:
        if not 0.2 <= mark_m <= machine.cable.length_m - 0.2:
            raise ValueError(f"--mark-m {mark_m}: allowed 0.2 to {machine.cable.length_m - 0.2:.1f} m")
        self.machine = machine
        self.connect = connect
        self.clock = clock
        self.operator = operator
        self.mark_m = mark_m
        self.period_s = 1.0 / machine.control.rate_hz
        self.take_up_n = machine.limits.idle_tension_n
        self.result = Commissioning(machine, machine.spool.payout)
        self.kinematics = Kinematics.of(machine)
        self._drive: Drive | None = None
        self._deadline = 0.0
        self._last: DriveFeedback | None = None
        self._failures = 0

    async def run(self) -> Commissioning:
        try:
            await self._use(self.machine)
            dock = await self._cycles(0.3)
            pull = await self._operator("pull")
            if not self._check_scale(dock, pull):
                return self.result
            if not await self._check_direction():
                return self.result
            await self._identify()
        except DriveFault as fault:
            self.result.findings.append(Finding("drive", False, f"commissioning stopped: {fault}"))
        finally:
            if self._drive is not None:
                await self._drive.close()
        return self.result

    # -- the cycle: read, pull in with a force, wait for the next deadline -------------------------
    async def _use(self, machine: MachineConfig) -> None:
        if self._drive is not None:
            await self._drive.close()
        self.kinematics = Kinematics.of(machine)
        self._drive = self.connect(machine)
        await self._drive.connect()
        self._deadline = self.clock.now()

    async def _cycle(self, wind_n: float) -> DriveFeedback:
        """One period. A lone failed exchange repeats the last reading (as the loop rides one out);
        MAX_CONSECUTIVE_FAILURES in a row end the commissioning."""
        assert self._drive is not None
        force = min(max(wind_n, 0.0), self.take_up_n)
        try:
            self._last = await self._drive.read()
            await self._drive.write(self.kinematics.torque_nm(force))
            self._failures = 0
        except (DriveTimeout, DriveProtocolError):
            self._failures += 1
            if self._failures >= MAX_CONSECUTIVE_FAILURES or self._last is None:
                raise
        self._deadline += self.period_s
        self.clock.wait_until(self._deadline)
        assert self._last is not None
        return self._last

    async def _cycles(self, seconds: float, wind_n: float = 0.0) -> list[DriveFeedback]:
        return [await self._cycle(wind_n) for _ in range(round(seconds / self.period_s))]

    async def _operator(self, task: str) -> list[DriveFeedback]:
        self.operator.ask(task, self.mark_m)
        readings: list[DriveFeedback] = []
        while not self.operator.finished(self.clock.now()):
            readings.append(await self._cycle(0.0))
            if len(readings) * self.period_s > PULL_TIMEOUT_S:
                raise TimeoutError(f"the handle was not held at the {self.mark_m:.2f} m mark within a minute")
        return readings + await self._cycles(0.2)

    # -- checks ------------------------------------------------------------------------------------
    def _check_scale(self, dock: list[DriveFeedback], pull: list[DriveFeedback]) -> bool:
        along = self.machine.metres_per_rad  # the drive's frame, before any sign
        moved = (_mean_angle(pull[-10:]) - _mean_angle(dock)) * along
        integrated = _integral_of_velocity(pull) * along
        jump = max(abs(b.angle_rad - a.angle_rad) for a, b in itertools.pairwise(pull)) * along
        fastest = max(abs(f.velocity_rad_s) for f in pull) * along
        findings = self.result.findings
        if jump > 0.05 + 3 * fastest * self.period_s:
            findings.append(Finding("word order", False, _word_order(jump, fastest)))
            return False
        pos_ratio, vel_ratio = moved / self.mark_m, integrated / self.mark_m
        ok = True
        if abs(abs(vel_ratio) - 1.0) > SCALE_TOLERANCE:
            detail = (
                f"the velocity register integrates to {abs(integrated):.3f} m over the {self.mark_m:.2f} m "
                f"pull ({abs(vel_ratio):.2f}x): check its unit and scale in the drive map"
            )
            findings.append(Finding("velocity scale", False, detail))
            ok = False
        if abs(abs(pos_ratio) - 1.0) > SCALE_TOLERANCE:
            findings.append(Finding("position scale", False, _position_scale(moved, self.mark_m)))
            ok = False
        if not ok:
            return False
        if pos_ratio * vel_ratio < 0:
            detail = "position and velocity count opposite ways: check the drive's direction parameters"
            findings.append(Finding("direction", False, detail))
            return False
        detail = (
            f"a {self.mark_m:.2f} m pull reads {abs(moved):.3f} m (position), "
            f"{abs(integrated):.3f} m (velocity)"
        )
        findings.append(Finding("scale", True, detail))
        payout = "positive" if pos_ratio > 0 else "negative"
        if payout != self.machine.spool.payout:
            detail = (
                f"the drive counts {payout} as the cable pays out; the machine file says "
                f"{self.machine.spool.payout!r}: [spool] payout = {payout!r} in the commissioned file"
            )
            findings.append(Finding("payout", False, detail, corrected=True))
            self.result.payout = payout
        return True

    async def _check_direction(self) -> bool:
        machine = self.machine
        if self.result.payout != machine.spool.payout:
            machine = machine.model_copy(
                update={"spool": machine.spool.model_copy(update={"payout": self.result.payout})}
            )
            await self._use(machine)
        self.operator.ask("let go", self.mark_m)
        await self._cycles(0.1)
        start = self.kinematics.cable(await self._cycle(0.0))
        samples = [start]
        cycles = round(DIRECTION_TRY_S / self.period_s)
        while abs(samples[-1].position_m - start.position_m) < 3 * DIRECTION_MOVE_M and len(samples) < cycles:
            samples.append(self.kinematics.cable(await self._cycle(self.take_up_n)))
        await self._cycles(0.5)
        moved = samples[-1].position_m - start.position_m
        speed = sum(s.velocity_mps for s in samples[1:]) / max(1, len(samples) - 1)
        if moved < -DIRECTION_MOVE_M and speed < 0:
            detail = f"a wind-in at {self.take_up_n:.0f} N moved the cable {-moved:.3f} m toward the dock"
            self.result.findings.append(Finding("direction", True, detail))
            return True
        if moved > DIRECTION_MOVE_M:
            detail = (
                f"a wind-in at {self.take_up_n:.0f} N paid {moved:.3f} m of cable out: the drive turns its "
                "torque against its own counts (a direction parameter?); fix it in the drive"
            )
        else:
            detail = f"a wind-in at {self.take_up_n:.0f} N did not move the handle: friction above it?"
        self.result.findings.append(Finding("direction", False, detail))
        return False

    async def _identify(self) -> None:
        coasts: list[list[CableSample]] = []
        for _ in range(ROUNDS):
            await self._operator("pull")
            self.operator.ask("let go", self.mark_m)
            coasts += await self._excite()
        try:
            identified = identify(coasts, 0.5 * _ring_period_s(self.machine))
        except NotEnoughMotion as exc:
            self.result.findings.append(Finding("identification", False, str(exc)))
            return
        if identified.reflected_mass_kg <= 0 or identified.coulomb_n < 0:
            detail = (
                f"no physical fit (inertia {identified.reflected_mass_kg:.3f} kg): repeat, pulling smoothly"
            )
            self.result.findings.append(Finding("identification", False, detail))
            return
        self.result.identified = identified

    async def _excite(self) -> list[list[CableSample]]:
        """The free handle coming back: pulled in at the take-up until it moves briskly, then let
        coast down at a set rate (the pull regulated on speed), a different rate each time so
        inertia and friction come apart; never faster than SAFE_RETURN_MPS toward the dock.
        Returns the coasts, less half a ring of the cable at their start."""
        coasts: list[list[CableSample]] = []
        settle = round(0.5 * _ring_period_s(self.machine) / self.period_s)
        sample = self.kinematics.cable(await self._cycle(0.0))
        for n in itertools.count():
            if sample.position_m < STOP_FRACTION * self.mark_m or n > EXCITE_MAX_COASTS:
                break
            pushed = 0
            while -sample.velocity_mps < PUSH_UNTIL_MPS and pushed * self.period_s < PUSH_S:
                sample = self.kinematics.cable(await self._cycle(self.take_up_n))
                pushed += 1
            slowing = COAST_RATES_MPS2[n % len(COAST_RATES_MPS2)]
            target = -sample.velocity_mps
            coast: list[CableSample] = []
            while target > COAST_UNTIL_MPS and sample.position_m > STOP_FRACTION * self.mark_m:
                target -= slowing * self.period_s
                speed = -sample.velocity_mps
                pull = (
                    0.0 if speed >= SAFE_RETURN_MPS else 0.5 * self.take_up_n + COAST_GAIN * (target - speed)
                )
                sample = self.kinematics.cable(await self._cycle(pull))
                coast.append(sample)
            coasts.append(coast[settle:])
        await self._cycles(1.0)
        return coasts


def _ring_period_s(machine: MachineConfig) -> float:
    """The handle against the spool on the cable's stretch, from the machine file's figures."""
    inverse_mass = 1.0 / machine.reflected_mass_kg + 1.0 / machine.handle.mass_kg
    return 2.0 * math.pi / math.sqrt(machine.cable.stiffness_n_per_m * inverse_mass)


def _mean_angle(readings: list[DriveFeedback]) -> float:
    return sum(r.angle_rad for r in readings) / len(readings)


def _integral_of_velocity(readings: list[DriveFeedback]) -> float:
    total = 0.0
    for a, b in itertools.pairwise(readings):
        total += 0.5 * (a.velocity_rad_s + b.velocity_rad_s) * (b.time_s - a.time_s)
    return total


def _word_order(jump_m: float, fastest_mps: float) -> str:
    return (
        f"position jumps {jump_m:.2f} m between two readings while the handle moves at most "
        f"{fastest_mps:.2f} m/s: the 32-bit position is read in the wrong word order (link.word_order)"
    )


def _position_scale(moved_m: float, mark_m: float) -> str:
    factor = abs(moved_m) / mark_m
    known = {
        "13.1x: 131072 counts per turn (a 17-bit encoder) read as 10000": 131072 / 10000,
        "0.076x: 10000 counts per turn read as 131072": 10000 / 131072,
        "10x: a scale off by ten": 10.0,
        "0.1x: a scale off by ten": 0.1,
    }
    guess = min(known, key=lambda k: abs(math.log(factor / known[k])))
    hint = f" ({guess}?)" if abs(math.log(factor / known[guess])) < 0.05 else ""
    return (
        f"a {mark_m:.2f} m pull reads {abs(moved_m):.3f} m: the position scale is {factor:.2f}x off{hint}; "
        "set the drive map's position scale to the drive's counts per revolution"
    )
