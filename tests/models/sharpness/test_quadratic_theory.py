"""Mean-NTK theory of the wide quadratic model (docs/sharpness_quadratic.md §3–§5): the GD closed form
(C10), the noise operators against enumerated batches, reductions between optimizers, and the
theory values quoted in the reference notes (C11/C12 theory columns)."""
from itertools import combinations, product

import numpy as np
import pytest

import hdlimits as hd
from hdlimits import sharpness as hs
from hdlimits.core.errors import LimitNotAvailable
from hdlimits.models.sharpness.mean_ntk import noise_operator

LAM = [1.6, 1.2, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5]
WIDE = hs.QuadraticModel.wide(LAM, P=1000, sigma2=0.01, residual0=1.0, seed=0)
SQ = 1 + 1 / 1000      # the theory uses s_Q = σ²(1 + 1/P); the claims quote σ² alone


def _shift(th):
    return th.sharpness[-1] - th.sharpness[0]


def test_c10_gd_closed_form_equals_the_recursion():
    rec = hs.predict(WIDE, hd.GD(0.5), 40)
    cf = hs.gd_closed_form(WIDE, 0.5, 40)
    assert np.abs(cf["ntk"] - rec.state["mean_ntk"]).max() < 1e-6
    assert np.abs(cf["h"] - rec.param_norm).max() < 1e-6
    th = hs.predict(WIDE, hd.GD(0.5), 40, method="closed-form")
    np.testing.assert_allclose(th.ntk_eigenvalues, rec.ntk_eigenvalues, atol=1e-6)
    # h_∞ = z₀ᵀΘ₀⁻¹z₀ = 9.9147 (C10, docs/sharpness_quadratic.md §8)
    assert abs(hs.predict(WIDE, hd.GD(0.5), 400).param_norm[-1] - 9.9147) < 5e-5


@pytest.mark.parametrize("lr", [0.3, 0.5, 0.9, 1.2])
def test_gd_limit_shift_is_the_long_time_first_order_form(lr):
    rec = hs.mean_ntk_recursion(WIDE, lr, 3000)
    first = hs.first_order_eigenvalues(WIDE, rec["ntk"])
    np.testing.assert_allclose(first[-1] - WIDE.ntk_eigenvalues, hs.gd_limit_shift(WIDE, lr), atol=1e-6)
    # the mode-specific part changes sign at ηλ = 1 (docs/sharpness_quadratic.md §4)
    shift = hs.gd_limit_shift(WIDE, lr) - SQ * 0.01 * 9.914682539682540
    lam = WIDE.ntk_eigenvalues
    assert np.all(np.sign(shift[lr * lam != 1]) == np.sign(1 - lr * lam[lr * lam != 1]))


def test_theory_values_quoted_in_the_notes():
    gd = hs.predict(WIDE, hd.GD(0.5), 40)
    sgd4 = hs.predict(WIDE, hd.SGD(0.5, 4), 40)
    sgd6 = hs.predict(WIDE, hd.SGD(0.5, 6), 40)
    sam = hs.predict(WIDE, hd.SAM(0.5, 0.5), 40)
    assert abs(_shift(gd) / SQ - 0.1019) < 1e-4                    # C11
    assert abs(_shift(sgd4) / SQ - 0.0812) < 1e-4                  # C11
    assert abs((sgd4.sharpness[-1] - gd.sharpness[-1]) / SQ + 0.0207) < 1e-4     # C12
    assert abs((sgd6.sharpness[-1] - gd.sharpness[-1]) / SQ + 0.0029) < 1e-4     # C12
    # C12 erratum: with the ρ² term the first-order SAM − GD is −0.0297 (the old formula gave −0.0221)
    assert abs((sam.sharpness[-1] - gd.sharpness[-1]) / SQ + 0.0297) < 1e-4
    # the smallest eigenvalue moves much less than the top one (conservative sharpening)
    for th in (sgd4, sgd6, sam):
        assert abs(th.min_ntk_eigenvalue[-1] - gd.min_ntk_eigenvalue[-1]) < 0.006


def test_sam_term_per_eigenvalue():
    # one step from t = 0: the SAM − GD residual-independent shift of eigenvalue α is
    # −2ηρσ²λ_α(1 + ρλ_α)M_αα plus the (I+ρΘ₀) factor of the residual-aligned term, which vanishes at t = 0
    # (M₀ = z₀z₀ᵀ = z₀ẑ₀ᵀ); the isotropic lift differs by s_Q Δh
    eta, rho = 0.5, 0.3
    sam = hs.mean_ntk_recursion(WIDE, eta, 1, rho=rho)
    gd = hs.mean_ntk_recursion(WIDE, eta, 1)
    s2 = 0.01 * SQ
    lam = np.array(LAM)
    dh = (sam["h"][1] - gd["h"][1])
    want = s2 * dh - 2 * eta * rho * s2 * lam * (1 + rho * lam)
    np.testing.assert_allclose(np.diag(sam["ntk"][1] - gd["ntk"][1]), want, atol=1e-14)
    R = 1 + rho * lam
    np.testing.assert_allclose(sam["h"][1], eta ** 2 * np.sum(R ** 2 * lam), rtol=1e-12)


def _enumerated_noise(M, B, sampling):
    D = M.shape[0]
    out = np.zeros_like(M)
    if sampling == "without_replacement":
        sets = list(combinations(range(D), B))
        weights = [(np.bincount(s, minlength=D) * D / B, 1 / len(sets)) for s in sets]
    elif sampling == "with_replacement":
        weights = [(np.bincount(s, minlength=D) * D / B, D ** -B) for s in product(range(D), repeat=B)]
    else:
        beta = B / D
        weights = [(np.array(m) / beta, beta ** sum(m) * (1 - beta) ** (D - sum(m)))
                   for m in product((0, 1), repeat=D)]
    for w, p in weights:
        E = np.diag(w) - np.eye(D)
        out += p * E @ M @ E
    return out


@pytest.mark.parametrize("sampling", ["without_replacement", "with_replacement", "bernoulli"])
def test_noise_operator_against_enumerated_batches(sampling):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 5))
    M = a @ a.T
    for B in (1, 2, 4):
        np.testing.assert_allclose(noise_operator(M, B, sampling), _enumerated_noise(M, B, sampling),
                                   atol=1e-12)


def test_reductions_between_optimizers():
    gd = hs.predict(WIDE, hd.GD(0.5), 30)
    for other in (hs.predict(WIDE, hd.SAM(0.5, 0.0), 30), hs.predict(WIDE, hd.SGD(0.5, 8), 30),
                  hs.predict(WIDE, hd.SAM(0.5, 0.0, batch=8), 30)):
        np.testing.assert_allclose(other.ntk_eigenvalues, gd.ntk_eigenvalues, atol=1e-13)
    # sampling matters: with replacement (c = D/B) injects more noise than without (c = (1−β)/β·D/(D−1))
    w6, b6, r6 = (_shift(hs.predict(WIDE, hd.SGD(0.5, 6), 40, sampling=s))
                  for s in ("without_replacement", "bernoulli", "with_replacement"))
    assert r6 < w6 < _shift(gd) and abs(b6 - w6) > 1e-6
    # B = 4 with replacement: top-mode factor (1−ηλ)² + η²λ²(D/B)(1 − 1/D) = 1.16 > 1, past the edge
    th = hs.predict(WIDE, hd.SGD(0.5, 4), 40, sampling="with_replacement")
    assert any("edge of stability" in w for w in th.warnings)


def test_first_order_method_and_observables():
    th = hs.predict(WIDE, hd.SGD(0.5, 4), 40, method="first-order")
    assert th.ntk_eigenvalues.shape == (41, 8) and th.method == "first-order"
    np.testing.assert_array_equal(th.sharpness, th.ntk_eigenvalues[:, -1])
    full = hs.predict(WIDE, hd.SGD(0.5, 4), 40)
    assert np.abs(th.sharpness - full.sharpness).max() < 2e-3          # off-diagonal terms are second order
    assert full.loss[0] == 4.0 and full.param_norm[0] == 0.0 and np.all(np.diff(full.loss) < 0)
    np.testing.assert_array_equal(full.step, np.arange(41))
    with pytest.raises(ValueError, match="closed-form"):
        hs.predict(WIDE, hd.SGD(0.5, 4), 4, method="closed-form")


def test_pairs_without_a_theory():
    for opt in (hd.SAM(0.5, 0.5, batch=4), hd.SAM(0.5, 0.5, normalized=True), hd.Adam(0.5)):
        with pytest.raises(LimitNotAvailable):
            hs.predict(WIDE, opt, 10)
    small = hs.QuadraticModel.wide(LAM, P=30, seed=1)
    sim = hs.simulate(small, hd.SAM(0.3, 0.1, batch=4), 5, draws=2, runs=2, seed=0)
    assert sim.status == "ok" and np.all(np.isfinite(sim.sharpness))


def test_past_the_edge_the_theory_says_so():
    th = hs.predict(WIDE, hd.GD(1.3), 400)              # ηλ_max = 2.08: the linear residual blows up
    assert th.status == "diverged" and np.isinf(th.loss[-1])
    th = hs.predict(WIDE, hd.SGD(0.5, 3), 40)           # top mode past the localised S-EOS
    assert th.status == "ok" and any("edge of stability" in w for w in th.warnings)
