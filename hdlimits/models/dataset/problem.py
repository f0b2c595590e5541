"""Dataset problems: streaming SGD on the empirical distribution of a real dataset (docs/datasets.md §1,
docs/conventions.md §10).

A :class:`DatasetProblem` holds the rows ``X`` (n × d) and labels ``y`` (n). The population is the
empirical distribution of the rows: each SGD sample is a row drawn uniformly with replacement. With

    K = XᵀX/n = U diag(λ) Uᵀ (uncentred),   θ* = the least-squares fit of y on X (minimum norm),
    ε_r = y_r − x_rᵀθ* (the residuals, Xᵀε = 0),   e = θ − θ*,

the risk is ``½ mean_r (x_rᵀθ − y_r)² = ½(eᵀKe + mean ε²)`` exactly (the cross term vanishes by the
normal equations), and the excess risk is ``½ eᵀKe``. An optional ``noise`` law adds fresh label noise
``ξ`` to every draw (``y_r + ξ``); the risk then also counts ``E ξ²``.

The limiting equations (:mod:`hdlimits.models.dataset.limit`) need the rows in K's eigenbasis,
``Z = XU`` (n × d, ``z = Uᵀx``), computed once.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from hdlimits.core import noise as noise_mod
from hdlimits.core import validation as v
from hdlimits.core.covariance import QuadraticRisk

__all__ = ["DatasetProblem", "MAX_D", "MAX_N"]

#: the largest dataset the limit and the simulator are built for (docs/datasets.md §7): X, Z = XU and
#: Z∘Z at n = 10⁵, d = 4096 take 3 × 3.3 GB
MAX_D = 4096
MAX_N = 100_000
# eigenvalues below this fraction of the largest count as zero (θ* is the minimum-norm fit)
_RANK_TOL = 1e-12


def _check_size(n, d):
    if d > MAX_D:
        raise ValueError(f"X has d = {d} columns (features); the dataset family handles d ≤ {MAX_D} (the "
                         f"data-moment limit keeps n × d arrays and a d × d eigenbasis): reduce the "
                         f"features, e.g. hd.features.relu({MAX_D}, seed=0)")
    if n > MAX_N:
        raise ValueError(f"X has n = {n} rows; the dataset family handles n ≤ {MAX_N} rows (three n × d "
                         f"float64 arrays must fit in memory): subsample the rows, e.g. "
                         f"X[rng.choice(n, {MAX_N}, replace=False)]")
    v.memory("X", f"an array of {n} × {d}", 4.0 * n * d + 3.0 * d * d, "a dataset problem (X, XU, "
             "(XU)², K and its eigenbasis)")


@dataclass(frozen=True, eq=False)
class DatasetProblem(QuadraticRisk):
    """Rows ``X`` (n × d) with labels ``y``; SGD samples rows uniformly with replacement.

    Attributes
    ----------
    X : (n, d) read-only float64 array of rows.
    y : (n,) read-only labels.
    initial : (d,) the start θ_0 (default zeros).
    noise : NoiseLaw of fresh label noise added at every draw (default none).
    label : a short description used in reports.
    """

    X: np.ndarray
    y: np.ndarray
    initial: np.ndarray
    noise: noise_mod.NoiseLaw
    label: str = field(default="dataset")

    # -------------------------------------------------------------------- factory
    @classmethod
    def from_dataset(cls, X, y, initial=None, noise=None, label=None):
        """The problem of streaming least squares on the rows of ``X`` with labels ``y``.

        ``X``: (n, d) finite reals, n ≥ 2; ``y``: (n,) finite reals; ``initial``: θ_0, (d,) (default 0);
        ``noise``: a NoiseLaw of fresh label noise per draw (default none: the labels as given).
        """
        try:
            Xa = np.array(X, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"X must be a real 2-D array (rows = samples), got {type(X).__name__}") from None
        if Xa.ndim != 2:
            raise ValueError(f"X must be a 2-D array of samples × features, got shape {Xa.shape}")
        n, d = Xa.shape
        if n < 2:
            raise ValueError(f"X must have at least 2 rows (samples), got n = {n}")
        if d < 1:
            raise ValueError("X must have at least 1 column (feature), got d = 0")
        _check_size(n, d)
        bad = ~np.isfinite(Xa)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise ValueError(f"X must contain only finite values; {int(bad.sum())} entries are NaN or inf "
                             f"(first at row {int(r)}, column {int(c)})")
        try:
            ya = np.array(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"y must be a real array of length n = {n}, got {type(y).__name__}") from None
        if ya.ndim == 2 and 1 in ya.shape:
            ya = ya.reshape(-1)
        if ya.ndim != 1 or ya.size != n:
            raise ValueError(f"y must have length n = {n} (one label per row of X), got shape {ya.shape}")
        if not np.all(np.isfinite(ya)):
            raise ValueError(f"y must contain only finite values; {int((~np.isfinite(ya)).sum())} entries "
                             "are NaN or inf")
        th0 = np.zeros(d) if initial is None else v.vector("initial", initial, size=d)
        if noise is None:
            noise = noise_mod.none()
        if not isinstance(noise, noise_mod.NoiseLaw):
            raise ValueError(f"noise must be a NoiseLaw from hdlimits.noise, got {type(noise).__name__}")
        if not np.isfinite(noise.second_moment):
            raise ValueError(f"noise must have a finite second moment for SGD on a dataset, got "
                             f"{noise.spec()} with E[ξ²] = inf")
        for a in (Xa, ya, th0):
            a.setflags(write=False)
        prob = cls(Xa, ya, th0, noise, label or f"dataset(n={n}, d={d})")
        prob._eigh          # diagonalise now, so that a rank warning points at the caller
        return prob

    # -------------------------------------------------------------------- sizes and spectrum
    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def d(self) -> int:
        return self.X.shape[1]

    @property
    def is_diagonal(self) -> bool:
        return False

    @cached_property
    def _eigh(self):
        K = self.X.T @ self.X / self.n
        lam, U = np.linalg.eigh(0.5 * (K + K.T))
        order = np.argsort(lam)[::-1]
        lam, U = np.clip(lam[order], 0.0, None), U[:, order]
        tol = _RANK_TOL * max(float(lam[0]), 1e-300)
        rank = int(np.count_nonzero(lam > tol))
        lam[lam <= tol] = 0.0
        if rank < self.d:
            hint = " (fewer rows than columns)" if self.n < self.d else ""
            warnings.warn(f"from_dataset: K = XᵀX/n (n = {self.n}, d = {self.d}) has rank {rank} < d{hint}; "
                          f"{self.d - rank} eigenvalues are 0, θ* is the minimum-norm fit and those "
                          "directions of θ never move", UserWarning, stacklevel=5)
        lam.setflags(write=False)
        U.setflags(write=False)
        return lam, U

    @property
    def eigenvalues(self) -> np.ndarray:
        """λ in decreasing order."""
        return self._eigh[0]

    @property
    def basis(self) -> np.ndarray:
        """U, the eigenvectors of K as columns (same order as :attr:`eigenvalues`)."""
        return self._eigh[1]

    @property
    def trace(self) -> float:
        return float(self.eigenvalues.sum())

    @cached_property
    def covariance(self) -> np.ndarray:
        return self.X.T @ self.X / self.n

    @cached_property
    def rows_eigen(self) -> np.ndarray:
        """``Z = XU`` (n × d): the rows in K's eigenbasis, ``z = Uᵀx``."""
        Z = np.ascontiguousarray(self.X @ self.basis)
        Z.setflags(write=False)
        return Z

    @cached_property
    def rows_eigen_squared(self) -> np.ndarray:
        """``Z∘Z`` (n × d): ``z_{ri}²``, whose Gram matrix ``(Z∘Z)ᵀ(Z∘Z)/n`` is the fourth-moment kernel
        ``C_ij = E[z_i² z_j²]`` (docs/datasets.md §2)."""
        W = self.rows_eigen * self.rows_eigen
        W.setflags(write=False)
        return W

    @cached_property
    def theta_star(self) -> np.ndarray:
        """The minimum-norm least-squares fit ``θ* = U diag(1/λ) Uᵀ Xᵀy/n`` (λ > 0 only)."""
        lam, U = self._eigh
        b = U.T @ (self.X.T @ self.y) / self.n
        inv = np.divide(1.0, lam, out=np.zeros_like(lam), where=lam > 0)
        th = U @ (inv * b)
        th.setflags(write=False)
        return th

    @cached_property
    def residuals(self) -> np.ndarray:
        """``ε_r = y_r − x_rᵀθ*`` (the part of the labels no linear predictor explains)."""
        r = self.y - self.X @ self.theta_star
        r.setflags(write=False)
        return r

    @property
    def initial_error(self) -> np.ndarray:
        """``e_0 = θ_0 − θ*`` in the coordinate basis."""
        return self.initial - self.theta_star

    @property
    def residual_second_moment(self) -> float:
        """``mean ε_r²`` (twice the empirical risk of θ*)."""
        return float(np.mean(self.residuals ** 2))

    @property
    def noise_second_moment(self) -> float:
        """``E η²`` of the effective label noise ``η = ε + ξ``: ``mean ε² + E ξ²``."""
        return self.residual_second_moment + float(self.noise.second_moment)

    # -------------------------------------------------------------------- risks
    # eigen_coordinates (from EigenCovariance), excess_of and initial_excess_risk come from QuadraticRisk

    def empirical_risk(self, theta) -> float:
        """``½ mean_r (x_rᵀθ − y_r)²`` computed from the rows (plus ``½E ξ²`` with fresh noise)."""
        r = self.X @ np.asarray(theta, dtype=np.float64) - self.y
        return 0.5 * float(np.mean(r * r) + self.noise.second_moment)

    # -------------------------------------------------------------------- Gaussian counterpart
    def gaussian(self):
        """The Gaussian problem with the same K, e_0 and label second moment: ``x ~ N(0, K)``, noise
        ``N(0, E η²)`` (SGD's Gaussian limit sees only ``E η²``; docs/conventions.md §7)."""
        from hdlimits.models.least_squares.problem import Problem
        std = float(np.sqrt(self.noise_second_moment))
        return Problem.from_spectrum(self.eigenvalues, self.initial_error, noise_mod.gaussian(std),
                                     np.asarray(self.basis), label=f"gaussian({self.label})")

    def describe(self) -> dict:
        lam = self.eigenvalues
        return {"label": self.label, "n": self.n, "d": self.d, "trace_K": self.trace,
                "lambda_max": float(lam[0]), "lambda_min": float(lam[-1]),
                "residual_second_moment": self.residual_second_moment, "noise": self.noise.spec(),
                "initial_excess_risk": self.initial_excess_risk, "diagonal": False}

    def __repr__(self):
        return f"DatasetProblem({self.label}, noise={self.noise.spec()})"
