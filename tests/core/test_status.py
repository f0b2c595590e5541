"""core.status: Status data and the growth warning (check_growth, UnstableWarning)."""
import warnings

import numpy as np
import pytest

import hdlimits as hd
from hdlimits.core.status import Status, UnstableWarning, check_growth


def test_status_round_trip_and_comparisons():
    s = Status.diverged(0.0853759, "3 of 8 runs")
    assert Status.from_dict(s.to_dict()) == s and s == "diverged" and not s.success
    assert str(s) == "diverged at t=0.0853759 (3 of 8 runs)"
    with pytest.raises(ValueError, match="ok status has no event time"):
        Status("ok", 1.0)


def test_check_growth_rule():
    t = np.linspace(0, 2, 5)
    grow = np.array([0.5, 1.0, 10.0, 100.0, 1000.0])
    with pytest.warns(UnstableWarning, match=r"risk grows without bound \(×2e3 by t=2\)"):
        assert len(check_growth(t, grow, 0.0, Status.ok())) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_growth(t, grow, 1.0, Status.ok()) == []            # only ×1000 the floor
        assert check_growth(t, grow * [1, 1, 1, 11, 1], 0.0, Status.ok()) == []  # not increasing
        assert check_growth(t, grow, 0.0, Status.diverged(1.5)) == []   # the status says it already
        assert check_growth(t, np.full(5, np.inf), 0.0, Status.ok()) == []
        # rising to a high plateau (increments shrinking): bounded, no warning
        assert check_growth(t, [0.001, 5.0, 8.0, 9.5, 9.9], 0.0, Status.ok()) == []
        assert check_growth(t[[0, -1]], grow[[0, -1]], 0.0, Status.ok()) == []   # 2 times: unknown


def test_sgd_above_critical_lr_warns_with_the_critical_rate():
    prob = hd.Problem.isotropic(40, noise=hd.noise.gaussian(0.3))
    crit = hd.critical_lr(prob, hd.SGD(lr=1.0))
    opt = hd.SGD(lr=1.8 * crit)
    t = np.linspace(0, 2, 21)
    with pytest.warns(UnstableWarning, match=f"exceeds the finite-d critical learning rate {crit:.4g}"):
        th = hd.predict_risk(prob, opt, t)
    assert th.status == "ok" and len(th.warnings) == 1 and "grows without bound" in th.warnings[0]
    assert "warning: risk grows" in str(th) and "warning: risk grows" in th.to_csv()
    # the simulation mean of a few runs follows the exponential growth once it dominates: a longer horizon
    # and 8 runs (with 2 runs to t = 2 the log-scale rule sometimes reads a noisy path as levelling off)
    with pytest.warns(UnstableWarning, match="grows without bound"):
        sim = hd.simulate(prob, opt, np.linspace(0, 3, 21), runs=8, seed=0, workers=1, progress=False)
    assert sim.status == "ok" and sim.warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ok = hd.predict_risk(prob, hd.SGD(lr=0.9 * crit), t)            # below: no warning
    assert ok.warnings == []
    long = hd.predict_risk(prob, opt, np.linspace(0, 200, 21))        # past the threshold: diverged
    assert long.diverged and long.warnings == []
