"""hd.clipping against the claims of docs/clipping.md §6–§7 (C6, C7) and the paper."""
import numpy as np
import pytest

import hdlimits as hd
from hdlimits.models.least_squares import clipping as cl


def test_gaussian_theorem_mu2_le_nuhat_le_mu_dense_grid():
    g = hd.noise.gaussian(1.0)
    P = 1.0  # only a = c/√(P + σ²) matters
    for a in np.geomspace(1e-3, 8.0, 200):
        c = a * np.sqrt(P + 1.0)
        mu, nh = cl.mu(P, c, g), cl.nu_hat(P, c, g)
        assert mu ** 2 <= nh * (1 + 1e-12) and nh <= mu * (1 + 1e-12)


def test_c6_values():
    g = hd.noise.gaussian(1.0)
    c = np.sqrt(2.0)  # a = 1 at P = 1
    assert cl.mu(1.0, c, g) == pytest.approx(0.6827, abs=5e-5)
    assert cl.nu_hat(1.0, c, g) == pytest.approx(0.5161, abs=5e-5)
    assert cl.ccc(1.0, 1e-4, g) == pytest.approx(2 / np.pi, rel=1e-3)   # a -> 0 limit


def test_c7_student_t_ccc_above_one():
    cs, val = cl.max_ccc_threshold(0.02, hd.noise.student_t(3, 1.0))  # notes' R = 0.01 -> P = 0.02
    assert val == pytest.approx(1.947, abs=1e-3)
    assert cs == pytest.approx(0.939, abs=2e-3)


def test_stationary_risks_notes_5_5():
    assert cl.stationary_excess_risk(1.0, 0.5, hd.noise.gaussian(1.0)) == pytest.approx(0.1410, abs=1e-4)
    assert cl.stationary_excess_risk(1.0, 1.0, hd.noise.student_t(1, 1.0)) == pytest.approx(0.4652, abs=1e-4)


def test_errors():
    with pytest.raises(ValueError, match="c must"):
        cl.mu(1.0, -1.0, hd.noise.gaussian(1.0))
    with pytest.raises(ValueError, match="second moment"):
        cl.nu_hat(1.0, 1.0, hd.noise.student_t(2, 1.0))
