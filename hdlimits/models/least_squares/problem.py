"""Streaming least-squares problems (docs/conventions.md §1–§5).

A :class:`Problem` fixes everything the algorithm does not choose: the data covariance
``K = U diag(λ) Uᵀ`` (``U = I`` when no basis is given), the initial error ``e_0 = θ_0 − θ*`` as a
length-d vector in the coordinate basis, and the label-noise law. The same object drives the limiting
equations and the simulator.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

import numpy as np

from hdlimits.core import validation as v
from hdlimits.core.covariance import QuadraticRisk, check_basis
from hdlimits.core import noise as noise_mod

__all__ = ["Problem", "power_law_profile"]


def power_law_profile(d: int, alpha: float, beta: float, size: float):
    """``(λ, p)``: eigenvalues ``λ_j ∝ j^(−alpha)`` with ``Σλ = d`` and squared projections ``p_j ∝ j^(−beta)``
    with ``Σ λ_j p_j = size`` (docs/conventions.md §6) — the profile of every power-law factory."""
    j = np.arange(1, d + 1, dtype=np.float64)
    lam = j ** (-alpha)
    lam *= d / lam.sum()
    proj2 = j ** (-beta)
    proj2 *= size / np.dot(lam, proj2)
    return lam, proj2


@dataclass(frozen=True, eq=False)
class Problem(QuadraticRisk):
    """Data ``x ~ N(0, K)``, labels ``y = ⟨x, θ*⟩ + ε``; risk ``R = ½(eᵀKe + E ε²)``.

    Attributes
    ----------
    eigenvalues : (d,) array, λ ≥ 0 (any order).
    initial_error : (d,) array, ``e_0`` in the coordinate basis.
    noise : NoiseLaw.
    basis : (d, d) orthogonal array whose columns are the eigenvectors, or None for ``U = I``.
    label : a short description used in reports.
    seed : the seed entropy a random factory drew ``e_0`` (and the basis) from, else None.
    """

    eigenvalues: np.ndarray
    initial_error: np.ndarray
    noise: noise_mod.NoiseLaw
    basis: np.ndarray | None = None
    label: str = field(default="problem")
    #: the entropy of the seed a random factory used (``isotropic``, ``power_law``), else None
    seed: object = None

    def __post_init__(self):
        with np.errstate(over="ignore", invalid="ignore"):
            p0 = float(self.excess_of(np.asarray(self.initial_error, dtype=np.float64)))
        if not np.isfinite(p0):
            raise ValueError(f"initial_error is too large: e_0ᵀKe_0 = {p0!r} is not a finite float "
                             "(range: eᵀKe must be below about 1e308)")

    # -------------------------------------------------------------------- factories
    @classmethod
    def from_spectrum(cls, eigenvalues, initial_error=None, noise=None, basis=None, label=None, *,
                      teacher=None, initial=None, model=None):
        """``K = basis·diag(eigenvalues)·basisᵀ`` (``basis=None``: K diagonal).

        Least squares: ``initial_error`` is ``e_0 = θ_0 − θ*``. GLM and multi-index models (docs/glm.md):
        give ``teacher`` ((d,) or (d, m*)), ``initial`` (the student's start, (d,) or (d, m), default 0)
        and ``model`` (``hd.models.relu()``, ``logistic()``, …; default least squares) instead; the result
        is then a :class:`~hdlimits.models.glm.problem.GLMProblem`.
        """
        if teacher is not None or initial is not None or model is not None:
            if initial_error is not None:
                raise ValueError("give either initial_error (least squares, e_0 = θ_0 − θ*) or teacher= "
                                 "and initial= (GLM and multi-index models), not both")
            if teacher is None:
                raise ValueError("teacher is required with initial= or model=: the teacher weights, an "
                                 "array of shape (d,) or (d, m*)")
            from hdlimits.models.glm.problem import GLMProblem
            return GLMProblem.from_spectrum(eigenvalues, teacher, initial, model, noise, basis, label)
        if initial_error is None:
            raise ValueError("initial_error is required: e_0 = θ_0 − θ*, an array of shape (d,) "
                             "(or give teacher= and initial= for a GLM problem)")
        lam = v.vector("eigenvalues", eigenvalues, nonnegative=True)
        d = lam.size
        e0 = v.vector("initial_error", initial_error, size=d)
        if noise is None:
            noise = noise_mod.none()
        if not isinstance(noise, noise_mod.NoiseLaw):
            raise ValueError(f"noise must be a NoiseLaw from hdlimits.core.noise, got {type(noise).__name__}")
        if basis is not None:
            basis = check_basis(basis, d)
        return cls(lam, e0, noise, basis, label or f"spectrum(d={d})")

    @classmethod
    def from_covariance(cls, K, initial_error, noise=None, label=None):
        """From a symmetric PSD covariance matrix (diagonalised with ``numpy.linalg.eigh``)."""
        M, lam, U = v.symmetric_psd("K", K)
        d = lam.size
        if np.count_nonzero(M - np.diag(np.diagonal(M))) == 0:
            return cls.from_spectrum(np.diagonal(M), initial_error, noise, None, label or f"diag K(d={d})")
        return cls.from_spectrum(lam, initial_error, noise, U, label or f"covariance(d={d})")

    @classmethod
    def from_samples(cls, X, initial_error, noise=None, label=None):
        """From data samples (rows of X): K = XᵀX / n (uncentred second moment).

        Warns (``UserWarning``) when K is rank-deficient, e.g. with fewer samples n than features d:
        the directions X does not span then have λ = 0 and are never learned.
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] < 1:
            raise ValueError(f"X must be a 2-D array of samples × features, got shape {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError("X must contain only finite values")
        n, d = X.shape
        rank = int(np.linalg.matrix_rank(X))
        if rank < d:
            hint = " (use n ≥ d samples)" if n < d else ""
            warnings.warn(f"from_samples: K = XᵀX/n from n = {n} samples in d = {d} dimensions has rank "
                          f"{rank} < d; {d - rank} eigenvalues are 0{hint}", UserWarning, stacklevel=2)
        return cls.from_covariance(X.T @ X / X.shape[0], initial_error, noise,
                                   label or f"samples(n={X.shape[0]}, d={X.shape[1]})")

    @classmethod
    def from_dataset(cls, X, y, initial=None, noise=None, label=None):
        """SGD streaming the rows of a real dataset (docs/datasets.md, docs/conventions.md §10): rows ``X``
        (n × d), labels ``y`` (n); K = XᵀX/n, θ* the least-squares fit, θ_0 = ``initial`` (default 0),
        ``noise`` optional fresh label noise per draw. Returns a
        :class:`~hdlimits.models.dataset.problem.DatasetProblem`."""
        from hdlimits.models.dataset.problem import DatasetProblem
        return DatasetProblem.from_dataset(X, y, initial=initial, noise=noise, label=label)

    @classmethod
    def isotropic(cls, d, noise=None, initial_size=1.0, seed=0, label=None):
        """K = I; ``e_0`` a uniformly random direction with ``‖e_0‖² = initial_size``.

        ``seed``: None (fresh entropy, kept in ``.seed``), an int ≥ 0 or a ``SeedSequence``.
        """
        d = v.integer("d", d, low=1)
        v.memory("d", d, 8 * d, "an isotropic problem")
        size = v.nonnegative("initial_size", initial_size)
        seq = v.seed("seed", seed)
        z = np.random.default_rng(seq).standard_normal(d)
        e0 = z * np.sqrt(size / np.dot(z, z))
        prob = cls.from_spectrum(np.ones(d), e0, noise, None, label or f"isotropic(d={d})")
        return dataclasses.replace(prob, seed=seq.entropy)

    @classmethod
    def power_law(cls, d, alpha, beta, noise=None, initial_size=1.0, seed=0, rotate=False,
                  label=None, *, model=None, initial=None, spectrum=None, rtol=1e-9, merge_rtol=None):
        """Power-law spectrum and initial error (docs/conventions.md §6).

        λ_j ∝ j^(−alpha), normalised so that tr K = d; ⟨u_j, e_0⟩² ∝ j^(−beta) with random signs
        (from ``seed``), normalised so that ‖K^{1/2} e_0‖² = initial_size. ``rotate=True`` puts the
        eigenvectors in a Haar-random basis (from ``seed``), giving a dense K. ``seed``: None (fresh
        entropy, kept in ``.seed``), an int ≥ 0 or a ``SeedSequence``.

        With ``model=`` (and optionally ``initial=``, the student's start) the result is a GLM problem
        whose teacher has these projections (``x*ᵀKx* = initial_size``) and whose student starts at 0
        (:meth:`hdlimits.models.glm.problem.GLMProblem.power_law`).

        ``spectrum="continuous"`` (the default above d = 10⁷) returns a lazy
        :class:`~hdlimits.models.least_squares.spectral_problem.SpectralProblem` on quadrature nodes
        accurate to ``rtol`` (no d-length array; limits of SGD and PreconditionedSGD only, no simulation);
        ``spectrum="explicit"`` forces the d-length problem. ``merge_rtol=`` returns the explicit problem
        whose limit merges close eigenvalues with a relative risk error ≤ ``merge_rtol``
        (docs/spectra.md).
        """
        if spectrum not in (None, "explicit", "continuous"):
            raise ValueError(f"spectrum must be None, 'explicit' or 'continuous', got {spectrum!r}")
        if model is None and initial is None:
            from hdlimits.models.least_squares import spectral_problem as sp
            big = v.integer("d", d, low=1) > sp.CONTINUOUS_ABOVE
            if spectrum == "continuous" or (spectrum is None and big and not rotate):
                if rotate or merge_rtol is not None:
                    raise ValueError("spectrum='continuous' takes neither rotate=True nor merge_rtol=")
                return sp.SpectralProblem.power_law(d, alpha, beta, noise, initial_size, rtol, label)
            if merge_rtol is not None:
                prob = cls.power_law(d, alpha, beta, noise, initial_size, seed, rotate, label,
                                     spectrum="explicit")
                return sp.merged(prob, merge_rtol)
        if model is not None or initial is not None:
            from hdlimits.models.glm.problem import GLMProblem
            return GLMProblem.power_law(d, alpha, beta, model=model, noise=noise, initial_size=initial_size,
                                        initial=initial, seed=seed, rotate=rotate, label=label)
        d = v.integer("d", d, low=1)
        alpha = v.real("alpha", alpha, low=0.0)
        beta = v.real("beta", beta)
        size = v.nonnegative("initial_size", initial_size)
        v.memory("d", d, 3 * d * d if rotate else 10 * d,
                 "a rotated (dense) problem" if rotate else "a power-law problem")
        lam, proj2 = power_law_profile(d, alpha, beta, size)
        seq = v.seed("seed", seed)
        rng = np.random.default_rng(seq)
        coords = np.sqrt(proj2) * rng.choice([-1.0, 1.0], size=d)
        basis = None
        if rotate:
            q, r = np.linalg.qr(rng.standard_normal((d, d)))
            basis = q * np.sign(np.diagonal(r))
            e0 = basis @ coords
        else:
            e0 = coords
        prob = cls.from_spectrum(lam, e0, noise, basis,
                                 label or f"power_law(d={d}, alpha={alpha:g}, beta={beta:g})")
        return dataclasses.replace(prob, seed=seq.entropy)

    @classmethod
    def plrf(cls, v, d, alpha, beta, batch=1, method="auto", seed=0, smoothing=1e-2, rtol=1e-8, label=None):
        """Power-law random features (arXiv 2405.15074) reduced exactly to Gaussian least squares with
        covariance ``K = WᵀDW`` (rescaled to tr K = d) and noise ``N(0, 𝒫*)`` (docs/scaling.md §1–§3).
        ``method``: ``"explicit"`` (one draw of W from ``seed``; a Problem), ``"deterministic"`` (the
        Silverstein deterministic equivalent, no d×d matrix; a SpectralProblem), ``"auto"``. The paper's
        setting and conversions are ``problem.plrf`` (``.sgd(γ_paper)`` builds ``hd.SGD`` with
        ``γ = γ_paper·B·tr K`` and this batch; ``.time(steps)``; ``.paper_loss(risk) = 2·risk``)."""
        from hdlimits.models.least_squares.plrf import plrf_problem
        return plrf_problem(v, d, alpha, beta, batch, method, seed, smoothing, rtol, label)

    # -------------------------------------------------------------------- derived quantities
    # d, is_diagonal, trace, noise_second_moment, covariance, covariance_sqrt, diagonal and
    # eigen_coordinates come from EigenCovariance; excess_of and initial_excess_risk from QuadraticRisk

    def describe(self) -> dict:
        lam = self.eigenvalues
        return {"label": self.label, "d": self.d, "trace_K": self.trace,
                "lambda_max": float(lam.max()), "lambda_min": float(lam.min()),
                "diagonal": self.is_diagonal, "noise": self.noise.spec(),
                "initial_excess_risk": self.initial_excess_risk, "seed": self.seed}

    def __repr__(self):
        return f"Problem({self.label}, noise={self.noise.spec()})"
