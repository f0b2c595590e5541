"""hd.scaling: phases, heuristic exponents, and the frontier fit on loss surfaces with a known optimum."""
import math

import numpy as np
import pytest

from hdlimits import scaling


@pytest.mark.parametrize("a,b,name", [(1.0, 0.3, "Ia"), (0.4, 0.3, "Ib"), (0.2, 0.8, "Ic"), (1.0, 0.75, "II"),
                                      (1.0, 1.5, "III"), (0.4, 0.8, "IV"), (0.2, 0.2, "none")])
def test_phase_regions(a, b, name):
    assert scaling.phase(a, b) == name


def test_theory_exponents_of_the_notes():
    assert scaling.theory_exponents(1.0, 0.3) == pytest.approx((1 / 3, 1.6 / 3))
    assert scaling.theory_exponents(1.0, 0.75) == pytest.approx((0.75 / 1.75, 2.5 / 3.5))
    assert scaling.theory_exponents(1.0, 1.5) == pytest.approx((0.5, 0.75))
    assert scaling.theory_exponents(0.4, 0.8) == (None, None)


def test_frontier_of_a_two_term_loss_surface():
    # L(d, f) = d^(−a) + (f/d)^(−b): minimising over d gives d* = (a/b)^{1/(a+b)} f^{b/(a+b)} exactly,
    # and L* ∝ f^{−ab/(a+b)}
    a, b = 1.2, 0.6
    d = np.geomspace(4, 4e5, 61)
    f = np.geomspace(1e4, 1e10, 25)
    loss = d[:, None] ** (-a) + (f[None, :] / d[:, None]) ** (-b)
    curves = scaling.ScalingCurves(1.0, 0.3, d, f, loss, 1, np.ones(d.size))
    fr = scaling.compute_optimal(1.0, 0.3, curves=curves)
    assert fr.interior.all()
    assert fr.d_exponent == pytest.approx(b / (a + b), abs=2e-3)
    assert fr.loss_exponent == pytest.approx(a * b / (a + b), abs=2e-3)
    exact = (a / b) ** (1 / (a + b)) * f ** (b / (a + b))
    np.testing.assert_allclose(fr.d_star, exact, rtol=0.02)
    assert fr.d_exponent_se < 2e-3


def test_loss_vs_compute_small_grid_decreases_with_compute():
    cur = scaling.loss_vs_compute(1.0, 0.75, d=[16, 32, 64], flops=np.geomspace(1e3, 1e6, 7))
    assert cur.methods == ["explicit"] * 3
    for row in cur.loss:
        vals = row[np.isfinite(row)]
        assert np.all(np.diff(vals) <= 1e-12 * vals[1:])     # falls, then sits at the floor
    # more parameters reach a lower loss at the largest compute (capacity term 𝒫* falls with d)
    assert cur.loss[-1, -1] < cur.loss[0, -1]
    with pytest.raises(ValueError, match="d must hold"):
        scaling.loss_vs_compute(1.0, 0.75, d=[16], flops=[1e4])


def test_cli_scaling_prints_the_frontier_and_draws(tmp_path):
    import io
    from hdlimits.cli.main import main
    png = tmp_path / "plane.png"
    buf = io.StringIO()
    import contextlib
    with contextlib.redirect_stdout(buf):
        code = main(["scaling", "--alpha", "1.0", "--beta", "0.3", "--d-max", "64", "--n-d", "5",
                     "--flops-max", "1e6", "--n-flops", "6", "--diagram", str(png)])
    text = buf.getvalue()
    assert code == 0
    assert "phase Ia" in text and "d*" in text and "heuristic 0.333" in text
    assert png.exists() and png.stat().st_size > 10_000


@pytest.mark.slow
def test_compute_optimal_exponent_of_phase_two_at_large_d():
    # C13 (docs/scaling.md §6): d up to 65536 with the deterministic equivalent above v·d = 4·10⁶; the fitted
    # ξ must agree with the heuristic β/(α+β) within 3 standard errors of the fit (≈ 75 s)
    fr = scaling.compute_optimal(1.0, 0.75, flops=np.geomspace(1e5, 1e11, 25), d=np.geomspace(64, 65536, 11))
    assert fr.interior.sum() >= 15
    assert abs(fr.d_exponent - 0.75 / 1.75) <= 3 * fr.d_exponent_se


def test_bad_inputs_name_the_parameter():
    """No sweep runs: each call fails in its argument checks."""
    for kw, name in [({"d": [8, float("nan")]}, "d"), ({"d": ["a", 16]}, "d"), ({"d": [[8, 16]]}, "d"),
                     ({"flops": []}, "flops"), ({"flops": ["x"]}, "flops"), ({"flops": [-1.0]}, "flops"),
                     ({"lr": "0.1"}, "lr"), ({"lr": float("nan")}, "lr")]:
        args = {"d": [8, 16], "flops": [1e3], **kw}
        with pytest.raises(ValueError, match=name):
            scaling.loss_vs_compute(1.0, 0.5, **args)
    # lr was converted to hdlimits units before its check: the message showed -1.0223844035860146
    with pytest.raises(ValueError, match=r"lr must lie in \(0, inf\), got -1.0$"):
        scaling.loss_vs_compute(1.0, 0.5, d=[8, 16], flops=[1e3], lr=-1.0)
    curves = scaling.ScalingCurves(1.0, 0.3, np.array([4.0, 8.0]), np.array([1e3]), np.ones((2, 1)), 1,
                                   np.ones(2))
    for a, b, name in [(float("nan"), 0.5, "alpha"), (-1.0, 0.5, "alpha"), (1.0, math.inf, "beta")]:
        with pytest.raises(ValueError, match=name):
            scaling.compute_optimal(a, b, curves=curves)
    for a, b, name in [(float("nan"), 0.5, "alpha"), (1.0, math.inf, "beta")]:
        with pytest.raises(ValueError, match=name):
            scaling.phase(a, b)
    with pytest.raises(ValueError, match="curves"):
        scaling.compute_optimal(1.0, 0.5, curves="x")
    with pytest.raises(ValueError, match="alpha"):
        scaling.theory_exponents("1", 0.5)
