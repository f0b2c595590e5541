"""Solving the GLM block system (:class:`~hdlimits.solvers.blocks.BlockModeSystem`) into a result.

:func:`solve_blocks` runs the exponential Runge–Kutta integrator of
:mod:`hdlimits.solvers.blocks_integrate` (docs/integrator.md §15), maps its outcome to a
:class:`~hdlimits.core.status.Status` and returns a :class:`~hdlimits.core.results.RiskCurve` with the
risk ``h(B(t))`` and the overlaps ``B(t)``.
"""
from __future__ import annotations

import time

import numpy as np

from hdlimits.core import validation as v
from hdlimits.core.results import RiskCurve
from hdlimits.core.status import check_growth
from hdlimits.solvers import blocks_integrate as bi
from hdlimits.solvers.solve import DIVERGENCE_FACTOR, _breaks, check_times, solver_status

__all__ = ["solve_blocks", "MAX_STEPS", "divergence_threshold"]

#: the integrator's step budget (accepted plus rejected steps) per call
MAX_STEPS = 1_000_000
#: modes are stored by default when times × modes × k² stays below this
STORE_LIMIT = 20_000_000


def divergence_threshold(system) -> float:
    """``10¹⁰ × (max_ab |B0_ab| + 2|h(B0)|)``: the overlaps' initial size plus the risk's (for least
    squares ``2h = eᵀKe + Eε²``, so the noise scale is included); docs/integrator.md §15."""
    B0 = system.B0
    risk0, _, _ = system.expectations.evaluate(B0)
    scale = float(np.max(np.abs(B0), initial=0.0))
    if np.isfinite(risk0):
        scale += 2.0 * abs(float(risk0))
    return DIVERGENCE_FACTOR * max(scale, 1e-300)


def solve_blocks(system, t, rtol: float = 1e-8, store_modes: bool | None = None, problem=None,
                 optimizer=None, warn_stacklevel: int = 3) -> RiskCurve:
    """The risk and overlaps of a block system at times ``t`` (non-decreasing, ≥ 0).

    ``rtol`` (in [1e-14, 0.1]) bounds the local error of the overlaps ``B`` per step, relative to
    ``sqrt(B_aa B_bb)`` (also in the integrator's basis). ``store_modes`` keeps the per-mode blocks
    (``state["modes"]``, times × n × k × k; default when that has at most 2·10⁷ numbers). The result
    has ``risk`` and the observable ``overlaps`` (times × k × k); after a divergence both hold ``inf``
    and ``status`` is ``diverged`` with its time. ``info``: ``steps``, ``rejected``, ``seconds``,
    ``rtol``, ``n_modes``.
    """
    from hdlimits.solvers.blocks import BlockModeSystem
    if not isinstance(system, BlockModeSystem):
        raise ValueError(f"system must be a hdlimits.solvers.blocks.BlockModeSystem, got "
                         f"{type(system).__name__}")
    t = check_times(t)
    rtol = v.real("rtol", rtol, low=1e-14, high=0.1)
    n, k = system.n_modes, system.k
    if store_modes is None:
        store_modes = t.size * n * k * k <= STORE_LIMIT
    thr = divergence_threshold(system)
    start = time.perf_counter()
    risk, B, modes, code, t_stat, steps, rej, its = bi.integrate_blocks(
        system, t, _breaks(system.schedule), rtol, thr, MAX_STEPS, bool(store_modes))
    info = {"steps": int(steps), "rejected": int(rej), "node_iterations": int(its),
            "seconds": time.perf_counter() - start,
            "rtol": rtol, "n_modes": n}
    status = solver_status(code, t_stat, MAX_STEPS)
    state = {"lam": system.lam, "mass": system.mass}
    if store_modes:
        state["modes"] = modes
    # the growth warning reads the risk itself (a GLM risk has no excess-risk split); its edge is measured
    # by hdlimits.glm_critical_lr (docs/glm.md §6)
    warn = check_growth(t, risk, 0.0, status, None, None, stacklevel=warn_stacklevel)
    return RiskCurve(t=t, risk=risk, status=status, problem=problem, optimizer=optimizer, method="ode",
                     info=info, observables={"overlaps": B}, state=state, warnings=warn)
