"""Optimizers: frozen, validated descriptions of update rules (docs/conventions.md §3–§4).

Every optimizer performs ``θ_{k+1} = θ_k − (γ(k/d)/d)·u_k`` with the minibatch gradient
``g_k = (1/B) Σ_b x_b r_b``, ``r = ⟨x, θ⟩ − y`` and time ``t = k/d``; each class holds its direction
``u_k`` and its parameters, and nothing else. What a rule means for a model family — its limiting
equations and its simulator kernel — is registered by the family in :mod:`hdlimits.reductions`.
"""
from hdlimits.optimizers.adam import Adam, AdamLimit
from hdlimits.optimizers.base import Optimizer
from hdlimits.optimizers.gd import GD
from hdlimits.optimizers.sam import SAM
from hdlimits.optimizers.clipped import ClippedSGD, NormalizedSGD, RiskAdaptive, risk_adaptive
from hdlimits.optimizers.sgd import SGD, PreconditionedSGD
from hdlimits.optimizers.sign import SignSGD
from hdlimits.optimizers.spectral import SpectralSGD

__all__ = ["Optimizer", "SGD", "PreconditionedSGD", "SignSGD", "Adam", "AdamLimit", "ClippedSGD",
           "NormalizedSGD", "RiskAdaptive", "risk_adaptive", "GD", "SAM", "SpectralSGD"]
