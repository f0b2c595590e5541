"""The sharpness family's public namespace: ``from hdlimits import sharpness as hs``
(docs/sharpness.md; the code lives in :mod:`hdlimits.models.sharpness`)."""
from hdlimits.models.sharpness.api import predict, simulate
from hdlimits.models.sharpness.linear import LinearModel
from hdlimits.models.sharpness.linear_api import predict_linear, simulate_linear  # registers LinearModel
from hdlimits.models.sharpness.linear_theory import (CriticalLR, critical_batch, critical_lr, growth_rate,
                                                     noise_kernel_norm)
from hdlimits.models.sharpness.mean_ntk import (first_order_eigenvalues, gd_closed_form, gd_limit_shift,
                                               mean_ntk_recursion)
from hdlimits.models.sharpness.quadratic import QuadraticModel
from hdlimits.models.sharpness.quadratic_sim import paired_difference, simulate_paired
from hdlimits.models.sharpness.second_order import SingleOutputModel, derive_map, sam_edge
from hdlimits.models.sharpness.proportional import ProportionalModel
from hdlimits.models.sharpness.second_order_sim import simulate_proportional
from hdlimits.models.sharpness.tuners_joint import joint_model
from hdlimits.models.sharpness.results import SharpnessCurve, SharpnessSimulation

__all__ = ["predict", "simulate", "SharpnessCurve", "SharpnessSimulation", "LinearModel", "CriticalLR",
           "critical_batch", "critical_lr", "growth_rate", "noise_kernel_norm", "predict_linear",
           "simulate_linear", "QuadraticModel", "mean_ntk_recursion", "gd_closed_form", "gd_limit_shift",
           "first_order_eigenvalues", "paired_difference", "simulate_paired",
           "SingleOutputModel", "derive_map", "sam_edge", "ProportionalModel", "simulate_proportional", "joint_model"]
