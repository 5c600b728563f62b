"""Variable resistance: the load as a function of where the handle is in the learned range."""

from __future__ import annotations

import numpy as np

from controller.config.profile import CurveConfig, CurveKind


def curve_multiplier(curve: CurveConfig, fraction: float | None) -> float:
    """The factor on the profile's level at this range fraction (0 bottom, 1 top). Before the
    range is learned (first rep) there is no fraction: the plain load."""
    if fraction is None or curve.kind is CurveKind.FLAT:
        return 1.0
    r = min(1.0, max(0.0, fraction))
    extra = curve.change_pct / 100.0
    match curve.kind:
        case CurveKind.CHAINS:
            return 1.0 + extra * r
        case CurveKind.INVERSE_CHAINS:
            return 1.0 + extra * (1.0 - r)
        case CurveKind.BANDS:
            return 1.0 + extra * r * r
        case _:
            fractions, pcts = zip(*curve.points, strict=True)
            return float(np.interp(r, fractions, pcts)) / 100.0


def curve_peak(curve: CurveConfig) -> float:
    """The curve's largest factor over the range."""
    match curve.kind:
        case CurveKind.FLAT:
            return 1.0
        case CurveKind.CUSTOM:
            return max(pct for _, pct in curve.points) / 100.0
        case _:
            return 1.0 + curve.change_pct / 100.0
