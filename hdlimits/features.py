"""Random feature maps for dataset problems: ``hd.features.relu(d, seed)``, ``tanh``, ``fourier``
(defined in :mod:`hdlimits.models.dataset.features`; docs/datasets.md §1)."""
from hdlimits.models.dataset.features import FeatureMap, fourier, parse, relu, tanh

__all__ = ["FeatureMap", "relu", "tanh", "fourier", "parse"]
