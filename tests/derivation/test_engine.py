"""The derivation engine against independent references (scipy / Monte Carlo / textbook values)."""
import math

import numpy as np
import pytest
import sympy as sp
from scipy import integrate, stats

import hdlimits as hd
from hdlimits.reductions import reduce
from hdlimits.derivation import expect_noise, expect_residual
from hdlimits.derivation.engine import P, c, r

CLAMP = sp.Max(-c, sp.Min(r, c))


def test_identity_update_is_sgd():
    d = hd.derive(hd.SGD(lr=1.0), hd.noise.gaussian(0.5))
    assert d.kind == "closed form"
    assert sp.simplify(d.a - 1) == 0
    assert sp.simplify(d.b - (P + sp.Rational(1, 4))) == 0
    sgd = reduce(hd.Problem.isotropic(50, noise=hd.noise.gaussian(0.5)), hd.SGD(lr=1.0))
    fa, fb, par = d.compiled()
    for p in (0.01, 1.0, 30.0):
        assert fa(p, par) == pytest.approx(sgd.a(p, sgd.coef_params), rel=1e-14)
        assert fb(p, par) == pytest.approx(sgd.b(p, sgd.coef_params), rel=1e-14)


def test_gaussian_clipping_closed_form_matches_textbook():
    # docs/clipping.md §2: μ = erf(a/√2), ν̂ = 2Φ(a) − 1 − 2aφ(a) + 2a²(1 − Φ(a)), a = c/√(P + σ²)
    d = hd.derive(CLAMP, hd.noise.gaussian(0.7))
    fa, fb, par = d.compiled({c: 0.9})
    for p in (0.05, 0.8, 4.0):
        S2 = p + 0.49
        a = 0.9 / math.sqrt(S2)
        mu = math.erf(a / math.sqrt(2))
        nh = 2 * stats.norm.cdf(a) - 1 - 2 * a * stats.norm.pdf(a) + 2 * a * a * stats.norm.sf(a)
        assert fa(p, par) == pytest.approx(mu, rel=1e-12)
        assert fb(p, par) / S2 == pytest.approx(nh, rel=1e-12)


LAWS = [hd.noise.none(), hd.noise.gaussian(0.5), hd.noise.rademacher(0.8), hd.noise.laplace(0.6),
        hd.noise.uniform(1.1), hd.noise.gaussian_mixture([0.8, 0.2], [0.0, 0.4], [0.2, 2.0]),
        hd.noise.student_t(3, 0.5), hd.noise.student_t(2.5, 1.0)]


@pytest.mark.parametrize("noise", LAWS, ids=str)
def test_clip_coefficients_vs_monte_carlo(noise):
    """a = E[(s/P)·clamp(s − ε)] (Stein in s) and b = E[clamp²] from 4e6 samples, within 5 standard errors."""
    d = hd.derive(CLAMP, noise)
    fa, fb, par = d.compiled({c: 0.6})
    rng = np.random.default_rng(0)
    n, p = 4_000_000, 0.7
    s = math.sqrt(p) * rng.standard_normal(n)
    rr = s - noise.sample(rng, n)
    h = np.clip(rr, -0.6, 0.6)
    ind = (np.abs(rr) <= 0.6).astype(float)   # E[h'] directly
    for est, got in ((ind, fa(p, par)), (h * h, fb(p, par)), (s * h / p, fa(p, par))):
        assert abs(est.mean() - got) <= 5 * est.std() / math.sqrt(n)


@pytest.mark.parametrize("noise", [hd.noise.student_t(3, 1.0), hd.noise.student_t(2.5, 0.5),
                                   hd.noise.student_t(1.0, 0.5), hd.noise.laplace(0.7)], ids=str)
def test_quadrature_accuracy_over_P_range(noise):
    """The scale-mixture quadrature is within 1e-8 of adaptive quadrature for P in [1e-4, 1e3]."""
    d = hd.derive(CLAMP, noise)
    assert d.kind == "quadrature"
    cval = 0.8
    fa, fb, par = d.compiled({c: cval})
    dens = (lambda e: stats.t.pdf(e / noise.scale, noise.df) / noise.scale) if noise.name == "student_t" \
        else (lambda e: np.exp(-abs(e) / noise.scale) / (2 * noise.scale))
    for p in (1e-4, 1e-2, 1.0, 1e3):
        sp_ = math.sqrt(p)

        def mu_e(e):  # P(|s − e| ≤ c)
            return stats.norm.cdf((cval + e) / sp_) - stats.norm.cdf((e - cval) / sp_)
        pts = sorted({-cval - 10 * sp_, -cval, -cval + 10 * sp_, cval - 10 * sp_, cval, cval + 10 * sp_, 0.0})
        L = 1e4
        ref = sum(integrate.quad(lambda e: mu_e(e) * dens(e), lo, hi, limit=500, epsabs=1e-15, epsrel=1e-13)[0]
                  for lo, hi in zip([-L] + pts, pts + [L]))
        ref += 2 * integrate.quad(lambda e: mu_e(e) * dens(e), L, np.inf, epsabs=1e-16)[0]
        assert fa(p, par) == pytest.approx(ref, rel=1e-8)


def test_expect_noise_signsgd_phi_forms():
    Ps, eps = P, sp.Symbol("eps", real=True)
    # E exp(−ε²/2P) for Gaussian σ: √(P/(P+σ²)); Rademacher a: exp(−a²/2P)
    g = expect_noise(sp.exp(-eps ** 2 / (2 * Ps)), eps, Ps, hd.noise.gaussian(0.8))
    assert g.kind == "closed form" and g(0.3) == pytest.approx(math.sqrt(0.3 / (0.3 + 0.64)), rel=1e-13)
    rd = expect_noise(sp.exp(-eps ** 2 / (2 * Ps)), eps, Ps, hd.noise.rademacher(1.0))
    assert rd(0.5) == pytest.approx(math.exp(-1.0), rel=1e-13)
    t3 = expect_noise(sp.exp(-eps ** 2 / (2 * Ps)), eps, Ps, hd.noise.student_t(3, 1.0))
    assert t3.kind == "quadrature" and t3.expr is None
    ref = integrate.quad(lambda e: math.exp(-e * e / 0.6) * stats.t.pdf(e, 3), -np.inf, np.inf,
                         epsabs=0, epsrel=1e-12)[0]
    assert t3(0.3) == pytest.approx(ref, rel=1e-9)
    # C3 (docs/signsgd.md §8): φ(0.3) = (2/π)(2R)^{-1/2}E exp(−ε²/4R) with R = 0.3 -> P = 2R = 0.6
    lap = expect_noise(sp.exp(-eps ** 2 / (2 * Ps)), eps, Ps, hd.noise.laplace(0.7))
    assert (2 / math.pi) * lap(0.6) / math.sqrt(0.6) == pytest.approx(0.5645, abs=1e-4)


def test_codegen_disk_cache(tmp_path, monkeypatch):
    from hdlimits.derivation import codegen as codegen
    monkeypatch.setenv("HDLIMITS_CACHE_DIR", str(tmp_path))
    x = sp.Symbol("x_test_cache", positive=True)
    f = codegen.compile_scalar(sp.exp(-P) * x + 1, P, [x])
    assert f(0.5, np.array([2.0])) == pytest.approx(2 * math.exp(-0.5) + 1)
    assert list((tmp_path / "derive").glob("hdl_s_*.py"))


def test_unknown_symbol_is_an_error():
    from hdlimits.derivation import codegen as codegen
    with pytest.raises(ValueError, match="no value"):
        codegen.compile_scalar(P + sp.Symbol("zz"), P, [])


def test_student_t_check_is_silent():
    """The one-time quadrature check of a Student-t coefficient emits no IntegrationWarning."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = expect_residual(CLAMP, r, P, hd.noise.student_t(3, 0.5), stein=True, extra={c: 0.4})
    assert out.check_error <= 1e-8


def test_reference_quadrature_failure_raises():
    from hdlimits.derivation.expect import _quad_sum
    with pytest.raises(RuntimeError, match="did not converge"):
        _quad_sum(lambda e: 1.0 / abs(e), [-1.0, 0.0, 1.0])   # divergent at 0


@pytest.mark.parametrize("mix", [([0.8, 0.2], [0.0, 0.4], [0.2, 2.0]), ([0.5, 0.5], [0.0, 1.0], [0.5, 0.0]),
                                 ([0.7, 0.3], [0.5, -1.0], [1.0, 0.5])], ids=str)
def test_expect_noise_gaussian_mixture_with_means(mix):
    """E|ε| (folded normal) and E exp(−ε²/2P) of a Gaussian mixture, components with zero and nonzero means."""
    eps = sp.Symbol("eps", real=True)
    law = hd.noise.gaussian_mixture(*mix)
    g_abs = expect_noise(sp.Abs(eps), eps, P, law)
    g_exp = expect_noise(sp.exp(-eps ** 2 / (2 * P)), eps, P, law)
    p = 0.5
    ref_abs = ref_exp = 0.0
    for w, m, s in zip(*mix):
        if s == 0:
            ref_abs += w * abs(m)
            ref_exp += w * math.exp(-m * m / (2 * p))
        else:
            ref_abs += w * (s * math.sqrt(2 / math.pi) * math.exp(-m * m / (2 * s * s))
                            + m * math.erf(m / (s * math.sqrt(2))))
            ref_exp += w * math.sqrt(p / (p + s * s)) * math.exp(-m * m / (2 * (p + s * s)))
    assert g_abs.kind == g_exp.kind == "closed form"
    assert g_abs(p) == pytest.approx(ref_abs, rel=1e-12)
    assert g_exp(p) == pytest.approx(ref_exp, rel=1e-12)


@pytest.mark.parametrize("df", [64.0, 400.0])
def test_light_tailed_student_t_passes_the_engine_check(df):
    """Large df: the mixing density of ln V narrows like √(2/ν); the quadrature step follows it, so the
    engine's own 1e-8 check against adaptive quadrature passes, and the law approaches the Gaussian."""
    noise = hd.noise.student_t(df, 0.5)
    d = hd.derive(CLAMP, noise)
    assert d.kind == "quadrature"
    fa, fb, par = d.compiled({c: 0.8})
    g = hd.derive(CLAMP, hd.noise.gaussian(noise.std))
    ga, gb, gpar = g.compiled({c: 0.8})
    for p in (0.05, 1.0):
        assert fa(p, par) == pytest.approx(ga(p, gpar), rel=5.0 / df)


def test_derive_with_a_glm_model_returns_its_expectations():
    from hdlimits.core.errors import LimitNotAvailable
    model = hd.models.relu()
    noise = hd.noise.gaussian(0.2)
    ex = hd.derive(hd.SGD(lr=1.0), noise, model=model)
    assert ex is model.expectations(noise)
    assert hd.derive(hd.PreconditionedSGD(lr=1.0, preconditioner="diag"),
                     model=hd.models.least_squares()).kind == "closed form"
    with pytest.raises(LimitNotAvailable, match="SignSGD"):
        hd.derive(hd.SignSGD(lr=1.0), noise, model=model)
    with pytest.raises(ValueError, match="model"):
        hd.derive(hd.SGD(lr=1.0), noise, model="relu")


def test_derive_without_model_defaults_to_no_noise():
    d = hd.derive(hd.SGD(lr=1.0))
    assert sp.simplify(d.b - P) == 0
