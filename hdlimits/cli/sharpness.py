"""``hdlimits sharpness predict|simulate|compare``: the sharpness family (:mod:`hdlimits.sharpness`,
docs/sharpness.md, docs/sharpness_quadratic.md) from the command line.

Models (``--model``): ``linear-mp`` (``hs.LinearModel.marchenko_pastur(D, P, seed)``), ``linear-ntk``
(``hs.LinearModel.from_ntk`` with the power-law NTK ``λ_i ∝ (1+i)^-alpha`` normalised to ``tr Θ = D``,
Haar eigenvectors) and ``wide`` (``hs.QuadraticModel.wide(ntk, P, sigma2, residual0, seed)``, Agarwala &
Pennington, arXiv 2404.19261). Optimizers: ``sgd`` (``hd.SGD(lr, batch)``), ``gd`` (``hd.GD(lr)``) and
``sam`` (``hd.SAM(lr, rho, batch=None)``).

Conventions (docs/conventions.md §9): ``--lr`` is the step η itself (θ ← θ − η Jᵀ P̃ z), not the
streaming γ/d; time is the step count; the loss is the sum loss ``L = ½‖z‖²``; the sharpness is λ_max of
the (mean) NTK. Errors and outputs follow the rest of the command (:mod:`hdlimits.cli.main`,
:mod:`hdlimits.cli.outputs`).

Example::

    hdlimits sharpness compare --model linear-mp --D 200 --optimizer sgd --lr 0.1 --batch 20 \\
                               --steps 200 --runs 50 --plot seos.png
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np

from hdlimits.cli.arguments import OUTPUT_RULES, Formatter, add_output_arguments, csv_floats, wrap
from hdlimits.cli.commands import write_outputs
from hdlimits.cli.errors import naming_options
from hdlimits.cli.notices import capture, merge
from hdlimits.cli.outputs import check_outputs

__all__ = ["add_cli", "run", "build_model", "build_optimizer", "ACTIONS", "MODELS", "DEFAULT_NTK"]

ACTIONS = ("predict", "simulate", "compare")
#: model name → one-line description
MODELS = {"linear-mp": "constant NTK Θ = JJᵀ, J_ip ~ N(0, 1/P) (Marchenko–Pastur spectrum), z0 = −y",
          "linear-ntk": "constant NTK with power-law eigenvalues λ_i ∝ (1+i)^-alpha, tr Θ = D, Haar "
                        "eigenvectors, z0 = −y",
          "wide": "wide fixed-D quadratic model, NTK eigenvalues --ntk, P parameters, Q variance "
                  "--sigma2 (conservative sharpening)",
          "single-output": "D = 1 second-order model z = z0 + J0·θ + ½θᵀQθ, Q = diag(--q), exact "
                           "sympy-derived map (predict only; default the P = 2 instance J0 = (0.3, 0.4), "
                           "Q = diag(1, 0.2), z0 = −3)",
          "proportional": "proportional random second-order ensemble (D, P, --eps), θ-space simulation "
                          "(simulate only; GD, SGD, SAM, tuned GD)"}
LINEAR_METHODS = ("exact", "modes")
WIDE_METHODS = ("mean-ntk", "first-order")
#: NTK eigenvalues of the wide model when --ntk is not given (the example of docs/sharpness_quadratic.md)
DEFAULT_NTK = (1.6, 1.2, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5)

CONVENTIONS = """\
conventions (docs/sharpness.md):
  D data points, residual z = f(θ) − y, sum loss L = ½‖z‖², NTK Θ = JJᵀ.
  lr is the step η itself, time is the step count, not the streaming γ/d:
    each step is θ ← θ − η Jᵀ P̃ z (P̃: the minibatch operator, mean I).
  loss = E L = ½E‖z‖²; sharpness = λ_max of the (mean) NTK.
  the stochastic edge of stability is 𝒦(η, B) = 1 (hs.critical_lr); a
  diverged run (loss > 1e10 × initial) is a status, not an error."""


def add_cli(subparsers):
    """Add the ``sharpness`` subcommand to an argparse ``subparsers`` object."""
    models = "\n".join(wrap(f"  {k}: {v}", 77) for k, v in MODELS.items())
    p = subparsers.add_parser(
        "sharpness", help="sharpness family: predict / simulate / compare on finite datasets",
        description=(wrap("Sharpness dynamics on a finite dataset of D points: the loss and the NTK "
                          "sharpness of GD, SGD and SAM, from the theory (predict), Monte Carlo "
                          "(simulate) or both (compare). lr is the step η itself, time is the step "
                          "count, not the streaming γ/d.") + "\n\nmodels:\n" + models),
        epilog=CONVENTIONS + "\n\n" + OUTPUT_RULES, formatter_class=Formatter)
    p.add_argument("action", choices=ACTIONS, help="predict: theory; simulate: Monte Carlo; compare: both "
                   "and their gap with a verdict")
    g = p.add_argument_group("model")
    g.add_argument("--model", choices=list(MODELS), default="linear-mp", help="the model (see above)")
    g.add_argument("--D", type=int, default=None, dest="D",
                   help="linear models: number of data points D (default 200); wide: len(--ntk)")
    g.add_argument("--P", type=int, default=None, dest="P",
                   help="linear-mp: parameters P (default 2D, i.e. D/P = ½); wide: P ≥ D (default 200)")
    g.add_argument("--alpha", type=float, default=None,
                   help="linear-ntk: power-law exponent, λ_i ∝ (1+i)^-alpha (default 1)")
    g.add_argument("--ntk", type=csv_floats, default=None, metavar="L1,L2,...",
                   help="wide: NTK eigenvalues at initialisation (default "
                        + ",".join(f"{x:g}" for x in DEFAULT_NTK) + ")")
    g.add_argument("--sigma2", type=float, default=None, help="wide: variance scale σ² of Q (default 0.01)")
    g.add_argument("--residual0", type=float, default=None,
                   help="wide: initial residual of every data point (default 1)")
    g.add_argument("--model-seed", type=int, default=0, help="seed of the model's random parts")
    g.add_argument("--eps", type=float, default=None, help="proportional: nonlinearity ε of Q (default 1)")
    g.add_argument("--q", type=csv_floats, default=None, metavar="Q1,Q2,...",
                   help="single-output: eigenvalues of the diagonal Q (default 1,0.2)")
    g.add_argument("--J0", type=csv_floats, default=None, metavar="J1,J2,...", dest="J0",
                   help="single-output: initial Jacobian J0 (default 0.3,0.4)")
    o = p.add_argument_group("optimizer (lr is the step η itself, time is the step count, not the "
                             "streaming γ/d)")
    o.add_argument("--optimizer", choices=["sgd", "gd", "sam"], default="sgd",
                   help="sgd: SGD(lr, batch); gd: GD(lr), full batch; sam: SAM(lr, rho), full batch "
                        "unless --batch")
    o.add_argument("--lr", type=float, default=0.1,
                   help="the step η itself (θ ← θ − η Jᵀ P̃ z); not γ/d")
    o.add_argument("--batch", type=int, default=None,
                   help="sgd: batch size B, 1 ≤ B ≤ D (default 10, or D when smaller); sam: optional "
                        "minibatch (simulation only)")
    o.add_argument("--rho", type=float, default=None, help="sam: ascent radius ρ ≥ 0 (default 0.05)")
    o.add_argument("--normalized", action="store_true", help="sam: normalised ascent ρ g/‖g‖")
    o.add_argument("--tuner", choices=["cdat", "polyak", "armijo"], default=None,
                   help="gd on --model proportional: tune the step with hd.tuners.CDAT(--sigma, --ema), "
                        "Polyak(--c, --lr-max) or Armijo(--c, --lr-max) (then --lr is ignored)")
    o.add_argument("--sigma", type=float, default=None, help="cdat: σ > 0 (default 2, on edge)")
    o.add_argument("--ema", type=float, default=None, help="cdat: EMA weight in [0, 1) (default 0)")
    o.add_argument("--c", type=float, default=None, help="polyak (default 0.5) / armijo (default 1e-4): c")
    o.add_argument("--lr-max", type=float, default=None, dest="lr_max",
                   help="polyak / armijo: largest step (default 10)")
    o.add_argument("--sampling", choices=["without_replacement", "with_replacement", "bernoulli"],
                   default="without_replacement", help="how minibatches are drawn")
    t = p.add_argument_group("theory and simulation")
    t.add_argument("--steps", type=int, default=100, help="number of steps (time is the step count)")
    t.add_argument("--method", default=None,
                   help="theory: linear models exact (default up to D = 2000) | modes; wide mean-ntk "
                        "(default) | first-order")
    t.add_argument("--runs", type=int, default=None,
                   help="simulation: runs (linear: batch sequences, default 50; wide: batch sequences "
                        "per Q draw, default 8)")
    t.add_argument("--draws", type=int, default=None, help="wide simulation: Q draws (default 4)")
    t.add_argument("--seed", type=int, default=1, help="seed of the simulation")
    t.add_argument("--every", type=int, default=None,
                   help="proportional: record the sharpness every k steps (default 5)")
    t.add_argument("--figure", metavar="PATH", default=None,
                   help="single-output / proportional: sharpness vs step with the 2/η (or λ_SAM) line, "
                        "the loss on a log axis and, for tuners, η_t·λ_max (PNG)")
    add_output_arguments(p, "loss", ("loss", "sharpness", "hessian_sharpness"))
    p.set_defaults(func=run)
    return p


# ------------------------------------------------------------------------------------ building

_ONLY = {"alpha": ("linear-ntk",), "ntk": ("wide",), "sigma2": ("wide",),
         "residual0": ("wide", "single-output"), "draws": ("wide",), "eps": ("proportional",),
         "q": ("single-output",), "J0": ("single-output",), "tuner": ("proportional",),
         "every": ("proportional",), "figure": ("single-output", "proportional")}
_SECOND = ("single-output", "proportional")


def _check_options(args):
    for dest, models in _ONLY.items():
        if getattr(args, dest) is not None and args.model not in models:
            raise ValueError(f"--{dest} applies only to --model {' or '.join(models)} (got --model "
                             f"{args.model})")
    if args.P is not None and args.model in ("linear-ntk", "single-output"):
        raise ValueError(f"--P applies only to --model linear-mp, wide or proportional (got --model {args.model})")
    if args.model in _SECOND:
        if args.method is not None:
            raise ValueError(f"--method does not apply to --model {args.model}")
        if args.model == "single-output" and args.action != "predict":
            raise ValueError("--model single-output has the exact map only: use 'sharpness predict'")
        if args.model == "proportional" and args.action != "simulate":
            raise ValueError("--model proportional has no theory: use 'sharpness simulate'")
    if args.tuner is not None and args.optimizer != "gd":
        raise ValueError(f"--tuner applies only to --optimizer gd (got --optimizer {args.optimizer})")
    for name in ("sigma", "ema"):
        if getattr(args, name) is not None and args.tuner != "cdat":
            raise ValueError(f"--{name} applies only to --tuner cdat")
    for name in ("c", "lr_max"):
        if getattr(args, name) is not None and args.tuner not in ("polyak", "armijo"):
            raise ValueError(f"--{name.replace('_', '-')} applies only to --tuner polyak or armijo")
    if args.normalized and args.optimizer != "sam":
        raise ValueError("--normalized applies only to --optimizer sam")
    if args.rho is not None and args.optimizer != "sam":
        raise ValueError(f"--rho applies only to --optimizer sam (got --optimizer {args.optimizer})")
    if args.batch is not None and args.optimizer == "gd":
        raise ValueError("--batch does not apply to --optimizer gd (full batch); use --optimizer sgd")
    if args.model in _SECOND:
        if args.steps < 1:
            raise ValueError(f"--steps must be an integer ≥ 1, got {args.steps}")
        return
    methods = WIDE_METHODS if args.model == "wide" else LINEAR_METHODS
    if args.method is not None and args.method not in methods:
        raise ValueError(f"--method must be one of {', '.join(methods)} for --model {args.model}, "
                         f"got {args.method!r}")
    if args.steps < 1:
        raise ValueError(f"--steps must be an integer ≥ 1, got {args.steps}")
    if args.quantity == "sharpness" and args.model != "wide" and args.action == "compare":
        raise ValueError("--quantity sharpness: the linear models have a constant NTK, nothing to "
                         "compare; use --model wide or --quantity loss")


def build_model(args):
    """The sharpness model of the parsed options."""
    from hdlimits import sharpness as hs
    with naming_options(args, {"seed": "--model-seed"}):
        if args.model == "single-output":
            J0 = [0.3, 0.4] if args.J0 is None else args.J0
            q = [1.0, 0.2] if args.q is None else args.q
            if len(q) != len(J0):
                raise ValueError(f"--q: Q = diag(--q) must have len(--J0) = {len(J0)} entries, got {len(q)}")
            return hs.QuadraticModel.single_output(J0=J0, Q=np.diag(q),
                                                   residual0=-3.0 if args.residual0 is None else args.residual0)
        if args.model == "proportional":
            D = 100 if args.D is None else args.D
            return hs.QuadraticModel.proportional(D=D, P=2 * D if args.P is None else args.P,
                                                  eps=1.0 if args.eps is None else args.eps, seed=args.model_seed)
        if args.model == "wide":
            ntk = args.ntk if args.ntk is not None else list(DEFAULT_NTK)
            if args.D is not None and args.D != len(ntk):
                raise ValueError(f"--D: the wide model has D = len(--ntk) = {len(ntk)} data points "
                                 f"(got --D {args.D}); give --ntk with D values instead")
            return hs.QuadraticModel.wide(ntk=ntk, P=200 if args.P is None else args.P,
                                          sigma2=0.01 if args.sigma2 is None else args.sigma2,
                                          residual0=1.0 if args.residual0 is None else args.residual0,
                                          seed=args.model_seed)
        D = 200 if args.D is None else args.D
        if D < 2:
            raise ValueError(f"--D must be an integer ≥ 2, got {D}")
        if args.model == "linear-mp":
            return hs.LinearModel.marchenko_pastur(D, 2 * D if args.P is None else args.P,
                                                   seed=args.model_seed)
        alpha = 1.0 if args.alpha is None else args.alpha
        if not (math.isfinite(alpha) and alpha >= 0):
            raise ValueError(f"--alpha must be a finite number ≥ 0, got {alpha}")
        return hs.LinearModel.from_ntk(power_law_ntk(D, alpha), basis="haar", seed=args.model_seed)


def power_law_ntk(D, alpha):
    """Eigenvalues ``(1+i)^-alpha``, i = 0..D−1, scaled to mean 1 (``tr Θ = D``); the NTK of
    ``--model linear-ntk`` and of ``hdlimits phase stochastic-eos --model power-law``."""
    from hdlimits.phase.stochastic_eos import power_law_ntk as _pl
    return _pl(D, alpha)


def build_optimizer(args, D):
    """The optimizer of the parsed options (``D``: the model's number of data points)."""
    import hdlimits as hd
    with naming_options(args):
        if args.optimizer == "gd":
            if args.tuner == "cdat":
                return hd.GD(lr=hd.tuners.CDAT(sigma=2.0 if args.sigma is None else args.sigma,
                                               ema=0.0 if args.ema is None else args.ema))
            if args.tuner in ("polyak", "armijo"):
                cls = hd.tuners.Polyak if args.tuner == "polyak" else hd.tuners.Armijo
                c = (0.5 if args.tuner == "polyak" else 1e-4) if args.c is None else args.c
                return hd.GD(lr=cls(c=c, lr_max=10.0 if args.lr_max is None else args.lr_max))
            return hd.GD(lr=args.lr)
        if args.optimizer == "sam":
            return hd.SAM(lr=args.lr, rho=0.05 if args.rho is None else args.rho, batch=args.batch,
                          normalized=args.normalized)
        batch = min(10, D) if args.batch is None else args.batch
        if not 1 <= batch <= D:
            raise ValueError(f"--batch must be an integer in [1, {D}] (at most D = {D} data points), "
                             f"got {batch}")
        return hd.SGD(lr=args.lr, batch=batch)


# ------------------------------------------------------------------------------------ running

def _theory(args, model, opt):
    from hdlimits import sharpness as hs
    kw = {} if args.model in _SECOND else {"sampling": args.sampling}
    if args.method is not None:
        kw["method"] = args.method
    start = time.perf_counter()
    with capture() as warned, naming_options(args):
        th = hs.predict(model, opt, args.steps, **kw)
    return th, time.perf_counter() - start, warned


def _simulation(args, model, opt):
    from hdlimits import sharpness as hs
    kw = {"seed": args.seed, "sampling": args.sampling}
    if args.model == "proportional":
        kw = {"seed": args.seed, "runs": 1 if args.runs is None else args.runs,
              "every": 5 if args.every is None else args.every}
    elif args.model == "wide":
        kw["runs"] = 8 if args.runs is None else args.runs
        kw["draws"] = 4 if args.draws is None else args.draws
    else:
        kw["runs"] = 50 if args.runs is None else args.runs
    start = time.perf_counter()
    with capture() as warned, naming_options(args):
        sim = hs.simulate(model, opt, args.steps, **kw)
    return sim, time.perf_counter() - start, warned


def _fmt(x):
    x = float(x)
    if math.isnan(x):
        return "n/a"
    return ("inf" if x > 0 else "-inf") if math.isinf(x) else format(x, ".6g")


def _values_line(res):
    parts = []
    for name in ("loss", "sharpness", "hessian_sharpness"):
        if name not in res:
            continue
        vals = np.asarray(getattr(res, name, np.array([])), dtype=np.float64)
        if vals.ndim == 1 and vals.size:
            parts.append(f"{name} {_fmt(vals[0])} → {_fmt(vals[-1])}")
    return f"step 0 → {int(res.step[-1])}: " + ", ".join(parts)


def _print_result(kind, res, seconds, warned, out):
    if kind == "theory":
        head = f"theory:     method {res.method}, status {res.status}, {seconds:.3g} s"
    else:
        head = (f"simulation: {res.runs} run{'s' if res.runs != 1 else ''}, seed {res.seed}, "
                f"status {res.status}, {seconds:.3g} s")
    print(head, file=out)
    for msg in merge(warned, res.warnings):
        print(f"warning:    {msg}", file=out)
    print(f"            {_values_line(res)}", file=out)


def run(args, out=None) -> int:
    """Run ``hdlimits sharpness ACTION`` for parsed arguments."""
    _check_options(args)
    check_outputs(args, ("csv", "json", "plot", "figure"))
    model = build_model(args)
    opt = build_optimizer(args, model.D)
    out = out or sys.stdout
    theory = sim = None
    if args.action in ("predict", "compare"):
        theory, th_sec, th_warned = _theory(args, model, opt)
    if args.action in ("simulate", "compare"):
        sim, sim_sec, sim_warned = _simulation(args, model, opt)
    if args.action == "compare":
        from hdlimits.compare import compare
        with capture() as cmp_warned:
            comp = compare(theory, sim, quantity=args.quantity)
        write_outputs(args, comp, theory, sim)
    else:
        write_outputs(args, theory if sim is None else sim, theory, sim)
    print(f"model:      {model.describe()}", file=out)
    print(f"optimizer:  {opt.describe()}, sampling {args.sampling} (lr = η itself; time = step count)",
          file=out)
    if theory is not None:
        _print_result("theory", theory, th_sec, th_warned, out)
    if sim is not None:
        _print_result("simulation", sim, sim_sec, sim_warned, out)
    if args.action == "compare":
        for msg in merge(cmp_warned):
            print(f"warning:    {msg}", file=out)
        print(comp, file=out)
    if getattr(args, "figure", None):
        from hdlimits.models.sharpness.second_order_plot import sharpness_figure
        sharpness_figure(theory if sim is None else sim, path=args.figure,
                         title=f"{model.describe()} — {opt.describe()}")
    for opt_name in ("csv", "json", "plot", "figure"):
        if getattr(args, opt_name):
            print(f"wrote {opt_name}: {getattr(args, opt_name)}", file=out)
    return 0
