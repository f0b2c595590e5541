"""From parsed options to objects: the problem, the optimizer (with its learning-rate schedule) and the
output times. Problems and optimizers come from the tables of :mod:`hdlimits.cli.registry`. A library
check failing on an option's value is reported with that option (:mod:`hdlimits.cli.errors`)."""
from __future__ import annotations

import math

import numpy as np

from hdlimits.cli import registry
from hdlimits.cli.errors import naming_options
from hdlimits.core.noise import parse as parse_noise

__all__ = ["build_problem", "build_optimizer", "build_schedule", "build_times", "PROBLEM_PARAMETERS",
           "OPTIMIZER_PARAMETERS"]

#: library parameter → option, where the two names differ (else ``--<parameter>`` when the command has
#: it); families may add their own entries
PROBLEM_PARAMETERS = {"seed": "--problem-seed"}
OPTIMIZER_PARAMETERS = {"eps": "--adam-eps", "kappa": "--clip-kappa"}


def build_problem(args):
    """The problem named by ``--problem``, built by its entry in :data:`registry.PROBLEMS`."""
    name = args.problem
    if name not in registry.PROBLEMS:
        raise ValueError(f"--problem must be one of {', '.join(sorted(registry.PROBLEMS))}; got {name!r}")
    from hdlimits.cli.dataset import dataset_problem
    dataset = dataset_problem(args)             # --dataset replaces --problem (docs/datasets.md §8)
    if dataset is not None:
        return dataset
    registry.check_owned_options(args, registry.PROBLEM_OPTION_OWNERS, name, "--problem")
    noise = parse_noise(args.noise, "--noise")
    with naming_options(args, PROBLEM_PARAMETERS):
        prob = registry.PROBLEMS[name](args, noise)
    from hdlimits.cli.glm import glm_problem
    with naming_options(args, PROBLEM_PARAMETERS):
        return glm_problem(args, prob)


_SCHEDULE_OPTIONS = {"warmup": ("warmup_time", "start_factor"), "cosine": ("cosine_time", "final_lr"),
                     "step": ("milestones", "decay_factor"), "power": ("t0", "power"), "constant": ()}


def build_schedule(args):
    """The learning rate: a number for ``--schedule constant``, else a schedule from
    :mod:`hdlimits.core.schedules`."""
    from hdlimits.core import schedules as sch
    kind = args.schedule
    for other, dests in _SCHEDULE_OPTIONS.items():
        if other == kind:
            continue
        for dest in dests:
            if getattr(args, dest, None) is not None and dest not in _SCHEDULE_OPTIONS[kind]:
                raise ValueError(f"--{dest.replace('_', '-')} applies only to --schedule {other} "
                                 f"(got --schedule {kind})")
    lr = args.lr
    if kind == "constant":
        return sch.constant(lr).params[0]       # checks lr > 0
    if kind == "warmup":
        if args.warmup_time is None:
            raise ValueError("--schedule warmup needs --warmup-time (the length of the ramp, > 0)")
        return sch.linear_warmup(lr, args.warmup_time,
                                 0.0 if args.start_factor is None else args.start_factor)
    if kind == "cosine":
        T = args.t_max if args.cosine_time is None else args.cosine_time
        return sch.cosine(lr, T, 0.0 if args.final_lr is None else args.final_lr)
    if kind == "step":
        if args.milestones is None:
            raise ValueError("--schedule step needs --milestones T1,T2,... (times ≥ 0)")
        return sch.step(lr, args.milestones, 0.1 if args.decay_factor is None else args.decay_factor)
    return sch.power_decay(lr, 1.0 if args.t0 is None else args.t0,
                           1.0 if args.power is None else args.power)


def build_optimizer(args):
    """The optimizer named by ``--optimizer``, built by its entry in :data:`registry.OPTIMIZERS`."""
    name = args.optimizer
    if name not in registry.OPTIMIZERS:
        raise ValueError(f"--optimizer must be one of {', '.join(sorted(registry.OPTIMIZERS))}; "
                         f"got {name!r}")
    registry.check_owned_options(args, registry.OPTION_OWNERS, name, "--optimizer")
    cosine_time = "--t-max" if getattr(args, "cosine_time", None) is None else "--cosine-time"
    with naming_options(args, {**OPTIMIZER_PARAMETERS, "t_max": cosine_time}):
        return registry.OPTIMIZERS[name](args, build_schedule(args))


def build_times(args, d):
    """The output times: ``--n-times`` points on ``[0, --t-max]`` (linear, or log-spaced from
    ``--t-min`` with ``t = 0`` added), rounded to multiples of ``1/d`` and de-duplicated."""
    t_max = args.t_max
    if not (math.isfinite(t_max) and t_max > 0):
        raise ValueError(f"--t-max must be a time in (0, inf), got {t_max}")
    if t_max * d < 0.5:
        raise ValueError(f"--t-max must be at least one step, 1/d = {1 / d:.3g} (got {t_max})")
    n = args.n_times
    if n < 2:
        raise ValueError(f"--n-times must be an integer ≥ 2, got {n}")
    if args.log_times:
        t_min = max(1.0 / d, t_max / 1000.0) if args.t_min is None else args.t_min
        if not (math.isfinite(t_min) and 0 < t_min < t_max):
            raise ValueError(f"--t-min must lie in (0, t-max) = (0, {t_max:g}), got {t_min}")
        t = np.concatenate([[0.0], np.geomspace(t_min, t_max, n - 1)])
    else:
        if args.t_min is not None:
            raise ValueError("--t-min applies only with --log-times")
        t = np.linspace(0.0, t_max, n)
    return np.unique(np.round(t * d)) / d
