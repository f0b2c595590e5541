"""Least-squares problems given by a spectrum rather than by d-length arrays (docs/spectra.md).

:class:`SpectralProblem` is lazy: ``K`` is diagonal with eigenvalues distributed by a
:class:`~hdlimits.spectra.Spectrum` in dimension ``d`` and the initial error by a per-direction profile;
it holds only quadrature nodes (a few hundred to a few thousand, independent of ``d``), so
``d = 10⁹`` costs what ``d = 10⁴`` does. The limit of SGD and PreconditionedSGD (named preconditioners)
is the mode system of docs/sgd.md §6 on those nodes, with masses (docs/integrator.md §12) and the
finite-d ``γκ/d`` terms of the true ``d``.

:class:`MergedProblem` wraps an explicit :class:`~hdlimits.models.least_squares.problem.Problem` and
merges close eigenvalues of its limit into a few weighted modes with a measured error below
``merge_rtol`` on the horizon of the call (:mod:`hdlimits.spectra.merge`).

Neither is simulated: Monte Carlo needs the d-length vectors (build the explicit ``Problem`` for
``d ≤ SIMULATE_MAX_D``, or simulate ``MergedProblem.source``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hdlimits.core import noise as noise_mod
from hdlimits.core import validation as v

__all__ = ["SpectralProblem", "MergedProblem", "SIMULATE_MAX_D", "CONTINUOUS_ABOVE"]

#: the largest d for which an explicit problem (and a simulation) is suggested
SIMULATE_MAX_D = 10 ** 6
#: Problem.power_law builds a SpectralProblem by default above this d (below, the explicit problem)
CONTINUOUS_ABOVE = 10 ** 7


def _noise(noise):
    if noise is None:
        return noise_mod.none()
    if not isinstance(noise, noise_mod.NoiseLaw):
        raise ValueError(f"noise must be a NoiseLaw from hdlimits.core.noise, got {type(noise).__name__}")
    return noise


@dataclass(frozen=True, eq=False)
class SpectralProblem:
    """Diagonal ``K`` with a continuous (or compressed) spectrum: nodes ``lam`` with masses ``mass``
    (eigen-directions; ``Σ mass`` ≈ number of non-zero eigenvalues) and per-direction initial second
    moments ``D0``; ``P0 = Σ mass·lam·D0 = e_0ᵀKe_0``. Risk ``½(eᵀKe + E ε²)`` as for :class:`Problem`.
    """

    lam: np.ndarray
    mass: np.ndarray
    D0: np.ndarray
    d: int
    noise: noise_mod.NoiseLaw
    trace: float
    spectrum: object = None
    label: str = field(default="spectral problem")
    info: dict = field(default_factory=dict)

    # ---------------------------------------------------------------- factories
    @classmethod
    def power_law(cls, d, alpha, beta, noise=None, initial_size=1.0, rtol=1e-9, label=None):
        """The limit-level twin of ``Problem.power_law`` (docs/conventions.md §6): ``λ_j = d j^{−α}/H_d(α)``,
        ``⟨u_j, e_0⟩² ∝ j^{−β}``, ``e_0ᵀKe_0 = initial_size``, nodes accurate to ``rtol`` (relative, on
        every sum the risk is made of). No d-length array is built."""
        from hdlimits import spectra
        d = v.integer("d", d, low=1)
        alpha = v.real("alpha", alpha, low=0.0)
        beta = v.real("beta", beta)
        size = v.nonnegative("initial_size", initial_size)
        rtol = v.real("rtol", rtol, low=1e-14, high=1e-2)
        spec = spectra.power_law(alpha)
        nd = spec.nodes(d, beta, size, rtol)
        return cls(nd.lam, nd.mass, nd.D0, d, _noise(noise), float(d), spec,
                   label or f"power_law(d={d}, alpha={alpha:g}, beta={beta:g}, continuous)",
                   dict(nd.info, rtol=rtol, nodes=int(nd.lam.size)))

    @classmethod
    def from_spectrum(cls, spectrum, d, profile=None, noise=None, initial_size=1.0, rtol=1e-9, label=None):
        """A density spectrum (``hd.spectra.marchenko_pastur``, ``from_density``, …) in dimension ``d``;
        ``profile``: per-direction initial second moment as a function of λ (None: constant), scaled
        so that ``e_0ᵀKe_0 = initial_size``."""
        from hdlimits import spectra
        d = v.integer("d", d, low=1)
        size = v.nonnegative("initial_size", initial_size)
        rtol = v.real("rtol", rtol, low=1e-14, high=1e-2)
        if isinstance(spectrum, spectra.PowerLaw):
            raise ValueError("for a power-law spectrum use SpectralProblem.power_law(d, alpha, beta)")
        if not isinstance(spectrum, spectra.Density):
            raise ValueError(f"spectrum must be a density from hdlimits.spectra (marchenko_pastur, "
                             f"from_density), got {type(spectrum).__name__}")
        nd = spectrum.nodes(d, profile, size, rtol)
        trace = float(d * np.dot(nd.mass / d, nd.lam))
        return cls(nd.lam, nd.mass, nd.D0, d, _noise(noise), trace, spectrum,
                   label or f"{spectrum.describe()['kind']}(d={d})",
                   dict(nd.info, rtol=rtol, nodes=int(nd.lam.size)))

    # ---------------------------------------------------------------- derived quantities
    @property
    def is_diagonal(self) -> bool:
        return True

    @property
    def n_nodes(self) -> int:
        return int(self.lam.size)

    @property
    def noise_second_moment(self) -> float:
        return float(self.noise.second_moment)

    @property
    def initial_excess_risk(self) -> float:
        return 0.5 * float(np.sum(self.mass * self.lam * self.D0))

    def describe(self) -> dict:
        return {"label": self.label, "d": self.d, "trace_K": self.trace,
                "lambda_max": float(self.lam.max()), "lambda_min": float(self.lam.min()),
                "diagonal": True, "noise": self.noise.spec(), "nodes": self.n_nodes,
                "initial_excess_risk": self.initial_excess_risk,
                "spectrum": None if self.spectrum is None else self.spectrum.describe(),
                "quadrature": {k: (float(x) if isinstance(x, (float, np.floating)) else x)
                               for k, x in self.info.items()}}

    def __repr__(self):
        return f"SpectralProblem({self.label}, nodes={self.n_nodes}, noise={self.noise.spec()})"


@dataclass(frozen=True, eq=False)
class MergedProblem:
    """An explicit problem whose limit is solved on merged modes with a relative risk error below
    ``merge_rtol`` (measured on the call's horizon; docs/spectra.md §4). ``source`` is the explicit
    problem (simulate that)."""

    source: object
    merge_rtol: float

    def __post_init__(self):
        object.__setattr__(self, "merge_rtol", v.real("merge_rtol", self.merge_rtol, low=1e-14, high=0.1))
        object.__setattr__(self, "_cache", {})

    def merged_system(self, system, t_max: float):
        """The merged twin of ``system`` on ``[0, t_max]`` (memoised per optimizer and horizon: the
        problem is immutable, so repeated predictions pay only the integration)."""
        from hdlimits.spectra.merge import merge_system
        key = (system.label, float(system.schedule.peak), system.curvature, float(t_max),
               repr(system.schedule), system.kappa.tobytes(), system.D0.tobytes(), system.weights.tobytes())
        hit = self._cache.get(key)
        if hit is None:
            hit = merge_system(system, self.merge_rtol, float(t_max))
            if len(self._cache) < 64:
                self._cache[key] = hit
        return hit

    def __getattr__(self, name):
        # everything else (d, eigenvalues, noise, trace, describe …) is the source's
        if name in ("source", "merge_rtol", "_cache"):
            raise AttributeError(name)
        return getattr(self.source, name)

    @property
    def label(self) -> str:
        return f"{self.source.label} merged(rtol={self.merge_rtol:g})"

    def describe(self) -> dict:
        return dict(self.source.describe(), label=self.label, merge_rtol=self.merge_rtol)

    def __repr__(self):
        return f"MergedProblem({self.source.label}, merge_rtol={self.merge_rtol:g})"


def merged(problem, merge_rtol=1e-6) -> MergedProblem:
    """``problem`` with its limit solved on merged modes (relative risk error ≤ ``merge_rtol``)."""
    from hdlimits.models.least_squares.problem import Problem
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be an explicit hdlimits.Problem, got {type(problem).__name__}")
    return MergedProblem(problem, merge_rtol)


def too_large_for_simulation(problem, optimizer):
    """Simulator rule of the lazy problems: refuse with what to do instead."""
    if isinstance(problem, MergedProblem):
        raise ValueError("a MergedProblem is solved on merged modes; simulate its explicit problem "
                         "(problem.source) instead")
    raise ValueError(f"simulate() needs the explicit d-length problem; this SpectralProblem (d = {problem.d}) "
                     f"holds only {problem.n_nodes} quadrature nodes. Use hd.Problem.power_law(d, …, "
                     f"spectrum='explicit') with d ≤ {SIMULATE_MAX_D} for Monte Carlo")


# ------------------------------------------------------------------------------------- limits
def _spectral_drift(problem: SpectralProblem, optimizer):
    """(κ, D0, mass) of the drift matrix for SGD or a named preconditioner on a diagonal spectral K:
    ``None`` → (λ, D0); ``"diag"``, ``"whiten"`` (Π = K⁻¹, diag(K) = K here) → (1, λ·D0); ``"sqrt"`` →
    (√λ, √λ·D0) (docs/conventions.md §5, docs/sgd.md §4)."""
    from hdlimits.core.errors import LimitNotAvailable
    from hdlimits.optimizers import PreconditionedSGD
    lam, D0 = problem.lam, problem.D0
    if not isinstance(optimizer, PreconditionedSGD) or optimizer.preconditioner is None:
        return lam, D0
    p = optimizer.preconditioner
    if getattr(optimizer, "output", None) is not None:
        raise LimitNotAvailable("an output factor (output=) acts on GLM problems; on least squares scale lr")
    if isinstance(p, str) and p in ("diag", "whiten"):
        return np.ones_like(lam), lam * D0
    if isinstance(p, str) and p == "sqrt":
        return np.sqrt(lam), np.sqrt(lam) * D0
    raise LimitNotAvailable("PreconditionedSGD on a SpectralProblem takes a named preconditioner "
                            "('diag', 'sqrt', 'whiten') or None; an explicit matrix or vector needs the "
                            "explicit Problem (d-length arrays)")


def spectral_sgd_limit(problem: SpectralProblem, optimizer, t_max=None):
    """SGD / PreconditionedSGD on the nodes (docs/sgd.md §3–§4): ``a = 1``, ``b = P + E ε²``, ``w = κ/B``,
    ``h = 1 + 1/B``, masses from the quadrature, ``d`` the true dimension."""
    from hdlimits.core.errors import LimitNotAvailable
    from hdlimits.core.schedules import as_schedule
    from hdlimits.solvers import coefficients as coef
    from hdlimits.solvers.modes import ModeSystem
    m2 = problem.noise_second_moment
    if not math.isfinite(m2):
        raise LimitNotAvailable(f"noise {problem.noise.spec()} has no finite second moment: the SGD limit "
                                "does not exist")
    kappa, D0 = _spectral_drift(problem, optimizer)
    B = optimizer.batch
    c = np.ascontiguousarray
    return ModeSystem(kappa=c(kappa, dtype=np.float64), weights=c(kappa / B, dtype=np.float64),
                      D0=c(D0, dtype=np.float64), d=problem.d, schedule=as_schedule(optimizer.lr, t_max),
                      a=coef.one, b=coef.residual_second_moment, coef_params=np.array([m2]),
                      curvature=1.0 + 1.0 / B, noise_second_moment=m2, a_is_constant=True,
                      exact_recursion=False, label=optimizer.describe(), mass=problem.mass)


def merged_sgd_limit(problem: MergedProblem, optimizer, t_max=None):
    """The source's limit with close modes merged on ``[0, t_max]`` (exact when ``t_max`` is None)."""
    from hdlimits.models.least_squares.reductions import sgd_limit
    system = sgd_limit(problem.source, optimizer, t_max)
    if t_max is None:
        return system
    out, _ = problem.merged_system(system, t_max)
    return out


def _not_available(problem, optimizer, t_max=None):
    from hdlimits.core.errors import LimitNotAvailable
    raise LimitNotAvailable(
        f"{type(optimizer).__name__} on a {type(problem).__name__}: only SGD and PreconditionedSGD "
        "(named preconditioners) have a limit on quadrature nodes or merged modes — the other limits "
        "need the d-length arrays (their drift basis or coefficients depend on diag(K) or tr K per "
        f"direction); build the explicit hd.Problem (d ≤ {SIMULATE_MAX_D})")


def register() -> None:
    """Enter the limits (SGD, PreconditionedSGD) and the refusing simulator rule in hdlimits.reductions."""
    from hdlimits.optimizers import SGD
    from hdlimits.optimizers.base import Optimizer
    from hdlimits.reductions import register_limit, register_sim_rule
    register_limit(SpectralProblem, SGD, spectral_sgd_limit)
    register_limit(MergedProblem, SGD, merged_sgd_limit)
    for pt in (SpectralProblem, MergedProblem):
        register_limit(pt, Optimizer, _not_available)
        register_sim_rule(pt, Optimizer, too_large_for_simulation)
