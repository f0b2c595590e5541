"""Benchmarks of hdlimits, printed as ratios measured in one run on this machine.

(i)  predict_risk (exponential collocation, numba) vs scipy.integrate.solve_ivp (DOP853, rtol 1e-6) on
     the same SGD mode system, power-law spectra with 10^3, 10^4, 10^5 modes, t in [0, 100]; errors of
     both against a tight reference (DOP853 at rtol 1e-12 where affordable, else our integrator at 1e-12).
     Also vs explicit Euler on a uniform grid — the scheme of the papers' public reference codes —
     written here in numba (so the comparison is of schemes, not of languages), at the step
     0.05/(2γλ_max), with its error.
(ii) simulate (numba kernels, in-kernel lane RNG) vs a plain numpy streaming loop and vs numpy Generator +
     a numba kernel, in ns per coordinate-step, Gaussian and Rademacher data, 1 and 2 workers; dense K in
     us per sample against the GEMM bound.
(iii) clipped, normalized and sign predict_risk against SGD's (d = 10^4, t in [0, 100]).

Run:  python scripts/bench.py [--quick] [--skip-ode] [--skip-sim]
Extra benchmarks of other parts live next to this file (bench_derive.py, bench_phase.py,
bench_sharpness.py, bench_glm.py — the GLM block integrator vs solve_ivp and explicit Euler —,
bench_spectra.py — continuous and merged spectra —, bench_plrf.py — the PLRF deterministic equivalent —,
bench_dataset.py — the data-moment limit's propagator vs its per-step recursion) and are run from here
when present.
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


def bench_limits_cost(d=10_000, t_max=100.0, repeat=3):
    """Clipped, normalized and sign limits against SGD's (issue 14, part 5: clipped ≤ 2× SGD)."""
    import math
    print(f"\n(iii) cost of the P-dependent limits against SGD's: power_law(alpha=0.8, beta=1.0), d = {d}, "
          f"t in [0, {t_max:g}], 41 output times, default rtol, best of {repeat} interleaved")
    prob = hd.Problem.power_law(d=d, alpha=0.8, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)
    t = np.linspace(0.0, t_max, 41)
    opts = {"SGD": hd.SGD(1.0), "ClippedSGD(c=0.5)": hd.ClippedSGD(1.0, clip=0.5 * math.sqrt(prob.trace)),
            "NormalizedSGD": hd.NormalizedSGD(1.0), "SignSGD": hd.SignSGD(1.0)}
    for o in opts.values():
        hd.predict_risk(prob, o, t[:3], store_modes=False)             # compile
    res = {}
    times = _interleaved([lambda o=o: res.__setitem__(id(o), hd.predict_risk(prob, o, t, store_modes=False))
                          for o in opts.values()], repeat)
    for (name, o), sec in zip(opts.items(), times):
        r = res[id(o)]
        print(f"{name:>18}: {sec * 1e3:8.1f} ms  {sec / times[0]:5.2f}x SGD  ({r.info['steps']} steps, "
              f"{r.info['rejected']} rejected)")


def numpy_loop(prob, lr, steps, seed, data="gaussian"):
    """The plain streaming loop a user would write: one sample per step, numpy vector ops."""
    rng = np.random.default_rng(seed)
    d = prob.d
    sq = np.sqrt(prob.eigenvalues)
    e = prob.initial_error.copy()
    sigma = prob.noise.std
    for _ in range(steps):
        xi = rng.standard_normal(d) if data == "gaussian" else rng.integers(0, 2, d) * 2.0 - 1.0
        x = sq * xi
        r = x @ e - sigma * rng.standard_normal()
        e -= (lr / d) * r * x
    return e


@nb.njit(cache=True, nogil=True)
def _sgd_block(sq, e, Z, eps, lr):
    """SGD steps on pre-drawn ξ rows: r = ⟨√λ ξ, e⟩ − ε, e ← e − (γ/d) r √λ ξ."""
    d = e.size
    for k in range(Z.shape[0]):
        r = 0.0
        for j in range(d):
            r += sq[j] * Z[k, j] * e[j]
        c = lr / d * (r - eps[k])
        for j in range(d):
            e[j] -= c * sq[j] * Z[k, j]


def generator_numba(prob, lr, steps, seed, data="gaussian", block=256):
    """The fast loop a numba user would write: numpy ``Generator`` fills blocks of ξ, a numba kernel steps."""
    rng = np.random.default_rng(seed)
    d = prob.d
    sq = np.sqrt(prob.eigenvalues)
    e = prob.initial_error.copy()
    sigma = prob.noise.std
    Z = np.empty((block, d))
    for k0 in range(0, steps, block):
        n = min(block, steps - k0)
        if data == "gaussian":
            rng.standard_normal(out=Z[:n])
        else:
            Z[:n] = rng.integers(0, 2, (n, d)) * 2.0 - 1.0
        _sgd_block(sq, e, Z[:n], sigma * rng.standard_normal(n), lr)
    return e


def _interleaved(fns, repeat):
    """Best-of-``repeat`` wall time of each function, the repeats interleaved (fair on a shared machine)."""
    best = [np.inf] * len(fns)
    for _ in range(repeat):
        for i, f in enumerate(fns):
            t0 = time.perf_counter()
            f()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def bench_sim(dims, t_max, repeat=3):
    print("\n(ii) simulate (lane xoshiro256** + vectorised ziggurat in the kernel) vs a plain numpy streaming "
          "loop and vs numpy Generator + a numba kernel; diagonal K, SGD, ns per coordinate-step, "
          f"best of {repeat} interleaved")
    print(f"{'d':>6} {'data':>10} {'numpy':>7} {'gen+numba':>10} {'ours 1w':>8} {'ours 2w':>8} "
          f"{'vs numpy':>9} {'vs gen+nb':>10} {'2w vs 1w':>9}")
    for d in dims:
        prob = hd.Problem.power_law(d=d, alpha=0.8, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)
        opt = hd.SGD(1.0)
        t = np.array([0.0, t_max])
        steps = int(round(t_max * d))
        cs = 2 * steps * d                                  # coordinate-steps of two runs
        for data in ("gaussian", "rademacher"):
            hd.simulate(prob, opt, [0.0, 0.01], runs=1, seed=0, workers=1, progress=False, data=data)
            generator_numba(prob, 1.0, 4, 0, data)
            np_steps = min(2 * steps, 8000)
            fns = [lambda: numpy_loop(prob, 1.0, np_steps, 0, data),
                   lambda: generator_numba(prob, 1.0, 2 * steps, 0, data),
                   lambda: hd.simulate(prob, opt, t, runs=2, seed=0, workers=1, progress=False, data=data),
                   lambda: hd.simulate(prob, opt, t, runs=2, seed=0, workers=2, progress=False, data=data)]
            t_np, t_gen, t1, t2 = _interleaved(fns, repeat)
            ns_np, ns_gen = t_np / (np_steps * d) * 1e9, t_gen / cs * 1e9
            ns1, ns2 = t1 / cs * 1e9, t2 / cs * 1e9
            print(f"{d:>6} {data:>10} {ns_np:>7.2f} {ns_gen:>10.2f} {ns1:>8.2f} {ns2:>8.2f} "
                  f"{ns_np / ns1:>8.1f}x {ns_gen / ns1:>9.1f}x {ns1 / ns2:>8.2f}x")
    bench_dense(1000, repeat)


def bench_dense(d, repeat):
    """Dense K: µs per sample of simulate against the GEMM bound (the product ξ K^{1/2} alone)."""
    prob = hd.Problem.power_law(d=d, alpha=0.8, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0,
                                rotate=True)
    t = np.array([0.0, 2.0])
    opt = hd.SGD(1.0)
    hd.simulate(prob, opt, [0.0, 0.01], runs=1, seed=0, progress=False)
    S = np.ascontiguousarray(prob.covariance_sqrt)
    rows = 512
    Z = np.random.default_rng(0).standard_normal((rows, d))
    reps = 2 * 2 * d // rows
    def gemm():
        for _ in range(reps):
            Z @ S
    t1, t2, t_g = _interleaved([
        lambda: hd.simulate(prob, opt, t, runs=2, seed=0, workers=1, progress=False),
        lambda: hd.simulate(prob, opt, t, runs=2, seed=0, workers=2, progress=False), gemm], repeat)
    n = 2 * 2 * d                                             # samples of two runs to t = 2
    us1, us2, us_g = t1 / n * 1e6, t2 / n * 1e6, t_g / (reps * rows) * 1e6
    print(f"dense K (d={d}, rotated power law, BLAS blocks of {rows} samples): {us1:.2f} us per sample "
          f"(1 worker), {us2:.2f} (2 workers, wall); GEMM bound (xi @ K^1/2 alone, numpy's BLAS, "
          f"{2 * d * d / us_g * 1e-3:.1f} GFLOP/s): {us_g:.2f} us per sample -> {us1 / us_g:.2f}x the bound")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a minute)")
    ap.add_argument("--skip-ode", action="store_true")
    ap.add_argument("--skip-sim", action="store_true")
    args = ap.parse_args(argv)
    print(f"hdlimits {hd.__version__}, {os.cpu_count()} CPUs")
    if not args.skip_ode:
        bench_ode([1000, 10000] if args.quick else [1000, 10000, 100000])
    if not args.skip_ode:
        bench_limits_cost(10_000, 100.0, 2 if args.quick else 3)
    if not args.skip_sim:
        bench_sim([500, 2000] if args.quick else [500, 2000, 8000], 2.0 if args.quick else 5.0)
    here = os.path.dirname(os.path.abspath(__file__))
    for extra in ("bench_derive.py", "bench_phase.py", "bench_sharpness.py", "bench_glm.py",
                  "bench_spectra.py", "bench_plrf.py", "bench_dataset.py"):
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
