"""Dataset problems: SGD streaming the rows of a real dataset, and the data-moment limit that predicts
it (docs/datasets.md).

Modules: ``problem`` (:class:`DatasetProblem`, ``hd.Problem.from_dataset``), ``features`` (random feature
maps, ``hd.features.relu(d, seed)`` …), ``limit`` (the data-moment recursion), ``kernels`` / ``simulate``
(Monte Carlo on the rows), ``diagnostics`` (the data-moment stability edge).
"""
from hdlimits.models.dataset.problem import DatasetProblem
from hdlimits.optimizers import SGD as _SGD
from hdlimits.reductions import register_limit as _register_limit
from hdlimits.reductions import register_simulator as _register_simulator

__all__ = ["DatasetProblem"]


def _limit(problem, optimizer, t_max=None):
    from hdlimits.models.dataset.limit import DataMomentSystem, _check_optimizer
    _check_optimizer(optimizer)
    return DataMomentSystem(problem, optimizer, t_max)


def _simulate(problem, optimizer, t, **options):
    from hdlimits.models.dataset.simulate import simulate_dataset
    return simulate_dataset(problem, optimizer, t, **options)


_register_limit(DatasetProblem, _SGD, _limit)
_register_simulator(DatasetProblem, _simulate)
