"""The d_x → ∞ streaming limit with a moving head vs the project's block system and streaming Monte Carlo
(docs/feature_learning.md §4)."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from hdlimits import feature_learning as fl
from hdlimits.core.schedules import constant
from hdlimits.feature_learning import limit as L
from hdlimits.solvers.blocks import BlockModeSystem
from tests.stats import family_z


class _LinearHead:
    """Duck-typed expectations of the loss ½‖F r₁ − F* r₂ − ε‖² for BlockModeSystem, with F = head(B)."""

    def __init__(self, head, Fs, sigma2):
        self.head, self.Fs, self.s2 = head, Fs, sigma2

    def _M(self, B):
        F = self.head(B)
        A = np.concatenate([F, -self.Fs], axis=1)
        return F, A, A.T @ F

    def evaluate(self, B):
        F, A, M = self._M(B)
        k2 = B.shape[0]; k = k2 // 2
        J = np.zeros((k2, k2)); J[:, :k] = M
        I = np.zeros((k2, k2)); I[:k, :k] = F.T @ (A @ B @ A.T + self.s2 * np.eye(F.shape[0])) @ F
        return 0.0, J, I

    def curvature(self, B):
        F, A, M = self._M(B)
        k2 = B.shape[0]; k = k2 // 2
        C = np.zeros((k2,) * 4)
        C[:, :, :k, :k] = np.einsum("ac,be->abce", M, M) + np.einsum("bc,ae->abce", M, M)
        return C


@pytest.mark.parametrize("method,head", [("sgd", "fixed"), ("kfac", "fixed"), ("kfac", "refit"),
                                         ("sgd", "refit")])
def test_limit_equals_the_project_block_system(method, head):
    task = fl.LinearRepresentation(120, 2, 3, 30.0, 0.2, data="gaussian", seed=4)
    G0, F0 = L.initial_point(task, 0.5, seed=1)
    t = np.array([0.0, 0.5, 1.5])
    lr, batch = 0.6, 2
    lim = L.predict(task, method, t, lr=lr, batch=batch, head=head, G0=G0, rtol=1e-10)
    k = task.k
    Fs = task.F_star
    headf = (lambda B: F0) if head == "fixed" else (lambda B: Fs @ np.linalg.solve(B[:k, :k], B[k:, :k].T).T)
    lt, p, V0 = L._blocks(task, method, G0)
    out = None if method == "sgd" else (lambda B: np.linalg.inv(headf(B).T @ headf(B)))
    sysm = BlockModeSystem(lam=lt, mass=np.ones_like(lt), V0=V0, m=k, d=task.d_x, schedule=constant(lr),
                           batch=batch, expectations=_LinearHead(headf, Fs, task.noise_std ** 2), output=out)
    sol = solve_ivp(lambda s, y: sysm.rhs(s, y.reshape(V0.shape)).ravel(), (0, t[-1]), V0.ravel(),
                    t_eval=t, rtol=1e-10, atol=1e-13)
    for j in range(t.size):
        B = sysm.B_of(sol.y[:, j].reshape(V0.shape))
        np.testing.assert_allclose(lim.B[j], B, rtol=1e-6, atol=1e-9)


def test_limit_rejects_bad_input():
    task = fl.LinearRepresentation(20, 2, 3, 10.0, 0.1, data="gaussian")
    with pytest.raises(ValueError, match="method"):
        L.predict(task, "adam", [0, 1])
    with pytest.raises(ValueError, match="head"):
        L.predict(task, "sgd", [0, 1], head="frozen")
    with pytest.raises(ValueError, match="init_overlap"):
        L.predict(task, "sgd", [0, 1], init_overlap=0.0)


def _check_against_mc(method, t, runs, head="refit"):
    # d_x = 1000, κ = 100: smooth observables within a family-wise t-quantile of the MC standard error
    # plus 1 % (finite-d); the subspace distance (a minimum over nearly equal principal angles, biased by
    # O(d^{-1/2}) fluctuations) within 0.02 — measured gaps ≤ 0.015 at d = 1000, ≤ 0.009 at d = 2000
    task = fl.LinearRepresentation(1000, 3, 5, 100.0, 0.1, data="gaussian", seed=0)
    lim = fl.predict(task, method, t, lr=0.5, head=head)
    mc = L.simulate_streaming(task, method, t, lr=0.5, runs=runs, seed=3, head=head)
    z = family_z(2 * t.size, runs)
    for name in ("loss", "transfer_loss"):
        c = mc[name]
        tol = z * c.stderr + 0.01 * np.abs(getattr(lim, name))
        assert np.all(np.abs(c.mean - getattr(lim, name)) <= tol), (name, c.mean, getattr(lim, name))
    assert np.all(np.abs(mc["subspace_distance"].mean - lim.subspace_distance) < 0.02)
    assert lim.loss[-1] < 0.8 * lim.loss[0]


@pytest.mark.parametrize("method,head", [("kfac", "refit"), ("sgd", "refit"), ("kfac", "sgd")])
def test_limit_matches_streaming_monte_carlo_short(method, head):
    _check_against_mc(method, np.array([0.0, 0.5, 1.0]), runs=4, head=head)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["kfac", "sgd"])
def test_limit_matches_streaming_monte_carlo(method):
    _check_against_mc(method, np.array([0.0, 1.0, 2.0, 4.0]), runs=8)
