"""Learning-rate tuners (docs/sharpness_second_order.md §5): accepted steps on quadratics where they are
known in closed form, through the θ-space simulator, the reduced joint (η, S) model and bad input
(Roulet et al., arXiv 2407.06183; Roulet, Agarwala, Pedregosa, arXiv 2312.00209)."""
import math

import numpy as np
import pytest

import hdlimits as hd
from hdlimits import sharpness as hs
from hdlimits.optimizers.tuners import Oracle


def quad_oracle(A, w):
    A = np.asarray(A, float)
    g = A @ w
    return Oracle(0.5 * w @ A @ w, g, lambda u: A @ u, lambda e: 0.5 * (w - e * g) @ A @ (w - e * g))


@pytest.mark.parametrize("c", [1e-4, 0.3, 0.7])
def test_armijo_accepts_largest_halving_below_2_1mc_over_kappa(c):
    rng = np.random.default_rng(0)
    A = np.diag([5.0, 1.0, 0.2])
    for _ in range(5):
        w = rng.standard_normal(3)
        g = A @ w
        kappa = g @ A @ g / (g @ g)
        bound = 2 * (1 - c) / kappa
        k = max(0, math.ceil(math.log2(10.0 / bound)))
        eta = hd.tuners.Armijo(c=c, lr_max=10.0).step_size(quad_oracle(A, w), {})
        assert eta == pytest.approx(10.0 * 2.0 ** -k, rel=1e-15)
        assert eta <= bound < 2 * eta


@pytest.mark.parametrize("c", [0.5, 0.25, 0.1])
def test_polyak_one_dimensional_gives_eta_lambda_1_over_2c(c):
    lam = 3.0
    eta = hd.tuners.Polyak(c=c, lr_max=100.0).step_size(quad_oracle([[lam]], np.array([0.7])), {})
    assert eta * lam == pytest.approx(1 / (2 * c), rel=1e-14)
    assert hd.tuners.Polyak(c=c, lr_max=0.01).step_size(quad_oracle([[lam]], np.array([0.7])), {}) == 0.01


def test_cdat_is_sigma_over_directional_curvature_with_ema():
    A = np.diag([4.0, 1.0])
    t = hd.tuners.CDAT(sigma=2.0, ema=0.5)
    st = t.start()
    w1, w2 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert t.step_size(quad_oracle(A, w1), st) * 4.0 == pytest.approx(2.0)   # EMA starts at the first value
    # n: 16 → ½·16 + ½·1; d: 64 → ½·64 + ½·1
    assert t.step_size(quad_oracle(A, w2), st) == pytest.approx(2.0 * 8.5 / 32.5)
    assert hd.tuners.CDAT(sigma=1.0, eps=1.0).step_size(quad_oracle(A, w1), {}) == pytest.approx(16 / 65)


def test_tuners_in_the_simulator_first_step_closed_form():
    p = hs.QuadraticModel.proportional(D=20, P=40, eps=0.0, seed=2)    # ε = 0: a linear model, H = JᵀJ
    J, z = p.J0, p.residual0
    g = J.T @ z
    g2, curv = g @ g, np.sum((J @ g) ** 2)
    runs = {name: hs.simulate(p, hd.GD(lr=t), steps=3, runs=1, seed=0, every=1, hessian=False)
            for name, t in [("cdat", hd.tuners.CDAT(sigma=2.0)), ("polyak", hd.tuners.Polyak(c=0.5, lr_max=10.0)),
                            ("armijo", hd.tuners.Armijo(c=1e-4, lr_max=10.0))]}
    assert runs["cdat"].lr[0] == pytest.approx(2 * g2 / curv, rel=1e-12)
    assert runs["polyak"].lr[0] == pytest.approx(0.5 * (z @ z) / (0.5 * g2), rel=1e-12)
    bound = 2 * (1 - 1e-4) * g2 / curv
    assert runs["armijo"].lr[0] <= bound < 2 * runs["armijo"].lr[0]
    for r in runs.values():
        assert r.status == "ok" and r.loss[-1] < r.loss[0]


def test_c19_cdat_on_edge_small():
    """C19 at D = 100, P = 200, ε = 1 (first 200 steps; the full window is in the slow claims)."""
    p = hs.QuadraticModel.proportional(D=100, P=200, eps=1.0, seed=0)
    r = hs.simulate(p, hd.GD(lr=hd.tuners.CDAT(sigma=2.0)), steps=200, every=5, hessian=False)
    e = (r.lr * r.sharpness)[r.step >= 50]
    assert 1.9 <= e.min() and e.max() <= 2.35


def test_joint_model_greedy_predictions():
    for tuner, sigma in [(hd.tuners.CDAT(sigma=1.0), 1.0), (hd.tuners.Polyak(c=0.5, lr_max=1e3), 1.0),
                         (hd.tuners.CDAT(sigma=1.5), 1.5)]:
        r = hs.joint_model(alpha_ps=0.1, beta_ss=1.0, tuner=tuner, S0=1.0, x0=0.1, steps=20000)
        S_pred = np.sqrt(1.0 + 2 * sigma * 0.1 * r.step)
        assert abs(r.sharpness[-1] / S_pred[-1] - 1) < 0.01
        np.testing.assert_allclose(r.sharpness_prediction, S_pred)
        assert np.allclose(r.lr * r.sharpness, sigma)
        # η_t ∝ t^{-1/2}: η·√t is flat over the last decade
        tt = r.step[2000:]
        prod = r.lr[2000:] * np.sqrt(tt)
        assert np.ptp(prod) / prod.mean() < 0.03
        assert prod.mean() == pytest.approx(sigma / np.sqrt(2 * sigma * 0.1), rel=0.02)


def test_joint_model_constant_step_and_armijo():
    # constant η: ηS circles the edge 2 (the discrete orbit spirals out slowly; started near it)
    r = hs.joint_model(alpha_ps=1e-4, beta_ss=1.0, tuner=0.4, S0=4.99, x0=0.01, steps=20000)
    assert r.status == "ok" and np.all(np.abs(0.4 * r.sharpness - 2) < 0.01)
    assert r.info["edge"] == 5.0
    a = hs.joint_model(alpha_ps=0.1, beta_ss=1.0, tuner=hd.tuners.Armijo(c=0.1, lr_max=10.0), S0=1.0, steps=5000)
    lo, hi = a.info["sigma_range"]
    es = (a.lr * a.sharpness)[1:]
    assert np.all(es > lo - 1e-12) and np.all(es <= hi + 1e-12)
    assert a.sharpness[-1] ** 2 > 1 + 2 * lo * 0.1 * 5000 * 0.95


def test_bad_input():
    for kw, name in [({"sigma": 0.0}, "sigma"), ({"sigma": -1.0}, "sigma"), ({"ema": 1.0}, "ema"),
                     ({"ema": -0.1}, "ema"), ({"eps": -1.0}, "eps")]:
        with pytest.raises(ValueError, match=name):
            hd.tuners.CDAT(**kw)
    with pytest.raises(ValueError, match="c"):
        hd.tuners.Polyak(c=0.0)
    with pytest.raises(ValueError, match="lr_max"):
        hd.tuners.Armijo(c=0.1, lr_max=-1.0)
    with pytest.raises(ValueError, match="c"):
        hd.tuners.Armijo(c=1.5)
    with pytest.raises(ValueError, match="lr"):
        hd.GD(lr=-0.1)
    with pytest.raises(ValueError, match="alpha_ps"):
        hs.joint_model(alpha_ps=-1.0, beta_ss=1.0, tuner=0.1)
