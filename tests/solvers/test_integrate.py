"""The exponential collocation integrator against scipy.integrate.solve_ivp on the same system."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import hdlimits as hd
from hdlimits.reductions import reduce


def _reference(system, t):
    # DOP853 at rtol 1e-10 was measured off by up to 1.5e-6 on these systems (at single output times),
    # which would mask the comparison; at rtol 1e-12 it agrees with rtol 1e-13 to ~1e-10.
    sol = solve_ivp(system.rhs, (0.0, float(t[-1])), system.D0, method="DOP853", rtol=1e-12,
                    atol=1e-22, t_eval=t)
    assert sol.success
    return system.kappa @ sol.y


@pytest.mark.parametrize("lr", [1.2, hd.schedules.cosine(1.5, 8.0), hd.schedules.step(1.0, [2.0, 5.0], 0.4),
                                hd.schedules.linear_warmup(1.0, 3.0)], ids=str)
def test_matches_solve_ivp(lr):
    prob = hd.Problem.power_law(d=400, alpha=0.8, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)
    opt = hd.SGD(lr=lr, batch=2)
    t = np.linspace(0, 8, 33)
    theory = hd.predict_risk(prob, opt, t, rtol=1e-9)
    ref = _reference(reduce(prob, opt, t_max=8.0), t)
    assert theory.ok
    assert np.max(np.abs(2 * theory.excess_risk / ref - 1)) <= 1e-6


@pytest.mark.parametrize("lr", [hd.schedules.constant(1.0), hd.schedules.cosine(1.5, 8.0)], ids=str)
def test_state_dependent_drift_matches_solve_ivp(lr):
    """The iterative path (a depends on P, as for clipped and sign SGD) on a system built by hand."""
    from hdlimits.solvers.modes import ModeSystem

    from .coefs import a_inverse_sqrt, b_constant
    prob = hd.Problem.power_law(d=500, alpha=0.5, beta=0.5, noise=hd.noise.gaussian(0.3), seed=0)
    base = reduce(prob, hd.SGD(1.0))
    system = ModeSystem(base.kappa, base.weights, base.D0, base.d, lr, a_inverse_sqrt, b_constant,
                        np.array([0.09, 1.0]), 0.0, 0.09, a_is_constant=False)

    class Fixed:                      # an "optimizer" whose limit is this system
        def limit(self, problem, t_max=None):
            return system
    t = np.linspace(0, 8, 17)
    th = hd.predict_risk(prob, Fixed(), t, rtol=1e-9)
    assert th.ok
    assert np.max(np.abs(2 * th.excess_risk / _reference(system, t) - 1)) <= 1e-6


def test_convergence_order():
    """Fixed steps h, h/2, h/4: the error falls like h^p with p ≈ 4 (3-node collocation)."""
    prob = hd.Problem.power_law(d=300, alpha=0.8, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)
    opt = hd.SGD(lr=1.2)
    t = np.linspace(0, 6, 7)
    ref = _reference(reduce(prob, opt), t)
    errs = []
    steps = [0.02, 0.01, 0.005]
    for h in steps:
        th = hd.predict_risk(prob, opt, t, fixed_step=h)
        errs.append(np.max(np.abs(2 * th.excess_risk / ref - 1)))
    order = np.polyfit(np.log(steps), np.log(errs), 1)[0]
    assert 3.5 <= order <= 5.0, (errs, order)


def test_long_horizon_is_cheap_and_reaches_stationarity():
    prob = hd.Problem.power_law(d=2000, alpha=1.2, beta=0.8, noise=hd.noise.gaussian(0.5), seed=1)
    opt = hd.SGD(lr=1.0)
    t = np.geomspace(1e-3, 1e5, 50)
    th = hd.predict_risk(prob, opt, t)
    assert th.ok
    assert th.info["steps"] < 2000          # log-time stepping: O(log t) steps, not O(t)
    assert th.risk[-1] == pytest.approx(hd.stationary_risk(prob, opt), rel=1e-6)


def test_divergence_is_a_status_not_nan():
    prob = hd.Problem.power_law(d=300, alpha=0.5, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)
    g = 1.1 * hd.critical_lr(prob, hd.SGD(1.0))
    th = hd.predict_risk(prob, hd.SGD(lr=g), np.linspace(0, 300, 61))
    assert th.diverged and th.status == "diverged" and not th.status.success
    t_div = th.status.t_event
    assert str(th.status) == f"diverged at t={t_div:.6g}"
    assert 0 < t_div < 300
    assert not np.any(np.isnan(th.risk))
    assert np.all(np.isinf(th.risk[th.t > t_div]))
    assert np.all(np.isfinite(th.risk[th.t < t_div]))


def test_recursion_divergence_status():
    prob = hd.Problem.isotropic(50, noise=hd.noise.gaussian(1.0))
    th = hd.predict_risk(prob, hd.SGD(lr=2.5), np.linspace(0, 50, 11), method="recursion")
    assert th.diverged and not np.any(np.isnan(th.risk))


def test_store_modes_and_outputs():
    prob = hd.Problem.power_law(d=100, alpha=1.0, beta=1.0, noise=hd.noise.none(), seed=0)
    th = hd.predict_risk(prob, hd.SGD(1.0), [0.0, 0.5, 1.0])
    assert th.modes.shape == (3, 100)
    assert np.allclose(th.modes @ th.kappa, 2 * th.excess_risk)
    assert np.allclose(th.modes[0], prob.initial_error ** 2)


@pytest.mark.parametrize("kwargs, word", [
    (dict(t=[1.0, 0.5]), "non-decreasing"), (dict(t=[-1.0]), "t must"), (dict(t=[]), "t must"),
    (dict(t=[1.0], method="euler"), "method"), (dict(t=[1.0], rtol=0.0), "rtol"),
    (dict(t=[1.0], fixed_step=-1.0), "fixed_step"),
])
def test_bad_inputs(kwargs, word):
    prob = hd.Problem.isotropic(10)
    with pytest.raises(ValueError, match=word):
        hd.predict_risk(prob, hd.SGD(1.0), **kwargs)
