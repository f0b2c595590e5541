"""hdlimits — exact high-dimensional risk curves of streaming optimizers, checked against simulation.

Conventions (binding, docs/conventions.md): data ``x ~ N(0, K)`` in dimension d, labels
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
from hdlimits.core import noise, schedules
from hdlimits.core.errors import LimitNotAvailable
from hdlimits.core.results import RiskCurve, SimulationResult, load as load_result
from hdlimits.core.status import Status, StatusCode
from hdlimits.models import least_squares as _least_squares  # noqa: F401  (registers the family)
from hdlimits.models.least_squares import clipping
from hdlimits.models.least_squares.diagnostics import (asymptotic_rate, critical_lr, kernel_mass,
                                                       stationary_risk)
from hdlimits.models.least_squares.problem import Problem
from hdlimits.models.least_squares.sign_effects import sign_effects, sign_stationary_excess_risk
from hdlimits.optimizers import (SGD, Adam, AdamLimit, ClippedSGD, NormalizedSGD, PreconditionedSGD,
                                 SignSGD, GD, SAM, SpectralSGD)
from hdlimits.optimizers import tuners
from hdlimits.derivation import derive
from hdlimits.predict import predict_risk
from hdlimits.sim.simulate import simulate
from hdlimits.compare import compare
from hdlimits import plot
from hdlimits.sweeps import sweep  # the function; the metrics and SweepResult live in hdlimits.sweeps
from hdlimits import sweeps
from hdlimits import phase
from hdlimits import norms  # steepest descent under norms (docs/norms.md)
from hdlimits import sharpness  # the sharpness family (registers its models and observables)
from hdlimits import models  # hd.models.relu(), logistic(), …: the GLM and multi-index models
from hdlimits.models import glm as _glm  # noqa: F401  (registers the GLM family)
from hdlimits.models.glm.problem import GLMProblem
from hdlimits.models.glm.diagnostics import critical_lr as glm_critical_lr
from hdlimits import feature_learning  # layer-wise preconditioning and feature learning (docs/feature_learning.md)
from hdlimits.models import dataset as _dataset  # noqa: F401  (registers the dataset family)
from hdlimits.models.dataset.problem import DatasetProblem
from hdlimits import features
from hdlimits import spectra  # spectra as objects (docs/spectra.md)
from hdlimits import scaling  # scaling laws of power-law random features (docs/scaling.md)
from hdlimits.models.least_squares.spectral_problem import SpectralProblem, MergedProblem

__version__ = "0.1.0"

__all__ = ["Problem", "SGD", "PreconditionedSGD", "SignSGD", "Adam", "AdamLimit", "ClippedSGD",
           "NormalizedSGD", "predict_risk", "simulate", "compare", "noise", "schedules", "RiskCurve",
           "SimulationResult", "Status", "StatusCode", "LimitNotAvailable", "critical_lr",
           "stationary_risk", "asymptotic_rate", "kernel_mass", "sign_effects",
           "sign_stationary_excess_risk", "clipping", "derive", "plot", "sweep", "sweeps", "phase",
           "load_result", "GD", "SAM", "sharpness", "models", "GLMProblem",
           "glm_critical_lr", "norms", "SpectralSGD", "DatasetProblem", "features", "feature_learning",
           "spectra", "SpectralProblem", "MergedProblem", "scaling"]
