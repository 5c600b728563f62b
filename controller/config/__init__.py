"""Validated configuration: one pydantic model per TOML section, unknown keys are errors."""

from controller.config.athlete import AthleteConfig, load_athlete
from controller.config.drive import DriveMap, load_drive_map
from controller.config.loader import ConfigError, resolve
from controller.config.machine import MachineConfig, load_machine
from controller.config.profile import CapsConfig, ProfileConfig, ProfileKind, load_profile

__all__ = [
    "AthleteConfig",
    "CapsConfig",
    "ConfigError",
    "DriveMap",
    "MachineConfig",
    "ProfileConfig",
    "ProfileKind",
    "load_athlete",
    "load_drive_map",
    "load_machine",
    "load_profile",
    "resolve",
]
