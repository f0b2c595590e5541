"""Parameter sweeps: evaluate the limiting equations (and, optionally, simulations) over a grid.

``sweep(problem_factory, optimizer_factory, grid, metric)`` builds, for every point of the Cartesian
product ``grid`` (a mapping ``axis name -> 1-D sequence of values``, axes in the mapping's order), a
:class:`~hdlimits.models.least_squares.problem.Problem` and an optimizer, evaluates ``metric`` on them and
returns a :class:`SweepResult`: the axes, one array per metric value (shape = grid shape, plus trailing
axes for curve-valued metrics) and, per point, a status message, a status code and an event time.

``hd.sweep`` is the function; this package (``hd.sweeps``) holds it and the metrics, sources and
result type: ``hd.sweeps.FinalRisk``, ``hd.sweeps.SweepResult``, ...

Modules: :mod:`~hdlimits.sweeps.sources` (Theory, Simulation, with_lr), :mod:`~hdlimits.sweeps.metrics`,
:mod:`~hdlimits.sweeps.status` (the status of a point as data), :mod:`~hdlimits.sweeps.result`
(SweepResult and its files), :mod:`~hdlimits.sweeps.backends` (serial, local pool, dask) and
:mod:`~hdlimits.sweeps.engine` (the function :func:`sweep`).

Conventions (docs/conventions.md): time ``t = steps/d``, step ``γ(t)/d``; ``risk = ½(eᵀKe + E ε²)``,
``excess_risk = ½ eᵀKe``. A diverging point has status code ``"diverged"`` (with its ``t_event``), and
its risk-valued metrics are ``inf``, never NaN. NaN marks only a point that failed (code ``"error"``: an
invalid parameter combination, ValueError, or a numerical failure, RuntimeError/ArithmeticError); the
sweep goes on and warns with the count (it raises if every point fails).

Factories
---------
Each factory is called with the grid values it accepts as keyword arguments (read from its signature; a
factory with ``**kwargs`` receives every axis). ``optimizer_factory`` may also take a parameter named
``problem`` and then receives the problem built for the same point (e.g. to set the learning rate as a
fraction of :func:`hdlimits.critical_lr`). Every axis must be accepted by at least one factory.

With the default process-pool backend the factories and the metric are sent to worker processes by
``pickle``: they must be **module-level functions or classes, or** ``functools.partial`` **of those**
(``functools.partial(hd.Problem.power_law, d=500, beta=1.0)``, ``hd.SGD``). Lambdas and functions
defined inside other functions are refused with a ``ValueError`` before any work starts.

Backends
--------
``"local"`` (default): a local process pool with one worker per CPU, no set-up. ``"serial"``: in the
calling process. ``"dask"``: a ``dask.distributed`` cluster, given as ``client=`` (a ``Client``) or a
scheduler address ``client="tcp://host:8786"``. Every backend evaluates the same function on the same
inputs, and results are put back by grid index, so the output is identical (bit for bit) and in the same
order whatever the backend and the number of workers. Simulation metrics derive their seed from the
user seed and the grid index (``SeedSequence(seed, spawn_key=(index,))``), so they too are
backend-independent.
"""
from hdlimits.sweeps.backends import BACKENDS
from hdlimits.sweeps.engine import sweep
from hdlimits.sweeps.metrics import (BestFinalRisk, ClippingCriteria, Curve, Divergence, FinalRisk,
                                     SpeedUp, TimeToTarget)
from hdlimits.sweeps.result import SweepResult
from hdlimits.sweeps.sources import Simulation, Theory, with_lr
from hdlimits.sweeps.status import PointStatus

__all__ = ["sweep", "SweepResult", "Theory", "Simulation", "FinalRisk", "TimeToTarget", "Divergence",
           "SpeedUp", "BestFinalRisk", "Curve", "ClippingCriteria", "with_lr", "BACKENDS",
           "PointStatus"]

# Compatibility: before the package existed, ``hd.sweep.FinalRisk`` etc. were read off the function;
# the function still carries the public names (``hd.sweeps.FinalRisk`` is the place to read them).
for _n in __all__:
    if _n != "sweep":
        setattr(sweep, _n, globals()[_n])
del _n
