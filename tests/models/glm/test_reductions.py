"""GLM problems and their reduction to the block system: the change of variables of the input
preconditioner, mode merging, output factors, and bad input (docs/glm.md §1, §3, §4)."""
import numpy as np
import pytest

import hdlimits as hd
from hdlimits.models.glm.problem import GLMProblem
from hdlimits.models.glm.reductions import drift_coordinates, merge_modes
from hdlimits.reductions import reduce


def _haar(d, rng):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diagonal(r))


def _problem(d=30, dense=True, seed=0, model=None, m=1, ms=1):
    rng = np.random.default_rng(seed)
    lam = np.linspace(0.2, 2.0, d)
    U = _haar(d, rng) if dense else None
    Xs = rng.standard_normal((d, ms)) / np.sqrt(d)
    X0 = 0.5 * rng.standard_normal((d, m)) / np.sqrt(d)
    return hd.Problem.from_spectrum(lam, teacher=Xs if ms > 1 else Xs[:, 0], initial=X0 if m > 1 else X0[:, 0],
                                    model=model or hd.models.relu(), noise=hd.noise.gaussian(0.1), basis=U)


def _direct_blocks(prob, P):
    """Σ_i λ̃_i V_i and Σ_i V_i computed from K̃ = P^½KP^½ and W̃ = P^-½W by a dense eigendecomposition."""
    w, Q = np.linalg.eigh(P)
    Ph = (Q * np.sqrt(w)) @ Q.T
    Kt = Ph @ prob.covariance @ Ph
    Wt = np.linalg.solve(Ph, prob.weights())
    return Wt.T @ Kt @ Wt, Wt.T @ Wt


@pytest.mark.parametrize("name", [None, "diag", "sqrt", "whiten", "vector", "matrix"])
@pytest.mark.parametrize("dense", [False, True])
def test_drift_coordinates_match_a_direct_eigendecomposition(name, dense):
    prob = _problem(dense=dense)
    rng = np.random.default_rng(3)
    d = prob.d
    K = prob.covariance
    if name is None:
        opt, P = hd.SGD(lr=1.0), np.eye(d)
    elif name == "vector":
        p = rng.uniform(0.5, 2.0, d)
        opt, P = hd.PreconditionedSGD(1.0, p), np.diag(p)
    elif name == "matrix":
        A = rng.standard_normal((d, d))
        P = A @ A.T / d + np.eye(d)
        opt = hd.PreconditionedSGD(1.0, P)
    else:
        opt = hd.PreconditionedSGD(1.0, name)
        w, U = np.linalg.eigh(K)
        P = {"diag": np.diag(1 / np.diagonal(K)), "sqrt": (U / np.sqrt(w)) @ U.T,
             "whiten": (U / w) @ U.T}[name]
    lam, C = drift_coordinates(prob, opt)
    B_direct, G_direct = _direct_blocks(prob, P)
    np.testing.assert_allclose(C.T @ (lam[:, None] * C), B_direct, atol=1e-10)
    np.testing.assert_allclose(C.T @ C, G_direct, atol=1e-10)
    # B is the same whatever the preconditioner: WᵀKW = W̃ᵀK̃W̃
    np.testing.assert_allclose(B_direct, prob.initial_overlaps, atol=1e-10)


def test_merge_modes_keeps_overlaps_and_counts_multiplicities():
    rng = np.random.default_rng(1)
    lam = np.array([1.0, 2.0, 1.0, 3.0, 2.0, 1.0])
    C = rng.standard_normal((6, 3))
    lm, mass, V0 = merge_modes(lam, C)
    np.testing.assert_array_equal(lm, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(mass, [3.0, 2.0, 1.0])
    np.testing.assert_allclose(np.einsum("i,i,iab->ab", mass, lm, V0), C.T @ (lam[:, None] * C))
    np.testing.assert_allclose(V0[2], np.outer(C[3], C[3]))


def test_whitening_leaves_one_mode_whatever_d():
    prob = _problem(d=40, dense=True)
    system = reduce(prob, hd.PreconditionedSGD(1.0, "whiten"), 1.0)
    assert system.n_modes == 1 and system.mass[0] == 40
    np.testing.assert_allclose(system.B0, prob.initial_overlaps, atol=1e-12)


def test_output_factor_checked_against_the_student_width():
    prob = _problem(model=hd.models.least_squares())
    with pytest.raises(ValueError, match="output"):
        reduce(prob, hd.PreconditionedSGD(1.0, None, output=np.eye(2)), 1.0)
    with pytest.raises(ValueError, match="output"):
        hd.PreconditionedSGD(1.0, None, output=np.array([[1.0, 2.0], [2.0, 1.0]]))   # not SPD
    with pytest.raises(ValueError, match="output"):
        reduce(prob, hd.PreconditionedSGD(1.0, None, output=lambda B: np.eye(3)), 1.0)


def test_output_factor_is_refused_on_least_squares():
    ls = hd.Problem.from_spectrum(np.ones(5), np.ones(5))
    with pytest.raises(hd.LimitNotAvailable, match="output"):
        hd.predict_risk(ls, hd.PreconditionedSGD(1.0, None, output=np.eye(1)), [0.0, 1.0])


def test_from_spectrum_dispatch_and_bad_shapes():
    d = 6
    prob = hd.Problem.from_spectrum(np.ones(d), teacher=np.ones(d), model=hd.models.logistic())
    assert isinstance(prob, GLMProblem) and prob.m == 1 and np.all(prob.initial == 0)
    with pytest.raises(ValueError, match="teacher"):
        hd.Problem.from_spectrum(np.ones(d), teacher=np.ones(d + 1), model=hd.models.relu())
    with pytest.raises(ValueError, match="initial"):
        hd.Problem.from_spectrum(np.ones(d), teacher=np.ones(d), initial=np.ones((d, 2)),
                                 model=hd.models.relu())
    with pytest.raises(ValueError, match="teacher is required"):
        hd.Problem.from_spectrum(np.ones(d), initial=np.ones(d), model=hd.models.relu())
    with pytest.raises(ValueError, match="not both"):
        hd.Problem.from_spectrum(np.ones(d), np.ones(d), teacher=np.ones(d))
    with pytest.raises(ValueError, match="model"):
        hd.Problem.from_spectrum(np.ones(d), teacher=np.ones(d), model="relu")
    with pytest.raises(ValueError, match="noise"):
        hd.Problem.from_spectrum(np.ones(d), teacher=np.ones(d), model=hd.models.logistic(),
                                 noise=hd.noise.gaussian(0.1))


def test_power_law_glm_problem():
    prob = hd.Problem.power_law(d=500, alpha=0.5, beta=1.0, model=hd.models.logistic(), seed=0)
    assert isinstance(prob, GLMProblem)
    B = prob.initial_overlaps
    np.testing.assert_allclose(B[1, 1], 1.0, rtol=1e-12)      # x*ᵀKx* = initial_size
    assert B[0, 0] == 0 and B[0, 1] == 0                     # the student starts at 0
    np.testing.assert_allclose(prob.trace, 500, rtol=1e-12)
    again = hd.Problem.power_law(d=500, alpha=0.5, beta=1.0, model=hd.models.logistic(), seed=0)
    np.testing.assert_array_equal(prob.teacher, again.teacher)
