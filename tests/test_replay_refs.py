"""Reference recordings replay through today's controller with zero differences. A failure means
the controller now decides differently: if that is intended, regenerate with
tests/replay_refs/update.py and say why in the commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.runtime.recorder import read_recording
from controller.runtime.regression import regression_replay

REFS = sorted((Path(__file__).parent / "replay_refs").glob("*.ecxr"))


def test_references_exist():
    assert len(REFS) >= 3


@pytest.mark.parametrize("path", REFS, ids=[p.stem for p in REFS])
def test_reference_recording_replays_identically(path):
    recording = read_recording(path)
    assert recording.damage is None
    report = regression_replay(recording)
    assert report.identical, [d for d in report.differences]
    assert report.reps, "a reference without reps proves little"
