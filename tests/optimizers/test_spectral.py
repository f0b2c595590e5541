"""SpectralSGD: the optimizer object, and its simulator runs exactly X ← X − (γ/d)·√d·UVᵀ (docs/norms.md §4)."""
import numpy as np
import pytest
import scipy.linalg
import sympy as sp

import hdlimits as hd
from hdlimits.models.glm.spectral_sim import polar_factor


def _model(m=2):
    return hd.models.multi_index(student=lambda r: sp.Matrix(r), teacher=lambda s: sp.Matrix(s),
                                 loss="square", m=m, m_star=m)


def _problem(d=40, m=2, noise=0.2, seed=0, basis=None):
    rng = np.random.default_rng(seed)
    lam = np.linspace(0.2, 2.0, d)
    Xs = rng.standard_normal((d, m)) / np.sqrt(d)
    X0 = 0.5 * rng.standard_normal((d, m)) / np.sqrt(d)
    return hd.GLMProblem.from_spectrum(lam, Xs, X0, model=_model(m), noise=hd.noise.gaussian(noise),
                                       basis=basis)


def test_object_and_description():
    opt = hd.SpectralSGD(0.5, batch=4)
    assert opt.batch == 4 and opt.method == "svd"
    assert "SpectralSGD(lr=0.5, batch=4)" == opt.describe()
    assert "newton-schulz" in hd.SpectralSGD(0.5, method="newton-schulz", ns_steps=20).describe()
    with pytest.raises(Exception):
        opt.lr = 1.0                                     # frozen


@pytest.mark.parametrize("kwargs, word", [({"lr": -1.0}, "lr"), ({"lr": 0.5, "batch": 0}, "batch"),
                                          ({"lr": 0.5, "method": "qr"}, "method"),
                                          ({"lr": 0.5, "ns_steps": 0}, "ns_steps")])
def test_bad_input(kwargs, word):
    with pytest.raises(ValueError, match=word):
        hd.SpectralSGD(**kwargs)


def test_polar_factor_matches_scipy_and_handles_rank_deficiency():
    G = np.random.default_rng(1).standard_normal((30, 3))
    assert np.abs(polar_factor(G) - scipy.linalg.polar(G)[0]).max() < 1e-12
    a, b = np.arange(1.0, 31.0), np.array([1.0, -2.0, 0.5])
    R = polar_factor(np.outer(a, b))                                   # rank 1 (batch 1, m = 3)
    assert np.abs(R - np.outer(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))).max() < 1e-12
    assert np.all(polar_factor(np.zeros((5, 2))) == 0)


def _reference_run(prob, gamma, Bs, steps, entropy, run, rademacher=False):
    """The update written out with numpy's SVD, on the random streams the simulator documents (a run's
    child of SeedSequence(seed) spawns a data and a label generator; samples drawn a block at a time)."""
    d, m = prob.d, prob.m
    child = np.random.SeedSequence(entropy, spawn_key=(run,))
    dseq, xseq = child.spawn(2)
    rx, rxi = np.random.default_rng(dseq), np.random.default_rng(xseq)
    n_block = max(1, (1 << 20) // (d * Bs))
    assert steps <= n_block
    Z = rx.standard_normal((n_block * Bs, d))
    x = Z * np.sqrt(prob.eigenvalues)
    eps = prob.noise.sample(rxi, (n_block * Bs, m)).reshape(n_block * Bs, m)
    X = prob.initial.copy()
    for j in range(steps):
        xb, eb = x[j * Bs:(j + 1) * Bs], eps[j * Bs:(j + 1) * Bs]
        psi = xb @ X - xb @ prob.teacher - eb
        U, s, Vt = np.linalg.svd(xb.T @ psi / Bs, full_matrices=False)
        keep = s > 1e-12 * s[0]
        X = X - (gamma / d) * np.sqrt(d) * U[:, keep] @ Vt[keep]
    W = np.concatenate([X, prob.teacher], axis=1)
    return W.T @ (prob.eigenvalues[:, None] * W)


@pytest.mark.parametrize("Bs", [1, 3])
def test_simulator_runs_the_orthogonalised_update(Bs):
    prob = _problem(d=40)
    t = np.array([0.0, 0.5, 1.0])
    sim = hd.simulate(prob, hd.SpectralSGD(0.7, batch=Bs), t, runs=2, seed=5, progress=False)
    for run in range(2):
        ref = _reference_run(prob, 0.7, Bs, 40, 5, run)
        assert np.abs(sim.runs_of("overlaps")[run, -1] - ref).max() < 1e-10
    assert sim.risk[0] == pytest.approx(prob.initial_risk, rel=1e-12)


def test_newton_schulz_simulation_agrees_with_svd():
    prob = _problem(d=40)
    t = np.array([0.0, 1.0])
    a = hd.simulate(prob, hd.SpectralSGD(0.7, batch=4), t, runs=2, seed=5, progress=False)
    b = hd.simulate(prob, hd.SpectralSGD(0.7, batch=4, method="newton-schulz", ns_steps=60), t, runs=2,
                    seed=5, progress=False)
    assert np.abs(a.runs_of("overlaps") - b.runs_of("overlaps")).max() < 1e-8


def test_rotated_covariance_and_rademacher_data_run():
    d = 30
    q, _ = np.linalg.qr(np.random.default_rng(3).standard_normal((d, d)))
    prob = _problem(d=d, basis=q)
    sim = hd.simulate(prob, hd.SpectralSGD(0.5, batch=2), [0.0, 2.0], runs=2, seed=0, data="rademacher",
                      progress=False)
    assert sim.status == "ok" and sim.risk[-1] < sim.risk[0]


def test_same_seed_same_result_and_runs_independent_of_run_count():
    prob = _problem(d=40)
    t = [0.0, 1.0, 2.0]
    a = hd.simulate(prob, hd.SpectralSGD(0.5, batch=2), t, runs=3, seed=9, progress=False)
    b = hd.simulate(prob, hd.SpectralSGD(0.5, batch=2), t, runs=1, seed=9, progress=False)
    assert np.array_equal(a.runs_of("risk")[0], b.runs_of("risk")[0])


def test_divergence_is_a_status():
    prob = _problem(d=40)
    sim = hd.simulate(prob, hd.SpectralSGD(1e7, batch=1), [0.0, 1.0, 3.0], runs=2, seed=0, progress=False)
    assert sim.status == "diverged" and np.all(np.isinf(sim.risk[1:]))


def test_simulator_refuses_bad_input():
    prob = _problem(d=20)
    with pytest.raises(ValueError, match="data"):
        hd.simulate(prob, hd.SpectralSGD(0.5), [0.0, 1.0], runs=1, data="uniform")
    with pytest.raises(ValueError, match="runs"):
        hd.simulate(prob, hd.SpectralSGD(0.5), [0.0, 1.0], runs=0)
