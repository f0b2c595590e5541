"""Results of the sharpness family: observables over the step count (docs/conventions.md §9).

:class:`SharpnessCurve` (theory) and :class:`SharpnessSimulation` (Monte Carlo: per-run arrays and
standard errors of every observable) are the shared result types (docs/results.md) with ``step`` — the
step count, which is this family's time — as an alias of ``t``. Their observables are registered in
:mod:`hdlimits.core.observables` here, so ``compare``, ``plot`` and the sweeps accept them by name.
"""
from __future__ import annotations

import numpy as np

from hdlimits.core import observables as obs
from hdlimits.core.results import Result, SimulationResult

__all__ = ["SharpnessCurve", "SharpnessSimulation"]

for _o in (
        obs.Observable("loss", "loss  E L = ½E‖z‖²", "sum loss over the D data points, ½‖z‖²"),
        obs.Observable("sharpness", "sharpness  λ_max(Θ)", "largest eigenvalue of the (mean) NTK"),
        obs.Observable("hessian_sharpness", "sharpness  λ_max(H)", "largest eigenvalue of the Hessian"),
        obs.Observable("noise_kernel_norm", "noise-kernel norm 𝒦", "SGD noise-kernel norm (stochastic EOS at 𝒦 = 1)"),
        obs.Observable("param_norm", "‖θ − θ₀‖²", "squared distance travelled in parameter space"),
        obs.Observable("min_ntk_eigenvalue", "λ_min(Θ)", "smallest eigenvalue of the (mean) NTK"),
        obs.Observable("ntk_eigenvalues", "NTK eigenvalues", "all eigenvalues of the (mean) NTK (steps × D)"),
        obs.Observable("residual", "residual  z", "the residual z of a single-output model"),
        obs.Observable("lr", "step  η_t", "the learning rate used at each step (tuned by a tuner, else constant)"),
        obs.Observable("trace", "tr Θ", "trace of the NTK, Σ_i ‖∇z_i‖²"),
):
    obs.register(_o)


class _Steps:
    """``step``: the step counts at which the observables are given (this family's time)."""

    @property
    def step(self) -> np.ndarray:
        return self.t


class SharpnessCurve(_Steps, Result):
    """A predicted sharpness-family curve over ``step`` (see :class:`~hdlimits.core.results.Result`)."""


class SharpnessSimulation(_Steps, SimulationResult):
    """A Monte Carlo sharpness-family result: means over runs, ``<name>_stderr`` and ``<name>_runs``
    (see :class:`~hdlimits.core.results.SimulationResult`)."""
