"""``hd.phase.stochastic_eos`` (hdlimits/phase/stochastic_eos.py): the 𝒦 = 1 curve, the EOS line, B_c and
the simulated divergence marks on a coarse grid."""
import importlib

import numpy as np
import pytest

from hdlimits import phase
from hdlimits import sharpness as hs
from hdlimits.sweeps import SweepResult

seos = importlib.import_module("hdlimits.phase.stochastic_eos")   # hd.phase.stochastic_eos is the function

D = 60
BATCHES = (1, 4, 16, D)
#: a grid point this far above the 𝒦 = 1 curve must be marked "grows", this far below must not be.
#: Why a margin: the finite-D edge of the exact recursion lies a few % below 𝒦 = 1 (O(1/D),
#: docs/sharpness.md §5), and a growth of ×10 within STEPS steps needs a growth rate μ − 1 ≳ ln 10/STEPS
#: per step, which 1.15 × η_S gives at every batch here (measured: ×10 growth of every run from 1.2 × η_S
#: on at D = 80 and 300 steps; no run at 0.85 × η_S). The grid below has points at 1.16 × η_S (marked
#: through the ×10 growth, no run reaches the 1e10 divergence) and at 0.74–0.82 × η_S.
ABOVE, BELOW = 1.15, 0.85
STEPS, RUNS = 300, 6


def _model(name):
    """The documented recipes, rebuilt here (not read back from the diagram)."""
    if name == "mp":
        return hs.LinearModel.marchenko_pastur(D, 2 * D, seed=0)
    lam = (1.0 + np.arange(D)) ** -1.0
    return hs.LinearModel.from_ntk(lam * D / lam.sum(), basis="haar", seed=0)


@pytest.fixture(scope="module", params=["mp", "power-law"])
def result(request):
    lin = _model(request.param)
    lrs = np.geomspace(0.3 * hs.critical_lr(lin, 1), 2.0 * 2 / lin.lambda_max, 12)
    res = seos.compute(request.param, lrs=lrs, batches=BATCHES, steps=STEPS, runs=RUNS, d=D,
                       backend="serial", progress=False)
    return request.param, lin, res


def test_the_curve_is_the_critical_lr_where_the_noise_kernel_norm_is_one(result):
    name, lin, res = result
    b = res.boundaries
    assert b["batch"][0] == 1 and b["batch"][-1] == D
    for B, eta in zip(b["batch"], b["eta_s"]):
        assert eta == pytest.approx(float(hs.critical_lr(lin, int(B))), rel=1e-12)
        if B < D:     # independent check: 𝒦(η_S, B) = 1 on the curve
            assert hs.noise_kernel_norm(lin, lr=eta, batch=int(B)) == pytest.approx(1.0, abs=1e-8)
        else:         # full batch: no noise, the edge is the EOS
            assert eta == pytest.approx(2 / lin.lambda_max, rel=1e-12)
    assert b["eos"] == pytest.approx(2 / lin.lambda_max, rel=1e-12)
    assert b["B_c"] == pytest.approx(lin.trace / lin.lambda_max, rel=1e-12)
    assert np.all(np.diff(b["eta_s"]) >= 0) and np.all(b["eta_s"] <= b["eos"] * (1 + 1e-12))


def test_simulated_divergence_above_the_curve_and_not_far_below(result):
    name, lin, res = result
    sw = res.sweep
    div = sw["diverged"]
    above = below = near_above = 0
    for j, B in enumerate(sw.axes["batch"]):
        eta_s = float(hs.critical_lr(lin, int(B)))
        for i, lr in enumerate(sw.axes["lr"]):
            if lr >= ABOVE * eta_s:
                above += 1
                near_above += lr < 1.3 * eta_s
                assert div[i, j] == 1 and sw.status_code[i, j] == "diverged", (name, B, lr / eta_s)
            elif lr <= BELOW * eta_s:
                below += 1
                assert div[i, j] == 0 and sw.status_code[i, j] == "ok", (name, B, lr / eta_s)
    assert above >= 10 and below >= 10 and near_above >= 1   # at least one point close above the curve           # the test checks enough points on each side
    assert set(np.unique(sw["grew_fraction"])) <= {k / RUNS for k in range(RUNS + 1)}


def test_compute_and_draw_are_separate(result, tmp_path, monkeypatch):
    name, lin, res = result
    assert res.figure is None and res.data == {}

    def no_sweep(*a, **k):
        raise AssertionError("draw must not run the sweep")

    monkeypatch.setattr(seos, "sweep", no_sweep)
    fig = seos.draw(res)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("mathcal{K}" in s for s in labels) and any("EOS" in s for s in labels)
    assert any("B_c" in s for s in labels)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    written = seos.write(res, fig, tmp_path / "s")
    assert written.figure == str(tmp_path / "s.png") and (tmp_path / "s.png").stat().st_size > 0
    back = SweepResult.load(tmp_path / "s.npz")
    assert np.array_equal(back["diverged"], res.sweep["diverged"])


def test_public_function_writes_files_and_is_registered(tmp_path):
    assert phase.NAMES["stochastic-eos"] is phase.stochastic_eos
    assert phase.DEFAULT_D["stochastic-eos"] == seos.DEFAULT_D == 80
    r = phase.stochastic_eos("power-law", lrs=[0.01, 0.5], batches=(2, 8), steps=20, runs=2, d=20,
                             out=tmp_path / "p", backend="serial", progress=False)
    assert r.sweep.shape == (2, 2) and (tmp_path / "p.png").exists()
    assert set(r.data) == {"npz", "csv", "json"}
    assert r.sweep.metadata["D"] == 20 and "power-law" in r.sweep.metadata["label"]


@pytest.mark.parametrize("kw, text", [
    ({"model": "gaussian"}, "model must be 'mp', 'power-law'"),
    ({"batches": (1, 30)}, "batches must be integers in [1, 20]"),
    ({"lrs": [-0.1, 0.1]}, "lrs"),
    ({"steps": 0}, "steps"),
    ({"alpha": -1, "model": "power-law"}, "alpha"),
])
def test_bad_input(kw, text):
    with pytest.raises(ValueError, match=None) as exc:
        seos.compute(**{"d": 20, "runs": 2, "steps": 5, "backend": "serial", **kw})
    assert text in str(exc.value)
