"""Linear representation learning: the task, its data and its metrics (docs/feature_learning.md §1).

The model of Zhang, Moniri, Nagwekar, Rahman, Xue, Hassani, Matni, "On the concurrence of layer-wise
preconditioning methods and provable feature learning" (ICML 2025, arXiv 2502.01763), linear case:

    y = F* G* x + ε,   x = Σ^{1/2} ξ,   ξ Rademacher (±1) or Gaussian,   ε ~ N(0, σ² I_{d_y}),

with a shared representation ``G* ∈ R^{k×d_x}`` (orthonormal rows), a head ``F* ∈ R^{d_y×k}`` and an
anisotropic input covariance ``Σ = U Λ Uᵀ`` (Haar ``U``, eigenvalues log-spaced from 1 down to 1/κ).
A transfer task shares ``G*`` and ``Σ`` and has its own head ``F_test``.

Metrics (all functions of a student ``G ∈ R^{k×d_x}``):

* subspace distance ``‖(I − G*ᵀG*) Q‖_op`` with ``Q`` an orthonormal basis of rowspace(G)ᵀ — the sine
  of the largest principal angle between the two row spaces;
* transfer loss ``½ min_F E‖F_test G* x − F G x‖²`` — the excess population loss of the best head on
  the learnt representation for the transfer task (label noise excluded).
"""
from __future__ import annotations

import numpy as np

from hdlimits.core import validation as v

__all__ = ["LinearRepresentation", "subspace_distance", "refit_head", "DATA"]

DATA = ("rademacher", "gaussian")


def _haar(rng, n):
    Z = rng.standard_normal((n, n))
    Q, R = np.linalg.qr(Z)
    return Q * np.sign(np.diag(R))


def _orthonormal_rows(rng, k, d):
    Q, _ = np.linalg.qr(rng.standard_normal((d, k)))
    return Q.T.copy()


def subspace_distance(G, G_star):
    """``‖(I − G*ᵀG*) Q‖_op`` (sine of the largest principal angle) for ``G`` of shape (..., k, d);
    ``G_star`` has orthonormal rows (k*, d)."""
    G = np.asarray(G, dtype=np.float64)
    Q, _ = np.linalg.qr(np.swapaxes(G, -1, -2))            # (..., d, k) orthonormal columns
    P = Q - G_star.T @ (G_star @ Q)
    s = np.linalg.svd(P, compute_uv=False)
    return np.clip(s[..., 0], 0.0, 1.0)


def refit_head(G, Sigma, A):
    """Population least-squares head ``F = A Σ Gᵀ (G Σ Gᵀ)⁻¹`` for targets ``A x`` (A: (d_y, d_x))."""
    GS = G @ Sigma
    M = GS @ np.swapaxes(G, -1, -2)
    C = A @ np.swapaxes(GS, -1, -2)
    return np.swapaxes(np.linalg.solve(M, np.swapaxes(C, -1, -2)), -1, -2)


class LinearRepresentation:
    """The two-layer linear task ``y = F* G* x + ε`` with anisotropic inputs (docs/feature_learning.md §1).

    Parameters
    ----------
    d_x : input dimension (≥ 1).
    k : representation rank, ``1 ≤ k ≤ d_x``.
    d_y : output dimension (≥ 1).
    condition_number : κ(Σ) ≥ 1; the eigenvalues of Σ are log-spaced from 1 down to 1/κ.
    noise_std : σ ≥ 0 of the label noise (per output).
    data : ``"rademacher"`` (x = Σ^{1/2}ξ, ξ_j = ±1, the paper's choice) or ``"gaussian"``.
    seed : seed of the task's random parts (U, G*, F*, F_test).
    rotate : ``True`` (default) draws a Haar ``U``; ``False`` keeps Σ diagonal (axis-aligned anisotropy,
        where diagonal preconditioners can help).
    head_scale : the heads ``F*``, ``F_test`` have i.i.d. N(0, head_scale²/k) entries (default 1).

    Attributes: ``Sigma`` (d_x×d_x), ``eigvals``, ``eigvecs``, ``G_star`` (k×d_x, orthonormal rows),
    ``F_star`` (d_y×k), ``F_test`` (d_y×k), ``sqrt_Sigma``.
    """

    def __init__(self, d_x, k, d_y, condition_number, noise_std=0.1, data="rademacher", seed=0, *,
                 rotate=True, head_scale=1.0):
        self.d_x = v.integer("d_x", d_x, low=1)
        self.k = v.integer("k", k, low=1)
        if self.k > self.d_x:
            raise ValueError(f"k must be an integer in [1, d_x] = [1, {self.d_x}], got {self.k}")
        self.d_y = v.integer("d_y", d_y, low=1)
        self.condition_number = v.real("condition_number", condition_number, low=1.0)
        self.noise_std = v.nonnegative("noise_std", noise_std)
        if data not in DATA:
            raise ValueError(f"data must be one of {list(DATA)}, got {data!r}")
        self.data = data
        self.rotate = bool(rotate)
        self.head_scale = v.positive("head_scale", head_scale)
        self.seed = seed
        s_U, s_G, s_F, s_T = v.seed("seed", seed).spawn(4)
        d = self.d_x
        expo = np.linspace(0.0, 1.0, d) if d > 1 else np.zeros(1)
        self.eigvals = self.condition_number ** (-expo)
        self.eigvecs = _haar(np.random.default_rng(s_U), d) if self.rotate else np.eye(d)
        U, lam = self.eigvecs, self.eigvals
        self.Sigma = (U * lam) @ U.T
        self.sqrt_Sigma = (U * np.sqrt(lam)) @ U.T
        self.G_star = _orthonormal_rows(np.random.default_rng(s_G), self.k, d)
        sc = self.head_scale / np.sqrt(self.k)
        self.F_star = sc * np.random.default_rng(s_F).standard_normal((self.d_y, self.k))
        self.F_test = sc * np.random.default_rng(s_T).standard_normal((self.d_y, self.k))

    def __repr__(self):
        return (f"LinearRepresentation(d_x={self.d_x}, k={self.k}, d_y={self.d_y}, "
                f"condition_number={self.condition_number:g}, noise_std={self.noise_std:g}, "
                f"data={self.data!r}, seed={self.seed!r})")

    # -- data ---------------------------------------------------------------------------------
    def sample(self, rng, n):
        """``n`` samples ``(X, Y)``: X (n, d_x) rows ``Σ^{1/2}ξ``, Y (n, d_y) = X G*ᵀF*ᵀ + ε."""
        if self.data == "rademacher":
            xi = rng.integers(0, 2, size=(n, self.d_x)).astype(np.float64) * 2.0 - 1.0
        else:
            xi = rng.standard_normal((n, self.d_x))
        X = xi @ self.sqrt_Sigma
        Y = X @ (self.F_star @ self.G_star).T
        if self.noise_std > 0:
            Y += self.noise_std * rng.standard_normal(Y.shape)
        return X, Y

    def initial_G(self, rng, overlap=0.0):
        """``G_0``: random orthonormal rows (overlap 0, the paper's random init), or
        ``overlap·G* + √(1 − overlap²)·R`` with R random orthonormal rows orthogonal-ish to G*."""
        R = _orthonormal_rows(rng, self.k, self.d_x)
        if overlap == 0.0:
            return R
        R = R - (R @ self.G_star.T) @ self.G_star
        R /= np.linalg.norm(R, axis=1, keepdims=True)
        return overlap * self.G_star + np.sqrt(1.0 - overlap ** 2) * R

    # -- metrics ------------------------------------------------------------------------------
    def subspace_distance(self, G):
        return subspace_distance(G, self.G_star)

    def population_head(self, G):
        """The population least-squares head of the training task on ``G``: ``F* G* Σ Gᵀ (GΣGᵀ)⁻¹``."""
        return refit_head(G, self.Sigma, self.F_star @ self.G_star)

    def transfer_loss(self, G):
        """``½ min_F E‖F_test G* x − F G x‖²`` (excess; label noise excluded)."""
        A = self.F_test @ self.G_star
        F = refit_head(G, self.Sigma, A)
        E = A - F @ G
        return 0.5 * np.einsum("...ij,jk,...ik->...", E, self.Sigma, E)

    def population_loss(self, F, G):
        """``½ E‖y − F G x‖²`` including the noise ``½ d_y σ²``."""
        E = self.F_star @ self.G_star - F @ G
        return 0.5 * np.einsum("...ij,jk,...ik->...", E, self.Sigma, E) + 0.5 * self.d_y * self.noise_std ** 2
