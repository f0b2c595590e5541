"""hdlimits — exact high-dimensional risk curves of streaming optimizers, checked against simulation.

Conventions (binding, see CONVENTIONS.md of the project): data ``x ~ N(0, K)`` in dimension d, labels
``y = ⟨x, θ*⟩ + ε``; every optimizer steps ``θ ← θ − (γ(t)/d)·u`` and time is ``t = steps/d``; the risk
is ``½ E[(⟨x,θ⟩ − y)²] = ½(eᵀKe + E ε²)`` with ``e = θ − θ*``, the excess risk ``½ eᵀKe``.

Quick use::

    import numpy as np, hdlimits as hd
    prob = hd.Problem.power_law(d=2000, alpha=0.8, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)
    opt = hd.SGD(lr=1.2)
    theory = hd.predict_risk(prob, opt, t=np.linspace(0, 20, 201))
    sim = hd.simulate(prob, opt, t=theory.t, runs=8, seed=1)
    print(hd.compare(theory, sim))
"""
from hdlimits.core import noise as noise
from hdlimits.core import schedules as schedules
from hdlimits import plot
from hdlimits.compare import compare
from hdlimits.models.least_squares.diagnostics import asymptotic_rate, critical_lr, kernel_mass, stationary_risk
from hdlimits.optimizers import SGD, PreconditionedSGD
from hdlimits.predict import predict_risk
from hdlimits.models.least_squares.problem import Problem
from hdlimits.core.results import RiskCurve, SimulationResult, load as load_result
from hdlimits.sim.simulate import simulate
from hdlimits.sweep import sweep  # the metrics and SweepResult live in the module hdlimits.sweep
from hdlimits import phase

__version__ = "0.1.0"

__all__ = ["Problem", "SGD", "PreconditionedSGD", "predict_risk", "simulate", "noise", "schedules",
           "RiskCurve", "SimulationResult", "critical_lr", "stationary_risk", "asymptotic_rate",
           "kernel_mass", "compare", "plot", "sweep", "phase", "load_result"]

from hdlimits.optimizers.sign import Adam, AdamLimit, SignSGD  # noqa: E402  (signSGD / Adam, issue 4)
__all__ += ["SignSGD", "Adam", "AdamLimit"]
from hdlimits.models.least_squares.sign_effects import sign_effects, sign_stationary_excess_risk  # noqa: E402
__all__ += ["sign_effects", "sign_stationary_excess_risk"]
from hdlimits.optimizers.clipped import ClippedSGD, NormalizedSGD  # noqa: E402  (clipping, issue 3)
from hdlimits.derivation import derive  # noqa: E402
from hdlimits.models.least_squares import clipping as clipping
__all__ += ["ClippedSGD", "NormalizedSGD", "clipping", "derive"]
