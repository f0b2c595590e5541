"""The symbolic noise operator (sympy, from batch-indicator moments) against sampled batches and the
closed forms of Agarwala & Pennington (arXiv 2404.19261); docs/sharpness.md §3."""
import math

import numpy as np
import pytest
import sympy as sp

from hdlimits import sharpness as hs
from hdlimits.models.sharpness import batch_noise as bn
from tests.stats import family_z

SAMPLINGS = bn.SAMPLINGS


def _sample_weights(sampling, D, B, n, rng):
    if sampling == "without_replacement":
        idx = np.argsort(rng.random((n, D)), axis=1)[:, :B]
        w = np.zeros((n, D)); np.put_along_axis(w, idx, D / B, axis=1)
        return w
    if sampling == "with_replacement":
        idx = rng.integers(0, D, size=(n, B))
        w = np.zeros((n, D))
        for b in range(B):
            np.add.at(w, (np.arange(n), idx[:, b]), D / B)
        return w
    return (rng.random((n, D)) < B / D) / (B / D)


@pytest.mark.parametrize("sampling", SAMPLINGS)
def test_symbolic_operator_matches_sampled_batches(sampling):
    """N(M) = E[(P̃−I)M(P̃−I)] from 40 000 sampled batches (D = 6, B = 2) vs the sympy operator: every
    entry within the Bonferroni–Student-t bound of its sampling error."""
    D, B, n = 6, 2, 40_000
    rng = np.random.default_rng(123)
    A = rng.standard_normal((D, D)); M = A @ A.T
    w = _sample_weights(sampling, D, B, n, rng)
    E = w - 1.0                                         # diagonal of P̃ − I
    samples = E[:, :, None] * M[None] * E[:, None, :]   # (P̃−I) M (P̃−I), n × D × D
    mean, se = samples.mean(0), samples.std(0, ddof=1) / math.sqrt(n)
    sym = bn.symbolic_noise(sampling)
    sub = {sym["D"]: D, sym["B"]: B}
    assert sym["mean"].subs(sub) == 1
    var, cov = float(sym["var"].subs(sub)), float(sym["cov"].subs(sub))
    want = cov * M + (var - cov) * np.diag(np.diag(M))
    iu = np.triu_indices(D)
    z = (mean - want)[iu] / se[iu]
    assert np.max(np.abs(z)) < family_z(iu[0].size, n), np.max(np.abs(z))
    np.testing.assert_allclose(bn.noise_operator(M, sampling, B), want, rtol=1e-12, atol=1e-12)


def test_symbolic_coefficients_are_the_closed_forms():
    D, B = sp.symbols("D B", positive=True)
    beta = B / D
    closed = {"without_replacement": (1 - beta) / beta * D / (D - 1),
              "with_replacement": D / B,
              "bernoulli": (1 - beta) / beta}
    for sampling, c in closed.items():
        sym = bn.symbolic_noise(sampling)
        assert sp.simplify(sym["c"].subs({sym["D"]: D, sym["B"]: B}) - c) == 0, sampling
        for (Dn, Bn) in ((10, 3), (400, 40)):
            var, cov = bn.noise_coefficients(sampling, Dn, Bn)
            sub = {sym["D"]: Dn, sym["B"]: Bn}
            assert var == pytest.approx(float(sym["var"].subs(sub)), rel=1e-13)
            assert cov == pytest.approx(float(sym["cov"].subs(sub)), rel=1e-13, abs=1e-15)
    # c/D ≈ 1/B − 1/D for all three when B ≪ D
    for sampling in SAMPLINGS:
        sym = bn.symbolic_noise(sampling)
        sub = {sym["D"]: 10_000, sym["B"]: 10}
        assert float(sym["K_factor"].subs(sub)) == pytest.approx(1 / 10 - 1 / 10_000, rel=2e-3)


@pytest.mark.parametrize("sampling", SAMPLINGS)
def test_symbolic_kernel_norm_is_the_numeric_one(sampling):
    lin = hs.LinearModel.from_ntk(np.linspace(0.2, 1.5, 12), seed=0)
    sym = bn.symbolic_noise(sampling)
    xs = 0.4 * lin.eigenvalues
    K = sum(float((sym["K_factor"] * sym["K_term"]).subs({sym["D"]: 12, sym["B"]: 3, sym["x"]: x}))
            for x in xs)
    assert hs.noise_kernel_norm(lin, 0.4, 3, sampling=sampling) == pytest.approx(K, rel=1e-12)


def test_full_batch_has_no_noise():
    assert bn.noise_coefficients("without_replacement", 7, 7) == (0.0, -0.0)
    assert bn.noise_coefficients("bernoulli", 7, 7) == (0.0, 0.0)
    assert bn.noise_coefficients("with_replacement", 7, 7)[0] > 0   # resampling still adds noise
