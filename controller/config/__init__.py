"""Validated configuration: one pydantic model per TOML section, unknown keys are errors."""

from controller.config.athlete import AthleteConfig, load_athlete
from controller.config.loader import ConfigError, resolve
from controller.config.machine import MachineConfig, load_machine

__all__ = [
    "AthleteConfig",
    "ConfigError",
    "MachineConfig",
    "load_athlete",
    "load_machine",
    "resolve",
]
