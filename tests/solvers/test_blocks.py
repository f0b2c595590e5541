"""The block integrator (hdlimits/solvers/blocks_integrate.py, docs/integrator.md §15) against the scalar
least-squares path and against solve_ivp on BlockModeSystem.rhs."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import hdlimits as hd
from hdlimits.core import schedules as sch
from hdlimits.solvers.blocks import BlockModeSystem
from hdlimits.solvers.blocks_solve import solve_blocks

V_LS = np.array([1.0, -1.0])


class FakeLeastSquares:
    """ψ = r_1 − r_2 − ε: J = [[1,0],[−1,0]], I_00 = vᵀBv + σ², h = ½(vᵀBv + σ²), C[a,b,0,0] = 2 v_a v_b."""

    def __init__(self, s2):
        self.s2 = s2

    def evaluate(self, B):
        e = V_LS @ B @ V_LS
        I = np.zeros((2, 2))
        I[0, 0] = e + self.s2
        return 0.5 * (e + self.s2), np.array([[1.0, 0.0], [-1.0, 0.0]]), I

    def curvature(self, B):
        C = np.zeros((2, 2, 2, 2))
        C[:, :, 0, 0] = 2.0 * np.outer(V_LS, V_LS)
        return C


class FakeCoupled:
    """m = 2, m* = 1: constant non-symmetric J (complex student spectrum when ``rot`` ≠ 0), a forcing and a
    curvature that depend on B (not a real model; exercises the general equation)."""

    def __init__(self, rot=0.6, j11=1.0):
        self.J = np.array([[j11, rot, 0.0], [-rot, 0.8, 0.0], [-0.7, -0.4, 0.0]])

    def evaluate(self, B):
        I = np.zeros((3, 3))
        s = B[:2, :2]
        I[:2, :2] = s + 0.1 * np.trace(s) * np.eye(2) + 0.2 * np.eye(2)
        return 0.5 * np.trace(B), self.J, I

    def curvature(self, B):
        C = np.zeros((3, 3, 3, 3))
        a = 1.0 / (1.0 + B[0, 0])
        for x in range(2):
            C[x, x, x, x] = 0.5 * a
            C[x, 1 - x, 0, 1] = C[x, 1 - x, 1, 0] = 0.2 * a
        return C


def power_law(d, alpha=1.2):
    lam = np.arange(1, d + 1, dtype=float) ** -alpha
    return lam * d / lam.sum()


def ls_system(lam, x0, xs, lr, batch, s2, finite_d=True):
    lr = lr if isinstance(lr, sch.Schedule) else sch.constant(lr)
    V0 = np.stack([np.outer(w, w) for w in np.c_[x0, xs]])
    return BlockModeSystem(lam=lam, mass=np.ones(lam.size), V0=V0, m=1, d=lam.size, schedule=lr,
                           batch=batch, expectations=FakeLeastSquares(s2), finite_d=finite_d)


@pytest.mark.parametrize("batch,lr", [(1, 0.8), (4, sch.step(2.0, [1.0, 3.0], 0.5))])
def test_least_squares_matches_scalar_path(batch, lr):
    d, sigma = 500, 0.3
    lam = power_law(d)
    rng = np.random.default_rng(1)
    xs = 3.0 * rng.standard_normal(d) / np.sqrt(d)
    x0 = 0.5 * rng.standard_normal(d) / np.sqrt(d)
    g_peak = lr if isinstance(lr, float) else lr.peak
    assert g_peak * lam.max() / d > 0.15          # the γλ/d correction matters
    t = np.concatenate([[0.0], np.geomspace(1e-3, 20.0, 40)])
    res = solve_blocks(ls_system(lam, x0, xs, lr, batch, sigma ** 2), t, rtol=1e-10)
    ref = hd.predict_risk(hd.Problem.from_spectrum(lam, x0 - xs, noise=hd.noise.gaussian(sigma)),
                          hd.SGD(lr=lr, batch=batch), t, rtol=1e-12)
    assert res.ok and ref.ok
    np.testing.assert_allclose(res.risk, ref.risk, rtol=1e-8)
    assert res.overlaps.shape == (t.size, 2, 2)
    assert res.state["modes"].shape == (t.size, d, 2, 2)
    # the teacher–teacher block never moves
    assert np.all(res.state["modes"][:, :, 1, 1] == xs[None, :] ** 2)


def _sym_rhs(system, s, y):
    # the antisymmetric part of V is an invariant subspace of rhs that the JᵀVJ term can make unstable;
    # physical blocks are symmetric, so rounding must not seed it
    n, k = system.n_modes, system.k
    V = y.reshape(n, k, k)
    return system.rhs(s, 0.5 * (V + np.swapaxes(V, 1, 2))).ravel()


def reference(system, t, rtol=1e-11):
    n, k = system.n_modes, system.k
    sol = solve_ivp(lambda s, y: _sym_rhs(system, s, y), (0.0, t[-1]),
                    system.V0.ravel(), method="DOP853", t_eval=t, rtol=rtol, atol=1e-14)
    assert sol.success
    V = sol.y.T.reshape(t.size, n, k, k)
    return np.array([system.B_of(v) for v in V])


def coupled_system(fake, n=30, lr=0.7, d=40, finite_d=True, lam_scale=1.0):
    rng = np.random.default_rng(3)
    lam = lam_scale * power_law(n, 1.0) * 0.5
    W = rng.standard_normal((n, 3)) / np.sqrt(n)
    V0 = np.einsum("na,nb->nab", W, W)
    return BlockModeSystem(lam=lam, mass=np.ones(n), V0=V0, m=2, d=d, schedule=sch.constant(lr), batch=2,
                           expectations=fake, finite_d=finite_d)


@pytest.mark.parametrize("rot,j11", [(0.6, 1.0), (0.0, 1.0), (0.0, 0.0)])
def test_general_system_matches_solve_ivp(rot, j11):
    """complex student spectrum; real spectrum; singular student block (the Schur fallback)."""
    system = coupled_system(FakeCoupled(rot, j11))
    t = np.linspace(0.0, 3.0, 7)
    Bref = reference(system, t)
    res = solve_blocks(system, t, rtol=1e-9)
    assert res.ok
    scale = np.max(np.abs(Bref))
    assert np.max(np.abs(res.overlaps - Bref)) < 1e-7 * scale
    assert np.all(res.overlaps[:, 2, 2] == system.B0[2, 2])


def test_correction_half_of_drift_is_stable():
    """γλ_max/d ≈ 0.5 with a curvature that is not diagonal in the integrator's basis."""
    system = coupled_system(FakeCoupled(0.3, 1.0), n=6, lr=0.5, d=40, lam_scale=33.0)
    ratio = 0.5 * system.lam.max() / system.d
    assert 0.45 < ratio < 0.55
    t = np.linspace(0.0, 4.0, 5)
    Bref = reference(system, t)
    res = solve_blocks(system, t, rtol=1e-9)
    assert res.ok
    assert np.max(np.abs(res.overlaps - Bref)) < 1e-7 * np.max(np.abs(Bref))


def test_error_decreases_with_rtol():
    system = coupled_system(FakeCoupled(0.6, 1.0))
    t = np.array([0.0, 0.5, 2.0])
    Bref = reference(system, t, rtol=1e-13)
    errs = [np.max(np.abs(solve_blocks(system, t, rtol=r).overlaps - Bref)) for r in (1e-6, 1e-8, 1e-10)]
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 1e-8 * np.max(np.abs(Bref))


def test_divergence_is_a_status_with_inf_after():
    d = 200
    lam = power_law(d)
    rng = np.random.default_rng(0)
    xs = rng.standard_normal(d) / np.sqrt(d)
    # SGD on least squares diverges above γ ≈ 2d/((1+1/B) tr K)·... ; lr = 3 is far above the edge (≈ 1)
    res = solve_blocks(ls_system(lam, np.zeros(d), xs, 3.0, 1, 0.01), np.linspace(0, 20, 41))
    assert res.diverged
    te = res.status.t_event
    assert 0.0 < te < 20.0
    after = res.t > te
    assert after.any() and np.all(np.isinf(res.risk[after])) and not np.isnan(res.risk).any()
    assert np.all(np.isinf(res.overlaps[after])) and not np.isnan(res.overlaps).any()
    assert np.all(np.isfinite(res.risk[res.t < 0.5 * te]))


def test_stiff_top_modes_take_few_steps():
    d, lr = 2000, 0.5
    lam = power_law(d, 1.5)
    lam[0] = 0.4 * d / lr                      # γλ_max = 0.4 d = 800
    rng = np.random.default_rng(2)
    xs = rng.standard_normal(d) / np.sqrt(d)
    res = solve_blocks(ls_system(lam, np.zeros(d), xs, lr, 1, 0.04), np.linspace(0, 10, 11), rtol=1e-8)
    assert res.ok
    assert res.info["steps"] < 5000


def test_bad_input():
    system = ls_system(power_law(10), np.zeros(10), np.ones(10), 0.5, 1, 0.1)
    with pytest.raises(ValueError, match="t must be non-decreasing"):
        solve_blocks(system, [0.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="rtol"):
        solve_blocks(system, [0.0, 1.0], rtol=0.5)
    with pytest.raises(ValueError, match="rtol"):
        solve_blocks(system, [0.0, 1.0], rtol=1e-20)
    with pytest.raises(ValueError, match="system"):
        solve_blocks("nope", [0.0, 1.0])
