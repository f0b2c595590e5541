"""Benchmark of the sharpness family's linear model (issue 9, Part 6): theory vs theory vs Monte Carlo.

For the linear (constant-NTK) model with a Marchenko–Pastur NTK (``hs.LinearModel.marchenko_pastur``,
P = 2D, docs/sharpness.md) under minibatch SGD with batch B = D/10 at the stable step η = 0.8 η_S
(η_S: 𝒦 = 1, ``hs.critical_lr``), for 200 steps, it times

* the mode equations, ``hs.predict(..., method="modes")`` — O(D) per step after an O(D²) set-up;
* the exact second-moment recursion, ``hs.predict(..., method="exact")`` — O(D³) per step. At large D
  (``--exact-full-max``, default 1000) only a few steps are timed and the 200-step time is
  extrapolated linearly from them (set-up + 200 × per-step); the table marks such entries with ``*``;
* the Monte Carlo, ``hs.simulate`` — O(runs·D·B) per step (gather path). At D = 4000 fewer runs are
  timed (``--runs-large``) and the time is scaled linearly to ``--runs`` runs, marked ``†``.

All times are wall-clock seconds from one process on this machine (numpy BLAS threads, shared cores);
the ratios are measured in one run and are what to read. The MC step cost is given in ns per D·B per
run and step. Model construction (the eigendecomposition of Θ) is timed separately and not included.
Nothing here asserts a timing.

Usage: ``python scripts/bench_sharpness.py [--quick] [--sizes 400 4000] [--runs 64]``. ``--quick``: D = 400
only, 16 runs (what ``scripts/bench.py --quick`` runs).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hdlimits as hd  # noqa: E402
from hdlimits import sharpness as hs  # noqa: E402

STEPS = 200


def _best(f, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _exact_time(lin, opt, full, probe_steps=(1, 2)):
    """Seconds for the 200-step exact recursion: measured if ``full``, else extrapolated from two short
    runs (set-up + 200 × per-step). Returns ``(seconds, extrapolated, curve or None)``."""
    if full:
        sec, th = _best(lambda: hs.predict(lin, opt, steps=STEPS, method="exact"), 1)
        return sec, False, th
    s1, s2 = probe_steps
    t1, _ = _best(lambda: hs.predict(lin, opt, steps=s1, method="exact"), 1)
    t2, _ = _best(lambda: hs.predict(lin, opt, steps=s2, method="exact"), 1)
    per_step = max(t2 - t1, 0.0) / (s2 - s1)
    setup = max(t1 - s1 * per_step, 0.0)
    return setup + STEPS * per_step, True, None


def bench_one(D, runs, runs_timed, exact_full_max):
    t0 = time.perf_counter()
    lin = hs.LinearModel.marchenko_pastur(D=D, P=2 * D, seed=0)
    t_model = time.perf_counter() - t0
    B = D // 10
    eta_s = float(hs.critical_lr(lin, B))
    opt = hd.SGD(lr=0.8 * eta_s, batch=B)
    K = hs.noise_kernel_norm(lin, opt.lr, B)

    hs.predict(lin, opt, steps=2, method="modes")                                 # warm-up
    t_modes, th_modes = _best(lambda: hs.predict(lin, opt, steps=STEPS, method="modes"), 3)
    t_exact, extrap, th_exact = _exact_time(lin, opt, D <= exact_full_max)
    hs.simulate(lin, opt, steps=2, runs=2, seed=0)                                # warm-up
    t_mc_timed, mc = _best(lambda: hs.simulate(lin, opt, steps=STEPS, runs=runs_timed, seed=1), 1)
    t_mc = t_mc_timed * runs / runs_timed
    ns = t_mc_timed / (runs_timed * STEPS * D * B) * 1e9
    gap = (float(np.max(np.abs(th_modes.loss / th_exact.loss - 1))) if th_exact is not None
           else float("nan"))
    return dict(D=D, B=B, lr=opt.lr, eta_s=eta_s, K=K, t_model=t_model, t_modes=t_modes,
                t_exact=t_exact, extrap=extrap, t_mc=t_mc, mc_scaled=runs_timed != runs,
                runs_timed=runs_timed, ns=ns, gap=gap, mc_final=float(mc.loss[-1]),
                th_final=float(th_modes.loss[-1]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="D = 400 only, 16 runs")
    p.add_argument("--sizes", type=int, nargs="+", default=None, help="values of D (default 400 4000)")
    p.add_argument("--runs", type=int, default=None, help="Monte Carlo runs reported (default 64)")
    p.add_argument("--runs-large", type=int, default=16,
                   help="runs actually timed for D > 1000, scaled linearly to --runs (default 16)")
    p.add_argument("--exact-full-max", type=int, default=1000,
                   help="largest D whose exact recursion is timed over all 200 steps (default 1000)")
    p.add_argument("--second-order", nargs="*", type=int, default=None, metavar="D P",
                   help="instead: ms per step of the second-order θ-space simulator (GD, SAM, tuned GD) at "
                        "D, P (default 200 400) against the O(DP²) contraction Q(d, ·) (issue 10)")
    args = p.parse_args(argv)
    if args.second_order is not None:
        return second_order(*(args.second_order or [200, 400]))
    sizes = args.sizes or ([400] if args.quick else [400, 4000])
    runs = args.runs or (16 if args.quick else 64)
    if min(sizes) < 20 or runs < 2 or args.runs_large < 2:
        p.error("--sizes must be ≥ 20 and --runs, --runs-large ≥ 2")
    print(f"hdlimits {hd.__version__}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} "
          "(shared: read the ratios)")
    print(f"linear model, MP NTK (P = 2D, seed 0), SGD B = D/10, lr = 0.8 η_S, {STEPS} steps, "
          "sampling without replacement")
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hd.core.status.UnstableWarning)
        for D in sizes:
            r = bench_one(D, runs, runs if D <= 1000 else min(args.runs_large, runs), args.exact_full_max)
            rows.append(r)
    head = (f"{'D':>5} {'B':>4} {'lr':>7} {'K':>5} {'model[s]':>8} {'modes[s]':>9} {'exact[s]':>9} "
            f"{'MC[s]':>8} {'exact/modes':>12} {'MC/modes':>9} {'MC/exact':>9} {'MC ns/(D·B)':>12}"
            f" {'|modes/exact-1|':>15}")
    print(head)
    for r in rows:
        ex = f"{r['t_exact']:.3g}" + ("*" if r["extrap"] else "")
        mc = f"{r['t_mc']:.3g}" + ("†" if r["mc_scaled"] else "")
        print(f"{r['D']:>5} {r['B']:>4} {r['lr']:>7.4f} {r['K']:>5.2f} {r['t_model']:>8.2f} "
              f"{r['t_modes']:>9.2e} {ex:>9} {mc:>8} {r['t_exact'] / r['t_modes']:>11.3g}x "
              f"{r['t_mc'] / r['t_modes']:>8.3g}x {r['t_mc'] / r['t_exact']:>8.3g}x {r['ns']:>12.3f}"
              f" {r['gap']:>15.2e}")
    print(f"MC[s] is for {runs} runs; ns/(D·B) is per run and step. "
          "model[s]: building the model (eigendecomposition of Θ), not in the ratios.")
    if any(r["extrap"] for r in rows):
        print("* exact recursion timed over 1 and 2 steps and extrapolated to 200 (set-up + 200 × per-step)")
    if any(r["mc_scaled"] for r in rows):
        print(f"† MC timed with {args.runs_large} runs and scaled linearly to {runs} runs")
    print("|modes/exact-1|: largest relative gap of the two theory curves over the 200 steps "
          "(nan where the exact curve was extrapolated)")
    return 0


def second_order(D=200, P=400, steps=40):
    """ms per step of ``hs.simulate`` on ``QuadraticModel.proportional(D, P)`` vs one pass over Q."""
    p = hs.QuadraticModel.proportional(D=D, P=P, eps=1.0, seed=0)
    Q2 = p.Q.reshape(D * P, P)
    d = np.random.default_rng(0).standard_normal((P, 1))
    contraction, _ = _best(lambda: Q2 @ d, 20)
    print(f"hdlimits {hd.__version__}; load average {os.getloadavg()[0]:.2f} (shared machine: read the ratios)")
    print(f"D = {D}, P = {P}: Q(d, ·) contraction (one pass over the D×P×P tensor) {1e3 * contraction:.2f} ms")
    for name, opt in [("GD", hd.GD(lr=0.4)), ("SAM", hd.SAM(lr=0.4, rho=0.05)),
                      ("GD+CDAT", hd.GD(lr=hd.tuners.CDAT(sigma=2.0))),
                      ("GD+Armijo", hd.GD(lr=hd.tuners.Armijo(c=1e-4, lr_max=10.0)))]:
        sec, _ = _best(lambda: hs.simulate(p, opt, steps=steps, every=steps, hessian=False), 3)
        print(f"{name:10s} {1e3 * sec / steps:7.2f} ms/step  ({sec / steps / contraction:.2f} × contraction)")
    sec, _ = _best(lambda: hs.simulate(p, hd.GD(lr=0.4), steps=0, every=1, hessian=True), 3)
    print(f"recording one step (eigvalsh of JJᵀ + Lanczos λ_max(H)): {1e3 * sec:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
