"""The in-kernel generator: exact N(0,1) law (ziggurat) and fair Rademacher signs."""
import numpy as np
import pytest
from scipy import stats

from hdlimits.sim import rng


def test_ziggurat_tables_close():
    # base-layer edge of the 256-layer ziggurat (Marsaglia & Tsang 2000 list r = 3.6541528853610088)
    assert rng.ZIG_R == pytest.approx(3.6541528853610088, rel=1e-12)
    assert rng.ZIG_X[-1] == 0.0 and np.all(np.diff(rng.ZIG_X[1:]) < 0)


def test_normal_law():
    st = rng.seed_state(np.random.SeedSequence(11))
    x = np.empty(2_000_000)
    rng.fill_normal(st, x)
    n = x.size
    assert abs(x.mean()) < 5 / np.sqrt(n)
    assert abs(x.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(stats.kurtosis(x)) < 5 * np.sqrt(24 / n)
    assert stats.kstest(x, "norm").pvalue > 1e-3
    # tails, including the ziggurat's tail algorithm beyond r
    for c in (2.0, 3.0, rng.ZIG_R, 4.5):
        p = 2 * stats.norm.sf(c)
        assert abs(np.mean(np.abs(x) > c) - p) < 5 * np.sqrt(p / n) + 1e-7


def test_rademacher_and_seeding():
    st = rng.seed_state(np.random.SeedSequence(3))
    x = np.empty(1_000_001)
    rng.fill_rademacher(st, x)
    assert set(np.unique(x)) == {-1.0, 1.0}
    assert abs(x.mean()) < 5 / np.sqrt(x.size)
    a, b = np.empty(10), np.empty(10)
    rng.fill_normal(rng.seed_state(np.random.SeedSequence(5)), a)
    rng.fill_normal(rng.seed_state(np.random.SeedSequence(5)), b)
    assert np.array_equal(a, b)
