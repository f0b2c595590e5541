"""The ``hdlimits`` parser and entry point: :func:`build_parser` assembles the subcommands, :func:`main`
runs one and turns every failure into an exit status and one line on stderr.

Exit status (also in ``--help``):

- 0: success (a diverged run is a status, printed, not an error);
- 2: bad input or an error (argparse's own errors, a ValueError from a check, an output that cannot be
  written, not enough memory, an unreachable dask scheduler, any other OSError): one line
  ``hdlimits: error: …`` on stderr, no traceback. Argparse errors (every subcommand's parser is a
  :class:`Parser`) read ``hdlimits: error: <message> (see 'hdlimits COMMAND --help')``, without the
  usage block; a library check on an option's value names the option (``--seed: seed must be …``,
  :mod:`hdlimits.cli.errors`);
- 130: interrupted (Ctrl-C): one line ``hdlimits: interrupted``;
- warnings raised while a command runs are printed once each as ``hdlimits: warning: …`` on stderr
  (:mod:`hdlimits.cli.notices`); they do not change the status;
- 141 (128 + SIGPIPE, what a shell reports for a tool killed by a closed pipe): stdout was closed early,
  e.g. ``hdlimits predict … | head -2``. Printing stops quietly; output files were written before the
  summary was printed and are complete.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys

from hdlimits.cli import registry
from hdlimits.cli.arguments import CONVENTIONS, OUTPUT_RULES, Formatter, wrap
from hdlimits.cli.commands import add_commands
from hdlimits.cli.notices import capture

__all__ = ["PROG", "EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_BROKEN_PIPE", "Parser", "build_parser", "main"]

PROG = "hdlimits"
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


def _one_line(exc):
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line, ``hdlimits: error: <message> (see '<prog> --help')``,
    with exit status 2. Subparsers made by ``add_subparsers`` inherit the class."""

    def error(self, message):
        self.exit(EXIT_ERROR, f"{PROG}: error: {_one_line(message)} (see '{self.prog} --help')\n")


def _import_optional(modname):
    """The module ``modname``, or None when it (or its parent package) does not exist."""
    try:
        spec = importlib.util.find_spec(modname)
    except ModuleNotFoundError as exc:
        # a missing parent package: skip; anything else missing is a real error
        if exc.name and (modname == exc.name or modname.startswith(exc.name + ".")):
            return None
        raise
    return None if spec is None else importlib.import_module(modname)


def _load_families():
    for modname in registry.FAMILY_MODULES:
        _import_optional(modname)


def _load_extra_commands(subparsers):
    for modname in registry.EXTRA_COMMAND_MODULES:
        module = _import_optional(modname)
        if module is None:
            continue
        add = getattr(module, "add_cli", None)
        if add is None:
            raise ImportError(f"{modname} is listed in hdlimits.cli.registry.EXTRA_COMMAND_MODULES but has "
                              "no add_cli(subparsers) function")
        add(subparsers)


def build_parser() -> argparse.ArgumentParser:
    """The full ``hdlimits`` parser (built on each call, so registrations made after import count)."""
    from hdlimits import __version__
    _load_families()
    parser = Parser(
        prog=PROG, formatter_class=Formatter,
        description=wrap("Exact high-dimensional risk curves of streaming optimizers (theory), Monte Carlo "
                         "simulation at finite d, and their comparison."),
        epilog=CONVENTIONS + "\n\n" + OUTPUT_RULES
        + "\n\nrun 'hdlimits COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_commands(sub)
    _load_extra_commands(sub)
    return parser


def _silence_stdout():
    """Point stdout at /dev/null, so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv=None) -> int:
    """Entry point of the ``hdlimits`` console script; returns (or exits with) the status described in
    the module docstring."""
    parser = build_parser()
    args = parser.parse_args(argv)

    def fail(message):
        parser.exit(EXIT_ERROR, f"{PROG}: error: {message}\n")

    try:
        with capture():
            code = args.func(args)
        sys.stdout.flush()                         # a closed pipe shows up here, inside the handlers
    except BrokenPipeError:
        _silence_stdout()
        sys.exit(EXIT_BROKEN_PIPE)
    except KeyboardInterrupt:
        parser.exit(EXIT_INTERRUPTED, f"{PROG}: interrupted\n")
    except ValueError as exc:
        fail(_one_line(exc))
    except MemoryError as exc:
        fail(f"not enough memory ({_one_line(exc)}); try a smaller --d")
    except OSError as exc:
        fail(_one_line(exc))
    return 0 if code is None else int(code)
