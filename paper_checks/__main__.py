"""``python -m paper_checks [--fast] [--out DIR] [--only NAME ...]``: run the paper checks.

Prints one row per claim (module, paper, claim, measured, PASS/FAIL), writes figures to ``--out`` and a
``results.json`` there, and exits with status 1 if any claim fails (2 for bad arguments).
"""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from . import module_names, run_all


def _table(rows, width=100):
    lines = []
    for r in rows:
        mark = "PASS" if r["passed"] else "FAIL"
        head = f"[{mark}] {r['module']}: {r['paper']}"
        lines.append(head)
        lines.append(textwrap.indent(textwrap.fill("claim: " + str(r["claim"]), width), "    "))
        lines.append(textwrap.indent(textwrap.fill("measured: " + str(r["measured"]), width), "    "))
        if not r["passed"] and "traceback" in r:
            lines.append(textwrap.indent(r["traceback"], "      "))
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m paper_checks",
                                description="Check claims of the papers behind hdlimits against the "
                                            "library's theory and simulations.")
    p.add_argument("--fast", action="store_true", help="CI subset: fewer runs, shorter horizons")
    p.add_argument("--out", default="paper_checks_out", metavar="DIR",
                   help="folder for figures and results.json (default paper_checks_out)")
    p.add_argument("--only", action="append", default=None, metavar="NAME",
                   help=f"run only this module (repeatable); available: {', '.join(module_names())}")
    args = p.parse_args(argv)
    only = None if args.only is None else [x for o in args.only for x in o.split(",") if x]
    try:
        rows = run_all(args.fast, Path(args.out), only)
    except ValueError as exc:
        p.exit(2, f"paper_checks: error: {exc}\n")
    print(_table(rows))
    n_fail = sum(not r["passed"] for r in rows)
    print(f"\n{len(rows) - n_fail} passed, {n_fail} failed ({'fast' if args.fast else 'full'} mode); "
          f"figures in {args.out}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(rows, indent=1, default=str))
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
