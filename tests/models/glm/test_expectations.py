"""Gaussian expectations of the GLM models (docs/glm.md §2) against textbook values and Monte Carlo.

Monte Carlo here is written in numpy in the test (r = L z, labels drawn), never by the code under test;
tolerances are Z standard errors of the sample means.
"""
import math

import numpy as np
import pytest
import sympy as sp

import hdlimits as hd
from hdlimits.models.glm.catalog import relu_fn

Z = 4.5
B6 = np.array([[1.3, 0.7], [0.7, 0.9]])


def gauss(B, n, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, B.shape[0])) @ np.linalg.cholesky(B).T, rng


def agree(samples, value, z=Z):
    samples = np.asarray(samples, dtype=float)
    se = samples.std() / math.sqrt(samples.size)
    return abs(samples.mean() - value) <= z * se + 1e-12, samples.mean(), se


def test_c6_relu_closed_forms():
    ex = hd.models.relu().expectations(hd.noise.none())
    assert ex.kind == "closed form"
    h, J, I = ex.evaluate(B6)
    a, b = B6[0, 0], B6[1, 1]
    Q = (a / 2 + b / 2 - 2 * h) / 2          # h = ½(a/2 + b/2 − 2E[relu relu])
    assert round(Q, 5) == 0.38466
    assert round(-J[1, 0], 5) == 0.36202     # J21 = −P(r1 > 0, r2 > 0)
    assert (round(J[0, 0], 5), round(J[1, 0], 5)) == (0.39904, -0.36202)
    assert round(I[0, 0], 5) == 0.27717
    assert np.all(J[:, 1] == 0) and I[1, 1] == 0 and I[0, 1] == 0
    r, _ = gauss(B6, 4_000_000, 11)
    r1, r2 = r[:, 0], r[:, 1]
    psi = (r1 > 0) * (np.maximum(r1, 0) - np.maximum(r2, 0))
    y = r @ np.linalg.inv(B6)
    for s, v in ((np.maximum(r1, 0) * np.maximum(r2, 0), Q), (((r1 > 0) & (r2 > 0)), -J[1, 0]),
                 (y[:, 0] * psi, J[0, 0]), (y[:, 1] * psi, J[1, 0]), (psi ** 2, I[0, 0]),
                 (0.5 * (np.maximum(r1, 0) - np.maximum(r2, 0)) ** 2, h)):
        ok, mean, se = agree(s, v)
        assert ok, (mean, v, se)
    # the naive a.e. derivative E[1{r1>0}] = ½ misses the jump of ψ at r1 = 0: far outside the MC error
    _, mean, se = agree(y[:, 0] * psi, 0.5)
    assert abs(mean - 0.5) > 5 * se


def test_relu_with_noise_mean_and_variance_vs_monte_carlo():
    noise = hd.noise.gaussian_mixture([0.7, 0.3], [0.2, -0.1], [0.3, 0.5])
    ex = hd.models.relu().expectations(noise)
    h, J, I = ex.evaluate(B6)
    r, rng = gauss(B6, 2_000_000, 12)
    eps = noise.sample(rng, r.shape[0])
    g = np.maximum(r[:, 0], 0) - np.maximum(r[:, 1], 0) - eps
    psi = (r[:, 0] > 0) * g
    y = r @ np.linalg.inv(B6)
    for s, v in ((0.5 * g * g, h), (y[:, 0] * psi, J[0, 0]), (y[:, 1] * psi, J[1, 0]), (psi ** 2, I[0, 0])):
        assert agree(s, v)[0]


def test_c6_phase_retrieval():
    ex = hd.models.phase_retrieval().expectations(hd.noise.none())
    assert ex.kind == "closed form"
    h, J, I = ex.evaluate(B6)
    assert (round(J[0, 0], 4), round(J[1, 0], 4), round(I[0, 0], 4), round(h, 4)) == (6.0, -2.8, 67.968, 1.6)
    r, _ = gauss(B6, 4_000_000, 13)
    r1, r2 = r[:, 0], r[:, 1]
    psi = 2 * r1 * (r1 ** 2 - r2 ** 2)
    y = r @ np.linalg.inv(B6)
    for s, v in ((6 * r1 ** 2 - 2 * r2 ** 2, J[0, 0]), (-4 * r1 * r2, J[1, 0]), (y[:, 0] * psi, J[0, 0]),
                 (psi ** 2, I[0, 0]), (0.5 * (r1 ** 2 - r2 ** 2) ** 2, h)):
        assert agree(s, v)[0]


def test_least_squares_is_exactly_the_mode_formulas():
    noise = hd.noise.gaussian(0.5)
    ex = hd.models.least_squares().expectations(noise)
    v = np.array([1.0, -1.0])
    for B in (B6, np.array([[0.0, 0.0], [0.0, 2.0]]), np.array([[3.0, -1.0], [-1.0, 0.5]])):
        h, J, I = ex.evaluate(B)
        q = v @ B @ v
        assert h == pytest.approx(0.5 * (q + 0.25), rel=1e-14)
        assert np.array_equal(J, [[1.0, 0.0], [-1.0, 0.0]])
        assert I[0, 0] == pytest.approx(q + 0.25, rel=1e-14) and np.count_nonzero(I) == 1
        C = ex.curvature(B)
        expect = np.zeros((2, 2, 2, 2))
        expect[:, :, 0, 0] = 2 * np.outer(v, v)
        assert np.allclose(C, expect, atol=1e-14)
        assert ex.risk(B) == pytest.approx(h, rel=1e-14)


def sample_logistic(B, n, seed):
    r, rng = gauss(B, n, seed)
    y = (rng.random(n) < 1 / (1 + np.exp(-r[:, 1]))).astype(float)
    return r, r[:, 0], 1 / (1 + np.exp(-r[:, 0])) - y, np.logaddexp(0, r[:, 0]) - y * r[:, 0]


@pytest.mark.parametrize("B", [np.array([[0.8, 0.5], [0.5, 1.0]]), np.array([[9.0, 11.0], [11.0, 16.0]])],
                         ids=["b=1", "b=16"])
def test_logistic_vs_monte_carlo(B):
    ex = hd.models.logistic().expectations(hd.noise.none())
    assert ex.kind == "quadrature" and ex.check_error <= ex.check_tolerance
    h, J, I = ex.evaluate(B)
    r, _, psi, f = sample_logistic(B, 2_000_000, 14)
    y = r @ np.linalg.inv(B)
    for s, val in ((f, h), (y[:, 0] * psi, J[0, 0]), (y[:, 1] * psi, J[1, 0]), (psi ** 2, I[0, 0])):
        ok, mean, se = agree(s, val)
        assert ok, (mean, val, se)


def test_logistic_at_a_student_started_at_zero():
    ex = hd.models.logistic().expectations(hd.noise.none())
    B = np.array([[0.0, 0.0], [0.0, 2.0]])
    h, J, I = ex.evaluate(B)
    # σ(0) = ½: J11 = σ'(0) = ¼, J21 = −E σ'(r2), I = E[¼ − σ(r2) + σ(r2)] = ¼, h = log 2
    assert J[0, 0] == pytest.approx(0.25, abs=1e-9)
    assert I[0, 0] == pytest.approx(0.25, abs=1e-9)
    assert h == pytest.approx(math.log(2.0), abs=1e-9)


def test_nonsmooth_model_needs_positive_definite_overlaps():
    ex = hd.models.relu().expectations(hd.noise.none())
    B = np.array([[0.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="non-degenerate overlaps"):
        ex.evaluate(B)
    assert ex.risk(B) == pytest.approx(0.25, abs=1e-12)       # ½ E relu(r2)² = b/4


def curvature_mc(B, psi, r):
    Bi = np.linalg.inv(B)
    y = r @ Bi
    return {(a, b): (y[:, a] * y[:, b] - Bi[a, b]) * psi * psi for a in range(2) for b in range(2)}


def test_curvature_logistic_vs_monte_carlo():
    B = np.array([[0.8, 0.5], [0.5, 1.0]])
    C = hd.models.logistic().expectations(hd.noise.none()).curvature(B)
    assert np.count_nonzero(C[:, :, 1, :]) == 0 and np.count_nonzero(C[:, :, :, 1]) == 0
    r, _, psi, _ = sample_logistic(B, 2_000_000, 15)
    for (a, b), s in curvature_mc(B, psi, r).items():
        ok, mean, se = agree(s, C[a, b, 0, 0])
        assert ok, (a, b, mean, C[a, b, 0, 0], se)


def test_curvature_least_squares_and_relu_vs_monte_carlo():
    noise = hd.noise.gaussian(0.3)
    r, rng = gauss(B6, 2_000_000, 16)
    eps = noise.sample(rng, r.shape[0])
    for model, psi in ((hd.models.least_squares(), r[:, 0] - r[:, 1] - eps),
                       (hd.models.relu(), (r[:, 0] > 0) * (np.maximum(r[:, 0], 0) - np.maximum(r[:, 1], 0) - eps))):
        C = model.expectations(noise).curvature(B6)
        for (a, b), s in curvature_mc(B6, psi, r).items():
            ok, mean, se = agree(s, C[a, b, 0, 0])
            assert ok, (model.name, a, b, mean, C[a, b, 0, 0], se)


def test_two_neuron_relu_vs_monte_carlo():
    model = hd.models.multi_index(lambda r: relu_fn(r[0]) + relu_fn(r[1]), lambda s: relu_fn(s[0]))
    noise = hd.noise.gaussian(0.2)
    ex = model.expectations(noise)
    B = np.array([[1.0, 0.2, 0.5], [0.2, 0.8, -0.3], [0.5, -0.3, 1.2]])
    h, J, I = ex.evaluate(B)
    r, rng = gauss(B, 2_000_000, 17)
    g = np.maximum(r[:, 0], 0) + np.maximum(r[:, 1], 0) - np.maximum(r[:, 2], 0) - noise.sample(rng, r.shape[0])
    psi = [(r[:, 0] > 0) * g, (r[:, 1] > 0) * g]
    y = r @ np.linalg.inv(B)
    checks = [(0.5 * g * g, h)] + [(y[:, i] * psi[j], J[i, j]) for i in range(3) for j in range(2)] + \
             [(psi[c] * psi[e], I[c, e]) for c in range(2) for e in range(2)]
    for s, val in checks:
        ok, mean, se = agree(s, val)
        assert ok, (mean, val, se)


def test_multi_output_linear_vs_monte_carlo():
    F = np.array([[1.0, 0.0], [0.0, 0.3]])
    Fs = np.array([[1.0, 0.5], [0.0, 1.0]])
    model = hd.models.multi_index(lambda r: sp.Matrix(F) * sp.Matrix(r), lambda s: sp.Matrix(Fs) * sp.Matrix(s))
    noise = hd.noise.gaussian(math.sqrt(0.05))
    ex = model.expectations(noise)
    assert ex.kind == "closed form"
    G = np.random.default_rng(3).standard_normal((4, 6))
    B = G @ G.T / 6
    h, J, I = ex.evaluate(B)
    # exact: residual e = F r_s − F* r_t − ε, ψ = Fᵀ e, J = [FᵀF; −F*ᵀF]ᵀ-blocks, h = ½(tr M B + 2·0.05)
    A = np.hstack([F, -Fs])                 # e = A r − ε
    assert h == pytest.approx(0.5 * (np.trace(A @ B @ A.T) + 2 * 0.05), rel=1e-12)
    assert np.allclose(J[:, :2], (F.T @ A).T, atol=1e-14)
    assert np.allclose(I[:2, :2], F.T @ (A @ B @ A.T + 0.05 * np.eye(2)) @ F, rtol=1e-12)
    r, rng = gauss(B, 1_000_000, 18)
    e = r @ A.T - noise.sample(rng, (r.shape[0], 2))
    psi = e @ F
    for c in range(2):
        for d_ in range(2):
            assert agree(psi[:, c] * psi[:, d_], I[c, d_])[0]
    assert agree(0.5 * (e ** 2).sum(axis=1), h)[0]


def test_latex_and_check_recorded():
    for model, noise in ((hd.models.relu(), hd.noise.gaussian(0.1)), (hd.models.logistic(), hd.noise.none()),
                         (hd.models.phase_retrieval(), hd.noise.none())):
        ex = model.expectations(noise)
        text = ex.latex()
        assert "h(B)" in text and "J(B)" in text and "I(B)" in text
        assert ex.checked and 0 <= ex.check_error <= ex.check_tolerance
    assert "\\int" in hd.models.logistic().expectations().latex()
    assert "atan" in hd.models.relu().expectations().latex() or "operatorname{atan_{2}}" in \
        hd.models.relu().expectations().latex()
