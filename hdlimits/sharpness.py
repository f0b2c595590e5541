"""The sharpness family's public namespace: ``from hdlimits import sharpness as hs``
(docs/sharpness.md; the code lives in :mod:`hdlimits.models.sharpness`)."""
from hdlimits.models.sharpness.api import predict, simulate
from hdlimits.models.sharpness.results import SharpnessCurve, SharpnessSimulation

__all__ = ["predict", "simulate", "SharpnessCurve", "SharpnessSimulation"]
