"""Statistical tolerances for simulation-vs-theory tests, fixed before looking at the data.

A test that compares a mean of ``runs`` runs with a prediction at ``m`` times allows each gap
``k·SE`` with ``k`` the two-sided Student-t quantile (``runs − 1`` degrees of freedom) at a family-wise
false-alarm probability ``alpha`` spread over the ``m`` comparisons (Bonferroni). With the default
``alpha = 1e-3`` a correct theory fails such a test about once in a thousand seeds.
"""
from scipy import stats


def family_z(m: int, runs: int, alpha: float = 1e-3) -> float:
    return float(stats.t.ppf(1.0 - alpha / (2.0 * m), runs - 1))
