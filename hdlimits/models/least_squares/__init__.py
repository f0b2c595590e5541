"""Streaming least squares: problems, reductions to the scalar-forced mode system, simulator kernels,
and closed-form analysis (diagnostics, clipping criteria, signSGD's effects). See docs/sgd.md.

Importing this package registers its simulator kernels in :mod:`hdlimits.sim.registry`.
"""
from hdlimits.models.least_squares import kernels as _linear  # noqa: F401  (registers "linear")
from hdlimits.models.least_squares import kernels_sign as _sign  # noqa: F401  ("sign", "adam", "normsgd")
from hdlimits.models.least_squares import kernels_clip as _clip  # noqa: F401  ("clip")
