"""Optimizers: one description drives both the limiting equations and the simulator.

Every optimizer performs ``θ_{k+1} = θ_k − (γ(k/d)/d)·u_k`` with the minibatch gradient
``g_k = (1/B) Σ_b x_b r_b``, ``r = ⟨x, θ⟩ − y`` and time ``t = k/d`` (CONVENTIONS.md). Each class holds its
update direction ``u_k`` (``sim_rule(problem)``, read by :mod:`hdlimits.sim`) and its reduction to the
generic mode system (``limit(problem, t_max)``, read by :mod:`hdlimits.limits`). One module per family.
"""
from hdlimits.optimizers.base import SimRule
from hdlimits.optimizers.sgd import SGD, PreconditionedSGD
from hdlimits.optimizers.sign import Adam, AdamLimit, SignSGD

__all__ = ["SimRule", "SGD", "PreconditionedSGD", "SignSGD", "Adam", "AdamLimit"]

from hdlimits.optimizers.clipped import ClippedSGD, NormalizedSGD  # noqa: E402  (issue 3)
__all__ += ["ClippedSGD", "NormalizedSGD"]
