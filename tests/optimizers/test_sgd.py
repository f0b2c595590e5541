"""SGD and preconditioned SGD: the continuous limit against simulation in large d, whitening, inputs.

Tolerances: the simulated mean must lie within k standard errors (over runs) of the limit plus the
deterministic O(1/d) difference between the continuous limit and the exact finite-d mean (the expected
recursion), which no number of runs can remove; k is the family-wise Student-t quantile of
``tests/stats.py`` (about 3.9–4.3 here), fixed by the number of comparisons and runs.
"""
import numpy as np
import pytest

import hdlimits as hd

from ..stats import family_z

T = np.linspace(0.5, 3.0, 6)


def _gap_and_check(d, runs, seed, t=T, lr=1.2):
    prob = hd.Problem.power_law(d=d, alpha=0.3, beta=0.3, noise=hd.noise.gaussian(0.3), seed=0)
    opt = hd.SGD(lr)
    theory = hd.predict_risk(prob, opt, t)
    exact = hd.predict_risk(prob, opt, t, method="recursion")
    sim = hd.simulate(prob, opt, t, runs=runs, seed=seed)
    bias = np.abs(exact.excess_risk - theory.excess_risk)
    tol = family_z(t.size, runs) * sim.excess_risk_stderr + bias
    assert np.all(np.abs(sim.excess_risk - theory.excess_risk) <= tol), (d, sim.excess_risk,
                                                                         theory.excess_risk, tol)
    # size of the finite-d fluctuations: rms relative deviation of single runs from the limit
    rel = sim.excess_risk_runs / theory.excess_risk - 1
    return float(np.sqrt(np.mean(rel ** 2)))


def test_continuous_limit_vs_simulation_gap_shrinks_like_inverse_sqrt_d():
    ds = [1000, 2000, 4000]
    gaps = [_gap_and_check(d, runs, seed) for d, runs, seed in zip(ds, [24, 24, 16], [11, 12, 13])]
    slope = np.polyfit(np.log(ds), np.log(gaps), 1)[0]
    assert gaps[-1] < gaps[0]
    assert -0.8 <= slope <= -0.3, (gaps, slope)


@pytest.mark.slow
def test_continuous_limit_vs_simulation_large_d():
    ds = [1000, 2000, 4000, 8000]
    t = np.linspace(0.5, 10.0, 12)
    gaps = [_gap_and_check(d, 32, 100 + i, t=t) for i, d in enumerate(ds)]
    slope = np.polyfit(np.log(ds), np.log(gaps), 1)[0]
    assert -0.7 <= slope <= -0.35, (gaps, slope)


def test_whitening_is_exact():
    """P = K^{-1}: K^{1/2}e follows SGD on isotropic data exactly, at every d (not only in the limit)."""
    d = 150
    prob = hd.Problem.power_law(d=d, alpha=1.0, beta=0.5, noise=hd.noise.gaussian(0.4), seed=3,
                                rotate=True)
    iso = hd.Problem.from_spectrum(np.ones(d), prob.covariance_sqrt @ prob.initial_error,
                                   hd.noise.gaussian(0.4))
    t = np.array([0.5, 1.0, 2.0, 4.0])
    white, plain = hd.PreconditionedSGD(0.9, "whiten"), hd.SGD(0.9)
    for method in ("ode", "recursion"):
        a = hd.predict_risk(prob, white, t, method=method)
        b = hd.predict_risk(iso, plain, t, method=method)
        assert np.allclose(a.risk, b.risk, rtol=1e-12)
    # the simulated whitened run on the anisotropic K has the isotropic law
    sim = hd.simulate(prob, white, t, runs=64, seed=5)
    ref = hd.predict_risk(iso, plain, t, method="recursion")
    assert np.all(np.abs(sim.risk - ref.risk) <= 3 * sim.risk_stderr)


def test_preconditioner_forms_agree():
    """'diag' equals the explicit vector 1/diag(K); a dense matrix equal to diag(p) equals the vector p."""
    prob = hd.Problem.power_law(d=80, alpha=0.7, beta=1.0, noise=hd.noise.gaussian(0.2), seed=0,
                                rotate=True)
    t = np.array([0.0, 1.0, 3.0])
    a = hd.predict_risk(prob, hd.PreconditionedSGD(0.5, "diag"), t)
    b = hd.predict_risk(prob, hd.PreconditionedSGD(0.5, 1.0 / prob.diagonal), t)
    c = hd.predict_risk(prob, hd.PreconditionedSGD(0.5, np.diag(1.0 / prob.diagonal)), t)
    assert np.allclose(a.risk, b.risk, rtol=1e-10) and np.allclose(a.risk, c.risk, rtol=1e-10)
    # the invariant risk at t = 0 is e0ᵀKe0 whatever P is
    assert a.excess_risk[0] == pytest.approx(prob.initial_excess_risk, rel=1e-10)
    # the preconditioned stability edge is 2dB / tr(PK)
    assert hd.critical_lr(prob, hd.PreconditionedSGD(1.0, "diag"), finite_d=False) == pytest.approx(2.0)


@pytest.mark.parametrize("call, word", [
    (lambda: hd.SGD(lr=-1.0), "lr"),
    (lambda: hd.SGD(lr=float("nan")), "lr"),
    (lambda: hd.SGD(lr=1.0, batch=0), "batch"),
    (lambda: hd.SGD(lr=1.0, batch=2.5), "batch"),
    (lambda: hd.PreconditionedSGD(1.0, "cholesky"), "preconditioner"),
    (lambda: hd.PreconditionedSGD(1.0, [1.0, -1.0]), "preconditioner"),
    (lambda: hd.PreconditionedSGD(1.0, [[1.0, 2.0], [2.0, 1.0]]), "preconditioner"),
    (lambda: hd.PreconditionedSGD(1.0, np.ones((2, 2, 2))), "preconditioner"),
])
def test_bad_optimizer_inputs(call, word):
    with pytest.raises(ValueError, match=word):
        call()


def test_bad_combinations():
    prob = hd.Problem.from_spectrum([1.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="positive definite"):
        hd.predict_risk(prob, hd.PreconditionedSGD(1.0, "whiten"), [1.0])
    with pytest.raises(ValueError, match="length d"):
        hd.predict_risk(prob, hd.PreconditionedSGD(1.0, [1.0, 2.0, 3.0]), [1.0])
    heavy = hd.Problem.isotropic(10, noise=hd.noise.student_t(2.0, 1.0))
    with pytest.raises(ValueError, match="second moment"):
        hd.predict_risk(heavy, hd.SGD(1.0), [1.0])
