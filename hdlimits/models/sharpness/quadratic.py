"""The second-order (quadratic-in-parameters) regression model and its wide fixed-D ensemble
(Agarwala, Pedregosa, Pennington, arXiv 2210.04860; Agarwala & Pennington, arXiv 2404.19261;
docs/sharpness_quadratic.md §2).

    z(θ) = z₀ + J₀θ + ½ Q(θ, θ),   Q(a, b)_i = aᵀQ_i b,   Q_i = Q_iᵀ ∈ R^{P×P},

with D data points, P parameters, sum loss L = ½‖z‖², Jacobian J(θ) = J₀ + Q(θ,·) and NTK Θ = JJᵀ.
Here ``lr`` is the step η itself and time is the step count.

Wide ensemble (fixed D, P → ∞): J₀ = U diag(√λ⁰) R with R ∈ R^{D×P} of orthonormal rows, so
Θ₀ = U diag(λ⁰) Uᵀ exactly (U = I when ``ntk`` is a vector of eigenvalues: eigenvectors on the data
basis); Q_i independent across i, symmetric, (Q_i)_pq ~ N(0, σ²/P) off the diagonal and N(0, 2σ²/P) on
it, so E[Q_i Q_j] = σ²(1 + 1/P) δ_ij I_P; θ₀ = 0 and z(θ₀) = z₀ = ``residual0``.
"""
from __future__ import annotations

import numpy as np

from hdlimits.core import validation as v

__all__ = ["QuadraticModel", "draw_q", "q_second_moment"]


def q_second_moment(sigma2: float, P: int) -> float:
    """s_Q with E[Q_i Q_j] = s_Q δ_ij I: σ²(1 + 1/P) in the wide ensemble."""
    return sigma2 * (1.0 + 1.0 / P)


def draw_q(D: int, P: int, sigma2: float, rng: np.random.Generator) -> np.ndarray:
    """One draw of Q (D × P × P, float64) of the wide ensemble; peak memory D·P² + P² floats."""
    q = np.empty((D, P, P), dtype=np.float64)
    scale = np.sqrt(sigma2 / (2.0 * P))
    for i in range(D):
        g = rng.standard_normal((P, P))
        np.add(g, g.T, out=q[i])
        q[i] *= scale
    return q


class QuadraticModel:
    """A second-order regression model of the wide ensemble; build it with :meth:`wide`.

    Attributes: ``D``, ``P``, ``sigma2``, ``ntk`` (Θ₀, D × D), ``ntk_eigenvalues`` (λ⁰, ascending),
    ``ntk_eigenvectors`` (U), ``residual0`` (z₀, length D), ``seed``; ``J0`` (D × P) and ``Q``
    (D × P × P, drawn from ``seed`` on first use) are this instance's realisation. The theory
    (``hs.predict``) uses only Θ₀, z₀, σ² and P; the Monte Carlo (``hs.simulate``) draws fresh Q.
    """

    def __init__(self, ntk, P, sigma2, residual0, seed):
        ntk_arr = np.asarray(ntk, dtype=np.float64) if not isinstance(ntk, str) else None
        if ntk_arr is None or ntk_arr.ndim not in (1, 2):
            raise ValueError("ntk must be a vector of D ≥ 2 NTK eigenvalues (eigenvectors on the data "
                             "basis) or a symmetric positive semi-definite D×D matrix")
        if ntk_arr.ndim == 1:
            lam = v.vector("ntk", ntk_arr, nonnegative=True)
            D = lam.size
            order = np.argsort(lam)
            vec = np.eye(D)[:, order]
            lam = lam[order]
            K = np.diag(np.asarray(ntk_arr, dtype=np.float64))
            self._diagonal = True
        else:
            K, lam, vec = v.symmetric_psd("ntk", ntk_arr)
            D = K.shape[0]
            self._diagonal = bool(np.all(K == np.diag(np.diag(K))))
        if D < 2:
            raise ValueError(f"ntk must describe D ≥ 2 data points, got D = {D}")
        if not np.any(lam > 0):
            raise ValueError("ntk must have a positive eigenvalue (range of eigenvalues [0, inf), not all 0)")
        self.D = int(D)
        self.P = v.integer("P", P, low=self.D)
        self.sigma2 = v.nonnegative("sigma2", sigma2)
        if np.ndim(residual0) == 0:
            z0 = np.full(self.D, v.real("residual0", residual0))
        else:
            z0 = np.array(v.vector("residual0", residual0))
            if z0.size != self.D:
                raise ValueError(f"residual0 must be a number or a vector of length D = {self.D} (one "
                                 f"residual per data point), got length {z0.size}")
        z0.setflags(write=False)
        K = np.array(K)
        K.setflags(write=False)
        self.ntk = K
        self.ntk_eigenvalues = lam
        self.ntk_eigenvectors = vec
        self.residual0 = z0
        self.seed = v.seed("seed", seed)
        v.memory("P", self.P, float(self.D) * self.P * self.P + 2.0 * self.P * self.P,
                 f"Q (D×P×P = {self.D}×{self.P}×{self.P} float64; P ≤ {self.max_P()} fits)")
        self._J0 = None
        self._Q = None

    @classmethod
    def wide(cls, ntk, P=1000, sigma2=0.01, residual0=1.0, seed=0) -> "QuadraticModel":
        """The wide fixed-D second-order model with NTK ``ntk`` at initialisation.

        ``ntk``: D ≥ 2 eigenvalues (Θ₀ = diag(ntk), eigenvectors on the data basis) or a symmetric PSD
        D×D matrix; ``P ≥ D`` parameters (the theory is the P → ∞ limit at fixed D); ``sigma2 = σ² ≥ 0``,
        the variance scale of Q, (Q_i)_pq ~ N(0, σ²/P); ``residual0``: z₀, a number (every residual) or a
        length-D vector; ``seed``: this instance's J₀ rotation and Q draw.
        Q is stored as D×P×P float64 (8·D·P² bytes): P is refused when that does not fit in memory.
        """
        return cls(ntk, P, sigma2, residual0, seed)

    @staticmethod
    def single_output(J0, Q, residual0):
        """The single-output (D = 1) model ``z(θ) = z₀ + J₀θ + ½θᵀQθ`` (Agarwala, Pedregosa, Pennington,
        arXiv 2210.04860): ``J0`` length P, ``Q`` symmetric P × P with at most 6 distinct eigenvalues,
        ``residual0`` = z₀. ``hs.predict`` iterates its exact sympy-derived moment map
        (docs/sharpness_second_order.md §2)."""
        from hdlimits.models.sharpness.second_order import SingleOutputModel
        return SingleOutputModel(J0, Q, residual0)

    @staticmethod
    def proportional(D, P, eps=1.0, seed=0):
        """One realisation of the proportional random ensemble E-prop (arXiv 2210.04860): D data points,
        P parameters, (J₀)_ip ~ N(0, 1/P), (Q_i)_pq ~ N(0, ε²/(PD)) (2ε²/(PD) on the diagonal),
        z₀ = −y with y ~ N(0, 1). ``hs.simulate`` runs it in θ-space (docs/sharpness_second_order.md
        §4). Q (D×P×P float64) must fit in memory, else a ValueError naming P."""
        from hdlimits.models.sharpness.proportional import ProportionalModel
        return ProportionalModel(D, P, eps, seed)

    def max_P(self) -> int:
        """The largest P whose Q fits in the memory budget of :func:`hdlimits.core.validation.memory`."""
        total = v.physical_memory()
        if total is None:
            return 10 ** 9
        return int(np.sqrt(v.MEMORY_FRACTION * total / 8.0 / (self.D + 2)))

    def _rngs(self):
        """Two child seeds (J₀'s rotation, Q), derived without mutating ``seed``."""
        key = tuple(self.seed.spawn_key)
        return tuple(np.random.SeedSequence(self.seed.entropy, spawn_key=key + (k,)) for k in range(2))

    @property
    def J0(self) -> np.ndarray:
        """J₀ = U diag(√λ⁰) R (D × P), R with orthonormal rows drawn from ``seed``: J₀J₀ᵀ = Θ₀."""
        if self._J0 is None:
            self._J0 = wide_jacobian(self, np.random.default_rng(self._rngs()[0]))
        return self._J0

    @property
    def Q(self) -> np.ndarray:
        """This instance's Q (D × P × P), drawn from ``seed`` on first use."""
        if self._Q is None:
            self._Q = draw_q(self.D, self.P, self.sigma2, np.random.default_rng(self._rngs()[1]))
        return self._Q

    def describe(self) -> str:
        lam = self.ntk_eigenvalues
        return (f"QuadraticModel.wide(D={self.D}, P={self.P}, sigma2={self.sigma2:g}, "
                f"λ⁰ ∈ [{lam.min():g}, {lam.max():g}], ‖z₀‖² = {float(self.residual0 @ self.residual0):g})")

    __str__ = describe

    def __repr__(self) -> str:
        return self.describe()


def wide_jacobian(model: QuadraticModel, rng: np.random.Generator) -> np.ndarray:
    """J₀ = U diag(√λ⁰) R with R (D × P) of orthonormal rows from a QR of a Gaussian P × D matrix."""
    r = np.linalg.qr(rng.standard_normal((model.P, model.D)))[0].T
    return (model.ntk_eigenvectors * np.sqrt(model.ntk_eigenvalues)) @ r
