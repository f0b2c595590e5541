"""What every problem with a data covariance ``K = U diag(λ) Uᵀ`` derives from its ``eigenvalues`` and
``basis`` (``None`` for ``U = I``) — shared by the least-squares and GLM problems (docs/conventions.md)."""
from __future__ import annotations

from functools import cached_property

import numpy as np

__all__ = ["EigenCovariance", "QuadraticRisk", "check_basis"]


def check_basis(basis, d: int) -> np.ndarray:
    """``basis`` as a read-only orthogonal d×d float array, else a ValueError naming ``basis``."""
    U = np.array(basis, dtype=np.float64)
    if U.shape != (d, d):
        raise ValueError(f"basis must be {d}×{d} (the dimension d), got shape {U.shape}")
    if not np.all(np.isfinite(U)):
        raise ValueError("basis must contain only finite values")
    err = np.abs(U.T @ U - np.eye(d)).max()
    if err > 1e-8:
        raise ValueError(f"basis must be orthogonal (max |UᵀU − I| = {err:.3g} > 1e-8)")
    U.setflags(write=False)
    return U


class EigenCovariance:
    """Mixin for a problem holding ``eigenvalues`` (d,), ``basis`` ((d, d) or None) and ``noise``."""

    @property
    def d(self) -> int:
        return self.eigenvalues.size

    @property
    def is_diagonal(self) -> bool:
        return self.basis is None

    @property
    def trace(self) -> float:
        return float(self.eigenvalues.sum())

    @property
    def noise_second_moment(self) -> float:
        """E[ε²] (inf for laws without a second moment)."""
        return float(self.noise.second_moment)

    @cached_property
    def covariance(self) -> np.ndarray:
        """K as a dense d×d matrix (built on demand)."""
        if self.basis is None:
            return np.diag(self.eigenvalues)
        return (self.basis * self.eigenvalues) @ self.basis.T

    @cached_property
    def covariance_sqrt(self) -> np.ndarray:
        """The symmetric square root K^{1/2} (dense)."""
        if self.basis is None:
            return np.diag(np.sqrt(self.eigenvalues))
        return (self.basis * np.sqrt(self.eigenvalues)) @ self.basis.T

    @cached_property
    def diagonal(self) -> np.ndarray:
        """diag(K)."""
        if self.basis is None:
            return self.eigenvalues
        return np.einsum("ij,j,ij->i", self.basis, self.eigenvalues, self.basis)

    def eigen_coordinates(self, vec) -> np.ndarray:
        """``Uᵀ·vec`` (a vector, or a matrix whose rows are the coordinates)."""
        vec = np.asarray(vec, dtype=np.float64)
        return vec if self.basis is None else self.basis.T @ vec


class QuadraticRisk(EigenCovariance):
    """Mixin for least-squares problems (Gaussian and dataset): the excess risk is ``½eᵀKe`` of the error
    ``e = θ − θ*`` (docs/conventions.md); needs ``initial_error`` as well."""

    def excess_of(self, e) -> float:
        """eᵀKe for an error vector (or the rows of a 2-D array)."""
        c = self.eigen_coordinates(np.asarray(e).T).T
        return np.einsum("...j,j,...j->...", c, self.eigenvalues, c)

    @property
    def initial_excess_risk(self) -> float:
        """½ e_0ᵀ K e_0."""
        return 0.5 * float(self.excess_of(self.initial_error))
