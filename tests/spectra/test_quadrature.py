"""Quadrature rules of hdlimits.spectra: checked against direct sums and scipy.integrate.quad."""
import math

import numpy as np
import pytest
from scipy.integrate import quad

from hdlimits import spectra
from hdlimits.spectra.quadrature import discrete_gauss, harmonic, power_sum_rule


@pytest.mark.parametrize("s", [-0.7, 0.0, 0.5, 1.0, 1.3, 2.5])
@pytest.mark.parametrize("n", [7, 3000, 250_000])
def test_harmonic_matches_direct_sum(s, n):
    direct = math.fsum(np.arange(1, n + 1, dtype=np.float64) ** (-s))
    assert harmonic(n, s) == pytest.approx(direct, rel=1e-13)


def test_discrete_gauss_exact_for_polynomials():
    x, w = discrete_gauss(11, 5000, 6)
    j = np.arange(11, 5011, dtype=np.float64)
    assert w.sum() == pytest.approx(5000, rel=1e-14)
    for p in range(12):   # degree ≤ 2n − 1 = 11
        assert w @ (x / 5000) ** p == pytest.approx(np.sum((j / 5000) ** p), rel=1e-11)
    assert np.all(w > 0)


@pytest.mark.parametrize("alpha,beta", [(1.2, 0.8), (0.6, -0.2), (2.0, 1.5)])
def test_power_sum_rule_on_functions_outside_the_test_family(alpha, beta):
    N = 200_000
    x, w, info = power_sum_rule(N, alpha, [alpha + beta, 2 * alpha], rtol=1e-9)
    assert x.size < 2000
    j = np.arange(1, N + 1, dtype=np.float64)
    # a rate with a quadratic (finite-d) term and a mixture of decays: not the family the rule was tuned on
    for s in (0.0, 3.0, 1e3, 1e5, 1e7):
        def g(y):
            lam = y ** (-alpha)
            return y ** (-alpha - beta) * np.exp(-s * (lam - 0.1 * lam * lam)) * (1 + np.cos(0.3 * np.log(y)))
        assert w @ g(x) == pytest.approx(np.sum(g(j)), rel=1e-8, abs=1e-300)


def test_marchenko_pastur_nodes_against_scipy_quad():
    r = 0.5
    spec = spectra.marchenko_pastur(ratio=r)
    a, b = spec.support
    nd = spec.nodes(d=1000, profile=None, initial_size=1.0, rtol=1e-9)
    dens = lambda x: math.sqrt(max((b - x) * (x - a), 0.0)) / (2 * math.pi * r * x)
    assert quad(dens, a, b, limit=200)[0] == pytest.approx(1.0, abs=1e-9)
    assert nd.mass.sum() == pytest.approx(1000, rel=1e-9)
    for s in (0.0, 1.0, 30.0, 3e3):
        ref = 1000 * quad(lambda x: x * x * math.exp(-s * (x - a)) * dens(x), a, b, limit=400,
                          epsabs=0, epsrel=1e-12)[0]
        got = np.sum(nd.mass * nd.lam ** 2 * np.exp(-s * (nd.lam - a)))
        assert got == pytest.approx(ref, rel=1e-8)
    # the mean of MP is the scale (1)
    assert spec.mean == pytest.approx(1.0, rel=1e-9)


def test_from_density_normalises_and_validates():
    spec = spectra.from_density(lambda x: x ** 2, (0.0, 2.0))
    nd = spec.nodes(d=10, rtol=1e-9)
    assert nd.mass.sum() == pytest.approx(10, rel=1e-9)
    assert spec.mean == pytest.approx(1.5, rel=1e-9)       # ∫ x·3x²/8 dx on [0, 2]
    with pytest.raises(ValueError, match="support"):
        spectra.from_density(lambda x: x, (2.0, 1.0))
    with pytest.raises(ValueError, match="finite values ≥ 0"):
        spectra.from_density(lambda x: -x, (0.0, 1.0))
    with pytest.raises(ValueError, match="ratio"):
        spectra.marchenko_pastur(ratio=0)
