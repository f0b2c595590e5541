"""Generalised linear and multi-index models (docs/glm.md): streaming SGD on a student ``X ∈ R^{d×m}`` learning a
teacher ``X* ∈ R^{d×m*}`` through a per-sample loss ``f(r, ε)`` of the pre-activations ``r = (Xᵀx, X*ᵀx)``.

The limit (Collins-Woodfin, Paquette, Paquette, Seroussi, "Hitting the high-dimensional notes",
Information and Inference 2024, arXiv 2308.08977) carries one small ``(m+m*)×(m+m*)`` block ``V_i`` per
eigenmode of the (preconditioned) covariance; its coefficients ``J(B)``, ``I(B)`` and the risk ``h(B)`` are
Gaussian expectations over ``r ~ N(0, B)`` derived by :mod:`hdlimits.models.glm.expectations`.

Modules: ``catalog`` (the model objects, ``hd.models.relu()`` …), ``expectations`` (J, I, h: closed forms or
cubature), ``problem`` (:class:`GLMProblem`), ``reductions`` (optimizer → :class:`~hdlimits.solvers.blocks.
BlockModeSystem`), ``kernels`` / ``simulate`` (the Monte Carlo of the real algorithm).
"""
from hdlimits.core import observables as _obs
from hdlimits.models.glm import reductions as _reductions
from hdlimits.models.glm.problem import GLMProblem
from hdlimits.reductions import register_simulator as _register_simulator

__all__ = ["GLMProblem"]

_obs.register(_obs.Observable("overlaps", "overlaps  B = WᵀKW",
                              "the (m+m*)×(m+m*) overlap matrix of student and teacher (GLM problems)",
                              positive=False))
_reductions.register()


def _simulate(problem, optimizer, t, **options):
    from hdlimits.models.glm.simulate import simulate_glm
    return simulate_glm(problem, optimizer, t, **options)


_register_simulator(GLMProblem, _simulate)

from hdlimits.models.glm import spectral as _spectral  # noqa: E402  (spectral SGD, docs/norms.md §4)
_spectral.register()
