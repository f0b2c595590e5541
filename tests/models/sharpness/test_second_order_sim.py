"""θ-space simulator of the proportional second-order model (docs/sharpness_second_order.md §4):
exactness against a direct evaluation of z(θ), Lanczos λ_max(H) against dense eigvalsh, the trace
identity, seeds, divergence and bad input. Claims C15–C18 at D = 200, P = 400 are in
test_second_order_claims.py (slow)."""
import numpy as np
import pytest

import hdlimits as hd
from hdlimits import sharpness as hs
from hdlimits.models.sharpness.second_order_sim import hessian_sharpness


def direct(p, opt_lr, steps, rho=0.0, normalized=False):
    """Test's own reference: z(θ) = z0 + J0θ + ½Q(θ,θ), J(θ) = J0 + Q(θ,·), GD / SAM in θ."""
    th = np.zeros(p.P)
    zf = lambda t: p.residual0 + p.J0 @ t + 0.5 * np.einsum("ipq,p,q->i", p.Q, t, t)
    jf = lambda t: p.J0 + np.einsum("ipq,q->ip", p.Q, t)
    lam, loss, hess = [], [], []
    for _ in range(steps + 1):
        z, J = zf(th), jf(th)
        loss.append(0.5 * z @ z)
        lam.append(np.linalg.eigvalsh(J @ J.T)[-1])
        hess.append(np.linalg.eigvalsh(J.T @ J + np.einsum("i,ipq->pq", z, p.Q))[-1])
        g = J.T @ z
        if rho > 0:
            d = rho * g / (np.linalg.norm(g) if normalized else 1.0)
            g = jf(th + d).T @ zf(th + d)
        th = th - opt_lr * g
    return np.array(loss), np.array(lam), np.array(hess)


@pytest.mark.parametrize("opt", [hd.GD(lr=0.4), hd.SAM(lr=0.3, rho=0.1), hd.SAM(lr=0.3, rho=0.05, normalized=True)])
def test_matches_direct_theta_space(opt):
    p = hs.QuadraticModel.proportional(D=12, P=40, eps=1.0, seed=3)
    r = hs.simulate(p, opt, steps=15, runs=1, seed=0, every=1)
    loss, lam, hess = direct(p, opt.lr, 15, getattr(opt, "rho", 0.0), getattr(opt, "normalized", False))
    np.testing.assert_allclose(r.loss, loss, rtol=1e-9)
    np.testing.assert_allclose(r.sharpness, lam, rtol=1e-10)
    np.testing.assert_allclose(r.hessian_sharpness, hess, rtol=1e-8, atol=1e-9)


def test_lanczos_matches_dense():
    p = hs.QuadraticModel.proportional(D=30, P=80, eps=1.0, seed=1)
    rng = np.random.default_rng(0)
    for scale in (0.0, 1.0, 3.0):         # z large enough that Σ z_i Q_i matters (even negative λ_max)
        z = scale * rng.standard_normal(30)
        J = p.J0 * (0.05 if scale == 3.0 else 1.0)
        dense = np.linalg.eigvalsh(J.T @ J + np.einsum("i,ipq->pq", z, p.Q))[-1]
        assert hessian_sharpness(z, J, p.Q) == pytest.approx(dense, rel=1e-9, abs=1e-10)


def test_trace_identity_and_recording():
    p = hs.QuadraticModel.proportional(D=40, P=80, eps=0.5, seed=0)
    r = hs.simulate(p, hd.GD(lr=0.3), steps=40, runs=1, seed=0, every=7)
    np.testing.assert_array_equal(r.step, [0, 7, 14, 21, 28, 35, 40])
    np.testing.assert_allclose(r.trace[0], np.sum(p.J0 ** 2))
    pred = r.trace[0] + 0.25 * (1 + 1 / 80) * r.param_norm
    # O(1) fluctuation of ε²‖θ‖² around its mean: a few percent of the lift at D = 40
    assert np.max(np.abs(r.trace - pred) / r.trace) < 0.05   # the lift itself is 30 %
    assert np.all(r.lr == 0.3)


def test_sgd_runs_seeds_and_divergence():
    p = hs.QuadraticModel.proportional(D=20, P=40, eps=0.5, seed=0)
    a = hs.simulate(p, hd.SGD(lr=0.1, batch=5), steps=10, runs=3, seed=7, every=5, hessian=False)
    b = hs.simulate(p, hd.SGD(lr=0.1, batch=5), steps=10, runs=3, seed=7, every=5, hessian=False)
    np.testing.assert_array_equal(a.loss_runs, b.loss_runs)
    assert a.runs == 3 and np.all(np.isfinite(a.loss_stderr))
    assert len(set(a.loss_runs[:, -1])) == 3
    assert "noise_kernel_norm" in a
    d = hs.simulate(p, hd.GD(lr=5.0), steps=200, runs=1, seed=0, every=1, hessian=False)
    assert d.status == hd.StatusCode.DIVERGED
    k = int(d.status.t_event)
    assert np.all(np.isfinite(d.loss[:k])) and np.all(np.isinf(d.loss[k:])) and not np.any(np.isnan(d.loss))


def test_bad_input():
    with pytest.raises(ValueError, match="D"):
        hs.QuadraticModel.proportional(D=0, P=10)
    with pytest.raises(ValueError, match="P"):
        hs.QuadraticModel.proportional(D=10, P=0)
    with pytest.raises(ValueError, match="P"):
        hs.QuadraticModel.proportional(D=10 ** 4, P=10 ** 5)
    with pytest.raises(ValueError, match="rho"):
        hd.SAM(lr=0.1, rho=-1.0)
