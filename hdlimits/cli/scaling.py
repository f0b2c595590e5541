"""``hdlimits scaling``: the compute-optimal frontier of SGD on power-law random features
(docs/scaling.md §4–§5); ``--diagram PATH`` also draws the (α, β) phase plane."""
from __future__ import annotations

import sys

import numpy as np


def add_cli(subparsers):
    """Add the ``scaling`` subcommand."""
    p = subparsers.add_parser(
        "scaling", help="compute-optimal frontier d*(f), loss*(f) of SGD on power-law random features",
        description="Loss 𝒫(d, f) of one-pass SGD on PLRF (arXiv 2405.15074) from the limiting equations, "
                    "its minimum over d at each compute f = B·d·steps, and the fitted exponents with "
                    "standard errors; the phase of (alpha, beta) and the heuristic exponents.")
    p.add_argument("--alpha", type=float, required=True, help="data exponent α > 0 (D_j = j^(−2α))")
    p.add_argument("--beta", type=float, required=True, help="target exponent β (b_j = j^(−β))")
    p.add_argument("--d-min", type=float, default=16.0)
    p.add_argument("--d-max", type=float, default=512.0)
    p.add_argument("--n-d", type=int, default=11)
    p.add_argument("--flops-min", type=float, default=1e4)
    p.add_argument("--flops-max", type=float, default=1e9)
    p.add_argument("--n-flops", type=int, default=26)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--method", choices=["auto", "explicit", "deterministic"], default="auto",
                   help="PLRF spectrum: one draw of W per d (explicit) or the deterministic equivalent")
    p.add_argument("--diagram", default=None, metavar="PATH", help="also write the (α, β) phase plane PNG")
    p.set_defaults(func=run)
    return p


def run(args, out=None) -> int:
    from hdlimits import scaling
    out = out or sys.stdout
    for name in ("n_d", "n_flops"):
        if getattr(args, name) < 3:
            raise ValueError(f"--{name.replace('_', '-')} must be ≥ 3, got {getattr(args, name)}")
    if not (0 < args.flops_min < args.flops_max) or not (4 <= args.d_min < args.d_max):
        raise ValueError("need 0 < --flops-min < --flops-max and 4 ≤ --d-min < --d-max")
    d = np.geomspace(args.d_min, args.d_max, args.n_d)
    f = np.geomspace(args.flops_min, args.flops_max, args.n_flops)
    fr = scaling.compute_optimal(args.alpha, args.beta, flops=f, d=d, batch=args.batch, method=args.method)
    print(f"PLRF alpha = {args.alpha:g}, beta = {args.beta:g}, batch = {args.batch}; loss = 𝒫 (= 2·risk)",
          file=out)
    print(fr.table(), file=out)
    if args.diagram:
        from hdlimits.phase.scaling_law import heuristic_plane
        heuristic_plane(args.diagram, fits=[(args.alpha, args.beta, fr.d_exponent, fr.d_exponent_se)])
        print(f"diagram: {args.diagram}", file=out)
    return 0
