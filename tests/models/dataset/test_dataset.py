"""Dataset problems (docs/datasets.md): construction, the exact recursions, the data-moment limit against
Monte Carlo on the rows, the stability edges. Real-data checks use scikit-learn's bundled datasets when
it is installed (the library itself does not need it)."""
import itertools
import warnings

import numpy as np
import pytest

import hdlimits as hd
from hdlimits.models.dataset.diagnostics import critical_lr as ds_critical_lr
from hdlimits.models.dataset.limit import predict_dataset


def _toy(n=400, d=12, seed=0, heavy=False):
    """Non-Gaussian rows with a mean (a spike in K) and labels with a nonlinear part (so ε depends on x)."""
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n, d))
    X = np.abs(G) if not heavy else rng.standard_t(3, size=(n, d))
    y = X @ rng.standard_normal(d) / np.sqrt(d) + 0.3 * np.sin(3 * X[:, 0]) + 0.1 * rng.standard_normal(n)
    X *= np.sqrt(d / np.mean(np.sum(X * X, axis=1)))        # tr K = d
    return X, y


# ---------------------------------------------------------------- construction
def test_errors_name_the_parameter():
    X, y = _toy()
    with pytest.raises(ValueError, match="X must contain only finite"):
        hd.Problem.from_dataset(np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X), y)
    with pytest.raises(ValueError, match="y must have length n = 400"):
        hd.Problem.from_dataset(X, y[:-1])
    with pytest.raises(ValueError, match="at least 2 rows"):
        hd.Problem.from_dataset(X[:1], y[:1])
    with pytest.raises(ValueError, match="y must contain only finite"):
        hd.Problem.from_dataset(X, np.where(np.arange(y.size) == 3, np.inf, y))
    with pytest.raises(ValueError, match="d ≤ 4096"):
        hd.Problem.from_dataset(np.zeros((2, 4097)), np.zeros(2))
    with pytest.raises(ValueError, match="n ≤ 100000"):
        hd.Problem.from_dataset(np.zeros((100_001, 1)), np.zeros(100_001))
    with pytest.raises(ValueError, match="initial"):
        hd.Problem.from_dataset(X, y, initial=np.zeros(3))


def test_fit_residuals_and_risk_identity():
    X, y = _toy()
    th0 = np.linspace(-1, 1, X.shape[1])
    prob = hd.Problem.from_dataset(X, y, initial=th0)
    ref, *_ = np.linalg.lstsq(X, y, rcond=None)
    assert np.allclose(prob.theta_star, ref, atol=1e-10)
    assert np.abs(X.T @ prob.residuals).max() < 1e-9 * len(y)           # normal equations
    emp = 0.5 * np.mean((X @ th0 - y) ** 2)                              # the empirical risk, directly
    curve = hd.predict_risk(prob, hd.SGD(lr=0.5), [0.0])
    assert curve.risk[0] == pytest.approx(emp, rel=1e-12)
    assert curve.excess_risk[0] == pytest.approx(0.5 * np.mean((X @ (th0 - ref)) ** 2), rel=1e-10)


def test_features_normalised_and_reproducible():
    A = np.random.default_rng(0).uniform(0, 16, size=(50, 8))
    for fm in (hd.features.relu(32, seed=1), hd.features.tanh(32, seed=1), hd.features.fourier(32, 1, 2.0)):
        F = fm(A)
        assert F.shape == (50, 32)
        assert np.mean(np.sum(F * F, axis=1)) == pytest.approx(32, rel=1e-12)    # tr K = d
        assert np.array_equal(F, fm(A))
    assert not np.array_equal(hd.features.relu(32, 1)(A), hd.features.relu(32, 2)(A))
    with pytest.raises(ValueError, match="KIND:D"):
        hd.features.parse("gelu:8")


# ---------------------------------------------------------------- the recursions are what they claim
@pytest.mark.parametrize("batch", [1, 3])
def test_gaussian_moments_equal_library_gaussian_recursion(batch):
    """With Gaussian fourth moments this module's recursion must be the library's exact Gaussian
    least-squares recursion on the same K, e_0 and E η² (an independent implementation)."""
    X, y = _toy()
    prob = hd.Problem.from_dataset(X, y, noise=hd.noise.gaussian(0.2))
    t = np.arange(0, 41) / prob.d
    opt = hd.SGD(lr=0.8, batch=batch)
    mine = predict_dataset(prob, opt, t, moments="gaussian")
    ref = hd.predict_risk(prob.gaussian(), opt, t, method="recursion")
    assert np.allclose(mine.excess_risk, ref.excess_risk, rtol=1e-10)
    assert np.allclose(mine.risk, ref.risk, rtol=1e-10)


def test_exact_recursion_against_enumeration():
    """method='exact' is E over all row sequences: enumerate every sequence of 5 draws from 3 rows."""
    X = np.array([[1.0, 0.3], [0.2, -1.4], [0.9, 1.1]])
    y = np.array([0.5, -0.7, 1.6])
    prob = hd.Problem.from_dataset(X, y, initial=[0.4, -0.2])
    d, g, steps = 2, 0.7, 5
    ths = prob.theta_star
    vals = []
    for seq in itertools.product(range(3), repeat=steps):
        th = np.array(prob.initial)
        for i in seq:
            th = th - (g / d) * X[i] * (X[i] @ th - y[i])
        vals.append(0.5 * np.mean((X @ (th - ths)) ** 2))
    t = np.array([steps / d])
    ex = hd.predict_risk(prob, hd.SGD(lr=g), t, method="exact")
    assert ex.excess_risk[-1] == pytest.approx(np.mean(vals), rel=1e-12)


def test_closure_is_exact_for_one_step():
    """After one step the second moment is exact under the 'mean' closure (M_0 = e_0e_0ᵀ = ēēᵀ)."""
    X, y = _toy(d=6)
    prob = hd.Problem.from_dataset(X, y)
    t = np.array([1.0 / prob.d])
    a = predict_dataset(prob, hd.SGD(lr=1.0), t).excess_risk
    b = predict_dataset(prob, hd.SGD(lr=1.0), t, method="exact").excess_risk
    assert a[-1] == pytest.approx(b[-1], rel=1e-12)


# ---------------------------------------------------------------- against Monte Carlo on the rows
def _within(theory, sim, z=4.0):
    se = sim.excess_risk_stderr
    dev = np.abs(theory.excess_risk - sim.excess_risk)
    return dev, z * se


def test_limit_matches_row_sgd_and_is_worker_independent():
    X, y = _toy(n=300, d=24)
    prob = hd.Problem.from_dataset(X, y)
    t = np.array([0.0, 1.0, 3.0, 6.0])
    opt = hd.SGD(lr=1.0, batch=2)
    sim = hd.simulate(prob, opt, t, runs=64, seed=3, workers=2, progress=False)
    sim1 = hd.simulate(prob, opt, t, runs=64, seed=3, workers=1, progress=False)
    assert np.array_equal(sim.excess_risk_runs, sim1.excess_risk_runs)
    theory = hd.predict_risk(prob, opt, t)
    exact = hd.predict_risk(prob, opt, t, method="exact")
    dev, tol = _within(exact, sim)
    assert np.all(dev[1:] <= tol[1:]), (exact.excess_risk, sim.excess_risk, sim.excess_risk_stderr)
    dev, tol = _within(theory, sim)
    assert np.all(dev[1:] <= tol[1:]), (theory.excess_risk, sim.excess_risk, sim.excess_risk_stderr)
    # the risk is the empirical risk of the iterate: ½(eᵀKe + mean ε²)
    assert np.allclose(sim.risk - sim.excess_risk, 0.5 * prob.residual_second_moment)


def test_epochs_option_runs_and_is_labelled():
    from hdlimits.models.dataset.simulate import simulate_dataset
    X, y = _toy(n=50, d=8)
    prob = hd.Problem.from_dataset(X, y)
    sim = simulate_dataset(prob, hd.SGD(lr=0.5), [0.0, 2.0], runs=4, sampling="epochs", progress=False)
    assert sim.info["sampling"] == "epochs" and np.isfinite(sim.excess_risk).all()
    with pytest.raises(ValueError, match="sampling"):
        simulate_dataset(prob, hd.SGD(lr=0.5), [0.0, 2.0], sampling="shuffle")


# ---------------------------------------------------------------- stability edges
@pytest.mark.parametrize("batch", [1, 4])
def test_gaussian_edge_equals_library_critical_lr(batch):
    X, y = _toy()
    prob = hd.Problem.from_dataset(X, y)
    opt = hd.SGD(lr=1.0, batch=batch)
    edges = hd.critical_lr(prob, opt)
    ref = hd.critical_lr(prob.gaussian(), opt)
    assert edges.gaussian == pytest.approx(ref, rel=1e-8)
    assert float(edges) == edges.data


def test_data_edge_separates_bounded_from_diverging_limit():
    X, y = _toy(d=16)
    prob = hd.Problem.from_dataset(X, y)
    edge = hd.critical_lr(prob, hd.SGD(lr=1.0)).data
    t = np.array([0.0, 200.0])
    below = predict_dataset(prob, hd.SGD(lr=0.97 * edge), t)
    above = predict_dataset(prob, hd.SGD(lr=1.03 * edge), t)
    assert below.status.success and np.isfinite(below.excess_risk[-1])
    assert above.status.code.value == "diverged"


# ---------------------------------------------------------------- real data (scikit-learn, optional)
def _digits_problem(d, lr_noise=0.3, seed=0):
    datasets = pytest.importorskip("sklearn.datasets")
    A = datasets.load_digits().data
    X = hd.features.relu(d, seed=seed)(A)
    teacher = np.random.default_rng(seed + 1).standard_normal(d) / np.sqrt(d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)      # a few zero eigenvalues (rank warning)
        return hd.Problem.from_dataset(X, X @ teacher, noise=hd.noise.gaussian(lr_noise))


def test_digits_above_gaussian_edge():
    """digits through 64 ReLU features, γ between the Gaussian and the data edges: the Gaussian limit
    diverges, row-sampling SGD does not, and the data-moment limit matches it within 4 standard errors."""
    prob = _digits_problem(64)
    edges = hd.critical_lr(prob, hd.SGD(lr=1.0))
    assert edges.gaussian < edges.data
    lr = 0.5 * (edges.gaussian + edges.data)
    opt = hd.SGD(lr=lr)
    t = np.array([0.0, 2.0, 5.0, 10.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gauss = hd.predict_risk(prob, opt, t, moments="gaussian")
    sim = hd.simulate(prob, opt, t, runs=32, seed=0, progress=False)
    theory = hd.predict_risk(prob, opt, t)
    assert not np.isfinite(gauss.excess_risk[-1]) or gauss.excess_risk[-1] > 100 * sim.excess_risk[-1]
    assert sim.status.success
    dev, tol = _within(theory, sim)
    assert np.all(dev[1:] <= tol[1:]), (theory.excess_risk, sim.excess_risk, sim.excess_risk_stderr)


def test_moments_keyword_checked():
    X, y = _toy()
    prob = hd.Problem.from_dataset(X, y)
    with pytest.raises(ValueError, match="moments must be one of"):
        hd.predict_risk(prob, hd.SGD(lr=0.5), [0.0, 1.0], moments="student")
    with pytest.raises(ValueError, match="moments applies to dataset problems"):
        hd.predict_risk(hd.Problem.isotropic(10), hd.SGD(lr=0.5), [0.0, 1.0], moments="data")
    with pytest.raises(hd.LimitNotAvailable):
        hd.predict_risk(prob, hd.SignSGD(lr=0.5), [0.0, 1.0])
    g = hd.predict_risk(prob, hd.SGD(lr=0.5), [0.0, 1.0], moments="gaussian")
    assert g.risk[0] == pytest.approx(0.5 * np.mean((X @ np.zeros(X.shape[1]) - y) ** 2), rel=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("lr", [0.5, 1.5])
def test_digits_relu256_issue_table(lr):
    """The issue's table: digits through 256 ReLU features, fresh N(0, 0.3²) noise on a linear teacher;
    192 runs; the data limit within 4 SE at every time, the Gaussian one not (γ = 0.5) or diverging."""
    prob = _digits_problem(256)
    t = np.array([0.0, 1.0, 2.0, 5.0, 10.0])
    opt = hd.SGD(lr=lr)
    sim = hd.simulate(prob, opt, t, runs=192, seed=11, progress=False)
    theory = hd.predict_risk(prob, opt, t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gauss = hd.predict_risk(prob, opt, t, moments="gaussian")
    dev, tol = _within(theory, sim)
    assert np.all(dev[1:] <= tol[1:]), (theory.excess_risk, sim.excess_risk, sim.excess_risk_stderr)
    gdev, _ = _within(gauss, sim) if np.isfinite(gauss.excess_risk).all() else (np.array([np.inf]), None)
    assert np.max(gdev) > 4 * sim.excess_risk_stderr[-1]
