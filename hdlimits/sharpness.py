"""The sharpness family's public namespace: ``from hdlimits import sharpness as hs``
(docs/sharpness.md; the code lives in :mod:`hdlimits.models.sharpness`)."""
from hdlimits.models.sharpness.api import predict, simulate
from hdlimits.models.sharpness.results import SharpnessCurve, SharpnessSimulation
from hdlimits.models.sharpness.quadratic import QuadraticModel
from hdlimits.models.sharpness.mean_ntk import (first_order_eigenvalues, gd_closed_form, gd_limit_shift,
                                               mean_ntk_recursion)
from hdlimits.models.sharpness.quadratic_sim import paired_difference, simulate_paired

__all__ = ["predict", "simulate", "SharpnessCurve", "SharpnessSimulation"]
__all__ += ["QuadraticModel", "mean_ntk_recursion", "gd_closed_form", "gd_limit_shift",
            "first_order_eigenvalues", "paired_difference", "simulate_paired"]
