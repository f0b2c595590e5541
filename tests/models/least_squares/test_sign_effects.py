"""The four effects of signSGD (hdlimits.models.least_squares.sign_effects) against values computed independently here."""
import math

import numpy as np
import pytest
from scipy import stats

import hdlimits as hd
from hdlimits.models.least_squares.sign_effects import compression_ratio, sign_effects, sign_stationary_excess_risk


def test_gaussian_noise_compression_is_pi_squared_over_four_at_every_risk():
    P = np.geomspace(1e-4, 1e3, 30)
    rho = compression_ratio(P, hd.noise.gaussian(0.7))
    assert np.allclose(rho, math.pi ** 2 / 4, rtol=1e-10)


@pytest.mark.parametrize("df, expected", [(3.0, 0.969), (2.5, 0.600)])
def test_student_t_compression_at_small_risk(df, expected):
    # P → 0: φ(P)√P → (2/π)√(2π) p_ε(0), so ρ(0+) = π / (8 p_ε(0)² E ε²) (docs/signsgd.md §8, C10)
    p0 = stats.t.pdf(0.0, df)
    m2 = df / (df - 2)
    rho0 = math.pi / (8 * p0 ** 2 * m2)
    assert rho0 == pytest.approx(expected, abs=1e-3)
    rho = compression_ratio(np.array([1e-6]), hd.noise.student_t(df, 1.0))[0]
    assert rho == pytest.approx(rho0, rel=1e-3)
    assert rho < 1.0                                           # heavy tails: signSGD compresses noise


def test_effects_on_a_diagonal_problem():
    prob = hd.Problem.power_law(d=300, alpha=1.0, beta=1.0, noise=hd.noise.gaussian(0.5), seed=0)
    eff = sign_effects(prob, lr=0.8, t=np.linspace(0, 4, 9))
    # 1. effective learning rate γ·(2/π)/√(P + σ²) for Gaussian noise
    assert np.allclose(eff.effective_lr, 0.8 * (2 / math.pi) / np.sqrt(eff.P + 0.25), rtol=1e-8)
    assert eff.P[0] == pytest.approx(2 * prob.initial_excess_risk)
    # 2. compression π²/4 along the trajectory
    assert np.allclose(eff.compression, math.pi ** 2 / 4)
    # 3. diagonal preconditioning square-roots the condition number of a diagonal K
    assert eff.sign_condition == pytest.approx(math.sqrt(eff.sgd_condition), rel=1e-10)
    # 4. noise reshaping: for diagonal K the arcsine matrix is I, so Σ_j w_j = tr(D^{1/2}) = Σ_i √K_ii
    assert np.sum(eff.sign_noise_weights) == pytest.approx(np.sum(np.sqrt(prob.diagonal)), rel=1e-10)


def test_effects_under_a_random_rotation():
    prob = hd.Problem.power_law(d=400, alpha=0.5, beta=1.0, noise=hd.noise.gaussian(0.5), seed=1,
                                rotate=True)
    eff = sign_effects(prob, lr=0.8, t=np.linspace(0, 2, 3))
    # diag K concentrates on its mean under a Haar rotation: no preconditioning benefit
    assert abs(math.log(eff.sign_condition / eff.sgd_condition)) < 0.3
    # (2/π) arcsin shrinks every correlation: |2/π arcsin x| ≤ |x|
    assert 0 < eff.arcsine_offdiag_rms < eff.correlation_offdiag_rms
    # Σ_j w_j = tr(D^{1/2} K_σ) = Σ_i √K_ii because diag K_σ = 1
    assert np.sum(eff.sign_noise_weights) == pytest.approx(np.sum(np.sqrt(prob.diagonal)), rel=1e-8)


def test_stationary_risk_claim_C5():
    # K = I, η = 1, σ = 1: R∞ = c² + c√(c² + σ²), c = π/8 → 0.5761 (the paper's excess risk ½eᵀKe)
    c = math.pi / 8
    expected = c * c + c * math.sqrt(c * c + 1)
    iso = hd.Problem.isotropic(200, noise=hd.noise.gaussian(1.0))
    assert expected == pytest.approx(0.5761, abs=1e-4)
    assert sign_stationary_excess_risk(iso, 1.0) == pytest.approx(expected, rel=1e-10)
    # no divergence threshold: a root for very large learning rates too
    assert math.isfinite(sign_stationary_excess_risk(iso, 1e4))


def test_bad_inputs():
    prob = hd.Problem.isotropic(20)
    with pytest.raises(ValueError, match="noise"):
        sign_effects(prob, noise="gaussian")
    with pytest.raises(ValueError, match="lr"):
        sign_effects(prob, lr=-1.0)
    with pytest.raises(ValueError, match="lr"):
        sign_stationary_excess_risk(prob, 0.0)
