"""QuadraticModel.wide: the ensemble (Θ₀ exact, Q moments), the exact θ-space step, bad input."""
import numpy as np
import pytest

import hdlimits as hd
from hdlimits import sharpness as hs
from hdlimits.core import validation
from hdlimits.models.sharpness.quadratic_sim import q_apply, step

LAM = [1.6, 1.2, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5]


def test_wide_ntk_at_init_is_the_given_one():
    w = hs.QuadraticModel.wide(LAM, P=200, seed=3)
    np.testing.assert_allclose(w.J0 @ w.J0.T, np.diag(LAM), atol=1e-12)
    np.testing.assert_array_equal(w.residual0, np.ones(8))
    assert w.Q.shape == (8, 200, 200) and w.Q.dtype == np.float64
    np.testing.assert_array_equal(w.Q, np.transpose(w.Q, (0, 2, 1)))
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 5))
    K = a @ a.T
    m = hs.QuadraticModel.wide(K, P=50, residual0=np.arange(5.0), seed=1)
    np.testing.assert_allclose(m.J0 @ m.J0.T, K, atol=1e-12)


def test_q_has_the_ensemble_variances():
    # off-diagonal N(0, σ²/P), diagonal N(0, 2σ²/P): 8·(300·299/2) and 8·300 samples
    P, s2 = 300, 0.04
    q = hs.QuadraticModel.wide(LAM, P=P, sigma2=s2, seed=0).Q * np.sqrt(P / s2)
    iu = np.triu_indices(P, 1)
    off = np.concatenate([qi[iu] for qi in q])
    diag = np.concatenate([np.diagonal(qi) for qi in q])
    # sample variance of n Gaussians: relative SE √(2/n); 5 SE
    assert abs(off.var() - 1.0) < 5 * np.sqrt(2 / off.size)
    assert abs(diag.var() - 2.0) < 5 * 2.0 * np.sqrt(2 / diag.size)
    # E[Q_i Q_j] = σ²(1 + 1/P) δ_ij I: the trace of Q_i² / P
    qq = np.einsum("ipq,ipq->i", q, q) / P ** 2       # (scaled) tr Q_i² / P²; relative SE ≈ 0.2 %
    assert abs(qq.mean() - (1 + 1 / P)) < 0.01


def test_step_is_the_exact_theta_space_update_for_gd_sgd_and_sam():
    rng = np.random.default_rng(1)
    w = hs.QuadraticModel.wide(LAM[:5], P=40, sigma2=0.5, residual0=rng.standard_normal(5), seed=2)
    Q, J0, z0 = w.Q, w.J0, np.array(w.residual0)

    def z_of(th):
        return z0 + J0 @ th + 0.5 * np.einsum("ipq,p,q->i", Q, th, th)

    def J_of(th):
        return J0 + np.einsum("ipq,q->ip", Q, th)

    for rho, normalized in ((0.0, False), (0.3, False), (0.3, True)):
        th = np.zeros(40)
        z, J = z0[None].copy(), J0[None].copy()
        for k in range(6):
            wts = np.array([[2.5, 0, 2.5, 0, 0]]) if k % 2 else np.ones((1, 5))
            z, J, dth = step(z, J, q_apply(Q), 0.3, wts, rho, normalized)
            g = J_of(th).T @ (wts[0] * z_of(th))                       # direct evaluation
            if rho > 0:
                tt = th + (rho * g / np.linalg.norm(g) if normalized else rho * g)
                g = J_of(tt).T @ (wts[0] * z_of(tt))
            th = th - 0.3 * g
            np.testing.assert_allclose(dth[0], -0.3 * g, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(z[0], z_of(th), rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(J[0], J_of(th), rtol=1e-10, atol=1e-12)


def test_c13_sgd_never_sharpens_the_trace_less_in_one_step():
    # C13 (docs/sharpness_quadratic.md §8; exact, any Q and state): E_batch tr Θ'_SGD − tr Θ'_GD = η² E‖Q(g − Jᵀz, ·)‖²_F,
    # here with every batch of size 2 out of D = 5 enumerated (no sampling error)
    from itertools import combinations
    rng = np.random.default_rng(5)
    w = hs.QuadraticModel.wide(LAM[:5], P=30, sigma2=0.3, residual0=rng.standard_normal(5), seed=4)
    Q, qd = w.Q, q_apply(w.Q)
    th0 = rng.standard_normal(30)
    z = w.residual0 + w.J0 @ th0 + 0.5 * np.einsum("ipq,p,q->i", Q, th0, th0)
    J = w.J0 + np.einsum("ipq,q->ip", Q, th0)
    eta, D, B = 0.4, 5, 2
    batches = list(combinations(range(D), B))
    wts = np.zeros((len(batches), D))
    for r, b in enumerate(batches):
        wts[r, list(b)] = D / B
    _, Jn, _ = step(np.tile(z, (len(batches), 1)), np.tile(J, (len(batches), 1, 1)), qd, eta, wts)
    _, Jg, _ = step(z[None], J[None], qd, eta, np.ones((1, D)))
    tr_sgd = np.einsum("rdp,rdp->r", Jn, Jn).mean()
    tr_gd = np.einsum("dp,dp->", Jg[0], Jg[0])
    g = np.einsum("dp,rd->rp", J, wts * z)
    dev = g - J.T @ z
    rhs = eta ** 2 * np.mean([np.sum(np.einsum("ipq,q->ip", Q, d) ** 2) for d in dev])
    assert rhs > 0
    np.testing.assert_allclose(tr_sgd - tr_gd, rhs, rtol=1e-9)


def test_bad_input_names_the_parameter():
    cases = [
        (dict(ntk=[1.0]), "ntk"), (dict(ntk=[[1.0]]), "ntk"), (dict(ntk=[1.0, -0.5]), "ntk"),
        (dict(ntk=[[1.0, 2.0], [2.0, 1.0]]), "ntk"), (dict(ntk=[[1.0, 0.5], [0.0, 1.0]]), "ntk"),
        (dict(ntk=[0.0, 0.0]), "ntk"), (dict(ntk="flat"), "ntk"),
        (dict(ntk=LAM, residual0=[1.0, 2.0]), "residual0"), (dict(ntk=LAM, residual0=float("nan")), "residual0"),
        (dict(ntk=LAM, P=7), "P"), (dict(ntk=LAM, P=100.5), "P"), (dict(ntk=LAM, sigma2=-0.1), "sigma2"),
        (dict(ntk=LAM, seed=-1), "seed")]
    for kw, name in cases:
        with pytest.raises(ValueError, match=f"^{name} ") as info:
            hs.QuadraticModel.wide(**kw)
        assert "np.float64" not in str(info.value), kw


def test_q_too_large_is_refused_with_what_fits():
    w = hs.QuadraticModel.wide(LAM, P=100)
    big = 10 * w.max_P()
    if validation.physical_memory() is None:
        pytest.skip("the OS does not report physical memory")
    with pytest.raises(ValueError, match=rf"^P = {big} is too large: Q .*P ≤ {w.max_P()} fits"):
        hs.QuadraticModel.wide(LAM, P=big)


@pytest.mark.parametrize("opt, name", [(hd.SGD(0.5, batch=9), "batch"), (hd.SAM(0.5, 0.1, batch=12), "batch")])
def test_batch_larger_than_d_is_refused(opt, name):
    w = hs.QuadraticModel.wide(LAM, P=20)
    for call in (hs.predict, lambda *a: hs.simulate(*a, draws=1, runs=1)):
        with pytest.raises(ValueError, match=rf"^{name} must be an integer in \[1, 8\]"):
            call(w, opt, 3)


def test_schedules_and_bad_steps_are_refused():
    w = hs.QuadraticModel.wide(LAM, P=20)
    with pytest.raises(ValueError, match="^lr must be a constant"):
        hs.predict(w, hd.SGD(lambda t: 0.5, batch=2), 3)
    with pytest.raises(ValueError, match="^steps must"):
        hs.predict(w, hd.GD(0.5), -1)
    with pytest.raises(ValueError, match="^sampling must"):
        hs.predict(w, hd.SGD(0.5, 2), 3, sampling="epoch")
    with pytest.raises(ValueError, match="^draws must"):
        hs.simulate(w, hd.GD(0.5), 3, draws=0)
    with pytest.raises(ValueError, match="^model must"):
        hs.predict("wide", hd.GD(0.5), 3)


def test_the_seed_fixes_the_instance():
    a = hs.QuadraticModel.wide(LAM, P=30, seed=4)
    b = hs.QuadraticModel.wide(LAM, P=30, seed=4)
    c = hs.QuadraticModel.wide(LAM, P=30, seed=5)
    np.testing.assert_array_equal(a.J0, b.J0)
    np.testing.assert_array_equal(a.Q, b.Q)
    assert not np.array_equal(a.Q, c.Q) and not np.array_equal(a.J0, c.J0)
    ss = np.random.SeedSequence(9)
    hs.QuadraticModel.wide(LAM, P=30, seed=ss).Q
    assert ss.n_children_spawned == 0                  # the caller's SeedSequence is not consumed
    assert "P=30" in str(a) and "sigma2=0.01" in a.describe()
