"""``hdlimits feature-learning``: compare layer-wise preconditioners on linear representation learning
and write the figure (docs/feature_learning.md §6).

Runs :func:`hdlimits.feature_learning.compare_methods` on a
:class:`~hdlimits.feature_learning.LinearRepresentation` task, prints the final subspace distance,
training loss and transfer loss of every method (Monte Carlo mean ± standard error) and writes the
three-panel figure (Zhang et al., ICML 2025, arXiv 2502.01763, Fig.-1 style).
"""
from __future__ import annotations

import sys

from hdlimits.cli.arguments import Formatter, wrap

__all__ = ["add_cli", "run"]


def _methods(text):
    return [m.strip() for m in text.split(",") if m.strip()]


def add_cli(subparsers):
    """Add the ``feature-learning`` subcommand."""
    from hdlimits.feature_learning.methods import METHODS
    p = subparsers.add_parser(
        "feature-learning", help="layer-wise preconditioning on linear representation learning (figure)",
        description=wrap("Linear representation learning y = F*G*x + ε with anisotropic inputs "
                         "x = Σ^{1/2}ξ: train the representation G with SGD, the KFAC-like layer-wise "
                         "preconditioner, diagonal (Adam-like) factors, batch-norm or joint NGD (head refit "
                         "by least squares each step, except NGD), and plot subspace distance, training "
                         "loss and transfer loss per step (mean ± s.e. over runs). lr is scale-free: the "
                         "step is lr/L with L the preconditioned curvature (docs/feature_learning.md)."),
        formatter_class=Formatter)
    g = p.add_argument_group("task")
    g.add_argument("--d-x", type=int, default=50, dest="d_x", help="input dimension d_x")
    g.add_argument("--k", type=int, default=3, help="representation rank k ≤ d_x")
    g.add_argument("--d-y", type=int, default=5, dest="d_y", help="output dimension d_y")
    g.add_argument("--kappa", type=float, default=100.0, help="condition number κ(Σ) ≥ 1")
    g.add_argument("--noise-std", type=float, default=0.1, dest="noise_std", help="label noise σ")
    g.add_argument("--data", choices=["rademacher", "gaussian"], default="rademacher", help="ξ law")
    g.add_argument("--task-seed", type=int, default=0, dest="task_seed", help="seed of Σ, G*, F*, F_test")
    r = p.add_argument_group("training")
    r.add_argument("--methods", type=_methods, default=list(METHODS), metavar="M1,M2,...",
                   help=f"methods among {','.join(METHODS)}")
    r.add_argument("--steps", type=int, default=200, help="number of steps")
    r.add_argument("--batch", type=int, default=256, help="fresh samples per step")
    r.add_argument("--lr", type=float, default=0.5, help="scale-free step (lr < 2 is stable)")
    r.add_argument("--runs", type=int, default=8, help="Monte Carlo runs per method")
    r.add_argument("--seed", type=int, default=1, help="seed of the runs (spawned per run)")
    r.add_argument("--figure", default="feature_learning.png", help="figure file (PNG, PDF, SVG)")
    p.set_defaults(func=run)


def run(args, out=None) -> int:
    from hdlimits import feature_learning as fl
    out = out or sys.stdout
    task = fl.LinearRepresentation(args.d_x, args.k, args.d_y, args.kappa, args.noise_std, args.data,
                                   args.task_seed)
    res = fl.compare_methods(task, args.methods, steps=args.steps, batch=args.batch, lr=args.lr,
                             seed=args.seed, runs=args.runs)
    print(f"task:       {task!r}", file=out)
    print(f"training:   steps {args.steps}, batch {args.batch}, lr {args.lr:g}, runs {args.runs}, "
          f"seed {args.seed}", file=out)
    print(f"{'method':<10} {'subspace distance':>22} {'train loss':>22} {'transfer loss':>22}", file=out)
    for m, r in res.items():
        cells = [f"{c.mean[-1]:.4g} ± {c.stderr[-1]:.2g}" for c in
                 (r.subspace_distance, r.train_loss, r.transfer_loss)]
        print(f"{m:<10} {cells[0]:>22} {cells[1]:>22} {cells[2]:>22}", file=out)
    fl.plot(res, path=args.figure, title=f"κ = {args.kappa:g}, d_x = {args.d_x}, k = {args.k}, "
                                         f"d_y = {args.d_y}, batch {args.batch}, {args.runs} runs")
    print(f"figure:     {args.figure}", file=out)
    return 0
