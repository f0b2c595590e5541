"""plot.risk_curves / risk_curves_many: figures are produced, saved and non-trivial."""
import sys
import warnings

import numpy as np
import pytest

from hdlimits import plot
from hdlimits.models.least_squares.problem import Problem
from hdlimits.core.status import Status
from hdlimits.core import noise as noise
from hdlimits.core.results import RiskCurve, SimulationResult

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PROB = Problem.isotropic(50, noise=noise.gaussian(0.3))


def _pair(rate=1.0, diverge_at=None, runs=4, seed=0):
    t = np.linspace(0.0, 3.0, 31)
    ex = 0.5 * np.exp(-rate * t) + 0.02
    rng = np.random.default_rng(seed)
    se = 0.05 * ex
    sim = ex * (1 + 0.05 * rng.standard_normal(t.size))
    st_th = st_sim = "ok"
    if diverge_at is not None:
        k = int(np.searchsorted(t, diverge_at))
        ex = 0.5 * np.exp(4 * t)
        sim = 0.4 * np.exp(3.8 * t)
        se = 0.3 * sim
        ex[k:] = np.inf
        sim[k + 3:] = np.inf
        se[k + 3:] = np.inf
        st_th = Status.diverged(t[k])
        st_sim = Status.diverged(t[k + 3], f"{runs} of {runs} runs")
    floor = 0.5 * PROB.noise_second_moment
    th = RiskCurve(t=t, risk=ex + floor, excess_risk=ex, status=st_th, problem=PROB)
    sm = SimulationResult(t=t, risk=sim + floor, excess_risk=sim, status=st_sim, problem=PROB,
                          method="simulation", risk_stderr=se, excess_risk_stderr=se, runs=runs,
                          data="gaussian")
    return th, sm


def _check_png(path, min_bytes=15_000):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > min_bytes


def test_risk_curves_png(tmp_path):
    th, sm = _pair()
    path = tmp_path / "sgd.png"
    fig = plot.risk_curves(th, sm, path=str(path))
    _check_png(path)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert "t = steps / d" in ax.get_xlabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("theory" in s and "ok" in s for s in labels)
    assert any("simulation" in s and "4 runs" in s for s in labels)
    assert any("noise floor" in s for s in labels)
    assert len(ax.collections) == 2          # ±1 and ±2 standard-error bands


def test_excess_risk_logx_linear(tmp_path):
    th, sm = _pair()
    fig = plot.risk_curves(th, sm, path=tmp_path / "a.png", quantity="excess_risk", logx=True)
    assert fig.axes[0].get_xscale() == "log"
    assert "excess" in fig.axes[0].get_ylabel()
    fig = plot.risk_curves(th, None, path=tmp_path / "b.png", logy=False, title="only theory")
    assert fig.axes[0].get_yscale() == "linear"
    assert fig.axes[0].get_title() == "only theory"
    fig = plot.risk_curves(None, sm, path=tmp_path / "c.png")
    _check_png(tmp_path / "c.png", 10_000)


def test_divergence_is_marked_without_warnings(tmp_path):
    th, sm = _pair(diverge_at=1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plot.risk_curves(th, sm, path=tmp_path / "div.png")
    _check_png(tmp_path / "div.png")
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert any("theory diverges" in s for s in texts)
    assert any("simulation diverges" in s for s in texts)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("diverged at t=1.5" in s for s in labels)
    lo, hi = ax.get_xlim()
    assert hi >= 3.0                     # the whole horizon is shown


def test_many(tmp_path):
    items = [(*_pair(1.0, seed=1), "lr 0.5"), (*_pair(2.0, seed=2), "lr 1"),
             (*_pair(diverge_at=1.2), "lr 3")]
    path = tmp_path / "many.png"
    fig = plot.risk_curves_many(items, path=path)
    _check_png(path, 30_000)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]   # long legend goes below the axes
    assert sum("theory" in s for s in labels) == 3
    assert any(s.startswith("lr 3:") for s in labels)
    th, sm = _pair()
    fig = plot.risk_curves_many([(th, sm)], quantity="excess_risk")
    assert fig.axes[0].get_legend() is not None


def test_into_existing_axes(tmp_path):
    from matplotlib.figure import Figure
    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    th, sm = _pair()
    out = plot.risk_curves(th, sm, ax=ax2)
    assert out is fig and ax2.lines and not ax1.lines


def test_no_pyplot_state(tmp_path):
    th, sm = _pair()
    before = None
    if "matplotlib.pyplot" in sys.modules:
        before = list(sys.modules["matplotlib.pyplot"].get_fignums())
    plot.risk_curves(th, sm, path=tmp_path / "x.png")
    if before is not None:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == before


def test_bad_arguments():
    th, sm = _pair()
    with pytest.raises(ValueError, match="quantity must be one of"):
        plot.risk_curves(th, sm, quantity="no_such_observable")
    with pytest.raises(ValueError, match="neither"):
        plot.risk_curves(None, None)
    with pytest.raises(ValueError, match="at least one"):
        plot.risk_curves_many([])
    with pytest.raises(ValueError, match=r"items\[0\]"):
        plot.risk_curves_many([th])


def test_infinite_risk_plots_the_excess_risk(tmp_path):
    """Noise without a second moment: the risk is inf at every time by definition (status ok). The
    plot draws the excess risk, says so, and marks no divergence (it used to draw an empty plot marked
    "diverges (t=0)")."""
    import hdlimits as hd
    prob = Problem.isotropic(60, noise=noise.student_t(1.5, 0.5))
    opt = hd.ClippedSGD(lr=0.5, clip=1.0)
    t = np.linspace(0, 2, 21)
    th = hd.predict_risk(prob, opt, t)
    sm = hd.simulate(prob, opt, t, runs=3, seed=0, workers=1, progress=False)
    assert th.ok and sm.ok and np.isinf(th.risk).all() and np.isfinite(th.excess_risk).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plot.risk_curves(th, sm, path=tmp_path / "heavy.png")
    _check_png(tmp_path / "heavy.png")
    ax = fig.axes[0]
    assert "excess" in ax.get_ylabel()
    assert plot.SWITCH_NOTE in ax.get_title()
    assert not ax.texts                                   # no divergence mark
    ys = np.concatenate([ln.get_ydata() for ln in ax.lines])
    assert np.isfinite(ys).sum() >= 2 * t.size            # both curves are drawn
    fig = plot.risk_curves_many([(th, sm, "clipped")])
    assert "excess" in fig.axes[0].get_ylabel() and plot.SWITCH_NOTE in fig.axes[0].get_title()
    # a finite risk keeps the requested quantity
    th2, sm2 = _pair()
    assert "excess" not in plot.risk_curves(th2, sm2).axes[0].get_ylabel()


def test_labels_from_the_observables_vocabulary():
    from hdlimits.core import observables
    th, sm = _pair()
    assert plot.risk_curves(th, sm).axes[0].get_ylabel() == observables.get("risk").label
    t = np.linspace(0, 1, 5)
    curve = RiskCurve(t=t, status="ok", observables={"sharp": 1 + t})
    observables.register(observables.Observable("sharp", "sharpness  λ_max(H)", "test observable"))
    try:
        fig = plot.risk_curves(curve, None, quantity="sharp")
        assert fig.axes[0].get_ylabel() == "sharpness  λ_max(H)"
    finally:
        observables._REGISTRY.pop("sharp")


def test_ok_status_with_nonfinite_values_is_not_marked_diverged():
    th, sm = _pair()
    th.excess_risk[-1] = np.inf                        # e.g. an infinite observable, status ok
    fig = plot.risk_curves(th, sm, quantity="excess_risk")
    assert not fig.axes[0].texts
