"""The geometry of signSGD and Adam's limit on least squares: the drift basis of
``M = D^{-1/4} K D^{-1/4}`` (``D = diag K``) and the arcsine-law noise matrix (docs/signsgd.md)."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["arcsine_matrix", "sign_drift_basis"]

_TWO_OVER_PI = 2.0 / math.pi


def arcsine_matrix(C: np.ndarray) -> np.ndarray:
    """K_σ = (2/π)·arcsin(C) entrywise (unit diagonal): E[sign(x) sign(x)ᵀ] for x ~ N(0, K)."""
    return _TWO_OVER_PI * np.arcsin(np.clip(C, -1.0, 1.0))


def sign_drift_basis(problem, noise_matrix: str = "arcsine"):
    """``(κ, D0, w)`` of the signSGD (``"arcsine"``) or β2→1 Adam (``"correlation"``) mode system.

    κ = eig(M), M = D^{-1/4} K D^{-1/4}; ``D0_j = ⟨w_j, D^{1/4} e_0⟩²``; ``w_j = w_jᵀ D^{1/4} N D^{1/4} w_j``
    with N = (2/π)arcsin(C) or C. Diagonal K: κ = √λ, D0 = √λ e_0², w = √λ (no d×d work).
    """
    if problem.is_diagonal:
        lam = problem.eigenvalues
        q = np.sqrt(lam)
        return q.copy(), q * problem.initial_error ** 2, q.copy()
    dg = problem.diagonal
    if np.any(dg <= 0):
        raise ValueError("signSGD/Adam limits need diag(K) > 0 for a dense K (range: (0, inf)); "
                         f"smallest diagonal entry is {dg.min():.3g}")
    K = problem.covariance
    q4 = dg ** 0.25
    M = K / np.outer(q4, q4)
    kappa, W = np.linalg.eigh(0.5 * (M + M.T))
    kappa = np.clip(kappa, 0.0, None)
    A = q4[:, None] * W                                  # columns D^{1/4} w_j
    sd = np.sqrt(dg)
    C = K / np.outer(sd, sd)
    np.fill_diagonal(C, 1.0)        # exactly: arcsin is √-sensitive at 1
    N = arcsine_matrix(C) if noise_matrix == "arcsine" else C
    w = np.einsum("ij,ij->j", A, N @ A)
    D0 = (A.T @ problem.initial_error) ** 2
    return kappa, D0, np.clip(w, 0.0, None)
