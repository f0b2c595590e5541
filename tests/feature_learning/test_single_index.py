"""Single-index one-step spike alignment, Monte Carlo (docs/feature_learning.md §5; notes claim C10)."""
import numpy as np
import pytest

from hdlimits import feature_learning as fl
from tests.stats import family_z


def test_bad_input():
    with pytest.raises(ValueError, match="link"):
        fl.SingleIndex(20, 100, 10, link="cubic")
    with pytest.raises(ValueError, match="condition_number"):
        fl.SingleIndex(20, 100, 10, condition_number=0.3)
    with pytest.raises(ValueError, match="precondition"):
        fl.SingleIndex(20, 100, 10).one_step("kfac")


def test_normalisation_and_population_directions():
    si = fl.SingleIndex(50, 100, 10, condition_number=30.0, seed=2)
    assert si.beta @ si.Sigma @ si.beta == pytest.approx(1.0)
    c = abs(si.beta @ si.sigma_beta) / np.linalg.norm(si.beta) / np.linalg.norm(si.sigma_beta)
    assert si.population(None)["cos_beta"] == pytest.approx(c)
    assert si.population("full")["cos_beta"] == pytest.approx(1.0)


def test_right_preconditioning_aligns_the_spike_with_beta():
    # C10 (qualitative, MC): the plain spike leans to Σβ, the preconditioned one to β
    si = fl.SingleIndex(80, 2000, 40, "relu+linear", 30.0, seed=0)
    runs = 4
    none, full = si.one_step(None, runs=runs), si.one_step("full", runs=runs)
    z = family_z(2, runs)
    assert none.cos_sigma_beta - none.cos_beta > z * np.hypot(none.cos_sigma_beta_stderr, none.cos_beta_stderr)
    assert full.cos_beta - none.cos_beta > z * np.hypot(full.cos_beta_stderr, none.cos_beta_stderr)
    assert full.cos_beta > 0.8
