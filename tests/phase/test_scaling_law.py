"""Phase diagram ``scaling-law`` (hdlimits.phase.scaling_law): the sweep of compute_optimal over the (α, β)
plane, its statuses, the heuristic exponents and the files."""
import numpy as np
import pytest

from hdlimits import phase
from hdlimits.phase.scaling_law import QUICK, compute, draw, heuristic, heuristic_plane
from hdlimits.scaling import compute_optimal
from hdlimits.sweeps import SweepResult


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("sl") / "sl"
    # (0.6, 1.65) has too few interior optima on the quick sizes: a "no_fit" point
    return phase.scaling_law(alphas=[0.6, 1.6], betas=[0.15, 1.65], quick=True, out=out, backend="serial",
                             progress=False)


def test_values_are_compute_optimal_fits_with_closed_form_heuristics(quick):
    res = quick.sweep
    assert res.shape == (2, 2) and list(res.axes) == ["beta", "alpha"]
    i, j = 0, 1                                         # β = 0.15, α = 1.6: phase Ia
    fr = compute_optimal(1.6, 0.15, d=np.asarray(QUICK["d"]), flops=np.asarray(QUICK["flops"]))
    assert res["xi"][i, j] == fr.d_exponent and res["xi_se"][i, j] == fr.d_exponent_se
    assert res["eta"][i, j] == fr.loss_exponent and res["n_interior"][i, j] == fr.interior.sum()
    # heuristic exponents, docs/scaling.md §5: Ia ξ = 1/(2α+1); II ξ = β/(α+β); III ξ = ½
    assert res["xi_theory"][0, 1] == pytest.approx(1 / (2 * 1.6 + 1), rel=1e-14)
    assert res["xi_theory"][0, 0] == pytest.approx(1 / (2 * 0.6 + 1), rel=1e-14)
    assert res["xi_theory"][1, 0] == 0.5 and res["xi_theory"][1, 1] == 0.5
    np.testing.assert_array_equal(res["xi_minus_theory"], res["xi"] - res["xi_theory"])
    assert res.metadata["phases"] == [["Ia", "Ia"], ["III", "III"]]
    # in phase Ia with a steep spectrum the quick fit already agrees with the heuristic within 4 se
    assert abs(res["xi"][i, j] - 1 / 4.2) <= 4 * res["xi_se"][i, j]


def test_failed_fits_are_a_status_not_a_silent_nan(quick):
    res = quick.sweep
    codes = res.status_code
    assert set(codes.ravel()) <= {"ok", "no_fit"}
    bad = codes == "no_fit"
    assert bad[1, 0]                                    # (α 0.6, β 1.65)
    assert np.all(np.isnan(res["xi"][bad])) and np.all(res["n_interior"][bad] < 3)
    assert np.all(np.isfinite(res["xi"][~bad])) and np.all(res["n_interior"][~bad] >= 3)
    assert "no exponent fitted" in res.status[1, 0]


def test_files_reload_and_figure_has_two_panels(quick):
    assert quick.figure.endswith("sl.png")
    from pathlib import Path
    png = Path(quick.figure)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 30_000
    back = SweepResult.load(quick.data["npz"])
    np.testing.assert_array_equal(back["xi"], quick.sweep["xi"])
    np.testing.assert_array_equal(back.status_code, quick.sweep.status_code)
    assert back.metadata["phase"] == "scaling-law"
    fig = draw(quick)
    assert len([a for a in fig.axes if a.get_xlabel().startswith("α")]) == 2


def test_heuristic_grid_and_boundaries(quick):
    a, b, xi, names = heuristic((0.6, 1.6), (0.1, 1.6), 11)
    for i, bb in enumerate(b):
        for j, aa in enumerate(a):
            if bb < 0.5:
                assert names[i, j] == "Ia" and xi[i, j] == pytest.approx(1 / (2 * aa + 1))
            elif bb < aa:
                assert names[i, j] == "II" and xi[i, j] == pytest.approx(bb / (aa + bb))
            else:
                assert names[i, j] == "III" and xi[i, j] == 0.5
    bd = quick.boundaries
    assert bd["xi_theory"].shape == (bd["beta"].size, bd["alpha"].size)
    # the fine grid covers the cells: from below the first to beyond the last grid value
    assert bd["alpha"][0] < 0.6 and bd["alpha"][-1] > 1.6 and bd["beta"][0] < 0.15 and bd["beta"][-1] > 1.65


def test_heuristic_plane_keeps_the_closed_form_drawing(tmp_path):
    fig = heuristic_plane(tmp_path / "plane", fits=[(1.0, 0.3, 0.33, 0.02)], n=41)
    assert (tmp_path / "plane.png").stat().st_size > 10_000 and fig.axes


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="resolution"):
        compute(resolution=1, backend="serial", progress=False)
    with pytest.raises(ValueError, match="d must hold at least 3 model sizes"):
        compute(d=[8, 16], backend="serial", progress=False)
    with pytest.raises(ValueError, match="alphas"):
        compute(alphas=[-1.0, 1.0], backend="serial", progress=False)
    with pytest.raises(ValueError, match="batch"):
        compute(batch=0, backend="serial", progress=False)
