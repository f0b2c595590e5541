"""Streaming Monte Carlo of the real finite-d algorithms: the in-kernel random number generator
(:mod:`~hdlimits.sim.rng`), the kernel table (:mod:`~hdlimits.sim.registry`), progress reporting and
the driver :func:`hdlimits.sim.simulate.simulate`. Kernels of a model family live with the family."""
