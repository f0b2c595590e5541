"""Single-index model, one large first-layer step: the spike of the gradient and its alignment
(docs/feature_learning.md §5).

The second model of Zhang, Moniri, Nagwekar, Rahman, Xue, Hassani, Matni (ICML 2025, arXiv 2502.01763),
in the one-step framework of Ba et al. (2022) / Moniri et al. (2024):

    x ~ N(0, Σ),  y = f*(⟨β, x⟩) + ε,  ⟨β, Σβ⟩ = 1,   student f(x) = Σ_j a_j tanh(⟨w_j, x⟩),
    a_j = ±1/√N,  w_j ~ N(0, I/d),   L̂ = (1/2n) Σ_i (f(x_i) − y_i)²,
    ∇_W L̂ = (1/n) Σ_i (f(x_i) − y_i) (a ⊙ tanh'(W x_i)) x_iᵀ   (N × d).

The gradient has a rank-one spike; its top right singular vector ``v`` is compared with β and Σβ. Right
preconditioning multiplies the gradient by ``(Σ̂ + λI)⁻¹`` (``"full"``) or ``diag(Σ̂)⁻¹`` (``"diag"``).

Mechanism (Stein's lemma, Gaussian x): ``E[y x] = μ₁ Σβ`` with ``μ₁ = E f*'(z)``, so without
preconditioning the spike points along Σβ (biased away from β when Σ is anisotropic), and
``Σ⁻¹ E[y x] = μ₁ β``. The values this module returns are **Monte Carlo** (mean ± stderr over runs);
the proportional-regime formula (the paper's Theorem 3.9) is not implemented. ``population`` gives the
n → ∞ directions of the rank-one heuristic: Σβ (none), β (full), diag(Σ)⁻¹Σβ (diag).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hdlimits.core import validation as v
from hdlimits.feature_learning.tasks import _haar
from hdlimits.feature_learning.train import _children, blas_single_thread

__all__ = ["SingleIndex", "OneStepResult", "LINKS", "PRECONDITIONERS"]

LINKS = {
    "relu+linear": lambda z: np.maximum(z, 0.0) + 0.5 * z,
    "relu": lambda z: np.maximum(z, 0.0),
    "linear": lambda z: z,
    "tanh": np.tanh,
}
PRECONDITIONERS = (None, "full", "diag")


def _cos(u, w):
    return abs(float(u @ w)) / (np.linalg.norm(u) * np.linalg.norm(w))


@dataclass(frozen=True)
class OneStepResult:
    """|cos| of the top right singular vector of the one-step gradient with β and with Σβ
    (Monte Carlo mean ± stderr over ``runs``), and the n → ∞ rank-one reference values."""
    precondition: object
    cos_beta: float
    cos_beta_stderr: float
    cos_sigma_beta: float
    cos_sigma_beta_stderr: float
    runs: np.ndarray            # (runs, 2): |cos β|, |cos Σβ| per run
    population: dict            # {"cos_beta": ..., "cos_sigma_beta": ...} of the n → ∞ direction

    def __repr__(self):
        return (f"OneStepResult(precondition={self.precondition!r}, |cos β| = {self.cos_beta:.3f} ± "
                f"{self.cos_beta_stderr:.3f}, |cos Σβ| = {self.cos_sigma_beta:.3f} ± "
                f"{self.cos_sigma_beta_stderr:.3f}, runs={self.runs.shape[0]}, Monte Carlo)")


class SingleIndex:
    """Single-index task with anisotropic Gaussian inputs and a two-layer tanh student (module docstring).

    Parameters: ``d`` input dimension, ``n`` samples of the one step, ``width`` N neurons, ``link`` one of
    ``LINKS``, ``condition_number`` κ(Σ) ≥ 1 (eigenvalues log-spaced from 1 to 1/κ, Haar eigenvectors),
    ``noise_std`` σ of ε, ``seed`` (Σ and β), ``ridge`` λ of the full preconditioner.
    """

    def __init__(self, d=200, n=4000, width=100, link="relu+linear", condition_number=100, seed=0, *,
                 noise_std=0.1, ridge=1e-3):
        self.d = v.integer("d", d, low=1)
        self.n = v.integer("n", n, low=1)
        self.width = v.integer("width", width, low=1)
        if link not in LINKS:
            raise ValueError(f"link must be one of {list(LINKS)}, got {link!r}")
        self.link = link
        self.condition_number = v.real("condition_number", condition_number, low=1.0)
        self.noise_std = v.nonnegative("noise_std", noise_std)
        self.ridge = v.nonnegative("ridge", ridge)
        self.seed = seed
        s_U, s_b = v.seed("seed", seed).spawn(2)
        expo = np.linspace(0.0, 1.0, self.d) if self.d > 1 else np.zeros(1)
        lam = self.condition_number ** (-expo)
        U = _haar(np.random.default_rng(s_U), self.d)
        self.Sigma = (U * lam) @ U.T
        self.sqrt_Sigma = (U * np.sqrt(lam)) @ U.T
        b = np.random.default_rng(s_b).standard_normal(self.d)
        self.beta = b / np.sqrt(b @ self.Sigma @ b)
        self.sigma_beta = self.Sigma @ self.beta

    def __repr__(self):
        return (f"SingleIndex(d={self.d}, n={self.n}, width={self.width}, link={self.link!r}, "
                f"condition_number={self.condition_number:g}, seed={self.seed!r})")

    def gradient(self, rng):
        """One draw of the first-layer gradient (N × d) and the batch covariance Σ̂."""
        X = rng.standard_normal((self.n, self.d)) @ self.sqrt_Sigma
        y = LINKS[self.link](X @ self.beta) + self.noise_std * rng.standard_normal(self.n)
        W = rng.standard_normal((self.width, self.d)) / np.sqrt(self.d)
        a = rng.choice([-1.0, 1.0], size=self.width) / np.sqrt(self.width)
        H = np.tanh(X @ W.T)                           # (n, N)
        res = H @ a - y                                # f(x) − y
        D = (1.0 - H * H) * a                          # a ⊙ tanh'(Wx)
        grad = (D * res[:, None]).T @ X / self.n       # (N, d)
        return grad, X.T @ X / self.n

    def _direction(self, grad, S, precondition):
        if precondition == "full":
            grad = np.linalg.solve(S + self.ridge * np.eye(self.d), grad.T).T
        elif precondition == "diag":
            grad = grad / np.diag(S)
        _, _, Vt = np.linalg.svd(grad, full_matrices=False)
        return Vt[0]

    def population(self, precondition=None):
        """|cos| of the n → ∞ rank-one direction (Σβ; β; diag(Σ)⁻¹Σβ) with β and Σβ."""
        u = {None: self.sigma_beta, "full": self.beta, "diag": self.sigma_beta / np.diag(self.Sigma)}[precondition]
        return {"cos_beta": float(_cos(u, self.beta)), "cos_sigma_beta": float(_cos(u, self.sigma_beta))}

    def one_step(self, precondition=None, runs=4, seed=1):
        """Alignment of the spike after one step, Monte Carlo over ``runs`` (fresh data and init per run;
        ``SeedSequence(seed)`` spawned per run)."""
        if precondition not in PRECONDITIONERS:
            raise ValueError(f"precondition must be one of {list(PRECONDITIONERS)}, got {precondition!r}")
        runs = v.integer("runs", runs, low=1)
        out = np.empty((runs, 2))
        with blas_single_thread():
            for i, s in enumerate(_children(seed, runs)):
                grad, S = self.gradient(np.random.default_rng(s))
                u = self._direction(grad, S, precondition)
                out[i] = _cos(u, self.beta), _cos(u, self.sigma_beta)
        m = out.mean(axis=0)
        se = out.std(axis=0, ddof=1) / np.sqrt(runs) if runs > 1 else np.full(2, np.nan)
        return OneStepResult(precondition, float(m[0]), float(se[0]), float(m[1]), float(se[1]), out,
                             self.population(precondition))
