"""The data-moment limit of SGD on a dataset problem (docs/datasets.md §2–§4).

SGD with batch B (mean gradient, docs/conventions.md §3) on rows drawn with replacement, in K's
eigenbasis (``z = Uᵀx``, ``e`` the error there, ``η = ε + ξ`` the residual plus fresh noise)::

    e ← e − (γ/(dB)) Σ_b z_b (z_bᵀe − η_b).

Exact consequences (no approximation): the mean ``ē = E e`` obeys ``ē ← (1 − γλ/d) ē`` (``E[zη] = 0`` by
the normal equations), and the second moment ``M = E eeᵀ`` obeys a closed linear recursion whose
forcing is the data's fourth-moment tensor ``E[z_i z_j z_k z_l]``. The **data-moment limit** keeps only
the diagonal ``D_i = M_ii`` and closes with ``M ≈ ēēᵀ + diag(D − ē²)`` — the mean's outer product is kept
exactly, the off-diagonal *covariances* ``Cov(e_i, e_j)``, i ≠ j, are dropped::

    D_i ← a_i D_i + (γ²/(d²B)) [ Σ_j C_ij (D_j − ē_j²) + E[z_i² (zᵀē − ε)²] + λ_i E ξ² ],
    a_i = 1 − 2γλ_i/d + (1 − 1/B) γ²λ_i²/d²,   C_ij = E[z_i² z_j²].

``E[z_i²(zᵀē − ε)²]`` contains the noise term ``E[z_i² ε²]`` and the cross term ``−2Σ_j ē_j E[z_i² z_j ε]``
of the issue, and the mean's own fourth moments. ``closure="diagonal"`` is the cruder closure that also
drops the mean's off-diagonal part (``M ≈ diag(D)``). For Gaussian data both reduce to the exact Gaussian
recursion. ``method="exact"`` evolves the full ``M`` (no closure; O(n d²) per step, small d only) — the
reference that measures the closure's error without Monte Carlo noise.

Solvers (docs/datasets.md §3): ``method="recursion"`` — the recursion itself, step by step (it *is* the
expected per-step dynamics, so there is no integrator error), O(n d) per step through one pass over the
rows (:func:`row_forcing`; neither ``Z∘Z`` nor ``C`` is formed); ``method="propagator"`` — for a constant
lr, the same recursion with its linear part propagated exactly in the eigenbasis of the step matrix
(:mod:`hdlimits.models.dataset.propagator`); ``"auto"`` chooses by cost. Time ``t = k/d``
(docs/conventions.md §3).
"""
from __future__ import annotations

import numba as nb
import numpy as np

from hdlimits.core.results import RiskCurve
from hdlimits.core.schedules import lr_values
from hdlimits.core.status import Status, check_growth
from hdlimits.solvers.solve import check_times, divergence_threshold

__all__ = ["DataMomentSystem", "predict_dataset", "MOMENTS", "CLOSURES"]

MOMENTS = ("data", "gaussian")
CLOSURES = ("mean", "diagonal")
_METHODS = ("auto", "propagator", "recursion", "exact")
# the exact second-moment recursion costs ~4 n d² flops per step; refuse beyond this many flops in all
_EXACT_WORK = 2e12
_CHUNK = 4096
# steps are int64 and t = k/d must be exact in float64: at most 2⁵³ steps
_MAX_STEPS = 2.0 ** 53


class DataMomentSystem:
    """The (problem, optimizer) pair the registered limit hands to :func:`predict_dataset` (a dense d × d
    fourth-moment kernel, so not a :class:`~hdlimits.solvers.modes.ModeSystem`)."""

    def __init__(self, problem, optimizer, t_max=None):
        self.problem, self.optimizer, self.t_max = problem, optimizer, t_max
        self.d = problem.d


def _check_optimizer(optimizer):
    from hdlimits.optimizers import SGD
    from hdlimits.core.errors import LimitNotAvailable
    if type(optimizer) is not SGD:
        raise LimitNotAvailable(f"the data-moment limit covers hd.SGD(lr, batch) on a dataset problem, got "
                                f"{type(optimizer).__name__}")


def _propagator_pays(problem, steps_out):
    """Cost model of ``method="auto"`` in units of one pass over the rows (n·p flops): the recursion
    takes one per step; the propagator ``p`` (C), ``≈ 10 p²/n`` (the eigendecomposition) and about
    ``4·(outputs + 40)`` forcing evaluations."""
    p = int(np.count_nonzero(np.asarray(problem.eigenvalues) > 0))
    steps = int(steps_out[-1])
    return steps > p + 10.0 * p * p / problem.n + 4.0 * (steps_out.size + 40)


def _record_grid(t, d):
    steps = np.round(t * d).astype(np.int64)
    return steps, steps / d


@nb.njit(cache=True, nogil=True, fastmath=True)
def row_forcing(Z, ebar, w, eps, mean_kept):
    """``Σ_r z_r∘z_r · u_r`` with ``u_r = ε_r² − 2s_rε_r + m s_r² + Σ_j z_rj² w_j``, ``s_r = z_rᵀē``
    (``m = 1`` for the mean-kept closure, 0 for the diagonal one): the data part of the forcing in one
    pass over the rows ``Z`` (n × d, C-contiguous), without ``Z∘Z`` or ``C``, on the leading
    ``p = len(ebar)`` columns (the modes with λ > 0 lead)."""
    n = Z.shape[0]
    p = ebar.size
    out = np.zeros(p)
    m = 1.0 if mean_kept else 0.0
    for r in range(n):
        s = 0.0
        q = 0.0
        for j in range(p):
            z = Z[r, j]
            s += z * ebar[j]
            q += z * z * w[j]
        e = eps[r]
        u = e * e - 2.0 * s * e + m * s * s + q
        for j in range(p):
            z = Z[r, j]
            out[j] += z * z * u
    return out


class _Forcing:
    """``F_i`` of one step (module docstring) for the chosen fourth moments and closure."""

    def __init__(self, problem, moments, closure):
        self.lam = np.asarray(problem.eigenvalues)
        self.n = problem.n
        self.xi2 = float(problem.noise.second_moment)
        self.m2 = problem.noise_second_moment
        self.moments, self.closure = moments, closure
        if moments == "data":
            self.Z = np.ascontiguousarray(problem.rows_eigen)
            self.eps = np.ascontiguousarray(problem.residuals, dtype=np.float64)

    def __call__(self, D, ebar):
        lam = self.lam
        if self.moments == "gaussian":          # E[z_i² z_j²] = λ_iλ_j + 2δ_ij λ_i², E[z_i² η²] = λ_i E η²
            return lam * (np.dot(lam, D) + self.m2) + 2.0 * lam * lam * D
        mean = self.closure == "mean"
        w = D - ebar * ebar if mean else D
        return row_forcing(self.Z, ebar, w, self.eps, mean) / self.n + self.xi2 * lam


def _recursion(problem, optimizer, steps_out, moments, closure, store_modes):
    d = problem.d
    lam = np.asarray(problem.eigenvalues)
    B = int(optimizer.batch)
    force = _Forcing(problem, moments, closure)
    ebar = problem.eigen_coordinates(problem.initial_error)
    D = ebar * ebar
    P0 = float(np.dot(lam, D))
    thr = divergence_threshold(P0, force.m2)
    T = steps_out.size
    P_out = np.full(T, np.inf)
    modes = np.full((T, d), np.inf) if store_modes else None
    k, io, last = 0, 0, int(steps_out[-1])
    k_div = -1
    while True:
        while io < T and steps_out[io] == k:
            P_out[io] = np.dot(lam, D)
            if modes is not None:
                modes[io] = D
            io += 1
        if k >= last:
            break
        n = int(min(_CHUNK, last - k))
        lrs = lr_values(optimizer.lr, (k + np.arange(n)) / d)
        for j in range(n):
            g = float(lrs[j])
            x = g * lam / d
            F = force(D, ebar)
            D = (1.0 - 2.0 * x + (1.0 - 1.0 / B) * x * x) * D + (g * g / (d * d * B)) * F
            ebar = (1.0 - x) * ebar
            k += 1
            while io < T and steps_out[io] == k:
                P_out[io] = np.dot(lam, D)
                if modes is not None:
                    modes[io] = D
                io += 1
            P = float(np.dot(lam, D))
            if not P <= thr:
                k_div = k
                break
        if k_div >= 0:
            break
    return P_out, modes, k_div


def _propagated(problem, optimizer, steps_out, moments, closure, store_modes, rtol):
    """The closed recursion for a constant lr, by exact propagation of its linear part
    (:mod:`hdlimits.models.dataset.propagator`); modes with λ = 0 never move."""
    from hdlimits.models.dataset.diagnostics import fourth_moments
    from hdlimits.models.dataset.propagator import propagate, step_matrix
    d = problem.d
    lam_all = np.asarray(problem.eigenvalues)
    act = lam_all > 0
    lam = lam_all[act]
    B = int(optimizer.batch)
    g = float(lr_values(optimizer.lr, np.zeros(1))[0])
    c = g * g / (d * d * B)
    e0_all = problem.eigen_coordinates(problem.initial_error)
    e0 = e0_all[act]
    xi2 = float(problem.noise.second_moment)
    A = step_matrix(lam, fourth_moments(problem, moments), g, d, B)
    if moments == "gaussian":
        const = c * lam * problem.noise_second_moment

        def forcing(ebar):
            return const
    else:
        Z = problem.rows_eigen                       # λ is decreasing: the active modes lead
        eps = np.ascontiguousarray(problem.residuals, dtype=np.float64)
        mean = closure == "mean"
        cn = c / problem.n
        base = c * xi2 * lam
        zero = np.zeros(lam.size)

        def forcing(ebar):
            w = -(ebar * ebar) if mean else zero
            return cn * row_forcing(Z, np.ascontiguousarray(ebar), w, eps, mean) + base

    rho = 1.0 - g * lam / d
    thr = divergence_threshold(float(np.dot(lam, e0 * e0)), problem.noise_second_moment)
    scale = float(np.dot(lam, e0 * e0)) + problem.noise_second_moment
    P, modes_act, k_div, info = propagate(A, forcing, e0, rho, lam, steps_out, e0 * e0, thr, rtol,
                                          1e-3 * rtol * scale, store_modes)
    modes = None
    if store_modes:
        modes = np.empty((steps_out.size, d))
        modes[:, act] = modes_act
        modes[:, ~act] = (e0_all * e0_all)[~act]
    return P, modes, k_div, info


def _exact(problem, optimizer, steps_out, store_modes):
    """The full second-moment recursion of ``M = E eeᵀ`` in the eigenbasis (no closure)::

        M ← M − (γ/d)(ΛM + MΛ) + (γ²/d²)[(1 − 1/B) ΛMΛ + (1/B)(E[zzᵀ(zᵀMz − 2 zᵀē ε + ε²)] + E ξ² Λ)].
    """
    d, n = problem.d, problem.n
    lam = np.asarray(problem.eigenvalues)
    B = int(optimizer.batch)
    Z = problem.rows_eigen
    eps = np.asarray(problem.residuals)
    xi2 = float(problem.noise.second_moment)
    ebar = problem.eigen_coordinates(problem.initial_error)
    M = np.outer(ebar, ebar)
    thr = divergence_threshold(float(lam @ np.diagonal(M)), problem.noise_second_moment)
    T = steps_out.size
    P_out = np.full(T, np.inf)
    modes = np.full((T, d), np.inf) if store_modes else None
    last = int(steps_out[-1])
    lrs = lr_values(optimizer.lr, np.arange(max(last, 1)) / d)
    k_div, io = -1, 0
    for k in range(last + 1):
        diag = np.diagonal(M)
        while io < T and steps_out[io] == k:
            P_out[io] = float(lam @ diag)
            if modes is not None:
                modes[io] = diag
            io += 1
        if not float(lam @ diag) <= thr:
            k_div = k
            break
        if k == last:
            break
        g = float(lrs[k])
        q = np.einsum("rj,rj->r", Z @ M, Z) - 2.0 * (Z @ ebar) * eps + eps * eps
        Q = (Z * q[:, None]).T @ Z / n + xi2 * np.diag(lam)
        LM = lam[:, None] * M
        M = (M - (g / d) * (LM + LM.T) + (g * g / (d * d)) * ((1.0 - 1.0 / B) * LM * lam[None, :]
                                                               + Q / B))
        M = 0.5 * (M + M.T)
        ebar = (1.0 - g * lam / d) * ebar
    return P_out, modes, k_div


def predict_dataset(problem, optimizer, t, moments: str = "data", closure: str = "mean",
                    method: str = "auto", store_modes: bool | None = None, rtol: float = 1e-8,
                    warn_stacklevel: int = 3) -> RiskCurve:
    """Risk curve of SGD on a dataset problem from the data-moment limit (module docstring).

    ``moments="data"`` (default): the recursion with the data's fourth moments; ``"gaussian"``: the same
    recursion with Gaussian ones (``C = λλᵀ + 2 diag λ²``, ``E[z_i²η²] = λ_i E η²``), which is exactly the
    Gaussian least-squares recursion on :meth:`DatasetProblem.gaussian`. ``closure``: ``"mean"`` or
    ``"diagonal"`` (docs/datasets.md §3). ``method``: ``"propagator"`` (constant lr only: the same
    recursion, its linear part propagated exactly and the forcing interpolated, to relative accuracy
    ``rtol``; O(n d² + d³) once, then O(n d + d²) per forcing evaluation, a few hundred in all),
    ``"recursion"`` (step by step, O(n d) per step), ``"auto"`` (the propagator for a constant lr, else
    the recursion) or ``"exact"`` (the full second moment, no closure, O(n d²) per step). Times are
    rounded to steps ``round(t·d)``.
    """
    from hdlimits.core import validation as v
    _check_optimizer(optimizer)
    if moments not in MOMENTS:
        raise ValueError(f"moments must be one of {list(MOMENTS)}, got {moments!r}")
    if closure not in CLOSURES:
        raise ValueError(f"closure must be one of {list(CLOSURES)}, got {closure!r}")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)} for a dataset problem, got {method!r}")
    from hdlimits.core.schedules import Schedule
    constant = not callable(optimizer.lr) or (isinstance(optimizer.lr, Schedule) and optimizer.lr.is_constant)
    if method == "propagator" and not constant:
        raise ValueError("method='propagator' needs a constant lr (its step matrix is fixed); use "
                         "method='recursion' for a schedule")
    rtol = v.positive("rtol", rtol)
    if store_modes not in (None, True, False):
        raise ValueError(f"store_modes must be None, True or False, got {store_modes!r}")
    if method == "exact" and moments != "data":
        raise ValueError("method='exact' evolves the data's own second moment: use moments='data'")
    t = check_times(t)
    d = problem.d
    if float(t[-1]) * d > _MAX_STEPS:
        raise ValueError(f"t must lie in [0, {_MAX_STEPS / d:g}] here (at most 2^53 steps at d = {d}), got "
                         f"t = {float(t[-1]):g}")
    steps_out, t_rec = _record_grid(t, d)
    if method == "auto":
        method = "propagator" if constant and _propagator_pays(problem, steps_out) else "recursion"
    if store_modes is None:
        store_modes = t.size * d <= 2e7
    if method == "exact":
        work = 4.0 * problem.n * d * d * max(int(steps_out[-1]), 1)
        if work > _EXACT_WORK:
            raise ValueError(f"method='exact' needs about {work:.3g} flops here (4·n·d²·steps, n = "
                             f"{problem.n}, d = {d}); it is meant for small d (≤ {_EXACT_WORK:.0e} flops): "
                             "use method='recursion'")
        v.memory("d", d, 4.0 * d * d + 2.0 * problem.n * d, "the exact second-moment recursion")
        P, modes, k_div = _exact(problem, optimizer, steps_out, store_modes)
    elif method == "propagator":
        P, modes, k_div, solver_info = _propagated(problem, optimizer, steps_out, moments, closure,
                                                   store_modes, rtol)
    else:
        P, modes, k_div = _recursion(problem, optimizer, steps_out, moments, closure, store_modes)
    if k_div >= 0:
        status = Status.diverged(k_div / d, f"eᵀKe above the threshold after {k_div} steps")
        after = steps_out >= k_div
        P[after] = np.inf
        if modes is not None:
            modes[after] = np.inf
    else:
        status = Status.ok()
    m2 = problem.noise_second_moment
    excess = 0.5 * P
    risk = 0.5 * (P + m2)
    warn = check_growth(t_rec, excess, 0.5 * m2, status, problem, optimizer, stacklevel=warn_stacklevel)
    info = {"moments": moments, "closure": closure if method != "exact" else None,
            "steps": int(steps_out[-1])}
    if method == "propagator":
        info.update(solver_info)
    return RiskCurve(t=t_rec, risk=risk, excess_risk=excess, status=status, problem=problem,
                     optimizer=optimizer, method=method, modes=modes, kappa=np.asarray(problem.eigenvalues),
                     info=info, warnings=warn)
