"""Stability edges of SGD on a dataset problem (docs/datasets.md §4).

With a constant γ the data-moment recursion (:mod:`hdlimits.models.dataset.limit`) is
``D ← A(γ) D + forcing`` with the symmetric, entrywise non-negative matrix

    A(γ) = diag(1 − 2x_i + (1 − 1/B) x_i²) + (γ²/(d²B)) C,    x_i = γλ_i/d,   C_ij = E[z_i² z_j²]

(its diagonal is ``(1 − x_i)² + (κ_i − 1)x_i²/B ≥ 0`` with the kurtosis ``κ_i ≥ 1``), and the mean obeys
``ē ← (1 − x)ē``. The limit stays bounded iff the Perron root ``ρ(A(γ)) < 1`` and ``γ < 2d/λ_max``. The
**data edge** is the smallest γ where either fails, computed with the data's ``C``; the **Gaussian
edge** is the same computation with ``C = λλᵀ + 2 diag λ²`` — it equals
``hdlimits.critical_lr(problem.gaussian(), SGD)`` (the exact finite-d edge of Gaussian SGD).

No bisection is needed: ``A(γ) − I = −(2γ/d)Λ + (γ²/d²)H`` with ``H = (1 − 1/B)Λ² + C/B`` (symmetric),
so ``λ_max(A) < 1`` iff ``vᵀ(A − I)v < 0`` for all v, i.e. ``γ < 2d·vᵀΛv/vᵀHv`` for all v:

    γ_edge = min( 2d / λ_max(Λ^{−1/2} H Λ^{−1/2}),  2d/λ_max ),

one symmetric largest-eigenvalue problem (``A`` is PSD, so ``λ_min(A) > −1`` always holds).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hdlimits.core import validation as v

__all__ = ["DatasetCriticalLR", "critical_lr", "perron_root", "fourth_moments", "edge"]


@dataclass(frozen=True)
class DatasetCriticalLR:
    """The stability edges (module docstring): ``data`` (the data-moment edge; ``float()`` of the object),
    ``gaussian`` (the finite-d Gaussian edge on the same K), ``mean`` (``2d/λ_max``, where the mean itself
    diverges), ``infinite_d`` (``2dB/tr K``, the d → ∞ Gaussian value)."""

    data: float
    gaussian: float
    mean: float
    infinite_d: float

    def __float__(self):
        return float(self.data)

    def __str__(self):
        return (f"data-moment edge γ = {self.data:.6g}; Gaussian finite-d edge {self.gaussian:.6g}; mean "
                f"edge 2d/λ_max = {self.mean:.6g}; d → ∞ Gaussian 2dB/tr K = {self.infinite_d:.6g}")


def _active(problem):
    """The modes with λ > 0 (a zero mode never moves and gets no forcing: z_i ≡ 0)."""
    return np.asarray(problem.eigenvalues) > 0


_ROW_BLOCK = 4096
_MOMENTS = ("data", "gaussian")


def _check_moments(moments):
    if moments not in _MOMENTS:
        raise ValueError(f"moments must be one of {list(_MOMENTS)}, got {moments!r}")


def _check_C(C, p):
    C = np.asarray(C, dtype=np.float64)
    if C.shape != (p, p) or not np.all(np.isfinite(C)):
        raise ValueError(f"C must be a finite {p}×{p} matrix (the modes with λ > 0), got shape {C.shape}")
    return C


def fourth_moments(problem, moments="data"):
    """``C_ij = E[z_i² z_j²]`` over the modes with λ > 0 (``"gaussian"``: ``λλᵀ + 2 diag λ²``). The data's
    ``C`` (O(n d²)) is computed once per problem and kept; treat the returned array as read-only."""
    _check_moments(moments)
    lam = np.asarray(problem.eigenvalues)[_active(problem)]
    if moments == "gaussian":
        return np.outer(lam, lam) + np.diag(2.0 * lam * lam)
    cache = problem.__dict__.setdefault("_fourth_moments", {})
    if "data" not in cache:
        p = lam.size                                   # λ is decreasing: the active modes lead
        Z = problem.rows_eigen
        C = np.zeros((p, p))
        for r0 in range(0, problem.n, _ROW_BLOCK):     # (Z∘Z)ᵀ(Z∘Z) by row blocks: no n × d temporary
            Wb = Z[r0:r0 + _ROW_BLOCK, :p] ** 2
            C += Wb.T @ Wb
        cache["data"] = C / problem.n
    return cache["data"].copy()


_fourth = fourth_moments


def perron_root(problem, lr: float, batch: int = 1, moments: str = "data", C=None) -> float:
    """``ρ(A(γ))`` of the module docstring (largest eigenvalue of the symmetric non-negative A), over the
    modes with λ > 0 (``lr`` ≥ 0, ``batch`` ≥ 1; ``C`` defaults to :func:`fourth_moments`)."""
    lr = v.nonnegative("lr", lr)
    batch = v.integer("batch", batch, low=1)
    _check_moments(moments)
    lam = np.asarray(problem.eigenvalues)[_active(problem)]
    d = problem.d
    C = _fourth(problem, moments) if C is None else _check_C(C, lam.size)
    x = lr * lam / d
    A = (lr * lr / (d * d * batch)) * C
    A[np.diag_indices(lam.size)] += 1.0 - 2.0 * x + (1.0 - 1.0 / batch) * x * x
    if lam.size <= 256:
        return float(np.linalg.eigvalsh(A)[-1])
    from scipy.sparse.linalg import eigsh
    return float(eigsh(A, k=1, which="LA", v0=np.ones(lam.size), tol=1e-12)[0][0])


def edge(problem, batch, C, cap):
    """``min(2d/λ_max(Λ^{−1/2}HΛ^{−1/2}), cap)`` (module docstring) for the fourth moments ``C`` (p × p over
    the modes with λ > 0), batch ``batch`` ≥ 1 and ``cap`` > 0."""
    batch = v.integer("batch", batch, low=1)
    cap = v.positive("cap", cap)
    lam = np.asarray(problem.eigenvalues)[_active(problem)]
    C = _check_C(C, lam.size)
    r = 1.0 / np.sqrt(lam)
    M = (C * r[:, None]) * r[None, :] / batch
    M[np.diag_indices(lam.size)] += (1.0 - 1.0 / batch) * lam
    if lam.size <= 256:
        top = float(np.linalg.eigvalsh(M)[-1])
    else:
        from scipy.sparse.linalg import eigsh
        top = float(eigsh(M, k=1, which="LA", v0=np.ones(lam.size), tol=1e-13)[0][0])
    return float(min(2.0 * problem.d / top, cap))


def critical_lr(problem, optimizer, finite_d: bool = True) -> DatasetCriticalLR:
    """The data-moment and Gaussian stability edges of SGD (batch from ``optimizer``) on a dataset
    problem (module docstring). ``finite_d`` is accepted for the signature of
    :func:`hdlimits.critical_lr`; the d → ∞ value is in ``.infinite_d``."""
    from hdlimits.optimizers import SGD
    if type(optimizer) is not SGD:
        raise ValueError("critical_lr on a dataset problem covers hd.SGD(lr, batch), got "
                         f"{type(optimizer).__name__}")
    if not isinstance(finite_d, (bool, np.bool_)):
        raise ValueError(f"finite_d must be True or False, got {finite_d!r}")
    B = int(optimizer.batch)
    lam = np.asarray(problem.eigenvalues)
    d = problem.d
    mean_edge = 2.0 * d / float(lam[0])
    data = edge(problem, B, fourth_moments(problem, "data"), mean_edge)
    gauss = edge(problem, B, fourth_moments(problem, "gaussian"), mean_edge)
    return DatasetCriticalLR(data=data, gaussian=gauss, mean=mean_edge,
                             infinite_d=2.0 * d * B / float(lam.sum()))
