"""Clipped / normalized SGD: limit vs simulation (d = 1000), divergence behaviour, input checks.

Tolerance per recorded time: 4 standard errors of the run mean plus a finite-d allowance 2/√d of the
theory (the notes report 1–5% deviations at d = 1000, O(d^{-1/2}) for trajectories).
"""
import numpy as np
import pytest

import hdlimits as hd


def _agree(th, sim, d):
    tol = 4 * sim.excess_risk_stderr + 2 / np.sqrt(d) * th.excess_risk
    assert np.all(np.abs(sim.excess_risk - th.excess_risk) <= tol), (th.excess_risk, sim.excess_risk, tol)


@pytest.mark.parametrize("noise", [hd.noise.gaussian(0.5), hd.noise.student_t(3, 0.5),
                                   hd.noise.student_t(2.5, 0.5), hd.noise.rademacher(0.5)], ids=str)
def test_clipped_limit_vs_simulation(noise):
    d = 1000
    prob = hd.Problem.power_law(d=d, alpha=0.3, beta=0.0, noise=noise, seed=0)
    opt = hd.ClippedSGD(lr=1.5, clip=0.5 * np.sqrt(prob.trace))
    t = np.linspace(0, 4, 9)
    th = hd.predict_risk(prob, opt, t)
    sim = hd.simulate(prob, opt, t, runs=4, seed=3, progress=False)
    assert th.status == "ok" and sim.status == "ok"
    _agree(th, sim, d)


def test_normalized_limit_vs_simulation():
    d = 1000
    prob = hd.Problem.power_law(d=d, alpha=0.3, beta=0.0, noise=hd.noise.student_t(3, 0.5), seed=0)
    opt = hd.NormalizedSGD(lr=1.0)
    t = np.linspace(0, 4, 9)
    th = hd.predict_risk(prob, opt, t)
    sim = hd.simulate(prob, opt, t, runs=4, seed=4, progress=False)
    _agree(th, sim, d)


def test_clipping_survives_a_divergent_learning_rate():
    d = 1000
    prob = hd.Problem.isotropic(d, noise=hd.noise.gaussian(0.5))
    t = np.linspace(0, 5, 6)
    lr = 2.5  # SGD diverges for γ tr K/d > 2
    sgd_th = hd.predict_risk(prob, hd.SGD(lr=lr), t)
    sgd_sim = hd.simulate(prob, hd.SGD(lr=lr), t, runs=2, seed=0, progress=False)
    assert sgd_th.excess_risk[-1] > 50 * sgd_th.excess_risk[0]      # exponential growth
    assert sgd_sim.excess_risk[-1] > 50 * sgd_sim.excess_risk[0]
    opt = hd.ClippedSGD(lr=lr, clip=0.3 * np.sqrt(prob.trace))
    th = hd.predict_risk(prob, opt, t)
    sim = hd.simulate(prob, opt, t, runs=4, seed=1, progress=False)
    assert th.status == "ok" and sim.status == "ok"
    _agree(th, sim, d)


def test_input_checks():
    with pytest.raises(ValueError, match="batch must be 1"):
        hd.ClippedSGD(lr=1.0, clip=1.0, batch=4)
    with pytest.raises(ValueError, match="clip"):
        hd.ClippedSGD(lr=1.0, clip=-1.0)
    prob = hd.Problem.isotropic(50, noise=hd.noise.gaussian(0.5))
    with pytest.raises(ValueError, match="time-dependent"):
        hd.ClippedSGD(lr=1.0, clip=lambda t: 1.0 + 0 * t).limit(prob)
