"""The linear (constant-NTK) model on a finite dataset (docs/sharpness.md §2).

``z(θ) = z₀ + Jθ`` with a fixed Jacobian J (D × P) and NTK ``Θ = JJᵀ``; minibatch SGD with step
``η`` (the ``lr`` of :class:`hdlimits.SGD` — η itself, not a streaming γ/d) moves the residual as
``z_{t+1} = (I − ηΘP̃_t) z_t`` and the sum loss is ``L = ½‖z‖²``; time is the step count.
Agarwala & Pennington, arXiv 2404.19261.

Only Θ (through its eigen-decomposition ``Θ = U diag(λ) Uᵀ``) and ``z₀`` matter, so the model stores
those: ``eigenvalues`` (ascending), ``eigenvectors`` (U, or None when Θ is diagonal in the data basis —
the localised case) and ``residual0``.
"""
from __future__ import annotations

import numpy as np

from hdlimits.core import validation as v

__all__ = ["LinearModel"]


class LinearModel:
    """A constant-NTK model: build it with :meth:`marchenko_pastur`, :meth:`from_ntk` (eigenvalues and
    a basis, or a full NTK matrix).

    Attributes: ``D``, ``eigenvalues`` (ascending, ≥ 0), ``eigenvectors`` (D × D orthogonal, or None
    for the data basis), ``residual0`` (z₀), ``alpha`` (D/P for the Marchenko–Pastur ensemble, else
    None), ``seed`` (entropy of the seed used for random parts, or None), ``ensemble`` (a short name).
    """

    def __init__(self, eigenvalues, eigenvectors, residual0, *, alpha=None, seed=None, ensemble="ntk"):
        lam = np.array(eigenvalues, dtype=np.float64)
        # rounding-level eigenvalues of a rank-deficient NTK (D > P) are its null space: exactly 0
        lam[lam < 1e-12 * max(lam.max(), 0.0)] = 0.0
        order = np.argsort(lam, kind="stable")
        self.eigenvalues = lam[order]
        self.eigenvalues.setflags(write=False)
        if eigenvectors is None:
            self.eigenvectors = None
            # the data basis, permuted so that the eigenvalues ascend
            self._perm = order
        else:
            U = np.asarray(eigenvectors, dtype=np.float64)[:, order]
            U.setflags(write=False)
            self.eigenvectors = U
            self._perm = None
        self.residual0 = np.asarray(residual0, dtype=np.float64)
        self.residual0.setflags(write=False)
        self.D = int(lam.size)
        self.alpha = alpha
        self.seed = seed
        self.ensemble = ensemble
        self._ntk = None

    # --- constructors -------------------------------------------------------------------------
    @classmethod
    def marchenko_pastur(cls, D, P, seed=None) -> "LinearModel":
        """J_ip ~ N(0, 1/P) i.i.d., ``Θ = JJᵀ`` (spectrum → Marchenko–Pastur with ratio α = D/P, mean 1),
        ``z₀ = −y`` with ``y ~ N(0, I_D)``. ``seed``: None, an int ≥ 0 or a SeedSequence."""
        D = v.integer("D", D, low=2)
        P = v.integer("P", P, low=1)
        ss = v.seed("seed", seed)
        rng = np.random.default_rng(ss)
        J = rng.standard_normal((D, P)) / np.sqrt(P)
        y = rng.standard_normal(D)
        lam, U = np.linalg.eigh(J @ J.T)
        lam = np.clip(lam, 0.0, None)
        return cls(lam, U, -y, alpha=D / P, seed=ss.entropy, ensemble=f"marchenko_pastur(D={D}, P={P})")

    @classmethod
    def from_ntk(cls, eigenvalues, residual0=None, basis="haar", seed=None) -> "LinearModel":
        """A model with NTK ``Θ = U diag(eigenvalues) Uᵀ``.

        ``eigenvalues``: a 1-D array of D ≥ 2 non-negative numbers — or a full D × D symmetric PSD NTK
        matrix (then ``basis`` is ignored). ``basis``: ``"haar"`` (U Haar-random: delocalised
        eigenvectors, the setting of the mode equations), ``None`` (U = I: Θ diagonal in the data basis,
        localised modes) or a D × D orthogonal matrix. ``residual0``: z₀ (length D); None draws
        ``z₀ = −y``, ``y ~ N(0, I_D)``. ``seed`` is used for the random parts only.
        """
        arr = np.asarray(eigenvalues, dtype=np.float64) if not isinstance(eigenvalues, str) else None
        if arr is not None and arr.ndim == 2:
            m, lam, U = v.symmetric_psd("eigenvalues (an NTK matrix)", arr)
            D = m.shape[0]
            if D < 2:
                raise ValueError(f"D (the number of data points) must be an integer ≥ 2, got {D}")
            basis = U
        else:
            lam = v.vector("eigenvalues", eigenvalues, nonnegative=True)
            D = lam.size
            if D < 2:
                raise ValueError(f"D (the number of data points, len(eigenvalues)) must be an integer "
                                 f"≥ 2, got {D}")
        ss = v.seed("seed", seed)
        rng = np.random.default_rng(ss)
        if isinstance(basis, str):
            if basis != "haar":
                raise ValueError(f"basis must be 'haar', None or a D×D orthogonal matrix, got {basis!r}")
            G = rng.standard_normal((D, D))
            Q, R = np.linalg.qr(G)
            U = Q * np.sign(np.diag(R))
            kind = "haar"
        elif basis is None:
            U = None
            kind = "data basis"
        else:
            U = np.asarray(basis, dtype=np.float64)
            if U.shape != (D, D) or not np.all(np.isfinite(U)):
                raise ValueError(f"basis must be a {D}×{D} orthogonal matrix, got shape {U.shape}")
            if np.abs(U.T @ U - np.eye(D)).max() > 1e-8:
                raise ValueError("basis must be orthogonal (UᵀU = I)")
            kind = "given basis"
        if residual0 is None:
            z0 = -rng.standard_normal(D)
        else:
            z0 = v.vector("residual0", residual0)
            if z0.size != D:
                raise ValueError(f"residual0 must have length D = {D} (one residual per data point), "
                                 f"got {z0.size}")
        return cls(lam, U, z0, seed=ss.entropy, ensemble=f"ntk(D={D}, {kind})")

    # --- reading ------------------------------------------------------------------------------
    @property
    def localised(self) -> bool:
        """True when Θ is diagonal in the data basis (eigenvectors None)."""
        return self.eigenvectors is None

    @property
    def lambda_max(self) -> float:
        return float(self.eigenvalues[-1])

    @property
    def trace(self) -> float:
        return float(self.eigenvalues.sum())

    @property
    def ntk(self) -> np.ndarray:
        """Θ as a D × D matrix (data basis)."""
        if self._ntk is None:
            if self.localised:
                th = np.zeros(self.D)
                th[self._perm] = self.eigenvalues
                m = np.diag(th)
            else:
                U = self.eigenvectors
                m = (U * self.eigenvalues) @ U.T
                m = 0.5 * (m + m.T)
            m.setflags(write=False)
            self._ntk = m
        return self._ntk

    def basis_matrix(self) -> np.ndarray:
        """U as a matrix (a permutation matrix in the localised case)."""
        if self.localised:
            U = np.zeros((self.D, self.D))
            U[self._perm, np.arange(self.D)] = 1.0
            return U
        return np.asarray(self.eigenvectors)

    def to_eigenbasis(self, z) -> np.ndarray:
        """``Uᵀz``: coordinates in the eigenbasis (ascending eigenvalues)."""
        z = np.asarray(z, dtype=np.float64)
        if self.localised:
            return z[..., self._perm]
        return z @ self.eigenvectors

    @property
    def label(self) -> str:
        return self.describe()

    def describe(self) -> str:
        return f"LinearModel {self.ensemble}, λ_max={self.lambda_max:.5g}, tr Θ={self.trace:.5g}"

    def __repr__(self) -> str:
        return f"LinearModel(D={self.D}, ensemble={self.ensemble!r})"

    def __str__(self) -> str:
        return self.describe()
