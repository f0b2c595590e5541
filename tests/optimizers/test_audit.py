"""Regression tests for the audit's optimizer findings (clip schedules, rest state at the optimum,
readable descriptions)."""
import numpy as np
import pytest

import hdlimits as hd

PROB = hd.Problem.power_law(d=60, alpha=1.0, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)
T = np.linspace(0.0, 1.0, 6)


@pytest.mark.parametrize("clip", [lambda t: 5.0 - 10.0 * t, lambda t: 0.0 * t])
def test_clip_schedule_must_be_positive_in_theory_and_simulation(clip):
    opt = hd.ClippedSGD(1.0, clip)
    with pytest.raises(ValueError, match=r"^clip schedule must return .*\(0, inf\)"):
        hd.predict_risk(PROB, opt, T)
    with pytest.raises(ValueError, match=r"^clip schedule must return .*\(0, inf\)"):
        hd.simulate(PROB, opt, T, runs=1, seed=0)


def test_library_schedule_as_clip_is_checked_on_the_horizon():
    opt = hd.ClippedSGD(1.0, hd.schedules.cosine(5.0, 1.0, final_lr=0.0))   # 0 from t = 1 on
    with pytest.raises(ValueError, match="clip schedule"):
        hd.predict_risk(PROB, opt, np.linspace(0, 2, 5))


@pytest.mark.parametrize("opt", [hd.Adam(0.5), hd.AdamLimit(0.5), hd.NormalizedSGD(0.5), hd.SignSGD(0.5),
                                 hd.ClippedSGD(0.5, 1.0), hd.SGD(0.5)])
def test_from_the_optimum_without_noise_nothing_moves(opt):
    prob = hd.Problem.power_law(d=50, alpha=1.0, beta=1.0, initial_size=0.0, noise=hd.noise.none(), seed=0)
    t = np.linspace(0.0, 2.0, 5)
    for method in ("ode", "recursion"):
        th = hd.predict_risk(prob, opt, t, method=method)
        assert th.status == "ok" and np.all(th.risk == 0.0)
    sim = hd.simulate(prob, opt, t, runs=2, seed=0)
    assert sim.status == "ok" and np.all(sim.risk == 0.0)


def my_schedule(t):
    return 1.0 / (1.0 + t)


def test_callable_learning_rates_are_described_by_name():
    assert hd.SGD(my_schedule).describe() == "SGD(lr=my_schedule, batch=1)"
    assert "0x" not in hd.SignSGD(lambda t: 0.5).describe()
    assert "0x" not in hd.ClippedSGD(1.0, lambda t: 2.0 + 0 * t).describe()
