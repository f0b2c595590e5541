"""Steepest descent under a norm: dual norms, steepest-descent steps and orthogonalisation (docs/norms.md).

Bernstein & Newhouse, *Old optimizer, new norm: an anthology*, arXiv 2409.20325. For a gradient ``g``, a
norm ``‖·‖`` and a sharpness ``λ > 0`` the step

    Δ = argmin_Δ [ ⟨g, Δ⟩ + (λ/2)‖Δ‖² ] = −(‖g‖_†/λ) · argmax_{‖t‖ = 1} ⟨g, t⟩

attains the value ``−‖g‖_†²/(2λ)``, ``‖g‖_† = max_{‖t‖≤1}⟨g, t⟩`` the dual norm (docs/norms.md §1). The
norms implemented (``norm=``):

========== =============================== ============================== ================================
name       norm of ``Δ``                   dual norm of ``g``              unit maximiser ``t``
========== =============================== ============================== ================================
``linf``   ``max_ij |Δ_ij|``               ``Σ_ij |g_ij|`` (ℓ1)            ``sign(g)``
``l2``     ``‖Δ‖_F`` (Euclidean)           ``‖g‖_F``                       ``g/‖g‖_F``
``spectral`` ``‖Δ‖_op = σ_max``            ``‖G‖_* = Σσ`` (nuclear)        ``UVᵀ`` (``G = UΣVᵀ`` reduced)
``rms-rms`` ``√(d_in/d_out)‖Δ‖_op``        ``√(d_out/d_in)‖G‖_*``          ``√(d_out/d_in) UVᵀ``
========== =============================== ============================== ================================

A matrix ``G`` is ``d_out × d_in`` (a layer ``y = W x``). ``linf`` and ``l2`` take any array (the flattened
vector). A list/tuple of numpy arrays is a network of layers under the **max over layers** norm
``‖(Δ_1..Δ_L)‖ = max_l ‖Δ_l‖_l``: its dual is ``Σ_l ‖G_l‖_{l,†}`` and every layer moves along its own unit
maximiser, all scaled by the same ``Σ_l ‖G_l‖_{l,†}/λ`` (so ℓ∞ over all layers gives ``‖g‖_1`` summed
over the layers). Special cases the paper names: sign descent (ℓ∞) = Adam with β1 = β2 = 0 and no ε;
Shampoo without accumulation ``(GGᵀ)^{-1/4} G (GᵀG)^{-1/4} = UVᵀ`` (:func:`shampoo_direction`).

:func:`orthogonalize` computes ``UVᵀ`` by SVD or by the cubic Newton–Schulz iteration
``X ← 1.5X − 0.5XXᵀX`` from ``X_0 = G/‖G‖_F`` (every singular value ``s ∈ (0, 1]`` goes to 1 through
``s ← s(3 − s²)/2``, zero ones stay 0). Muon's tuned quintic iteration is not implemented: its coefficients
are a hand-tuned choice of that project that does not converge to ``UVᵀ`` exactly (docs/norms.md §3).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from hdlimits.core import validation as v

__all__ = ["NORMS", "SteepestStep", "norm_value", "dual_norm", "unit_maximiser", "steepest_descent",
           "orthogonalize", "newton_schulz", "shampoo_direction", "sign_descent"]

NORMS = ("linf", "l2", "spectral", "rms-rms")
_MATRIX_NORMS = ("spectral", "rms-rms")
_METHODS = ("svd", "newton-schulz")


class SteepestStep(NamedTuple):
    """The minimiser ``step`` (same shape as the gradient, or a list for layers) and the minimum
    ``value = ⟨g, step⟩ + (λ/2)‖step‖² = −‖g‖_†²/(2λ)``."""
    step: object
    value: float


# ------------------------------------------------------------------------------ checks
def _check_norm(name):
    if not isinstance(name, str) or name not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(repr(n) for n in NORMS)}, got {name!r}")
    return name


def _array(G, name="G", norm_name=None):
    if isinstance(G, (str, bytes)):
        raise ValueError(f"{name} must be a real array, got text {G!r}")
    try:
        a = np.array(G, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real array, got {type(G).__name__}") from None
    if a.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must contain only finite values")
    if norm_name in _MATRIX_NORMS and a.ndim != 2:
        raise ValueError(f"{name} must be a matrix (2-D array, d_out × d_in) for the {norm_name!r} norm, "
                         f"got an array of shape {a.shape}")
    return a


def _check_sharpness(sharpness):
    return v.real("sharpness", sharpness, low=0.0, low_open=True)


def _is_layers(G) -> bool:
    """A list or tuple of numpy arrays is a network of layers; anything else is one array."""
    return isinstance(G, (list, tuple)) and len(G) > 0 and all(isinstance(g, np.ndarray) for g in G)


def _layer_norms(norm_name, L):
    if isinstance(norm_name, (list, tuple)):
        if len(norm_name) != L:
            raise ValueError(f"norm must be one name or a list of {L} names (one per layer), got "
                             f"{len(norm_name)} names")
        return [_check_norm(n) for n in norm_name]
    return [_check_norm(norm_name)] * L


# ------------------------------------------------------------------------------ SVD pieces
def _svd_polar(G, rtol=None):
    """``(U, s, Vᵀ)`` of the reduced SVD with singular values below ``rtol·σ_max`` dropped (the range)."""
    U, s, Vt = np.linalg.svd(G, full_matrices=False)
    if s.size == 0 or s[0] == 0.0:
        return U[:, :0], s[:0], Vt[:0]
    tol = (max(G.shape) * np.finfo(np.float64).eps) if rtol is None else rtol
    keep = s > tol * s[0]
    return U[:, keep], s[keep], Vt[keep]


def _uvt(G):
    U, _, Vt = _svd_polar(G)
    return U @ Vt


def _rms_factor(G) -> float:
    d_out, d_in = G.shape
    return float(np.sqrt(d_out / d_in))


# ------------------------------------------------------------------------------ norms
def norm_value(X, norm: str = "l2") -> float:
    """The norm ``‖X‖`` named ``norm`` (table in the module docstring); a list of arrays is a network
    under the max-over-layers norm ``max_l ‖X_l‖``."""
    if _is_layers(X):
        names = _layer_norms(norm, len(X))
        return max(norm_value(x, n) for x, n in zip(X, names))
    name = _check_norm(norm)
    a = _array(X, "X", name)
    if name == "linf":
        return float(np.max(np.abs(a)))
    if name == "l2":
        return float(np.linalg.norm(a.ravel()))
    op = float(np.linalg.norm(a, 2))
    return op if name == "spectral" else op / _rms_factor(a)


def dual_norm(G, norm: str = "l2") -> float:
    """The dual norm ``‖G‖_† = max_{‖T‖ ≤ 1} ⟨G, T⟩`` (ℓ1 for ℓ∞, Frobenius for ℓ2, nuclear for the
    spectral norm, ``√(d_out/d_in)·nuclear`` for RMS→RMS); a list of arrays: ``Σ_l ‖G_l‖_{l,†}``."""
    if _is_layers(G):
        names = _layer_norms(norm, len(G))
        return float(sum(dual_norm(g, n) for g, n in zip(G, names)))
    name = _check_norm(norm)
    a = _array(G, "G", name)
    if name == "linf":
        return float(np.abs(a).sum())
    if name == "l2":
        return float(np.linalg.norm(a.ravel()))
    nuc = float(np.linalg.svd(a, compute_uv=False).sum())
    return nuc if name == "spectral" else _rms_factor(a) * nuc


def unit_maximiser(G, norm: str = "l2"):
    """A ``T`` with ``‖T‖ = 1`` and ``⟨G, T⟩ = ‖G‖_†`` (zero when ``G = 0``): ``sign(G)``, ``G/‖G‖_F``,
    ``UVᵀ`` or ``√(d_out/d_in)UVᵀ``. For the spectral norm of a rank-deficient ``G`` the range part
    ``UVᵀ`` is the one chosen (the maximiser is not unique there)."""
    name = _check_norm(norm)
    a = _array(G, "G", name)
    if name == "linf":
        return np.sign(a)
    if name == "l2":
        nrm = np.linalg.norm(a.ravel())
        return a / nrm if nrm > 0 else np.zeros_like(a)
    T = _uvt(a)
    return T if name == "spectral" else _rms_factor(a) * T


def steepest_descent(G, norm: str = "spectral", sharpness: float = 1.0) -> SteepestStep:
    """Steepest descent under ``norm`` (Bernstein & Newhouse, arXiv 2409.20325; docs/norms.md §1):

        step = argmin_Δ ⟨G, Δ⟩ + (λ/2)‖Δ‖² = −(‖G‖_†/λ)·T,   value = −‖G‖_†²/(2λ),

    ``T`` the unit maximiser (:func:`unit_maximiser`), ``λ = sharpness``. ``G`` is an array, or a list of
    arrays (layers) under the max-over-layers norm with ``norm`` one name or one per layer; then every
    layer steps along its own ``T_l`` scaled by ``Σ_l ‖G_l‖_{l,†}/λ``.

    Raises ValueError naming ``norm`` (unknown name), ``G`` (not finite, or not a matrix for 'spectral'
    and 'rms-rms') or ``sharpness`` (not > 0).
    """
    lam = _check_sharpness(sharpness)
    if _is_layers(G):
        names = _layer_norms(norm, len(G))
        arrays = [_array(g, f"G[{i}]", n) for i, (g, n) in enumerate(zip(G, names))]
        dual = float(sum(dual_norm(a, n) for a, n in zip(arrays, names)))
        steps = [-(dual / lam) * unit_maximiser(a, n) for a, n in zip(arrays, names)]
        return SteepestStep(steps, -dual * dual / (2.0 * lam))
    name = _check_norm(norm)
    a = _array(G, "G", name)
    dual = dual_norm(a, name)
    return SteepestStep(-(dual / lam) * unit_maximiser(a, name), -dual * dual / (2.0 * lam))


def sign_descent(g, lr: float = 1.0):
    """Sign descent ``−lr·sign(g)``: steepest descent under ℓ∞ without the ``‖g‖_1`` scale, and the update
    of Adam with ``β1 = β2 = 0``, ``ε = 0`` (``m = g``, ``v = g²``, ``m/√v = sign(g)`` where ``g ≠ 0``)."""
    a = _array(g, "g")
    lr = v.positive("lr", lr)
    return -lr * np.sign(a)


# ------------------------------------------------------------------------------ orthogonalisation
def newton_schulz(G, steps: int = 60, tol: float | None = None):
    """``(X, iterations)``: the cubic Newton–Schulz iteration ``X ← 1.5X − 0.5XXᵀX`` from
    ``X_0 = G/‖G‖_F``, run ``steps`` times or until ``‖X_{k+1} − X_k‖_F ≤ tol``. Each singular value
    ``s ∈ (0, 1]`` maps to ``s(3 − s²)/2`` (monotone to 1, quadratic near it); the fixed point is ``UVᵀ``
    on the range of ``G``. Work: 2 products of ``G``'s size per step; the smaller Gram side is used."""
    a = _array(G, "G", "spectral")
    steps = v.integer("steps", steps, low=0)
    if tol is not None:
        tol = v.real("tol", tol, low=0.0, low_open=True)
    nrm = np.linalg.norm(a)
    if nrm == 0.0:
        return np.zeros_like(a), 0
    wide = a.shape[0] < a.shape[1]
    X = (a.T if wide else a) / nrm          # tall: XᵀX is the small Gram matrix
    it = 0
    for it in range(1, steps + 1):
        Xn = 1.5 * X - 0.5 * X @ (X.T @ X)
        done = tol is not None and np.linalg.norm(Xn - X) <= tol
        X = Xn
        if done:
            break
    return (X.T if wide else X), it


def orthogonalize(G, method: str = "svd", steps: int = 60):
    """``UVᵀ`` for ``G = UΣVᵀ`` (reduced SVD; zero singular values dropped, so on the range of ``G``):
    the direction of the spectral steepest-descent step and of Shampoo without accumulation.
    ``method='svd'`` (exact) or ``'newton-schulz'`` (cubic, ``steps`` iterations; docs/norms.md §3)."""
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(repr(m) for m in _METHODS)}, got {method!r}")
    a = _array(G, "G", "spectral")
    if method == "svd":
        return _uvt(a)
    return newton_schulz(a, steps=steps)[0]


def _psd_power(S, p, rtol):
    w, Q = np.linalg.eigh(0.5 * (S + S.T))
    top = max(float(w.max()), 0.0)
    keep = w > rtol * top
    wp = np.zeros_like(w)
    wp[keep] = w[keep] ** p
    return (Q * wp) @ Q.T


def shampoo_direction(G, rtol: float = 1e-12):
    """Shampoo without accumulation, ``L^{-1/4} G R^{-1/4}`` with ``L = GGᵀ``, ``R = GᵀG`` (pseudo-inverse
    roots: eigenvalues below ``rtol·max`` treated as 0), computed from the two eigendecompositions — an
    independent route to ``UVᵀ`` (Bernstein & Newhouse, arXiv 2409.20325; docs/norms.md §2)."""
    a = _array(G, "G", "spectral")
    rtol = v.real("rtol", rtol, low=0.0, low_open=True)
    return _psd_power(a @ a.T, -0.25, rtol) @ a @ _psd_power(a.T @ a, -0.25, rtol)
