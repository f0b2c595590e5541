"""Benchmark of the phase-diagram sweeps (issue 5).

* a ``clipping`` phase diagram (clip threshold × noise tail) of ``--resolution``² points from the limiting
  equations on the local process-pool backend with ``--workers`` workers, with 1 clipped learning rate
  per point (the compensated lr) and with the default 5 (target: 64×64 at 5 lrs in ≤ 20 s on 2 cores;
  docs/clipping.md, "Cost of the diagram") — when ``hdlimits.phase`` provides it;
* the speed-up of the local backend from 1 to 2 workers on an ``sgd-stability`` grid of the same size
  (learning rate × batch size), after a warm-up that compiles the integrators in the parent process
  (forked workers inherit them, so the timings measure the sweep, not numba).

Usage: ``python scripts/bench_phase.py [--resolution 64] [--workers 2]``. Timings on a shared machine
are noisy: run it more than once and read the ratios.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hdlimits as hd  # noqa: E402
from hdlimits import phase  # noqa: E402


def _stability(n, workers, out):
    prob = hd.Problem.power_law(d=400, alpha=1.0, beta=1.0, noise=hd.noise.gaussian(0.5))
    batches = np.unique(np.round(np.geomspace(1, 256, n)).astype(int))
    # n distinct batch sizes: fill up with the next integers if rounding merged some
    extra = [b for b in range(1, 10 * n) if b not in set(batches)][: n - batches.size]
    batches = np.sort(np.concatenate([batches, extra])).astype(int)
    lrs = np.geomspace(0.2, 600.0, n)
    c0 = _cpu()
    start = time.perf_counter()
    res = phase.sgd_stability(prob, lrs=lrs, batches=batches, t_max=400.0, out=out,
                              workers=workers, progress=False)
    return time.perf_counter() - start, res, _cpu() - c0


def _cpu():
    """CPU seconds used so far by this process and its finished children (pool workers)."""
    me, ch = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--resolution", type=int, default=64, help="grid points per axis (default 64)")
    p.add_argument("--workers", type=int, default=2, help="workers for the timed runs (default 2)")
    p.add_argument("--n-lrs", type=int, action="append",
                   help="clipping: learning rates tried per point; repeat for several runs (default: 1, "
                        "the compensated lr, then 5, the diagram's default)")
    p.add_argument("--skip", choices=["clipping", "stability"], action="append", default=[],
                   help="skip a part")
    p.add_argument("--quick", action="store_true", help="a 16×16 grid (what scripts/bench.py --quick runs)")
    args = p.parse_args(argv)
    if args.quick:
        args.resolution = 16
    n = args.resolution
    if n < 2:
        p.error("--resolution must be ≥ 2")
    tmp = Path(tempfile.mkdtemp(prefix="bench_phase_"))
    print(f"CPUs: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f} (other processes share them)")
    # warm-up: compile the integrators once in this process
    t0 = time.perf_counter()
    _stability(2, 1, None)
    print(f"warm-up (numba compilation in the parent): {time.perf_counter() - t0:.1f} s", flush=True)

    if "clipping" in args.skip:
        pass
    elif "clipping" in phase.NAMES:
        for n_lrs in args.n_lrs or [1, 5]:
            t0, c0 = time.perf_counter(), _cpu()
            res = phase.NAMES["clipping"](out=tmp / f"clip{n_lrs}", resolution=n, n_lrs=n_lrs,
                                          workers=args.workers, progress=False)
            sec, cpu = time.perf_counter() - t0, _cpu() - c0
            print(f"clipping {n}×{n} ({n} noise laws, {n_lrs} clipped lr(s) per point), local backend, "
                  f"{args.workers} workers: {sec:.1f} s wall, {cpu:.1f} s CPU (target at 5 lrs: ≤ 20 s "
                  f"wall); figure {res.figure}", flush=True)
    else:
        print("clipping: not available in hdlimits.phase (needs hd.ClippedSGD / hd.clipping)")

    if "stability" in args.skip:
        return
    t1, r1, c1 = _stability(n, 1, tmp / "stab1")
    t2, r2, c2 = _stability(n, args.workers, tmp / "stab2")
    same = all(np.array_equal(r1.sweep[k], r2.sweep[k], equal_nan=True) for k in r1.sweep.values)
    print(f"sgd-stability {n}×{n} ({n * n} points): 1 worker {t1:.1f} s wall / {c1:.1f} s CPU, "
          f"{args.workers} workers {t2:.1f} s wall / {c2:.1f} s CPU; wall speed-up {t1 / t2:.2f}×, "
          f"CPU overhead of the pool {100 * (c2 / c1 - 1):+.0f} % (identical results: {same})")
    print(f"load average now: {os.getloadavg()[0]:.2f} — a wall speed-up near 1× with little CPU overhead "
          "means the cores were busy with other processes")
    print(f"outputs in {tmp}")


if __name__ == "__main__":
    main()
