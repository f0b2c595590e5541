"""Benchmark of the PLRF deterministic equivalent (docs/scaling.md §3): build time of
``hd.Problem.plrf(method="deterministic")`` at (v, d) = (4·10⁴, 10⁴) and (10⁷, 10⁵), α = 0.8, β = 0.6, and
its accuracy numbers: the relative error of θ*ᵀKθ* = 𝒫(0) − 𝒫* carried by the raw spectrum (before the
bulk is normalised), the number of atoms, the bulk normalisation factors, the atoms' mass error and
tr K against Σ_j D_j, both sizes from one run (≈ 1–2 s each on a quiet machine). Usage:
python scripts/bench_plrf.py [--quick] (--quick is accepted for scripts/bench.py and changes nothing)."""
from __future__ import annotations

import argparse
import time

import numpy as np

import hdlimits as hd


def run():
    hd.Problem.plrf(v=1600, d=400, alpha=0.8, beta=0.6, method="deterministic")     # compile
    for v, d in ((4 * 10 ** 4, 10 ** 4), (10 ** 7, 10 ** 5)):
        t0 = time.perf_counter()
        p = hd.Problem.plrf(v=v, d=d, alpha=0.8, beta=0.6, method="deterministic")
        sec = time.perf_counter() - t0
        i = p.info
        print(f"plrf deterministic v={v:.0e} d={d:.0e}: build {sec:.2f} s, {i['nodes']} nodes, {i['atoms']} atoms; "
              f"θ*ᵀKθ* raw rel. error {i['target_mass_error']:.1e}, bulk factors mass "
              f"{i['bulk_mass_factor']:.5f} forcing {i['bulk_forcing_factor']:.5f}, atom mass error "
              f"{i['atom_mass_error']:.1e}, tr K rel. error {abs(np.sum(p.mass * p.lam) / d - 1):.1e}")


def main(argv=None):
    """Entry point (also called by scripts/bench.py with ``["--quick"]`` or ``[]``)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="accepted, no effect (both sizes are cheap)")
    ap.parse_args(argv)
    run()


if __name__ == "__main__":
    main()
