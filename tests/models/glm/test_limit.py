"""The GLM block limit against the least-squares path and against Monte Carlo of the real algorithm
(docs/glm.md §3, §7): ReLU with and without whitening (C5 of docs/glm.md §8), the naive derivative that
must fail, the multi-output linear student with an output factor (C14), logistic regression, phase
retrieval from a macroscopic overlap (gap shrinking with d). Tolerances come from the run count through
``hd.compare``'s verdict (Bonferroni–Student-t over the compared times, family-wise level 0.01)."""
import dataclasses

import numpy as np
import pytest

import hdlimits as hd
from hdlimits.reductions import reduce
from hdlimits.solvers.blocks_solve import solve_blocks
from paper_checks.glm import _NaiveJ, _c5_problem, _c14_problem as _c14   # the paper check's builders
from paper_checks.glm import _phase_retrieval_problem


def _relu_problem(d, seed=0, whiten_dense=False):
    """C5 (docs/glm.md §8): λ uniform on [0.2, 2], x*ᵀKx* = 1, x_0 = 0.3·g/√d + 0.2·x*, noiseless ReLU."""
    return _c5_problem(d, seed, dense=whiten_dense)


# ------------------------------------------------------------------ least squares: both paths agree
@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("dense", [False, True])
def test_least_squares_glm_path_equals_the_scalar_path(batch, dense):
    d = 300
    base = hd.Problem.power_law(d=d, alpha=1.2, beta=0.6, noise=hd.noise.gaussian(0.3), seed=2,
                                rotate=dense)
    rng = np.random.default_rng(0)
    teacher = rng.standard_normal(d) / np.sqrt(d)
    if dense:
        teacher = base.basis @ teacher
    x0 = teacher + base.initial_error
    glm = hd.Problem.from_spectrum(base.eigenvalues, teacher=teacher, initial=x0,
                                   model=hd.models.least_squares(), noise=base.noise, basis=base.basis)
    lr = hd.schedules.cosine(1.4, 12.0, 0.2)
    t = np.linspace(0, 12, 25)
    scalar = hd.predict_risk(base, hd.SGD(lr=lr, batch=batch), t, rtol=1e-11)
    block = hd.predict_risk(glm, hd.SGD(lr=lr, batch=batch), t, rtol=1e-11)
    assert scalar.status == "ok" and block.status == "ok"
    np.testing.assert_allclose(block.risk, scalar.risk, rtol=1e-8)
    # γλ_max/d is not small here, so the finite-d term matters: without it the paths differ
    assert 1.4 * base.eigenvalues.max() / d > 0.02


# ------------------------------------------------------------------ ReLU teacher–student (C5)
T6 = np.arange(0.0, 7.0)


def test_relu_limit_matches_monte_carlo():
    prob = _relu_problem(1000)
    opt = hd.SGD(lr=1.0)
    theory = hd.predict_risk(prob, opt, T6)
    sim = hd.simulate(prob, opt, T6, runs=16, seed=1)
    cmp = hd.compare(theory, sim)
    assert cmp.consistent, str(cmp)
    # the documented values (docs/glm.md §8, C5 at d = 400 with another draw): same decay to ~10 %
    assert 0.08 < theory.risk[-1] / theory.risk[0] < 0.1


def test_relu_naive_derivative_is_rejected_by_monte_carlo():
    prob = _relu_problem(1000)
    opt = hd.SGD(lr=1.0)
    system = reduce(prob, opt, 6.0)
    naive = solve_blocks(dataclasses.replace(system, expectations=_NaiveJ(system.expectations)), T6,
                         problem=prob, optimizer=opt)
    sim = hd.simulate(prob, opt, T6, runs=16, seed=1)
    cmp = hd.compare(naive, sim)
    assert cmp.verdict == "inconsistent", str(cmp)


def test_relu_whitened_dense_matches_monte_carlo():
    prob = _relu_problem(400, seed=3, whiten_dense=True)
    opt = hd.PreconditionedSGD(lr=1.0, preconditioner="whiten")
    theory = hd.predict_risk(prob, opt, T6)
    sim = hd.simulate(prob, opt, T6, runs=12, seed=2)
    cmp = hd.compare(theory, sim)
    assert cmp.consistent, str(cmp)
    assert theory.info["n_modes"] == 1


# ------------------------------------------------------------------ C14: output factor, m = m* = 2
@pytest.mark.parametrize("gauss_newton", [False, True])
def test_output_factor_limit_matches_monte_carlo(gauss_newton):
    prob, Q = _c14(1000)
    opt = hd.PreconditionedSGD(lr=0.5, output=Q if gauss_newton else None)
    theory = hd.predict_risk(prob, opt, T6)
    sim = hd.simulate(prob, opt, T6, runs=12, seed=4)
    cmp = hd.compare(theory, sim)
    assert cmp.consistent, str(cmp)
    assert theory["overlaps"].shape == (T6.size, 4, 4)


def test_gauss_newton_output_factor_is_faster():
    prob, Q = _c14(1000)
    plain = hd.predict_risk(prob, hd.PreconditionedSGD(lr=0.5), T6)
    gn = hd.predict_risk(prob, hd.PreconditionedSGD(lr=0.5, output=Q), T6)
    assert np.all(gn.risk[1:] < plain.risk[1:])


# ------------------------------------------------------------------ logistic regression
def test_logistic_limit_matches_monte_carlo():
    prob = hd.Problem.power_law(d=1000, alpha=0.5, beta=1.0, model=hd.models.logistic(), seed=0,
                                initial_size=4.0)
    opt = hd.SGD(lr=1.0)
    t = np.linspace(0, 8, 9)
    theory = hd.predict_risk(prob, opt, t)
    sim = hd.simulate(prob, opt, t, runs=12, seed=5)
    cmp = hd.compare(theory, sim)
    assert cmp.consistent, str(cmp)
    assert theory.risk[-1] < theory.risk[0]


# ------------------------------------------------------------------ phase retrieval: the gap shrinks
def _phase(d, seed=0):
    """The paper check's phase-retrieval problem with gᵀKg = 0.6 (macroscopic overlap B_12 = 0.6)."""
    return _phase_retrieval_problem(d, seed=seed, spread=0.6)


def test_phase_retrieval_from_a_macroscopic_overlap_matches_monte_carlo():
    """Started with B₁₂ = 0.6 (a random start, B₁₂ = O(1/√d), needs O(log d) time to escape: outside
    this limit, docs/glm.md §7)."""
    t = np.linspace(0, 4, 9)
    opt = hd.SGD(lr=0.1)
    prob = _phase(1500)
    theory = hd.predict_risk(prob, opt, t)
    sim = hd.simulate(prob, opt, t, runs=10, seed=6)
    cmp = hd.compare(theory, sim)
    assert cmp.consistent, str(cmp)


def _time_averaged_gap(d, runs, lr=2.0):
    """Per run, the mean over t = 1..6 of (sim − limit)/limit; returns (mean over runs, its s.e.)."""
    prob = _relu_problem(d)
    opt = hd.SGD(lr=lr)
    theory = hd.predict_risk(prob, opt, T6)
    sim = hd.simulate(prob, opt, T6, runs=runs, seed=7, progress=False)
    per_run = ((sim.risk_runs[:, 1:] - theory.risk[1:]) / theory.risk[1:]).mean(axis=1)
    return float(per_run.mean()), float(per_run.std(ddof=1) / np.sqrt(runs))


def test_relu_gap_to_the_limit_shrinks_with_d():
    """At γ = 1.75 the finite-d mean at d = 25 lies measurably above the limit; at d = 400 the gap is within
    its standard error. Measured when this was written: +3.2 ± 0.6 % at d = 25 (6000 runs), +0.3 ± 0.3 % at
    d = 400 (240 runs); at γ = 1.5: +1.1 ± 0.4 % at d = 25; at γ = 1 below 1 % already at d = 25 (the limit
    keeps its γλ/d terms)."""
    g25, s25 = _time_averaged_gap(25, 6000, lr=1.75)
    g400, s400 = _time_averaged_gap(400, 240, lr=1.75)
    assert g25 > 3 * s25, (g25, s25)
    assert abs(g400) < 3 * s400 + 0.002, (g400, s400)
    assert abs(g400) < g25 / 2, (g25, g400)
