"""hdlimits.sweeps: grid evaluation, metrics, backends (local pool, serial, a real dask LocalCluster),
persistence and input errors."""
import functools
import math

import numpy as np
import pytest

import hdlimits as hd
from hdlimits.sweeps import (BestFinalRisk, Curve, Divergence, FinalRisk, Simulation, SpeedUp,
                            SweepResult, TimeToTarget, sweep)

PF = functools.partial(hd.Problem.power_law, d=60, beta=1.0, noise=hd.noise.gaussian(0.5))
GRID = {"alpha": [0.5, 1.0], "lr": [0.5, 1.5, 4.0], "batch": [1, 3]}
METRICS = [FinalRisk(5.0), Divergence(50.0), TimeToTarget(0.2, 20.0, n_times=50)]


def _same(a, b):
    assert a.shape == b.shape and list(a.values) == list(b.values)
    for k in a.values:
        np.testing.assert_array_equal(a[k], b[k])        # bit for bit (NaN == NaN)
    assert (a.status == b.status).all()
    for k in a.axes:
        np.testing.assert_array_equal(a.axes[k], b.axes[k])


@pytest.fixture(scope="module")
def serial():
    return sweep(PF, hd.SGD, GRID, METRICS, backend="serial", progress=False)


def test_values_match_direct_calls(serial):
    """Each grid value is what predict_risk gives for that point (axis order = grid order)."""
    assert serial.shape == (2, 3, 2)
    for idx, pt in serial.points():
        prob = PF(alpha=pt["alpha"])
        opt = hd.SGD(lr=pt["lr"], batch=pt["batch"])
        c = hd.predict_risk(prob, opt, [0.0, 5.0])
        assert serial["final_risk"][idx] == c.risk[-1]
        c50 = hd.predict_risk(prob, opt, [0.0, 50.0])
        assert serial["diverged"][idx] == float(c50.diverged)
        if c50.diverged:
            assert serial["divergence_time"][idx] == pytest.approx(
                c50.status.t_event, rel=1e-5)
            assert serial.status[idx].startswith("diverged")
            assert serial["risk_at_t_max"][idx] == math.inf
        else:
            assert serial["divergence_time"][idx] == math.inf


def test_divergence_is_status_not_nan(serial):
    # γ = 4 with B = 1 is far above 2dB/tr K = 2: diverges
    assert serial["diverged"][:, 2, 0].tolist() == [1.0, 1.0]
    assert np.isinf(serial["final_risk"][:, 2, 0]).all()
    assert not np.isnan(serial["final_risk"]).any()
    # γ = 0.5 converges everywhere
    assert (serial["diverged"][:, 0, :] == 0).all()


def test_time_to_target_brackets_the_crossing(serial):
    prob = PF(alpha=1.0)
    tt = serial["time_to_target"][1, 0, 0]
    assert 0 < tt < 20
    r = hd.predict_risk(prob, hd.SGD(0.5), [0.0, tt * 0.97, tt * 1.03]).risk
    assert r[1] > 0.2 > r[2]


def test_local_pool_equals_serial(serial):
    loc = sweep(PF, hd.SGD, GRID, METRICS, backend="local", workers=2, chunksize=2, progress=False)
    _same(serial, loc)


def test_dask_local_cluster_equals_local(serial):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        res = sweep(PF, hd.SGD, GRID, METRICS, backend="dask", client=client, chunksize=3,
                    progress=False)
        _same(serial, res)
        # a scheduler address works too (the sweep opens and closes its own client)
        res2 = sweep(PF, hd.SGD, {"alpha": [1.0], "lr": [0.5, 4.0]}, FinalRisk(5.0),
                     client=cluster.scheduler_address, backend="dask", progress=False)
        assert res2["final_risk"][0, 0] == serial["final_risk"][1, 0, 0]
        assert res2["final_risk"][0, 1] == math.inf


def test_simulation_source_is_backend_independent():
    grid = {"alpha": [1.0], "lr": [0.5, 1.0]}
    m = FinalRisk(1.0, source=Simulation(runs=2, seed=7))
    a = sweep(PF, hd.SGD, grid, m, backend="serial", progress=False)
    b = sweep(PF, hd.SGD, grid, m, backend="local", workers=2, chunksize=1, progress=False)
    _same(a, b)
    assert a.values.keys() == {"sim_final_risk"}
    # the seed is derived from the grid index: the two points get different streams
    s = hd.simulate(PF(alpha=1.0), hd.SGD(0.5), [0.0, 1.0], runs=2,
                    seed=np.random.SeedSequence(7, spawn_key=(0,)), workers=1, progress=False)
    assert a["sim_final_risk"][0, 0] == s.risk[-1]


def test_curve_metric_has_trailing_time_axis():
    t = np.array([0.0, 1.0, 2.0, 4.0])
    r = sweep(PF, hd.SGD, {"alpha": [1.0], "lr": [0.5, 1.0]}, Curve(t), backend="serial",
              progress=False)
    assert r["risk"].shape == (1, 2, 4)
    np.testing.assert_array_equal(r.extra_axes["t"], t)
    np.testing.assert_array_equal(r["risk"][0, 1], hd.predict_risk(PF(alpha=1.0), hd.SGD(1.0), t).risk)


def test_best_final_risk_and_speedup():
    prob = PF(alpha=1.0)
    lrs = (0.25, 0.5, 1.0, 1.5)
    r = sweep(PF, hd.SGD, {"alpha": [1.0], "lr": [1.0]},
              [BestFinalRisk(3.0, lrs),
               SpeedUp(0.25, 30.0, functools.partial(hd.SGD, batch=1), lrs, lrs=lrs,
                       n_times=100)],
              backend="serial", progress=False)
    finals = [hd.predict_risk(prob, hd.SGD(x), [0.0, 3.0]).risk[-1] for x in lrs]
    assert r["best_final_risk"][0, 0] == min(finals)
    assert r["best_lr"][0, 0] == lrs[int(np.argmin(finals))]
    # the same optimizer family against itself: speed-up exactly 1
    assert r["speedup"][0, 0] == 1.0
    # batch 4 at its own best lr reaches the target in fewer steps/d than batch 1
    r4 = sweep(PF, functools.partial(hd.SGD, batch=4), {"alpha": [1.0], "lr": [1.0]},
               SpeedUp(0.25, 30.0, hd.SGD, lrs, lrs=(1.0, 2.0, 4.0, 6.0), n_times=100),
               backend="serial", progress=False)
    assert r4["speedup"][0, 0] > 1.0
    assert r4["time"][0, 0] < r4["baseline_time"][0, 0]


def test_save_and_load_roundtrip(serial, tmp_path):
    paths = serial.save(tmp_path / "sub" / "res")
    back = SweepResult.load(paths["npz"])
    _same(serial, back)
    assert back.metadata["metrics"][0]["metric"] == "FinalRisk"
    csv_lines = (tmp_path / "sub" / "res.csv").read_text().splitlines()
    assert csv_lines[0].startswith("alpha,lr,batch,final_risk")
    assert len(csv_lines) == 1 + 12
    assert "inf" in (tmp_path / "sub" / "res.json").read_text()


def test_noise_law_axis_is_stored_as_text(tmp_path):
    pf = functools.partial(hd.Problem.power_law, d=40, alpha=1.0, beta=1.0)
    r = sweep(pf, hd.SGD, {"noise": [hd.noise.gaussian(0.1), hd.noise.gaussian(0.5)], "lr": [1.0]},
              FinalRisk(2.0), backend="serial", progress=False)
    assert r["final_risk"][1, 0] > r["final_risk"][0, 0]
    back = SweepResult.load(r.save(tmp_path / "n")["npz"])
    assert back.axes["noise"][0].startswith("gaussian")


def test_optimizer_factory_can_take_the_problem():
    r = sweep(PF, _fraction_of_critical, {"alpha": [0.5, 1.0], "frac": [0.5, 1.05]},
              Divergence(300.0), backend="serial", progress=False)
    assert r["diverged"].tolist() == [[0.0, 1.0], [0.0, 1.0]]


def _fraction_of_critical(frac, problem):
    return hd.SGD(lr=frac * hd.critical_lr(problem, hd.SGD(1.0)))


def test_errors():
    with pytest.raises(ValueError, match="picklable"):
        sweep(PF, lambda lr: hd.SGD(lr), {"alpha": [1.0], "lr": [1.0]}, FinalRisk(1.0), workers=2)
    with pytest.raises(ValueError, match="accepted by neither"):
        sweep(PF, hd.SGD, {"alpha": [1.0], "gamma": [1.0]}, FinalRisk(1.0), backend="serial")
    with pytest.raises(ValueError, match="backend"):
        sweep(PF, hd.SGD, {"alpha": [1.0]}, FinalRisk(1.0), backend="cloud")
    with pytest.raises(ValueError, match="client"):
        sweep(PF, hd.SGD, {"lr": [1.0]}, FinalRisk(1.0), backend="dask")
    with pytest.raises(ValueError, match="at least one value"):
        sweep(PF, hd.SGD, {"lr": []}, FinalRisk(1.0), backend="serial")
    with pytest.raises(ValueError, match="distinct"):
        sweep(PF, hd.SGD, {"lr": [1.0]}, [FinalRisk(1.0), FinalRisk(2.0)], backend="serial")
    with pytest.raises(ValueError, match="target"):
        TimeToTarget(-1.0, 10.0)
    with pytest.raises(ValueError, match="method"):
        FinalRisk(1.0, source="euler")


def test_invalid_points_are_recorded_not_fatal():
    # a Student-t law with df = 2 has no second moment: SGD's limit refuses it (ValueError)
    pf = functools.partial(hd.Problem.power_law, d=40, alpha=1.0, beta=1.0)
    with pytest.warns(RuntimeWarning, match="1 of 2 grid points failed"):
        r = sweep(pf, hd.SGD, {"noise": [hd.noise.gaussian(0.5), hd.noise.student_t(2.0)], "lr": [1.0]},
                  FinalRisk(1.0), backend="serial", progress=False)
    assert r.status[0, 0] == "ok" and r.status[1, 0].startswith("error:")
    assert np.isnan(r["final_risk"][1, 0]) and np.isfinite(r["final_risk"][0, 0])
    with pytest.raises(ValueError, match="every grid point failed"):
        sweep(pf, hd.SGD, {"noise": [hd.noise.student_t(2.0)], "lr": [1.0]}, FinalRisk(1.0),
              backend="serial", progress=False)


def test_clipping_criteria_metric_gaussian_values():
    """docs/clipping.md §7 C6: Gaussian noise, a = c/√(P + σ²) = 1 → μ = 0.6827, ν̂ = 0.5161; and
    CCC ≤ 1 ≤ CSC for every threshold (Theorem 4 of arXiv 2406.11733)."""
    from hdlimits.sweeps import ClippingCriteria
    d = 40
    pf = functools.partial(hd.Problem.isotropic, d=d, noise=hd.noise.gaussian(0.5))
    r = sweep(pf, _clip_at, {"c": [0.1, 1.0, 10.0]}, ClippingCriteria(P=0.75), backend="serial",
              progress=False)
    assert r["mu"][1] == pytest.approx(0.6827, abs=1e-4)
    assert r["mu"][1] / r["csc"][1] == pytest.approx(0.5161, abs=1e-4)      # ν̂ = μ/CSC
    assert (r["ccc"] <= 1 + 1e-12).all() and (r["csc"] >= 1 - 1e-12).all()


def _clip_at(c, problem):
    return hd.ClippedSGD(lr=1.0, clip=c * math.sqrt(problem.trace))


class _FailsAtSecondLr:
    """A metric whose evaluation fails numerically at lr = 2 (and is a programming error at lr = 3)."""

    names = ("x",)

    def evaluate(self, problem, optimizer, index):
        if optimizer.lr == 2.0:
            raise RuntimeError("quadrature did not converge")
        if optimizer.lr == 3.0:
            raise TypeError("bug")
        return {"x": optimizer.lr}, "ok"


def test_numerical_failure_is_recorded_programming_error_propagates():
    with pytest.warns(RuntimeWarning, match="RuntimeError: quadrature did not converge"):
        r = sweep(PF, hd.SGD, {"alpha": [1.0], "lr": [1.0, 2.0]}, _FailsAtSecondLr(), backend="serial",
                  progress=False)
    assert r["x"][0, 0] == 1.0 and np.isnan(r["x"][0, 1])
    assert r.status[0, 1] == "error: RuntimeError: quadrature did not converge"
    with pytest.raises(TypeError, match="bug"):
        sweep(PF, hd.SGD, {"alpha": [1.0], "lr": [3.0]}, _FailsAtSecondLr(), backend="serial",
              progress=False)


def test_best_final_risk_refine_finds_the_minimum_between_grid_points():
    prob = PF(alpha=1.0)
    lrs = (0.1, 0.4, 1.6)
    grid = sweep(PF, hd.SGD, {"alpha": [1.0], "lr": [1.0]}, BestFinalRisk(3.0, lrs), backend="serial",
                 progress=False)
    fine = sweep(PF, hd.SGD, {"alpha": [1.0], "lr": [1.0]}, BestFinalRisk(3.0, lrs, refine=True),
                 backend="serial", progress=False)
    best, lr = fine["best_final_risk"][0, 0], fine["best_lr"][0, 0]
    assert best <= grid["best_final_risk"][0, 0]
    assert 0.1 < lr < 1.6
    assert best == hd.predict_risk(prob, hd.SGD(lr), [0.0, 3.0]).risk[-1]
    for f in (0.97, 1.03):                               # a local minimum in lr (to xatol = 1e-3)
        assert hd.predict_risk(prob, hd.SGD(lr * f), [0.0, 3.0]).risk[-1] >= best
    with pytest.raises(ValueError, match="refine"):
        BestFinalRisk(3.0, lrs, refine=True, source=Simulation(runs=2))


# ---------------------------------------------------------------------------- status as data
def test_status_codes_and_event_times(serial):
    """Each point carries a code and an event time read from the curve's Status (not from its text)."""
    div = serial["diverged"] == 1.0
    assert div.any() and (~div).any()
    assert (serial.status_code[div] == "diverged").all()
    assert (serial.status_code[~div] == "ok").all()
    np.testing.assert_array_equal(serial.t_event[div], serial["divergence_time"][div])
    assert np.isnan(serial.t_event[~div]).all()
    idx = tuple(np.argwhere(div)[0])
    c = hd.predict_risk(PF(alpha=serial.axes["alpha"][idx[0]]),
                        hd.SGD(lr=serial.axes["lr"][idx[1]], batch=serial.axes["batch"][idx[2]]),
                        [0.0, 5.0])
    assert serial.status[idx] == c.status.message


def test_error_points_have_code_error():
    pf = functools.partial(hd.Problem.power_law, d=40, alpha=1.0, beta=1.0)
    with pytest.warns(RuntimeWarning):
        r = sweep(pf, hd.SGD, {"noise": [hd.noise.gaussian(0.5), hd.noise.student_t(2.0)], "lr": [1.0]},
                  FinalRisk(1.0), backend="serial", progress=False)
    assert r.status_code.tolist() == [["ok"], ["error"]]
    assert np.isnan(r.t_event).all()


def test_metric_specific_codes():
    """SpeedUp: neither optimizer reaches the target → code 'not_reached'; BestFinalRisk: every lr
    diverges → code 'diverged' (no single event time)."""
    r = sweep(PF, hd.SGD, {"alpha": [1.0], "lr": [1.0]},
              SpeedUp(1e-6, 0.5, hd.SGD, (0.5, 1.0), lrs=(0.5, 1.0), n_times=20),
              backend="serial", progress=False)
    assert r.status_code[0, 0] == "not_reached" and np.isnan(r["speedup"][0, 0])
    assert r.status[0, 0] == "target not reached by either optimizer"
    b = sweep(PF, hd.SGD, {"alpha": [1.0], "lr": [1.0]}, BestFinalRisk(50.0, (20.0, 40.0)),
              backend="serial", progress=False)
    assert b.status_code[0, 0] == "diverged" and np.isnan(b.t_event[0, 0])
    assert b.status[0, 0] == "diverged for every lr"


def test_status_codes_roundtrip_and_old_files(serial, tmp_path):
    back = SweepResult.load(serial.save(tmp_path / "r")["npz"])
    assert (back.status_code == serial.status_code).all()
    np.testing.assert_array_equal(back.t_event, serial.t_event)
    # a file written before codes existed: codes 'unknown', no event times
    with np.load(tmp_path / "r.npz") as z:
        old = {k: z[k] for k in z.files if k not in ("status_code", "t_event")}
    np.savez(tmp_path / "old.npz", **old)
    o = SweepResult.load(tmp_path / "old.npz")
    assert (o.status_code == "unknown").all() and np.isnan(o.t_event).all()
    assert (o.status == serial.status).all()
    header = (tmp_path / "r.csv").read_text().splitlines()[0]
    assert header.endswith(",status,status_code,t_event")


def test_json_is_strict_with_non_finite_as_strings(serial):
    import json

    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    serial.metadata["a_limit"] = math.inf
    try:
        data = json.loads(serial.to_json(), parse_constant=refuse)
    finally:
        del serial.metadata["a_limit"]
    assert data["metadata"]["a_limit"] == "inf"
    assert "diverged" in data["status_code"][0][2]
    div = serial["diverged"] == 1.0
    te = np.array(data["t_event"], dtype=object)
    assert (te[~div] == "nan").all() and all(isinstance(x, float) for x in te[div])


def test_quantities_come_from_the_observable_vocabulary(monkeypatch):
    from hdlimits.core import observables
    with pytest.raises(ValueError, match="quantity must be one of 'risk', 'excess_risk'.*; got 'widget_loss'"):
        FinalRisk(1.0, quantity="widget_loss")
    monkeypatch.setitem(observables._REGISTRY, "widget_loss",
                        observables.Observable("widget_loss", "widget_loss", "a model family's loss"))
    assert FinalRisk(1.0, quantity="widget_loss").quantity == "widget_loss"


def test_sweep_is_the_function_and_sweeps_the_package():
    import importlib
    mod = importlib.import_module("hdlimits.sweeps")
    assert callable(hd.sweep) and hd.sweep is mod.sweep and hd.sweeps is mod
    assert hd.sweep.FinalRisk is hd.sweeps.FinalRisk          # the old spelling still works
