"""What the ``hdlimits`` command can build: the tables behind ``--problem``, ``--optimizer`` and the
extra subcommands.

A model family registers its builders from its own module (least squares: :mod:`hdlimits.cli.least_squares`),
so that the command modules (:mod:`hdlimits.cli.commands`) never list problems or optimizers themselves.
A future family (a GLM, a sharpness model) adds a module to :data:`FAMILY_MODULES` that calls
:func:`register_problem` and :func:`register_optimizer`.

Options that belong to one entry (``--alpha`` to ``power-law``, ``--clip`` to ``clipped``) are declared
with ``options=``: giving them with another entry is an error. Such options must default to ``None`` so
that "not given" can be told apart.
"""
from __future__ import annotations

__all__ = ["OPTIMIZERS", "OPTIMIZER_HELP", "OPTIMIZER_ARGUMENTS", "OPTION_OWNERS", "register_optimizer",
           "PROBLEMS", "PROBLEM_HELP", "PROBLEM_ARGUMENTS", "PROBLEM_OPTION_OWNERS", "register_problem",
           "FAMILY_MODULES", "EXTRA_COMMAND_MODULES", "check_owned_options"]

#: name → builder(args, lr) returning the optimizer; ``lr`` is a number or a Schedule
OPTIMIZERS: dict = {}
#: optimizer name → one-line description shown by --help
OPTIMIZER_HELP: dict = {}
#: functions add(group) that add optimizer-specific options to the "optimizer" argument group
OPTIMIZER_ARGUMENTS: list = []
#: option dest → the optimizers it applies to (giving it with another optimizer is an error)
OPTION_OWNERS: dict = {}

#: name → builder(args, noise_law) returning the problem
PROBLEMS: dict = {}
#: problem name → one-line description shown by --help
PROBLEM_HELP: dict = {}
#: functions add(group) that add problem-specific options to the "problem" argument group
PROBLEM_ARGUMENTS: list = []
#: option dest → the problems it applies to
PROBLEM_OPTION_OWNERS: dict = {}

#: modules imported before the parser is built; each registers its family's problems and optimizers
FAMILY_MODULES = ["hdlimits.cli.least_squares", "hdlimits.cli.glm", "hdlimits.cli.dataset"]
#: modules that add subcommands through ``add_cli(subparsers)`` (a missing module is skipped)
EXTRA_COMMAND_MODULES = ["hdlimits.cli.derive", "hdlimits.cli.phase", "hdlimits.cli.sharpness",
                         "hdlimits.cli.feature_learning", "hdlimits.cli.scaling"]


def _register(kind, table, helps, adders, owners, name, builder, add_arguments, help, options):
    if not isinstance(name, str) or not name:
        raise ValueError(f"{kind} name must be a non-empty string, got {name!r}")
    if not callable(builder):
        raise ValueError(f"{kind} builder must be callable, got {builder!r}")
    table[name] = builder
    helps[name] = help
    if add_arguments is not None and add_arguments not in adders:
        adders.append(add_arguments)
    for dest in options:
        owners.setdefault(dest, set()).add(name)


def register_optimizer(name, builder, add_arguments=None, help="", options=()):
    """Make ``--optimizer NAME`` available.

    builder : ``builder(args, lr) -> optimizer`` (``lr``: a number or a schedule; ``args``: the parsed
        namespace, which holds ``batch`` and any option added by ``add_arguments``).
    add_arguments : optional ``add(group)`` adding this optimizer's own options (defaults of None).
    help : one line for ``--help``. options : the ``dest`` names of the options that belong to this
        optimizer only.
    """
    _register("optimizer", OPTIMIZERS, OPTIMIZER_HELP, OPTIMIZER_ARGUMENTS, OPTION_OWNERS, name, builder,
              add_arguments, help, options)


def register_problem(name, builder, add_arguments=None, help="", options=()):
    """Make ``--problem NAME`` available.

    builder : ``builder(args, noise) -> problem`` (``noise``: the parsed ``--noise`` law; ``args`` holds
        ``d``, ``initial_size``, ``problem_seed`` and any option added by ``add_arguments``).
    add_arguments, help, options : as in :func:`register_optimizer`.
    """
    _register("problem", PROBLEMS, PROBLEM_HELP, PROBLEM_ARGUMENTS, PROBLEM_OPTION_OWNERS, name, builder,
              add_arguments, help, options)


def check_owned_options(args, owners, chosen, flag):
    """ValueError when an option that belongs to other entries than ``chosen`` was given."""
    for dest, names in owners.items():
        if chosen not in names and getattr(args, dest, None) is not None:
            raise ValueError(f"--{dest.replace('_', '-')} applies only to {flag} "
                             f"{' or '.join(sorted(names))} (got {flag} {chosen})")
