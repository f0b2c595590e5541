"""Benchmark of the derivation engine (issue 3).

* **cold**: a subprocess with a fresh ``HDLIMITS_CACHE_DIR`` (a temporary directory) derives clipped SGD
  under a noise law (sympy, the one-time quadrature check, code generation and numba compilation of the
  coefficients), then integrates the limit once (which compiles the integrator specialised to that
  coefficient pair);
* **warm**: a second subprocess on the same cache directory: the derivation is read from the on-disk
  cache (``from_cache=True``) and numba loads the compiled code;
* **predict**: in this process, after a warm-up call, the time of ``hd.predict_risk`` for clipped SGD next
  to SGD on the same problem (power law α = 0.3, tr K = d, ``--d`` modes, t ∈ [0, 100]); target: clipped
  within 2× of SGD.

Usage: ``python scripts/bench_derive.py [--quick] [--d 10000] [--repeats 5]``. ``--quick`` uses one noise
law (Student-t ν = 3, the quadrature case), d = 2000 and 2 repeats. Timings on a shared machine are noisy.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import hdlimits as hd
t1 = time.perf_counter()
noise = hd.noise.parse(sys.argv[1])
opt = hd.ClippedSGD(lr=1.0, clip=0.5 * np.sqrt(400.0))
der = hd.derive(opt, noise)
from hdlimits.derivation.engine import c as threshold
der.compiled({threshold: 0.5})
t2 = time.perf_counter()
prob = hd.Problem.power_law(d=400, alpha=0.3, beta=0.0, noise=noise, seed=0)
hd.predict_risk(prob, opt, np.linspace(0, 5, 11))
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "derive": t2 - t1, "first_predict": t3 - t2,
                  "from_cache": der.from_cache, "kind": der.kind}))
"""


def _child(noise: str, cache: str) -> dict:
    env = dict(os.environ, HDLIMITS_CACHE_DIR=cache)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _CHILD, noise], env=env, capture_output=True, text=True,
                         cwd=str(ROOT))
    if out.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{out.stderr}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["wall"] = time.perf_counter() - start
    return res


def compile_times(noise: str) -> tuple[dict, dict]:
    """(cold, warm) timings of a derivation in two fresh processes sharing a new cache directory."""
    with tempfile.TemporaryDirectory(prefix="hdl_bench_") as cache:
        cold = _child(noise, cache)
        warm = _child(noise, cache)
    return cold, warm


def _best(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), float(np.median(times))


def predict_times(noise: str, d: int, repeats: int) -> dict:
    """Warm ``predict_risk`` times (min and median over ``repeats``) of SGD and clipped SGD."""
    import hdlimits as hd
    law = hd.noise.parse(noise)
    prob = hd.Problem.power_law(d=d, alpha=0.3, beta=0.0, noise=law, seed=0)
    t = np.linspace(0.0, 100.0, 201)
    sgd = hd.SGD(lr=1.0)
    clip = hd.ClippedSGD(lr=1.0, clip=0.5 * np.sqrt(prob.trace))
    out = {}
    for name, opt in (("sgd", sgd), ("clipped", clip)):
        res = hd.predict_risk(prob, opt, t)          # warm-up: derivation and compilation
        if res.status != "ok":
            raise RuntimeError(f"{name}: {res.status}")
        out[name] = _best(lambda: hd.predict_risk(prob, opt, t), repeats)
        out[name + "_steps"] = res.info.get("steps") if hasattr(res, "info") else None
    out["ratio_min"] = out["clipped"][0] / out["sgd"][0]
    out["ratio_median"] = out["clipped"][1] / out["sgd"][1]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one noise law, d = 2000, 2 repeats")
    p.add_argument("--d", type=int, default=None, help="dimension of the predict benchmark (default 10000)")
    p.add_argument("--repeats", type=int, default=None, help="timed predict calls (default 5)")
    args = p.parse_args(argv)
    if args.d is not None and args.d < 2:
        p.error(f"--d must be ≥ 2, got {args.d}")
    if args.repeats is not None and args.repeats < 1:
        p.error(f"--repeats must be ≥ 1, got {args.repeats}")
    d = args.d or (2000 if args.quick else 10_000)
    repeats = args.repeats or (2 if args.quick else 5)
    laws = ["student_t:df=3,scale=0.5"] if args.quick else ["student_t:df=3,scale=0.5", "gaussian:std=0.5"]
    print("engine compile time (subprocesses; clipped SGD; derive = sympy + check + codegen + numba; "
          "first predict includes compiling the integrator for the pair)")
    print(f"{'noise':<28} {'run':<5} {'from_cache':<10} {'kind':<12} {'import':>7} {'derive':>8} "
          f"{'1st pred':>8} {'wall':>7}")
    for law in laws:
        cold, warm = compile_times(law)
        for tag, r in (("cold", cold), ("warm", warm)):
            print(f"{law:<28} {tag:<5} {str(r['from_cache']):<10} {r['kind']:<12} {r['import']:>7.2f} "
                  f"{r['derive']:>8.2f} {r['first_predict']:>8.2f} {r['wall']:>7.2f}")
    print(f"\npredict_risk, warm, power law α = 0.3, d = {d}, t ∈ [0, 100] (201 times), {repeats} repeats "
          "(min / median, s)")
    for law in laws:
        r = predict_times(law, d, repeats)
        verdict = "within 2x" if r["ratio_min"] <= 2 else "SLOWER than 2x"
        print(f"{law:<28} SGD {r['sgd'][0]:.3f} / {r['sgd'][1]:.3f}   clipped {r['clipped'][0]:.3f} / "
              f"{r['clipped'][1]:.3f}   ratio {r['ratio_min']:.2f} (min) {r['ratio_median']:.2f} (median): "
              f"{verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
