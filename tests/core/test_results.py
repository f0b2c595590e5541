"""core.results: named observables, short repr, str summary, JSON round trip, dense output."""
import json
import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import hdlimits as hd
from hdlimits.reductions import reduce
from hdlimits.core import jsonfmt
from hdlimits.core.results import Result, RiskCurve, SimulationResult, UnknownObservable, load


def _curve(n=5):
    t = np.linspace(0, 1, n)
    return RiskCurve(t=t, risk=1 + np.exp(-t), excess_risk=np.exp(-t), status="ok", method="ode")


def test_named_observables():
    c = _curve()
    assert c.names == ("risk", "excess_risk")
    assert c.risk is c["risk"] and "excess_risk" in c and "loss" not in c
    with pytest.raises(ValueError, match=r"no observable 'loss'; available: 'risk', 'excess_risk'"):
        c.loss
    with pytest.raises(ValueError, match="available: 'risk', 'excess_risk'"):
        c["loss"]
    assert getattr(c, "loss", None) is None and not hasattr(c, "loss")   # an AttributeError too
    assert isinstance(UnknownObservable("x"), AttributeError)
    r = Result(c.t, {"loss": c.risk, "overlaps": np.ones((5, 3))}, method="glm")
    assert r.names == ("loss", "overlaps") and r.overlaps.shape == (5, 3)
    with pytest.raises(ValueError, match="length of t"):
        Result(c.t, {"loss": np.ones(4)})
    c.risk = np.zeros(5)                                # assignment replaces the observable
    assert c["risk"].sum() == 0


def test_legacy_keywords_and_simulation_accessors():
    t = np.linspace(0, 1, 4)
    runs = np.arange(12.0).reshape(3, 4)
    s = SimulationResult(t=t, risk=runs.mean(0) + 1, excess_risk=runs.mean(0), status="ok",
                         problem=None, optimizer=None, method="simulation", modes=None, kappa=None,
                         info={"steps": 3}, risk_runs=runs + 1, excess_risk_runs=runs,
                         risk_stderr=np.ones(4), excess_risk_stderr=np.full(4, 2.0), runs=3, seed=7,
                         data="rademacher", diverged_runs=0)
    assert s.stderr("excess_risk")[0] == 2.0 and s.excess_risk_stderr[0] == 2.0
    assert s.runs_of("risk") is s.risk_runs and s.risk_runs.shape == (3, 4)
    assert s.runs == 3 and s.seed == 7 and s.data == "rademacher" and s.ok and not s.diverged
    s.risk_stderr = np.zeros(4)
    assert s.stderr("risk").sum() == 0
    with pytest.raises(ValueError, match="available"):
        s.stderr("loss")
    assert s.columns().keys() == {"t", "risk", "excess_risk", "risk_stderr", "excess_risk_stderr"}
    import copy
    import pickle                                       # sweeps may send results between processes
    assert pickle.loads(pickle.dumps(s)).equals(s) and copy.deepcopy(s).equals(s)
    with pytest.raises(ValueError, match="status must be"):
        RiskCurve(t=t, risk=t, excess_risk=t, status="diverged")


def test_short_repr_and_summary():
    prob = hd.Problem.isotropic(1000, noise=hd.noise.gaussian(0.3))
    opt = hd.SGD(lr=1.2)
    th = hd.predict_risk(prob, opt, np.linspace(0, 20, 201), store_modes=True)
    assert repr(th) == "RiskCurve(method='ode', n_times=201, t=[0, 20], status=ok, optimizer=SGD(lr=1.2, batch=1))"
    text = str(th)
    assert "isotropic(d=1000), noise gaussian" in text and "SGD(lr=1.2, batch=1)" in text
    assert "status:    ok" in text and "rtol 1e-08" in text
    assert f"excess_risk  {th.excess_risk[0]:.6g} at t=0 → {th.excess_risk[-1]:.6g} at t=20" in text
    assert len(text.splitlines()) < 12


def test_json_round_trip_of_a_theory_curve(tmp_path):
    prob = hd.Problem.power_law(d=100, alpha=1.0, beta=1.0, noise=hd.noise.gaussian(0.2), seed=0)
    th = hd.predict_risk(prob, hd.SGD(lr=1.0), np.linspace(0, 2, 11), rtol=1e-7)
    path = tmp_path / "th.json"
    text = th.to_json(path)
    doc = json.loads(path.read_text())
    assert doc["hdlimits_version"] == hd.__version__ and doc["info"]["rtol"] == 1e-7
    assert doc["status"] == {"code": "ok", "t_event": None, "success": True, "message": "ok",
                             "detail": ""}
    assert doc["problem"].startswith("power_law(d=100") and doc["optimizer"] == "SGD(lr=1.0, batch=1)"
    back = load(path)
    assert back.equals(th) and hd.load_result(text).equals(th)
    assert back.problem is None and back.optimizer_description == "SGD(lr=1.0, batch=1)"
    np.testing.assert_array_equal(back.excess_risk, th.excess_risk)
    assert back.method == "ode" and back.info["rtol"] == 1e-7
    with pytest.raises(ValueError, match="problem and optimizer objects"):
        back.sol([0.5])
    full = load(th.to_json(state=True))
    np.testing.assert_array_equal(full.modes, th.modes)


def test_json_round_trip_of_a_diverged_simulation_with_fresh_seed():
    prob = hd.Problem.isotropic(30, noise=hd.noise.gaussian(0.3))
    opt = hd.SGD(lr=6.0)
    t = np.arange(0, 301, 10) / 30
    sim = hd.simulate(prob, opt, t, runs=3, seed=None, workers=1, progress=False)
    assert sim.diverged and np.isinf(sim.excess_risk[-1])
    assert isinstance(sim.seed, int) and sim.info["seed_entropy"] == sim.seed
    text = sim.to_json()
    assert '"inf"' in text and "Infinity" not in text and "NaN" not in text
    back = load(text)
    assert back.equals(sim) and back.status == sim.status and back.status.t_event == sim.status.t_event
    np.testing.assert_array_equal(back.excess_risk_runs, sim.excess_risk_runs)   # inf included
    assert back.runs == 3 and back.seed == sim.seed and back.diverged_runs == sim.diverged_runs
    again = hd.simulate(prob, opt, t, runs=3, seed=back.seed, workers=1, progress=False)
    np.testing.assert_array_equal(again.excess_risk_runs, sim.excess_risk_runs)  # repeatable


def test_non_finite_convention():
    assert jsonfmt.dumps([math.inf, -math.inf, math.nan, 1.5], indent=None) == '["inf", "-inf", "nan", 1.5]'
    assert jsonfmt.decode_floats(["inf", "-inf", 1.5, None])[:3] == [math.inf, -math.inf, 1.5]
    with pytest.raises(ValueError, match="not a number"):
        jsonfmt.decode_float("infinity")
    with pytest.raises(ValueError, match="not an hdlimits result"):
        load('{"a": 1}')


def test_callable_learning_rate_is_described_by_name():
    def my_schedule(t):
        return 1.0 / (1.0 + t)

    prob = hd.Problem.isotropic(20)
    for lr, name in ((my_schedule, "my_schedule"), (lambda t: 0.5, "<lambda>")):
        th = hd.predict_risk(prob, hd.SGD(lr=lr), [0.0, 1.0])
        desc = json.loads(th.to_json())["optimizer"]
        assert name in desc and "0x" not in desc
        assert "0x" not in repr(th)
    assert hd.schedules.describe_lr(hd.schedules.cosine(1.0, 2.0)) == "cosine(1, 2)"
    assert hd.schedules.describe_lr(1.2) == "1.2"


def test_dense_output_matches_an_independent_integration():
    prob = hd.Problem.power_law(d=100, alpha=1.0, beta=1.0, noise=hd.noise.gaussian(0.2), seed=0)
    opt = hd.SGD(lr=1.5)
    th = hd.predict_risk(prob, opt, np.linspace(0, 4, 5), rtol=1e-9)
    tq = np.array([3.3, 0.25, 1.0, 2.71828])              # unsorted, between output times
    system = reduce(prob, opt, t_max=4.0)
    order = np.argsort(tq)
    ref = solve_ivp(system.rhs, (0.0, 4.0), system.D0, method="DOP853", rtol=1e-12, atol=1e-22,
                    t_eval=tq[order])
    P_ref = np.empty(tq.size)
    P_ref[order] = system.kappa @ ref.y
    vals = th.sol(tq)
    assert set(vals) == {"risk", "excess_risk"}
    np.testing.assert_allclose(vals["excess_risk"], 0.5 * P_ref, rtol=1e-6)
    assert th.sol(tq.reshape(2, 2), "risk").shape == (2, 2)
    np.testing.assert_allclose(th.sol([1.0], "excess_risk")[0], th.excess_risk[1], rtol=1e-7)
    rec = hd.predict_risk(prob, opt, np.linspace(0, 4, 5), method="recursion")
    exact = hd.predict_risk(prob, opt, np.arange(0, 401) / 100, method="recursion")
    np.testing.assert_array_equal(rec.sol([0.37, 2.5])["excess_risk"], exact.excess_risk[[37, 250]])
    with pytest.raises(ValueError, match="theory result"):
        SimulationResult(t=[0.0], risk=[1.0], excess_risk=[1.0], runs=1).sol([0.5])
    with pytest.raises(ValueError, match=r"negative time -1\.0"):
        th.sol([-1.0])


# ------------------------------------------------------------------ messages (audit 3)

def test_sol_names_the_negative_time_among_good_ones():
    th = hd.predict_risk(hd.Problem.isotropic(50, noise=hd.noise.gaussian(0.3)), hd.SGD(1.0), [0.0, 1.0])
    with pytest.raises(ValueError, match=r"got the negative time -1\.0") as exc:
        th.sol([-1.0, 2.0])
    assert "at least one" not in str(exc.value)
    with pytest.raises(ValueError, match="finite times in \\[0, inf\\), got nan"):
        th.sol([1.0, float("nan")])


def test_sol_without_objects_says_both_causes():
    """A curve solved from a hand-built system (no problem=) is not a JSON load: the message says both."""
    from hdlimits.solvers.solve import solve_modes
    system = reduce(hd.Problem.isotropic(50, noise=hd.noise.gaussian(0.3)), hd.SGD(1.0))
    th = solve_modes(system, [0.0, 1.0])
    with pytest.raises(ValueError, match="hand-built system") as exc:
        th.sol([0.5])
    assert "loaded from JSON" in str(exc.value)


def test_theory_result_has_no_stderr_and_says_why():
    c = _curve()
    with pytest.raises(AttributeError, match=r"stderr is available on simulation results \(SimulationResult"
                       r".*RiskCurve is a theory result"):
        c.stderr("risk")
    assert not hasattr(c, "runs_of") and getattr(c, "seed", "none") == "none"
    sim = SimulationResult(t=[0.0, 1.0], risk=[1.0, 0.5], excess_risk=[1.0, 0.5], runs=2,
                           risk_stderr=[0.0, 0.1])
    np.testing.assert_array_equal(sim.stderr("risk"), [0.0, 0.1])


def test_results_are_not_iterable():
    c = _curve()
    with pytest.raises(TypeError, match=r"RiskCurve is not iterable; use \.names and result\[name\]"):
        list(c)
    assert [n for n in c.names] == ["risk", "excess_risk"] and "risk" in c


@pytest.mark.parametrize("source, text", [
    ("not json", "got 'not json', neither an existing file nor JSON text"),
    ("[1,2]", "valid JSON that is not an hdlimits result (an array"),
    ('{"a": 1}', "valid JSON that is not an hdlimits result (an object"),
    (b"3", "valid JSON that is not an hdlimits result (a number"),
])
def test_load_result_explains_what_it_expects(source, text):
    with pytest.raises(ValueError) as exc:
        hd.load_result(source)
    msg = str(exc.value)
    assert msg.startswith("load_result expects a path to a JSON file written by to_json, or its text; ")
    assert text in msg, msg


def test_load_result_reads_a_path_string_and_a_pathlike(tmp_path):
    c = _curve()
    path = tmp_path / "c.json"
    c.to_json(path)
    assert hd.load_result(str(path)).equals(c) and hd.load_result(path).equals(c)
    bad = tmp_path / "bad.json"
    bad.write_text("nope")
    with pytest.raises(ValueError, match="a file whose text is not JSON"):
        hd.load_result(bad)
