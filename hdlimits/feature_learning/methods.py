"""Layer-wise update rules of the stylised alternating descent (docs/feature_learning.md §2).

Zhang et al. (ICML 2025, arXiv 2502.01763), Eq. (5): with the batch loss ``L̂ = ½ Ê‖y − F G x‖²``,

    G_+ = G − η_eff P_G⁻¹ ∇_G L̂(F, G) Q_G⁻¹,      ∇_G L̂ = Fᵀ(F G Σ̂ − Ĉ),   Σ̂ = Ê[xxᵀ], Ĉ = Ê[y xᵀ],
    F_+ = Ĉ G_+ᵀ (G_+ Σ̂ G_+ᵀ)⁻¹                       (η_F = 1, P_F = I, Q_F = Σ̂_z: exact LS refit)

Factors per method (P_G, Q_G):

* ``sgd``: (I, I);
* ``kfac``: (FᵀF, Σ̂ + λI) — P_G = FᵀF is the Kronecker (Gauss–Newton) output factor of the first layer
  of a linear network with identity output covariance; the paper's exact P_G could not be read, this is
  our choice, and it makes the population update ``G_+ = (1 − η)G + η F^†F*G*``;
* ``adam``: (diag(FᵀF), diag(Σ̂)) — the diagonal of the Kronecker factors, our stand-in for Adam's
  entry-wise preconditioner (Adam's second moment of ``g = Fᵀe xᵀ`` is diagonal; its exact placement and
  hyper-parameters in the paper are not known to us);
* ``batchnorm``: (I, diag(Σ̂)) — SGD on ``G' = G D^{1/2}`` of the network ``F G' D^{-1/2} x`` with the
  batch's second moments ``D = diag(Σ̂)`` (data are centred, so no mean is subtracted);
* ``ngd``: damped Gauss–Newton on (F, G) jointly (no refit): ``θ_+ = θ − η (Ĵᵀ Ĵ/n + δI)⁻¹ ∇_θ L̂``.

Step size: ``η_eff = lr / L`` with ``L = λ_max(P_G^{-1/2} FᵀF P_G^{-1/2}) · λ_max(Q_G^{-1/2} Σ̂ Q_G^{-1/2})``,
the curvature of the preconditioned problem in G — so ``lr`` is scale-free, ``lr < 2`` is the stable
range of every method, ``lr = 1`` for ``sgd`` is the classical step ``1/(‖F‖² λ_max(Σ̂))`` and for
``kfac`` (L = 1 without ridge) ``η_eff = lr``. ``ngd`` uses ``η_eff = lr``.

Everything is batched over a leading axis of runs.
"""
from __future__ import annotations

import numpy as np

__all__ = ["METHODS", "g_step", "refit", "ngd_step", "check_method"]

METHODS = ("sgd", "kfac", "adam", "batchnorm", "ngd")


def check_method(method):
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    return method


def _T(A):
    return np.swapaxes(A, -1, -2)


def _lmax(S):
    return np.linalg.eigvalsh(S)[..., -1]


def _diag_scaled(S):
    dg = np.diagonal(S, axis1=-2, axis2=-1)
    s = 1.0 / np.sqrt(dg)
    return S * s[..., :, None] * s[..., None, :], dg


def g_step(method, F, G, S, C, lr, ridge=0.0):
    """One G update (batched): F (R, d_y, k), G (R, k, d), S = Σ̂ (R, d, d), C = Ĉ (R, d_y, d)."""
    FtF = _T(F) @ F
    grad = _T(F) @ (F @ G @ S - C)
    if method == "sgd":
        L = _lmax(FtF) * _lmax(S)
        return G - (lr / L)[:, None, None] * grad
    if method == "kfac":
        d = S.shape[-1]
        Sr = S + ridge * np.eye(d) if ridge > 0 else S
        left = np.linalg.solve(FtF, grad)                     # (FᵀF)⁻¹ ∇
        step = _T(np.linalg.solve(Sr, _T(left)))               # ... (Σ̂ + λI)⁻¹ (Σ̂ symmetric)
        return G - lr * step
    if method == "adam":
        Fs, pf = _diag_scaled(FtF)
        Ss, qs = _diag_scaled(S)
        L = _lmax(Fs) * _lmax(Ss)
        step = grad / pf[..., :, None] / qs[..., None, :]
        return G - (lr / L)[:, None, None] * step
    if method == "batchnorm":
        Ss, qs = _diag_scaled(S)
        L = _lmax(FtF) * _lmax(Ss)
        return G - (lr / L)[:, None, None] * (grad / qs[..., None, :])
    raise ValueError(f"method must be one of {list(METHODS[:-1])} for a G step, got {method!r}")


def refit(G, S, C):
    """Least-squares head on the batch: ``F = Ĉ Gᵀ (G Σ̂ Gᵀ)⁻¹`` (batched)."""
    M = G @ S @ _T(G)
    return _T(np.linalg.solve(M, G @ _T(C)))


def ngd_step(F, G, X, Y, lr, damping=1e-3):
    """Damped Gauss–Newton step on (F, G) jointly for the batch (X (R, n, d), Y (R, n, d_y)).

    With z = Gx, e = FGx − y and row-major vec of F and G, the Gauss–Newton matrix ``Ĵᵀ Ĵ / n`` has the
    blocks ``I_{d_y} ⊗ Σ̂_z`` (F, F), ``FᵀF ⊗ Σ̂_x`` (G, G) and ``F_{am} Ê[z_j x_l]`` ((a, j), (m, l)); it is
    singular along the gauge directions
    ``(F, G) → (F A, A⁻¹ G)``; the damping ``δ = damping · tr(ĴᵀĴ/n)/p`` regularises them.
    """
    R, n, d = X.shape
    d_y, k = F.shape[-2:]
    S = _T(X) @ X / n                                  # Σ̂_x (R, d, d)
    Szx = G @ S                                        # Ê[z xᵀ] (R, k, d)
    Sz = Szx @ _T(G)                                   # Σ̂_z (R, k, k)
    FtF = _T(F) @ F
    Cyx = _T(Y) @ X / n                                # Ê[y xᵀ]
    Ex = F @ Szx - Cyx                                 # Ê[e xᵀ], e = FGx − y
    gF = Ex @ _T(G)                                    # ∇_F L̂ = Ê[e zᵀ]
    gG = _T(F) @ Ex                                    # ∇_G L̂ = Fᵀ Ê[e xᵀ]
    pF, pG = d_y * k, k * d
    H = np.empty((R, pF + pG, pF + pG))
    eye_y = np.eye(d_y)
    H[:, :pF, :pF] = np.einsum("ab,rjl->rajbl", eye_y, Sz).reshape(R, pF, pF)
    H[:, pF:, pF:] = np.einsum("rjm,rln->rjlmn", FtF, S).reshape(R, pG, pG)
    HFG = np.einsum("ram,rjl->rajml", F, Szx).reshape(R, pF, pG)      # F_{a m} Ê[z_j x_l]
    H[:, :pF, pF:] = HFG
    H[:, pF:, :pF] = _T(HFG)
    g = np.concatenate([gF.reshape(R, pF), gG.reshape(R, pG)], axis=-1)
    p = pF + pG
    delta = damping * np.trace(H, axis1=-2, axis2=-1) / p
    H = H + delta[:, None, None] * np.eye(p)
    step = np.linalg.solve(H, g[..., None])[..., 0]
    F_new = F - lr * step[:, :pF].reshape(R, d_y, k)
    G_new = G - lr * step[:, pF:].reshape(R, k, d)
    return F_new, G_new
