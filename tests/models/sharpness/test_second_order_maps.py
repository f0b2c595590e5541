"""The exact single-output maps (docs/sharpness_second_order.md §2–§3) against the raw θ-space
iteration, and claims C6–C9 (Agarwala, Pedregosa, Pennington, arXiv 2210.04860; Agarwala & Dauphin,
arXiv 2302.08692)."""
import numpy as np
import pytest
import sympy as sp

import hdlimits as hd
from hdlimits import sharpness as hs
from hdlimits.models.sharpness import second_order_maps as maps

J0, QD, Z0 = [0.3, 0.4], np.diag([1.0, 0.2]), -3.0


def theta_space(J0, Q, z0, eta, rho, steps, normalized=False):
    """Raw iteration in θ: z(θ) = z0 + J0·θ + ½θᵀQθ, J(θ) = J0 + Qθ (test's own reference)."""
    J0, Q = np.asarray(J0, float), np.asarray(Q, float)
    th = np.zeros(J0.size)
    zf = lambda t: z0 + J0 @ t + 0.5 * t @ Q @ t
    jf = lambda t: J0 + Q @ t
    zs, lam, hs_ = [], [], []
    for _ in range(steps + 1):
        z, J = zf(th), jf(th)
        zs.append(z); lam.append(J @ J); hs_.append(np.linalg.eigvalsh(np.outer(J, J) + z * Q)[-1])
        g = z * J
        if rho > 0:
            d = rho * g / (np.linalg.norm(g) if normalized else 1.0)
            g = zf(th + d) * jf(th + d)
        th = th - eta * g
    return np.array(zs), np.array(lam), np.array(hs_)


@pytest.mark.parametrize("opt", [hd.GD(lr=0.55), hd.SAM(lr=0.55, rho=0.1),
                                 hd.SAM(lr=0.3, rho=0.05, normalized=True)])
@pytest.mark.parametrize("Q", [QD, np.array([[0.6, 0.4], [0.4, 0.6]]), np.diag([1.0, 0.2, 0.2, -0.3])])
def test_map_matches_theta_space(opt, Q):
    J = J0 + [0.1, -0.2] if Q.shape[0] == 4 else J0
    z0 = Z0 if Q is QD else -1.5
    m = hs.QuadraticModel.single_output(J0=J, Q=Q, residual0=z0)
    # the catapult phase amplifies rounding (≈ ×10 per step at η = 0.55); 10 steps stay at 1e-12
    steps = 10
    r = hs.predict(m, opt, steps=steps)
    z, lam, hsh = theta_space(J, Q, z0, opt.lr, getattr(opt, "rho", 0.0), steps,
                              getattr(opt, "normalized", False))
    assert r.status == "ok"
    np.testing.assert_allclose(r.residual, z, rtol=0, atol=1e-12 * max(1, np.abs(z).max()))
    np.testing.assert_allclose(r.sharpness, lam, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r.hessian_sharpness, hsh, rtol=1e-11, atol=1e-11)
    np.testing.assert_array_equal(r.step, np.arange(steps + 1))


def test_map_matches_theta_space_long_stable_run():
    m = hs.QuadraticModel.single_output(J0=J0, Q=QD, residual0=Z0)
    r = hs.predict(m, hd.GD(lr=0.3), steps=300)
    z, lam, hsh = theta_space(J0, QD, Z0, 0.3, 0.0, 300)
    np.testing.assert_allclose(r.residual, z, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.sharpness, lam, rtol=1e-12)
    np.testing.assert_allclose(r.hessian_sharpness, hsh, rtol=1e-11, atol=1e-12)


def test_gd_moment_map_matches_notes():
    d = maps.derive_symbolic("gd", 2)
    z, eta = maps.z, maps.eta
    lam, a, b, c3 = (maps.moment(k) for k in range(4))
    assert sp.simplify(d.updates["z"] - (z * (1 - eta * lam) + eta ** 2 / 2 * z ** 2 * a)) == 0
    assert sp.simplify(d.updates["m0"] - (lam - 2 * eta * z * a + eta ** 2 * z ** 2 * b)) == 0
    assert sp.simplify(d.updates["m1"] - (a - 2 * eta * z * b + eta ** 2 * z ** 2 * c3)) == 0


def test_closure_and_invariant():
    s, p = sp.symbols("s p")
    inv = maps.gradient_flow_invariant(2).subs({sp.Symbol("c0", real=True): -p, sp.Symbol("c1", real=True): s})
    assert sp.expand(inv - (2 * p * maps.z - s * maps.moment(0) + maps.moment(1))) == 0
    np.testing.assert_allclose(maps.closure_coefficients([1.0, 0.2]), [-0.2, 1.2])


# C6: GD final ηλ_max(H) on the canonical instance
@pytest.mark.parametrize("eta,claim", [(0.30, 1.5516), (0.40, 1.9772), (0.45, 1.9537), (0.55, 1.9223),
                                       (0.65, 1.8900), (0.75, 1.9351)])
def test_c6_gd_final_sharpness(eta, claim):
    m = hs.QuadraticModel.single_output(J0=J0, Q=QD, residual0=Z0)
    r = hs.predict(m, hd.GD(lr=eta), steps=3000)
    assert r.status == "ok" and r.loss[-1] < 1e-20
    # 1.9223 at η = 0.55: the exact value is 1.922250 (rounds either way), so 1e-4, not 5e-5
    assert abs(eta * r.hessian_sharpness[-1] - claim) < 1e-4
    lam_gf = 5.4552
    if eta * lam_gf > 2:
        assert 1.88 < eta * r.hessian_sharpness[-1] < 2.0


# C7: unnormalised SAM at η = 0.55 and its edge
@pytest.mark.parametrize("rho,claim,edge", [(0.01, 3.3746, 3.5130), (0.03, 3.1895, 3.3081),
                                            (0.1, 2.7121, 2.8335), (0.3, 2.1369, 2.1933)])
def test_c7_sam_final_sharpness(rho, claim, edge):
    m = hs.QuadraticModel.single_output(J0=J0, Q=QD, residual0=Z0)
    r = hs.predict(m, hd.SAM(lr=0.55, rho=rho), steps=3000)
    lam_edge = hs.sam_edge(lr=0.55, rho=rho)
    assert abs(lam_edge - edge) < 1e-4
    assert abs(r.hessian_sharpness[-1] - claim) < 5e-5
    assert 0.95 <= r.hessian_sharpness[-1] / lam_edge <= 0.98


# C8: the two-step identity at ηλ = 2
@pytest.mark.parametrize("zt", [1e-3, -5e-4, 1e-4])
def test_c8_two_step_identity(zt):
    exact, expansion = maps.two_step_identity()
    eta, s, p = 0.5, 1.2, 0.2
    lam = 2 / eta
    for a in (0.7, -0.4, 2.0):
        b = s * a - p * lam
        vals = {maps.z: zt, maps.eta: eta, maps.moment(0): lam, maps.moment(1): a,
                sp.Symbol("s", real=True): s, sp.Symbol("p", real=True): p}
        ex = float(exact.subs(vals))
        approx = -eta ** 2 * zt ** 2 * (eta * a ** 2 + 2 * b)
        assert abs(ex - approx) < 1e-3 * abs(approx)
        assert float(expansion.subs(vals).subs({sp.Symbol("delta", real=True): 0, sp.Symbol("b", real=True): b})) == pytest.approx(approx, rel=1e-12)


# C9: isotropic Q, ηλ − 2ηqz invariant under GD
def test_c9_isotropic_invariant():
    qq, eta = 0.7, 0.3
    m = hs.QuadraticModel.single_output(J0=[0.5, -0.2, 0.1], Q=qq * np.eye(3), residual0=2.0)
    r = hs.predict(m, hd.GD(lr=eta), steps=200)
    inv = eta * r.sharpness - 2 * eta * qq * r.residual
    assert np.max(np.abs(inv - inv[0])) < 1e-13 * 50


# C20: λ_SAM → 2/η, ≈ 2/η − 4ρ/η²
def test_c20_sam_edge_limits():
    eta = 0.55
    assert hs.sam_edge(lr=eta, rho=0.0) == 2 / eta
    for rho in (1e-4, 1e-3):
        assert abs(hs.sam_edge(lr=eta, rho=rho) - (2 / eta - 4 * rho / eta ** 2)) < 40 * rho ** 2 / eta ** 3
    lam = hs.sam_edge(lr=eta, rho=0.1)
    assert eta * lam * (1 + 0.1 * lam) == pytest.approx(2.0, rel=1e-14)
    assert hs.sam_edge(lr=eta, rho=0.1, normalized=True, grad_norm=2.0) == pytest.approx(hs.sam_edge(lr=eta, rho=0.05))


def test_divergence_reported_with_step():
    m = hs.QuadraticModel.single_output(J0=J0, Q=QD, residual0=Z0)
    r = hs.predict(m, hd.GD(lr=3.0), steps=200)
    assert r.status == hd.StatusCode.DIVERGED and r.status.t_event >= 1
    k = int(r.status.t_event)
    assert np.all(np.isfinite(r.loss[:k])) and not np.any(np.isnan(r.loss))


def test_latex_and_bad_input():
    m = hs.QuadraticModel.single_output(J0=J0, Q=QD, residual0=Z0)
    tex = hs.derive_map(m, hd.SAM(lr=0.55, rho=0.1)).latex()
    assert r"\tilde z" in tex and "m_{0}'" in tex
    with pytest.raises(ValueError, match="Q"):
        hs.QuadraticModel.single_output(J0=J0, Q=[[1, 0.5], [0.2, 1]], residual0=1.0)
    with pytest.raises(ValueError, match="Q"):
        hs.QuadraticModel.single_output(J0=J0, Q=np.eye(3), residual0=1.0)
    with pytest.raises(ValueError, match="rho"):
        hd.SAM(lr=0.5, rho=-0.1)
    with pytest.raises(ValueError, match="lr"):
        hd.GD(lr=0.0)
    with pytest.raises(ValueError, match="lr"):
        hs.sam_edge(lr=-1.0, rho=0.1)
    with pytest.raises(ValueError, match="grad_norm"):
        hs.sam_edge(lr=1.0, rho=0.1, normalized=True)
