"""Built-in phase diagrams (hdlimits.phase); the ``hdlimits phase`` command: tests/cli/test_phase.py."""
import numpy as np
import pytest

import hdlimits as hd
from hdlimits import phase
from hdlimits.sweeps import SweepResult


@pytest.fixture(scope="module")
def small_problem():
    return hd.Problem.power_law(d=100, alpha=1.0, beta=1.0, noise=hd.noise.gaussian(0.5), seed=1)


def test_sgd_stability_matches_the_finite_d_boundary(small_problem, tmp_path):
    lrs = np.geomspace(0.3, 60, 24)
    res = phase.sgd_stability(small_problem, lrs=lrs, batches=(1, 2, 8, 32), t_max=300.0,
                              out=tmp_path / "stab", backend="serial", progress=False)
    div = res.sweep["diverged"]
    assert div.shape == (24, 4)
    for j, B in enumerate((1, 2, 8, 32)):
        gc = hd.critical_lr(small_problem, hd.SGD(1.0, batch=B))
        below, above = lrs < 0.95 * gc, lrs > 1.05 * gc
        assert below.any() and above.any()
        assert (div[below, j] == 0).all(), (B, gc)
        assert (div[above, j] == 1).all(), (B, gc)
    # d → ∞ boundary 2dB/tr K and B_crit = tr K/λ_max as drawn
    b = res.boundaries
    np.testing.assert_allclose(b["d_inf"], 2 * 100 * b["batch"] / small_problem.trace)
    assert b["B_crit"] == pytest.approx(small_problem.trace / small_problem.eigenvalues.max())
    assert np.all(b["finite_d"] <= np.minimum(b["d_inf"], b["deterministic"]) * (1 + 1e-9))
    # files: a real PNG and reloadable data
    png = tmp_path / "stab.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    back = SweepResult.load(res.data["npz"])
    np.testing.assert_array_equal(back["diverged"], div)
    assert back.metadata["phase"] == "sgd-stability"


def test_lr_time_heatmap(small_problem, tmp_path):
    t = np.geomspace(0.05, 20, 12)
    res = phase.lr_time(small_problem, lrs=np.geomspace(0.05, 3.0, 10), t=t, out=tmp_path / "lt",
                        backend="serial", progress=False)
    risk = res.sweep["risk"]
    assert risk.shape == (10, 12)
    np.testing.assert_array_equal(risk[3], hd.predict_risk(small_problem, hd.SGD(res.sweep.axes["lr"][3]),
                                                           t).risk)
    # 3.0 is above the critical lr: its row diverges (inf), the others stay finite
    assert hd.critical_lr(small_problem, hd.SGD(1.0)) < 3.0
    assert np.isinf(risk[-1, -1]) and np.isfinite(risk[:-1]).all()
    # the best lr at each time is the argmin of the column
    j = 5
    assert res.boundaries["best_lr"][j] == res.sweep.axes["lr"][np.argmin(risk[:, j])]
    assert (tmp_path / "lt.png").stat().st_size > 20_000
    assert (tmp_path / "lt.csv").read_text().startswith("lr,t,risk,status")


def test_lr_time_schedule_changes_the_landscape(small_problem):
    t = np.array([1.0, 10.0])
    kw = dict(lrs=[0.5, 1.0], t=t, out=None, backend="serial", progress=False)
    const = phase.lr_time(small_problem, **kw)
    cos = phase.lr_time(small_problem, schedule="cosine", **kw)
    # cosine anneals to γ = 0 at the last time: lower final risk than constant γ
    assert (cos.sweep["risk"][:, -1] < const.sweep["risk"][:, -1]).all()
    with pytest.raises(ValueError, match="schedule"):
        phase.lr_time(small_problem, schedule="linear", **kw)


@pytest.mark.slow
def test_clipping_phase_heavy_tails_favour_clipping(tmp_path):
    """Gaussian noise: clipping never beats SGD (CCC ≤ 1, Theorem 4 of arXiv 2406.11733) and the measured
    ratio is ≥ 1 up to the lr search; Student-t df = 2.5: CCC > 1 at moderate thresholds and clipped SGD
    reaches a lower excess risk than SGD, each at its best lr."""
    prob = hd.Problem.power_law(d=60, alpha=1.0, beta=1.0, seed=0)
    thr = np.array([0.3, 1.0, 30.0])
    res = phase.clipping(prob, thresholds=thr, dfs=[2.5, np.inf], t=10.0, n_lrs=3,
                         out=tmp_path / "clip", backend="serial", progress=False)
    ratio, ccc = res.sweep["ratio"], res.sweep["ccc"]
    assert ratio.shape == (2, 3)
    assert (ccc[1] <= 1 + 1e-9).all()
    assert (ratio[1] >= 0.99).all()
    assert (ccc[0, :2] > 1).all() and (ratio[0, :2] < 0.95).all()
    # Gaussian noise and c = 30 ≫ √(P + σ²): no clipping, the ratio is 1 (the lr search includes γ_SGD);
    # with df = 2.5 the rare huge residuals are still clipped at c = 30, and that still helps
    assert ratio[1, 2] == pytest.approx(1.0, abs=0.005)
    assert ratio[0, 2] < 1.0
    assert (tmp_path / "clip.png").stat().st_size > 20_000
    with pytest.raises(ValueError, match="dfs"):
        phase.clipping(prob, dfs=[1.5], out=None, backend="serial")


@pytest.mark.slow
def test_sign_vs_sgd_effects(tmp_path):
    """arXiv 2411.12135 (docs/signsgd.md §5, C10): with Gaussian noise and K = I signSGD is slower than SGD
    (noise compression ρ = π²/4 > 1); its diagonal preconditioning makes it gain with the condition number
    of a diagonal K, and heavy tails (noise compression ρ < 1) make it gain further."""
    res = phase.sign_vs_sgd(conditions=[1.0, 30.0, 1000.0], dfs=[2.5, np.inf], d=60,
                            out=tmp_path / "sign", backend="serial", progress=False)
    ratio = res.sweep["ratio"]                           # df × condition, T_sign / T_SGD
    assert ratio.shape == (2, 3) and np.isfinite(ratio).all()
    assert ratio[1, 0] > 1.5                             # Gaussian, K = I: signSGD clearly slower
    # better on an ill-conditioned diagonal K (κ = 1000 vs K = I; intermediate values are not compared:
    # the best-lr search on a grid of lr ratio ≈ 1.7 makes T uncertain by ~ ±5 %)
    assert (ratio[:, 2] < 0.6 * ratio[:, 0]).all()
    assert (ratio[0] < ratio[1]).all()                   # better with heavy tails
    assert ratio[0, 2] < 1                               # heavy tail + ill-conditioned: signSGD wins
    np.testing.assert_allclose(res.sweep["speedup"], 1 / ratio)
    assert (tmp_path / "sign.png").stat().st_size > 20_000


# ---------------------------------------------------------------------------- defaults, compute / draw
def test_default_d_of_each_diagram():
    """Audit item 11: each diagram's ``d`` default is the one published in ``phase.DEFAULT_D`` (which the
    ``hdlimits phase --help`` text reads)."""
    import inspect
    assert set(phase.DEFAULT_D) == set(phase.NAMES)
    for name, fn in phase.NAMES.items():
        assert inspect.signature(fn).parameters["d"].default == phase.DEFAULT_D[name], name
    assert phase.DEFAULT_D == {"sgd-stability": 400, "lr-time": 400, "clipping": 100, "sign-vs-sgd": 100,
                               "stochastic-eos": 80, "sam-edge": 2, "eos": 2, "scaling-law": None}


def test_default_problems_have_the_default_d():
    kw = dict(out=None, backend="serial", progress=False)
    s = phase.sgd_stability(lrs=[0.5], batches=(1,), t_max=1.0, **kw)
    assert s.problem.d == s.sweep.metadata["problem"]["d"] == phase.DEFAULT_D["sgd-stability"]
    lt = phase.lr_time(lrs=[0.5], t=[1.0], **kw)
    assert lt.problem.d == phase.DEFAULT_D["lr-time"]
    sg = phase.sign_vs_sgd(conditions=[1.0], dfs=[np.inf], n_lrs=1, sign_lrs=[0.1], t_max=1.0, **kw)
    assert sg.sweep.metadata["d"] == phase.DEFAULT_D["sign-vs-sgd"]
    cl = phase.clipping(thresholds=[1.0], dfs=[np.inf], t=1.0, n_lrs=1, **kw)
    assert cl.problem.d == cl.sweep.metadata["problem"]["d"] == phase.DEFAULT_D["clipping"]


def test_compute_and_draw_are_separate(small_problem, tmp_path):
    from hdlimits.phase import stability
    kw = dict(lrs=np.geomspace(0.5, 40, 5), batches=(1, 4), t_max=100.0, backend="serial",
              progress=False)
    data = stability.compute(small_problem, **kw)
    assert data.figure is None and data.data == {}
    fig = stability.draw(data)
    assert fig.axes and fig.axes[0].get_xlabel() == "batch size B"
    full = phase.sgd_stability(small_problem, out=tmp_path / "s", **kw)
    np.testing.assert_array_equal(full.sweep["diverged"], data.sweep["diverged"])
    assert full.figure == str(tmp_path / "s.png")
    # statuses are data: diverged cells have code 'diverged' and an event time
    div = data.sweep["diverged"] == 1
    assert (data.sweep.status_code[div] == "diverged").all() and np.isfinite(data.sweep.t_event[div]).all()
    assert (data.sweep.status_code[~div] == "ok").all()
