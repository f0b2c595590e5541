"""The simulator: exactness against the expected recursion, reproducibility, divergence, inputs."""
import numpy as np
import pytest

import hdlimits as hd


def _z(sim, ref):
    return (sim.risk - ref.risk) / sim.risk_stderr


@pytest.mark.parametrize("batch", [1, 4])
def test_exact_recursion_d500_within_3_stderr(batch):
    """The expected per-step recursion is exact for Gaussian SGD: the mean of 64 runs at d = 500 lies
    within 3 standard errors of it at every recorded time (6 times)."""
    prob = hd.Problem.power_law(d=500, alpha=0.8, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)
    opt = hd.SGD(lr=1.2, batch=batch)
    t = np.array([0.25, 0.5, 1.0, 2.0, 4.0, 8.0])
    ref = hd.predict_risk(prob, opt, t, method="recursion")
    sim = hd.simulate(prob, opt, t, runs=64, seed=2024 + batch)
    z = _z(sim, ref)
    assert sim.ok and np.all(np.abs(z) <= 3.0), z


def test_exact_recursion_dense_preconditioned():
    """Dense (rotated) K, dense preconditioner P = K^{-1/2}: same exactness through the dense kernel."""
    prob = hd.Problem.power_law(d=200, alpha=0.8, beta=1.0, noise=hd.noise.gaussian(0.3), seed=1,
                                rotate=True)
    t = np.array([0.5, 1.0, 3.0, 6.0])
    for opt in (hd.SGD(1.0), hd.PreconditionedSGD(0.8, "sqrt", batch=2)):
        ref = hd.predict_risk(prob, opt, t, method="recursion")
        sim = hd.simulate(prob, opt, t, runs=64, seed=7)
        z = _z(sim, ref)
        assert np.all(np.abs(z) <= 3.0), (opt.describe(), z)


def test_same_seed_same_result_any_worker_count():
    prob = hd.Problem.power_law(d=300, alpha=0.8, beta=1.0, noise=hd.noise.student_t(4.0, 0.3), seed=0)
    opt = hd.SGD(lr=1.0)
    t = np.linspace(0, 2, 5)
    a = hd.simulate(prob, opt, t, runs=5, seed=9, workers=1)
    b = hd.simulate(prob, opt, t, runs=5, seed=9, workers=2)
    c = hd.simulate(prob, opt, t, runs=5, seed=10, workers=2)
    assert np.array_equal(a.risk_runs, b.risk_runs)
    assert not np.array_equal(a.risk_runs, c.risk_runs)
    # a run does not depend on how many runs there are
    d = hd.simulate(prob, opt, t, runs=3, seed=9, workers=2)
    assert np.array_equal(d.risk_runs, a.risk_runs[:3])


def test_result_shapes_and_risk_definition():
    prob = hd.Problem.isotropic(100, noise=hd.noise.gaussian(0.5), seed=0)
    sim = hd.simulate(prob, hd.SGD(0.5), [0.0, 1.0], runs=3, seed=0)
    assert sim.risk_runs.shape == (3, 2) and sim.excess_risk_runs.shape == (3, 2)
    assert np.allclose(sim.risk_runs - sim.excess_risk_runs, 0.5 * 0.25)
    assert sim.risk[0] == pytest.approx(0.5 * (1.0 + 0.25))
    assert sim.excess_risk_stderr.shape == (2,) and sim.excess_risk_stderr[0] == 0.0


def test_divergence_is_a_status_not_nan():
    prob = hd.Problem.isotropic(100, noise=hd.noise.gaussian(1.0), seed=0)
    sim = hd.simulate(prob, hd.SGD(lr=3.0), np.linspace(0, 40, 9), runs=3, seed=0)
    assert sim.diverged and sim.diverged_runs == 3
    assert not np.any(np.isnan(sim.risk)) and np.isinf(sim.risk[-1])


def test_rademacher_data_runs_and_is_close_in_the_limit():
    # universality: at d = 1000 Rademacher data is within a few percent of the Gaussian recursion
    prob = hd.Problem.power_law(d=1000, alpha=0.5, beta=0.5, noise=hd.noise.gaussian(0.3), seed=0)
    opt = hd.SGD(1.0)
    t = np.array([1.0, 3.0])
    sim = hd.simulate(prob, opt, t, runs=8, seed=1, data="rademacher")
    ref = hd.predict_risk(prob, opt, t, method="recursion")
    assert np.all(np.abs(sim.risk / ref.risk - 1) < 0.05)


@pytest.mark.parametrize("kwargs, word", [
    (dict(runs=0), "runs"), (dict(data="uniform"), "data"), (dict(workers=0), "workers"),
    (dict(t=[2.0, 1.0]), "non-decreasing"),
])
def test_bad_inputs(kwargs, word):
    prob = hd.Problem.isotropic(10)
    args = dict(t=[1.0], runs=2, seed=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=word):
        hd.simulate(prob, hd.SGD(1.0), **args)


def test_off_grid_times_are_reported_where_simulated():
    """t = 0.005 at d = 100 is step round(0.5) = 0: the value is e_0's, so its time must read 0."""
    prob = hd.Problem.isotropic(100, noise=hd.noise.gaussian(0.5), seed=0)
    with pytest.warns(UserWarning, match=r"2 of 3 times .*largest shift 0\.005"):
        sim = hd.simulate(prob, hd.SGD(0.5), [0.0, 0.005, 0.237], runs=2, seed=0)
    assert np.array_equal(sim.t, [0.0, 0.0, 0.24])
    assert sim.risk[1] == sim.risk[0] == pytest.approx(0.5 * (1.0 + 0.25))
    assert np.array_equal(sim.info["requested_t"], [0.0, 0.005, 0.237])


def test_on_grid_times_are_kept_without_warning():
    import warnings
    prob = hd.Problem.isotropic(100, seed=0)
    t = np.linspace(0, 1, 7) * 0.3            # multiples of 1/100 up to float rounding
    t = np.round(t * 100) / 100 * (1 + 1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sim = hd.simulate(prob, hd.SGD(0.5), t, runs=2, seed=0)
    assert np.array_equal(sim.t, t) and "requested_t" not in sim.info


@pytest.mark.parametrize("law", [
    hd.noise.gaussian(0.3), hd.noise.rademacher(0.3), hd.noise.student_t(3.0, 0.3),
    hd.noise.laplace(0.2), hd.noise.uniform(0.5), hd.noise.none(),
    hd.noise.gaussian_mixture([0.9, 0.1], [0.0, 0.5], [0.1, 2.0]),
], ids=lambda law: law.name)
def test_same_seed_same_values_on_any_output_grid(law):
    """The noise stream does not depend on how the output grid cuts the run into blocks."""
    prob = hd.Problem.isotropic(50, noise=law, seed=0)
    opt = hd.SGD(0.5)
    a = hd.simulate(prob, opt, [0.0, 1.5, 3.0], runs=2, seed=3, workers=1)
    b = hd.simulate(prob, opt, np.arange(0, 151) / 50, runs=2, seed=3, workers=1)
    assert np.array_equal(a.risk_runs, b.risk_runs[:, [0, 75, 150]])


def test_noise_stream_is_independent_of_the_block_sizes_across_chunks():
    from hdlimits.sim.simulate import _NoiseStream
    law = hd.noise.gaussian_mixture([0.5, 0.5], [-1.0, 1.0], [0.1, 0.2])
    whole = _NoiseStream(law, np.random.default_rng(5), chunk=7).take(40)
    parts = _NoiseStream(law, np.random.default_rng(5), chunk=7)
    pieces = np.concatenate([parts.take(n) for n in (1, 6, 9, 0, 13, 11)])
    assert np.array_equal(whole, pieces) and np.unique(whole).size == 40


def test_overflowing_risk_is_a_divergence_not_ok():
    """eᵀKe overflows to inf while e is still finite (e_0 ≈ 1e153): the runs count as diverged."""
    prob = hd.Problem.from_spectrum([1.0, 1.0], [1e153, 1e153])
    sim = hd.simulate(prob, hd.SGD(8.0), [0.0, 1.0, 2.0, 5.0], runs=2, seed=0)
    assert np.isinf(sim.excess_risk_runs).any()
    assert sim.status != "ok" and sim.diverged_runs == 2
    assert sim.status.t_event == 1.0          # the second run overflows at step 2 = t 1


@pytest.mark.parametrize("seed", ["abc", 1.5, -1, True, np.random.default_rng(0), [1, 2]],
                         ids=["str", "float", "negative", "bool", "generator", "list"])
def test_bad_seed_names_seed(seed):
    prob = hd.Problem.isotropic(10, seed=0)
    with pytest.raises(ValueError, match=r"seed must be None, an integer ≥ 0 or a numpy.random.SeedSequence"):
        hd.simulate(prob, hd.SGD(1.0), [1.0], runs=2, seed=seed)


def test_seed_none_records_the_entropy_it_used():
    prob = hd.Problem.isotropic(20, noise=hd.noise.gaussian(0.3), seed=0)
    a = hd.simulate(prob, hd.SGD(0.5), [0.0, 1.0], runs=2, seed=None)
    assert isinstance(a.seed, int) and a.seed > 0
    b = hd.simulate(prob, hd.SGD(0.5), [0.0, 1.0], runs=2, seed=a.seed)
    assert np.array_equal(a.risk_runs, b.risk_runs)


def test_seed_sequence_is_not_advanced_by_simulate():
    prob = hd.Problem.isotropic(20, noise=hd.noise.gaussian(0.3), seed=0)
    seq = np.random.SeedSequence(12)
    a = hd.simulate(prob, hd.SGD(0.5), [0.0, 1.0], runs=2, seed=seq)
    b = hd.simulate(prob, hd.SGD(0.5), [0.0, 1.0], runs=2, seed=seq)
    c = hd.simulate(prob, hd.SGD(0.5), [0.0, 1.0], runs=2, seed=12)
    assert np.array_equal(a.risk_runs, b.risk_runs) and np.array_equal(a.risk_runs, c.risk_runs)
    assert a.seed == 12


def test_result_seed_repeats_a_run_seeded_by_a_spawned_sequence():
    """Audit: result.seed dropped the spawn key of a spawned SeedSequence, so seed=result.seed did not
    repeat the run (also after a JSON round trip)."""
    prob = hd.Problem.power_law(d=100, alpha=0.8, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)
    ss = np.random.SeedSequence(5).spawn(3)[2]
    first = hd.simulate(prob, hd.SGD(1.0), [0.0, 0.5, 1.0], runs=3, seed=ss, progress=False)
    again = hd.simulate(prob, hd.SGD(1.0), [0.0, 0.5, 1.0], runs=3, seed=first.seed, progress=False)
    np.testing.assert_array_equal(again.risk_runs, first.risk_runs)
    loaded = hd.load_result(first.to_json())
    np.testing.assert_array_equal(
        hd.simulate(prob, hd.SGD(1.0), [0.0, 0.5, 1.0], runs=3, seed=loaded.seed, progress=False).risk_runs,
        first.risk_runs)
    assert "spawn_key (2)" in str(first)
