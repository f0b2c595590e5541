"""``hdlimits derive RULE``: print the limiting coefficients ``a(P)``, ``b(P)`` that the engine derives.

Rules: ``sgd`` (``h(r) = r``), ``clipped-sgd`` (``h(r) = clamp(r, −c, c)``; Marshall, Xiao, Agarwala,
Paquette, "To Clip or not to Clip", arXiv 2406.11733, docs/clipping.md) and ``normalized-sgd``
(``h(r) = sign(r)/√T``, ``T = tr K``). For an update ``u = x·h(r)`` with ``r = s − ε``, ``s ~ N(0, P)``,
``P = eᵀKe`` (docs/conventions.md) the mode system has ``a(P) = E[h'(r)]`` and ``b(P) = E[h(r)²]``
(:mod:`hdlimits.derivation.engine`, docs/derivation.md).

Units: ``--clip C`` is the threshold on the gradient norm, as in ``hdlimits predict --optimizer clipped``;
the coefficients use the residual threshold ``c = C/√tr K`` with ``tr K = d`` (the normalisation of the
built-in problems), so ``--clip`` needs ``--d``. Without ``--clip`` the threshold stays the symbol ``c``.

Example::

    hdlimits derive clipped-sgd --noise student_t:df=3,scale=0.5 --clip 10 --d 1000 --latex
"""
from __future__ import annotations

import argparse
import math
import sys

from hdlimits.cli.arguments import DEFAULT_NOISE
from hdlimits.core.noise import parse as parse_noise

__all__ = ["add_cli", "run", "RULES"]

#: rule name -> one-line description
RULES = {"sgd": "SGD, h(r) = r",
         "clipped-sgd": "clipped SGD, h(r) = clamp(r, -c, c) (residual threshold c = C/sqrt(tr K))",
         "normalized-sgd": "normalized SGD, h(r) = sign(r)/sqrt(T), T = tr K"}


def _floats(text):
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not vals or any(not (v > 0 and math.isfinite(v)) for v in vals):
        raise argparse.ArgumentTypeError(f"values of P must be finite and > 0, got {text!r}")
    return vals


def add_cli(subparsers):
    """Add the ``derive`` subcommand to an argparse ``subparsers`` object."""
    lines = "\n".join(f"  {k:<15} {v}" for k, v in RULES.items())
    p = subparsers.add_parser(
        "derive", help="print the limiting coefficients a(P), b(P) of an update rule",
        description=("Derive the coefficients a(P) = E[h'(r)] and b(P) = E[h(r)^2] of the limiting mode "
                     "system\nof an update u = x·h(r) (r = s − ε, s ~ N(0, P), P = eᵀKe) under a noise "
                     "law.\n\n" + lines),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("rule", choices=list(RULES), help="update rule")
    p.add_argument("--noise", default=DEFAULT_NOISE, metavar="SPEC",
                   help="label noise, e.g. gaussian:std=0.5, student_t:df=3,scale=0.5 (default "
                        f"{DEFAULT_NOISE})")
    p.add_argument("--clip", type=float, default=None, metavar="C",
                   help="clipped-sgd: gradient-norm threshold C > 0 (needs --d; residual c = C/sqrt(d))")
    p.add_argument("--d", type=int, default=None,
                   help="dimension; tr K = d (sets c = C/sqrt(d), and T = d for normalized-sgd)")
    p.add_argument("--at", type=_floats, default=None, metavar="P1,P2,...",
                   help="also print a(P), b(P) at these P = eᵀKe (needs every symbol set)")
    p.add_argument("--latex", action="store_true", help="also print LaTeX")
    p.set_defaults(func=run)
    return p


def _rule(name):
    import sympy as sp
    from hdlimits.derivation import engine
    if name == "sgd":
        return engine.r
    if name == "clipped-sgd":
        return sp.Max(-engine.c, sp.Min(engine.r, engine.c))
    return sp.sign(engine.r) / sp.sqrt(engine.T)


def _values(args):
    """The numbers substituted for the rule's symbols, and a description line (or None)."""
    from hdlimits.derivation import engine
    if args.clip is not None and args.rule != "clipped-sgd":
        raise ValueError(f"--clip applies only to clipped-sgd (got {args.rule})")
    if args.d is not None and args.d < 1:
        raise ValueError(f"--d must be an integer ≥ 1, got {args.d}")
    if args.rule == "clipped-sgd" and args.clip is not None:
        if not (args.clip > 0 and math.isfinite(args.clip)):
            raise ValueError(f"--clip must be a finite threshold > 0, got {args.clip}")
        if args.d is None:
            raise ValueError("--clip is a gradient-norm threshold: give --d to convert it to the residual "
                             "threshold c = C/sqrt(tr K) with tr K = d")
        cval = args.clip / math.sqrt(args.d)
        return {engine.c: cval}, (f"threshold:   C = {args.clip:g} on ‖g‖, tr K = d = {args.d} -> residual "
                                  f"c = C/sqrt(d) = {cval:.6g}")
    if args.rule == "normalized-sgd" and args.d is not None:
        return {engine.T: float(args.d)}, f"trace:       T = tr K = d = {args.d}"
    return {}, None


def run(args, out=None) -> int:
    """Run ``hdlimits derive RULE`` for parsed arguments."""
    import sympy as sp
    from hdlimits.derivation import engine
    out = out or sys.stdout
    law = parse_noise(args.noise, "--noise")
    vals, line = _values(args)
    h = _rule(args.rule)
    der = engine.derive(h, law)

    def show(e):
        return e.xreplace({k: sp.nsimplify(v) if k == engine.T else sp.Float(v, 15) for k, v in vals.items()})

    a, b = show(der.a), show(der.b)
    missing = sorted(str(s) for s in der.extra if s not in vals) if args.at else []
    if missing:
        raise ValueError(f"--at needs a value for {', '.join(missing)} (give --clip and --d, or --d)")
    print(f"update rule: {args.rule}, u = x·h(r) with h(r) = {sp.sstr(show(h))}", file=out)
    print(f"noise:       {law.spec()}", file=out)
    if line:
        print(line, file=out)
    print(f"kind:        {der.kind} (a: {der.ea.kind}, b: {der.eb.kind})", file=out)
    print(f"a(P) = E[h'(r)]  = {sp.sstr(a)}", file=out)
    print(f"b(P) = E[h(r)^2] = {sp.sstr(b)}", file=out)
    if args.latex:
        print("LaTeX:", file=out)
        print(f"a(P) = {sp.latex(a)}", file=out)
        print(f"b(P) = {sp.latex(b)}", file=out)
    if args.at:
        fa, fb, par = der.compiled(vals)
        print(f"{'P':>12} {'a(P)':>16} {'b(P)':>16}", file=out)
        for p in args.at:
            print(f"{p:>12.6g} {fa(p, par):>16.10g} {fb(p, par):>16.10g}", file=out)
    return 0
