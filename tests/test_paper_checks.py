"""The paper-check harness: protocol, exit codes, and the SGD claims in fast mode."""
import sys
import types

import pytest

import paper_checks
from paper_checks import __main__ as pc_main


def test_sgd_claims_fast(tmp_path):
    """Runs paper_checks/sgd.py in fast mode (theory and simulation); every claim must pass."""
    rows = paper_checks.run_all(fast=True, outdir=tmp_path, only=["sgd"])
    assert len(rows) >= 9
    failed = [(r["claim"], r["measured"], r.get("traceback")) for r in rows if not r["passed"]]
    assert not failed, failed
    for r in rows:
        assert r["module"] == "sgd" and r["paper"] and r["measured"]
    assert (tmp_path / "sgd_plateaus_recursion.png").stat().st_size > 10_000
    assert (tmp_path / "sgd_preconditioned.png").stat().st_size > 10_000



def test_sharpness_claims_fast(tmp_path):
    """Runs paper_checks/sharpness.py in fast mode (about 15 s): thresholds, rates and the MC check of the
    exact recursion (C1–C5, C21); every claim must pass and the stochastic-EOS figure is written."""
    rows = paper_checks.run_all(fast=True, outdir=tmp_path, only=["sharpness"])
    assert len(rows) >= 9
    failed = [(r["claim"], r["measured"], r.get("traceback")) for r in rows if not r["passed"]]
    assert not failed, failed
    for r in rows:
        assert r["module"] == "sharpness" and r["paper"] and r["measured"]
    assert (tmp_path / "sharpness_stochastic_eos.png").stat().st_size > 10_000

def _fake(monkeypatch, name, run):
    mod = types.ModuleType(f"paper_checks.{name}")
    mod.run = run
    monkeypatch.setitem(sys.modules, f"paper_checks.{name}", mod)
    monkeypatch.setattr(paper_checks, "module_names", lambda: [name])


def test_failing_claim_gives_nonzero_exit(monkeypatch, tmp_path, capsys):
    _fake(monkeypatch, "zz_fail", lambda fast, outdir: [
        {"paper": "P", "claim": "x = 1", "measured": 2.0, "passed": False},
        {"paper": "P", "claim": "y = 1", "measured": 1.0, "passed": True}])
    code = pc_main.main(["--fast", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "[FAIL] zz_fail: P" in out and "[PASS] zz_fail: P" in out
    assert "1 passed, 1 failed" in out
    assert (tmp_path / "results.json").exists()


def test_passing_module_exit_zero_and_fast_flag(monkeypatch, tmp_path, capsys):
    seen = {}

    def run(fast, outdir):
        seen["fast"] = fast
        seen["outdir"] = outdir
        return [{"paper": "P", "claim": "c", "measured": "m", "passed": True}]

    _fake(monkeypatch, "zz_ok", run)
    assert pc_main.main(["--out", str(tmp_path / "o")]) == 0
    assert seen["fast"] is False and str(seen["outdir"]).endswith("o")
    assert pc_main.main(["--fast", "--out", str(tmp_path / "o"), "--only", "zz_ok"]) == 0
    assert seen["fast"] is True


def test_crashing_or_malformed_module_is_a_failure(monkeypatch, tmp_path):
    def boom(fast, outdir):
        raise RuntimeError("kaput")

    _fake(monkeypatch, "zz_boom", boom)
    rows = paper_checks.run_all(True, tmp_path)
    assert len(rows) == 1 and not rows[0]["passed"] and "kaput" in rows[0]["measured"]
    _fake(monkeypatch, "zz_bad", lambda fast, outdir: [{"paper": "P", "passed": True}])
    rows = paper_checks.run_all(True, tmp_path)
    assert not rows[0]["passed"] and "lacks keys" in rows[0]["measured"]


def test_unknown_only_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as exc:
        pc_main.main(["--only", "no_such_module", "--out", str(tmp_path)])
    assert exc.value.code == 2


def test_module_discovery_lists_sgd():
    assert "sgd" in paper_checks.module_names()
    assert "sharpness" in paper_checks.module_names()


def test_glm_claims_fast(tmp_path):
    """Runs paper_checks/glm.py in fast mode (about 20 s): C5 (ReLU, naive J rejected, whitened), C6, C14,
    logistic regression and the phase-retrieval edge; every claim must pass and the figure is written."""
    rows = paper_checks.run_all(fast=True, outdir=tmp_path, only=["glm"])
    assert len(rows) >= 6
    failed = [(r["claim"], r["measured"], r.get("traceback")) for r in rows if not r["passed"]]
    assert not failed, failed
    assert (tmp_path / "glm_limits.png").stat().st_size > 10_000


def test_realdata_claims_fast(tmp_path):
    """Runs paper_checks/realdata.py in fast mode (about 20 s): the data-moment limit vs row-sampling SGD on
    two real datasets, the Gaussian limit's failure, the closure vs the exact recursion."""
    pytest.importorskip("sklearn")
    rows = paper_checks.run_all(fast=True, outdir=tmp_path, only=["realdata"])
    assert len(rows) >= 3
    failed = [(r["claim"], r["measured"], r.get("traceback")) for r in rows if not r["passed"]]
    assert not failed, failed
