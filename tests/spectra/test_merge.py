"""Merging close eigenvalues (hdlimits.spectra.merge, docs/spectra.md §4): the Gauss rules against direct
sums, the merged system against the explicit one on time points the merge never looked at."""
import numpy as np
import pytest

import hdlimits as hd
from hdlimits.reductions import reduce
from hdlimits.spectra import merge
from hdlimits.spectra.merge import measure_gauss, merge_system


@pytest.mark.parametrize("q", [1, 2, 3, 5])
def test_gauss_rule_integrates_polynomials_of_degree_2q_minus_1(q):
    rng = np.random.default_rng(q)
    x = np.sort(rng.uniform(2.0, 3.0, 400))
    mu = rng.exponential(1.0, 400)
    mu[::7] = 0.0                                     # zero-mass points are ignored
    nodes, w = measure_gauss(x, mu, q)
    assert nodes.size == q and np.all(w > 0)
    assert np.all((nodes >= x[mu > 0].min()) & (nodes <= x[mu > 0].max()))
    y = (x - 2.5) / 0.5                               # monomials on [-1, 1]: well-conditioned sums
    z = (nodes - 2.5) / 0.5
    for p in range(2 * q):
        assert w @ z ** p == pytest.approx(mu @ y ** p, rel=1e-12, abs=1e-12 * mu.sum())
    # degree 2q is not integrated exactly (the rule has q nodes)
    assert abs(w @ z ** (2 * q) - mu @ y ** (2 * q)) > 1e-6 * mu.sum()


def test_gauss_rule_small_and_degenerate_measures():
    x, w = measure_gauss([5.0, 4.0, 3.0], [1.0, 0.0, 2.0], 3)        # ≤ q points: the points themselves
    np.testing.assert_array_equal(x, [5.0, 3.0])
    np.testing.assert_array_equal(w, [1.0, 2.0])
    x, w = measure_gauss(np.full(10, 2.0), np.ones(10), 3)             # one distinct point
    np.testing.assert_array_equal(x, [2.0])
    assert w[0] == pytest.approx(10.0, rel=1e-15)
    x, w = measure_gauss([1.0, 2.0], [0.0, 0.0], 2)
    assert x.size == 0 and w.size == 0
    with pytest.raises(ValueError, match="q must be"):
        measure_gauss([1.0], [1.0], 0)


@pytest.fixture(scope="module")
def system():
    prob = hd.Problem.power_law(d=4000, alpha=0.8, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)
    return reduce(prob, hd.SGD(1.0), t_max=50.0)


def _family(kappa, mu, tau, rate):
    return np.exp(-np.outer(tau, rate(kappa))) @ mu


@pytest.mark.parametrize("merge_rtol", [1e-4, 1e-7])
def test_merged_sums_on_times_the_merge_did_not_test(system, merge_rtol):
    """μ₁ and μ₂ integrals of exp(−τ r(κ)) at 200 random τ in [0, t_max] (not the merge's log grid)
    agree to merge_rtol/2 relative (the merge measures ≤ merge_rtol/4 on its 29-point log grid; between
    grid points the error may exceed that slightly — the risk guarantee ≤ merge_rtol keeps the factor 4),
    and of κ-moments exp(−sκ)·κ (outside its family) to 10·merge_rtol."""
    out, info = merge_system(system, merge_rtol, 50.0)
    assert info["merged_modes"] < system.n_modes / 5
    assert info["test_error"] <= merge_rtol / 4
    d, h = system.d, system.curvature
    rate = lambda k: 2 * k - h * k * k / d                      # γ = 1, a = 1 (SGD)
    tau = np.sort(np.random.default_rng(1).uniform(0, 50.0, 200))
    for D0, D0m in ((system.D0, out.D0), (system.weights, out.weights)):
        exact = _family(system.kappa, system.mass * system.kappa * D0, tau, rate)
        got = _family(out.kappa, out.mass * out.kappa * D0m, tau, rate)
        assert np.max(np.abs(got / exact - 1)) <= merge_rtol / 2
        s = np.geomspace(1e-3, 100.0, 30)
        exact = np.exp(-np.outer(s, system.kappa)) @ (system.mass * system.kappa ** 2 * D0)
        got = np.exp(-np.outer(s, out.kappa)) @ (out.mass * out.kappa ** 2 * D0m)
        assert np.max(np.abs(got / exact - 1)) <= 10 * merge_rtol


def test_merged_risk_within_merge_rtol(system):
    t = np.linspace(0, 50.0, 26)
    out, _ = merge_system(system, 1e-6, 50.0)
    from hdlimits.solvers.solve import solve_modes
    ref = solve_modes(system, t, rtol=1e-11)
    got = solve_modes(out, t, rtol=1e-11)
    assert np.max(np.abs(got.risk / ref.risk - 1)) <= 1e-6


def test_large_spectra_path_gives_the_same_merge(system, monkeypatch):
    """Above _STORE_LIMIT the test family is evaluated per bin instead of stored: same bins, same modes."""
    a, ia = merge_system(system, 1e-6, 50.0)
    monkeypatch.setattr(merge, "_STORE_LIMIT", 0)
    b, ib = merge_system(system, 1e-6, 50.0)
    assert ia["bins"] == ib["bins"] and a.n_modes == b.n_modes
    np.testing.assert_allclose(b.kappa, a.kappa, rtol=1e-12)
    np.testing.assert_allclose(b.D0, a.D0, rtol=1e-10, atol=1e-300)
    assert ib["test_error"] == pytest.approx(ia["test_error"], rel=1e-6)


def test_unsorted_eigenvalues_are_merged_alike(system):
    perm = np.random.default_rng(0).permutation(system.n_modes)
    import dataclasses
    shuffled = dataclasses.replace(system, kappa=system.kappa[perm], D0=system.D0[perm],
                                   weights=system.weights[perm], mass=system.mass[perm])
    a, _ = merge_system(system, 1e-6, 50.0)
    b, _ = merge_system(shuffled, 1e-6, 50.0)
    np.testing.assert_allclose(b.kappa, a.kappa, rtol=1e-12)


def test_all_zero_eigenvalues_are_left_alone(system):
    import dataclasses
    zero = dataclasses.replace(system, kappa=np.zeros(5), D0=np.ones(5), weights=np.zeros(5), mass=None)
    out, info = merge_system(zero, 1e-6, 10.0)
    assert out is zero and info["bins"] == 0


def test_one_initial_bin_is_refined_to_the_same_guarantee(system):
    """ratio = 1e9: a single starting bin, so every bin comes from halving (and the bin arrays grow)."""
    out, info = merge_system(system, 1e-9, 50.0, ratio=1e9)
    assert info["bins"] > 66 and info["test_error"] <= 1e-9 / 4
    d, h = system.d, system.curvature
    rate = lambda k: 2 * k - h * k * k / d
    tau = np.sort(np.random.default_rng(2).uniform(0, 50.0, 100))
    for D0, D0m in ((system.D0, out.D0), (system.weights, out.weights)):
        exact = _family(system.kappa, system.mass * system.kappa * D0, tau, rate)
        got = _family(out.kappa, out.mass * out.kappa * D0m, tau, rate)
        assert np.max(np.abs(got / exact - 1)) <= 1e-9 / 2      # as in the test above


def test_bad_merge_arguments_name_the_parameter():
    """Before: merge_rtol = NaN, t_max < 0 and ratio < 1 were accepted, q = 0 divided by zero, q = 2.5
    became 2, a NaN point or a negative mass went into the Gauss rule."""
    system = reduce(hd.Problem.power_law(d=50, alpha=1.0, beta=1.0), hd.SGD(lr=0.5), t_max=10.0)
    for kw, name in [({"merge_rtol": float("nan")}, "merge_rtol"), ({"merge_rtol": -1.0}, "merge_rtol"),
                     ({"t_max": -1.0}, "t_max"), ({"t_max": float("nan")}, "t_max"), ({"q": 0}, "q"),
                     ({"q": 2.5}, "q"), ({"ratio": 0.5}, "ratio"), ({"ratio": float("nan")}, "ratio")]:
        args = {"merge_rtol": 1e-6, "t_max": 10.0, **kw}
        with pytest.raises(ValueError, match=name):
            merge_system(system, **args)
    for x, mu, q, name in [([1.0, np.nan], [1.0, 1.0], 2, "finite"), ([1.0, 2.0], [1.0, -1.0], 2, "mu"),
                           ([1.0, 2.0], [1.0, 1.0], 1.5, "q")]:
        with pytest.raises(ValueError, match=name):
            measure_gauss(np.array(x), np.array(mu), q)
