"""compare(): gap metrics between a predicted and a simulated risk curve."""
import json
import warnings

import numpy as np
import pytest

import hdlimits as hd
from hdlimits.compare import Comparison, compare
from hdlimits.core.status import Status
from hdlimits.core.results import RiskCurve, SimulationResult


def _curves(t=None, theory=None, sim=None, se=None, runs=4, floor=0.05, sim_status="ok",
            theory_status="ok"):
    t = np.linspace(0.0, 2.0, 21) if t is None else np.asarray(t, float)
    theory = np.exp(-t) if theory is None else np.asarray(theory, float)
    sim = theory * 1.01 if sim is None else np.asarray(sim, float)
    se = np.full(t.shape, 0.005) if se is None else np.asarray(se, float)
    th = RiskCurve(t=t, risk=theory + floor, excess_risk=theory, status=theory_status)
    sm = SimulationResult(t=t.copy(), risk=sim + floor, excess_risk=sim, status=sim_status,
                          method="simulation", risk_stderr=se, excess_risk_stderr=se, runs=runs,
                          data="gaussian")
    return th, sm


def test_basic_numbers():
    th, sm = _curves()
    c = compare(th, sm)
    assert isinstance(c, Comparison)
    assert c.quantity == "excess_risk"
    np.testing.assert_allclose(c.gap, 0.01 * th.excess_risk)
    np.testing.assert_allclose(c.rel_gap, 0.01)
    np.testing.assert_allclose(c.z, 0.01 * th.excess_risk / 0.005)
    assert c.max_rel_gap == pytest.approx(0.01)
    assert c.mean_rel_gap == pytest.approx(0.01)
    assert c.max_abs_z == pytest.approx(2.0)       # at t = 0, theory = 1
    assert c.t_max_abs_z == 0.0
    assert c.rms_z == pytest.approx(np.sqrt(np.mean((0.02 * th.excess_risk / 0.01) ** 2)))
    assert c.n_compared == 21 and c.ok and c.notes == []
    assert c.theory_status == "ok" and c.sim_status == "ok" and c.runs == 4


def test_risk_quantity_relative_gap_is_diluted_by_the_floor():
    th, sm = _curves(floor=1.0)
    ce, cr = compare(th, sm), compare(th, sm, quantity="risk")
    np.testing.assert_allclose(cr.gap, ce.gap, atol=1e-15)       # same absolute gap ...
    np.testing.assert_allclose(cr.z, ce.z, rtol=1e-12)           # ... and z
    assert cr.max_rel_gap < ce.max_rel_gap / 2                  # but a diluted relative gap


def test_bad_quantity_and_inputs():
    th, sm = _curves()
    with pytest.raises(ValueError, match="quantity must be one of"):
        compare(th, sm, quantity="no_such_observable")
    with pytest.raises(ValueError, match="RiskCurve"):
        compare(np.zeros(3), sm)
    with pytest.raises(ValueError, match="level must lie in"):
        compare(th, sm, level=1.5)


def test_time_grids_must_match():
    th, sm = _curves()
    sm2 = SimulationResult(t=sm.t[:-1], risk=sm.risk[:-1], excess_risk=sm.excess_risk[:-1],
                           status="ok", risk_stderr=sm.risk_stderr[:-1],
                           excess_risk_stderr=sm.excess_risk_stderr[:-1], runs=4)
    with pytest.raises(ValueError, match="21 times.*20"):
        compare(th, sm2)
    sm.t[5] += 1e-9
    with pytest.raises(ValueError, match="differ first at index 5"):
        compare(th, sm)
    sm.t[5] -= 1e-9
    sm.t[7] += 1e-14                                              # within tolerance
    compare(th, sm)


def test_divergence_is_reported_without_warnings():
    t = np.linspace(0, 2, 21)
    theory = np.exp(3 * t)
    theory[15:] = np.inf
    sim = np.exp(2.9 * t)
    sim[18:] = np.inf
    se = np.full(t.shape, 0.1)
    se[18:] = np.inf
    th, sm = _curves(t, theory, sim, se, theory_status=Status.diverged(1.45),
                     sim_status=Status.diverged(1.75, "4 of 4 runs"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = compare(th, sm)
        text = str(c)
        js = json.loads(c.to_json())
        c.to_csv()
    assert c.n_compared == 15
    # the statuses' event times, not the first non-finite output time (1.5 and 1.8)
    assert c.theory_divergence_t == 1.45
    assert c.sim_divergence_t == 1.75
    assert isinstance(c.theory_status, Status) and c.theory_status.t_event == 1.45
    assert np.isnan(c.gap[15:]).all() and np.isnan(c.z[15:]).all()
    assert np.isfinite(c.max_rel_gap) and not c.ok
    assert any("6 of 21 times excluded" in n for n in c.notes)
    assert "diverged at t=1.45" in text and "inf" in text
    assert js["summary"]["theory_divergence_t"] == 1.45
    assert js["summary"]["status"]["theory"] == Status.diverged(1.45).to_dict()
    assert js["theory"][20] == "inf"                      # the non-finite convention of every JSON
    assert any("theory from t=1.5" in n for n in c.notes)


def test_all_diverged_gives_nan_summary():
    t = np.linspace(0, 1, 5)
    inf = np.full(5, np.inf)
    th, sm = _curves(t, inf, inf, inf, theory_status=Status.diverged(0.0),
                     sim_status=Status.diverged(0.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = compare(th, sm)
        str(c)
    assert c.n_compared == 0
    assert np.isnan(c.max_rel_gap) and np.isnan(c.rms_z) and np.isnan(c.t_max_rel_gap)
    assert json.loads(c.to_json())["summary"]["max_rel_gap"] == "nan"
    assert c.verdict == "undetermined" and "no time where z is defined" in c.verdict_text()


def test_single_run_and_zero_stderr():
    t = np.linspace(0, 1, 6)
    th, sm = _curves(t, se=np.full(6, np.nan), runs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = compare(th, sm)
    assert np.isnan(c.z).all() and np.isnan(c.max_abs_z)
    assert any("single run" in n for n in c.notes)
    assert "1 run)" in str(c)
    assert c.verdict == "undetermined" and np.isnan(c.z_threshold)
    assert "verdict: undetermined (fewer than 2 runs" in str(c)
    se = np.full(6, 0.01)
    se[0] = 0.0
    th, sm = _curves(t, se=se)
    c = compare(th, sm)
    assert np.isnan(c.z[0]) and np.isfinite(c.z[1:]).all()
    assert any("t=0" in n for n in c.notes)


def test_zero_theory_gives_nan_relative_gap():
    t = np.linspace(0, 1, 4)
    th, sm = _curves(t, theory=np.zeros(4), sim=np.full(4, 1e-3))
    c = compare(th, sm)
    assert np.isnan(c.rel_gap).all() and np.isfinite(c.z).all()
    assert any("theory value is 0" in n for n in c.notes)


def test_printed_table_is_subsampled():
    th, sm = _curves(np.linspace(0, 10, 501))
    text = str(c := compare(th, sm))
    rows = [ln for ln in text.splitlines() if ln[:11].strip().replace(".", "").replace("e", "")
            .replace("-", "").replace("+", "").isdigit()]
    assert 10 <= len(rows) <= 16
    assert "max |relative gap|" in text and "rms z" in text and "501 times" in text
    assert c.table_rows()[0] == 0 and c.table_rows()[-1] == 500


def test_dict_json_csv():
    th, sm = _curves()
    c = compare(th, sm)
    d = c.to_dict()
    assert set(d) >= {"summary", "t", "theory", "sim_mean", "sim_stderr", "gap", "rel_gap", "z",
                      "curves"}
    assert d["summary"]["max_rel_gap"] == pytest.approx(0.01)
    assert d["z"][0] == pytest.approx(2.0)
    js = json.loads(c.to_json())
    assert js["curves"]["sim"]["risk"][0] == pytest.approx(1.06)
    lines = [ln for ln in c.to_csv().splitlines() if not ln.startswith("#")]
    assert lines[0].split(",") == ["t", "theory_risk", "theory_excess_risk", "sim_risk",
                                   "sim_risk_stderr", "sim_excess_risk", "sim_excess_risk_stderr",
                                   "gap", "rel_gap", "z"]
    assert len(lines) == 22


def test_real_theory_and_simulation_agree():
    """End to end at small d: SGD, ODE limit vs 6 runs."""
    prob = hd.Problem.power_law(d=100, alpha=1.0, beta=1.0, noise=hd.noise.gaussian(0.2), seed=0)
    opt = hd.SGD(lr=1.0)
    t = np.arange(0, 301, 30) / 100
    theory = hd.predict_risk(prob, opt, t)
    sim = hd.simulate(prob, opt, t, runs=6, seed=3, workers=1, progress=False)
    c = hd.compare(theory, sim)
    assert c.ok and c.n_compared == t.size
    assert c.max_rel_gap < 0.5           # 6 runs at d = 100: a loose sanity bound
    assert c.rms_z < 4
    # against the exact finite-d reference, the verdict at family-wise level 0.01 must be "consistent"
    exact = hd.compare(hd.predict_risk(prob, opt, t, method="recursion"), sim)
    assert exact.verdict == "consistent", str(exact)


def test_swapped_arguments_are_refused():
    th, sm = _curves()
    with pytest.raises(ValueError, match=r"first argument, theory, is a simulation.*swapped"):
        compare(sm, th)
    with pytest.raises(ValueError, match="second argument, sim, must be a simulation result"):
        compare(th, th)


def test_quantities_alias_and_any_registered_observable():
    from hdlimits.compare import QUANTITIES
    from hdlimits.core import observables
    assert QUANTITIES == observables.names()
    t = np.linspace(0, 1, 6)
    th = RiskCurve(t=t, status="ok", observables={"widget_loss": np.exp(-t)})
    sm = SimulationResult(t=t, status="ok", observables={"widget_loss": np.exp(-t) + 0.01},
                          stderrs={"widget_loss": np.full(6, 0.01)}, runs=5)
    with pytest.raises(ValueError, match="quantity must be one of"):
        compare(th, sm, quantity="widget_loss")               # not registered yet
    observables.register(observables.Observable("widget_loss", "training loss", "a test observable"))
    try:
        c = compare(th, sm, quantity="widget_loss")
        np.testing.assert_allclose(c.z, 1.0)
        assert "theory_widget_loss" in c.to_csv() and "sim_widget_loss_stderr" in c.to_csv()
        with pytest.raises(ValueError, match="theory has no 'risk' values; it holds 'widget_loss'"):
            compare(th, sm, quantity="risk")
    finally:
        observables._REGISTRY.pop("widget_loss")


def _with_z(zs, runs):
    t = np.linspace(0.1, 1.0, len(zs))
    theory = np.ones(len(zs))
    se = np.full(len(zs), 0.01)
    return _curves(t, theory, theory + np.asarray(zs) * se, se, runs=runs)


def test_verdict_bonferroni_student_t():
    from scipy import stats
    zs = [0.5, -1.0, 2.0, 0.0, 1.5, -0.3, 0.7, 1.1, -2.2, 0.4]
    c = compare(*_with_z(zs, runs=8))
    thr = stats.t.ppf(1 - 0.01 / (2 * 10), 7)         # 10 times, 7 degrees of freedom
    assert c.z_threshold == pytest.approx(thr) and c.level == 0.01 and c.n_z == 10
    assert c.verdict == "consistent" and c.consistent
    assert (f"consistent at family-wise level 0.01 (max |z| = 2.2 ≤ {thr:.3g} for 10 times, 8 runs)"
            in str(c))
    c = compare(*_with_z(zs[:-1] + [thr * 1.01], runs=8))
    assert c.verdict == "inconsistent" and f"> {thr:.3g}" in c.verdict_text()
    c = compare(*_with_z(zs[:-1] + [thr * 1.01], runs=8), level=1e-6)   # stricter level: larger bound
    assert c.verdict == "consistent" and c.z_threshold > thr
    js = json.loads(c.to_json())["summary"]
    assert js["verdict"] == "consistent" and js["level"] == 1e-6


def test_divergence_time_is_the_status_event_time():
    """A status that diverged between output times: divergence time from the status."""
    prob = hd.Problem.isotropic(40, noise=hd.noise.gaussian(0.3))
    opt = hd.SGD(lr=6.0)                                  # far above critical_lr (≈ 1.9 here)
    t = np.arange(0, 401, 10) / 40
    theory = hd.predict_risk(prob, opt, t, method="recursion")
    sim = hd.simulate(prob, opt, t, runs=4, seed=0, workers=1, progress=False)
    assert theory.diverged and sim.diverged
    c = hd.compare(theory, sim)
    assert c.theory_divergence_t == theory.status.t_event
    assert c.sim_divergence_t == sim.status.t_event
    assert theory.status.t_event not in set(t)          # between output times, at the exact step


def test_times_off_the_grid_are_compared_by_dense_output():
    """Audit: predict_risk and simulate on the same t off the 1/d grid were refused (simulate reports
    the times it ran, round(t·d)/d). The theory is now evaluated at the simulation's times."""
    import warnings
    prob = hd.Problem.power_law(d=300, alpha=0.8, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)
    opt = hd.SGD(1.0)
    t = np.array([0.0, 0.101, 0.5, 1.0])
    th = hd.predict_risk(prob, opt, t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)     # simulate says it moved a time
        sm = hd.simulate(prob, opt, t, runs=8, seed=0)
    c = compare(th, sm)
    np.testing.assert_array_equal(c.t, sm.t)
    assert c.t[1] == pytest.approx(30 / 300)
    assert any("dense output" in n for n in c.notes)
    # another integration to another output grid: equal to the integrator's accuracy
    np.testing.assert_allclose(c.theory[1], th.sol([0.1], "excess_risk")[0], rtol=1e-6)
    assert c.verdict == "consistent"
