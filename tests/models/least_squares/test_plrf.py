"""Power-law random features: the exact reduction (against the paper's own recursion and a Monte Carlo of
the algorithm in R^v) and the deterministic equivalent (against explicit draws). docs/scaling.md §1–§3."""
import math

import numpy as np
import pytest

import hdlimits as hd
from hdlimits.models.least_squares import plrf
from paper_checks.scaling import _paper_recursion     # the paper's recursion in its units (docs/scaling.md §6)

V, D, A, BETA, B, G = 400, 100, 0.8, 0.6, 4, 0.3      # C12 (docs/scaling.md §6)


def test_exact_reduction_matches_the_papers_recursion():
    prob = hd.Problem.plrf(v=V, d=D, alpha=A, beta=BETA, batch=B, method="explicit", seed=0)
    setup = prob.plrf
    assert isinstance(prob, hd.Problem) and prob.trace == pytest.approx(D, rel=1e-12)
    assert setup.lr(G) == pytest.approx(G * B * setup.trace)
    steps = np.arange(0, 700, 100)
    curve = hd.predict_risk(prob, setup.sgd(G), setup.time(steps), method="recursion")
    K, theta, pstar, p0 = plrf.explicit_matrices(V, D, A, BETA, seed=0)
    ref = _paper_recursion(K, theta, pstar, G, B, steps)
    np.testing.assert_allclose(setup.paper_loss(curve.risk), ref, rtol=1e-9)
    assert ref[0] == pytest.approx(p0, rel=1e-12) == pytest.approx(np.sum(np.arange(1, V + 1.) ** -2.8))


def test_reduction_against_monte_carlo_of_the_algorithm():
    # batch 2 and γ = 0.15 (γBλ_max ≈ 0.3): at C12's γBλ_max = 0.89 the per-step factor of the top mode
    # exceeds 1 with sizeable probability and the loss is so heavy-tailed that 48 runs cannot test a mean
    # (docs/scaling.md §6); the recursion is exact in expectation either way
    batch, gamma = 2, 0.15
    prob = hd.Problem.plrf(v=V, d=D, alpha=A, beta=BETA, batch=batch, method="explicit", seed=0)
    steps = np.array([0, 50, 200, 600])
    theory = prob.plrf.paper_loss(hd.predict_risk(prob, prob.plrf.sgd(gamma), prob.plrf.time(steps),
                                                  method="recursion").risk)
    mean, se = plrf.simulate_plrf(V, D, A, BETA, gamma, batch, steps, runs=48, seed=3, w_seed=0)
    assert mean[0] == pytest.approx(theory[0], rel=1e-12)
    z = np.abs(mean[1:] - theory[1:]) / se[1:]
    assert np.all(z < 4.5), (mean, theory, se)


def test_deterministic_equivalent_stieltjes_and_p_star_against_draws():
    draws = [plrf.explicit_matrices(1600, 400, A, BETA, seed=s) for s in range(3)]
    for z in (-0.01, -0.001, 0.05 + 0.02j):
        emp = np.mean([np.mean(1 / (np.linalg.eigvalsh(K) - z)) for K, *_ in draws])
        assert plrf.stieltjes(np.array([z]), 1600, 400, A)[0] == pytest.approx(emp, rel=0.01)
    emp_p = np.mean([p for *_, p, _ in draws])
    assert plrf.p_star(1600, 400, A, BETA) == pytest.approx(emp_p, rel=0.15)
    with pytest.raises(ValueError, match="v must exceed d"):
        plrf.p_star(100, 100, A, BETA)


def test_deterministic_problem_risk_against_explicit_draws():
    v_dim, d = 1600, 400
    det = hd.Problem.plrf(v=v_dim, d=d, alpha=A, beta=BETA, batch=B, method="deterministic")
    assert isinstance(det, hd.SpectralProblem)
    # γ = 0.1 (γBλ_max ≈ 0.4): far from the stability edge, where the Cauchy-smoothed top edge of the
    # deterministic spectrum (≈ 10 % above λ_max at d = 400) would dominate (docs/scaling.md §3)
    gamma = 0.1
    steps = np.array([0, 10, 100, 1000, 5000])
    risks = []
    for s in range(4):
        ex = hd.Problem.plrf(v=v_dim, d=d, alpha=A, beta=BETA, batch=B, method="explicit", seed=s)
        risks.append(ex.plrf.paper_loss(hd.predict_risk(ex, ex.plrf.sgd(gamma), ex.plrf.time(steps)).risk))
    got = det.plrf.paper_loss(hd.predict_risk(det, det.plrf.sgd(gamma), det.plrf.time(steps)).risk)
    mean, spread = np.mean(risks, axis=0), np.std(risks, axis=0, ddof=1)
    print(got, mean, spread)
    # within the draw-to-draw spread of the finite-d problem (4 draws) plus 3 %
    assert np.all(np.abs(got - mean) <= 3 * spread / 2 + 0.03 * mean)


def test_validation():
    with pytest.raises(ValueError, match="v must exceed d"):
        hd.Problem.plrf(v=10, d=10, alpha=A, beta=BETA)
    with pytest.raises(ValueError, match="method must be"):
        hd.Problem.plrf(v=40, d=10, alpha=A, beta=BETA, method="exact")


def test_deterministic_equivalent_carries_the_exact_sum_rules_at_large_d():
    # v = 4·10⁴, d = 10⁴: θ*ᵀKθ* = 𝒫(0) − 𝒫* (exact sums over j) must be carried to 1e-3 *before* the bulk
    # is normalised (the atoms carry all but 4e-4 of it); mass d; tr K = Σ_j D_j (rescaled: d) to 1e-3
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prob = hd.Problem.plrf(v=40_000, d=10_000, alpha=A, beta=BETA, method="deterministic")
    s = prob.plrf
    j = np.arange(1, 40_001, dtype=np.float64)
    assert s.p0 == pytest.approx(np.sum(j ** (-2 * A - 2 * BETA)), rel=1e-12)
    assert prob.info["target_mass_error"] < 1e-3
    assert abs(prob.info["bulk_mass_factor"] - 1) < 1e-3
    assert prob.info["atoms"] >= 20 and prob.info["atom_mass_error"] < 1e-9
    assert np.sum(prob.mass) == pytest.approx(10_000, rel=1e-12)
    assert np.sum(prob.mass * prob.lam * prob.D0) == pytest.approx(s.p0 - s.p_star, rel=1e-12)
    assert np.sum(prob.mass * prob.lam) == pytest.approx(10_000, rel=1e-3)
    # the top atoms sit at the eigenvalues of perturbation theory, λ_j ≈ D_j(1 + (1/d)Σ_{k≠j} D_k/(D_j − D_k))
    top = np.sort(prob.lam)[::-1][:3] / (10_000 / s.trace)
    Dj = j ** (-2 * A)
    for k in range(3):
        pert = Dj[k] * (1 + np.sum(np.delete(Dj, k) / (Dj[k] - np.delete(Dj, k))) / 10_000)
        assert top[k] == pytest.approx(pert, rel=2e-4)


def test_top_atoms_against_explicit_draws():
    # mean of the top eigenvalues and of their forcing λ_k⟨u_k, θ*⟩² over 8 draws (v = 1600, d = 400) against
    # the atoms; tolerance 4 standard errors of the draw mean
    det = hd.Problem.plrf(v=1600, d=400, alpha=A, beta=BETA, method="deterministic")
    c = 400 / det.plrf.trace
    order = np.argsort(det.lam)[::-1][:4]
    lam_det, F_det = det.lam[order] / c, (det.mass * det.lam * det.D0)[order]
    lams, Fs = [], []
    for s in range(8):
        K, theta, *_ = plrf.explicit_matrices(1600, 400, A, BETA, seed=s)
        lam, U = np.linalg.eigh(K)
        F = lam * (U.T @ theta) ** 2
        lams.append(lam[::-1][:4])
        Fs.append(F[::-1][:4])
    for got, draws in ((lam_det, np.array(lams)), (F_det, np.array(Fs))):
        mean, se = draws.mean(axis=0), draws.std(axis=0, ddof=1) / math.sqrt(8)
        assert np.all(np.abs(got - mean) <= 4 * se + 1e-12), (got, mean, se)


@pytest.mark.slow
def test_deterministic_risk_approaches_the_mean_of_draws_as_d_grows():
    # SGD at γ_p = 0.1, B = 4 (γ_pBλ_max ≈ 0.4, well inside the edge), v = 4d, t ∈ [0.05, 20]: per draw s the
    # time-averaged relative gap g_s = mean_t (𝒫_det − 𝒫_s)/𝒫_det, its mean over 8 draws and the standard error
    # from their spread; the gap must shrink from d = 100 to d = 800 and be within 4 standard errors at d = 800
    # (numbers in docs/scaling.md §3; ≈ 2 min)
    t = np.geomspace(0.05, 20, 12)
    gamma, draws = 0.1, 8
    gaps = {}
    for d in (100, 200, 400, 800):
        det = hd.Problem.plrf(v=4 * d, d=d, alpha=A, beta=BETA, batch=B, method="deterministic")
        got = det.plrf.paper_loss(hd.predict_risk(det, det.plrf.sgd(gamma), t).risk)
        g = []
        for s in range(draws):
            ex = hd.Problem.plrf(v=4 * d, d=d, alpha=A, beta=BETA, batch=B, method="explicit", seed=s)
            g.append(np.mean(1 - ex.plrf.paper_loss(hd.predict_risk(ex, ex.plrf.sgd(gamma), t).risk) / got))
        gaps[d] = (float(np.mean(g)), float(np.std(g, ddof=1) / math.sqrt(draws)))
    print(gaps)
    (g_small, _), (g_large, se_large) = gaps[100], gaps[800]
    assert se_large < 0.02                          # the draws resolve a gap of a few per cent
    assert abs(g_large) <= 4 * se_large, gaps
    assert abs(g_large) < abs(g_small), gaps


def test_bad_inputs_name_the_parameter():
    """smoothing and rtol were unchecked (NaN: ZeroDivisionError, rtol = -1 accepted); the public
    functions of plrf_equivalent failed with ZeroDivisionError or numpy messages."""
    from hdlimits.models.least_squares import plrf_equivalent as pe
    for kw, name in [({"smoothing": float("nan")}, "smoothing"), ({"smoothing": -1.0}, "smoothing"),
                     ({"rtol": -1.0}, "rtol"), ({"rtol": "x"}, "rtol")]:
        with pytest.raises(ValueError, match=name):
            hd.Problem.plrf(v=40, d=10, alpha=A, beta=BETA, method="deterministic", **kw)
    with pytest.raises(ValueError, match="exact"):
        pe.index_rule(10, -1)
    with pytest.raises(ValueError, match="v_dim"):
        pe.index_rule(float("nan"), 5)
    x, w = pe.index_rule(40, 20)
    for args, name in [((0, 1.0, x, w, 5), "d"), ((10, float("nan"), x, w, 5), "alpha"),
                       ((10, 1.0, x, w[:3], 5), "w"), ((10, 1.0, x, w, 0), "jmax")]:
        with pytest.raises(ValueError, match=name):
            pe.isolated_count(*args)
    for args, name in [((10, 1.0, float("nan"), x, w, 2), "beta"), ((10, -1.0, 0.5, x, w, 2), "alpha"),
                       ((10, 1.0, 0.5, x, w, -1), "J"), ((10, 1.0, 0.5, x, w, 2, 0), "n_contour")]:
        with pytest.raises(ValueError, match=name):
            pe.atoms(*args)
    for args, name in [((40, 10, 1.0, 0.5, -1.0), "target"), ((40, 10, 1.0, 0.5, float("nan")), "target"),
                       ((10, 40, 1.0, 0.5, 0.1), "v_dim must exceed d"),
                       ((40, 10, 1.0, 0.5, 0.1, 1e-2, 1e-8, 0.0), "panel")]:
        with pytest.raises(ValueError, match=name):
            pe.equivalent_nodes(*args)
