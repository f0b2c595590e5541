"""The numbers quoted in docs/results.md and README.md come from the code (audit 5)."""
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import hdlimits as hd
from hdlimits.core.status import UnstableWarning

ROOT = Path(__file__).resolve().parents[1]
VERDICT = re.compile(r"max \|z\| = ([0-9.]+) ≤ ([0-9.]+) for (\d+) times, (\d+) runs")


@pytest.mark.parametrize("doc", ["docs/results.md", "README.md"])
def test_verdict_thresholds_follow_the_bonferroni_student_t_formula(doc):
    found = VERDICT.findall((ROOT / doc).read_text())
    if doc == "docs/results.md":
        assert found, "docs/results.md §3 shows a verdict line"
    for z, bound, n, runs in found:
        expected = stats.t.ppf(1 - 0.01 / (2 * int(n)), int(runs) - 1)
        assert float(bound) == pytest.approx(expected, abs=0.006), (z, bound, n, runs)
        assert float(z) <= float(bound)


def test_growth_warning_example_is_what_the_code_prints():
    text = (ROOT / "docs/results.md").read_text()
    quoted = re.search(r"# UnstableWarning: (risk grows without bound[^\n]*)", text).group(1)
    prob = hd.Problem.power_law(d=500, alpha=1.0, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        th = hd.predict_risk(prob, hd.SGD(lr=2.6), np.linspace(0, 3, 11))
    assert th.status == "ok" and th.warnings == [quoted]
    assert [str(w.message) for w in caught if issubclass(w.category, UnstableWarning)] == [quoted]
