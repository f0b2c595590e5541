"""Learning-rate thresholds of GLMs (hdlimits.models.glm.diagnostics, docs/glm.md §6): the measured edge
of the limit against the exact least-squares edge, and the curvature heuristic shown wrong for phase
retrieval."""
import warnings

import numpy as np
import pytest

import hdlimits as hd
from paper_checks.glm import _phase_retrieval_problem


def _ls_problem(d=200):
    rng = np.random.default_rng(0)
    lam = np.linspace(0.2, 2.0, d)
    xs = rng.standard_normal(d) / np.sqrt(d)
    return hd.Problem.from_spectrum(lam, teacher=xs, initial=np.zeros(d), model=hd.models.least_squares(),
                                    noise=hd.noise.gaussian(0.3))


def test_least_squares_measured_edge_matches_the_exact_edge():
    prob = _ls_problem()
    res = hd.glm_critical_lr(prob, hd.SGD(lr=1.0), t_max=40.0, rel_tol=2e-3)
    exact = res.least_squares
    # the exact edge of the finite-d mode system (the block system keeps its γλ/d terms)
    assert exact == pytest.approx(hd.critical_lr(hd.Problem.from_spectrum(prob.eigenvalues, -prob.teacher[:, 0],
                                                                         prob.noise), hd.SGD(lr=1.0)))
    # near the edge growth is slow, so a finite horizon puts the measured edge slightly above it
    assert exact <= res.bracket[1] and res.measured < 1.05 * exact
    assert res.heuristic == pytest.approx(2 * prob.d / prob.trace)
    assert "heuristic" in str(res)


def test_phase_retrieval_heuristic_is_far_from_the_measured_edge():
    prob = _phase_retrieval_problem(300)
    np.testing.assert_allclose(prob.initial_overlaps[0, 0], 0.89, rtol=1e-10)
    res = hd.glm_critical_lr(prob, hd.SGD(lr=0.1), t_max=10.0, rel_tol=1e-2)
    assert 0.14 < res.measured < 0.22
    assert res.heuristic > 2 * res.measured
    # the edge is real: below it the limit stays bounded, above it it blows up
    t = np.linspace(0, 10, 11)
    assert hd.predict_risk(prob, hd.SGD(lr=0.8 * res.bracket[0]), t).status == "ok"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        above = hd.predict_risk(prob, hd.SGD(lr=1.3 * res.bracket[1]), t)
    # either a diverged status, or (growth inside the horizon) the growth warning
    assert above.status == "diverged" or any(issubclass(w.category, hd.core.status.UnstableWarning)
                                             for w in caught)


def test_bad_arguments():
    prob = _ls_problem(20)
    with pytest.raises(ValueError, match="t_max"):
        hd.glm_critical_lr(prob, hd.SGD(lr=1.0), t_max=0.0)
    with pytest.raises(ValueError, match="growth"):
        hd.glm_critical_lr(prob, hd.SGD(lr=1.0), growth=1.0)
