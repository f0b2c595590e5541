"""GLM and multi-index problems (docs/conventions.md, GLM section; docs/glm.md §1).

A :class:`GLMProblem` fixes the data covariance ``K = U diag(λ) Uᵀ`` (``U = I`` when no basis is given), the
teacher ``X* ∈ R^{d×m*}``, the student's start ``X_0 ∈ R^{d×m}``, the model (its loss ``f(r, ε)`` of the
pre-activations ``r = (Xᵀx, X*ᵀx)``) and the label-noise law. The same object drives the block limit
(:mod:`hdlimits.solvers.blocks`) and the simulator. ``hd.Problem.from_spectrum(..., teacher=, initial=,
model=)`` and ``hd.Problem.power_law(..., model=)`` build one.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from hdlimits.core import noise as noise_mod
from hdlimits.core import validation as v
from hdlimits.core.covariance import EigenCovariance, check_basis

__all__ = ["GLMProblem"]


def _matrix(name, value, d, width, what):
    """``value`` as a (d, width) float array: a (d,) vector is accepted when width is 1."""
    try:
        a = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real array of shape ({d},) or ({d}, {width}) ({what}), "
                         f"got {type(value).__name__}") from None
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape != (d, width):
        shapes = f"({d},) or ({d}, {width})" if width == 1 else f"({d}, {width})"
        raise ValueError(f"{name} must have shape {shapes} ({what}), got shape {np.shape(value)}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must contain only finite values")
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class GLMProblem(EigenCovariance):
    """Data ``x ~ N(0, K)``, student ``X`` (d×m), teacher ``X*`` (d×m*), loss ``f(r, ε)`` of
    ``r = (Xᵀx, X*ᵀx)``; risk ``h(B) = E f`` with the overlaps ``B = WᵀKW``, ``W = [X | X*]``.

    Attributes
    ----------
    eigenvalues : (d,) λ ≥ 0.
    teacher : (d, m*) array.
    initial : (d, m) array, the student's start ``X_0``.
    model : a model of :mod:`hdlimits.models` (``relu()``, ``logistic()``, …).
    noise : NoiseLaw of the label noise ε (one value per output for additive-noise models).
    basis : (d, d) orthogonal eigenvector matrix, or None for ``U = I``.
    """

    eigenvalues: np.ndarray
    teacher: np.ndarray
    initial: np.ndarray
    model: object
    noise: noise_mod.NoiseLaw
    basis: np.ndarray | None = None
    label: str = field(default="glm problem")
    seed: object = None

    # -------------------------------------------------------------------- factories
    @classmethod
    def from_spectrum(cls, eigenvalues, teacher, initial=None, model=None, noise=None, basis=None,
                      label=None):
        """``K = basis·diag(eigenvalues)·basisᵀ``; ``teacher`` (d,) or (d, m*), ``initial`` (d,) or (d, m)
        (default: zeros). ``model`` defaults to least squares."""
        from hdlimits.models.glm import catalog
        if model is None:
            model = catalog.least_squares()
        if not isinstance(model, catalog.GLMModel):
            raise ValueError("model must be a model from hdlimits.models (e.g. hd.models.relu()), got "
                             f"{type(model).__name__}")
        lam = v.vector("eigenvalues", eigenvalues, nonnegative=True)
        d = lam.size
        Xs = _matrix("teacher", teacher, d, model.m_star, f"the model has m* = {model.m_star} teacher "
                                                          "direction(s)")
        X0 = (np.zeros((d, model.m)) if initial is None else
              _matrix("initial", initial, d, model.m, f"the model has m = {model.m} student direction(s)"))
        if noise is None:
            noise = noise_mod.none()
        if not isinstance(noise, noise_mod.NoiseLaw):
            raise ValueError(f"noise must be a NoiseLaw from hdlimits.noise, got {type(noise).__name__}")
        model.check_noise(noise)
        if basis is not None:
            basis = check_basis(basis, d)
        return cls(lam, Xs, X0, model, noise, basis, label or f"{model.name}(d={d})")

    @classmethod
    def power_law(cls, d, alpha, beta, model=None, noise=None, initial_size=1.0, initial=None, seed=0,
                  rotate=False, label=None):
        """Power-law spectrum λ_j ∝ j^(−alpha) with tr K = d; each teacher column has projections
        ``⟨u_j, x*⟩² ∝ j^(−beta)`` with random signs, normalised to ``x*ᵀKx* = initial_size``, the columns
        of a multi-index teacher drawn independently; the student starts at ``initial`` (default 0).
        ``rotate=True`` puts the eigenvectors in a Haar-random basis. All randomness from ``seed``."""
        from hdlimits.models.glm import catalog
        model = catalog.least_squares() if model is None else model
        d = v.integer("d", d, low=1)
        alpha = v.real("alpha", alpha, low=0.0)
        beta = v.real("beta", beta)
        size = v.positive("initial_size", initial_size)
        v.memory("d", d, 3 * d * d if rotate else 10 * d * (1 + getattr(model, "k", 2)),
                 "a rotated (dense) problem" if rotate else "a power-law GLM problem")
        from hdlimits.models.least_squares.problem import power_law_profile
        lam, proj2 = power_law_profile(d, alpha, beta, size)
        seq = v.seed("seed", seed)
        rng = np.random.default_rng(seq)
        ms = getattr(model, "m_star", 1)
        coords = np.sqrt(proj2)[:, None] * rng.choice([-1.0, 1.0], size=(d, ms))
        basis = None
        if rotate:
            q, r = np.linalg.qr(rng.standard_normal((d, d)))
            basis = q * np.sign(np.diagonal(r))
            coords = basis @ coords
        prob = cls.from_spectrum(lam, coords, initial, model, noise, basis,
                                 label or f"power_law(d={d}, alpha={alpha:g}, beta={beta:g}, "
                                          f"{getattr(model, 'name', 'model')})")
        return dataclasses.replace(prob, seed=seq.entropy)

    # -------------------------------------------------------------------- derived quantities
    @property
    def m(self) -> int:
        return self.initial.shape[1]

    @property
    def m_star(self) -> int:
        return self.teacher.shape[1]

    @property
    def k(self) -> int:
        return self.m + self.m_star

    def weights(self, X=None) -> np.ndarray:
        """``W = [X | X*]`` (d × k); ``X`` defaults to the start ``X_0``."""
        X = self.initial if X is None else np.asarray(X, dtype=np.float64).reshape(self.d, self.m)
        return np.concatenate([X, self.teacher], axis=1)

    def overlaps_of(self, X) -> np.ndarray:
        """``B = WᵀKW`` (k×k) for the student ``X`` (d×m, or (d,) when m = 1)."""
        C = self.eigen_coordinates(self.weights(X))
        return C.T @ (self.eigenvalues[:, None] * C)

    @cached_property
    def initial_overlaps(self) -> np.ndarray:
        B = self.overlaps_of(self.initial)
        B.setflags(write=False)
        return B

    def risk_of(self, B) -> float:
        """The population risk ``h(B) = E f`` (noise included) at overlaps ``B``."""
        return float(self.model.expectations(self.noise).risk(np.asarray(B, dtype=np.float64)))

    @property
    def initial_risk(self) -> float:
        return self.risk_of(self.initial_overlaps)

    def describe(self) -> dict:
        lam = self.eigenvalues
        return {"label": self.label, "d": self.d, "m": self.m, "m_star": self.m_star,
                "model": self.model.name, "trace_K": self.trace, "lambda_max": float(lam.max()),
                "lambda_min": float(lam.min()), "diagonal": self.is_diagonal, "noise": self.noise.spec(),
                "initial_overlaps": self.initial_overlaps.tolist(), "seed": self.seed}

    def __repr__(self):
        return f"GLMProblem({self.label}, noise={self.noise.spec()})"
