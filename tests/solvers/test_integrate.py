"""The exponential collocation integrator against scipy.integrate.solve_ivp on the same system."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import hdlimits as hd
from hdlimits.reductions import reduce
from hdlimits.solvers.solve import solve_modes


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

    t = np.linspace(0, 8, 17)
    th = solve_modes(system, t, rtol=1e-9)
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


# --- huge learning rates: a blow-up faster than any fixed time unit is a divergence (audit item 13) ----

def _isotropic_crossing(lr, d, m2, P0=1.0):
    """Time at which P crosses the divergence threshold for SGD (B = 1) on K = I, tr K = d.

    Summing the mode equations: dP/dt = λ P + γ² E ε² with λ = γ²(1 + 2/d) − 2γ, so
    P(t) + c = (P0 + c) e^{λt}, c = γ² E ε² / λ.
    """
    from hdlimits.predict import DIVERGENCE_FACTOR
    lam = lr * lr * (1 + 2 / d) - 2 * lr
    c = lr * lr * m2 / lam
    thr = DIVERGENCE_FACTOR * (P0 + m2)
    return np.log((thr + c) / (P0 + c)) / lam


@pytest.mark.parametrize("lr", [1e6, 1e9, 1e12])
def test_huge_constant_lr_diverges_at_the_analytic_time(lr):
    """Was "failed at t=0 (step size underflow)": the underflow test was absolute (h < 1e-14 for t < 1),
    while the blow-up's time scale here is 1/γ² ≪ 1e-14, which the integrator resolves fine."""
    d, sigma = 100, 0.1
    prob = hd.Problem.isotropic(d, noise=hd.noise.gaussian(sigma))
    ode = hd.predict_risk(prob, hd.SGD(lr=lr), [0, 1])
    rec = hd.predict_risk(prob, hd.SGD(lr=lr), [0, 1], method="recursion")
    assert ode.status == "diverged" and rec.status == "diverged"
    t_star = _isotropic_crossing(lr, d, sigma ** 2)
    # reported at the end of the step that crosses the threshold (steps are a small part of an e-fold)
    assert t_star * (1 - 1e-6) <= ode.status.t_event <= 1.05 * t_star
    # the finite-d recursion overshoots within its first step (of length 1/d)
    assert ode.status.t_event <= rec.status.t_event <= 1.0 / d


@pytest.mark.parametrize("jump_at, factor", [(1.0, 1e6), (100.0, 1e5), (100.0, 1e12)])
def test_learning_rate_jump_to_huge_diverges_at_the_jump(jump_at, factor):
    """After a jump of the learning rate the step must see the new rate at its end (the one-sided
    schedule offset used to exceed h), and a rise too fast to resolve at this t is a divergence."""
    d = 100
    prob = hd.Problem.isotropic(d, noise=hd.noise.gaussian(0.1))
    opt = hd.SGD(lr=hd.schedules.step(1.0, [jump_at], factor))
    t = [0.0, 0.5 * jump_at, 2 * jump_at]
    ode = hd.predict_risk(prob, opt, t)
    rec = hd.predict_risk(prob, opt, t, method="recursion")
    assert ode.status == "diverged" and rec.status == "diverged"
    # the blow-up takes ~23/γ² ≤ 1e-9 after the jump
    assert jump_at <= ode.status.t_event <= jump_at * (1 + 1e-9)
    assert jump_at < rec.status.t_event <= jump_at + 3.0 / d
    assert np.isfinite(ode.risk[1]) and ode.risk[1] == pytest.approx(rec.risk[1], rel=0.05)


def test_stiff_stable_system_is_ok():
    """Rates over eight decades (κ from 1e-3 to 1e5, d = 1e6), a learning-rate drop: stable, so it must
    integrate (status ok) and match an implicit reference with the exact Jacobian."""
    from hdlimits.solvers import coefficients as coef
    from hdlimits.solvers.modes import ModeSystem
    kappa = np.geomspace(1e-3, 1e5, 30)
    d = 1e6
    mass = kappa ** -0.3
    mass *= d / np.dot(mass, kappa)                 # Σ m κ = d (tr K = d)
    D0 = 1.0 / (1.0 + kappa)
    m2 = 0.04
    sched = hd.schedules.step(1.0, [0.5], 0.05)
    system = ModeSystem(kappa, kappa.copy(), D0, d, sched, coef.one, coef.residual_second_moment,
                        np.array([m2]), 2.0, m2,
                        mass=mass)

    t = np.concatenate([[0.0], np.geomspace(1e-6, 3.0, 30)])
    th = solve_modes(system, t, rtol=1e-10)
    assert th.status == "ok"

    def jac(s, D):
        g = sched(s)
        rate = 2 * g * kappa - 2.0 * g * g * kappa ** 2 / d
        return -np.diag(rate) + np.outer(g * g / d * kappa, mass * kappa)
    ref = []
    y0 = system.D0
    for lo, hi in ((0.0, 0.5), (0.5, 3.0)):       # restart at the jump
        te = t[(t >= lo) & (t <= hi)]
        sol = solve_ivp(system.rhs, (lo, hi), y0, method="Radau", jac=jac, rtol=1e-11, atol=1e-20,
                        t_eval=np.unique(np.concatenate([te, [hi]])))
        assert sol.success
        keep = np.isin(sol.t, te) & ((sol.t > lo) | (lo == 0.0))
        ref.append(system.P_of(sol.y.T[keep]))
        y0 = sol.y[:, -1]
    ref = np.concatenate(ref)
    assert ref.size == t.size
    assert np.max(np.abs(2 * th.excess_risk / ref - 1)) <= 1e-6


def test_step_budget_is_its_own_failure(monkeypatch):
    """An exhausted step budget is reported as such (it used to read 'step size underflow')."""
    from hdlimits.solvers import solve
    monkeypatch.setattr(solve, "MAX_STEPS", 50)
    prob = hd.Problem.power_law(d=100, alpha=1.0, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)
    th = hd.predict_risk(prob, hd.SGD(1.0), [0.0, 1.0], fixed_step=1e-3)
    assert th.status == "failed" and "step budget of 50 steps exhausted" in str(th.status)
    assert 0 < th.status.t_event < 1


@pytest.mark.parametrize("lr", [1.0, 1.0 + 1e-9, 1.001, 1.009])
def test_mode_with_a_vanishing_decay_rate(lr):
    """d = 1, K = 1, SGD: dD/dt = −(2γ − 2γ²)D + γ²D = (3γ² − 2γ)D. At γ = 1 the mode's own decay rate
    cancels exactly (the forcing then drives it); near 1 it nearly cancels. Such modes used to be left
    out of P (exact zero: 0.78 for e^3 = 20) or lost digits; now they are stepped by Simpson's rule in
    time: within 1e-9 of the exact exponential."""
    prob = hd.Problem.isotropic(1)
    t = np.array([0.0, 1.0, 1.5, 2.0, 3.0])
    th = hd.predict_risk(prob, hd.SGD(lr), t)
    exact = 0.5 * np.exp((3 * lr * lr - 2 * lr) * t)
    assert th.status == "ok"
    np.testing.assert_allclose(th.excess_risk, exact, rtol=1e-9)


def test_zero_decay_rate_with_strong_forcing_diverges():
    """isotropic(50), γ = 50: every mode's decay rate 2γ − 2γ²/d is exactly 0 and P' = (γ²/d)·d·P =
    2500 P, so P crosses 1e10·P(0) at t = ln(1e10)/2500 ≈ 0.00921 (it was reported 'ok' at 134)."""
    prob = hd.Problem.isotropic(50)
    th = hd.predict_risk(prob, hd.SGD(50.0), np.linspace(0, 0.05, 11))
    assert th.status == "diverged"
    assert th.status.t_event == pytest.approx(np.log(1e10) / 2500, rel=2e-2)
