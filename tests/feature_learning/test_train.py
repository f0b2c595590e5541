"""Finite-batch training of the linear representation task (docs/feature_learning.md §2)."""
import numpy as np
import pytest

from hdlimits import feature_learning as fl
from hdlimits.feature_learning.methods import ngd_step
from tests.stats import family_z


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="k must"):
        fl.LinearRepresentation(5, 6, 2, 10.0)
    with pytest.raises(ValueError, match="condition_number"):
        fl.LinearRepresentation(5, 2, 2, 0.5)
    with pytest.raises(ValueError, match="data"):
        fl.LinearRepresentation(5, 2, 2, 2.0, data="uniform")
    task = fl.LinearRepresentation(5, 2, 2, 2.0)
    with pytest.raises(ValueError, match="batch"):
        fl.train(task, "sgd", steps=2, batch=0)
    with pytest.raises(ValueError, match="method"):
        fl.train(task, "lbfgs", steps=2)
    with pytest.raises(ValueError, match="steps"):
        fl.train(task, "sgd", steps=0)
    with pytest.raises(ValueError, match="batch must be ≥ d_x"):
        fl.train(task, "kfac", steps=2, batch=3)
    r = fl.train(task, "kfac", steps=2, batch=3, ridge=0.1, runs=2)
    assert r.info["diverged_runs"] == 0


def test_task_geometry():
    task = fl.LinearRepresentation(40, 3, 4, 100.0, 0.1, seed=1)
    np.testing.assert_allclose(task.G_star @ task.G_star.T, np.eye(3), atol=1e-12)
    w = np.linalg.eigvalsh(task.Sigma)
    assert w[-1] / w[0] == pytest.approx(100.0, rel=1e-9)
    assert task.subspace_distance(task.G_star[None])[0] < 1e-7
    assert task.transfer_loss(task.G_star) < 1e-20


def test_sample_moments():
    task = fl.LinearRepresentation(6, 2, 3, 10.0, 0.5, data="rademacher", seed=0)
    X, Y = task.sample(np.random.default_rng(0), 200_000)
    np.testing.assert_allclose(X.T @ X / len(X), task.Sigma, atol=6 * 1.5 / np.sqrt(len(X)))
    E = Y - X @ (task.F_star @ task.G_star).T
    assert E.std() == pytest.approx(0.5, rel=0.01)


def test_runs_depend_only_on_their_seed_child():
    task = fl.LinearRepresentation(20, 2, 3, 10.0, 0.1, seed=0)
    a = fl.train(task, "kfac", steps=5, batch=64, lr=0.5, seed=7, runs=2)
    b = fl.train(task, "kfac", steps=5, batch=64, lr=0.5, seed=7, runs=4)
    np.testing.assert_array_equal(a.subspace_distance.runs, b.subspace_distance.runs[:2])
    assert a.subspace_distance.mean.shape == (6,)
    np.testing.assert_allclose(a.subspace_distance.stderr,
                               a.subspace_distance.runs.std(axis=0, ddof=1) / np.sqrt(2))


def test_ngd_gauss_newton_blocks_match_the_explicit_jacobian():
    # the Kronecker block formulas of ngd_step vs the Gauss–Newton system built from an explicit Jacobian
    rng = np.random.default_rng(3)
    n, d, k, dy = 40, 6, 2, 3
    X = rng.standard_normal((1, n, d)); Y = rng.standard_normal((1, n, dy))
    F = rng.standard_normal((1, dy, k)); G = rng.standard_normal((1, k, d))
    rows, res = [], []
    for i in range(n):
        x = X[0, i]; z = G[0] @ x
        for a in range(dy):
            jF = np.zeros((dy, k)); jF[a] = z
            jG = np.outer(F[0, a], x)
            rows.append(np.concatenate([jF.ravel(), jG.ravel()]))
            res.append(F[0, a] @ z - Y[0, i, a])
    J = np.array(rows); e = np.array(res)
    H = J.T @ J / n
    g = J.T @ e / n
    lr, damp = 0.7, 1e-2
    H += damp * np.trace(H) / H.shape[0] * np.eye(H.shape[0])
    step = np.linalg.solve(H, g)
    F1, G1 = ngd_step(F, G, X, Y, lr, damp)
    np.testing.assert_allclose(F1[0], F[0] - lr * step[:dy * k].reshape(dy, k), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(G1[0], G[0] - lr * step[dy * k:].reshape(k, d), rtol=1e-9, atol=1e-12)


def test_kfac_beats_sgd_under_anisotropy():
    # claim C9 (qualitative): at κ = 100 the KFAC-like method reaches a much smaller subspace distance
    task = fl.LinearRepresentation(30, 2, 4, 100.0, 0.1, seed=0)
    runs = 6
    res = fl.compare_methods(task, ["sgd", "kfac"], steps=60, batch=128, lr=0.5, seed=1, runs=runs)
    s, kf = res["sgd"].subspace_distance, res["kfac"].subspace_distance
    gap = s.mean[-1] - kf.mean[-1]
    assert gap > family_z(1, runs) * np.hypot(s.stderr[-1], kf.stderr[-1])
    assert res["kfac"].info["diverged_runs"] == 0
