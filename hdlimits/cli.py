"""The ``hdlimits`` command: ``predict``, ``simulate`` and ``compare`` (plus commands added by
extension modules).

Examples::

    hdlimits predict  --problem power-law --d 2000 --alpha 0.8 --optimizer sgd --lr 1.2 --t-max 20
    hdlimits simulate --problem isotropic --d 500 --lr 0.5 --runs 16 --csv sim.csv
    hdlimits compare  --problem power-law --d 2000 --alpha 0.8 --optimizer sgd --lr 1.2 --t-max 20 \\
                      --runs 8 --plot sgd.png

Conventions (CONVENTIONS.md): time ``t = steps/d``; the learning rate ``γ`` (``--lr``) is such that every
step is ``θ ← θ − (γ(t)/d)·u``; the risk ``½E[(⟨x,θ⟩ − y)²] = ½(eᵀKe + E ε²)`` includes the noise floor,
the excess risk ``½ eᵀKe`` does not; ``--initial-size`` is ``‖K^{1/2} e_0‖² = 2 × initial excess risk``.

Extending the command
---------------------
- **Optimizers** are built from the table :data:`OPTIMIZERS` (name → ``builder(args, lr)``, where ``lr``
  is a number or a :mod:`hdlimits.core.schedules` schedule). A module adds one with
  :func:`register_optimizer`, which can also add the optimizer's own options (functions in
  :data:`OPTIMIZER_ARGUMENTS`, each called as ``add(group)`` with the "optimizer" argument group) and
  declare which options belong to it (:data:`OPTION_OWNERS`), so that giving them with another
  optimizer is an error.
- **Subcommands**: every module named in :data:`EXTRA_COMMAND_MODULES` that exists is imported and its
  ``add_cli(subparsers)`` registers a subparser with ``set_defaults(func=...)``; ``func(args)`` returns
  an exit code (or None for 0). Modules that do not exist are skipped; a module that fails to import
  raises. The helpers :func:`add_problem_arguments`, :func:`add_optimizer_arguments`,
  :func:`add_time_arguments`, :func:`build_problem`, :func:`build_optimizer` and :func:`build_times`
  are public so that such subcommands take the same options.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import math
import os
import sys
import textwrap
import time

import numpy as np

__all__ = ["main", "build_parser", "OPTIMIZERS", "OPTIMIZER_ARGUMENTS", "OPTIMIZER_HELP",
           "OPTION_OWNERS", "EXTRA_COMMAND_MODULES", "register_optimizer", "add_problem_arguments",
           "add_optimizer_arguments", "add_time_arguments", "add_integrator_arguments",
           "add_simulation_arguments", "add_output_arguments", "build_problem", "build_optimizer",
           "build_schedule", "build_times"]

PROG = "hdlimits"
DEFAULT_NOISE = "gaussian:std=0.3"
#: rows printed for a curve on stdout (the CSV/JSON outputs hold every time)
PRINT_ROWS = 15

CONVENTIONS = """\
conventions (CONVENTIONS.md):
  data x ~ N(0, K) in dimension d, labels y = <x, θ*> + ε, error e = θ − θ*.
  time t = steps/d: one unit of time is d steps (d·batch samples).
  learning rate γ (--lr): each step moves by γ/d, θ ← θ − (γ(t)/d)·u, with u the
    optimizer's direction (u = minibatch gradient for sgd); with tr K = d (both
    built-in problems) the SGD stability edge is near γ = 2.
  risk = ½E[(<x,θ> − y)²] = ½(eᵀKe + E ε²): the noise floor ½E ε² is included;
  excess risk = ½ eᵀKe.
  --initial-size is ‖K^½ e_0‖² = 2 × the initial excess risk.
  a divergence (eᵀKe > 1e10 × its initial scale) is a status, not an error."""


# ------------------------------------------------------------------------------------ optimizers

def _build_sgd(args, lr):
    from hdlimits.optimizers import SGD
    return SGD(lr=lr, batch=args.batch)


def _build_precond(args, lr):
    from hdlimits.optimizers import PreconditionedSGD
    return PreconditionedSGD(lr, preconditioner=args.preconditioner or "diag", batch=args.batch)


def _add_precond_arguments(group):
    group.add_argument(
        "--preconditioner", choices=["diag", "sqrt", "whiten"], default=None,
        help="fixed preconditioner P of --optimizer precond (u = P·g): diag = diag(K)^-1, "
             "sqrt = K^-1/2, whiten = K^-1 (default: diag)")


#: name → builder(args, lr) returning the optimizer; ``lr`` is a number or a Schedule
OPTIMIZERS = {"sgd": _build_sgd, "precond": _build_precond}
#: one-line descriptions shown by --help
OPTIMIZER_HELP = {"sgd": "minibatch SGD, u = g",
                  "precond": "SGD with a fixed preconditioner, u = P·g (see --preconditioner)"}
#: functions add(group) that add optimizer-specific options to the "optimizer" argument group
OPTIMIZER_ARGUMENTS = [_add_precond_arguments]
#: option dest → the optimizers it applies to (giving it with another optimizer is an error)
OPTION_OWNERS = {"preconditioner": {"precond"}}

#: modules that may add subcommands through ``add_cli(subparsers)``
EXTRA_COMMAND_MODULES = ["hdlimits.derivation.cli", "hdlimits.phase_cli"]


def register_optimizer(name, builder, add_arguments=None, help="", options=()):
    """Make ``--optimizer NAME`` available.

    builder : ``builder(args, lr) -> optimizer`` (``lr``: a number or a schedule; ``args``: the parsed
        namespace, which holds ``batch`` and any option added by ``add_arguments``).
    add_arguments : optional ``add(group)`` adding this optimizer's own options (use defaults of None
        so that :func:`build_optimizer` can tell whether an option was given).
    help : one line for ``--help``. options : the ``dest`` names of the options that belong to this
        optimizer only.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"optimizer name must be a non-empty string, got {name!r}")
    OPTIMIZERS[name] = builder
    OPTIMIZER_HELP[name] = help
    if add_arguments is not None and add_arguments not in OPTIMIZER_ARGUMENTS:
        OPTIMIZER_ARGUMENTS.append(add_arguments)
    for dest in options:
        OPTION_OWNERS.setdefault(dest, set()).add(name)


def _build_sign(args, lr):
    from hdlimits.optimizers import SignSGD
    return SignSGD(lr, batch=args.batch)


def _build_adam(args, lr):
    from hdlimits.optimizers import Adam
    return Adam(lr, beta1=0.9 if args.beta1 is None else args.beta1,
                beta2=0.999 if args.beta2 is None else args.beta2,
                eps=1e-8 if args.adam_eps is None else args.adam_eps, batch=args.batch)


def _add_adam_arguments(group):
    group.add_argument("--beta1", type=float, default=None, help="Adam β1 in [0, 1) (default 0.9)")
    group.add_argument("--beta2", type=float, default=None, help="Adam β2 in [0, 1) (default 0.999)")
    group.add_argument("--adam-eps", type=float, default=None, help="Adam ε ≥ 0 (default 1e-8)")


register_optimizer("sign", _build_sign, help="signSGD, u = sign(g) (limit: batch 1)")
register_optimizer("adam", _build_adam, _add_adam_arguments, options=("beta1", "beta2", "adam_eps"),
                   help="Adam (simulated exactly; limit = the β2 → 1 conjecture, biased at β2 < 1)")


def _build_clipped(args, lr):
    from hdlimits.optimizers import ClippedSGD
    from hdlimits.optimizers.clipped import risk_adaptive
    if (args.clip is None) == (args.clip_kappa is None):
        raise ValueError("--optimizer clipped needs exactly one of --clip (gradient-norm threshold C > 0) "
                         "and --clip-kappa (risk-adaptive residual threshold κ√(eᵀKe + E ε²), κ > 0)")
    clip = args.clip if args.clip is not None else risk_adaptive(args.clip_kappa)
    return ClippedSGD(lr, clip=clip, batch=args.batch)


def _add_clipped_arguments(group):
    group.add_argument("--clip", type=float, default=None, metavar="C",
                       help="clipped: threshold C > 0 on the gradient norm ‖g‖₂ (as clip_grad_norm_); "
                            "the limit sees the residual threshold C/√tr K")
    group.add_argument("--clip-kappa", type=float, default=None, metavar="KAPPA",
                       help="clipped: risk-adaptive residual threshold κ·√(eᵀKe + E ε²), κ > 0")


def _build_normalized(args, lr):
    from hdlimits.optimizers import NormalizedSGD
    return NormalizedSGD(lr, batch=args.batch)


register_optimizer("clipped", _build_clipped, _add_clipped_arguments, options=("clip", "clip_kappa"),
                   help="clipped SGD, u = g·min(1, C/‖g‖) (--clip C or --clip-kappa; batch 1)")
register_optimizer("normalized", _build_normalized, help="normalized SGD, u = g/‖g‖ (batch 1)")


# ------------------------------------------------------------------------------------ arguments

def _wrap(text, width=79):
    """Wrap a paragraph for the raw-description help formatter."""
    return textwrap.fill(text, width)


def _csv_floats(text):
    """argparse type: '5,10,15' → [5.0, 10.0, 15.0]."""
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not vals:
        raise argparse.ArgumentTypeError("expected at least one number")
    return vals


def add_problem_arguments(parser):
    g = parser.add_argument_group("problem (data covariance K, initial error e_0, label noise)")
    g.add_argument("--problem", choices=["power-law", "isotropic"], default="power-law",
                   help="power-law: eigenvalues λ_j ∝ j^-alpha normalised to tr K = d, initial error "
                        "projections ⟨u_j, e_0⟩² ∝ j^-beta; isotropic: K = I, e_0 a random direction")
    g.add_argument("--d", type=int, default=1000, help="dimension d")
    g.add_argument("--alpha", type=float, default=None,
                   help="spectral decay exponent of the power-law problem (default 1.0)")
    g.add_argument("--beta", type=float, default=None,
                   help="decay exponent of the initial error of the power-law problem (default 1.0)")
    g.add_argument("--rotate", action="store_true",
                   help="power-law problem in a Haar-random eigenbasis (dense K; costs O(d²) memory "
                        "and O(d²) work per step in the simulation)")
    g.add_argument("--noise", default=DEFAULT_NOISE, metavar="SPEC",
                   help="label-noise law ε as name:key=value,...; e.g. gaussian:std=0.3, "
                        "student_t:df=3,scale=0.5, laplace:scale=0.2, rademacher:std=0.1, "
                        "uniform:half_width=0.5, none")
    g.add_argument("--initial-size", type=float, default=1.0,
                   help="‖K^½ e_0‖² = e_0ᵀKe_0, i.e. twice the initial excess risk")
    g.add_argument("--problem-seed", type=int, default=0,
                   help="seed of the problem's random parts (signs of e_0, rotation)")
    return g


def add_optimizer_arguments(parser):
    g = parser.add_argument_group(
        "optimizer (step θ ← θ − (γ(t)/d)·u, t = steps/d)",
        "\n".join(_wrap(f"{k}: {OPTIMIZER_HELP.get(k, '')}", 77) for k in sorted(OPTIMIZERS)))
    g.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="sgd", help="update rule")
    g.add_argument("--lr", type=float, default=1.0,
                   help="learning rate γ (peak value for decaying schedules); the step is γ/d")
    g.add_argument("--batch", type=int, default=1, help="minibatch size B (g = mean of B gradients)")
    for add in OPTIMIZER_ARGUMENTS:
        add(g)
    s = parser.add_argument_group(
        "learning-rate schedule γ(t) (t = steps/d)",
        "constant: γ\nwarmup:   linear from start-factor·γ to γ over [0, warmup-time], then γ\n"
        "cosine:   γ → final-lr over [0, cosine-time]\n"
        "step:     γ·decay-factor^(number of milestones ≤ t)\n"
        "power:    γ/(1 + t/t0)^power")
    s.add_argument("--schedule", choices=["constant", "warmup", "cosine", "step", "power"],
                   default="constant", help="shape of γ(t)")
    s.add_argument("--warmup-time", type=float, default=None, help="warmup: length of the ramp (time)")
    s.add_argument("--start-factor", type=float, default=None,
                   help="warmup: γ(0)/γ, in [0, 1] (default 0)")
    s.add_argument("--cosine-time", type=float, default=None,
                   help="cosine: time at which γ reaches --final-lr (default --t-max)")
    s.add_argument("--final-lr", type=float, default=None, help="cosine: final γ, in [0, lr] (default 0)")
    s.add_argument("--milestones", type=_csv_floats, default=None, metavar="T1,T2,...",
                   help="step: times at which γ is multiplied by --decay-factor")
    s.add_argument("--decay-factor", type=float, default=None, help="step: factor (default 0.1)")
    s.add_argument("--t0", type=float, default=None, help="power: time scale t0 (default 1)")
    s.add_argument("--power", type=float, default=None, help="power: exponent (default 1)")
    return g


def add_time_arguments(parser):
    g = parser.add_argument_group(
        "time grid (t = steps/d)",
        _wrap("Times are rounded to whole steps (multiples of 1/d), where the simulator records the "
              "risk, so theory and simulation are evaluated at the same t; t = 0 is always included.",
              77))
    g.add_argument("--t-max", type=float, default=10.0, help="last time")
    g.add_argument("--n-times", type=int, default=101, help="number of output times (before rounding)")
    g.add_argument("--log-times", action="store_true",
                   help="log-spaced times from --t-min to --t-max, plus t = 0")
    g.add_argument("--t-min", type=float, default=None,
                   help="first positive time of a --log-times grid (default max(1/d, t-max/1000))")
    return g


def add_integrator_arguments(parser):
    g = parser.add_argument_group("limiting equations")
    g.add_argument("--method", choices=["ode", "recursion"], default="ode",
                   help="ode: the continuous-time limit (exponential integrator with step control); "
                        "recursion: the expected per-step recursion at this d (exact for SGD on "
                        "Gaussian data)")
    g.add_argument("--rtol", type=float, default=1e-8, help="relative tolerance of --method ode")
    return g


def add_simulation_arguments(parser):
    g = parser.add_argument_group("simulation (streaming Monte Carlo at this d)")
    g.add_argument("--runs", type=int, default=8, help="independent runs (≥ 2 for a standard error)")
    g.add_argument("--seed", type=int, default=1,
                   help="seed of the simulation (the same seed gives the same result for any "
                        "--workers)")
    g.add_argument("--data", choices=["gaussian", "rademacher"], default="gaussian",
                   help="gaussian: x ~ N(0, K); rademacher: x = K^½ξ with ξ_j = ±1 (universality)")
    g.add_argument("--workers", type=int, default=None, help="worker threads (default: all CPUs)")
    g.add_argument("--no-progress", action="store_true",
                   help="no progress line on stderr (shown for runs longer than a few seconds)")
    return g


def add_output_arguments(parser, default_quantity):
    g = parser.add_argument_group("output (a summary table always goes to stdout)")
    g.add_argument("--csv", metavar="PATH", default=None, help="write every time to a CSV file")
    g.add_argument("--json", metavar="PATH", default=None,
                   help="write the curves and metadata to a JSON file (non-finite values as null)")
    g.add_argument("--plot", metavar="PATH", default=None,
                   help="save a figure (format from the suffix, e.g. .png)")
    g.add_argument("--quantity", choices=["risk", "excess_risk"], default=default_quantity,
                   help="quantity plotted" + (" and compared" if default_quantity == "excess_risk"
                                              else "") + ": risk (noise floor included) or "
                        "excess_risk = ½ eᵀKe")
    g.add_argument("--logx", action="store_true", help="logarithmic time axis in --plot")
    g.add_argument("--linear-y", action="store_true", help="linear y axis in --plot (default log)")
    return g


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the layout of descriptions and epilogs and shows defaults."""

    def _get_help_string(self, action):
        # show "(default: …)" only where the default is informative
        if action.default is None or action.default is False or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


# ------------------------------------------------------------------------------------ builders

def build_problem(args):
    """The :class:`~hdlimits.models.least_squares.problem.Problem` described by the problem options."""
    from hdlimits.core import noise as noise_mod
    from hdlimits.models.least_squares.problem import Problem
    law = noise_mod.parse(args.noise)
    if args.problem == "isotropic":
        for opt, val in (("--alpha", args.alpha), ("--beta", args.beta)):
            if val is not None:
                raise ValueError(f"{opt} applies only to --problem power-law (got --problem isotropic)")
        if args.rotate:
            raise ValueError("--rotate applies only to --problem power-law (K = I is rotation invariant)")
        return Problem.isotropic(args.d, noise=law, initial_size=args.initial_size,
                                 seed=args.problem_seed)
    alpha = 1.0 if args.alpha is None else args.alpha
    beta = 1.0 if args.beta is None else args.beta
    return Problem.power_law(args.d, alpha, beta, noise=law, initial_size=args.initial_size,
                             seed=args.problem_seed, rotate=args.rotate)


_SCHEDULE_OPTIONS = {"warmup": ("warmup_time", "start_factor"), "cosine": ("cosine_time", "final_lr"),
                     "step": ("milestones", "decay_factor"), "power": ("t0", "power"), "constant": ()}


def build_schedule(args):
    """The learning rate: a number for ``--schedule constant``, else a schedule from
    :mod:`hdlimits.core.schedules`."""
    from hdlimits.core import schedules as sch
    kind = args.schedule
    for other, dests in _SCHEDULE_OPTIONS.items():
        if other == kind:
            continue
        for dest in dests:
            if getattr(args, dest, None) is not None and dest not in _SCHEDULE_OPTIONS[kind]:
                raise ValueError(f"--{dest.replace('_', '-')} applies only to --schedule {other} "
                                 f"(got --schedule {kind})")
    lr = args.lr
    if kind == "constant":
        return sch.constant(lr).params[0]       # checks lr > 0
    if kind == "warmup":
        if args.warmup_time is None:
            raise ValueError("--schedule warmup needs --warmup-time (the length of the ramp, > 0)")
        return sch.linear_warmup(lr, args.warmup_time,
                                 0.0 if args.start_factor is None else args.start_factor)
    if kind == "cosine":
        T = args.t_max if args.cosine_time is None else args.cosine_time
        return sch.cosine(lr, T, 0.0 if args.final_lr is None else args.final_lr)
    if kind == "step":
        if args.milestones is None:
            raise ValueError("--schedule step needs --milestones T1,T2,... (times ≥ 0)")
        return sch.step(lr, args.milestones, 0.1 if args.decay_factor is None else args.decay_factor)
    return sch.power_decay(lr, 1.0 if args.t0 is None else args.t0,
                           1.0 if args.power is None else args.power)


def build_optimizer(args):
    """The optimizer named by ``--optimizer``, built by its entry in :data:`OPTIMIZERS`."""
    name = args.optimizer
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    for dest, owners in OPTION_OWNERS.items():
        if name not in owners and getattr(args, dest, None) is not None:
            raise ValueError(f"--{dest.replace('_', '-')} applies only to --optimizer "
                             f"{' or '.join(sorted(owners))} (got --optimizer {name})")
    return OPTIMIZERS[name](args, build_schedule(args))


def build_times(args, d):
    """The output times: ``--n-times`` points on ``[0, --t-max]`` (linear, or log-spaced from
    ``--t-min`` with ``t = 0`` added), rounded to multiples of ``1/d`` and de-duplicated."""
    t_max = args.t_max
    if not (math.isfinite(t_max) and t_max > 0):
        raise ValueError(f"--t-max must be a time in (0, inf), got {t_max}")
    if t_max * d < 0.5:
        raise ValueError(f"--t-max must be at least one step, 1/d = {1 / d:.3g} (got {t_max})")
    n = args.n_times
    if n < 2:
        raise ValueError(f"--n-times must be an integer ≥ 2, got {n}")
    if args.log_times:
        t_min = max(1.0 / d, t_max / 1000.0) if args.t_min is None else args.t_min
        if not (math.isfinite(t_min) and 0 < t_min < t_max):
            raise ValueError(f"--t-min must lie in (0, t-max) = (0, {t_max:g}), got {t_min}")
        t = np.concatenate([[0.0], np.geomspace(t_min, t_max, n - 1)])
    else:
        if args.t_min is not None:
            raise ValueError("--t-min applies only with --log-times")
        t = np.linspace(0.0, t_max, n)
    return np.unique(np.round(t * d)) / d


def _check_outputs(args):
    """Fail before any computation when an output file cannot be written."""
    for opt in ("csv", "json", "plot"):
        path = getattr(args, opt, None)
        if path is None:
            continue
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise ValueError(f"--{opt}: directory {parent!r} does not exist")
        if os.path.isdir(path):
            raise ValueError(f"--{opt}: {path!r} is a directory, give a file name")
    if getattr(args, "plot", None):
        suffix = os.path.splitext(args.plot)[1].lower().lstrip(".")
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        formats = FigureCanvasAgg(Figure()).get_supported_filetypes()
        if suffix not in formats:
            raise ValueError(f"--plot: the file suffix must be one of {sorted(formats)} "
                             f"(got {args.plot!r})")


# ------------------------------------------------------------------------------------ printing

def _fmt(x, spec=".6g"):
    x = float(x)
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return format(x, spec)


def _rows(n, max_rows=PRINT_ROWS):
    if n <= max_rows:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max_rows)).astype(int))


def _problem_line(prob):
    info = prob.describe()
    return (f"problem:    {info['label']}, noise {info['noise']}, ‖K^½e0‖² = "
            f"{2 * info['initial_excess_risk']:.4g}, λ_max = {info['lambda_max']:.4g}"
            f"{'' if info['diagonal'] else ' (dense K)'}")


def _header(prob, opt, out):
    print(_problem_line(prob), file=out)
    print(f"optimizer:  {opt.describe() if hasattr(opt, 'describe') else opt}", file=out)


def _print_theory(curve, out):
    info = curve.info
    method = {"ode": "ODE limit", "recursion": "expected per-step recursion"}[curve.method]
    print(f"theory:     {method}, status {curve.status}, {curve.t.size} times, "
          f"{info.get('steps', '?')} steps, {info.get('seconds', math.nan):.3g} s", file=out)
    print(f"{'t':>10} {'risk':>14} {'excess_risk':>14}", file=out)
    for i in _rows(curve.t.size):
        print(f"{curve.t[i]:>10.4g} {_fmt(curve.risk[i]):>14} {_fmt(curve.excess_risk[i]):>14}",
              file=out)


def _print_sim(sim, seconds, out):
    print(f"simulation: {sim.runs} run{'s' if sim.runs != 1 else ''}, {sim.data} data, seed {sim.seed},"
          f" status {sim.status}, {seconds:.3g} s", file=out)
    print(f"{'t':>10} {'risk':>14} {'± stderr':>10} {'excess_risk':>14} {'± stderr':>10}", file=out)
    for i in _rows(sim.t.size):
        print(f"{sim.t[i]:>10.4g} {_fmt(sim.risk[i]):>14} {_fmt(sim.risk_stderr[i], '.3g'):>10} "
              f"{_fmt(sim.excess_risk[i]):>14} {_fmt(sim.excess_risk_stderr[i], '.3g'):>10}", file=out)


def _footer(args, n, out):
    if n > PRINT_ROWS and not (args.csv or args.json):
        print(f"({n} times in all; --csv/--json write every one)", file=out)
    for opt in ("csv", "json", "plot"):
        if getattr(args, opt):
            print(f"wrote {opt}: {getattr(args, opt)}", file=out)


# ------------------------------------------------------------------------------------ commands

def _setup(args):
    _check_outputs(args)
    prob = build_problem(args)
    opt = build_optimizer(args)
    t = build_times(args, prob.d)
    return prob, opt, t


def _plot(args, theory, sim):
    from hdlimits import plot
    plot.risk_curves(theory, sim, path=args.plot, quantity=args.quantity, logy=not args.linear_y,
                     logx=args.logx)


def _run_sim(args, prob, opt, t):
    from hdlimits.sim.simulate import simulate
    start = time.perf_counter()
    sim = simulate(prob, opt, t, runs=args.runs, seed=args.seed, data=args.data,
                   workers=args.workers, progress=not args.no_progress)
    return sim, time.perf_counter() - start


def cmd_predict(args, out=None):
    """``hdlimits predict``: the risk curve from the limiting equations."""
    from hdlimits.predict import predict_risk
    out = out or sys.stdout
    prob, opt, t = _setup(args)
    theory = predict_risk(prob, opt, t, method=args.method, rtol=args.rtol)
    _header(prob, opt, out)
    _print_theory(theory, out)
    _write_outputs(args, theory, theory, None)
    _footer(args, theory.t.size, out)
    return 0


def _write_outputs(args, result, theory, sim):
    """``--csv`` / ``--json`` of ``result`` (a curve or a comparison) and ``--plot`` of the curves."""
    if args.csv:
        result.to_csv(args.csv)
    if args.json:
        result.to_json(args.json)
    if args.plot:
        _plot(args, theory, sim)


def cmd_simulate(args, out=None):
    """``hdlimits simulate``: Monte Carlo runs of the streaming algorithm at this d."""
    out = out or sys.stdout
    prob, opt, t = _setup(args)
    sim, seconds = _run_sim(args, prob, opt, t)
    _header(prob, opt, out)
    _print_sim(sim, seconds, out)
    _write_outputs(args, sim, None, sim)
    _footer(args, sim.t.size, out)
    return 0


def cmd_compare(args, out=None):
    """``hdlimits compare``: theory and simulation on the same times, and their gap."""
    from hdlimits.compare import compare
    from hdlimits.predict import predict_risk
    out = out or sys.stdout
    prob, opt, t = _setup(args)
    theory = predict_risk(prob, opt, t, method=args.method, rtol=args.rtol)
    sim, seconds = _run_sim(args, prob, opt, t)
    comp = compare(theory, sim, quantity=args.quantity)
    _header(prob, opt, out)
    print(f"timing:     theory {theory.info.get('seconds', math.nan):.3g} s, simulation {seconds:.3g} s",
          file=out)
    print(comp, file=out)
    _write_outputs(args, comp, theory, sim)
    _footer(args, 0, out)
    return 0


# ------------------------------------------------------------------------------------ parser

def _load_extra_commands(subparsers):
    for modname in EXTRA_COMMAND_MODULES:
        try:
            spec = importlib.util.find_spec(modname)
        except ModuleNotFoundError as exc:
            # a missing parent package: skip; anything else missing is a real error
            if exc.name and (modname == exc.name or modname.startswith(exc.name + ".")):
                continue
            raise
        if spec is None:
            continue
        module = importlib.import_module(modname)
        add = getattr(module, "add_cli", None)
        if add is None:
            raise ImportError(f"{modname} is listed in hdlimits.cli.EXTRA_COMMAND_MODULES but has no "
                              "add_cli(subparsers) function")
        add(subparsers)


def build_parser() -> argparse.ArgumentParser:
    """The full ``hdlimits`` parser (built on each call, so registrations made after import count)."""
    from hdlimits import __version__
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=_Formatter,
        description=_wrap("Exact high-dimensional risk curves of streaming optimizers (theory), Monte Carlo "
                    "simulation at finite d, and their comparison."),
        epilog=CONVENTIONS + "\n\nrun 'hdlimits COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    common = dict(formatter_class=_Formatter, epilog=CONVENTIONS)
    p = sub.add_parser("predict", help="risk curve from the limiting equations (no sampling)",
                       description=_wrap("Predict the risk curve of an optimizer from its "
                                         "limiting equations (deterministic, no sampling)."),
                       **common)
    add_problem_arguments(p)
    add_optimizer_arguments(p)
    add_time_arguments(p)
    add_integrator_arguments(p)
    add_output_arguments(p, "risk")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("simulate", help="Monte Carlo runs of the streaming algorithm",
                       description=_wrap("Simulate independent streaming runs at finite d and "
                                         "report the mean risk ± its standard error over runs."),
                       **common)
    add_problem_arguments(p)
    add_optimizer_arguments(p)
    add_time_arguments(p)
    add_simulation_arguments(p)
    add_output_arguments(p, "risk")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser(
        "compare", help="theory vs simulation: gaps and z-scores",
        description=_wrap(
            "Predict and simulate on the same times and report the gap sim − theory: max and "
                    "mean relative gap, and z = gap / (standard error of the simulation mean). The "
                    "default --quantity is the excess risk, because the noise floor, common to both, "
                    "hides relative gaps. --csv writes both curves side by side with gap, rel_gap and "
                    "z; --json adds the summary and metadata."), **common)
    add_problem_arguments(p)
    add_optimizer_arguments(p)
    add_time_arguments(p)
    add_integrator_arguments(p)
    add_simulation_arguments(p)
    add_output_arguments(p, "excess_risk")
    p.set_defaults(func=cmd_compare)

    _load_extra_commands(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``hdlimits`` console script.

    Returns 0 on success. Bad input (an invalid option value, an unwritable output path) prints one
    line ``hdlimits: error: …`` on stderr and exits with status 2 (``SystemExit``), as argparse does for
    malformed options. A diverged run is not an error: its status is printed.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except ValueError as exc:
        parser.exit(2, f"{PROG}: error: {exc}\n")
    except KeyboardInterrupt:
        parser.exit(130, f"{PROG}: interrupted\n")
    except BrokenPipeError:
        # stdout closed early (e.g. piped into `head`): stop quietly, as other command-line tools do
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        sys.exit(1)
    return 0 if code is None else int(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
