import numpy as np
import pytest

import hdlimits as hd


def test_power_law_normalisation():
    p = hd.Problem.power_law(d=300, alpha=0.8, beta=1.2, noise=hd.noise.gaussian(0.3),
                             initial_size=2.0, seed=4)
    assert p.trace == pytest.approx(300.0)
    lam = p.eigenvalues
    assert lam[0] / lam[9] == pytest.approx(10 ** 0.8)
    assert 2 * p.initial_excess_risk == pytest.approx(2.0)             # ‖K^{1/2} e0‖² = initial_size
    c2 = p.initial_error ** 2
    assert c2[0] / c2[3] == pytest.approx(4 ** 1.2)
    # same seed, same problem; rotation keeps the spectrum and the size
    q = hd.Problem.power_law(d=300, alpha=0.8, beta=1.2, initial_size=2.0, seed=4, rotate=True)
    assert not q.is_diagonal
    assert 2 * q.initial_excess_risk == pytest.approx(2.0)
    assert np.allclose(np.linalg.eigvalsh(q.covariance), np.sort(lam))
    assert np.array_equal(hd.Problem.power_law(d=50, alpha=1, beta=1, seed=1).initial_error,
                          hd.Problem.power_law(d=50, alpha=1, beta=1, seed=1).initial_error)


def test_from_covariance_and_samples():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((40, 40))
    K = A @ A.T / 40
    e0 = rng.standard_normal(40)
    p = hd.Problem.from_covariance(K, e0, hd.noise.gaussian(0.1))
    assert np.allclose(p.covariance, K)
    assert np.allclose(p.covariance_sqrt @ p.covariance_sqrt, K)
    assert p.excess_of(e0) == pytest.approx(e0 @ K @ e0)
    assert np.allclose(p.diagonal, np.diag(K))
    pd = hd.Problem.from_covariance(np.diag([1.0, 2.0, 3.0]), np.ones(3))
    assert pd.is_diagonal
    X = rng.standard_normal((500, 10))
    ps = hd.Problem.from_samples(X, np.zeros(10))
    assert np.allclose(ps.covariance, X.T @ X / 500)


def test_isotropic():
    p = hd.Problem.isotropic(100, noise=hd.noise.gaussian(1.0), initial_size=3.0, seed=2)
    assert np.allclose(p.eigenvalues, 1.0)
    assert np.dot(p.initial_error, p.initial_error) == pytest.approx(3.0)
    assert p.noise_second_moment == pytest.approx(1.0)


@pytest.mark.parametrize("call, word", [
    (lambda: hd.Problem.from_spectrum([1.0, -1.0], [0.0, 0.0]), "eigenvalues"),
    (lambda: hd.Problem.from_spectrum([1.0, np.inf], [0.0, 0.0]), "eigenvalues"),
    (lambda: hd.Problem.from_spectrum([1.0, 1.0], [0.0, 0.0, 1.0]), "initial_error"),
    (lambda: hd.Problem.from_spectrum([1.0, 1.0], [0.0, np.nan]), "initial_error"),
    (lambda: hd.Problem.from_spectrum([1.0, 1.0], [0.0, 0.0], basis=np.ones((2, 2))), "basis"),
    (lambda: hd.Problem.from_spectrum([1.0, 1.0], [0.0, 0.0], basis=np.eye(3)), "basis"),
    (lambda: hd.Problem.from_spectrum([1.0], [0.0], noise="gaussian"), "noise"),
    (lambda: hd.Problem.from_covariance([[1.0, 0.5], [0.4, 1.0]], [0, 0]), "symmetric"),
    (lambda: hd.Problem.from_covariance([[1.0, 2.0], [2.0, 1.0]], [0, 0]), "semi-definite"),
    (lambda: hd.Problem.from_covariance(np.ones((2, 3)), [0, 0]), "square"),
    (lambda: hd.Problem.from_covariance([[1.0, 0.0], [0.0, np.nan]], [0, 0]), "finite"),
    (lambda: hd.Problem.power_law(d=0, alpha=1, beta=1), "d"),
    (lambda: hd.Problem.power_law(d=10, alpha=-1, beta=1), "alpha"),
    (lambda: hd.Problem.power_law(d=10, alpha=1, beta=1, initial_size=-1), "initial_size"),
    (lambda: hd.Problem.isotropic(2.5), "d"),
    (lambda: hd.Problem.from_spectrum([1.0, 1.0], [1e200, 1.0]), "initial_error"),
    (lambda: hd.Problem.from_covariance([[2.0, 1.0], [1.0, 2.0]], [1e160, 1e160]), "initial_error"),
])
def test_bad_inputs_name_parameter(call, word):
    with pytest.raises(ValueError, match=word):
        call()


@pytest.mark.parametrize("factory", [lambda s: hd.Problem.isotropic(5, seed=s),
                                     lambda s: hd.Problem.power_law(5, 1.0, 1.0, seed=s)],
                         ids=["isotropic", "power_law"])
@pytest.mark.parametrize("seed", ["abc", 1.5, -1, np.random.default_rng(0)],
                         ids=["str", "float", "negative", "generator"])
def test_bad_seed_names_seed(factory, seed):
    with pytest.raises(ValueError, match="seed must be None, an integer"):
        factory(seed)


def test_seed_none_is_recorded_and_repeatable():
    a = hd.Problem.power_law(8, 1.0, 1.0, seed=None, rotate=True)
    assert isinstance(a.seed, int) and a.describe()["seed"] == a.seed
    b = hd.Problem.power_law(8, 1.0, 1.0, seed=a.seed, rotate=True)
    assert np.array_equal(a.initial_error, b.initial_error) and np.array_equal(a.basis, b.basis)
    assert hd.Problem.isotropic(8, seed=3).seed == 3
    assert np.array_equal(hd.Problem.isotropic(8, seed=np.random.SeedSequence(3)).initial_error,
                          hd.Problem.isotropic(8, seed=3).initial_error)


def test_from_samples_warns_when_k_is_rank_deficient():
    X = np.random.default_rng(0).standard_normal((5, 10))
    with pytest.warns(UserWarning, match=r"n = 5 samples in d = 10 dimensions has rank 5"):
        prob = hd.Problem.from_samples(X, np.ones(10))
    assert np.sum(prob.eigenvalues > 1e-12) == 5
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hd.Problem.from_samples(np.random.default_rng(0).standard_normal((30, 10)), np.ones(10))
