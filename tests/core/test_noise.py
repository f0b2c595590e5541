import math

import numpy as np
import pytest
import sympy as sp

import hdlimits as hd
from hdlimits.core import noise as noise

EPS = sp.Symbol("eps", real=True)

LAWS = [noise.gaussian(0.7), noise.rademacher(0.5), noise.student_t(5.0, 0.8), noise.laplace(0.6),
        noise.uniform(1.3), noise.gaussian_mixture([0.7, 0.3], [0.2, -0.5], [0.3, 1.0]), noise.none()]


@pytest.mark.parametrize("law", LAWS, ids=lambda l: l.name)
def test_symbolic_density_matches_declared_moments(law):
    # total mass 1 and second moment from the sympy density (independent of the sampler)
    mass = float(law.expect(sp.Integer(1), EPS))
    m2 = float(law.expect(EPS ** 2, EPS))
    assert mass == pytest.approx(1.0, rel=1e-10)
    assert m2 == pytest.approx(law.second_moment, rel=1e-8, abs=1e-14)


@pytest.mark.parametrize("law", LAWS, ids=lambda l: l.name)
def test_sampler_moments(law):
    n = 400_000
    x = law.sample(np.random.default_rng(0), n)
    assert x.shape == (n,)
    m2 = law.second_moment
    # E[x^2] within 5 standard errors (the standard error from the sample fourth moment)
    se = np.sqrt(np.var(x ** 2) / n)
    assert abs(np.mean(x ** 2) - m2) <= 5 * se + 1e-15
    se1 = np.sqrt(np.var(x) / n)
    assert abs(np.mean(x) - law.mean) <= 5 * se1 + 1e-15


def test_student_t_moments_and_heavy_tails():
    t3 = noise.student_t(3.0, 0.5)
    assert t3.std == pytest.approx(0.5 * math.sqrt(3.0))
    assert math.isinf(noise.student_t(2.0, 1.0).second_moment)
    assert math.isinf(noise.student_t(1.5, 1.0).std)
    # density of t(df=3, scale=.5) integrates to 1
    assert float(t3.expect(sp.Integer(1), EPS)) == pytest.approx(1.0, rel=1e-10)


@pytest.mark.parametrize("call, word", [
    (lambda: noise.gaussian(-1.0), "std"),
    (lambda: noise.rademacher(float("nan")), "std"),
    (lambda: noise.student_t(0.0, 1.0), "df"),
    (lambda: noise.student_t(3.0, -1.0), "scale"),
    (lambda: noise.laplace(0.0), "scale"),
    (lambda: noise.uniform(-2.0), "half_width"),
    (lambda: noise.gaussian_mixture([0.5, 0.6], [0, 0], [1, 1]), "weights"),
    (lambda: noise.gaussian_mixture([0.5, 0.5], [0], [1, 1]), "means"),
    (lambda: noise.gaussian_mixture([0.5, 0.5], [0, 0], [1, -1]), "stds"),
])
def test_bad_parameters_name_the_parameter(call, word):
    with pytest.raises(ValueError, match=word):
        call()


def test_parse_roundtrip():
    for law in LAWS:
        assert noise.parse(law.spec()) == law
    assert noise.parse("student_t:df=3,scale=0.5") == noise.student_t(3, 0.5)
    assert noise.parse("none") == noise.none()
    with pytest.raises(ValueError, match="noise law"):
        noise.parse("cauchy:scale=1")
    with pytest.raises(ValueError):
        noise.parse("gaussian:std")


def test_public_names():
    for name in ["gaussian", "rademacher", "student_t", "laplace", "uniform", "gaussian_mixture", "none"]:
        assert callable(getattr(hd.noise, name))
