"""Drives: one protocol, typed faults, and one implementation per transport."""

from controller.drive.base import (
    Drive,
    DriveAlarm,
    DriveFault,
    DriveFeedback,
    DriveLinkLost,
    DriveProtocolError,
    DriveTimeout,
)

__all__ = [
    "Drive",
    "DriveAlarm",
    "DriveFault",
    "DriveFeedback",
    "DriveLinkLost",
    "DriveProtocolError",
    "DriveTimeout",
]
