"""Random feature maps for dataset problems (docs/datasets.md §1): ``hd.features.relu(d, seed)``,
``hd.features.tanh(d, seed)``, ``hd.features.fourier(d, seed, bandwidth)``.

A map ``φ`` sends inputs ``A`` (n × p) to features (n × d)::

    relu:     φ(a) = c · max(0, Wᵀa)
    tanh:     φ(a) = c · tanh(Wᵀâ)
    fourier:  φ(a) = c · cos(Wᵀâ / bandwidth + b)          (random Fourier features)

with ``W`` (p × d) i.i.d. ``N(0, 1/p)`` and ``b`` i.i.d. uniform on ``[0, 2π)``, drawn from
``numpy.random.default_rng(seed)``. ``â = a·√p / ρ`` rescales the inputs by their root-mean-square row norm
``ρ`` on the data passed (so ``Wᵀâ`` has entries of order 1 whatever the units of the inputs; ReLU is
homogeneous and needs no rescaling). The constant ``c`` makes the mean squared feature norm equal to d on
the data passed, i.e. ``tr K = d`` (the normalisation of docs/conventions.md §6, under which SGD's Gaussian
stability edge is near ``γ = 2B``). Features are not centred: the mean of the features is a spike of K,
which is where the Gaussian limit fails (docs/datasets.md §6).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hdlimits.core import validation as v

__all__ = ["FeatureMap", "relu", "tanh", "fourier", "KINDS", "parse"]

KINDS = ("relu", "tanh", "fourier")


@dataclass(frozen=True)
class FeatureMap:
    """A random feature map (module docstring); call it on an (n, p) array of inputs."""

    kind: str
    d: int
    seed: int
    bandwidth: float = 1.0

    def weights(self, p: int):
        """``(W, b)`` for inputs of dimension ``p`` (the same for the same seed)."""
        rng = np.random.default_rng(self.seed)
        W = rng.standard_normal((p, self.d)) / np.sqrt(p)
        b = rng.uniform(0.0, 2.0 * np.pi, size=self.d)
        return W, b

    def __call__(self, A) -> np.ndarray:
        try:
            A = np.array(A, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"inputs must be a real 2-D array (rows = samples), got {type(A).__name__}") \
                from None
        if A.ndim != 2 or A.shape[0] < 1 or A.shape[1] < 1:
            raise ValueError(f"inputs must be a 2-D array of samples × input features, got shape {A.shape}")
        if not np.all(np.isfinite(A)):
            raise ValueError("inputs must contain only finite values")
        n, p = A.shape
        v.memory("d", self.d, 2.0 * n * self.d + p * self.d, f"{self.kind} features of {n} rows")
        W, b = self.weights(p)
        if self.kind == "relu":
            F = np.maximum(A @ W, 0.0)
        else:
            rho = float(np.sqrt(np.mean(np.sum(A * A, axis=1))))
            Ah = A * (np.sqrt(p) / rho) if rho > 0 else A
            if self.kind == "tanh":
                F = np.tanh(Ah @ W)
            else:
                F = np.cos(Ah @ W / self.bandwidth + b)
        ms = float(np.mean(np.sum(F * F, axis=1)))
        if not ms > 0:
            raise ValueError(f"the {self.kind} features of these inputs are all zero; check the inputs")
        return F * np.sqrt(self.d / ms)

    def spec(self) -> str:
        return f"{self.kind}:{self.d}" + (f",bandwidth={self.bandwidth:g}" if self.kind == "fourier" else "")


def _make(kind, d, seed, bandwidth=1.0):
    d = v.integer("d", d, low=1, high=4096)
    seed = v.integer("seed", seed, low=0)
    bandwidth = v.positive("bandwidth", bandwidth)
    return FeatureMap(kind, d, seed, float(bandwidth))


def relu(d: int, seed: int = 0) -> FeatureMap:
    """``d`` random ReLU features ``c·max(0, Wᵀa)``, ``W ~ N(0, 1/p)`` from ``seed``; tr K = d."""
    return _make("relu", d, seed)


def tanh(d: int, seed: int = 0) -> FeatureMap:
    """``d`` random tanh features ``c·tanh(Wᵀâ)`` of the rms-normalised inputs; tr K = d."""
    return _make("tanh", d, seed)


def fourier(d: int, seed: int = 0, bandwidth: float = 1.0) -> FeatureMap:
    """``d`` random Fourier features ``c·cos(Wᵀâ/bandwidth + b)``; tr K = d."""
    return _make("fourier", d, seed, bandwidth)


def parse(text: str, seed: int = 0) -> FeatureMap:
    """``"relu:1024"``, ``"tanh:256"``, ``"fourier:512"`` or ``"fourier:512,bandwidth=2"`` → a map."""
    kind, _, rest = str(text).partition(":")
    if kind not in KINDS or not rest:
        raise ValueError(f"features must be KIND:D with KIND one of {list(KINDS)} (e.g. relu:1024), "
                         f"got {text!r}")
    parts = rest.split(",")
    try:
        d = int(parts[0])
    except ValueError:
        raise ValueError(f"features: the number of features must be an integer, got {parts[0]!r}") from None
    kw = {}
    for part in parts[1:]:
        key, _, val = part.partition("=")
        if kind != "fourier" or key != "bandwidth":
            raise ValueError(f"features: unknown option {part!r} for {kind} (only fourier takes "
                             "bandwidth=)")
        try:
            kw["bandwidth"] = float(val)
        except ValueError:
            raise ValueError(f"features: bandwidth must be a number, got {val!r}") from None
    return _make(kind, d, seed, **kw)
