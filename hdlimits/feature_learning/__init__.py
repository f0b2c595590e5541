"""Feature learning under layer-wise preconditioning (docs/feature_learning.md).

Zhang, Moniri, Nagwekar, Rahman, Xue, Hassani, Matni, "On the concurrence of layer-wise preconditioning
methods and provable feature learning", ICML 2025 (arXiv 2502.01763): linear representation learning
(finite batches, the exact population iteration and the d_x → ∞ streaming limit) and the single-index
one-step spike.
"""
from hdlimits.feature_learning.tasks import LinearRepresentation, subspace_distance
from hdlimits.feature_learning.methods import METHODS
from hdlimits.feature_learning.train import Curve, TrainResult, train, population_iteration, compare_methods
from hdlimits.feature_learning.limit import predict, simulate_streaming, LimitResult
from hdlimits.feature_learning.single_index import SingleIndex, OneStepResult
from hdlimits.feature_learning.plot import plot

__all__ = ["LinearRepresentation", "subspace_distance", "METHODS", "Curve", "TrainResult", "train",
           "population_iteration", "compare_methods", "predict", "simulate_streaming", "LimitResult",
           "SingleIndex", "OneStepResult", "plot"]
