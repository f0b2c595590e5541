"""The GLM Monte Carlo (hdlimits.models.glm.simulate, docs/glm.md) against independent references:
the least-squares simulator and the exact expected recursion on least squares, the isotropic law of a
whitened problem, and itself under changes that must not change the law (basis, data, workers).

Monte Carlo tolerances: z = |difference| / (combined standard error) ≤ 4.5 at every recorded time.
"""
from __future__ import annotations

import numpy as np
import pytest

import hdlimits as hd
from hdlimits.core.status import StatusCode
from hdlimits.models.glm.problem import GLMProblem
from hdlimits.models.glm.simulate import simulate_glm
from tests.models.glm import fakes

Z = 4.5


def _zmax(a, sa, b, sb=0.0):
    return float(np.max(np.abs(a - b) / np.sqrt(sa ** 2 + np.asarray(sb) ** 2)))


def _setup(d, seed=1, noise_std=0.5):
    rng = np.random.default_rng(seed)
    lam = np.linspace(0.2, 2.0, d)
    xs = rng.standard_normal(d) / np.sqrt(d)
    x0 = rng.standard_normal(d) / np.sqrt(4 * d)
    return lam, xs, x0, hd.noise.gaussian(noise_std)


def _haar(d, seed=7):
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q * np.sign(np.diagonal(r))


def _glm(lam, xs, x0, noise, model=None, basis=None):
    model = model or fakes.least_squares()
    xs = np.asarray(xs, dtype=np.float64).reshape(lam.size, -1)
    x0 = np.asarray(x0, dtype=np.float64).reshape(lam.size, -1)
    return GLMProblem(lam, xs, x0, model, noise, basis)


def _with_output(lr, preconditioner, Q, batch=1):
    """PreconditionedSGD with an output factor (the ``output`` field, or the attribute when the field is
    not there yet)."""
    try:
        return hd.PreconditionedSGD(lr, preconditioner, batch, output=Q)
    except TypeError:
        opt = hd.PreconditionedSGD(lr, preconditioner, batch)
        object.__setattr__(opt, "output", Q)
        return opt


T = np.array([0.25, 0.5, 1.0, 1.5, 2.0])


def test_least_squares_matches_the_least_squares_simulator_and_the_exact_recursion():
    d = 1000
    lam, xs, x0, noise = _setup(d)
    glm = _glm(lam, xs, x0, noise)
    ls = hd.Problem.from_spectrum(lam, x0 - xs, noise)
    opt = hd.SGD(1.2)
    a = simulate_glm(glm, opt, T, runs=16, seed=1, progress=False)
    b = hd.simulate(ls, opt, T, runs=16, seed=2, progress=False)
    assert a.status.success and a.runs == 16
    assert _zmax(a.risk, a.stderr("risk"), b.risk, b.stderr("risk")) < Z
    rec = hd.predict_risk(ls, opt, T, method="recursion")
    assert _zmax(a.risk, a.stderr("risk"), rec.risk) < Z
    # the overlaps: B_11 − 2B_12 + B_22 = eᵀKe, the teacher block never moves
    B = a.overlaps
    assert B.shape == (T.size, 2, 2)
    np.testing.assert_allclose(0.5 * (B[:, 0, 0] - 2 * B[:, 0, 1] + B[:, 1, 1] + 0.25), a.risk, rtol=1e-10)
    np.testing.assert_allclose(B[:, 1, 1], xs @ (lam * xs), rtol=1e-12)
    # same seed: the same samples and noise in the same order as the least-squares simulator, so
    # the same path up to rounding
    c = hd.simulate(ls, opt, T, runs=16, seed=1, progress=False)
    np.testing.assert_allclose(a.runs_of("risk"), c.runs_of("risk"), rtol=1e-9)


def test_same_seed_same_result_on_any_worker_count_and_output_grid():
    d = 300
    lam, xs, x0, noise = _setup(d)
    p = _glm(lam, xs, x0, noise)
    opt = hd.SGD(1.0, batch=2)
    a = simulate_glm(p, opt, T, runs=3, seed=11, workers=1, progress=False)
    b = simulate_glm(p, opt, T, runs=3, seed=11, workers=2, progress=False)
    np.testing.assert_array_equal(a.runs_of("risk"), b.runs_of("risk"))
    np.testing.assert_array_equal(a.runs_of("overlaps"), b.runs_of("overlaps"))
    fine = np.linspace(0.0, 2.0, 41)
    c = simulate_glm(p, opt, fine, runs=3, seed=11, workers=1, progress=False)
    idx = [int(np.argmin(np.abs(fine - ti))) for ti in T]
    np.testing.assert_array_equal(c.runs_of("overlaps")[:, idx], a.runs_of("overlaps"))
    other = simulate_glm(p, opt, T, runs=3, seed=12, workers=1, progress=False)
    assert not np.array_equal(other.runs_of("risk"), a.runs_of("risk"))
    # seed=None records the entropy, which repeats the run
    n = simulate_glm(p, opt, T[:2], runs=2, seed=None, workers=1, progress=False)
    assert n.info["seed_entropy"] == n.seed
    again = simulate_glm(p, opt, T[:2], runs=2, seed=n.seed, workers=1, progress=False)
    np.testing.assert_array_equal(again.runs_of("risk"), n.runs_of("risk"))


def test_diagonal_and_rotated_dense_covariance_agree():
    d = 400
    lam, xs, x0, noise = _setup(d)
    U = _haar(d)
    diag = _glm(lam, xs, x0, noise)
    dense = _glm(lam, U @ xs, U @ x0, noise, basis=U)
    np.testing.assert_allclose(dense.initial_overlaps, diag.initial_overlaps, atol=1e-12)
    opt = hd.SGD(1.0)
    a = simulate_glm(diag, opt, T, runs=16, seed=3, progress=False)
    b = simulate_glm(dense, opt, T, runs=16, seed=4, progress=False)
    assert _zmax(a.risk, a.stderr("risk"), b.risk, b.stderr("risk")) < Z
    for i, j in ((0, 0), (0, 1)):
        assert _zmax(a.overlaps[:, i, j], a.stderr("overlaps")[:, i, j],
                     b.overlaps[:, i, j], b.stderr("overlaps")[:, i, j]) < Z


def test_rademacher_and_gaussian_data_agree():
    d = 1000
    lam, xs, x0, noise = _setup(d)
    p = _glm(lam, xs, x0, noise)
    opt = hd.SGD(1.2)
    a = simulate_glm(p, opt, T, runs=16, seed=5, data="gaussian", progress=False)
    b = simulate_glm(p, opt, T, runs=16, seed=6, data="rademacher", progress=False)
    assert b.data == "rademacher"
    assert _zmax(a.risk, a.stderr("risk"), b.risk, b.stderr("risk")) < Z
    # Rademacher data on a rotated K goes through the dense path
    U = _haar(200)
    lam2, xs2, x02, _ = _setup(200)
    r = simulate_glm(_glm(lam2, U @ xs2, U @ x02, noise, basis=U), opt, T, runs=16, seed=5,
                     data="rademacher", progress=False)
    g = simulate_glm(_glm(lam2, xs2, x02, noise), opt, T, runs=16, seed=6, progress=False)
    assert _zmax(r.risk, r.stderr("risk"), g.risk, g.stderr("risk")) < Z


def test_whitened_dense_problem_has_the_law_of_isotropic_sgd():
    # X ← X − (γ/d) K⁻¹xψ: in the coordinates K^{1/2}X the data K^{-1/2}x ~ N(0, I) — isotropic SGD
    d = 300
    _, xs, x0, noise = _setup(d)
    lam = np.geomspace(0.02, 2.0, d)          # spread, so that whitening visibly changes the curve
    U = _haar(d)
    dense = _glm(lam, U @ xs, U @ x0, noise, basis=U)
    iso = _glm(np.ones(d), np.sqrt(lam) * xs, np.sqrt(lam) * x0, noise)
    np.testing.assert_allclose(iso.initial_overlaps, dense.initial_overlaps, atol=1e-12)
    a = simulate_glm(dense, hd.PreconditionedSGD(1.0, "whiten"), T, runs=16, seed=8, progress=False)
    b = simulate_glm(iso, hd.SGD(1.0), T, runs=16, seed=9, progress=False)
    assert _zmax(a.risk, a.stderr("risk"), b.risk, b.stderr("risk")) < Z
    # the preconditioner really acts: plain SGD on the dense problem is slower on the small eigenvalues
    c = simulate_glm(dense, hd.SGD(1.0), T, runs=16, seed=8, progress=False)
    assert _zmax(c.risk, c.stderr("risk"), b.risk, b.stderr("risk")) > 2 * Z


def test_divergent_learning_rate_gives_a_diverged_status_and_inf_never_nan():
    d = 200
    lam, xs, x0, noise = _setup(d)
    p = _glm(lam, xs, x0, noise)
    t = np.linspace(0.0, 4.0, 21)
    r = simulate_glm(p, hd.SGD(12.0), t, runs=3, seed=0, progress=False)
    assert r.status.code is StatusCode.DIVERGED and r.diverged_runs == 3
    assert 0.0 < r.status.t_event < 4.0
    assert "3 of 3 runs" in r.status.message
    for arr in (r.risk, r.overlaps, r.stderr("risk"), r.stderr("overlaps"), r.runs_of("risk"),
                r.runs_of("overlaps")):
        assert not np.isnan(arr).any()
    after = r.t > r.status.t_event
    assert after.any() and np.all(np.isinf(r.risk[after])) and np.all(np.isinf(r.overlaps[after]))
    assert np.all(np.isfinite(r.risk[r.t < r.status.t_event - 0.2]))


def test_two_output_linear_model_with_an_output_factor():
    d = 400
    lam, xs, x0, noise = _setup(d)
    rng = np.random.default_rng(3)
    X0 = rng.standard_normal((d, 2)) / np.sqrt(4 * d)
    p = _glm(lam, xs, X0, noise, model=fakes.head2())
    Q = np.array([[1.0, 0.3], [0.3, 0.5]])
    opt = _with_output(0.8, np.full(d, 1.5), Q, batch=2)
    r = simulate_glm(p, opt, T, runs=8, seed=2, progress=False)
    assert r.status.success
    Bruns = r.runs_of("overlaps")
    assert Bruns.shape == (8, T.size, 3, 3)
    np.testing.assert_array_equal(Bruns, np.swapaxes(Bruns, -1, -2))
    np.testing.assert_allclose(Bruns[..., 2, 2], xs @ (lam * xs), rtol=1e-12)    # the teacher is fixed
    assert np.all(np.linalg.eigvalsh(Bruns) > -1e-12)
    # the risk is h(B) of the recorded overlaps, and the run learns
    u = np.array([1.0, 0.5, -1.0])
    np.testing.assert_allclose(r.runs_of("risk"), 0.5 * (np.einsum("a,rtab,b->rt", u, Bruns, u) + 0.25),
                               rtol=1e-10)
    assert r.risk[-1] < 0.5 * p.initial_risk


def test_output_factor_changes_the_path():
    d = 200
    lam, xs, x0, noise = _setup(d)
    X0 = np.random.default_rng(3).standard_normal((d, 2)) / np.sqrt(4 * d)
    p = _glm(lam, xs, X0, noise, model=fakes.head2())
    a = simulate_glm(p, _with_output(0.8, np.ones(d), None), T, runs=2, seed=2, progress=False)
    b = simulate_glm(p, hd.SGD(0.8), T, runs=2, seed=2, progress=False)
    np.testing.assert_allclose(a.runs_of("overlaps"), b.runs_of("overlaps"), rtol=1e-12)
    c = simulate_glm(p, _with_output(0.8, np.ones(d), 2.0 * np.eye(2)), T, runs=2, seed=2, progress=False)
    e = simulate_glm(p, hd.SGD(1.6), T, runs=2, seed=2, progress=False)
    np.testing.assert_allclose(c.runs_of("overlaps"), e.runs_of("overlaps"), rtol=1e-9)


def test_bad_input_names_the_parameter():
    d = 50
    lam, xs, x0, noise = _setup(d)
    p = _glm(lam, xs, x0, noise)
    with pytest.raises(ValueError, match="runs"):
        simulate_glm(p, hd.SGD(1.0), T, runs=0)
    with pytest.raises(ValueError, match="data"):
        simulate_glm(p, hd.SGD(1.0), T, data="uniform")
    with pytest.raises(ValueError, match="output"):
        simulate_glm(p, _with_output(1.0, "diag", np.eye(2)), T)
    p2 = _glm(lam, xs, np.zeros((d, 2)), noise, model=fakes.head2())
    with pytest.raises(ValueError, match="output"):
        simulate_glm(p2, _with_output(1.0, "diag", np.array([[1.0, 2.0], [2.0, 1.0]])), T)
    with pytest.raises(ValueError, match="output"):
        simulate_glm(p2, _with_output(1.0, "diag", np.array([[1.0, 0.5], [0.0, 1.0]])), T)
    with pytest.raises(ValueError, match="problem"):
        simulate_glm(hd.Problem.from_spectrum(lam, x0 - xs, noise), hd.SGD(1.0), T)
    with pytest.raises(ValueError, match="optimizer"):
        simulate_glm(p, hd.SignSGD(1.0), T)
    with pytest.raises(ValueError, match="t"):
        simulate_glm(p, hd.SGD(1.0), [-1.0])


def test_two_output_model_follows_the_block_equation():
    # the block system of docs/glm.md §3 (hdlimits.solvers.blocks.rhs) with P_in, Q_out and a minibatch;
    # for a linear model the expected update is linear in the blocks, so the mean overlaps follow it up
    # to O(1/d) (the time discretisation), far below the Monte Carlo error at d = 400
    from scipy.integrate import solve_ivp

    from hdlimits.core.schedules import constant
    from hdlimits.solvers.blocks import BlockModeSystem

    d = 400
    lam, xs, x0, noise = _setup(d)
    X0 = np.random.default_rng(3).standard_normal((d, 2)) / np.sqrt(4 * d)
    p = _glm(lam, xs, X0, noise, model=fakes.head2())
    pin = np.linspace(0.5, 1.5, d)
    Q = np.array([[1.0, 0.3], [0.3, 0.5]])
    lr, batch = 0.8, 2
    W = p.weights()
    V0 = np.einsum("ia,ib->iab", W, W) / pin[:, None, None]        # blocks of W̃ = P_in^{-1/2} W
    system = BlockModeSystem(lam * pin, np.ones(d), V0, 2, d, constant(lr), batch,
                             p.model.expectations(noise), output=Q)
    np.testing.assert_allclose(system.B0, p.initial_overlaps, rtol=1e-12)
    sol = solve_ivp(lambda t, y: system.rhs(t, y.reshape(V0.shape)).ravel(), (0.0, T[-1]), V0.ravel(),
                    t_eval=T, rtol=1e-8, atol=1e-12)
    B_limit = np.array([system.B_of(y.reshape(V0.shape)) for y in sol.y.T])
    r = simulate_glm(p, _with_output(lr, pin, Q, batch=batch), T, runs=16, seed=21, progress=False)
    for i, j in ((0, 0), (0, 1), (1, 1), (0, 2), (1, 2)):
        assert _zmax(r.overlaps[:, i, j], r.stderr("overlaps")[:, i, j], B_limit[:, i, j]) < Z, (i, j)
    # and it moves: the student–teacher overlaps change by many standard errors
    assert np.all(np.abs(B_limit[-1, :2, 2] - p.initial_overlaps[:2, 2]) > 10 * r.stderr("overlaps")[-1, :2, 2])


def test_noise_without_second_moment_is_an_infinite_risk_not_a_divergence():
    d = 200
    lam, xs, x0, _ = _setup(d)
    p = _glm(lam, xs, x0, hd.noise.student_t(2.0, 0.1))              # E ε² = inf
    r = simulate_glm(p, hd.SGD(0.5), T, runs=3, seed=0, progress=False)
    assert r.status.success and r.diverged_runs == 0
    assert np.all(np.isinf(r.risk)) and not np.isnan(r.stderr("risk")).any()
    assert np.all(np.isfinite(r.overlaps)) and np.all(np.isfinite(r.stderr("overlaps")))


_INTERRUPT_SCRIPT = """
import sys
import numpy as np
import hdlimits as hd
from hdlimits.models.glm.problem import GLMProblem
from hdlimits.models.glm.simulate import simulate_glm
from tests.models.glm import fakes
d = 1000
p = GLMProblem(np.ones(d), np.full((d, 1), d ** -0.5), np.zeros((d, 1)), fakes.least_squares(),
               hd.noise.gaussian(0.1))
print("start", flush=True)
simulate_glm(p, hd.SGD(0.5), [0.0, float(sys.argv[1])], runs=2, seed=0, workers=2, progress=False)
print("done", flush=True)
"""


def test_sigint_stops_a_two_worker_simulation_within_seconds():
    import os
    import signal
    import subprocess
    import sys
    import time

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    env = dict(os.environ, HDLIMITS_NO_PROGRESS="1",
               PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))

    def run(t_max):
        return subprocess.Popen([sys.executable, "-c", _INTERRUPT_SCRIPT, t_max], env=env, cwd=root,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    warm = run("0.5")                            # compiles (or loads) the kernels
    _, err = warm.communicate(timeout=300)
    assert warm.returncode == 0, err
    proc = run("2000")                           # minutes of work per run
    try:
        assert proc.stdout.readline().strip() == "start"
        time.sleep(2.0)
        assert proc.poll() is None
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        elapsed = time.perf_counter() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    assert "KeyboardInterrupt" in err, err
    assert elapsed < 15.0, f"took {elapsed:.1f} s to stop after SIGINT"
