"""Output paths of the command: checked before any computation (one rule for every subcommand).

The rule (also in ``--help``): the directory of an output file must already exist — the command never
creates directories — and the file itself must be writable; a path that names a directory is refused.
Writability is probed by opening the file (creating it if absent, then removing it again), so the check
holds for every user, root included, and for special file systems such as /proc.
"""
from __future__ import annotations

import os

__all__ = ["check_writable", "check_outputs", "check_plot_suffix"]


def check_writable(option, path):
    """ValueError naming ``option`` unless ``path`` can be written as a file (see the module rule)."""
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ValueError(f"{option}: directory {parent!r} does not exist (create it first; "
                         "output directories are never created)")
    if os.path.isdir(path):
        raise ValueError(f"{option}: {path!r} is a directory, give a file name")
    existed = os.path.exists(path)
    try:
        with open(path, "a" if existed else "x"):
            pass
    except OSError as exc:
        raise ValueError(f"{option}: cannot write {path!r}: {exc.strerror or exc}") from None
    if not existed:
        try:
            os.remove(path)
        except OSError:
            pass


def check_plot_suffix(option, path):
    """ValueError unless the suffix of ``path`` is a format matplotlib can save."""
    suffix = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    formats = FigureCanvasAgg(Figure()).get_supported_filetypes()
    if suffix not in formats:
        raise ValueError(f"{option}: the file suffix must be one of {sorted(formats)} (got {path!r})")


def check_outputs(args, options=("csv", "json", "plot")):
    """Fail before any computation when an output file of ``args`` cannot be written."""
    if getattr(args, "plot", None):
        check_plot_suffix("--plot", args.plot)
    for opt in options:
        path = getattr(args, opt, None)
        if path is not None:
            check_writable(f"--{opt}", path)
