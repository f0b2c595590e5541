"""Paper checks: one module per paper (family), each stating the paper's claims as assertions on numbers
measured by hdlimits — from the limiting equations AND from Monte Carlo simulation.

Run them with ``python -m paper_checks [--fast] [--out DIR] [--only NAME ...]``.

Module protocol
---------------
Every module ``paper_checks/NAME.py`` (not starting with ``_``) defines::

    run(fast: bool, outdir: pathlib.Path) -> list[dict]

returning one dict per claim with the keys ``paper`` (citation), ``claim`` (what is asserted, with its
parameters), ``measured`` (the numbers measured, theory and simulation, as text or a number) and
``passed`` (bool). ``fast=True`` is the CI subset: fewer runs and smaller horizons, with tolerances that
follow from the number of runs (never loosened to pass). Figures go to ``outdir``.
"""
from __future__ import annotations

import importlib
import pkgutil
import time
import traceback
from pathlib import Path

__all__ = ["module_names", "run_module", "run_all", "REQUIRED_KEYS"]

REQUIRED_KEYS = ("paper", "claim", "measured", "passed")


def module_names() -> list[str]:
    """Names of the check modules in this package, sorted."""
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)])
                  if not m.name.startswith("_"))


def run_module(name: str, fast: bool, outdir) -> list[dict]:
    """Run one module; a module that raises, or returns malformed rows, yields a failing row."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        mod = importlib.import_module(f"{__name__}.{name}")
        rows = mod.run(fast=fast, outdir=outdir)
        if not isinstance(rows, list) or not rows:
            raise TypeError(f"run() must return a non-empty list of dicts, got {type(rows).__name__}")
        for r in rows:
            missing = [k for k in REQUIRED_KEYS if not isinstance(r, dict) or k not in r]
            if missing:
                raise TypeError(f"row {r!r} lacks keys {missing}")
            r["passed"] = bool(r["passed"])
    except Exception as exc:  # a broken module is a failed check, not a crash of the harness
        tb = traceback.format_exc(limit=3)
        rows = [{"paper": name, "claim": "module runs", "measured": f"{type(exc).__name__}: {exc}",
                 "passed": False, "traceback": tb}]
    sec = time.perf_counter() - start
    for r in rows:
        r.setdefault("module", name)
        r["module_seconds"] = sec
    return rows


def run_all(fast: bool, outdir, only=None) -> list[dict]:
    """Run every module (or those named in ``only``) in name order."""
    names = module_names()
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise ValueError(f"--only: unknown check module(s) {unknown}; available: {names}")
        names = [n for n in names if n in only]
    rows = []
    for n in names:
        rows += run_module(n, fast, outdir)
    return rows
