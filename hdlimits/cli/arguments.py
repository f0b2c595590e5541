"""The options shared by the ``hdlimits`` subcommands, as argparse groups: problem, optimizer and
schedule, time grid, limiting equations, simulation, output. Conventions: docs/conventions.md."""
from __future__ import annotations

import argparse
import textwrap

from hdlimits.cli import registry

__all__ = ["CONVENTIONS", "OUTPUT_RULES", "DEFAULT_NOISE", "Formatter", "wrap", "csv_floats",
           "add_problem_arguments", "add_optimizer_arguments", "add_time_arguments",
           "add_integrator_arguments", "add_simulation_arguments", "add_output_arguments"]

DEFAULT_NOISE = "gaussian:std=0.3"

CONVENTIONS = """\
conventions (docs/conventions.md):
  data x ~ N(0, K) in dimension d, labels y = <x, θ*> + ε, error e = θ − θ*.
  time t = steps/d: one unit of time is d steps (d·batch samples).
  learning rate γ (--lr): each step moves by γ/d, θ ← θ − (γ(t)/d)·u, with u the
    optimizer's direction (u = minibatch gradient for sgd); with tr K = d (both
    built-in problems) the SGD stability edge is near γ = 2.
  risk = ½E[(<x,θ> − y)²] = ½(eᵀKe + E ε²): the noise floor ½E ε² is included;
  excess risk = ½ eᵀKe.
  --initial-size is ‖K^½ e_0‖² = 2 × the initial excess risk.
  a divergence (eᵀKe > 1e10 × its initial scale) is a status, not an error."""

OUTPUT_RULES = """\
output files and exit status:
  every output path is checked before any computation: its directory must
    exist (it is never created) and the file must be writable.
  output files are written before the summary is printed, so they are complete
    even when stdout is closed early (e.g. piped into head).
  exit status: 0 success (a diverged run is a status, not an error);
    2 bad input or an error, one line 'hdlimits: error: ...' on stderr;
    130 interrupted (Ctrl-C); 141 stdout closed early (files still complete)."""


def wrap(text, width=79):
    """Wrap a paragraph for the raw-description help formatter."""
    return textwrap.fill(text, width)


def csv_floats(text):
    """argparse type: '5,10,15' → [5.0, 10.0, 15.0]."""
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not vals:
        raise argparse.ArgumentTypeError("expected at least one number")
    return vals


class Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the layout of descriptions and epilogs and shows defaults."""

    def _get_help_string(self, action):
        # show "(default: …)" only where the default is informative
        if action.default is None or action.default is False or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _choices_text(helps):
    return "\n".join(wrap(f"{k}: {helps.get(k, '')}", 77) for k in sorted(helps))


def add_problem_arguments(parser):
    g = parser.add_argument_group("problem (data covariance K, initial error e_0, label noise)",
                                  _choices_text(registry.PROBLEM_HELP))
    names = sorted(registry.PROBLEMS)
    g.add_argument("--problem", choices=names, default="power-law" if "power-law" in names else names[0],
                   help="data model (see above)")
    g.add_argument("--d", type=int, default=1000, help="dimension d")
    for add in registry.PROBLEM_ARGUMENTS:
        add(g)
    g.add_argument("--noise", default=DEFAULT_NOISE, metavar="SPEC",
                   help="label-noise law ε as law:key=value,...; e.g. gaussian:std=0.3, "
                        "student_t:df=3,scale=0.5, laplace:scale=0.2, rademacher:std=0.1, "
                        "uniform:half_width=0.5, none (each key once)")
    g.add_argument("--initial-size", type=float, default=1.0,
                   help="‖K^½ e_0‖² = e_0ᵀKe_0, i.e. twice the initial excess risk")
    g.add_argument("--problem-seed", type=int, default=0,
                   help="seed of the problem's random parts (signs of e_0, rotation)")
    return g


def add_optimizer_arguments(parser):
    g = parser.add_argument_group("optimizer (step θ ← θ − (γ(t)/d)·u, t = steps/d)",
                                  _choices_text(registry.OPTIMIZER_HELP))
    g.add_argument("--optimizer", choices=sorted(registry.OPTIMIZERS), default="sgd", help="update rule")
    g.add_argument("--lr", type=float, default=1.0,
                   help="learning rate γ (peak value for decaying schedules); the step is γ/d")
    g.add_argument("--batch", type=int, default=1, help="minibatch size B (g = mean of B gradients)")
    for add in registry.OPTIMIZER_ARGUMENTS:
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
    s.add_argument("--milestones", type=csv_floats, default=None, metavar="T1,T2,...",
                   help="step: times at which γ is multiplied by --decay-factor")
    s.add_argument("--decay-factor", type=float, default=None, help="step: factor (default 0.1)")
    s.add_argument("--t0", type=float, default=None, help="power: time scale t0 (default 1)")
    s.add_argument("--power", type=float, default=None, help="power: exponent (default 1)")
    return g


def add_time_arguments(parser):
    g = parser.add_argument_group(
        "time grid (t = steps/d)",
        wrap("Times are rounded to whole steps (multiples of 1/d), where the simulator records the "
             "risk, so theory and simulation are evaluated at the same t; t = 0 is always included.", 77))
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
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on a dask.distributed cluster at this scheduler address (e.g. "
                        "tcp://host:8786); the same --seed gives the same result as a local run")
    g.add_argument("--no-progress", action="store_true",
                   help="no progress line on stderr (shown for runs longer than a few seconds)")
    return g


def add_output_arguments(parser, default_quantity, quantities=None):
    """Output options; ``--quantity`` chooses among ``quantities`` (the observables the command's results
    hold; default: every registered observable)."""
    from hdlimits.core import observables
    g = parser.add_argument_group(
        "output (a summary table always goes to stdout)",
        wrap("The directory of an output file must exist (it is not created); every path is "
             "checked before the computation starts.", 77))
    g.add_argument("--csv", metavar="PATH", default=None, help="write every time to a CSV file")
    g.add_argument("--json", metavar="PATH", default=None,
                   help="write the curves and metadata to a JSON file (non-finite values as the strings 'inf', '-inf', 'nan')")
    g.add_argument("--plot", metavar="PATH", default=None,
                   help="save a figure (format from the suffix, e.g. .png)")
    names = tuple(quantities) if quantities is not None else observables.names()
    compared = default_quantity in ("excess_risk", None)
    g.add_argument("--quantity", choices=list(names), default=default_quantity,
                   help="quantity plotted" + (" and compared (default: excess_risk; risk for --model "
                                              "problems)" if default_quantity is None else
                                              " and compared" if compared else "") + ": "
                        + "; ".join(f"{n} = {observables.get(n).description}" for n in names))
    g.add_argument("--logx", action="store_true", help="logarithmic time axis in --plot")
    g.add_argument("--linear-y", action="store_true", help="linear y axis in --plot (default log)")
    return g
