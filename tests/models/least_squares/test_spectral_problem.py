"""Lazy spectral problems and merged explicit spectra against the explicit mode system (docs/spectra.md)."""
import time

import numpy as np
import pytest

import hdlimits as hd
from hdlimits.core.errors import LimitNotAvailable


def _pair(d, alpha, beta, **kw):
    noise = hd.noise.gaussian(0.1)
    exp = hd.Problem.power_law(d=d, alpha=alpha, beta=beta, noise=noise, **kw)
    lazy = hd.Problem.power_law(d=d, alpha=alpha, beta=beta, noise=noise, spectrum="continuous", **kw)
    return exp, lazy


@pytest.mark.parametrize("alpha,beta,opt", [
    (1.2, 0.8, hd.SGD(1.0)),
    (0.8, 1.0, hd.SGD(6.0, batch=4)),
    (0.6, 0.3, hd.PreconditionedSGD(0.5, preconditioner="sqrt")),
    (1.5, 1.0, hd.PreconditionedSGD(1.5, preconditioner="whiten", batch=2)),
    (1.0, 0.5, hd.SGD(hd.schedules.cosine(1.2, 300.0))),
])
def test_lazy_power_law_agrees_with_explicit_system(alpha, beta, opt):
    exp, lazy = _pair(20_000, alpha, beta)
    assert isinstance(exp, hd.Problem) and isinstance(lazy, hd.SpectralProblem)
    assert lazy.n_nodes < 1500
    t = np.concatenate([[0.0], np.geomspace(1e-3, 300.0, 60)])
    re = hd.predict_risk(exp, opt, t, rtol=1e-10)
    rl = hd.predict_risk(lazy, opt, t, rtol=1e-10)
    assert rl.status.ok
    np.testing.assert_allclose(rl.risk, re.risk, rtol=1e-8)
    assert lazy.initial_excess_risk == pytest.approx(exp.initial_excess_risk, rel=1e-12)


def test_finite_d_terms_kept_critical_lr_matches_explicit():
    exp, lazy = _pair(20_000, 1.5, 1.0)
    for B in (1, 3):
        opt = hd.SGD(1.0, batch=B)
        assert hd.critical_lr(lazy, opt) == pytest.approx(hd.critical_lr(exp, opt), rel=1e-9)
        assert hd.stationary_risk(lazy, opt) == pytest.approx(hd.stationary_risk(exp, opt), rel=1e-9)


def test_d_1e9_fast_and_without_d_length_arrays():
    t0 = time.perf_counter()
    prob = hd.Problem.power_law(d=10 ** 9, alpha=1.2, beta=0.8, noise=hd.noise.gaussian(0.1))
    curve = hd.predict_risk(prob, hd.SGD(lr=1.0), t=np.geomspace(1e-2, 1e6, 200))
    wall = time.perf_counter() - t0
    assert isinstance(prob, hd.SpectralProblem)
    assert max(prob.lam.size, prob.mass.size, prob.D0.size) < 10 ** 4
    assert curve.status.ok and np.all(np.isfinite(curve.risk))
    assert prob.d == 10 ** 9 and prob.trace == 10 ** 9
    assert wall < 5.0      # ≈ 0.4 s on the development machine; generous for a shared one
    # the top modes (λ_1 ≈ d/ζ(1.2)) are learnt at once; the risk then settles at the stationary risk
    assert curve.risk[-1] == pytest.approx(hd.stationary_risk(prob, hd.SGD(1.0)), rel=1e-6)


def test_mass_sums_to_d_and_trace():
    lazy = hd.Problem.power_law(d=10 ** 8, alpha=0.9, beta=0.5, spectrum="continuous")
    assert lazy.mass.sum() == pytest.approx(1e8, rel=1e-9)
    assert np.sum(lazy.mass * lazy.lam) == pytest.approx(1e8, rel=1e-9)


def test_small_d_unchanged_and_options_validated():
    p = hd.Problem.power_law(d=100, alpha=1.0, beta=1.0)
    assert isinstance(p, hd.Problem) and p.d == 100
    with pytest.raises(ValueError, match="spectrum must be"):
        hd.Problem.power_law(d=100, alpha=1.0, beta=1.0, spectrum="dense")
    with pytest.raises(ValueError, match="rotate"):
        hd.Problem.power_law(d=100, alpha=1.0, beta=1.0, spectrum="continuous", rotate=True)


def test_simulate_refused_and_other_limits_unavailable():
    lazy = hd.Problem.power_law(d=10 ** 8, alpha=1.0, beta=1.0, spectrum="continuous")
    with pytest.raises(ValueError, match=r"d ≤ 1000000"):
        hd.simulate(lazy, hd.SGD(1.0), t=[0.0, 1.0], runs=2, seed=0)
    with pytest.raises(LimitNotAvailable, match="only SGD and PreconditionedSGD"):
        hd.predict_risk(lazy, hd.SignSGD(0.1), t=[0.0, 1.0])
    with pytest.raises(LimitNotAvailable, match="named preconditioner"):
        hd.predict_risk(lazy, hd.PreconditionedSGD(0.5, preconditioner=np.ones(3)), t=[0.0, 1.0])


def test_marchenko_pastur_problem_limits():
    spec = hd.spectra.marchenko_pastur(ratio=0.5)
    prob = hd.SpectralProblem.from_spectrum(spec, d=10 ** 6, noise=hd.noise.gaussian(0.2))
    opt = hd.SGD(1.0)
    # d → ∞ critical learning rate 2dB/tr K = 2 (mean eigenvalue 1)
    assert hd.critical_lr(prob, opt, finite_d=False) == pytest.approx(2.0, rel=1e-8)
    # stationary risk ½E ε² / (1 − γ·mean/2) in the d → ∞ form
    assert hd.stationary_risk(prob, opt, finite_d=False) == pytest.approx(0.02 / (1 - 0.5), rel=1e-8)
    curve = hd.predict_risk(prob, opt, t=np.linspace(0, 200, 41))
    assert curve.risk[-1] == pytest.approx(hd.stationary_risk(prob, opt), rel=1e-4)


@pytest.mark.parametrize("merge_rtol", [1e-4, 1e-6])
def test_merged_explicit_spectrum_error_below_merge_rtol(merge_rtol):
    prob = hd.Problem.power_law(d=10 ** 4, alpha=0.8, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)
    merged = hd.Problem.power_law(d=10 ** 4, alpha=0.8, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0,
                                  merge_rtol=merge_rtol)
    assert isinstance(merged, hd.MergedProblem) and merged.d == 10 ** 4
    t = np.linspace(0, 100, 41)
    opt = hd.SGD(1.0)
    ref = hd.predict_risk(prob, opt, t, rtol=1e-11)
    got = hd.predict_risk(merged, opt, t, rtol=1e-11)
    assert got.info["n_modes"] < 600
    err = np.max(np.abs(got.risk / ref.risk - 1))
    assert err <= merge_rtol
    with pytest.raises(ValueError, match="problem.source"):
        hd.simulate(merged, opt, t=[0.0, 1.0], runs=2, seed=0)
