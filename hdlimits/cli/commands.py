"""``hdlimits predict``, ``simulate`` and ``compare``: parsers and the functions they run.

Every command checks its output paths first (:mod:`hdlimits.cli.outputs`), computes, writes its files
and only then prints its summary, so that the files are complete even when stdout is closed early.
Statuses are printed as ``str(result.status)`` (docs/results.md). Warnings raised by the computation
(e.g. the growth warning) are printed once each as ``hdlimits: warning: …`` on stderr and repeated in the
summary as ``warning:    …`` lines under the status they belong to (:mod:`hdlimits.cli.notices`).
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np

from hdlimits.cli.arguments import (CONVENTIONS, OUTPUT_RULES, Formatter, add_integrator_arguments,
                                    add_optimizer_arguments, add_output_arguments, add_problem_arguments,
                                    add_simulation_arguments, add_time_arguments, wrap)
from hdlimits.cli.builders import build_optimizer, build_problem, build_times
from hdlimits.cli.errors import naming_options
from hdlimits.cli.notices import capture, merge
from hdlimits.cli.outputs import check_outputs

__all__ = ["PRINT_ROWS", "COMMANDS", "cmd_predict", "cmd_simulate", "cmd_compare", "add_commands"]

#: rows printed for a curve on stdout (the CSV/JSON outputs hold every time)
PRINT_ROWS = 15


#: the observables of the least-squares results these commands produce (RiskCurve, SimulationResult)
LEAST_SQUARES_QUANTITIES = ("risk", "excess_risk")


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
    if "model" in info:            # GLM and multi-index problems (docs/glm.md)
        B0 = np.asarray(info["initial_overlaps"])
        return (f"problem:    {info['label']}, noise {info['noise']}, m = {info['m']}, m* = "
                f"{info['m_star']}, B0 = {np.array2string(B0, precision=4, separator=', ')}, "
                f"λ_max = {info['lambda_max']:.4g}{'' if info['diagonal'] else ' (dense K)'}")
    return (f"problem:    {info['label']}, noise {info['noise']}, ‖K^½e0‖² = "
            f"{2 * info['initial_excess_risk']:.4g}, λ_max = {info['lambda_max']:.4g}"
            f"{'' if info['diagonal'] else ' (dense K)'}")


def _header(prob, opt, out):
    print(_problem_line(prob), file=out)
    print(f"optimizer:  {opt.describe() if hasattr(opt, 'describe') else opt}", file=out)


def _print_warnings(messages, out):
    for msg in messages:
        print(f"warning:    {msg}", file=out)


def _print_theory(curve, out, warned=()):
    info = curve.info
    method = {"ode": "ODE limit", "recursion": "expected per-step recursion",
              "propagator": "expected per-step recursion (exact propagator)",
              "exact": "exact second-moment recursion"}.get(curve.method, str(curve.method))
    print(f"theory:     {method}, status {str(curve.status)}, {curve.t.size} times, "
          f"{info.get('steps', '?')} steps, {info.get('seconds', math.nan):.3g} s", file=out)
    _print_warnings(merge(warned, curve.warnings), out)
    if "excess_risk" not in curve.names:
        _print_glm_rows(curve, out)
        return
    print(f"{'t':>10} {'risk':>14} {'excess_risk':>14}", file=out)
    for i in _rows(curve.t.size):
        print(f"{curve.t[i]:>10.4g} {_fmt(curve.risk[i]):>14} {_fmt(curve.excess_risk[i]):>14}",
              file=out)


def _print_sim(sim, seconds, out, warned=()):
    print(f"simulation: {sim.runs} run{'s' if sim.runs != 1 else ''}, {sim.data} data, seed {sim.seed},"
          f" status {str(sim.status)}, {seconds:.3g} s", file=out)
    _print_warnings(merge(warned, sim.warnings), out)
    if "excess_risk" not in sim.names:
        _print_glm_rows(sim, out)
        return
    print(f"{'t':>10} {'risk':>14} {'± stderr':>10} {'excess_risk':>14} {'± stderr':>10}", file=out)
    for i in _rows(sim.t.size):
        print(f"{sim.t[i]:>10.4g} {_fmt(sim.risk[i]):>14} {_fmt(sim.risk_stderr[i], '.3g'):>10} "
              f"{_fmt(sim.excess_risk[i]):>14} {_fmt(sim.excess_risk_stderr[i], '.3g'):>10}", file=out)


def _print_glm_rows(res, out):
    """Risk (± its standard error for a simulation) and the student's overlaps: ``B_11`` (its own norm
    ``x₁ᵀKx₁``) and ``B_1*`` (with the first teacher direction)."""
    sim = res.method == "simulation"
    B = res["overlaps"]
    m = res.problem.m if res.problem is not None else 1
    head = f"{'t':>10} {'risk':>14}" + (f" {'± stderr':>10}" if sim else "")
    print(head + f" {'B_11':>12} {'B_1*':>12}", file=out)
    se = res.stderr("risk") if sim else None
    for i in _rows(res.t.size):
        row = f"{res.t[i]:>10.4g} {_fmt(res.risk[i]):>14}"
        if sim:
            row += f" {_fmt(se[i], '.3g'):>10}"
        print(row + f" {_fmt(B[i, 0, 0]):>12} {_fmt(B[i, 0, m]):>12}", file=out)


def _footer(args, n, out):
    if n > PRINT_ROWS and not (args.csv or args.json):
        print(f"({n} times in all; --csv/--json write every one)", file=out)
    for opt in ("csv", "json", "plot"):
        if getattr(args, opt):
            print(f"wrote {opt}: {getattr(args, opt)}", file=out)


# ------------------------------------------------------------------------------------ commands

def _setup(args):
    check_outputs(args)
    prob = build_problem(args)
    opt = build_optimizer(args)
    t = build_times(args, prob.d)
    glm = hasattr(prob, "teacher")
    if args.quantity is None:
        args.quantity = "risk" if glm else "excess_risk"
    elif glm and args.quantity == "excess_risk":
        raise ValueError("--quantity excess_risk is defined for least squares (½eᵀKe); a --model "
                         "problem has --quantity risk")
    return prob, opt, t


def write_outputs(args, result, theory, sim):
    """``--csv`` / ``--json`` of ``result`` (a curve or a comparison) and ``--plot`` of the curves."""
    if args.csv:
        result.to_csv(args.csv)
    if args.json:
        result.to_json(args.json)
    if args.plot:
        from hdlimits import plot
        plot.risk_curves(theory, sim, path=args.plot, quantity=args.quantity, logy=not args.linear_y,
                         logx=args.logx)


def _run_theory(args, prob, opt, t):
    """The prediction and the one-line messages of the warnings it raised."""
    from hdlimits.predict import predict_risk
    moments = getattr(args, "moments", None)
    if moments is not None and getattr(args, "dataset", None) is None:
        raise ValueError("--moments applies only with --dataset")
    extra = {} if moments is None else {"moments": moments}
    with capture() as warned, naming_options(args):
        theory = predict_risk(prob, opt, t, method=args.method, rtol=args.rtol, **extra)
    return theory, warned


def _run_sim(args, prob, opt, t):
    """The simulation, its wall time and the one-line messages of the warnings it raised."""
    from hdlimits.sim.simulate import simulate
    start = time.perf_counter()
    with capture() as warned, naming_options(args):
        sched = getattr(args, "scheduler", None)
        sim = simulate(prob, opt, t, runs=args.runs, seed=args.seed, data=args.data,
                       workers=args.workers, progress=not args.no_progress,
                       backend="dask" if sched else "local", scheduler=sched)
    return sim, time.perf_counter() - start, warned


def cmd_predict(args, out=None):
    """``hdlimits predict``: the risk curve from the limiting equations."""
    prob, opt, t = _setup(args)
    theory, warned = _run_theory(args, prob, opt, t)
    write_outputs(args, theory, theory, None)
    out = out or sys.stdout
    _header(prob, opt, out)
    _print_theory(theory, out, warned)
    _footer(args, theory.t.size, out)
    return 0


def cmd_simulate(args, out=None):
    """``hdlimits simulate``: Monte Carlo runs of the streaming algorithm at this d."""
    if getattr(args, "moments", None) is not None:
        raise ValueError("--moments chooses the limit (predict, compare); simulate runs the algorithm")
    prob, opt, t = _setup(args)
    sim, seconds, warned = _run_sim(args, prob, opt, t)
    write_outputs(args, sim, None, sim)
    out = out or sys.stdout
    _header(prob, opt, out)
    _print_sim(sim, seconds, out, warned)
    _footer(args, sim.t.size, out)
    return 0


def cmd_compare(args, out=None):
    """``hdlimits compare``: theory and simulation on the same times, and their gap."""
    from hdlimits.compare import compare
    prob, opt, t = _setup(args)
    theory, th_warned = _run_theory(args, prob, opt, t)
    sim, seconds, sim_warned = _run_sim(args, prob, opt, t)
    with capture() as cmp_warned:
        comp = compare(theory, sim, quantity=args.quantity)
    write_outputs(args, comp, theory, sim)
    out = out or sys.stdout
    _header(prob, opt, out)
    print(f"timing:     theory {theory.info.get('seconds', math.nan):.3g} s, simulation {seconds:.3g} s",
          file=out)
    _print_warnings([f"theory: {m}" for m in merge(th_warned, theory.warnings)]
                    + [f"simulation: {m}" for m in merge(sim_warned, sim.warnings)]
                    + merge(cmp_warned), out)
    print(comp, file=out)
    _footer(args, 0, out)
    return 0


# ------------------------------------------------------------------------------------ parsers

#: command → (help, description, argument adders, default --quantity, function)
COMMANDS = {
    "predict": ("risk curve from the limiting equations (no sampling)",
                "Predict the risk curve of an optimizer from its limiting equations (deterministic, "
                "no sampling).",
                (add_problem_arguments, add_optimizer_arguments, add_time_arguments,
                 add_integrator_arguments), "risk", cmd_predict),
    "simulate": ("Monte Carlo runs of the streaming algorithm",
                 "Simulate independent streaming runs at finite d and report the mean risk ± its "
                 "standard error over runs.",
                 (add_problem_arguments, add_optimizer_arguments, add_time_arguments,
                  add_simulation_arguments), "risk", cmd_simulate),
    "compare": ("theory vs simulation: gaps and z-scores",
                "Predict and simulate on the same times and report the gap sim − theory: max and mean "
                "relative gap, and z = gap / (standard error of the simulation mean). The default "
                "--quantity is the excess risk (the risk for --model problems), because the noise floor, "
                "common to both, hides relative gaps. --csv writes both curves side by side with gap, rel_gap and z; --json adds the "
                "summary and metadata.",
                (add_problem_arguments, add_optimizer_arguments, add_time_arguments,
                 add_integrator_arguments, add_simulation_arguments), None, cmd_compare),
}


def add_commands(subparsers):
    """Add ``predict``, ``simulate`` and ``compare`` to an argparse ``subparsers`` object."""
    for name, (help_, description, adders, quantity, func) in COMMANDS.items():
        p = subparsers.add_parser(name, help=help_, description=wrap(description),
                                  formatter_class=Formatter, epilog=CONVENTIONS + "\n\n" + OUTPUT_RULES)
        for add in adders:
            add(p)
        add_output_arguments(p, quantity, LEAST_SQUARES_QUANTITIES)
        p.set_defaults(func=func)
