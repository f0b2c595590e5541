"""The ``hdlimits`` command: ``predict``, ``simulate``, ``compare``, ``derive``, ``phase`` and ``sharpness``.

Examples::

    hdlimits predict  --problem power-law --d 2000 --alpha 0.8 --optimizer sgd --lr 1.2 --t-max 20
    hdlimits simulate --problem isotropic --d 500 --lr 0.5 --runs 16 --csv sim.csv
    hdlimits compare  --problem power-law --d 2000 --alpha 0.8 --optimizer sgd --lr 1.2 --t-max 20 \\
                      --runs 8 --plot sgd.png

Conventions (docs/conventions.md): time ``t = steps/d``; the learning rate ``γ`` (``--lr``) is such that
every step is ``θ ← θ − (γ(t)/d)·u``; the risk ``½E[(⟨x,θ⟩ − y)²] = ½(eᵀKe + E ε²)`` includes the noise
floor, the excess risk ``½ eᵀKe`` does not; ``--initial-size`` is ``‖K^{1/2} e_0‖²``.

Layout: :mod:`~hdlimits.cli.main` (parser, :func:`main`, exit statuses), :mod:`~hdlimits.cli.arguments`
(shared option groups), :mod:`~hdlimits.cli.builders` (options → problem, optimizer, times),
:mod:`~hdlimits.cli.commands` (predict / simulate / compare), :mod:`~hdlimits.cli.derive`,
:mod:`~hdlimits.cli.phase`, :mod:`~hdlimits.cli.sharpness`, :mod:`~hdlimits.cli.outputs` (the output-path rule),
:mod:`~hdlimits.cli.registry` (the tables).

Extending the command
---------------------
- **Problems and optimizers** come from the tables of :mod:`hdlimits.cli.registry`. A model family
  registers its own from its module (least squares: :mod:`hdlimits.cli.least_squares`) with
  :func:`register_problem` and :func:`register_optimizer`, and lists that module in
  ``registry.FAMILY_MODULES``; its options may be declared as belonging to one entry (``options=``).
- **Subcommands**: every module named in ``registry.EXTRA_COMMAND_MODULES`` that exists is imported and
  its ``add_cli(subparsers)`` registers a subparser with ``set_defaults(func=...)``; ``func(args)``
  returns an exit code (or None for 0). The option groups of :mod:`~hdlimits.cli.arguments` and the
  builders of :mod:`~hdlimits.cli.builders` are public so that such subcommands take the same options.
"""
from hdlimits.cli.arguments import (add_integrator_arguments, add_optimizer_arguments,
                                    add_output_arguments, add_problem_arguments, add_simulation_arguments,
                                    add_time_arguments)
from hdlimits.cli.builders import build_optimizer, build_problem, build_schedule, build_times
from hdlimits.cli.main import build_parser, main
from hdlimits.cli.registry import (EXTRA_COMMAND_MODULES, OPTIMIZER_ARGUMENTS, OPTIMIZER_HELP, OPTIMIZERS,
                                   OPTION_OWNERS, PROBLEM_ARGUMENTS, PROBLEM_HELP, PROBLEMS,
                                   register_optimizer, register_problem)

__all__ = ["main", "build_parser", "OPTIMIZERS", "OPTIMIZER_ARGUMENTS", "OPTIMIZER_HELP",
           "OPTION_OWNERS", "PROBLEMS", "PROBLEM_ARGUMENTS", "PROBLEM_HELP", "EXTRA_COMMAND_MODULES",
           "register_optimizer", "register_problem", "add_problem_arguments", "add_optimizer_arguments",
           "add_time_arguments", "add_integrator_arguments", "add_simulation_arguments",
           "add_output_arguments", "build_problem", "build_optimizer", "build_schedule", "build_times"]
