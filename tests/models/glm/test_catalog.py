"""The GLM model catalog (docs/glm.md §1): per-sample kernels against the sympy ψ, label randomness, bad input."""
import numpy as np
import pytest
import sympy as sp

import hdlimits as hd
from hdlimits.models.glm import catalog
from hdlimits.models.glm.catalog import relu_fn

F = sp.Matrix([[1, 0], [0, sp.Rational(3, 10)]])
FS = sp.Matrix([[1, sp.Rational(1, 2)], [0, 1]])


def two_neuron():
    return hd.models.multi_index(lambda r: relu_fn(r[0]) + relu_fn(r[1]), lambda s: relu_fn(s[0]))


def linear_head():
    return hd.models.multi_index(lambda r: F * sp.Matrix(r), lambda s: FS * sp.Matrix(s))


MODELS = [hd.models.least_squares, hd.models.relu, hd.models.phase_retrieval, hd.models.logistic, two_neuron,
          linear_head]


def test_public_factories_and_shapes():
    assert hd.models.relu() is hd.models.relu()
    assert (hd.models.least_squares().m, hd.models.least_squares().m_star) == (1, 1)
    tn, lin = two_neuron(), linear_head()
    assert (tn.m, tn.m_star, tn.k, tn.n_xi, tn.smooth) == (2, 1, 3, 1, False)
    assert (lin.m, lin.m_star, lin.n_xi, lin.smooth) == (2, 2, 2, True)
    assert hd.models.logistic().labels == "bernoulli" and hd.models.logistic().n_xi == 1
    assert not hd.models.relu().smooth and hd.models.phase_retrieval().smooth
    # the least-squares sub-package stays importable
    from hdlimits.models.least_squares import problem  # noqa: F401


@pytest.mark.parametrize("factory", MODELS, ids=lambda f: f.__name__)
def test_sample_psi_matches_sympy(factory):
    model = factory()
    rng = np.random.default_rng(1)
    noise = hd.noise.none() if model.labels == "bernoulli" else hd.noise.gaussian(0.4)
    psi_f = [sp.lambdify(model.r + model.eps, p, modules=catalog.S.numpy_modules()) for p in model.psi]
    loss_f = sp.lambdify(model.r + model.eps, model.loss, modules=catalog.S.numpy_modules())
    out = np.zeros(model.m)
    for _ in range(50):
        r = rng.standard_normal(model.k)
        xi = model.draw_xi(noise, rng, 1)[0]
        if model.labels == "bernoulli":
            lab = [1.0 if xi[0] < 1.0 / (1.0 + np.exp(-r[1])) else 0.0]
        else:
            lab = list(xi)
        f = model.sample_psi(r, xi, out)
        assert f == pytest.approx(float(loss_f(*r, *lab)), rel=1e-12, abs=1e-12)
        assert out == pytest.approx([float(p(*r, *lab)) for p in psi_f], rel=1e-12, abs=1e-12)


def test_relu_psi_is_zero_at_the_kink():
    out = np.ones(1)
    f = hd.models.relu().sample_psi(np.array([0.0, 0.7]), np.array([0.1]), out)
    assert out[0] == 0.0 and f == pytest.approx(0.5 * 0.8 ** 2)


def test_draw_xi():
    rng = np.random.default_rng(0)
    xi = linear_head().draw_xi(hd.noise.gaussian(0.3), rng, 200_000)
    assert xi.shape == (200_000, 2) and abs(xi.std() - 0.3) < 4 * 0.3 / np.sqrt(2 * 200_000)
    u = hd.models.logistic().draw_xi(hd.noise.none(), rng, 1000)
    assert u.shape == (1000, 1) and 0.0 <= u.min() and u.max() < 1.0


def test_multi_index_widths_inferred_and_given():
    m = hd.models.multi_index(lambda r: r[0] * r[1] * r[2], lambda s: s[0])
    assert (m.m, m.m_star) == (3, 1)
    m = hd.models.multi_index(lambda r: r[0], lambda s: s[0], m=2, m_star=1)
    assert m.m == 2 and m.psi[1] == 0


@pytest.mark.parametrize("kwargs, name", [
    (dict(student=3.0, teacher=lambda s: s[0]), "student"),
    (dict(student=lambda r: r[0], teacher="relu"), "teacher"),
    (dict(student=lambda r: r[0], teacher=lambda s: s[0], loss="hinge"), "loss"),
    (dict(student=lambda r: [r[0], r[0]], teacher=lambda s: s[0]), "teacher"),
    (dict(student=lambda r: r[0], teacher=lambda s: s[0], m=0), "m"),
])
def test_multi_index_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        hd.models.multi_index(**kwargs)


def test_noise_not_allowed():
    with pytest.raises(ValueError, match="noise.*label noise must be none"):
        hd.models.logistic().check_noise(hd.noise.gaussian(0.1))
    with pytest.raises(ValueError, match=r"noise.*second moment.*df > 2"):
        hd.models.relu().expectations(hd.noise.student_t(2.0))
    custom = hd.models.multi_index(lambda r: r[0], lambda s: s[0], loss=lambda a, b: (a - b) ** 4)
    with pytest.raises(ValueError, match="noise"):
        custom.check_noise(hd.noise.gaussian(0.1))
    with pytest.raises(ValueError, match="noise"):
        hd.models.relu().check_noise("gaussian")
    hd.models.relu().check_noise(hd.noise.student_t(3.0))
