"""``hdlimits phase NAME``: the built-in phase diagrams of :mod:`hdlimits.phase` from the command line.

Each diagram writes ``STEM.png`` and its data ``STEM.npz``/``STEM.csv``/``STEM.json`` (default
``STEM = phase_NAME`` in the current directory); as for every output of the command, the directory of
``STEM`` must exist and the four files must be writable, which is checked before the sweep starts.
Sweeps run on a local process pool by default; ``--scheduler tcp://host:8786`` sends them to a
``dask.distributed`` cluster instead (connection attempts give up after ``--scheduler-timeout`` s).
"""
from __future__ import annotations

import argparse
import inspect
import math
import sys
import time
from pathlib import Path

import numpy as np

from hdlimits.cli.arguments import OUTPUT_RULES
from hdlimits.cli.errors import naming_options
from hdlimits.cli.outputs import check_writable
from hdlimits.core.noise import parse as parse_noise

__all__ = ["add_cli", "run", "default_d"]

_HELP = {
    "sgd-stability": "learning rate × batch size → converges/diverges, with the kernel-mass boundary",
    "lr-time": "learning rate × time → risk heatmap for a schedule",
    "clipping": "clip threshold × noise tail → best clipped / best SGD risk, with CCC = 1",
    "sign-vs-sgd": "condition number × noise tail → time-to-target ratio signSGD / SGD",
    "stochastic-eos": "step η × batch size on the linear sharpness model (simulated at small D) with "
                      "𝒦 = 1, the EOS ηλ_max = 2 and B_c (lr = η itself; time = step count)",
    "sam-edge": "step η × SAM radius ρ → final λ_max/λ_SAM on the single-output second-order model",
    "eos": "step η → final ηλ_max of GD on the single-output model, with the gradient-flow value",
    "scaling-law": "(α, β) plane of power-law random features → fitted compute-optimal exponent ξ, "
                   "with the phases and the heuristic ξ",
}
#: seconds a connection to --scheduler may take before the command gives up
SCHEDULER_TIMEOUT = 5.0


def _diagrams():
    from hdlimits import phase
    return phase


def default_d() -> dict:
    """Diagram name → its default dimension d: ``hdlimits.phase.DEFAULT_D`` when it exists, else the
    default of the ``d`` parameter of each diagram function."""
    phase = _diagrams()
    table = getattr(phase, "DEFAULT_D", None)
    if isinstance(table, dict):
        return dict(table)
    out = {}
    for name, fn in phase.NAMES.items():
        par = inspect.signature(fn).parameters.get("d")
        if par is not None and par.default is not inspect.Parameter.empty:
            out[name] = par.default
    return out


def _first_line(text):
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else ""


def add_cli(subparsers):
    """Add the ``phase`` subcommand to an argparse ``subparsers`` object."""
    names = _diagrams().NAMES
    lines = "\n".join(f"  {n:<15} {_HELP[n] if n in _HELP else _first_line(names[n].__doc__)}"
                       for n in names)
    dd = default_d()
    d_help = ", ".join(f"{n} {dd[n]}" for n in names if dd.get(n) is not None)
    p = subparsers.add_parser(
        "phase", help="draw a built-in phase diagram (" + ", ".join(names) + ")",
        description="Draw a built-in phase diagram from the limiting equations.\n\n" + lines,
        epilog=OUTPUT_RULES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", choices=list(names), help="which diagram")
    g = p.add_argument_group("problem (default: power_law spectrum, tr K = d)")
    g.add_argument("--d", type=int, default=None,
                   help=f"dimension d (default: {d_help}); for stochastic-eos the number of data points D")
    g.add_argument("--alpha", type=float, default=None,
                   help="spectrum exponent, λ_j ∝ j^-alpha (default 1); stochastic-eos: of the "
                        "power-law NTK")
    g.add_argument("--model", choices=["mp", "power-law"], default=None,
                   help="stochastic-eos: Marchenko–Pastur NTK (D/P = ½, default) or power-law NTK "
                        "λ_i ∝ (1+i)^-alpha with tr Θ = D")
    g.add_argument("--beta", type=float, default=None,
                   help="initial-error exponent, ⟨u_j,e_0⟩² ∝ j^-beta (default 1)")
    g.add_argument("--noise", default=None, metavar="SPEC",
                   help="sgd-stability, lr-time: label noise, e.g. gaussian:std=0.5 (default), "
                        "student_t:df=3,scale=0.5")
    g.add_argument("--scale", type=float, default=None,
                   help="clipping, sign-vs-sgd: scale of the Student-t noise (default 0.5)")
    s = p.add_argument_group("grid")
    s.add_argument("--resolution", type=int, default=None,
                   help="grid points along the learning-rate axis (sgd-stability 48, lr-time 40), or "
                        "along both axes (clipping 24×8, sign-vs-sgd 8×6, scaling-law 6×6)")
    s.add_argument("--lr-min", type=float, default=None, help="smallest learning rate on the grid")
    s.add_argument("--lr-max", type=float, default=None, help="largest learning rate on the grid")
    s.add_argument("--batches", default=None, metavar="B1,B2,...",
                   help="sgd-stability: batch sizes (default 1,2,4,...,64); stochastic-eos: "
                        "(default 1,2,4,...,D)")
    s.add_argument("--steps", type=int, default=None,
                   help="stochastic-eos: steps simulated per grid point (default 400; the step count is "
                        "the time)")
    s.add_argument("--runs", type=int, default=None,
                   help="stochastic-eos: simulated runs per grid point (default 8)")
    s.add_argument("--seed", type=int, default=None, help="stochastic-eos: seed of the model and runs "
                                                          "(default 0)")
    s.add_argument("--t-max", type=float, default=None,
                   help="sgd-stability: integration horizon (default 400); lr-time: last time (100); "
                        "clipping: time of the compared risks (10); sign-vs-sgd: horizon (200)")
    s.add_argument("--n-lrs", type=int, default=None,
                   help="clipping, sign-vs-sgd: learning rates tried per optimizer and point "
                        "(default 5 / 12)")
    s.add_argument("--target", type=float, default=None,
                   help="sign-vs-sgd: target excess risk (default 0.05; initial excess risk 0.5)")
    s.add_argument("--batch", type=int, default=None, help="lr-time, scaling-law: batch size (default 1)")
    s.add_argument("--quick", action="store_true", default=None,
                   help="scaling-law: a 3×3 grid on small model sizes and computes (seconds; finite-size "
                        "errors are large)")
    s.add_argument("--schedule", default=None, choices=["constant", "cosine", "power_decay", "warmup"],
                   help="lr-time: schedule family (default constant)")
    s.add_argument("--method", choices=["ode", "recursion"], default="ode",
                   help="limiting ODE (default) or exact expected per-step recursion at finite d")
    r = p.add_argument_group("execution and output")
    r.add_argument("--out", default=None, metavar="STEM",
                   help="output stem: writes STEM.png, STEM.npz, STEM.csv, STEM.json (default "
                        "phase_NAME); the directory of STEM must exist")
    r.add_argument("--backend", choices=["local", "serial", "dask"], default="local",
                   help="local process pool (default), in-process, or dask (needs --scheduler)")
    r.add_argument("--workers", type=int, default=None, help="local pool size (default: all CPUs)")
    r.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="dask.distributed scheduler address, e.g. tcp://host:8786 (implies --backend dask)")
    r.add_argument("--scheduler-timeout", type=float, default=None, metavar="SECONDS",
                   help=f"give up connecting to --scheduler after this many seconds (default "
                        f"{SCHEDULER_TIMEOUT:g})")
    r.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    p.set_defaults(func=run)
    return p


_SEOS = "stochastic-eos"
_SO = ("sam-edge", "eos")
_ONLY = {"noise": ("sgd-stability", "lr-time"), "lr_min": ("sgd-stability", "lr-time", _SEOS) + _SO,
         "lr_max": ("sgd-stability", "lr-time", _SEOS) + _SO, "batches": ("sgd-stability", _SEOS),
         "batch": ("lr-time", "scaling-law"), "quick": ("scaling-law",),
         "model": (_SEOS,), "steps": (_SEOS,) + _SO, "runs": (_SEOS,), "seed": (_SEOS,),
         "schedule": ("lr-time",), "scale": ("clipping", "sign-vs-sgd"),
         "n_lrs": ("clipping", "sign-vs-sgd"), "target": ("sign-vs-sgd",),
         "alpha": ("sgd-stability", "lr-time", "clipping", _SEOS), "beta": ("sgd-stability", "lr-time", "clipping"),
         "scheduler_timeout": ()}


def _kwargs(args):
    for opt, applies in _ONLY.items():
        if getattr(args, opt) is not None and applies and args.name not in applies:
            raise ValueError(f"--{opt.replace('_', '-')} applies to 'phase {' / '.join(applies)}' only")
    if args.method != "ode" and args.name not in ("sgd-stability", "lr-time"):
        raise ValueError("--method applies to 'phase sgd-stability / lr-time' only")
    if args.name == "scaling-law":
        return _scaling_law_kwargs(args)
    if args.noise is not None:
        parse_noise(args.noise, "--noise")                    # the strict check; the diagram parses it again
    kw = {}
    for k in ("d", "alpha", "beta", "noise", "scale", "n_lrs", "target"):
        if getattr(args, k) is not None:
            kw[k] = getattr(args, k)
    if args.name in ("clipping", "sign-vs-sgd"):
        if args.resolution is not None:
            kw["resolution"] = args.resolution
        if args.t_max is not None:
            kw["t" if args.name == "clipping" else "t_max"] = args.t_max
        return kw
    lr_range = (args.lr_min, args.lr_max)
    if args.resolution is not None and all(x is None for x in lr_range):
        if args.resolution < 2:
            raise ValueError(f"--resolution must be ≥ 2, got {args.resolution}")
        kw["lrs"] = int(args.resolution)          # that many learning rates in the default range
    elif any(x is not None for x in lr_range):
        if None in lr_range:
            raise ValueError("--lr-min and --lr-max must be given together")
        if not (0 < args.lr_min < args.lr_max):
            raise ValueError(f"--lr-min/--lr-max must satisfy 0 < lr-min < lr-max, got "
                             f"{args.lr_min}, {args.lr_max}")
        n = args.resolution if args.resolution is not None else 48
        if n < 2:
            raise ValueError(f"--resolution must be ≥ 2, got {n}")
        kw["lrs"] = np.geomspace(args.lr_min, args.lr_max, n)
    if args.name in _SO:
        if args.steps is not None:
            kw["steps"] = args.steps
        if args.t_max is not None:
            raise ValueError(f"--t-max does not apply to 'phase {args.name}' (use --steps)")
        return kw
    if args.name == _SEOS:
        for k in ("model", "steps", "runs", "seed"):
            if getattr(args, k) is not None:
                kw[k] = getattr(args, k)
        if args.alpha is not None and args.model != "power-law":
            raise ValueError("--alpha applies to 'phase stochastic-eos' with --model power-law only")
    if args.name in ("sgd-stability", _SEOS):
        if args.batches is not None:
            try:
                kw["batches"] = [int(b) for b in args.batches.split(",") if b.strip()]
            except ValueError:
                raise ValueError(f"--batches must be comma-separated integers ≥ 1, got {args.batches!r}")
        if args.t_max is not None:
            if args.name == _SEOS:
                raise ValueError("--t-max does not apply to 'phase stochastic-eos' (use --steps)")
            kw["t_max"] = args.t_max
    if args.name == _SEOS:
        return kw
    if args.name == "lr-time":
        if args.t_max is not None:
            if not args.t_max > 0.01:
                raise ValueError(f"--t-max must be > 0.01 for lr-time, got {args.t_max}")
            kw["t"] = np.geomspace(0.01, args.t_max, 80)
        if args.batch is not None:
            kw["batch"] = args.batch
        if args.schedule is not None:
            kw["schedule"] = args.schedule
    kw["method"] = args.method
    return kw


def _scaling_law_kwargs(args):
    """scaling-law takes --resolution, --quick, --batch; its model sizes are compute_optimal's."""
    for opt in ("d", "t_max"):
        if getattr(args, opt) is not None:
            raise ValueError(f"--{opt.replace('_', '-')} does not apply to 'phase scaling-law' (its model "
                             "sizes and computes are those of hdlimits.scaling.compute_optimal; --quick "
                             "for small ones)")
    kw = {}
    if args.resolution is not None:
        if args.resolution < 2:
            raise ValueError(f"--resolution must be ≥ 2, got {args.resolution}")
        kw["resolution"] = args.resolution
    if args.quick:
        kw["quick"] = True
    if args.batch is not None:
        kw["batch"] = args.batch
    return kw


def _stem(args):
    stem = Path(args.out or "phase_" + args.name.replace("-", "_"))
    if stem.suffix == ".png":
        stem = stem.with_suffix("")
    for ext in (".png", ".npz", ".csv", ".json"):
        check_writable("--out", str(stem) + ext)
    return str(stem)


def _connect(address, timeout):
    """A dask ``Client`` on ``address``, or a ValueError within ``timeout`` seconds."""
    timeout = SCHEDULER_TIMEOUT if timeout is None else timeout
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"--scheduler-timeout must be a finite number of seconds > 0, got {timeout}")
    try:
        from distributed import Client
    except ImportError:
        raise ValueError("--scheduler needs the 'distributed' package (pip install 'hdlimits[dask]')") \
            from None
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"--scheduler: cannot connect to the dask scheduler at {address!r} within "
                         f"{timeout:g} s: {reason}") from None


def run(args, out=None) -> int:
    """Run ``hdlimits phase NAME`` for parsed arguments."""
    fn = _diagrams().NAMES[args.name]
    kw = _kwargs(args)
    backend, client = args.backend, None
    if args.scheduler is None:
        if backend == "dask":
            raise ValueError("--backend dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
        if args.scheduler_timeout is not None:
            raise ValueError("--scheduler-timeout applies only with --scheduler")
    stem = _stem(args)
    if args.scheduler is not None:
        backend, client = "dask", _connect(args.scheduler, args.scheduler_timeout)
    start = time.perf_counter()
    try:
        with naming_options(args):        # "batches must …" → "--batches: batches must …"
            res = fn(out=stem, backend=backend, workers=args.workers, client=client,
                     progress=not args.no_progress, **kw)
    finally:
        if client is not None:
            client.close()
    sec = time.perf_counter() - start
    codes = res.sweep.status_code                 # per-point status codes (data, not text)
    n_ok = int((codes == "ok").sum())
    n_div = int((codes == "diverged").sum())
    shape = "×".join(f"{k}[{len(a)}]" for k, a in res.sweep.axes.items())
    out = out or sys.stdout
    print(f"phase {args.name}: grid {shape}, {n_ok} ok, {n_div} diverged, "
          f"{codes.size - n_ok - n_div} other, {sec:.1f} s ({backend})", file=out)
    print(f"figure: {res.figure}", file=out)
    for kind, path in res.data.items():
        print(f"data ({kind}): {path}", file=out)
    return 0
