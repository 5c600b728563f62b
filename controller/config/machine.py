"""A machine: motor, spool, cable, handle, the safety limits of the frame, and the drive it talks to.

Defaults describe a typical StepperOnline A6-class build: 1.27 N*m rated, 3x peak, 22 mm spool radius,
no gearbox (about 5.9 kg of tension per rated torque).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from controller.config.loader import Section, load
from controller.config.mqtt import MqttConfig
from controller.config.site_link import SiteLinkConfig

DRIVE_SPEED_LIMIT_FRACTION = 0.8


class MotorConfig(Section):
    rated_torque_nm: float = Field(1.27, gt=0, le=500)
    peak_torque_nm: float = Field(3.81, gt=0, le=1500)
    rotor_inertia_kgm2: float = Field(5.7e-5, gt=0, le=1.0)
    max_speed_rpm: float = Field(5000.0, gt=0, le=30000)  # feedback above this is a misread, not motion
    current_loop_time_constant_s: float = Field(0.0005, gt=0, le=0.02)


class SpoolConfig(Section):
    # The one sign fact of a machine: which rotation, as the drive counts it, pays the cable out.
    # A drive's positive torque turns its shaft toward positive counts, so the tension that resists
    # the person needs torque of the opposite sign. `eccentrix commission` checks it.
    payout: Literal["positive", "negative"] = "positive"
    radius_m: float = Field(0.022, gt=0.003, le=0.25)
    gear_ratio: float = Field(1.0, ge=1.0, le=100.0)
    inertia_kgm2: float = Field(4.0e-5, ge=0, le=1.0)


class FrictionConfig(Section):
    coulomb_n: float = Field(4.0, ge=0, le=500)
    viscous_n_s_per_m: float = Field(2.0, ge=0, le=2000)


class CableConfig(Section):
    stiffness_n_per_m: float = Field(5000.0, gt=100, le=5.0e6)
    damping_n_s_per_m: float = Field(30.0, ge=0, le=1.0e4)
    length_m: float = Field(2.5, gt=0.2, le=10.0)


class HandleConfig(Section):
    mass_kg: float = Field(0.4, gt=0.01, le=50.0)


class LimitsConfig(Section):
    """Limits of the frame. The SafetyGate enforces these whatever a profile asks for."""

    max_tension_n: float = Field(150.0, gt=0, le=5000)
    max_retract_speed_mps: float = Field(1.5, gt=0.05, le=10.0)
    max_payout_speed_mps: float = Field(4.0, gt=0.05, le=15.0)
    slew_up_n_per_s: float = Field(3000.0, gt=0, le=1.0e6)
    slew_down_n_per_s: float = Field(12000.0, gt=0, le=1.0e6)
    idle_tension_n: float = Field(12.0, ge=0, le=200)
    stale_feedback_s: float = Field(0.02, gt=0, le=1.0)
    stale_ramp_s: float = Field(0.05, gt=0, le=2.0)
    retract_soft_zone_m: float = Field(0.03, ge=0, le=0.5)
    max_position_m: float = Field(2.3, gt=0.1, le=10.0)
    end_soft_zone_m: float = Field(0.1, ge=0, le=1.0)
    release_cut_s: float = Field(0.002, gt=0, le=0.5)

    @model_validator(mode="after")
    def _down_faster_than_up(self) -> LimitsConfig:
        if self.slew_down_n_per_s < self.slew_up_n_per_s:
            raise ValueError(
                "limits.slew_down_n_per_s must be >= limits.slew_up_n_per_s "
                "(letting off must never be slower than loading up)"
            )
        return self


class ControlConfig(Section):
    rate_hz: float = Field(500.0, ge=50, le=2000)
    lag_fault_periods: int = Field(5, ge=1, le=1000)
    velocity_cutoff_hz: float = Field(60.0, gt=0.5, le=500)
    acceleration_cutoff_hz: float = Field(50.0, gt=0.5, le=500)
    observer_hz: float = Field(150.0, ge=20, le=1000)  # TensionObserver's poles (the pure feel's loop)


class DriveRef(Section):
    kind: Literal["sim", "modbus", "serial"] = "sim"
    map: str = "sim"  # a name in configs/drives or a path
    link: str | None = Field(None, min_length=1, max_length=256)  # tcp://HOST:PORT or a serial device
    # The hardware E-stop and a lost host both end in the drive's STO input: a drive map without
    # a communication watchdog runs only when the machine file says so.
    sto_wired: bool = False

    @model_validator(mode="after")
    def _real_drives_say_where(self) -> DriveRef:
        if self.kind != "sim" and self.link is None:
            raise ValueError(
                f"drive.link is required for drive.kind = {self.kind!r} (tcp://HOST:PORT or /dev/ttyUSB0)"
            )
        return self


class MachineConfig(Section):
    name: str = Field("a6-diy", min_length=1, max_length=64)
    motor: MotorConfig = MotorConfig()
    spool: SpoolConfig = SpoolConfig()
    friction: FrictionConfig = FrictionConfig()
    cable: CableConfig = CableConfig()
    handle: HandleConfig = HandleConfig()
    limits: LimitsConfig = LimitsConfig()
    control: ControlConfig = ControlConfig()
    drive: DriveRef = DriveRef()
    mqtt: MqttConfig | None = None
    site: SiteLinkConfig | None = None

    @model_validator(mode="after")
    def _consistent(self) -> MachineConfig:
        if self.motor.peak_torque_nm < self.motor.rated_torque_nm:
            raise ValueError("motor.peak_torque_nm must be >= motor.rated_torque_nm")
        peak_tension = self.tension_per_torque_n_per_nm * self.motor.peak_torque_nm
        if self.limits.max_tension_n > peak_tension:
            raise ValueError(
                f"limits.max_tension_n = {self.limits.max_tension_n} exceeds what the motor can pull "
                f"({peak_tension:.0f} N at peak torque); allowed: <= {peak_tension:.0f}"
            )
        if self.site and self.site.upload_recordings and not (self.mqtt and self.mqtt.command_key_file):
            raise ValueError(
                "site.upload_recordings needs mqtt.command_key_file: the key the site knows this machine by "
                "(or upload_recordings = false)"
            )
        return self

    @property
    def drive_retract_limit_mps(self) -> float:
        """The drive's own torque-mode speed limit, set with a margin under the promised cap: only
        the drive reacts fast enough to stop a let-go spool, and the handle overshoots it a little."""
        return DRIVE_SPEED_LIMIT_FRACTION * self.limits.max_retract_speed_mps

    @property
    def drive_payout_limit_mps(self) -> float:
        return DRIVE_SPEED_LIMIT_FRACTION * self.limits.max_payout_speed_mps

    @property
    def tension_per_torque_n_per_nm(self) -> float:
        return self.spool.gear_ratio / self.spool.radius_m

    @property
    def payout_sign(self) -> float:
        """+1 when positive drive counts mean cable paid out, -1 otherwise."""
        return 1.0 if self.spool.payout == "positive" else -1.0

    @property
    def max_tension_torque_nm(self) -> float:
        """The motor torque that makes `limits.max_tension_n`: the last clamp, in the drive's units."""
        return self.limits.max_tension_n / self.tension_per_torque_n_per_nm

    @property
    def metres_per_rad(self) -> float:
        """Cable paid out per radian of the motor shaft."""
        return self.spool.radius_m / self.spool.gear_ratio

    @property
    def reflected_mass_kg(self) -> float:
        """Motor and spool inertia as felt at the cable: the machine's own 'weight feel'."""
        inertia = self.motor.rotor_inertia_kgm2 * self.spool.gear_ratio**2 + self.spool.inertia_kgm2
        return inertia / self.spool.radius_m**2


def load_machine(name_or_path: str | Path) -> MachineConfig:
    return load("machines", name_or_path, MachineConfig)
