"""Streaming least squares: problems, reductions to the scalar-forced mode system, simulator kernels and
rules, and closed-form analysis (diagnostics, clipping criteria, signSGD's effects). See docs/sgd.md.

Importing this package registers the family in the tables: its kernels in :mod:`hdlimits.sim.registry`,
its limits and simulator rules in :mod:`hdlimits.reductions`, its update rules ``h(r)`` in
:mod:`hdlimits.derivation.rules`.
"""
from hdlimits.models.least_squares import kernels as _linear  # noqa: F401  (registers "linear")
from hdlimits.models.least_squares import kernels_sign as _sign  # noqa: F401  ("sign", "adam", "normsgd")
from hdlimits.models.least_squares import kernels_clip as _clip  # noqa: F401  ("clip")
from hdlimits.models.least_squares import reductions as _reductions
from hdlimits.models.least_squares import rules as _rules
from hdlimits.models.least_squares import sim_rules as _sim_rules

_reductions.register()
_sim_rules.register()
_rules.register()
