"""Benchmark of the data-moment limit on a dataset problem (docs/datasets.md §3, §4): the constant-lr
propagator against the step-by-step recursion (same problem, same run), and the stability edge.

Data: scikit-learn's bundled digits (1797 × 64) through random ReLU features when scikit-learn is
installed, else Gaussian inputs of the same shape; fresh N(0, 0.3²) label noise on a linear teacher.

Usage: python scripts/bench_dataset.py [--quick]   (default d = 256, 1024; --quick: d = 256)
"""
import sys
import time
import warnings

import numpy as np

import hdlimits as hd
from hdlimits.models.dataset.limit import predict_dataset


def _inputs():
    try:
        from sklearn.datasets import load_digits
        return load_digits().data, "digits"
    except ImportError:                                   # pragma: no cover - optional extra
        return np.random.default_rng(0).uniform(0, 16, size=(1797, 64)), "uniform inputs"


def _problem(d):
    A, name = _inputs()
    rng = np.random.default_rng(0)
    F = hd.features.relu(d, seed=0)(A)
    y = F @ (rng.standard_normal(d) / np.sqrt(d)) + 0.3 * rng.standard_normal(len(F))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob = hd.Problem.from_dataset(F, y)
        prob.rows_eigen
    return prob, name


def bench(d, t_max, t_rec):
    prob, name = _problem(d)
    opt = hd.SGD(lr=1.5)
    t0 = time.perf_counter()
    edge = hd.critical_lr(prob, opt)
    t_edge = time.perf_counter() - t0
    t = np.concatenate([[0.0], np.geomspace(1e-2, t_max, 100)])
    t0 = time.perf_counter()
    prop = predict_dataset(prob, opt, t, method="propagator")
    t_prop = time.perf_counter() - t0
    tr = t[t <= t_rec]
    t0 = time.perf_counter()
    rec = predict_dataset(prob, opt, tr, method="recursion")
    t_r = time.perf_counter() - t0
    steps_all, steps_rec = prop.info["steps"], rec.info["steps"]
    t_r_all = t_r * steps_all / max(steps_rec, 1)
    gap = float(np.max(np.abs(prop.excess_risk[:tr.size] / rec.excess_risk - 1)[1:]))
    print(f"{name} relu:{d} (n = {prob.n}), SGD γ = 1.5, t ∈ [0, {t_max:g}] ({steps_all} steps, 100 outputs):")
    print(f"  propagator {t_prop:.2f} s ({prop.info['forcing_evaluations']} forcing evaluations); recursion "
          f"{t_r:.2f} s for t ≤ {t_rec:g} ({steps_rec} steps)"
          + (f" -> {t_r_all:.1f} s for the horizon (scaled by steps)" if steps_rec < steps_all else "")
          + f"; ratio {t_r_all / t_prop:.1f}x; max relative difference {gap:.1e}")
    print(f"  stability edges in {t_edge:.2f} s: {edge}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    bench(256, 20.0, 20.0)
    if not quick:
        bench(1024, 100.0, 1.0)


if __name__ == "__main__":
    main()
