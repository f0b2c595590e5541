"""The minibatch noise operator of SGD on a finite dataset (docs/sharpness.md §3).

With batch weights ``w_i`` (``P̃ = diag(w)``, ``E w_i = 1``) the gradient of the sum loss on a batch is
``Jᵀ P̃ z``, and the noise operator is

    N(M) := E[(P̃ − I) M (P̃ − I)],   N(M)_ij = Cov(w_i, w_j) M_ij = v·diag(M) + κ·(M − diag M),

with ``v = Var(w_i)`` and ``κ = Cov(w_i, w_j)`` (i ≠ j). Writing ``N(M) = c·diag(M) + κ·M`` with
``c = v − κ`` gives the form of Agarwala & Pennington (arXiv 2404.19261) ``N(M) = c(diag M − M/D)``
for fixed-size batches. The three schemes (B = batch size, D = number of data points, β = B/D):

=====================  ============================  ===================  ===================
sampling               weights                       v = Var(w_i)         κ = Cov(w_i, w_j)
=====================  ============================  ===================  ===================
without_replacement    (D/B)·1[i ∈ batch], |batch|=B  (1−β)/β              −(1−β)/(β(D−1))
with_replacement       (D/B)·(count of i in B draws)  (D−1)/B              −1/B
bernoulli              1[i kept]/β, kept w.p. β       (1−β)/β              0
=====================  ============================  ===================  ===================

:func:`noise_coefficients` gives the numbers; :func:`symbolic_noise` derives them with sympy from the
moments of the batch indicators (and the operator and the noise-kernel norm 𝒦 as expressions), which
the tests check against sampled batches.
"""
from __future__ import annotations

from hdlimits.core import validation as v

__all__ = ["SAMPLINGS", "check_sampling", "noise_coefficients", "symbolic_noise", "noise_operator"]

#: the batch sampling schemes; the first is the default
SAMPLINGS = ("without_replacement", "with_replacement", "bernoulli")


def check_sampling(sampling) -> str:
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {', '.join(map(repr, SAMPLINGS))}, got {sampling!r}")
    return sampling


def check_batch(batch, D: int) -> int:
    return v.integer("batch", batch, low=1, high=int(D))


def noise_coefficients(sampling: str, D: int, B: int) -> tuple[float, float]:
    """``(v, κ)``: variance of a batch weight and covariance of two distinct weights (module docstring).

    Full batch without replacement or with Bernoulli β = 1 (B = D) gives ``(0, 0)``: GD."""
    check_sampling(sampling)
    D = v.integer("D", D, low=2)
    B = check_batch(B, D)
    beta = B / D
    if sampling == "without_replacement":
        var = (1.0 - beta) / beta
        return var, -var / (D - 1)
    if sampling == "with_replacement":
        return (D - 1) / B, -1.0 / B
    return (1.0 - beta) / beta, 0.0


def noise_operator(M, sampling: str, B: int):
    """``N(M) = E[(P̃ − I) M (P̃ − I)]`` for a numeric symmetric matrix ``M`` (D × D)."""
    import numpy as np
    M = np.asarray(M, dtype=np.float64)
    var, cov = noise_coefficients(sampling, M.shape[0], B)
    return (var - cov) * np.diag(np.diag(M)) + cov * M


def symbolic_noise(sampling: str):
    """Sympy derivation from the batch-indicator moments.

    Returns a dict of sympy expressions in the symbols ``D``, ``B`` (positive integers): ``mean``
    (E w_i, which must be 1), ``var`` (Var w_i), ``cov`` (Cov(w_i, w_j), i ≠ j), ``c`` (= var − cov,
    the coefficient of diag M), and ``K`` — the noise-kernel norm as a function of the symbol ``x``
    standing for one term ηλ: ``K = (c/D)·Σ_α x_α/(2 − x_α)``, returned as the summand factor
    ``c/D`` (key ``K_factor``) and the term ``x/(2 − x)`` (key ``K_term``).

    Moments used (n_i = multiplicity of data point i in the batch):

    * without replacement: E n_i = B/D, E n_i² = B/D, E n_i n_j = B(B−1)/(D(D−1)); w = (D/B) n;
    * with replacement (B i.i.d. uniform draws): n ~ Multinomial(B, 1/D): E n_i = B/D,
      E n_i² = B/D + B(B−1)/D², E n_i n_j = B(B−1)/D²; w = (D/B) n;
    * Bernoulli (each point kept independently with probability β = B/D): E n_i = E n_i² = β,
      E n_i n_j = β²; w = n/β.
    """
    import sympy as sp
    check_sampling(sampling)
    D, B, x = sp.symbols("D B x", positive=True)
    if sampling == "without_replacement":
        e1, e2, e12 = B / D, B / D, B * (B - 1) / (D * (D - 1))
    elif sampling == "with_replacement":
        e1, e2, e12 = B / D, B / D + B * (B - 1) / D**2, B * (B - 1) / D**2
    else:
        e1, e2, e12 = B / D, B / D, (B / D) ** 2
    scale = D / B
    mean = sp.simplify(scale * e1)
    var = sp.factor(sp.simplify(scale**2 * e2 - mean**2))
    cov = sp.factor(sp.simplify(scale**2 * e12 - mean**2))
    c = sp.factor(sp.simplify(var - cov))
    return {"D": D, "B": B, "x": x, "mean": mean, "var": var, "cov": cov, "c": c,
            "K_factor": sp.simplify(c / D), "K_term": x / (2 - x)}
