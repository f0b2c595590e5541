"""Laws derived once per family (Student-t): the rebound coefficients against an independent scipy
adaptive quadrature of the definitions μ_c(P) = P(|r| ≤ c), ν_c(P) = E[min(r², c²)], r = s − ε."""
import math

import numpy as np
import pytest
from scipy import integrate, stats

import hdlimits as hd
from hdlimits.derivation import derive
from hdlimits.derivation.engine import c


def _reference(P, cc, df, s):
    """μ and ν by nested quadrature: over ε (Student-t density) of the Gaussian conditional values."""
    sd = math.sqrt(P)

    def mu_e(e):   # r | ε ~ N(−ε, P)
        return stats.norm.cdf((cc + e) / sd) - stats.norm.cdf((e - cc) / sd)

    def nu_e(e):   # E[min(r², c²) | ε] = ∫_{|r|≤c} r² dN(m, P) + c² P(|r| > c), m = −ε (truncated moments)
        m = -e
        a, b = (-cc - m) / sd, (cc - m) / sd
        Phi, phi = stats.norm.cdf, stats.norm.pdf
        inner = (P + m * m) * (Phi(b) - Phi(a)) + 2 * m * sd * (phi(a) - phi(b)) + P * (a * phi(a) - b * phi(b))
        return inner + cc * cc * (1.0 - mu_e(e))

    pts = sorted({-1e4 * s, -30 * s, -cc - 6 * sd, -cc, 0.0, cc, cc + 6 * sd, 30 * s, 1e4 * s})
    out = []
    for f in (mu_e, nu_e):
        tot = 0.0
        for lo, hi in zip([-np.inf] + pts, pts + [np.inf]):
            tot += integrate.quad(lambda e: f(e) * stats.t.pdf(e / s, df) / s, lo, hi, epsabs=0,
                                  epsrel=1e-12, limit=400)[0]
        out.append(tot)
    return out


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
@pytest.mark.parametrize("df", [2.2, 9.0, 120.0])
def test_rebound_student_t_coefficients_match_quadrature(df):
    der = derive(hd.ClippedSGD(lr=1.0, clip=1.0), hd.noise.student_t(df, 0.5))
    fa, fb, par = der.compiled({c: 0.8})
    for P in (1e-3, 0.3, 20.0):
        mu, nu = _reference(P, 0.8, df, 0.5)
        assert fa(P, par) == pytest.approx(mu, rel=1e-8)
        assert fb(P, par) == pytest.approx(nu, rel=1e-8)


def test_family_shares_one_compilation_and_keeps_its_law():
    d1 = derive(hd.ClippedSGD(lr=1.0, clip=1.0), hd.noise.student_t(3.3, 0.5))
    d2 = derive(hd.ClippedSGD(lr=1.0, clip=1.0), hd.noise.student_t(17.0, 0.2))
    fa1, fb1, p1 = d1.compiled({c: 1.0})
    fa2, fb2, p2 = d2.compiled({c: 1.0})
    assert fa1 is fa2 and fb1 is fb2 and p1.size == p2.size
    assert d2.noise == hd.noise.student_t(17.0, 0.2)
    assert "17" in str(d2.a)          # the display integral is the law's own
    assert not np.array_equal(p1, p2)
