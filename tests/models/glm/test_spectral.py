"""The limit of spectral SGD on multi-output least squares (docs/norms.md §4): its factors against independent
computations, and the risk curve against Monte Carlo of the real orthogonalised update."""
import math

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
import sympy as sp

import hdlimits as hd
from hdlimits.core.errors import LimitNotAvailable
from hdlimits.models.glm import spectral as S


class _FixedI:
    """Expectations stub with a given I_m (J = identity): isolates the Wishart factors."""

    def __init__(self, Im):
        m = Im.shape[0]
        self.I = np.zeros((2 * m, 2 * m))
        self.I[:m, :m] = Im

    def evaluate(self, B):
        return 0.0, np.eye(self.I.shape[0]), self.I


def _model(m):
    return hd.models.multi_index(student=lambda r: sp.Matrix(r), teacher=lambda s: sp.Matrix(s),
                                 loss="square", m=m, m_star=m)


def _problem(d, m=2, seed=0, noise=0.2):
    rng = np.random.default_rng(seed)
    lam = np.linspace(0.2, 2.0, d)
    Xs = rng.standard_normal((d, m)) / np.sqrt(d) * np.linspace(1.0, 0.7, m)
    X0 = 0.5 * rng.standard_normal((d, m)) / np.sqrt(d)
    return hd.GLMProblem.from_spectrum(lam, Xs, X0, model=_model(m), noise=hd.noise.gaussian(noise))


def test_m1_factor_is_the_chi_mean():
    """m = 1: Q_out = E[χ_B]·√I/(I·√λ̄) with E[χ_B] from scipy; noise 1/λ̄."""
    for Bs in (1, 3, 50):
        f = S.SpectralFactors(_FixedI(np.array([[0.7]])), 1, Bs, lam_bar=1.3)
        Q, N = f.factors(None)
        assert Q[0, 0] == pytest.approx(scipy.stats.chi(Bs).mean() / math.sqrt(0.7 * 1.3), rel=1e-12)
        assert N[0, 0] == pytest.approx(1 / 1.3, rel=1e-14)


@pytest.mark.parametrize("Bs", [1, 2, 5, 40])
def test_m2_factor_against_independent_monte_carlo(Bs):
    """E[(ΨΨᵀ)^{1/2}] of the reduction vs scipy sqrtm on 4000 independent draws (tolerance 4 standard
    errors plus the quadrature's stated 2e-3); the projector for B < m likewise."""
    Im = np.array([[1.0, 0.35], [0.35, 0.4]])
    f = S.SpectralFactors(_FixedI(Im), 2, Bs, lam_bar=1.0)
    Esqrt, Eproj = f.moments(Im)
    rng = np.random.default_rng(123)
    L = np.linalg.cholesky(Im)
    sq, pr = [], []
    for _ in range(4000):
        P = L @ rng.standard_normal((2, Bs))
        M = P @ P.T
        sq.append(np.real(scipy.linalg.sqrtm(M)) if Bs >= 2 else M / np.sqrt(np.trace(M)))
        pr.append(np.eye(2) if Bs >= 2 else M / np.trace(M))
    sq, pr = np.array(sq), np.array(pr)
    se = sq.std(axis=0) / np.sqrt(len(sq))
    assert np.all(np.abs(Esqrt - sq.mean(axis=0)) <= 4 * se + 2e-3 * np.abs(Esqrt).max())
    se_p = pr.std(axis=0) / np.sqrt(len(pr))
    assert np.all(np.abs(Eproj - pr.mean(axis=0)) <= 4 * se_p + 1e-12)
    assert np.trace(Eproj) == pytest.approx(min(Bs, 2), rel=1e-12)
    Q, _ = f.factors(None)
    assert np.allclose(Q, Q.T)


def test_large_batch_factor_is_the_shampoo_proxy():
    """B → ∞: Q_out → √(B/λ̄)·I_m^{-1/2} (relative gap O(1/B))."""
    Im = np.array([[1.0, 0.35], [0.35, 0.4]])
    proxy_root = np.linalg.inv(np.real(scipy.linalg.sqrtm(Im)))
    gaps = []
    for Bs in (16, 256):
        Q, _ = S.SpectralFactors(_FixedI(Im), 2, Bs, lam_bar=2.0).factors(None)
        proxy = math.sqrt(Bs / 2.0) * proxy_root
        gaps.append(np.abs(Q - proxy).max() / np.abs(proxy).max())
    assert gaps[1] < 0.01 and gaps[1] < gaps[0] / 4


def test_non_gaussian_psi_has_no_limit():
    rng = np.random.default_rng(0)
    d = 50
    prob = hd.GLMProblem.from_spectrum(np.ones(d), rng.standard_normal(d) / np.sqrt(d),
                                       model=hd.models.relu())
    with pytest.raises(LimitNotAvailable, match="Gaussian"):
        hd.predict_risk(prob, hd.SpectralSGD(0.5), [0.0, 1.0])
    prob_t = hd.GLMProblem.from_spectrum(np.ones(d), rng.standard_normal(d) / np.sqrt(d),
                                         noise=hd.noise.student_t(3.0, 0.3))
    with pytest.raises(LimitNotAvailable):
        hd.predict_risk(prob_t, hd.SpectralSGD(0.5), [0.0, 1.0])
    assert S.gaussian_psi(_model(2), hd.noise.gaussian(0.1))


@pytest.mark.parametrize("Bs", [1, 4])
def test_limit_matches_monte_carlo(Bs):
    """m = m* = 2, d = 400, λ uniform on [0.2, 2], σ = 0.2, γ = 0.5: the limit vs 12 runs of the real update;
    every time within z standard errors plus the quadrature's 2e-3 relative, z the Bonferroni Student-t
    quantile of the project's verdict (1% over the 6 compared times, docs/results.md)."""
    prob = _problem(400)
    opt = hd.SpectralSGD(0.5, batch=Bs)
    t = np.linspace(0.0, 3.0, 7)
    th = hd.predict_risk(prob, opt, t, rtol=1e-5)
    runs = 12
    sim = hd.simulate(prob, opt, t, runs=runs, seed=2, progress=False)
    assert th.status == "ok" and sim.status == "ok"
    assert th.risk[-1] < 0.2 * th.risk[0]                      # the curve moves: the check has teeth
    z = scipy.stats.t.ppf(1 - 0.01 / (2 * 6), runs - 1)
    tol = z * sim.stderr("risk") + 2e-3 * th.risk
    assert np.all(np.abs(sim.risk - th.risk) <= tol), (th.risk, sim.risk, sim.stderr("risk"))
