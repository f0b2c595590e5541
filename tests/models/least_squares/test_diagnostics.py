"""Closed forms (critical learning rate, stationary risk, asymptotic rate) against the equations."""
import numpy as np
import pytest

import hdlimits as hd


def test_notes_claim_C1_values():
    # docs/sgd.md §7 C1, in the paper's convention R = ½eᵀKe (excess) with N = d
    d = 1000
    iso = hd.Problem.isotropic(d, noise=hd.noise.gaussian(1.0))
    r_inf = hd.stationary_risk(iso, hd.SGD(1.0), finite_d=False)
    assert r_inf - 0.5 == pytest.approx(0.5, rel=1e-12)             # excess 0.5, risk 1.0
    assert hd.critical_lr(iso, hd.SGD(1.0), finite_d=False) == pytest.approx(2.0)
    lam = np.arange(1, d + 1) ** -0.5
    p = hd.Problem.from_spectrum(lam, np.zeros(d), hd.noise.gaussian(0.5))
    r = hd.stationary_risk(p, hd.SGD(10.0), finite_d=False) - 0.5 * 0.25
    assert r == pytest.approx(0.05590, abs=5e-6)


def test_batch_scales_the_critical_lr():
    p = hd.Problem.power_law(d=500, alpha=0.6, beta=1.0, seed=0)
    g1 = hd.critical_lr(p, hd.SGD(1.0, batch=1), finite_d=False)
    g4 = hd.critical_lr(p, hd.SGD(1.0, batch=4), finite_d=False)
    assert g1 == pytest.approx(2.0)                      # tr K = d
    assert g4 == pytest.approx(8.0)


@pytest.mark.parametrize("batch", [1, 3])
def test_finite_d_critical_lr_separates_bounded_from_divergent(batch):
    p = hd.Problem.power_law(d=200, alpha=1.0, beta=0.5, noise=hd.noise.gaussian(0.5), seed=0)
    gc = hd.critical_lr(p, hd.SGD(1.0, batch=batch))
    assert gc < hd.critical_lr(p, hd.SGD(1.0, batch=batch), finite_d=False)   # spiky spectrum: lower
    t = np.linspace(0, 3000, 7)
    for method in ("ode", "recursion"):
        below = hd.predict_risk(p, hd.SGD(0.97 * gc, batch=batch), t, method=method)
        above = hd.predict_risk(p, hd.SGD(1.03 * gc, batch=batch), t, method=method)
        assert below.ok, method
        assert above.diverged, method


def test_stationary_risk_matches_long_integration_and_recursion():
    p = hd.Problem.power_law(d=300, alpha=0.9, beta=1.0, noise=hd.noise.gaussian(0.4), seed=3)
    opt = hd.SGD(0.8 * hd.critical_lr(p, hd.SGD(1.0)))
    r = hd.stationary_risk(p, opt)
    ode = hd.predict_risk(p, opt, [0.0, 5000.0])
    rec = hd.predict_risk(p, opt, [0.0, 5000.0], method="recursion")
    assert ode.risk[-1] == pytest.approx(r, rel=1e-7)
    assert rec.risk[-1] == pytest.approx(r, rel=1e-9)
    # preconditioned: the same closed form on K̃
    popt = hd.PreconditionedSGD(1.0, "sqrt")
    assert hd.predict_risk(p, popt, [0.0, 5000.0]).risk[-1] == pytest.approx(
        hd.stationary_risk(p, popt), rel=1e-7)


def test_asymptotic_rate_matches_the_decay_of_the_integrated_risk():
    p = hd.Problem.power_law(d=200, alpha=1.0, beta=0.5, noise=hd.noise.gaussian(0.5), seed=0)
    opt = hd.SGD(0.9 * hd.critical_lr(p, hd.SGD(1.0)))
    lam = hd.asymptotic_rate(p, opt)
    P_inf = 2 * hd.stationary_risk(p, opt) - 0.25
    t = np.linspace(20.0, 40.0, 3)
    th = hd.predict_risk(p, opt, t, rtol=1e-12)
    dev = np.abs(2 * th.excess_risk - P_inf)
    measured = -np.diff(np.log(dev)) / np.diff(t)
    assert dev[-1] > 1e-6 * P_inf                        # well above the integration error
    assert measured == pytest.approx([lam, lam], rel=2e-3)
    # above the threshold the rate is negative (growth)
    assert hd.asymptotic_rate(p, hd.SGD(1.05 * hd.critical_lr(p, hd.SGD(1.0)))) < 0


def test_requires_constant_lr():
    p = hd.Problem.isotropic(10)
    with pytest.raises(ValueError, match="constant learning rate"):
        hd.stationary_risk(p, hd.SGD(hd.schedules.cosine(1.0, 5.0)))


def test_callable_lr_messages_and_critical_lr():
    """A callable lr: critical_lr does not need it; the others ask for lr=, never for a 't_max'."""
    p = hd.Problem.isotropic(10, noise=hd.noise.gaussian(0.5))
    opt = hd.SGD(lambda t: 1.0 / (1.0 + t))
    assert hd.critical_lr(p, opt) == pytest.approx(hd.critical_lr(p, hd.SGD(1.0)), rel=1e-12)
    for f in (hd.stationary_risk, hd.kernel_mass, hd.asymptotic_rate):
        with pytest.raises(ValueError, match="lr=") as exc:
            f(p, opt)
        assert "t_max" not in str(exc.value)
        assert f(p, opt, lr=0.5) == pytest.approx(f(p, hd.SGD(0.5)), rel=1e-12)
