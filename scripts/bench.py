"""Benchmarks of hdlimits, printed as ratios measured in one run on this machine.

(i)  predict_risk (exponential collocation, numba) vs scipy.integrate.solve_ivp (DOP853, rtol 1e-6) on
     the same SGD mode system, power-law spectra with 10^3, 10^4, 10^5 modes, t in [0, 100]; errors of
     both against a tight reference (DOP853 at rtol 1e-12 where affordable, else our integrator at 1e-12).
     Also vs explicit Euler on a uniform grid — the scheme of the papers' public reference codes —
     written here in numba (so the comparison is of schemes, not of languages), at the step
     0.05/(2γλ_max), with its error.
(ii) simulate (numba kernels, in-kernel RNG) vs a plain numpy streaming loop, in ns per coordinate-step,
     with 1 and 2 workers.

Run:  python scripts/bench.py [--quick] [--skip-ode] [--skip-sim]
Extra benchmarks of other parts live next to this file (bench_derive.py, bench_phase.py,
bench_sharpness.py) and are run
from here when present.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time

import numba as nb
import numpy as np
from scipy.integrate import solve_ivp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import hdlimits as hd  # noqa: E402
from hdlimits.reductions import reduce  # noqa: E402


@nb.njit(cache=True)
def _euler_sgd(kappa, w, D0, d, curv, gamma, m2, h, t_out):
    """Explicit Euler for the SGD mode system with a constant learning rate; P at the times t_out."""
    D = D0.copy()
    out = np.empty(t_out.size)
    t = 0.0
    for k in range(t_out.size):
        while t < t_out[k] - 1e-12:
            step = min(h, t_out[k] - t)
            P = 0.0
            for i in range(D.size):
                P += kappa[i] * D[i]
            forcing = gamma * gamma / d * (P + m2)
            for i in range(D.size):
                rate = 2.0 * gamma * kappa[i] - curv * gamma * gamma * kappa[i] * kappa[i] / d
                D[i] += step * (-rate * D[i] + forcing * w[i])
            t += step
        P = 0.0
        for i in range(D.size):
            P += kappa[i] * D[i]
        out[k] = P
    return out


def _timed(f, repeat=1):
    best = np.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_ode(sizes, t_max=100.0, ivp_limit=120.0):
    print(f"\n(i) predict_risk vs solve_ivp(DOP853), both at rtol=1e-6, SGD lr=1.0, "
          f"power_law(alpha=0.8, beta=1.0), t in [0, {t_max:g}], 41 output times")
    print(f"{'modes':>7} {'lambda_max':>10} {'ours [s]':>9} {'ivp [s]':>9} {'speed-up':>9} "
          f"{'err ours':>9} {'err ivp':>9} {'euler [s]':>10} {'vs euler':>9} {'err euler':>10}  reference")
    t = np.linspace(0.0, t_max, 41)
    hd.predict_risk(hd.Problem.power_law(d=50, alpha=0.8, beta=1.0), hd.SGD(1.0), t)  # compile
    for n in sizes:
        prob = hd.Problem.power_law(d=n, alpha=0.8, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)
        opt = hd.SGD(lr=1.0)
        system = reduce(prob, opt)
        t_ours, ours = _timed(lambda: hd.predict_risk(prob, opt, t, rtol=1e-6, store_modes=False), 3)
        P_ours = 2 * ours.excess_risk
        # solve_ivp: explicit DOP853 is stability-bound (h ≲ 6 / (2 γ λ_max)); its cost is linear in t,
        # so when a full run would exceed ivp_limit seconds we time a shorter horizon and scale.
        probe_T = min(t_max, 2.0)
        t_probe, _ = _timed(lambda: solve_ivp(system.rhs, (0, probe_T), system.D0, method="DOP853",
                                              rtol=1e-6, atol=1e-12 * system.P0))
        est_full = t_probe * t_max / probe_T
        if est_full <= ivp_limit:
            t_ivp, sol = _timed(lambda: solve_ivp(system.rhs, (0, t_max), system.D0, method="DOP853",
                                                  rtol=1e-6, atol=1e-12 * system.P0, t_eval=t))
            P_ivp = system.kappa @ sol.y
            note = ""
        else:
            t_ivp, P_ivp, note = est_full, None, " (ivp time extrapolated from t<=2)"
        if est_full * 3 <= ivp_limit * 2:
            sol = solve_ivp(system.rhs, (0, t_max), system.D0, method="DOP853", rtol=1e-12,
                            atol=1e-22, t_eval=t)
            P_ref = system.kappa @ sol.y
            ref = "DOP853 rtol 1e-12"
        else:
            P_ref = 2 * hd.predict_risk(prob, opt, t, rtol=1e-12, store_modes=False).excess_risk
            ref = "ours rtol 1e-12"
        err_o = np.max(np.abs(P_ours / P_ref - 1))
        err_i = np.max(np.abs(P_ivp / P_ref - 1)) if P_ivp is not None else float("nan")
        h_e = 0.05 / (2.0 * opt.lr * float(system.kappa.max()))
        args = (system.kappa, system.weights, system.D0, float(system.d), system.curvature, opt.lr,
                system.noise_second_moment, h_e, t)
        _euler_sgd(*args[:-1], t[:2])                        # compile
        t_eul, P_eul = _timed(lambda: _euler_sgd(*args))
        err_e = np.max(np.abs(P_eul / P_ref - 1))
        print(f"{n:>7} {prob.eigenvalues.max():>10.1f} {t_ours:>9.4f} {t_ivp:>9.2f} "
              f"{t_ivp / t_ours:>8.0f}x {err_o:>9.1e} {err_i:>9.1e} {t_eul:>10.3f} "
              f"{t_eul / t_ours:>8.0f}x {err_e:>10.1e}  {ref}{note}  [{ours.info['steps']} steps]")


def numpy_loop(prob, lr, steps, seed):
    """The plain streaming loop a user would write: one sample per step, numpy vector ops."""
    rng = np.random.default_rng(seed)
    d = prob.d
    sq = np.sqrt(prob.eigenvalues)
    e = prob.initial_error.copy()
    sigma = prob.noise.std
    for _ in range(steps):
        x = sq * rng.standard_normal(d)
        r = x @ e - sigma * rng.standard_normal()
        e -= (lr / d) * r * x
    return e


def bench_sim(dims, t_max):
    print("\n(ii) simulate vs a plain numpy streaming loop (diagonal K, SGD, Gaussian data), "
          "ns per coordinate-step")
    print(f"{'d':>6} {'numpy':>8} {'ours 1 worker':>14} {'ours 2 workers (wall)':>22} "
          f"{'per core':>9} {'speed-up 1w':>12} {'speed-up 2w':>12}")
    for d in dims:
        prob = hd.Problem.power_law(d=d, alpha=0.8, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)
        opt = hd.SGD(1.0)
        t = np.array([0.0, t_max])
        steps = int(round(t_max * d))
        hd.simulate(prob, opt, [0.0, 0.01], runs=1, seed=0, workers=1, progress=False)
        np_steps = min(steps, 20000)
        t_np, _ = _timed(lambda: numpy_loop(prob, 1.0, np_steps, 0))
        ns_np = t_np / (np_steps * d) * 1e9
        t1, _ = _timed(lambda: hd.simulate(prob, opt, t, runs=2, seed=0, workers=1, progress=False))
        ns1 = t1 / (2 * steps * d) * 1e9
        t2, _ = _timed(lambda: hd.simulate(prob, opt, t, runs=2, seed=0, workers=2, progress=False))
        ns2 = t2 / (2 * steps * d) * 1e9
        print(f"{d:>6} {ns_np:>8.2f} {ns1:>14.2f} {ns2:>22.2f} {2 * ns2:>9.2f} "
              f"{ns_np / ns1:>11.1f}x {ns_np / ns2:>11.1f}x")
    d = 1000
    prob = hd.Problem.power_law(d=d, alpha=0.8, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0,
                                rotate=True)
    t = np.array([0.0, 2.0])
    hd.simulate(prob, hd.SGD(1.0), [0.0, 0.01], runs=1, seed=0, progress=False)
    t2, _ = _timed(lambda: hd.simulate(prob, hd.SGD(1.0), t, runs=2, seed=0, workers=2, progress=False))
    print(f"dense K (d={d}, BLAS blocks): {t2 / (2 * 2 * d * d) * 1e9:.1f} ns per coordinate-step (wall, 2 "
          f"workers), i.e. {t2 / (2 * 2 * d) * 1e6:.1f} us per sample")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a minute)")
    ap.add_argument("--skip-ode", action="store_true")
    ap.add_argument("--skip-sim", action="store_true")
    args = ap.parse_args(argv)
    print(f"hdlimits {hd.__version__}, {os.cpu_count()} CPUs")
    if not args.skip_ode:
        bench_ode([1000, 10000] if args.quick else [1000, 10000, 100000])
    if not args.skip_sim:
        bench_sim([500, 2000] if args.quick else [500, 2000, 8000], 2.0 if args.quick else 5.0)
    here = os.path.dirname(os.path.abspath(__file__))
    for extra in ("bench_derive.py", "bench_phase.py", "bench_sharpness.py"):
        path = os.path.join(here, extra)
        if os.path.exists(path):
            print(f"\n== {extra}")
            spec = importlib.util.spec_from_file_location(extra[:-3], path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            if hasattr(mod, "main"):
                mod.main(["--quick"] if args.quick else [])


if __name__ == "__main__":
    main()
