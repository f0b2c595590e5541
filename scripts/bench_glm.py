"""Benchmark of the GLM block integrator (docs/integrator.md §15): solve_blocks vs solve_ivp (DOP853, LSODA)
on BlockModeSystem.rhs and vs explicit Euler at dt = 1/256, on least squares with a power-law spectrum.

Usage: python scripts/bench_glm.py [--quick] [d ...]   (default: 1000 10000; --quick: d = 1000, no LSODA)
"""
import sys
import time

import numba as nb
import numpy as np
from scipy.integrate import solve_ivp

from hdlimits.core import schedules as sch
from hdlimits.solvers.blocks import BlockModeSystem
from hdlimits.solvers.blocks_solve import solve_blocks

V = np.array([1.0, -1.0])


class LS:
    def __init__(self, s2):
        self.s2 = s2

    def evaluate(self, B):
        e = V @ B @ V
        I = np.zeros((2, 2))
        I[0, 0] = e + self.s2
        return 0.5 * (e + self.s2), np.array([[1.0, 0.0], [-1.0, 0.0]]), I

    def curvature(self, B):
        C = np.zeros((2, 2, 2, 2))
        C[:, :, 0, 0] = 2.0 * np.outer(V, V)
        return C


@nb.njit(cache=True)
def euler(lam, Vs, g, d, bs, s2, dt, n_steps):
    """Explicit Euler on the least-squares block system (k = 2, finite-d term kept)."""
    n = lam.size
    Vs = Vs.copy()
    for _ in range(n_steps):
        e = 0.0
        for i in range(n):
            e += lam[i] * (Vs[i, 0, 0] - 2 * Vs[i, 0, 1] + Vs[i, 1, 1])
        I00 = e + s2
        for i in range(n):
            li = lam[i]
            a, b, c = Vs[i, 0, 0], Vs[i, 0, 1], Vs[i, 1, 1]
            D = a - 2 * b + c
            # V M + Mᵀ V with M = [[1,0],[-1,0]]: (0,0): 2(a − b); (0,1): b − c; (1,1): 0
            da = -g * li * 2 * (a - b) + g * g * li / (d * bs) * I00 + g * g * li * li / d * (1 + 1 / bs) * D
            db = -g * li * (b - c)
            Vs[i, 0, 0] = a + dt * da
            Vs[i, 0, 1] = b + dt * db
            Vs[i, 1, 0] = b + dt * db
    return Vs


def main(argv=None):
    args = [a for a in (sys.argv[1:] if argv is None else argv)]
    quick = "--quick" in args
    ds = [int(a) for a in args if a != "--quick"] or ([1000] if quick else [1000, 10000])
    methods = ("DOP853",) if quick else ("DOP853", "LSODA")
    for d in ds:
        lam = np.arange(1, d + 1, dtype=float) ** -1.2
        lam *= d / lam.sum()
        rng = np.random.default_rng(0)
        xs = 3 * rng.standard_normal(d) / np.sqrt(d)
        g, bs, s2, T = 0.8, 1, 0.09, 20.0
        V0 = np.stack([np.outer(w, w) for w in np.c_[np.zeros(d), xs]])
        system = BlockModeSystem(lam=lam, mass=np.ones(d), V0=V0, m=1, d=d, schedule=sch.constant(g),
                                 batch=bs, expectations=LS(s2))
        t = np.array([0.0, T])
        ref = solve_blocks(system, t, rtol=1e-12).risk[-1]
        print(f"d = {d}, γλ_max/d = {g * lam.max() / d:.3g}, T = {T}; reference risk {ref:.12g}")
        ours_at = {}
        for rt in (1e-6, 1e-8):
            s = time.perf_counter()
            r = solve_blocks(system, t, rtol=rt)
            el = time.perf_counter() - s
            err = abs(r.risk[-1] / ref - 1)
            print(f"  solve_blocks rtol {rt:g}: {el:8.3f} s, steps {r.info['steps']}, "
                  f"rel. error {err:.2e}")
            ours = el
            ours_at[rt] = (el, err)
        for meth in methods:
            s = time.perf_counter()
            sol = solve_ivp(lambda s_, y: system.rhs(s_, y.reshape(d, 2, 2)).ravel(), (0, T), V0.ravel(),
                            method=meth, rtol=1e-8, atol=1e-14)
            el = time.perf_counter() - s
            Bv = system.B_of(sol.y[:, -1].reshape(d, 2, 2))
            risk = 0.5 * (V @ Bv @ V + s2)
            print(f"  solve_ivp {meth} rtol 1e-8: {el:8.3f} s ({el / ours:.1f}× ours at 1e-8), "
                  f"nfev {sol.nfev}, rel. error {abs(risk / ref - 1):.2e}")
        n_e = int(round(T * 256))
        euler(lam, V0, g, float(d), float(bs), s2, 1 / 256, 1)
        s = time.perf_counter()
        Ve = euler(lam, V0, g, float(d), float(bs), s2, 1 / 256, n_e)
        el = time.perf_counter() - s
        Bv = system.B_of(Ve)
        risk = 0.5 * (V @ Bv @ V + s2)
        print(f"  explicit Euler dt 1/256: {el:8.3f} s ({el / ours:.1f}× ours at 1e-8), "
              f"rel. error {abs(risk / ref - 1):.2e}" if np.isfinite(risk) else
              f"  explicit Euler dt 1/256: {el:8.3f} s, unstable (γλ_max·dt = {g * lam.max() / 256:.2f})")
        # Euler at the accuracy of our rtol-1e-6 run: halve dt until its error is as small (first order,
        # so the error halves per halving); when the next run would take over 30 s, extrapolate its time linearly in steps
        el6, err6 = ours_at[1e-6]
        steps_per_unit, el_e, err_e = 256, el, abs(risk / ref - 1)
        while np.isfinite(err_e) and err_e > err6 and 4 * el_e < 30.0:
            steps_per_unit *= 4
            s = time.perf_counter()
            Ve = euler(lam, V0, g, float(d), float(bs), s2, 1 / steps_per_unit, int(round(T * steps_per_unit)))
            el_e = time.perf_counter() - s
            Bv = system.B_of(Ve)
            err_e = abs(0.5 * (V @ Bv @ V + s2) / ref - 1)
        need = el_e * max(1.0, err_e / err6)          # first order: error ∝ dt, time ∝ 1/dt
        tag = "measured" if err_e <= err6 else "extrapolated (error ∝ dt)"
        print(f"  explicit Euler at our rtol-1e-6 error ({err6:.1e}): {need:8.3f} s {tag} at dt = "
              f"1/{steps_per_unit}{'' if err_e <= err6 else ' and below'}; ours {el6:.3f} s → ours "
              f"{need / el6:.1f}× faster at equal accuracy")


if __name__ == "__main__":
    main()
