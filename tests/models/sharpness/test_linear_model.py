"""The linear model: exact recursion against exact batch enumeration and Monte Carlo, mode equations,
the localised criterion, bad input and the stochastic EOS as a status (docs/sharpness.md)."""
import itertools
import math
import warnings

import numpy as np
import pytest

import hdlimits as hd
from hdlimits import sharpness as hs
from hdlimits.core.errors import LimitNotAvailable
from hdlimits.models.sharpness import linear_theory as lt
from tests.stats import family_z

SAMPLINGS = ("without_replacement", "with_replacement", "bernoulli")


def _weights(sampling, D, B):
    """All (probability, weight vector) pairs of one batch draw, enumerated exactly."""
    out = []
    if sampling == "without_replacement":
        subsets = list(itertools.combinations(range(D), B))
        for s in subsets:
            w = np.zeros(D); w[list(s)] = D / B
            out.append((1 / len(subsets), w))
    elif sampling == "with_replacement":
        for seq in itertools.product(range(D), repeat=B):
            w = np.zeros(D)
            for i in seq:
                w[i] += D / B
            out.append((D ** -B, w))
    else:
        beta = B / D
        for mask in itertools.product((0, 1), repeat=D):
            m = np.array(mask, float)
            out.append((beta ** m.sum() * (1 - beta) ** (D - m.sum()), m / beta))
    return out


@pytest.mark.parametrize("sampling", SAMPLINGS)
def test_exact_recursion_equals_enumerated_batches(sampling):
    """E‖z_t‖² by exact enumeration of every batch sequence (D = 4, B = 2, 3 steps) equals the
    recursion's 2·E L_t to rounding."""
    lin = hs.LinearModel.from_ntk([0.3, 0.7, 1.1, 1.9], seed=5)
    theta, z0, eta = lin.ntk, lin.residual0, 0.45
    draws = _weights(sampling, 4, 2)
    M = np.outer(z0, z0)
    want = [np.trace(M)]
    for _ in range(3):
        new = np.zeros_like(M)
        for p, w in draws:
            T = np.eye(4) - eta * theta * w[None, :]
            new += p * T @ M @ T.T
        M = new
        want.append(np.trace(M))
    loss, _ = lt.exact_loss(lin, eta, 2, 3, sampling)
    np.testing.assert_allclose(2 * loss, want, rtol=1e-12)


@pytest.mark.parametrize("sampling", SAMPLINGS)
def test_exact_recursion_vs_monte_carlo(sampling):
    """MC mean of L over 100 runs within the Bonferroni–Student-t bound at every step (D = 120)."""
    lin = hs.LinearModel.marchenko_pastur(D=120, P=240, seed=2)
    B = 12
    eta = 0.7 * float(hs.critical_lr(lin, B, sampling=sampling))
    opt = hd.SGD(lr=eta, batch=B)
    th = hs.predict(lin, opt, steps=120, sampling=sampling)
    mc = hs.simulate(lin, opt, steps=120, runs=100, seed=7, sampling=sampling)
    z = (mc.loss[1:] - th.loss[1:]) / mc.loss_stderr[1:]
    assert np.max(np.abs(z)) < family_z(120, 100), (sampling, np.max(np.abs(z)))
    assert mc.loss_runs.shape == (100, 121) and mc.status == "ok"


def test_monte_carlo_is_reproducible_and_run_independent():
    lin = hs.LinearModel.marchenko_pastur(D=40, P=80, seed=1)
    opt = hd.SGD(lr=0.1, batch=4)
    a = hs.simulate(lin, opt, steps=20, runs=6, seed=3)
    b = hs.simulate(lin, opt, steps=20, runs=6, seed=3)
    np.testing.assert_array_equal(a.loss_runs, b.loss_runs)
    c = hs.simulate(lin, opt, steps=20, runs=3, seed=np.random.SeedSequence(3))
    np.testing.assert_allclose(c.loss_runs, a.loss_runs[:3], rtol=1e-12)


def _power_law(D, seed):
    lam = np.arange(1, D + 1) ** -0.5 * 3.0
    return hs.LinearModel.from_ntk(lam, seed=seed)


def test_mode_equations_gap_shrinks_with_d():
    """Max relative gap between the mode equations and the exact recursion over 100 steps at 0.8 η_S
    (power law λ_j = 3 j^{-1/2}, Haar eigenvectors, B = D/10) falls as D grows (≈ 1/D)."""
    gaps = []
    for D in (40, 80, 160):
        lin = _power_law(D, seed=D)
        B = D // 10
        eta = 0.8 * float(hs.critical_lr(lin, B))
        ex, _ = lt.exact_loss(lin, eta, B, 100)
        mo, _ = lt.mode_loss(lin, eta, B, 100)
        gaps.append(np.max(np.abs(mo / ex - 1)))
    assert gaps[0] > gaps[1] > gaps[2], gaps
    assert gaps[2] < 0.6 * gaps[0], gaps


def test_modes_refused_for_localised_model():
    lin = hs.LinearModel.from_ntk([0.5, 1.0, 2.0], basis=None, residual0=[1.0, 1.0, 1.0])
    with pytest.raises(LimitNotAvailable, match="delocalised"):
        hs.predict(lin, hd.SGD(lr=0.1, batch=1), steps=5, method="modes")


def test_localised_criterion():
    """Θ diagonal in the data basis: each mode is stable iff ηλ_i < 2β (without replacement)."""
    lam = np.array([0.4, 0.8, 1.2, 1.6])
    lin = hs.LinearModel.from_ntk(np.tile(lam, 5), basis=None, seed=0)
    D, B = 20, 5
    crit = hs.critical_lr(lin, B)
    assert crit.binding == "localised" and float(crit) == pytest.approx(2 * (B / D) / 1.6)
    for f, grows in ((0.97, False), (1.03, True)):
        loss, _ = lt.exact_loss(lin, f * float(crit), B, 400)
        assert (loss[-1] > loss[-2]) == grows
    # the mean-field 𝒦 = 1 lies elsewhere: it is not this model's edge
    assert hs.noise_kernel_norm(lin, float(crit), B) != pytest.approx(1, abs=0.05)


def test_exact_rate_is_the_recursions_asymptotic_factor():
    lin = _power_law(30, seed=1)
    eta = 0.75 * float(hs.critical_lr(lin, 3))   # D = 30: the exact edge is far below η_S
    loss, _ = lt.exact_loss(lin, eta, 3, 1500)
    assert loss[-1] > 0
    assert loss[-1] / loss[-2] == pytest.approx(hs.growth_rate(lin, eta, 3, method="exact"), rel=1e-6)


def test_full_batch_is_gd():
    lin = hs.LinearModel.marchenko_pastur(D=30, P=60, seed=0)
    crit = hs.critical_lr(lin, 30)
    assert crit.binding == "full_batch" and float(crit) == pytest.approx(2 / lin.lambda_max)
    assert hs.noise_kernel_norm(lin, 0.5, 30) == 0.0
    loss, _ = lt.exact_loss(lin, 0.5, 30, 10)
    zt = lin.to_eigenbasis(lin.residual0)
    want = 0.5 * np.sum(((1 - 0.5 * lin.eigenvalues) ** 10 * zt) ** 2)
    assert loss[-1] == pytest.approx(want, rel=1e-10)


def test_past_the_stochastic_edge_status_not_nan():
    lin = hs.LinearModel.marchenko_pastur(D=60, P=120, seed=4)
    eta = 1.5 * float(hs.critical_lr(lin, 6))
    opt = hd.SGD(lr=eta, batch=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        th = hs.predict(lin, opt, steps=2000)
        mc = hs.simulate(lin, opt, steps=300, runs=20, seed=0)
    assert th.status == "diverged" and th.status.t_event > 0
    assert not np.any(np.isnan(th.loss)) and np.isinf(th.loss[-1])
    assert not np.any(np.isnan(mc.loss)) and not np.any(np.isnan(mc.loss_median))
    # growing inside the horizon without crossing the threshold: ok + a growth warning
    with pytest.warns(hd.core.status.UnstableWarning, match="critical learning rate"):
        short = hs.predict(lin, opt, steps=int(th.status.t_event) - 3)
    assert short.status == "ok" and short.warnings
    # MC past the edge: the log-mean grows (robust), even where the mean is dominated by rare runs
    assert mc.log_loss[100] > mc.log_loss[0]


@pytest.mark.parametrize("call, name", [
    (lambda: hs.LinearModel.marchenko_pastur(D=1, P=5), "D"),
    (lambda: hs.LinearModel.from_ntk([1.0]), "D"),
    (lambda: hs.LinearModel.from_ntk([1.0, -0.5]), "eigenvalues"),
    (lambda: hs.LinearModel.from_ntk([[1.0, 2.0], [2.0, 1.0]]), "eigenvalues"),
    (lambda: hs.LinearModel.from_ntk([1.0, 2.0], residual0=[1.0, 2.0, 3.0]), "residual0"),
    (lambda: hs.LinearModel.from_ntk([1.0, 2.0], basis="weird"), "basis"),
    (lambda: hs.noise_kernel_norm(_LIN, 0.1, 0), "batch"),
    (lambda: hs.noise_kernel_norm(_LIN, 0.1, 11), "batch"),
    (lambda: hs.noise_kernel_norm(_LIN, 0.0, 2), "lr"),
    (lambda: hs.noise_kernel_norm(_LIN, -1.0, 2), "lr"),
    (lambda: hs.noise_kernel_norm(_LIN, 0.1, 2, sampling="poisson"), "sampling"),
    (lambda: hs.critical_lr(_LIN, 20), "batch"),
    (lambda: hs.critical_lr(_LIN, 2, spectrum="density"), "density"),
    (lambda: hs.predict(_LIN, hd.SGD(lr=0.1, batch=11), steps=5), "batch"),
    (lambda: hs.predict(_LIN, hd.SGD(lr=lambda t: 0.1, batch=2), steps=5), "lr"),
    (lambda: hs.simulate(_LIN, hd.SGD(lr=0.1, batch=2), steps=5, runs=0), "runs"),
    (lambda: hs.predict(_LIN, hd.SGD(lr=0.1, batch=2), steps=5, method="ode"), "method"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


_LIN = hs.LinearModel.from_ntk(np.linspace(0.5, 2.0, 10), seed=0)


@pytest.mark.parametrize("sampling", ["without_replacement", "with_replacement"])
def test_dense_step_path_vs_exact_recursion(sampling):
    """B > D/8 uses the (runs × D)(D × D) product with batch weights (repeats counted): 200 runs."""
    lin = hs.LinearModel.from_ntk(np.linspace(0.2, 2.0, 40), seed=3)
    opt = hd.SGD(lr=0.6 * float(hs.critical_lr(lin, 20, sampling=sampling)), batch=20)
    th = hs.predict(lin, opt, steps=60, sampling=sampling)
    mc = hs.simulate(lin, opt, steps=60, runs=200, seed=1, sampling=sampling)
    z = (mc.loss[1:] - th.loss[1:]) / mc.loss_stderr[1:]
    assert np.max(np.abs(z)) < family_z(60, 200), np.max(np.abs(z))


def test_plots_label_steps_and_results_round_trip(tmp_path):
    lin = hs.LinearModel.marchenko_pastur(D=30, P=60, seed=0)
    opt = hd.SGD(lr=0.2, batch=5)
    th = hs.predict(lin, opt, steps=20)
    mc = hs.simulate(lin, opt, steps=20, runs=8, seed=0)
    fig = hd.plot.risk_curves(th, mc, quantity="loss", path=tmp_path / "a.png")
    assert fig.axes[0].get_xlabel() == "step"
    assert "noise" not in fig.axes[0].get_title()
    fig = hd.plot.risk_curves_many([(th, mc, "x")], quantity="loss")
    assert fig.axes[0].get_xlabel() == "step"
    assert '"loss"' in mc.to_json()        # (hd.load_result does not know the sharpness types yet)
    assert th.step is th.t and th.sharpness[0] == pytest.approx(lin.lambda_max)


def test_rank_deficient_ntk_d_greater_than_p():
    """D > P: Θ has a null space (exact zeros); the exact edge and growth rate stay finite (regression:
    rounding-level eigenvalues used to give 0/0 in the exact-operator reduction)."""
    lin = hs.LinearModel.marchenko_pastur(D=60, P=40, seed=0)
    assert np.sum(lin.eigenvalues == 0) == 20
    crit = hs.critical_lr(lin, 6, exact=True)
    assert math.isfinite(crit.finite_d) and 0.9 < crit.finite_d / crit < 1
    # the null space does not move: E‖z‖² tends to its (positive) null-space part, μ = 1
    assert hs.growth_rate(lin, 0.5 * float(crit), 6, method="exact") == pytest.approx(1.0)
    assert abs(hs.critical_lr(lin, 6, spectrum="density") / crit - 1) < 0.05
