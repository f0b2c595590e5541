"""Spectra as objects: explicit eigenvalues or a density, turned into a few weighted modes
(docs/spectra.md).

A spectrum gives the law of the eigenvalues of the data covariance ``K`` in dimension ``d``. The mode system
(docs/integrator.md §12) receives quadrature nodes ``λ_i`` with masses ``m_i`` (numbers of
eigen-directions, non-integer in general) chosen so that every sum ``Σ_j g(λ_j)`` the risk is made of is
reproduced to a requested relative tolerance (:mod:`hdlimits.spectra.quadrature`); the initial error enters
as a per-direction profile ``D0(λ)`` on the same nodes. ``d`` stays the dimension of the problem (the
``γκ/d`` terms are kept), independent of the number of nodes.

Factories: :func:`power_law` (``λ_j = d·j^{−α}/H_d(α)``, ``tr K = d``, docs/conventions.md §6),
:func:`marchenko_pastur` (eigenvalues of ``XᵀX/n`` with ``d/n = ratio``; mean 1), :func:`from_density`
(a user density on a support), :func:`explicit` (given eigenvalues). Problems are built with
``hd.Problem.power_law(..., spectrum="continuous")`` or :meth:`SpectralProblem.from_spectrum
<hdlimits.models.least_squares.spectral_problem.SpectralProblem.from_spectrum>`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hdlimits.core import validation as v
from hdlimits.spectra.quadrature import density_rule, harmonic, power_sum_rule

__all__ = ["Spectrum", "PowerLaw", "Density", "Explicit", "power_law", "marchenko_pastur",
           "from_density", "explicit", "merged", "Nodes"]


@dataclass(frozen=True, eq=False)
class Nodes:
    """Quadrature nodes: eigenvalues ``lam``, masses ``mass`` (directions), initial per-direction
    second moments ``D0``; ``info`` describes the rule and its measured error."""
    lam: np.ndarray
    mass: np.ndarray
    D0: np.ndarray
    info: dict


class Spectrum:
    """Base class: ``nodes(d, profile, initial_size, rtol)`` and ``mean`` (the mean eigenvalue)."""

    kind = "spectrum"

    def describe(self) -> dict:
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class PowerLaw(Spectrum):
    """``λ_j = d·j^{−α} / Σ_{k≤d} k^{−α}`` for ``j = 1..d`` (``tr K = d``, mean 1)."""
    alpha: float
    kind = "power_law"

    @property
    def mean(self) -> float:
        return 1.0

    def eigenvalue(self, j, d):
        """λ_j at (real) indices j."""
        return d * np.asarray(j, dtype=np.float64) ** (-self.alpha) / harmonic(d, self.alpha)

    def nodes(self, d: int, beta: float, initial_size: float = 1.0, rtol: float = 1e-9) -> Nodes:
        """Nodes for the profile ``⟨u_j, e_0⟩² ∝ j^{−β}`` scaled so that ``e_0ᵀKe_0 = initial_size``
        (the explicit ``Problem.power_law``'s, docs/conventions.md §5)."""
        a = self.alpha
        x, w, info = power_sum_rule(d, a, [a + beta, 2 * a], rtol)
        Ha = harmonic(d, a)
        lam = d * x ** (-a) / Ha
        # Σ_j λ_j j^{−β} = d·H_d(α+β)/H_d(α)
        norm = d * harmonic(d, a + beta) / Ha
        D0 = x ** (-beta) * (initial_size / norm)
        return Nodes(lam, w, D0, dict(info, rule="discrete Gauss blocks in j"))

    def describe(self) -> dict:
        return {"kind": "power_law", "alpha": self.alpha}


@dataclass(frozen=True, eq=False)
class Density(Spectrum):
    """Eigenvalue density ``f`` on ``support = (a, b)`` (a probability density: the fraction of the
    ``d`` eigen-directions per unit λ), plus a fraction ``atom0`` of zero eigenvalues."""
    f: object
    support: tuple
    atom0: float = 0.0
    name: str = "density"
    kind = "density"

    @property
    def mean(self) -> float:
        lam, w, _ = density_rule(self.f, *self.support, [lambda x: np.ones_like(x)], rtol=1e-10)
        return float(w @ lam)

    def nodes(self, d: int, profile=None, initial_size: float = 1.0, rtol: float = 1e-9) -> Nodes:
        """Nodes for a per-direction initial profile ``D0(λ)`` (callable; None: constant), scaled so that
        ``e_0ᵀKe_0 = Σ m λ D0 = initial_size``. Zero eigenvalues (``atom0``) never enter the risk and get
        no node."""
        prof = (lambda x: np.ones_like(x)) if profile is None else profile
        lam, w, info = density_rule(self.f, *self.support, [lambda x: x * prof(x), lambda x: x * x], rtol)
        mass = d * w
        D0 = np.asarray(prof(lam), dtype=np.float64)
        if np.any(~np.isfinite(D0)) or np.any(D0 < 0):
            raise ValueError("profile must return finite values ≥ 0 on the support")
        tot = float(np.sum(mass * lam * D0))
        if not tot > 0:
            raise ValueError("profile gives e_0ᵀKe_0 = 0 on this spectrum; give a profile > 0 somewhere")
        return Nodes(lam, mass, D0 * (initial_size / tot), dict(info, rule="graded Gauss–Legendre panels"))

    def describe(self) -> dict:
        return {"kind": self.name, "support": [float(s) for s in self.support], "atom0": self.atom0}


@dataclass(frozen=True, eq=False)
class Explicit(Spectrum):
    """Given eigenvalues (one node per eigenvalue, mass 1)."""
    eigenvalues: np.ndarray
    kind = "explicit"

    @property
    def mean(self) -> float:
        return float(np.mean(self.eigenvalues))

    def describe(self) -> dict:
        return {"kind": "explicit", "size": int(self.eigenvalues.size)}


def power_law(alpha) -> PowerLaw:
    """The power-law spectrum ``λ_j ∝ j^{−α}`` normalised to ``tr K = d`` (docs/conventions.md §6)."""
    return PowerLaw(v.real("alpha", alpha, low=0.0))


def marchenko_pastur(ratio, scale: float = 1.0) -> Density:
    """Marchenko–Pastur law of ``scale·XᵀX/n`` (``X`` n×d with i.i.d. unit entries, ``ratio = d/n``):
    density ``√((b−λ)(λ−a)) / (2π·ratio·scale·λ)`` on ``[a, b] = scale·(1 ∓ √ratio)²`` and, for
    ``ratio > 1``, a fraction ``1 − 1/ratio`` of zero eigenvalues. Mean eigenvalue ``scale``."""
    r = v.real("ratio", ratio, low=0.0, low_open=True)
    s = v.real("scale", scale, low=0.0, low_open=True)
    a, b = s * (1 - math.sqrt(r)) ** 2, s * (1 + math.sqrt(r)) ** 2
    frac = 1.0 if r <= 1 else 1.0 / r

    def f(x):
        x = np.asarray(x, dtype=np.float64)
        return np.sqrt(np.clip((b - x) * (x - a), 0.0, None)) / (2 * math.pi * r * s * x)

    return Density(f, (a, b), 1.0 - frac, f"marchenko_pastur(ratio={r:g})")


def from_density(f, support, normalize: bool = True) -> Density:
    """A user eigenvalue density ``f`` (vectorised callable, ≥ 0) on ``support = (a, b)``, 0 ≤ a < b < ∞.
    ``normalize=True`` divides by its integral (so ``f`` may be given up to a constant)."""
    try:
        a, b = (float(x) for x in support)
    except (TypeError, ValueError):
        raise ValueError(f"support must be a pair (a, b) with 0 ≤ a < b < inf, got {support!r}") from None
    if not (0 <= a < b < math.inf):
        raise ValueError(f"support must satisfy 0 ≤ a < b < inf, got ({a:g}, {b:g})")
    if not callable(f):
        raise ValueError("f must be a callable density λ ↦ f(λ) ≥ 0 (vectorised over numpy arrays)")
    lam, w, _ = density_rule(lambda x: np.ones_like(x), a, b, [lambda x: np.ones_like(x)], rtol=1e-6)
    vals = np.asarray(f(lam), dtype=np.float64)
    if vals.shape != lam.shape or np.any(~np.isfinite(vals)) or np.any(vals < 0):
        raise ValueError("f must return finite values ≥ 0 for every λ in the support (vectorised)")
    if normalize:
        total = float(density_rule(f, a, b, [lambda x: np.ones_like(x)], rtol=1e-10)[1].sum())
        if not total > 0:
            raise ValueError("f integrates to 0 on the support")
        g = f

        def f(x):  # noqa: F811
            return np.asarray(g(x), dtype=np.float64) / total

    return Density(f, (a, b), 0.0, "density")


def explicit(eigenvalues) -> Explicit:
    """Explicit eigenvalues (see :func:`merged` for merging close ones with a stated error)."""
    return Explicit(v.vector("eigenvalues", eigenvalues, nonnegative=True))


def merged(problem, merge_rtol=1e-6):
    """An explicit ``hd.Problem`` whose limit is solved on merged modes with a relative risk error
    ≤ ``merge_rtol`` on the horizon of each call (docs/spectra.md §4); a ``MergedProblem``."""
    from hdlimits.models.least_squares.spectral_problem import merged as _merged
    return _merged(problem, merge_rtol)
