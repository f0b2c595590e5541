"""The constant-lr solver of the data-moment limit (hdlimits/models/dataset/propagator.py,
docs/datasets.md §3) against the step-by-step recursion, the direct stability edge against the Perron
root, and the closure when there are fewer rows than features (docs/datasets.md §9)."""
import numpy as np
import pytest

import hdlimits as hd
from hdlimits.models.dataset.diagnostics import perron_root
from hdlimits.models.dataset.limit import predict_dataset
from hdlimits.models.dataset.propagator import power_sums
from tests.models.dataset.test_dataset import _toy


@pytest.mark.parametrize("L", [1, 2, 7, 16, 1000])
def test_power_sums_equal_the_direct_sums(L):
    sigma = np.array([0.0, 0.3, 0.9, 0.999999, 1.0, 1.02])
    for norm in (L, 3 * L + 1):
        S, sL = power_sums(sigma, L, norm=norm)
        ll = np.arange(L)
        for i, s in enumerate(sigma):
            w = s ** (L - 1 - ll)
            ref = [np.sum(w * (ll / norm) ** m) for m in range(5)]
            assert np.allclose(S[i], ref, rtol=1e-12, atol=1e-300)
            assert sL[i] == pytest.approx(s ** L, rel=1e-12)


def _compare(prob, opt, t, **kw):
    a = predict_dataset(prob, opt, t, method="recursion", **kw)
    b = predict_dataset(prob, opt, t, method="propagator", **kw)
    return a, b


@pytest.mark.parametrize("batch,moments,closure", [(1, "data", "mean"), (3, "data", "mean"),
                                                   (1, "data", "diagonal"), (2, "gaussian", "mean")])
def test_propagator_equals_recursion(batch, moments, closure):
    X, y = _toy(n=300, d=20)
    prob = hd.Problem.from_dataset(X, y, noise=hd.noise.gaussian(0.2))
    edges = hd.critical_lr(prob, hd.SGD(lr=1.0, batch=batch))
    edge = edges.data if moments == "data" else edges.gaussian
    t = np.concatenate([[0.0], np.geomspace(0.05, 600.0, 37)])
    for lr in (0.4, 0.9 * edge):
        a, b = _compare(prob, hd.SGD(lr=lr, batch=batch), t, moments=moments, closure=closure)
        assert a.status.success and b.status.success
        assert np.allclose(b.excess_risk, a.excess_risk, rtol=1e-7, atol=0)
        assert np.allclose(b.modes, a.modes, rtol=1e-6, atol=1e-14 * a.modes.max())
        assert b.info["forcing_evaluations"] < 0.5 * a.info["steps"]     # it did not step one by one


def test_propagator_reports_the_same_divergence_step():
    X, y = _toy(n=300, d=20)
    prob = hd.Problem.from_dataset(X, y)
    e = hd.critical_lr(prob, hd.SGD(lr=1.0))
    t = np.linspace(0.0, 2000.0, 11)
    for lr in (1.1 * e.data, 1.01 * e.mean):
        a, b = _compare(prob, hd.SGD(lr=lr), t)
        assert a.status.code.name == b.status.code.name == "DIVERGED"
        assert b.status.t_event == a.status.t_event
        assert np.array_equal(np.isinf(a.excess_risk), np.isinf(b.excess_risk))


def test_auto_method_and_schedules():
    X, y = _toy(n=200, d=10)
    prob = hd.Problem.from_dataset(X, y)
    t = np.linspace(0, 3, 4)
    assert hd.predict_risk(prob, hd.SGD(lr=0.7), t).method == "recursion"        # 30 steps: cheaper
    assert hd.predict_risk(prob, hd.SGD(lr=0.7), t * 1000).method == "propagator"
    sched = hd.schedules.cosine(0.7, 3.0)
    assert hd.predict_risk(prob, hd.SGD(lr=sched), t * 1000).method == "recursion"
    with pytest.raises(ValueError, match="constant lr"):
        predict_dataset(prob, hd.SGD(lr=sched), t, method="propagator")
    assert hd.predict_risk(prob, hd.SGD(lr=hd.schedules.constant(0.7)), t * 1000).method == "propagator"
    with pytest.raises(ValueError, match="rtol"):
        predict_dataset(prob, hd.SGD(lr=0.7), t, rtol=-1.0)


@pytest.mark.parametrize("batch", [1, 4])
def test_direct_edge_is_where_the_perron_root_crosses_one(batch):
    """The edge formula (no bisection) against the Perron root of A(γ) computed independently."""
    X, y = _toy(n=300, d=16)
    prob = hd.Problem.from_dataset(X, y)
    e = hd.critical_lr(prob, hd.SGD(lr=1.0, batch=batch))
    for edge, moments in ((e.data, "data"), (e.gaussian, "gaussian")):
        if edge < e.mean:
            assert perron_root(prob, edge * (1 - 1e-7), batch, moments) < 1.0
            assert perron_root(prob, edge * (1 + 1e-6), batch, moments) > 1.0
            assert perron_root(prob, edge, batch, moments) == pytest.approx(1.0, abs=1e-9)


def test_closure_with_fewer_rows_than_features():
    """n = 30 rows, d = 80 features (K of rank 30): the closure against the exact second-moment
    recursion (measured ≤ 0.2 % on digits with n = 40, d = 128; docs/datasets.md §9) and against
    Monte Carlo on the rows."""
    X, y = _toy(n=30, d=80, seed=2)
    with pytest.warns(UserWarning, match="rank"):
        prob = hd.Problem.from_dataset(X, y)
    assert int(np.sum(prob.eigenvalues > 0)) == 30
    opt = hd.SGD(lr=0.8)
    t = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    exact = hd.predict_risk(prob, opt, t, method="exact")
    limit = hd.predict_risk(prob, opt, t)
    assert np.allclose(limit.excess_risk, exact.excess_risk, rtol=1e-2)
    sim = hd.simulate(prob, opt, t, runs=256, seed=5, progress=False)
    z = np.abs(limit.excess_risk[1:] - sim.excess_risk[1:]) / sim.excess_risk_stderr[1:]
    assert np.all(z <= 3.3), (z, limit.excess_risk, sim.excess_risk)      # Bonferroni 0.004 over 4 times


# ---------------------------------------------------------------- bad inputs (audit)
def test_bad_inputs_of_the_dataset_diagnostics_name_the_parameter():
    from hdlimits.models.dataset.diagnostics import critical_lr, edge, fourth_moments
    X, y = _toy(n=60, d=6)
    prob = hd.Problem.from_dataset(X, y)
    C = fourth_moments(prob)
    for kw, name in [({"lr": float("nan")}, "lr"), ({"lr": -1.0}, "lr"), ({"lr": "0.5"}, "lr"),
                     ({"lr": 0.5, "batch": 0}, "batch"), ({"lr": 0.5, "batch": 1.5}, "batch"),
                     ({"lr": 0.5, "moments": "foo"}, "moments"), ({"lr": 0.5, "C": np.ones((2, 2))}, "C")]:
        with pytest.raises(ValueError, match=name):
            perron_root(prob, **kw)
    with pytest.raises(ValueError, match=r"lr must lie in \[0, inf\), got -1.0$"):
        perron_root(prob, -1.0)
    with pytest.raises(ValueError, match="moments"):
        fourth_moments(prob, "foo")
    for args, name in [((0, C, 10.0), "batch"), ((1, C, float("nan")), "cap"), ((1, C, -1.0), "cap"),
                       ((1, np.ones((2, 2)), 10.0), "C")]:
        with pytest.raises(ValueError, match=name):
            edge(prob, *args)
    with pytest.raises(ValueError, match="finite_d"):
        critical_lr(prob, hd.SGD(lr=0.5), finite_d="x")


def test_bad_inputs_of_power_sums_and_predict_dataset():
    s = np.array([0.5])
    for kw, name in [({"sigma": np.array([np.nan])}, "sigma"), ({"sigma": np.ones((2, 2))}, "sigma"),
                     ({"L": -3}, "L"), ({"L": 2.5}, "L"), ({"L": "5"}, "L"), ({"norm": 0.0}, "norm"),
                     ({"norm": float("nan")}, "norm"), ({"deg": -1}, "deg")]:
        args = {"sigma": s, "L": 5, **kw}
        with pytest.raises(ValueError, match=name):
            power_sums(**args)
    S, sL = power_sums(s, 0)                    # zero steps: the empty sum and σ⁰ = 1
    assert np.all(S == 0.0) and sL[0] == 1.0
    X, y = _toy(n=60, d=6)
    prob = hd.Problem.from_dataset(X, y)
    with pytest.raises(ValueError, match="t must lie in"):      # t·d overflowed int64 before
        predict_dataset(prob, hd.SGD(lr=0.5), [1e30])
    with pytest.raises(ValueError, match="store_modes"):
        predict_dataset(prob, hd.SGD(lr=0.5), [0.0, 1.0], store_modes="yes")


def test_bad_inputs_of_propagate():
    from hdlimits.models.dataset.propagator import propagate
    lam = np.array([1.0, 0.5])
    good = dict(A=0.5 * np.eye(2), forcing=lambda e: np.zeros(2), ebar0=np.ones(2), rho=np.full(2, 0.9),
                lam=lam, steps_out=np.array([0, 10]), D0=np.ones(2), thr=1e9, rtol=1e-8, atol=0.0,
                store_modes=False)
    P, _, k_div, _ = propagate(**good)
    assert P[1] == pytest.approx(0.5 ** 10 * 1.5, rel=1e-12) and k_div == -1
    for kw, name in [({"rtol": 0.0}, "rtol"), ({"atol": -1.0}, "atol"), ({"A": np.eye(3)}, "A"),
                     ({"D0": np.ones(3)}, "D0"), ({"steps_out": np.array([5, 2])}, "steps_out")]:
        with pytest.raises(ValueError, match=name):
            propagate(**{**good, **kw})
