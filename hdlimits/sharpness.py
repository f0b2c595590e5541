"""The sharpness family's public namespace: ``from hdlimits import sharpness as hs``
(docs/sharpness.md; the code lives in :mod:`hdlimits.models.sharpness`)."""
from hdlimits.models.sharpness.api import predict, simulate
from hdlimits.models.sharpness.results import SharpnessCurve, SharpnessSimulation

__all__ = ["predict", "simulate", "SharpnessCurve", "SharpnessSimulation"]
from hdlimits.models.sharpness.linear_api import predict_linear, simulate_linear  # registers LinearModel
from hdlimits.models.sharpness.linear import LinearModel
from hdlimits.models.sharpness.linear_theory import (CriticalLR, critical_batch, critical_lr, growth_rate,
                                                     noise_kernel_norm)

__all__ += ["LinearModel", "CriticalLR", "critical_batch", "critical_lr", "growth_rate", "noise_kernel_norm"]
