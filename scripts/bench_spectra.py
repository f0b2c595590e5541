"""Benchmark of spectra as objects (docs/spectra.md §5), all ratios measured in one run:

(i)   10⁴ explicit stiff modes (scripts/bench.py's power law α = 0.8, β = 1, noise 0.3, SGD lr = 1,
      t ∈ [0, 100], 41 output times): solve_ivp DOP853 at rtol 1e-6, predict_risk on the explicit modes
      (rtol 1e-6) and on merged modes (merge_rtol = rtol = 1e-6) — a first call (fresh MergedProblem:
      merge + integration; best of 7) and a repeat call (merge memoised); errors against our integrator
      at 1e-12. Timings exclude numba compilation / cache loading (once per process, done up front).
(ii)  power law α = 1.2, β = 0.8, noise 0.1, SGD lr = 1, t ∈ [0, 1e5] (121 times): the explicit d-mode
      system vs the lazy SpectralProblem at d = 10⁵ and 10⁶ (both rtol 1e-9), relative agreement.
(iii) d = 10⁹: Problem.power_law + predict_risk on geomspace(1e-2, 1e6, 200), wall time.

Usage: python scripts/bench_spectra.py [--quick] (quick: skips d = 10⁶ and solve_ivp at full length).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.integrate import solve_ivp

import hdlimits as hd
from hdlimits.reductions import reduce
from hdlimits.spectra.merge import merge_system


def _timed(f, repeat=1):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_merge(quick=False):
    d, t_max = 10 ** 4, 100.0
    t = np.linspace(0, t_max, 41)
    kw = dict(d=d, alpha=0.8, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)
    prob = hd.Problem.power_law(**kw)
    opt = hd.SGD(1.0)
    # compile / load the integrator and the merge kernels once per process (numba), on small problems
    hd.predict_risk(hd.Problem.power_law(d=50, alpha=0.8, beta=1.0), opt, t)
    hd.predict_risk(hd.Problem.power_law(d=50, alpha=0.8, beta=1.0, merge_rtol=1e-6), opt, t)
    ref = hd.predict_risk(prob, opt, t, rtol=1e-12)
    t_exp, r_exp = _timed(lambda: hd.predict_risk(prob, opt, t, rtol=1e-6), 3)
    # first call: a fresh MergedProblem each time, so the merge (bins, Gauss rules, measured error on
    # the test family) is paid in full, plus the reduction and the integration
    t_first, r_first = _timed(lambda: hd.predict_risk(hd.MergedProblem(prob, 1e-6), opt, t, rtol=1e-6), 7)
    system = reduce(prob, opt, t_max=t_max)
    t_merge, (_, minfo) = _timed(lambda: merge_system(system, 1e-6, t_max), 7)
    # repeat call: the same MergedProblem, its merged system memoised for this optimizer and horizon
    merged = hd.MergedProblem(prob, 1e-6)
    hd.predict_risk(merged, opt, t, rtol=1e-6)
    t_rep, r_rep = _timed(lambda: hd.predict_risk(merged, opt, t, rtol=1e-6), 7)
    horizon = 10.0 if quick else t_max
    t_ivp, sol = _timed(lambda: solve_ivp(system.rhs, (0, horizon), system.D0, method="DOP853",
                                          rtol=1e-6, atol=1e-14, t_eval=t[t <= horizon]))
    t_ivp *= t_max / horizon          # DOP853 is stability-bound: its cost is linear in t
    ivp_risk = system.risk_of(system.P_of(sol.y.T))
    err = lambda r: float(np.max(np.abs(r / ref.risk[:r.size] - 1)))
    print(f"(i) 10⁴ stiff modes, t ∈ [0, {t_max:g}] — merged modes: {r_rep.info['n_modes']} (from {d}, "
          f"{minfo['bins']} bins, measured test-family error {minfo['test_error']:.1e})")
    print(f"    solve_ivp DOP853 rtol 1e-6: {t_ivp:9.3f} s{' (extrapolated from t ≤ 10)' if quick else ''}"
          f"  error {err(ivp_risk):.2e}")
    print(f"    explicit modes   rtol 1e-6: {t_exp:9.4f} s  error {err(r_exp.risk):.2e}  "
          f"speed-up over solve_ivp {t_ivp / t_exp:8.0f}×")
    print(f"    merged, first call        : {t_first:9.4f} s  error {err(r_first.risk):.2e}  "
          f"speed-up over solve_ivp {t_ivp / t_first:8.0f}×, over explicit {t_exp / t_first:6.1f}× "
          f"(merge included: {t_merge * 1e3:.1f} ms of it)")
    print(f"    merged, repeat call       : {t_rep:9.4f} s  error {err(r_rep.risk):.2e}  "
          f"speed-up over solve_ivp {t_ivp / t_rep:8.0f}×, over explicit {t_exp / t_rep:6.1f}× "
          "(merge memoised)")


def bench_lazy(dims):
    t = np.concatenate([[0.0], np.geomspace(1e-3, 1e5, 120)])
    opt = hd.SGD(1.0)
    print("(ii) power law α = 1.2, β = 0.8, noise 0.1, SGD lr 1, t ∈ [0, 1e5], rtol 1e-9")
    for d in dims:
        kw = dict(d=d, alpha=1.2, beta=0.8, noise=hd.noise.gaussian(0.1))
        t_exp, re = _timed(lambda: hd.predict_risk(hd.Problem.power_law(**kw, spectrum="explicit"), opt, t,
                                                   rtol=1e-9))
        t_lazy, rl = _timed(lambda: hd.predict_risk(hd.Problem.power_law(**kw, spectrum="continuous"), opt,
                                                    t, rtol=1e-9), 3)
        rel = float(np.max(np.abs(rl.risk / re.risk - 1)))
        print(f"    d = {d:>8}: explicit {d} modes {t_exp:8.2f} s; lazy {rl.info['n_modes']} nodes "
              f"{t_lazy:7.3f} s (problem + predict); speed-up {t_exp / t_lazy:7.0f}×; max rel diff {rel:.2e}")


def bench_huge():
    t = np.geomspace(1e-2, 1e6, 200)
    wall, curve = _timed(lambda: hd.predict_risk(
        hd.Problem.power_law(d=10 ** 9, alpha=1.2, beta=0.8, noise=hd.noise.gaussian(0.1)),
        hd.SGD(lr=1.0), t), 3)
    print(f"(iii) d = 10⁹: Problem.power_law + predict_risk (200 times to 1e6): {wall:.3f} s wall, "
          f"{curve.info['n_modes']} nodes, status {curve.status.code.name}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    bench_merge(args.quick)
    bench_lazy([10 ** 5] if args.quick else [10 ** 5, 10 ** 6])
    bench_huge()


if __name__ == "__main__":
    main()
