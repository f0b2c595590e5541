"""Exact population iteration and noiseless finite batches (docs/feature_learning.md §3; notes claim C8)."""
import numpy as np
import pytest

from hdlimits import feature_learning as fl
from hdlimits.feature_learning.methods import g_step, refit


def _task(kappa, d_x=30, k=3, d_y=3, noise=0.0):
    task = fl.LinearRepresentation(d_x, k, d_y, kappa, noise, seed=0)
    task.F_star = np.eye(d_y, k)        # C8: F* = I (a random F* adds the conditioning of F*ᵀF*)
    return task


@pytest.mark.parametrize("kappa", [10.0, 100.0, 1000.0])
def test_kfac_population_step_contracts_by_one_minus_lr(kappa):
    # (I − G*ᵀG*) G_+ᵀ = (1 − η)(I − G*ᵀG*) Gᵀ exactly, for every κ (C8)
    task = _task(kappa)
    rng = np.random.default_rng(5)
    G = task.G_star + 0.3 * rng.standard_normal(task.G_star.shape) / np.sqrt(task.d_x)
    P = np.eye(task.d_x) - task.G_star.T @ task.G_star
    S = task.Sigma[None]
    C = (task.F_star @ task.G_star @ task.Sigma)[None]
    for eta in (0.5, 0.25):
        F = refit(G[None], S, C)
        Gp = g_step("kfac", F, G[None], S, C, eta)[0]
        np.testing.assert_allclose(P @ Gp.T, (1 - eta) * P @ G.T, atol=1e-9 * kappa)
    dist, _ = fl.population_iteration(task, "kfac", steps=12, lr=0.5)
    ratios = dist[1:] / dist[:-1]
    # the distance is a sine (not linear in G): the ratio tends to 1 − η as G → rowspace(G*)
    assert np.all(np.abs(ratios[4:] - 0.5) < 0.01), ratios


@pytest.mark.parametrize("kappa", [10.0, 100.0])
def test_gradient_population_rate_is_about_one_minus_one_over_kappa(kappa):
    task = _task(kappa)
    dist, _ = fl.population_iteration(task, "sgd", steps=60, lr=1.0)
    ratio = dist[-1] / dist[-2]
    assert 1 - 2 / kappa < ratio < 1 - 0.5 / kappa, ratio


def test_gradient_population_is_slow_at_kappa_1000():
    task = _task(1000.0)
    dist, _ = fl.population_iteration(task, "sgd", steps=60, lr=1.0)
    assert dist[-1] / dist[-2] > 0.99
    kf, _ = fl.population_iteration(task, "kfac", steps=60, lr=0.5)
    assert kf[-1] < 1e-12 and dist[-1] > 0.1 * dist[0]


def test_kfac_noiseless_batch_recovers_subspace_in_one_step():
    # n ≥ d_x noiseless samples, η = 1: G_+ = (FᵀF)⁻¹FᵀF*G*, exactly the row space of G* (C8 b)
    task = fl.LinearRepresentation(50, 3, 5, 1000.0, 0.0, data="rademacher", seed=2)
    r = fl.train(task, "kfac", steps=1, batch=400, lr=1.0, seed=0, runs=3)
    assert np.all(r.subspace_distance.runs[:, 0] > 0.5)
    assert np.all(r.subspace_distance.runs[:, 1] < 1e-8)


def test_population_iteration_rejects_ngd():
    with pytest.raises(ValueError, match="method"):
        fl.population_iteration(_task(10.0), "ngd")
